"""Where one VecEnv step spends its time: the tick, the observation encoder, and the rest.

    .venv/bin/python benchmarks/profile_step.py [--preset medium] [--ticks 3000] [--economy]

Every agent alive (concurrent spawning, immortal), the Random policy (uniform over what the mask
allows, so agents attack whenever something is in reach), the preset's NPCs. The policy runs
outside the clock. ``VecEnv.step`` runs every world's step in one numba call; here its two big
parts run as calls of their own on a second VecEnv that receives the same decoded commands, and
each part's figure is its call minus the cost of an empty call with the same arguments (what
Python pays to hand them to numba). The rest is everything else in the step: action checks and
decoding, rewards, flags, the one Python->numba call per step and the Python glue.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numba

from neural_mmo.agents import RandomPolicy
from neural_mmo.bench import BENCH_OVERRIDES
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.encode import write_all
from neural_mmo.world.step import tick


@numba.njit
def _tick(worlds: object, commands: object) -> None:
    io = worlds[0]
    tick(io.world, commands, io.rules)


@numba.njit
def _observe(worlds: object) -> None:
    io = worlds[0]
    write_all(io.world, io.observer, io.encoding, io.rules)


@numba.njit
def _empty1(a: object) -> None:
    pass


@numba.njit
def _empty2(a: object, b: object) -> None:
    pass


@numba.njit
def _empty8(a: object, b: object, c: object, d: object, e: object, f: object, g: object, h: object) -> None:
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--ticks", type=int, default=3000)
    parser.add_argument("--economy", action="store_true", help="items, professions and the exchange on")
    args = parser.parse_args()
    config = Config.preset(args.preset).override(BENCH_OVERRIDES)
    if args.economy:
        config = config.override({"item.enabled": True, "profession.enabled": True, "exchange.enabled": True})
    vec = VecEnv(1, config=config, seed=0)
    twin = VecEnv(1, config=vec.config, seed=0)
    policy = RandomPolicy(vec.layout, 0)
    vec.reset()
    twin.reset()
    for _ in range(50):
        actions = policy.act(vec.observations)
        vec.step(actions)
        twin.step(actions)
    io = twin._io
    commands = vec._commands.copy()
    spare = VecEnv(1, config=vec.config, seed=0)  # compiles the tick probe without moving the twin
    spare.reset()
    _tick(spare._io, commands)
    todo, n_alive, at_horizon, done = vec._every_world, vec._n_alive, vec._at_horizon, vec.episode_done
    parts: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
        "tick": (lambda: _tick(io, commands), lambda: _empty2(io, commands)),
        "observations": (lambda: _observe(io), lambda: _empty1(io)),
        "one Python->numba call of the step": (
            lambda: _empty8(vec._io, todo, -1.0, True, False, n_alive, at_horizon, done),
            lambda: None,
        ),
    }
    for name, (run, empty) in parts.items():  # compile
        empty()
        if name != "tick":  # the twin must stay in step with the env
            run()
    spent = {"whole step": 0.0, **{name: 0.0 for name in parts}}
    for _ in range(args.ticks):
        actions = policy.act(vec.observations)
        start = time.perf_counter()
        vec.step(actions)
        spent["whole step"] += time.perf_counter() - start
        commands[:] = vec._commands
        for name, (run, empty) in parts.items():
            start = time.perf_counter()
            run()
            middle = time.perf_counter()
            empty()
            spent[name] += (middle - start) - (time.perf_counter() - middle)
    whole = spent["whole step"]
    rest = whole - spent["tick"] - spent["observations"]
    attacks = int((vec._commands[:, 1] > 0).sum())
    print(f"preset {args.preset}, {int(vec.alive.sum())} agents, {args.ticks} ticks")
    print(f"{attacks} attacks on the last tick")
    rows = (*spent.items(), ("rest (actions, rewards, flags, call, glue)", rest))
    for name, seconds in rows:
        print(f"{name:42s} {seconds / args.ticks * 1e6:8.1f} us/step  {seconds / whole:6.1%}")


if __name__ == "__main__":
    main()
