"""Time of the agent-agent dependency map (``neural_mmo.research.maps.dependency_map``).

Run: ``python benchmarks/bench_dependency.py [--populations 4] [--repeats 3] [--threads 1]``. A
15x15 crop (the default vision radius 7) and ``populations`` randomly initialised ``Simple``
models of the default training settings: the observations of every population pair and offset
from the project's encoder (224 scratch-world resets, P x P encoder writes each), then batched
forward passes. The first call (compiling nothing: kernels come from numba's cache) is a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from neural_mmo.config import Config
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.research.maps import dependency_map
from neural_mmo.train.config import TrainConfig
from neural_mmo.train.models import make_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--populations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = Config.preset("small").override({"spawn.n_populations": args.populations})
    train = TrainConfig()
    models = [
        make_model(train.model, ObsLayout(cfg), hidden=train.hidden).eval() for _ in range(args.populations)
    ]
    dependency_map(models, cfg)  # warm-up
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        values = dependency_map(models, cfg)
        times.append(time.perf_counter() - started)
    print(f"dependency map: {values.shape[-1]}x{values.shape[-1]} crop, {args.populations} populations "
          f"({values.shape[0] * values.shape[1]} panels), {args.threads} torch thread(s): median "
          f"{statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})")  # fmt: skip


if __name__ == "__main__":
    main()
