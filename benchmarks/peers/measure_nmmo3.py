"""Agent-steps/s of PufferLib 2.0.2's NMMO3 (its compiled ``cy_nmmo3`` module) with random actions.

Runs inside the peer venv built by ``setup_peers.sh`` (never with the project's .venv):

    ~/.cache/neural_mmo_peers/puffer/bin/python benchmarks/peers/measure_nmmo3.py --setting default

The shared object exports a C function ``step`` that collides with glibc's legacy ``step()``
(<regexp.h>): loaded the ordinary way, ``Environment.step`` calls glibc's and the world silently
never moves. So this script re-executes itself with ``LD_PRELOAD=<the cy_nmmo3 .so>`` unless
that is already set (``--no-preload`` keeps the broken loading, to show the collision).

The 2.0.2 wheel ships ``cy_nmmo3`` but not the ``nmmo3.py`` wrapper that ``pufferlib.ocean``
imports, so importing ``pufferlib.ocean.nmmo3.cy_nmmo3`` fails; the extension is loaded from its
file instead, and this script allocates the buffers the way ``Environment.__init__`` (cy_nmmo3.pyx,
shipped in the wheel) expects them: observations (agents x 11*15*10+47+10 bytes), player and
enemy Entity records, Reward records, one int action per agent.

Settings (one world each):
  default     1024 agents on 512x512 with the wrapper's defaults: 2048 enemies, 2048 resources,
              1024 weapons, 512 gems, 5 tiers, 40 levels
  a128_m256   128 agents on 256x256; enemies, resources, weapons, gems, tiers and levels from the
              wrapper's own per-map-size rule (used when they are None): w*h/512 = 128 enemies,
              w*h/1024 = 64 resources, w*h/2048 = 32 weapons, w*h/4096 = 16 gems, 2 tiers,
              15 levels
Other parameters are the wrapper's defaults (teleportitis 0.001, enemy respawn 2 ticks, item
respawn 100 ticks, 7x5 window, rewards 1.0/1.0/0.5/0.01/-1.0).

Actions: uniform over the action space, Discrete(26), drawn with numpy outside the clock and
written into the action buffer; the clock runs around ``Environment.step`` only (simulation and
observation writing). Agent-steps/s = sum over ticks of the players alive (hp > 0) after the
tick / time inside ``step``. NMMO3 respawns dead players a few ticks later, by design.

Prints one JSON line: agent_steps_per_s plus evidence that the world advanced (players' and
enemies' ``time_alive`` counters, positions, observation bytes).
"""

from __future__ import annotations

import argparse
import glob
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import sysconfig
import time
from typing import Any

import numpy as np

OBS_BYTES = 11 * 15 * 10 + 47 + 10
"""Per-agent observation size, as the wrapper and ``allocate_mmo`` in nmmo3.h allocate it."""

SETTINGS: dict[str, dict[str, Any]] = {
    "default": dict(
        size=512, players=1024, enemies=2048, resources=2048, weapons=1024, gems=512, tiers=5, levels=40
    ),
    "a128_m256": dict(
        size=256, players=128, enemies=128, resources=64, weapons=32, gems=16, tiers=2, levels=15
    ),
}
FIXED = dict(
    teleportitis_prob=0.001,
    enemy_respawn_ticks=2,
    item_respawn_ticks=100,
    reward_combat_level=1.0,
    reward_prof_level=1.0,
    reward_item_level=0.5,
    reward_market=0.01,
    reward_death=-1.0,
    x_window=7,
    y_window=5,
)
NUM_ACTIONS = 26


def extension_path() -> str:
    site = sysconfig.get_paths()["purelib"]
    found = glob.glob(os.path.join(site, "pufferlib", "ocean", "nmmo3", "cy_nmmo3*.so"))
    if not found:
        sys.exit(f"no cy_nmmo3 extension under {site}/pufferlib/ocean/nmmo3: run setup_peers.sh")
    return os.path.realpath(found[0])


