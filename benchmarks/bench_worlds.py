"""VecEnv agent-steps/s at 1 and 8 worlds per env on one core, this tree against an earlier commit,
measured in alternating chunks (so the drift of a shared machine hits both alike).

    .venv/bin/python benchmarks/bench_worlds.py --ours-rev REV [--chunks 60] [--ticks 25] [--cpu 0]
        [--worlds 1 8] [--economy]

For each world count, two worker processes (this tree and REV, checked out into a temporary git
worktree) build the same VecEnv (medium preset, ``BENCH_OVERRIDES``, seed 0; with ``--economy``
items, professions and the exchange on too), reset it and step
20 ticks outside the clock. Then they take turns, one chunk of ``--ticks`` steps at a time (the
other waits on its pipe, so only one runs), ``--chunks`` chunks each, the first of a pair
alternating between old and new. Each step's actions come from the Random policy over the masks,
drawn outside the clock; agent-steps = living agents after each step. Both workers are pinned to
``--cpu``.

A shared machine's speed drifts over seconds (other tenants); a chunk lasts milliseconds, so the
two chunks of a pair see the same machine. Prints, per world count, each tree's median rate over
chunks and the median over pairs of the new/old ratio (the figure to quote), with its interquartile
range, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ECONOMY = {"item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
WORKER = """
import json, sys, time
import numpy as np
from neural_mmo.agents.random import RandomPolicy
from neural_mmo.bench import BENCH_OVERRIDES
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
config = Config.preset("medium").override(BENCH_OVERRIDES).override(json.loads(sys.argv[2]))
vec = VecEnv(int(sys.argv[1]), config=config, seed=0)
vec.reset()
policy = RandomPolicy(vec.layout, 0)
for _ in range(20):
    vec.step(policy.act(vec.observations))
print("ready", flush=True)
for line in sys.stdin:
    seconds, agent_steps = 0.0, 0
    for _ in range(int(line)):
        actions = policy.act(vec.observations)
        start = time.perf_counter()
        vec.step(actions)
        seconds += time.perf_counter() - start
        agent_steps += int(np.count_nonzero(vec.alive))
    print(json.dumps([agent_steps, seconds]), flush=True)
"""


class Worker:
    """One tree's VecEnv in a subprocess, stepping a chunk when asked."""

    def __init__(self, tree: Path, worlds: int, cpu: int, overrides: dict):
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
        command = [sys.executable, "-c", WORKER, str(worlds), json.dumps(overrides)]
        if cpu >= 0:
            command = ["taskset", "-c", str(cpu), *command]
        self.process = subprocess.Popen(command, env=env, cwd=tree, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)  # fmt: skip
        if self._line() != "ready":
            raise RuntimeError(f"the worker of {tree} did not start")

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a worker exited with {self.process.wait()}")
        return line.strip()

    def chunk(self, ticks: int) -> float:
        """Agent-steps/s over ``ticks`` steps."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{ticks}\n")
        self.process.stdin.flush()
        agent_steps, seconds = json.loads(self._line())
        return agent_steps / seconds

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def compare(trees: dict[str, Path], worlds: int, chunks: int, ticks: int, cpu: int, overrides: dict) -> dict:
    workers = {name: Worker(tree, worlds, cpu, overrides) for name, tree in trees.items()}
    try:
        rates: dict[str, list[float]] = {"old": [], "new": []}
        ratios = []
        for k in range(chunks):
            order = ("old", "new") if k % 2 == 0 else ("new", "old")
            pair = {name: workers[name].chunk(ticks) for name in order}
            for name, rate in pair.items():
                rates[name].append(rate)
            ratios.append(pair["new"] / pair["old"])
    finally:
        for worker in workers.values():
            worker.close()
    q1, ratio, q3 = quartiles(ratios)
    return {"old": statistics.median(rates["old"]), "new": statistics.median(rates["new"]), "ratio": ratio,
            "ratio_iqr": [q1, q3], "rates": rates}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours-rev", required=True, help="the earlier commit to compare with")
    parser.add_argument("--chunks", type=int, default=60, help="chunks per tree and world count")
    parser.add_argument("--ticks", type=int, default=25, help="steps per chunk")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to; -1: do not pin")
    parser.add_argument("--worlds", type=int, nargs="+", default=[1, 8], help="worlds per env, each compared")
    parser.add_argument("--economy", action="store_true", help="items, professions and the exchange on")
    args = parser.parse_args()
    overrides = ECONOMY if args.economy else {}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old), args.ours_rev],
                       check=True)  # fmt: skip
        try:
            trees = {"old": old, "new": REPO}
            summary = {}
            for worlds in args.worlds:
                result = compare(trees, worlds, args.chunks, args.ticks, args.cpu, overrides)
                summary[worlds] = result
                q1, q3 = result["ratio_iqr"]
                print(f"{worlds} world(s): old {result['old']:,.0f}  new {result['new']:,.0f} agent-steps/s"
                      f"  new/old {result['ratio']:.3f} (IQR {q1:.3f}-{q3:.3f})")  # fmt: skip
            print(json.dumps({"rev": args.ours_rev, "chunks": args.chunks, "ticks": args.ticks,
                              "economy": args.economy, "summary": summary}))  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
