"""Terrain generation time per map size (median of several repeats, after JIT warm-up).

Run: ``python benchmarks/bench_terrain.py [--repeats 5] [--sizes 64 128 512 1024]``.
Generation is single-threaded (numba kernels without ``parallel``), so this is one core's time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from neural_mmo.config import Config
from neural_mmo.world.terrain import generate_terrain, octave_count, octave_sigma, octave_stride


def time_size(size: int, repeats: int) -> list[float]:
    """Seconds per call of :func:`generate_terrain` for a ``size`` map, one per repeat (new seed each)."""
    cfg = Config().override({"map.size": size})
    generate_terrain(cfg, np.random.default_rng(0))  # warm-up: JIT compile or load the cache
    times = []
    for seed in range(1, repeats + 1):
        start = time.perf_counter()
        generate_terrain(cfg, np.random.default_rng(seed))
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'size':>6} {'octaves':>8} {'used':>5} {'median s':>9} {'min s':>8} {'Mtiles/s':>9}")
    for size in args.sizes:
        cfg = Config().override({"map.size": size})
        n = octave_count(cfg)
        used = len(range(0, n, octave_stride(octave_sigma(cfg))))
        times = time_size(size, args.repeats)
        median = statistics.median(times)
        rate = size * size / median / 1e6
        print(f"{size:>6} {n:>8} {used:>5} {median:>9.4f} {min(times):>8.4f} {rate:>9.2f}")


if __name__ == "__main__":
    main()
