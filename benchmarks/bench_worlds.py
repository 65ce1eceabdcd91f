"""VecEnv agent-steps/s at 1 and 8 worlds per env on one core, this tree against an earlier commit,
measured alternately in one run (so drift of a shared machine hits both alike).

    .venv/bin/python benchmarks/bench_worlds.py --ours-rev REV [--rounds 5] [--ticks 500] [--cpu 0]

Each measurement is a fresh subprocess pinned to ``--cpu`` running ``neural_mmo.bench.bench_vecenv``
(the function ``neural-mmo bench`` uses: Random policy over the masks, ``BENCH_OVERRIDES``, actions
drawn outside the clock) on the medium preset; REV is checked out into a temporary git worktree.
Prints the medians over rounds and new/old ratios.
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
MEASURE = """
import json, sys
from neural_mmo.bench import BENCH_OVERRIDES, bench_vecenv
from neural_mmo.config import Config
worlds, ticks = int(sys.argv[1]), int(sys.argv[2])
cfg = Config.preset("medium").override(BENCH_OVERRIDES)
print(json.dumps(bench_vecenv(cfg, ticks, 1, num_worlds=worlds)["agent_steps_per_s"]))
"""


def measure(tree: Path, worlds: int, ticks: int, cpu: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", MEASURE, str(worlds), str(ticks)]
    if cpu >= 0:
        command = ["taskset", "-c", str(cpu), *command]
    out = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours-rev", required=True, help="the earlier commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ticks", type=int, default=500, help="timed ticks per run")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to; -1: do not pin")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old), args.ours_rev],
                       check=True)  # fmt: skip
        try:
            trees = {"old": old, "new": REPO}
            results: dict[tuple[str, int], list[float]] = {}
            for worlds in (1, 8):  # compile each tree's kernels once, outside the figures
                for tree in trees.values():
                    measure(tree, worlds, 40, args.cpu)
            for _ in range(args.rounds):
                for worlds in (1, 8):
                    for name, tree in trees.items():
                        rate = measure(tree, worlds, args.ticks, args.cpu)
                        results.setdefault((name, worlds), []).append(rate)
            summary = {}
            for worlds in (1, 8):
                old_rate = statistics.median(results[("old", worlds)])
                new_rate = statistics.median(results[("new", worlds)])
                summary[worlds] = {"old": old_rate, "new": new_rate, "ratio": new_rate / old_rate}
                ratio = new_rate / old_rate
                print(f"{worlds} world(s): old {old_rate:,.0f}  new {new_rate:,.0f}  new/old {ratio:.3f}")
            print(json.dumps({"rev": args.ours_rev, "rounds": args.rounds, "runs": {
                f"{k[0]}-{k[1]}": v for k, v in results.items()}, "summary": summary}))  # fmt: skip
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
