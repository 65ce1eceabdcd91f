"""Where one VecEnv step spends its time: the tick, the observation encoder, and the rest.

    .venv/bin/python benchmarks/profile_step.py [--preset medium] [--ticks 3000]

Every agent alive (concurrent spawning, immortal), the Random policy (uniform over what the mask
allows, so agents attack whenever something is in reach), the preset's NPCs. The policy runs
outside the clock; each part is timed on its own with ``time.perf_counter`` around the same calls
``VecEnv.step`` makes, on a second world that receives the same decoded commands.
"""

from __future__ import annotations

import argparse
import copy
import time

from neural_mmo.agents import RandomPolicy
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
    policy = RandomPolicy(vec.layout, 0)
    vec.reset()
    for _ in range(50):
        vec.step(policy.act(vec.observations))
    spent = {"whole step": 0.0, "tick": 0.0, "observations": 0.0}
    twin = copy.deepcopy(vec)
    state, observer = twin.worlds[0], twin._observers[0]
    for _ in range(args.ticks):
        actions = policy.act(vec.observations)
        start = time.perf_counter()
        vec.step(actions)
        spent["whole step"] += time.perf_counter() - start
        commands = vec._commands.copy()
        start = time.perf_counter()
        step_world(state, commands)
        spent["tick"] += time.perf_counter() - start
        start = time.perf_counter()
        observer.write(state)
        spent["observations"] += time.perf_counter() - start
    whole = spent["whole step"]
    rest = whole - spent["tick"] - spent["observations"]
    attacks = int((vec._commands[:, 1] > 0).sum())
    print(f"preset {args.preset}, {int(vec.alive.sum())} agents, {args.ticks} ticks")
    print(f"{attacks} attacks on the last tick")
    for name, seconds in (*spent.items(), ("rest (actions, rewards, flags, glue)", rest)):
        print(f"{name:40s} {seconds / args.ticks * 1e6:8.1f} us/step  {seconds / whole:6.1%}")


if __name__ == "__main__":
    main()
