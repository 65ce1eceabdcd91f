"""Evaluation on held-out seeds: a policy plays whole episodes; the same metrics for the random and
scripted baselines on the same maps."""

from __future__ import annotations

from typing import Any

from neural_mmo.agents import make_policy, play
from neural_mmo.agents.base import Policy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.stats import RunStats

HELD_OUT_SEED = 1_000_003
"""Base seed of evaluation worlds; training runs use small seeds, so these maps are unseen."""


def run_policy(policy: Policy, config: Config, seed: int = HELD_OUT_SEED, worlds: int = 4,
               episodes: int = 1) -> dict[str, Any]:  # fmt: skip
    """``episodes`` whole episodes in each of ``worlds`` worlds (at most ``episode.horizon`` ticks
    each; a world whose episode ends sooner starts its next one); :meth:`RunStats.summary` plus
    per-agent death rates (``deaths_per_agent``)."""
    env = VecEnv(worlds, config=config, seed=seed)
    stats = RunStats()
    for _ in range(episodes):  # each reset starts the next episode of every world
        play(env, policy, config.episode.horizon, until_done=True, stats=stats)
    summary: dict[str, Any] = stats.summary()
    for key in ("population_mean", "population_min", "population_max", "population_final"):
        summary[key] = summary[key] / worlds  # RunStats counts all worlds together
    seen = max(1, summary["agents_seen"])
    summary["deaths_per_agent"] = {k: v / seen for k, v in summary["deaths"].items()}
    return summary


BASELINES = ("random", "forager", "fighter")


def compare(policy: Policy, config: Config, baselines: tuple[str, ...] = BASELINES, seed: int = HELD_OUT_SEED,
            worlds: int = 4, episodes: int = 1) -> dict[str, dict[str, Any]]:  # fmt: skip
    """``{name: summary}`` for ``policy`` (as ``trained``) and each baseline on the same seeds."""
    results = {"trained": run_policy(policy, config, seed, worlds, episodes)}
    for name in baselines:
        results[name] = run_policy(
            make_policy(name, policy.layout, seed=seed), config, seed, worlds, episodes
        )
    return results


ROWS = (
    ("lifetime mean", lambda s: s["lifetime_mean"]),
    ("lifetime max", lambda s: s["lifetime_max"]),
    ("population mean (per world)", lambda s: s["population_mean"]),
    ("agents seen", lambda s: s["agents_seen"]),
    ("lava deaths / agent", lambda s: s["deaths_per_agent"].get("lava", 0.0)),
    ("starvation deaths / agent", lambda s: s["deaths_per_agent"].get("starvation", 0.0)),
    ("dehydration deaths / agent", lambda s: s["deaths_per_agent"].get("dehydration", 0.0)),
    ("combat deaths / agent", lambda s: s["deaths_per_agent"].get("combat", 0.0)),
    ("meals / agent", lambda s: s["events"].get("eat", 0) / max(1, s["agents_seen"])),
    ("drinks / agent", lambda s: s["events"].get("drink", 0) / max(1, s["agents_seen"])),
    ("hits", lambda s: s["hits"]),
    ("kills of NPCs", lambda s: s["kills_of_npcs"]),
    ("top level", lambda s: s["top_level"]),
)

ECONOMY_ROWS = (
    ("gold earned / agent", lambda s: s["economy"]["gold_earned"] / max(1, s["agents_seen"])),
    ("items equipped / agent", lambda s: s["economy"]["equips"] / max(1, s["agents_seen"])),
    ("items made", lambda s: sum(s["economy"]["items_made_by_level"].values())),
    ("sales on the exchange", lambda s: s["economy"]["sales"]),
    ("market price mean", lambda s: float(s["economy"]["market_price_mean"])),
)
"""Rows shown when the game has items (``item.enabled``)."""


def table(results: dict[str, dict[str, Any]], economy: bool = False) -> Any:
    """A rich table: one row per metric, one column per policy (``economy``: the economy's rows too)."""
    from rich.table import Table

    out = Table(title="held-out seeds")
    out.add_column("metric")
    for name in results:
        out.add_column(name, justify="right")
    for label, get in ROWS + (ECONOMY_ROWS if economy else ()):
        out.add_row(
            label,
            *(f"{get(s):,.3g}" if isinstance(get(s), float) else f"{get(s):,}" for s in results.values()),
        )
    return out
