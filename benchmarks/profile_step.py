"""Where one VecEnv step spends its time: the tick, the observation encoder, and the rest.

    .venv/bin/python benchmarks/profile_step.py [--preset medium] [--ticks 3000]

Every agent alive (concurrent spawning, immortal), random actions; each part is timed on its own
with ``time.perf_counter`` around the same calls ``VecEnv.step`` makes, and the whole step too.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neural_mmo.bench import BENCH_OVERRIDES
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.world.step import step as step_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--ticks", type=int, default=3000)
    args = parser.parse_args()
    vec = VecEnv(1, config=Config.preset(args.preset).override(BENCH_OVERRIDES), seed=0)
    vec.reset()
    state, observer = vec.worlds[0], vec._observers[0]
    bank = np.random.default_rng(0).integers(0, 5, size=(64, vec.num_slots, 1))
    for t in range(50):
        vec.step(bank[t % 64])
    spent = {"whole step": 0.0, "tick": 0.0, "observations": 0.0}
    actions = np.zeros((vec.num_slots, 1), np.int32)
    for t in range(args.ticks):
        start = time.perf_counter()
        vec.step(bank[t % 64])
        spent["whole step"] += time.perf_counter() - start
        actions[:] = bank[t % 64]
        start = time.perf_counter()
        step_world(state, actions)
        spent["tick"] += time.perf_counter() - start
        start = time.perf_counter()
        observer.write(state)
        spent["observations"] += time.perf_counter() - start
    whole = spent["whole step"]
    rest = whole - spent["tick"] - spent["observations"]
    print(f"preset {args.preset}, {int(vec.alive.sum())} agents, {args.ticks} ticks")
    for name, seconds in (*spent.items(), ("rest (actions, rewards, flags, glue)", rest)):
        print(f"{name:40s} {seconds / args.ticks * 1e6:8.1f} us/step  {seconds / whole:6.1%}")


if __name__ == "__main__":
    main()
