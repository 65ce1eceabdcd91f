"""Time of the viewer's ``global_values`` model overlay: a lone agent's value on every passable tile.

Run: ``python benchmarks/bench_global_values.py [--preset medium] [--repeats 3] [--threads 1]
[--checkpoint FILE]``. Each repeat evaluates a new map (a new seed) from an empty cache; the model
is a checkpoint's first one, or a randomly initialised model of the default training settings.
Also timed: the second call on the same map (the cache) and a call after a few tiles changed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from neural_mmo.config import Config
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.train.checkpoint import load_models
from neural_mmo.train.config import TrainConfig
from neural_mmo.train.models import make_model
from neural_mmo.train.overlays import ModelOverlays
from neural_mmo.world.materials import Material
from neural_mmo.world.rng import episode_seed, terrain_generator
from neural_mmo.world.terrain import generate_terrain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--checkpoint", help="a checkpoint of neural-mmo train (default: a new model)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.checkpoint:
        models, _, cfg = load_models(args.checkpoint)
        model = models[0]
    else:
        cfg = Config.preset(args.preset)
        train = TrainConfig()
        model = make_model(train.model, ObsLayout(cfg), hidden=train.hidden).eval()
    n = cfg.map.size
    print(f"{n}x{n} map, {type(model).__name__} model, {args.threads} torch thread(s)")
    full, cached, changed = [], [], []
    for seed in range(args.repeats):
        material = generate_terrain(cfg, terrain_generator(episode_seed(seed, 0, 0)))
        overlays = ModelOverlays(model)
        start = time.perf_counter()
        grid = overlays.global_values(material, cfg)
        full.append(time.perf_counter() - start)
        tiles = overlays.computed
        start = time.perf_counter()
        overlays.global_values(material, cfg)
        cached.append(time.perf_counter() - start)
        forest = np.argwhere(material == Material.FOREST)[:4]  # four meals: forest becomes scrub
        material[forest[:, 0], forest[:, 1]] = Material.SCRUB
        start = time.perf_counter()
        overlays.global_values(material, cfg)
        changed.append(time.perf_counter() - start)
        print(f"seed {seed}: {tiles} tiles in {full[-1]:.3f} s ({np.isnan(grid).sum()} without a value); "
              f"cached {cached[-1] * 1e3:.2f} ms; 4 tiles changed: {overlays.computed - tiles} tiles "
              f"in {changed[-1] * 1e3:.1f} ms")  # fmt: skip
    print(f"median of {args.repeats}: full map {statistics.median(full):.3f} s, "
          f"cached {statistics.median(cached) * 1e3:.2f} ms, "
          f"4 tiles changed {statistics.median(changed) * 1e3:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
