"""End-to-end training speed: agent-steps per second of whole PPO iterations (environment, forward
passes, advantages, backward passes and optimizer steps), and where the time goes.

Runs ``--iterations`` iterations of the default trainer (small preset, the default ``Simple``
model) after ``--warmup`` iterations that are not counted (kernel compilation, allocator warm-up),
for ``--rounds`` fresh trainers, and prints the median rate and the median split:

* env: inside ``VecEnv.step_buffered`` (the simulation, observations, rewards);
* forward: choosing the actions during the rollout (model forward without gradients, sampling);
* learn: advantages and the PPO update (forward and backward passes, Adam);
* other: the rollout's bookkeeping (copying observations into the rollout, metrics).

    .venv/bin/python benchmarks/bench_train.py [--threads auto|N] [--iterations 6] [--rounds 3]

``--threads auto`` (the default, as in ``neural-mmo train``) lets the trainer choose; the line
printed says what it chose. Import this module before torch (as here) so that idle torch threads
sleep (``OMP_WAIT_POLICY=PASSIVE``, set by ``neural_mmo.train``) as they do in ``neural-mmo train``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile

from neural_mmo.train.config import TrainConfig
from neural_mmo.train.trainer import Trainer

PARTS = ("env", "forward", "learn", "other")


def one_round(config: TrainConfig, warmup: int, iterations: int) -> dict[str, float]:
    trainer = Trainer(config)
    threads = getattr(trainer, "threads", config.threads)  # trainers before "auto" had no such field
    for _ in range(warmup):
        trainer.step()
    seconds = dict.fromkeys(PARTS, 0.0)
    steps = 0
    for _ in range(iterations):
        m = trainer.step()
        steps += int(m["perf/samples"])
        for p in PARTS:
            seconds[p] += m[f"perf/{p}_seconds"]
    trainer.close()
    total = sum(seconds.values())
    shares = {f"{p}_share": seconds[p] / total for p in PARTS}
    return {"agent_steps_per_s": steps / total, "threads": threads, **shares}


def _threads(text: str) -> int | str:
    return text if text == "auto" else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=_threads, default="auto", help="torch threads: auto or N")
    parser.add_argument("--workers", type=int, default=0, help="environment worker processes")
    parser.add_argument("--worlds", type=int, default=8, help="worlds stepped together (default 8)")
    parser.add_argument("--model", default="simple")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(threads=args.threads, workers=args.workers, worlds=args.worlds, model=args.model,
                             out=out)  # fmt: skip
        rounds = [one_round(config, args.warmup, args.iterations) for _ in range(args.rounds)]
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    if args.json:
        print(json.dumps({"rounds": rounds, "median": median}))
        return
    rates = ", ".join(f"{r['agent_steps_per_s']:,.0f}" for r in rounds)
    chosen = "/".join(sorted({str(r["threads"]) for r in rounds}))
    wait = os.environ.get("OMP_WAIT_POLICY", "unset")
    print(f"model {args.model}, threads {args.threads} -> {chosen} torch threads (OMP_WAIT_POLICY {wait}), "
          f"workers {args.workers}, worlds {args.worlds}")  # fmt: skip
    print(f"agent-steps/s end to end: median {median['agent_steps_per_s']:,.0f} (rounds: {rates})")
    print("time split (median shares): " + ", ".join(f"{p} {median[p + '_share']:.1%}" for p in PARTS))


if __name__ == "__main__":
    main()
