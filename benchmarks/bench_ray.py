"""Rollout throughput through Ray against the worker processes and the in-process VecEnv.

    .venv/bin/python benchmarks/bench_ray.py [--preset small] [--worlds 8] [--workers 2]
        [--ticks 200] [--rounds 5]

Four environments over the same worlds, measured in alternating rounds in one run (so drift of a
shared machine hits all alike): the in-process ``VecEnv`` (one core), ``MultiprocessVecEnv`` with
``--workers`` processes, and ``RayVecEnv`` with ``--workers`` actors on a local Ray, once with the
default transport (shared memory on the learner's node) and once through the object store (how
blocks travel from other nodes). Actions come from the Random policy over the masks, drawn
outside the clock; agent-steps/s = agents alive after each step / time in ``step``.
Prints one JSON line per round and the medians.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--worlds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ticks", type=int, default=200, help="timed ticks per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import ray

    from neural_mmo.agents.base import make_policy
    from neural_mmo.agents.play import Player
    from neural_mmo.config import make_config
    from neural_mmo.envs.multiprocess import MultiprocessVecEnv
    from neural_mmo.envs.vector import VecEnv
    from neural_mmo.train.distributed import RayVecEnv

    config = make_config(args.preset)
    # two RayVecEnvs of --workers actors each; one steps at a time while the other's actors idle
    ray.init(num_cpus=2 * args.workers, include_dashboard=False, configure_logging=False)
    started = time.perf_counter()
    envs: dict[str, Any] = {
        "vecenv_one_process": VecEnv(args.worlds, config=config, seed=0),
        "multiprocess": MultiprocessVecEnv(args.worlds, config=config, seed=0, num_workers=args.workers),
        "ray_shared_memory": RayVecEnv(args.worlds, config=config, seed=0, num_workers=args.workers),
        "ray_object_store": RayVecEnv(args.worlds, config=config, seed=0, num_workers=args.workers,
                                      transport="object_store"),
    }  # fmt: skip
    rates: dict[str, list[float]] = {name: [] for name in envs}
    step_ms: dict[str, list[float]] = {name: [] for name in envs}
    try:
        players = {name: Player(env, make_policy("random", env.layout, 0)) for name, env in envs.items()}
        for player in players.values():
            player.reset()
            for _ in range(20):  # warm-up: every process has compiled its kernels
                player.step()
        print(json.dumps({"setup_seconds": round(time.perf_counter() - started, 1)}), flush=True)
        for r in range(args.rounds):
            for name, player in players.items():
                rate, ms = timed(player, args.ticks)
                rates[name].append(rate)
                step_ms[name].append(ms)
            print(json.dumps({"round": r, **{k: round(v[-1]) for k, v in rates.items()}}), flush=True)
    finally:
        for env in envs.values():
            if hasattr(env, "close"):
                env.close()
        ray.shutdown()
    medians = {name: statistics.median(v) for name, v in rates.items()}
    summary = {
        "preset": args.preset, "worlds": args.worlds, "workers": args.workers, "ticks": args.ticks,
        "rounds": args.rounds, "machine": platform.processor() or platform.machine(),
        "median_agent_steps_per_s": {k: round(v) for k, v in medians.items()},
        "ms_per_step": {k: round(statistics.median(v), 3) for k, v in step_ms.items()},
        "ray_shared_memory_vs_multiprocess": round(medians["ray_shared_memory"] / medians["multiprocess"], 3),
        "ray_object_store_vs_multiprocess": round(medians["ray_object_store"] / medians["multiprocess"], 3),
    }  # fmt: skip
    print(json.dumps(summary, indent=1))


def timed(player: Any, ticks: int) -> tuple[float, float]:
    """Agent-steps/s and milliseconds per step over ``ticks`` steps, the policy outside the clock."""
    alive = player.env.alive
    agents, spent = 0, 0.0
    for _ in range(ticks):
        actions = player.act()
        start = time.perf_counter()
        player.apply(actions)
        spent += time.perf_counter() - start
        agents += int(np.count_nonzero(alive))
    return agents / spent, 1e3 * spent / ticks


if __name__ == "__main__":
    main()
