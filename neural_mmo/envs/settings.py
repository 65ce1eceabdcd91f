"""Experiment settings an environment applies to its worlds: one fixed map for every episode
(``map.fixed_seed``, ``map.file``) and a population cap drawn per world and episode
(``spawn.sample_cap``).
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np

from neural_mmo.config import Config, ConfigError
from neural_mmo.world.materials import SPAWNABLE, Material, materials_in_play
from neural_mmo.world.rng import episode_seed, terrain_generator
from neural_mmo.world.rules import replace_rules
from neural_mmo.world.terrain import generate_terrain

MAX_MAP_BYTES = 64 << 20
"""Largest map file read (a 4,096-tile square with its border is about 17 MB)."""


def read_map_file(path: str | Path, config: Config) -> np.ndarray:
    """The material grid (``uint8 [G, G]``, border included) of a ``.npy`` map file: either the
    whole grid or the playable square only (a lava border is put around it). ConfigError names
    what is wrong with the file."""
    from neural_mmo.files import read_regular

    side, size, border = config.grid_side, config.map.size, config.map.border
    try:
        data = read_regular(path, MAX_MAP_BYTES)
        grid = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise ConfigError(f"map.file: cannot read {path} as a .npy array ({err})") from None
    if not isinstance(grid, np.ndarray) or grid.dtype.kind not in "iu" or grid.ndim != 2:
        raise ConfigError(f"map.file: {path} must hold a 2-D integer array of materials")
    if grid.shape == (size, size):
        full = np.full((side, side), Material.LAVA, np.uint8)
        full[border : border + size, border : border + size] = grid
        grid = full
    if grid.shape != (side, side):
        raise ConfigError(
            f"map.file: {path} holds a {grid.shape} grid; this config needs ({size}, {size}) (the "
            f"playable square) or ({side}, {side}) (with the border)"
        )
    n_materials = materials_in_play(config.profession.enabled)
    if grid.min() < 0 or grid.max() >= n_materials:
        raise ConfigError(
            f"map.file: {path} holds values outside the materials 0..{n_materials - 1} (resource tiles "
            "need profession.enabled)"
        )
    grid = grid.astype(np.uint8)
    inner = grid[border : border + size, border : border + size]
    if not SPAWNABLE[inner].any():
        raise ConfigError(f"map.file: {path} has no tile an agent can spawn on")
    return grid


def fixed_material(config: Config) -> np.ndarray | None:
    """The one map every episode plays (``map.file``, else ``map.fixed_seed``), or None when each
    episode generates its own."""
    if config.map.file:
        return read_map_file(config.map.file, config)
    if config.map.fixed_seed >= 0:
        return generate_terrain(config, terrain_generator(episode_seed(config.map.fixed_seed, 0, 0)))
    return None


_CAP_KEY = zlib.crc32(b"spawn_cap")


def room_of(config: Config) -> int:
    """Most agents alive at once in a world under ``config`` (before any sampling)."""
    return config.spawn.cap or config.spawn.n_agents


def sampled_cap(config: Config, seed: int, world: int, episode: int) -> int:
    """The population cap of one world's episode under ``spawn.sample_cap``: uniform in
    ``1..C`` (``C``: ``spawn.cap``, or the slots when it is 0), drawn from the episode's seed (a
    stream of its own, so every other draw of the episode is unchanged)."""
    top = room_of(config)
    seq = episode_seed(seed, world, episode)
    child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, _CAP_KEY))
    return int(np.random.default_rng(child).integers(1, top + 1))


def rules_with_cap(rules: object, cap: int) -> object:
    """``rules`` with the world's own ``spawn.cap``."""
    return replace_rules(rules, spawn__cap=cap)