def load_extension(path: str) -> Any:
    loader = importlib.machinery.ExtensionFileLoader("cy_nmmo3", path)
    spec = importlib.util.spec_from_file_location("cy_nmmo3", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def quarter_rates(alive: list[int], times: list[float]) -> list[float]:
    """Agent-steps/s over each quarter of the timed ticks, to show drift within a run."""
    k = max(len(times) // 4, 1)
    return [round(sum(alive[i : i + k]) / sum(times[i : i + k])) for i in range(0, k * 4, k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=list(SETTINGS), default="default")
    parser.add_argument("--ticks", type=int, default=1000, help="timed ticks (default 1000)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed ticks after reset")
    parser.add_argument("--seed", type=int, default=0, help="seeds the random actions only")
    parser.add_argument(
        "--no-preload", action="store_true", help="do not LD_PRELOAD the extension (shows the collision)"
    )
    args = parser.parse_args()

    so = extension_path()
    preloaded = so in os.environ.get("LD_PRELOAD", "").split()
    if not preloaded and not args.no_preload:
        env = dict(os.environ, LD_PRELOAD=" ".join([so, *os.environ.get("LD_PRELOAD", "").split()]))
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)

    mod = load_extension(so)
    entity, reward = mod.entity_dtype(), mod.reward_dtype()
    s = SETTINGS[args.setting]
    n, n_enemies, size = s["players"], s["enemies"], s["size"]

    observations = np.zeros((n, OBS_BYTES), dtype=np.uint8)
    players_flat = np.zeros((n, entity.itemsize // 4), dtype=np.intc)
    enemies_flat = np.zeros((n_enemies, entity.itemsize // 4), dtype=np.intc)
    rewards_flat = np.zeros((n, reward.itemsize // 4), dtype=np.float32)
    actions = np.zeros(n, dtype=np.intc)
    players = players_flat.view(entity).reshape(-1).view(np.recarray)
    enemies = enemies_flat.view(entity).reshape(-1).view(np.recarray)

    f = FIXED
    world = mod.Environment(
        observations, players_flat, enemies_flat, rewards_flat, actions,
        [size], [size], 1, [n], [n_enemies], [s["resources"]], [s["weapons"]], [s["gems"]],
        [s["tiers"]], [s["levels"]], [f["teleportitis_prob"]], [f["enemy_respawn_ticks"]],
        [f["item_respawn_ticks"]], f["reward_combat_level"], f["reward_prof_level"],
        f["reward_item_level"], f["reward_market"], f["reward_death"], f["x_window"], f["y_window"],
    )  # fmt: skip
    world.reset()
    rng = np.random.default_rng(args.seed)

    for _ in range(args.warmup):
        actions[:] = rng.integers(0, NUM_ACTIONS, n)
        world.step()

    time_alive_before = int(players.time_alive.sum())
    enemy_time_alive_before = int(enemies.time_alive.sum())
    pos_before = np.stack([players.r, players.c]).copy()
    obs_before = observations.copy()
    alive_trace: list[int] = []
    times: list[float] = []
    for _ in range(args.ticks):
        actions[:] = rng.integers(0, NUM_ACTIONS, n)
        start = time.perf_counter()
        world.step()
        times.append(time.perf_counter() - start)
        alive_trace.append(int(np.count_nonzero(players.hp > 0)))
    alive_total, spent = sum(alive_trace), sum(times)
    deaths_seen = n * args.ticks - alive_total

    moved = int(np.count_nonzero((np.stack([players.r, players.c]) != pos_before).any(axis=0)))
    evidence = {
        "players_time_alive_sum_before": time_alive_before,
        "players_time_alive_sum_after": int(players.time_alive.sum()),
        "players_time_alive_max_after": int(players.time_alive.max()),
        "enemies_time_alive_sum_before": enemy_time_alive_before,
        "enemies_time_alive_sum_after": int(enemies.time_alive.sum()),
        "players_moved_over_timed_ticks": moved,
        "player_ticks_dead_seen": deaths_seen,
        "observation_bytes_changed": int(np.count_nonzero(observations != obs_before)),
        "mean_comb_lvl": float(players.comb_lvl.mean()),
        "mean_prof_lvl": float(players.prof_lvl.mean()),
    }
    result = {
        "peer": "pufferlib-nmmo3",
        "version": importlib.metadata.version("pufferlib"),
        "setting": args.setting,
        "map": f"{size}x{size}",
        **{k: v for k, v in s.items() if k != "size"},
        "ticks": args.ticks,
        "warmup": args.warmup,
        "seed": args.seed,
        "ld_preload": preloaded,
        "agent_steps_per_s": alive_total / spent,
        "quarter_agent_steps_per_s": quarter_rates(alive_trace, times),
        "mean_alive": alive_total / args.ticks,
        "evidence": evidence,
        "advanced": evidence["enemies_time_alive_sum_after"] > enemy_time_alive_before and moved > 0,
        "extension": so,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
