"""Server-merge tournaments: the populations of several entrants share the same worlds.

"Tournaments are formed by simply concatenating the player bases of each experiment" (the Neural
MMO paper, Fig. 3). Every entrant (a checkpoint, with each population it trained, or a scripted
policy) gets its block of world populations (:mod:`neural_mmo.research.entrants`); agents are
dealt to populations in turn as they spawn (population = agent id mod the number of populations),
so every population holds the same share of a world's fixed total, ``agents``. Worlds are played
on held-out seeds through the project's play loop (:class:`~neural_mmo.agents.play.Player`) on a
VecEnv, each world one episode per round: a *match*.

Per entrant the result holds: the agents it fielded and their mean lifetime (dead agents: ticks
from spawn to death; agents alive at the end: their age then) with a 95% confidence interval
(normal approximation over agents), the agents and NPCs its agents killed, its hits, its deaths
by cause; the pairwise win rates (the share of matches in which one entrant's mean lifetime beat
the other's, ties counting half); and a rating over all matches (``openskill``'s Plackett-Luce
model, each match ranking the entrants by mean lifetime; ``ordinal`` is ``mu - 3 sigma``). The
game has no achievements yet, so no achievement score is reported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neural_mmo.agents import Player
from neural_mmo.agents.base import Policy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.layout import EntityColumn, ObsLayout
from neural_mmo.research.entrants import (
    Adapter,
    Entrant,
    EntrantError,
    load_entrant,
    make_scripted,
    renumber,
    renumber_tables,
    signature,
    unique_names,
)
from neural_mmo.stats import RunStats
from neural_mmo.world.events import DeathCause, EventColumn, EventKind

HELD_OUT_SEED = 1_000_003
"""Base seed of tournament worlds (the evaluator's held-out seed: maps no training run used)."""

LAYOUT_KEYS = ("observe.vision_radius", "observe.n_entities", "combat.auto_target")
"""Config fields that shape what a model sees or does (named when entrants' layouts differ)."""


class MatchPolicy(Policy):
    """Every entrant acting for its own agents (see :mod:`neural_mmo.research.entrants`).

    ``last_owner[k]``: the entrant that chose slot ``k``'s last action (-1: none)."""

    name = "tournament"
    reads_tables = True  # passed on to entrants that read them (trained models: the market)

    def __init__(self, layout: ObsLayout, entrants: list[Entrant], seed: int = 0):
        super().__init__(layout, seed)
        self.entrants = entrants
        pops = [e.populations for e in entrants]
        total = sum(pops)
        self.owner_of = np.repeat(np.arange(len(entrants)), pops)
        offsets = np.concatenate([[0], np.cumsum(pops)[:-1]])
        self.tables = [renumber_tables(total, int(o), p) for o, p in zip(offsets, pops)]
        self.last_owner = np.zeros(0, np.int64)
        self.world_tables = {f.key for f in layout.world_fields}

    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        n = observations["action_mask"].shape[0]
        out = np.zeros((n, len(self.layout.heads)), np.int64)
        owner = np.full(n, -1, np.int64)
        live = np.flatnonzero(observations["entity_mask"][:, 0])
        owners = self.owner_of[observations["entities"][live, 0, EntityColumn.POPULATION].astype(np.int64)]
        for e, entrant in enumerate(self.entrants):
            rows = live[owners == e]
            if rows.size == 0:
                continue
            # copies, renumbered for the entrant (world tables are per world: whole)
            mine = {k: v if k in self.world_tables else v[rows] for k, v in observations.items()}
            renumber(mine, *self.tables[e])
            out[rows] = entrant.act(mine, rows, n)
            owner[rows] = e
        self.last_owner = owner
        return out

    def restart(self, rows: np.ndarray) -> None:
        for entrant in self.entrants:
            entrant.restart(rows)


class Ledger:
    """Per match (world) and entrant: lifetimes, kills, hits and deaths, kept from the env's flat
    buffers and each world's event log (no per-agent Python)."""

    def __init__(self, env: VecEnv, owner_of: np.ndarray):
        self.env = env
        self.owner_of = owner_of
        self.n_entrants = int(owner_of.max()) + 1
        self.age = np.zeros(env.num_slots, np.int64)
        self.alive = np.zeros(env.num_slots, np.bool_)
        self.matches: list[dict[str, Any]] = []

    def _owners(self) -> np.ndarray:
        pops = np.concatenate([w.agents.population for w in self.env.worlds]).astype(np.int64)
        return self.owner_of[np.clip(pops, 0, len(self.owner_of) - 1)]

    def start(self) -> None:
        W, E = self.env.num_worlds, self.n_entrants
        self.lifetimes: list[list[list[np.ndarray]]] = [[[] for _ in range(E)] for _ in range(W)]
        self.kills = np.zeros((W, E), np.int64)
        self.npc_kills = np.zeros((W, E), np.int64)
        self.hits = np.zeros((W, E), np.int64)
        self.deaths = np.zeros((W, E, len(DeathCause)), np.int64)
        self.age[:] = 0
        self.alive[:] = self.env.alive

    def tick(self) -> None:
        env, S = self.env, self.env.slots_per_world
        owners = self._owners()
        self.age += self.alive
        died = np.flatnonzero(env.terminations)
        if died.size:
            self._add_lifetimes(died, owners)
        for w, state in enumerate(env.worlds):
            events = state.events.table[: state.events.counts[0]]
            if not len(events):
                continue
            kind, slot = events[:, EventColumn.KIND], events[:, EventColumn.SLOT]
            by_agent = slot < S
            who = owners[w * S + np.clip(slot, 0, S - 1)]
            kill = (kind == EventKind.KILL) & by_agent
            victim_agent = events[:, EventColumn.OTHER] < S
            np.add.at(self.kills[w], who[kill & victim_agent], 1)
            np.add.at(self.npc_kills[w], who[kill & ~victim_agent], 1)
            hit = (kind == EventKind.ATTACK) & by_agent & (events[:, EventColumn.VALUE] > 0)
            np.add.at(self.hits[w], who[hit], 1)
            death = kind == EventKind.DEATH
            np.add.at(self.deaths[w], (who[death], events[death, EventColumn.VALUE]), 1)
        self.age[env.spawned | ~env.alive] = 0
        self.alive[:] = env.alive

    def _add_lifetimes(self, slots: np.ndarray, owners: np.ndarray) -> None:
        S = self.env.slots_per_world
        worlds = slots // S
        for w in np.unique(worlds).tolist():
            mine = slots[worlds == w]
            for e in np.unique(owners[mine]).tolist():
                self.lifetimes[w][e].append(self.age[mine[owners[mine] == e]].copy())

    def finish(self, round_index: int) -> None:
        """Close the round: agents still alive count with their age; one match per world."""
        living = np.flatnonzero(self.alive)
        if living.size:
            self._add_lifetimes(living, self._owners())
        for w in range(self.env.num_worlds):
            lives = [np.concatenate(x) if x else np.zeros(0, np.int64) for x in self.lifetimes[w]]
            self.matches.append({
                "round": round_index,
                "world": w,
                "lifetimes": lives,
                "kills": self.kills[w].copy(),
                "npc_kills": self.npc_kills[w].copy(),
                "hits": self.hits[w].copy(),
                "deaths": self.deaths[w].copy(),
            })  # fmt: skip


@dataclass
class EntrantResult:
    """One entrant's line of the results (see module docs)."""

    name: str
    source: str
    populations: int
    agents: int
    lifetime_mean: float
    lifetime_ci95: float  # half width of the 95% confidence interval of the mean
    lifetime_max: int
    kills: int  # agents killed by this entrant's agents
    npc_kills: int
    hits: int
    deaths: dict[str, int]
    matches_won: float  # matches with the highest mean lifetime (shared first places split)
    rating_mu: float
    rating_sigma: float
    rating: float  # openskill ordinal: mu - 3 sigma


@dataclass
class TournamentResult:
    entrants: list[EntrantResult]
    win_rate: np.ndarray  # float [E, E]: row's share of matches won against column (ties half)
    matches: int
    settings: dict[str, Any] = field(default_factory=dict)
    match_lifetimes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [matches, E]

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "matches": self.matches,
            "entrants": [asdict(e) for e in self.entrants],
            "win_rate": self.win_rate.tolist(),
            "match_lifetimes": self.match_lifetimes.tolist(),
        }

    def names(self) -> list[str]:
        return [e.name for e in self.entrants]

    def markdown(self) -> str:
        """The results as a Markdown table, then the win rates."""
        lines = [
            "| entrant | populations | agents | mean lifetime (95% CI) | kills | NPC kills | matches won | "
            "rating (mu - 3 sigma) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for e in self.entrants:
            lines.append(
                f"| {e.name} | {e.populations} | {e.agents:,} "
                f"| {e.lifetime_mean:.1f} ± {e.lifetime_ci95:.1f} | {e.kills:,} | {e.npc_kills:,} "
                f"| {e.matches_won:g} / {self.matches} | {e.rating:.2f} |"
            )
        names = self.names()
        lines += ["", "Win rates (row against column, share of matches):", ""]
        lines += ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for a, name in enumerate(names):
            cells = ["" if a == b else f"{self.win_rate[a, b]:.2f}" for b in range(len(names))]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def table(self) -> Any:
        """A rich table of the results."""
        from rich.table import Table

        out = Table(title=f"tournament: {self.matches} matches")
        for col in ("entrant", "pops", "agents", "mean lifetime", "95% CI", "kills", "NPC kills", "won",
                    "rating"):  # fmt: skip
            out.add_column(col, justify="left" if col == "entrant" else "right")
        for e in self.entrants:
            out.add_row(e.name, str(e.populations), f"{e.agents:,}", f"{e.lifetime_mean:.1f}",
                        f"± {e.lifetime_ci95:.1f}", f"{e.kills:,}", f"{e.npc_kills:,}",
                        f"{e.matches_won:g}", f"{e.rating:.2f}")  # fmt: skip
        return out

    def save(self, out: str | Path, plot: bool = True) -> list[Path]:
        """Write ``tournament.json``, ``tournament.md`` and (with matplotlib) ``tournament.png``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "tournament.json", out / "tournament.md"]
        paths[0].write_text(json.dumps(self.to_dict(), indent=1))
        paths[1].write_text(self.markdown() + "\n")
        if plot:
            from neural_mmo.research.plots import plot_tournament

            paths.append(plot_tournament(self, out / "tournament.png"))
        return paths


def _mean_ci(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    if values.size == 1:
        return float(values[0]), math.nan
    return float(values.mean()), float(1.96 * values.std(ddof=1) / math.sqrt(values.size))


def _ranks(scores: np.ndarray) -> list[int]:
    """Ranks for openskill (1 best; equal scores share a rank)."""
    order = sorted(set(scores.tolist()), reverse=True)
    return [1 + order.index(s) for s in scores.tolist()]


def _rate(names: list[str], match_scores: np.ndarray) -> list[tuple[float, float, float]]:
    """``(mu, sigma, ordinal)`` per entrant after rating every match in order."""
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    ratings = [model.rating(name=n) for n in names]
    for scores in match_scores:
        present = np.flatnonzero(np.isfinite(scores))
        if present.size < 2:
            continue
        teams = [[ratings[i]] for i in present]
        new = model.rate(teams, ranks=_ranks(scores[present]))  # type: ignore[arg-type]
        for i, team in zip(present, new):
            ratings[i] = team[0]
    return [(float(r.mu), float(r.sigma), float(r.ordinal())) for r in ratings]


def check_layouts(entrants: list[Entrant], layout: ObsLayout, game: Config) -> None:
    """Give each checkpoint trained under other combat settings its :class:`Adapter`; raise an
    EntrantError naming the checkpoints whose observations or actions differ from the
    tournament's otherwise, and the config fields that make them differ."""
    bad = []
    for e in entrants:
        if not e.is_checkpoint:
            continue
        theirs = e.game or game
        auto = theirs.combat.auto_target and not game.combat.auto_target
        seen = ObsLayout(game.override({"combat.auto_target": True})) if auto else layout
        if e.layout_signature() != signature(seen):
            bad.append(e)
            continue
        if auto or not theirs.combat.enabled:
            e.adapter = Adapter(layout, style_only=auto, no_attacks=not theirs.combat.enabled)
    if not bad:
        return
    lines = []
    for e in bad:
        theirs = e.game or game
        keys = [k for k in LAYOUT_KEYS if _get(theirs, k) != _get(game, k)]
        diff = ", ".join(f"{k} {_get(theirs, k)!r} (tournament: {_get(game, k)!r})" for k in keys)
        lines.append(f"{e.name} ({e.source}): {diff or 'observation or action shapes differ'}")
    raise EntrantError(
        "entrants trained on different observations or actions cannot share a world: "
        + "; ".join(lines)
        + ". Give them the same observe.* settings (retrain), hold separate tournaments, or (for "
        "combat.auto_target) play a game of learned targeting, where automatic-targeting entrants "
        "are adapted"
    )


def _get(cfg: Config, key: str) -> Any:
    group, name = key.split(".")
    return getattr(getattr(cfg, group), name)


def tournament_config(entrants: list[Entrant], agents: int | None, game: Config | None) -> Config:
    """The game all entrants play: ``game``, else the first checkpoint's, else the small preset;
    its total population ``agents`` split into every entrant's populations; generated maps."""
    base = game or next((e.game for e in entrants if e.game is not None), None) or Config.preset("small")
    total = sum(e.populations for e in entrants)
    agents = base.spawn.n_agents if agents is None else agents
    if isinstance(agents, bool) or not isinstance(agents, (int, np.integer)) or agents < 1:
        raise EntrantError(f"agents must be a positive int, got {agents!r}")
    if agents < total:
        who = ", ".join(f"{e.name}: {e.populations}" for e in entrants)
        raise EntrantError(
            f"a total population of {agents} agents is below the {total} populations the entrants bring "
            f"({who}); every population needs at least one agent: raise --agents to {total} or more"
        )
    return base.override({
        "spawn.n_agents": int(agents),
        "spawn.n_populations": total,
        "spawn.cap": 0,
        "spawn.sample_cap": False,
        "spawn.min_alive": min(base.spawn.min_alive, int(agents)),
        "map.fixed_seed": -1,
        "map.file": "",
    })  # fmt: skip


def prepare(
    entrants: Sequence[str | Entrant | Policy],
    *,
    agents: int | None = None,
    worlds: int = 4,
    ticks: int | None = None,
    rounds: int = 2,
    game: Config | None = None,
) -> tuple[list[Entrant], Config, ObsLayout]:
    """Check a tournament's settings and load its entrants: ``(entrants, game, layout)``, or an
    EntrantError saying what is wrong (see :func:`run_tournament`)."""
    if isinstance(entrants, (str, Entrant, Policy)) or len(entrants) < 2:
        raise EntrantError("a tournament needs at least two entrants")
    for name, value, low in (("worlds", worlds, 1), ("rounds", rounds, 1), ("ticks", ticks, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or value < low):  # fmt: skip
            raise EntrantError(f"{name} must be an int >= {low}, got {value!r}")
    players = [load_entrant(e) for e in entrants]
    unique_names(players)
    config = tournament_config(players, agents, game)
    layout = ObsLayout(config)
    check_layouts(players, layout, config)
    return players, config, layout


def run_tournament(
    entrants: Sequence[str | Entrant | Policy],
    *,
    agents: int | None = None,
    worlds: int = 4,
    ticks: int | None = None,
    rounds: int = 2,
    seed: int = HELD_OUT_SEED,
    game: Config | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> TournamentResult:
    """Play a tournament (see module docs).

    Arguments:
        entrants: checkpoint paths (or ``pretrained``), scripted policy names (``random``,
            ``forager``, ``fighter``), Policies or Entrants; at least two.
        agents: the total population of each world (default: the game's ``spawn.n_agents``).
        worlds: worlds played at once (one match each per round).
        ticks: ticks per round (default: the game's horizon).
        rounds: rounds of ``worlds`` matches, each on new maps.
        seed: base seed of the worlds.
        game: the game to play (default: the first checkpoint's, else the small preset).
        on_tick: called after every tick with the ticks played so far (progress bars).
    """
    players, config, layout = prepare(entrants, agents=agents, worlds=worlds, ticks=ticks, rounds=rounds,
                                      game=game)  # fmt: skip
    for e in players:
        make_scripted(e, layout, seed)
        if e.policy is not None and signature(e.policy.layout) != signature(layout):
            raise EntrantError(f"{e.name}: its policy was made for other observations or actions")
    if any(e.is_checkpoint for e in players):
        import torch

        torch.manual_seed(seed % 2**63)
    ticks = config.episode.horizon if ticks is None else int(ticks)
    env = VecEnv(int(worlds), config=config, seed=seed, autoreset=False)
    policy = MatchPolicy(layout, players, seed)
    ledger = Ledger(env, policy.owner_of)
    played = 0
    for r in range(int(rounds)):
        player = Player(env, policy, RunStats())
        player.reset(seed if r == 0 else None)
        ledger.start()
        for _ in player.run(ticks, until_done=True):
            ledger.tick()
            played += 1
            if on_tick is not None:
                on_tick(played)
        player.finish()
        ledger.finish(r)
    settings = {"agents": config.spawn.n_agents, "worlds": int(worlds), "ticks": ticks, "rounds": int(rounds),
                "seed": int(seed), "populations": config.spawn.n_populations,
                "map_size": config.map.size, "combat": config.combat.enabled,
                "auto_target": config.combat.auto_target, "npcs": config.npc.n_npcs}  # fmt: skip
    return summarize(players, ledger.matches, settings)


def summarize(
    players: list[Entrant], matches: list[dict[str, Any]], settings: dict[str, Any]
) -> TournamentResult:
    """The tournament's results from its matches (see :class:`Ledger`)."""
    E = len(players)
    names = [p.name for p in players]
    scores = np.full((len(matches), E), np.nan)
    for m, match in enumerate(matches):
        for e in range(E):
            if match["lifetimes"][e].size:
                scores[m, e] = match["lifetimes"][e].mean()
    win = np.zeros((E, E))
    played = np.zeros((E, E))
    won = np.zeros(E)
    for row in scores:
        present = np.flatnonzero(np.isfinite(row))
        for a in present:
            for b in present:
                if a != b:
                    played[a, b] += 1
                    win[a, b] += 1.0 if row[a] > row[b] else 0.5 if row[a] == row[b] else 0.0
        if present.size:
            best = np.flatnonzero(row[present] == row[present].max())
            won[present[best]] += 1.0 / best.size
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(played > 0, win / np.maximum(played, 1), np.nan)
    ratings = _rate(names, scores)
    results = []
    for e, p in enumerate(players):
        lives = np.concatenate([m["lifetimes"][e] for m in matches]) if matches else np.zeros(0, np.int64)
        mean, ci = _mean_ci(lives.astype(np.float64))
        deaths = sum((m["deaths"][e] for m in matches), np.zeros(len(DeathCause), np.int64))
        results.append(
            EntrantResult(
                name=p.name,
                source=p.source,
                populations=p.populations,
                agents=int(lives.size),
                lifetime_mean=mean,
                lifetime_ci95=ci,
                lifetime_max=int(lives.max()) if lives.size else 0,
                kills=int(sum(m["kills"][e] for m in matches)),
                npc_kills=int(sum(m["npc_kills"][e] for m in matches)),
                hits=int(sum(m["hits"][e] for m in matches)),
                deaths={c.name.lower(): int(deaths[c]) for c in DeathCause if c != DeathCause.NONE},
                matches_won=float(won[e]),
                rating_mu=ratings[e][0],
                rating_sigma=ratings[e][1],
                rating=ratings[e][2],
            )
        )
    return TournamentResult(results, win_rate, len(matches), settings, scores)
