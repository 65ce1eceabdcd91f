"""Regression guard that does not depend on absolute time (``make bench-check``).

The *optimised path* is the package as shipped: numba-compiled kernels. The *reference path* is
the very same world, encoder and action code run by the Python interpreter over numpy arrays
(``NUMBA_DISABLE_JIT=1``): slow, but the plain meaning of the code. Both run here, alternating,
in fresh subprocesses on the same machine, with the same seeds and actions (the Random policy,
every agent alive, NPCs on), and must

1. produce identical worlds: the same state hash and the same stream of observations, rewards
   and events (so the compiled kernels do exactly what their Python text says);
2. keep the speed ratio optimised / reference above ``--floor``: a change that makes the
   compiled step slower (an allocation, a Python call per agent, a lost inlining) lowers the
   ratio on any machine, while machine noise moves both sides together.

    .venv/bin/python benchmarks/bench_check.py [--preset medium] [--rounds 3] [--floor 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

RUN = r"""
import hashlib, json, sys, time
import numpy as np
import neural_mmo
from neural_mmo.agents import RandomPolicy
from neural_mmo.bench import BENCH_OVERRIDES
preset, ticks, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vec = neural_mmo.VecEnv(1, config=neural_mmo.Config.preset(preset).override(BENCH_OVERRIDES), seed=7)
policy = RandomPolicy(vec.layout, 7)
obs, _ = vec.reset()
digest = hashlib.sha256()
spent, agent_steps = 0.0, 0
for t in range(warmup + ticks):
    actions = policy.act(obs)
    start = time.perf_counter()
    vec.step(actions)
    if t >= warmup:
        spent += time.perf_counter() - start
        agent_steps += int(np.count_nonzero(vec.alive))
    for key in sorted(obs):
        digest.update(obs[key].tobytes())
    events = vec.worlds[0].events
    digest.update(vec.rewards.tobytes() + events.table[: events.n].tobytes())
print(json.dumps({"state_hash": vec.worlds[0].state_hash(), "stream": digest.hexdigest(),
                  "agent_steps_per_s": agent_steps / spent}))
"""


def run(preset: str, ticks: int, warmup: int, jit: bool) -> dict:
    env = dict(os.environ)
    if jit:
        env.pop("NUMBA_DISABLE_JIT", None)
    else:
        env["NUMBA_DISABLE_JIT"] = "1"
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", RUN, preset, str(ticks), str(warmup)],
        env=env, cwd=Path(__file__).resolve().parent, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--ticks", type=int, default=40, help="timed ticks per run (both paths)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each path")
    parser.add_argument("--floor", type=float, default=300.0, help="smallest allowed speed ratio")
    args = parser.parse_args()
    fast, slow = [], []
    for _ in range(args.rounds):
        slow.append(run(args.preset, args.ticks, 2, jit=False))
        fast.append(run(args.preset, args.ticks, 2, jit=True))
    same = all((f["state_hash"], f["stream"]) == (s["state_hash"], s["stream"]) for f, s in zip(fast, slow))
    optimised = statistics.median(r["agent_steps_per_s"] for r in fast)
    reference = statistics.median(r["agent_steps_per_s"] for r in slow)
    ratio = optimised / reference
    report = {
        "preset": args.preset, "ticks": args.ticks, "rounds": args.rounds,
        "optimised_agent_steps_per_s": round(optimised), "reference_agent_steps_per_s": round(reference),
        "ratio": round(ratio, 1), "floor": args.floor, "identical": same,
    }  # fmt: skip
    print(json.dumps(report))
    if not same:
        print("FAIL: the optimised and reference paths produced different worlds", file=sys.stderr)
        return 1
    if ratio < args.floor:
        print(f"FAIL: speed ratio {ratio:.1f} is below the floor {args.floor}", file=sys.stderr)
        return 1
    print(f"ok: identical worlds; optimised path {ratio:.1f}x the reference path (floor {args.floor})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
