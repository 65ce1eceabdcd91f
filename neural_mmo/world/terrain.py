"""Procedural terrain: a pure function of the config and a random generator.

The height map blends a bank of simplex octaves with per-tile Gaussian weights over the octave
index. A slow *local frequency* noise map picks, at each tile, which octaves dominate; that choice
is pulled towards coarse octaves near the edges of the playable area (where agents spawn: large,
predictable patches of forest and lakes) and towards fine octaves in the centre (varied, broken
terrain); height variation is also damped towards the edges (``edge_calm``), so spawn tiles are
rarely lava or stone. The height is then rank-normalised over the playable area, so a threshold ``t`` of
:class:`~neural_mmo.config.TerrainConfig` puts a fraction ``t`` of the tiles below it whatever the
seed or the map size, and thresholded into materials. Everything outside the playable area is lava.

Example::

    cfg = Config.preset("medium")
    material = generate_terrain(cfg, np.random.default_rng(0))  # uint8 [cfg.grid_side] * 2
"""

from __future__ import annotations

import numpy as np

from neural_mmo.config import Config
from neural_mmo.world.materials import Material
from neural_mmo.world.noise import blend_bank, fbm_grid, normal_cdf

_SEED_LIMIT = 2**32
_OFFSET_LIMIT = 4096.0
_MIN_SIGMA = 0.5
_OCTAVES_PER_SIGMA = 2.0


def octave_count(cfg: Config) -> int:
    """Octaves in the noise bank: one per ``tiles_per_octave`` tiles of map side, at least ``min_octaves``."""
    t = cfg.terrain
    return max(t.min_octaves, cfg.map.size // t.tiles_per_octave)


def octave_wavelengths(cfg: Config) -> np.ndarray:
    """Wavelength in tiles of each octave of the bank, log-spaced from coarsest to finest (float64)."""
    t = cfg.terrain
    n = octave_count(cfg)
    if n == 1:
        return np.array([t.max_wavelength])
    return np.geomspace(t.max_wavelength, t.min_wavelength, n)


def centrality(size: int) -> np.ndarray:
    """``[size, size]`` map that is 1 at the centre and 0 on the outer ring of the playable area.

    Chebyshev distance, so every tile of the edge ring (where agents spawn) is treated alike.
    """
    if size == 1:
        return np.ones((1, 1))
    half = (size - 1) / 2.0
    d = np.abs(np.arange(size) - half) / half
    return 1.0 - np.maximum(d[:, None], d[None, :])


def _draw_octaves(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gradient-hash seeds and lattice offsets for ``n`` independent octaves."""
    seeds = rng.integers(0, _SEED_LIMIT, size=n, dtype=np.int64)
    offsets = rng.uniform(0.0, _OFFSET_LIMIT, size=(n, 2))
    return seeds, offsets


def local_frequency(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Slow noise in [0, 1] over the playable area: 0 asks for coarse octaves, 1 for fine ones.

    The noise has unit standard deviation by construction, so the normal CDF spreads it about
    evenly over [0, 1] on maps of any size (no pass over the map, no stretching of tiny maps).
    """
    t, size = cfg.terrain, cfg.map.size
    seeds, offsets = _draw_octaves(rng, t.local_octaves)
    return normal_cdf(fbm_grid(size, size, t.local_wavelength, seeds, offsets))


def octave_mean(cfg: Config, local: np.ndarray) -> np.ndarray:
    """Mean octave index of each tile's Gaussian blend, from the local frequency and ``centre_bias``.

    The local frequency is mixed with the centrality with weight ``b / (1 + b)`` (``b`` the centre
    bias): with ``b = 0`` the whole map follows the local frequency; with ``b = 1`` the edge ring
    blends only the coarse half of the bank and the centre only the fine half.
    """
    t = cfg.terrain
    mix = t.centre_bias / (1.0 + t.centre_bias)
    frac = (1.0 - mix) * local + mix * centrality(cfg.map.size)
    return frac * (octave_count(cfg) - 1)


def octave_sigma(cfg: Config) -> float:
    """Width (standard deviation, in octave indices) of each tile's Gaussian over the bank.

    ``smoothness`` eighths of the bank, at least half an octave. Tied to the bank rather than to a
    fixed number of octaves because the bank always spans the same wavelengths: the blend then
    covers the same band of wavelengths, and maps look alike, whatever their size.
    """
    return max(_MIN_SIGMA, cfg.terrain.smoothness * (octave_count(cfg) - 1) / 8.0)


def octave_stride(sigma: float) -> int:
    """Use every ``stride``-th octave of the bank, keeping about ``_OCTAVES_PER_SIGMA`` per sigma.

    Neighbouring octaves of a large bank differ by a few percent of wavelength, so blending all of
    them changes nothing visible; skipping keeps the cost per tile bounded on large maps.
    """
    return max(1, int(sigma / _OCTAVES_PER_SIGMA))


def rank_normalise(values: np.ndarray) -> np.ndarray:
    """Replace each value by its rank, mapped to ``(rank + 0.5) / n`` in (0, 1) (stable on ties)."""
    flat = values.ravel()
    order = np.argsort(flat, kind="stable")
    ranks = np.empty(flat.size, dtype=np.float64)
    ranks[order] = (np.arange(flat.size) + 0.5) / flat.size
    return ranks.reshape(values.shape)


def generate_height(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Height map, float32 ``[G, G]`` in [0, 1] (``G = cfg.grid_side``); the lava border is 0.

    Inside the playable area heights are ranks: a fraction ``h`` of the tiles lies below ``h``.
    """
    t, size, border = cfg.terrain, cfg.map.size, cfg.map.border
    local = local_frequency(cfg, rng)
    seeds, offsets = _draw_octaves(rng, octave_count(cfg))
    freqs = 1.0 / octave_wavelengths(cfg)
    sigma = octave_sigma(cfg)
    raw = blend_bank(octave_mean(cfg, local), sigma, octave_stride(sigma), freqs, seeds, offsets)
    raw *= 1.0 - t.edge_calm * (1.0 - centrality(size)) ** 2
    height = np.zeros((cfg.grid_side, cfg.grid_side), dtype=np.float32)
    height[border : border + size, border : border + size] = rank_normalise(raw)
    return height


def threshold_materials(cfg: Config, height: np.ndarray) -> np.ndarray:
    """Materials (uint8) from heights and the thresholds of ``cfg.terrain``; the border is lava."""
    t, size, border = cfg.terrain, cfg.map.size, cfg.map.border
    levels = np.array([t.lava_below, t.water_below, t.grass_below, t.scrub_below, t.forest_below])
    material = np.searchsorted(levels, height, side="right").astype(np.uint8)
    inside = np.zeros(height.shape, dtype=bool)
    inside[border : border + size, border : border + size] = True
    material[~inside] = Material.LAVA
    return material


def _next_to(hit: np.ndarray, diagonal: bool = True) -> np.ndarray:
    """Where a tile has a neighbour where ``hit`` is true (8 neighbours, or 4 without ``diagonal``)."""
    padded = np.pad(hit, 1)
    side = hit.shape[0]
    near = np.zeros_like(hit)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if (dr, dc) != (0, 0) and (diagonal or dr == 0 or dc == 0):
                near |= padded[1 + dr : 1 + dr + side, 1 + dc : 1 + dc + side]
    return near


def place_resources(cfg: Config, material: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resource tiles for the gathering professions (``profession.enabled``), placed on a
    generated map in place: each candidate tile becomes the resource with its density's chance.

    * ore: grass or forest next to stone (8 neighbours: stone lies above the forest line),
      ``ore_density``;
    * tree: grass next to forest, ``tree_density``;
    * crystal: grass in the inner half of the playable area (centrality at least 1/2),
      ``crystal_density``;
    * herb: any grass still left, ``herb_density``;
    * fish: water with walkable land among its 4 neighbours (so someone can fish it),
      ``fish_density``.

    Candidates are taken from the map before any placement; each resource takes only tiles still
    of their first material, in the order above.
    """
    p, size, border = cfg.profession, cfg.map.size, cfg.map.border
    draws = rng.random((5, *material.shape))
    grass = material == Material.GRASS
    forest = material == Material.FOREST
    central = np.zeros(material.shape, bool)
    central[border : border + size, border : border + size] = centrality(size) >= 0.5
    walkable = ~np.isin(material, (Material.WATER, Material.STONE, Material.LAVA))
    fish = (material == Material.WATER) & _next_to(walkable, diagonal=False)
    candidates = (
        (Material.ORE, (grass | forest) & _next_to(material == Material.STONE), p.ore_density),
        (Material.TREE, grass & _next_to(forest), p.tree_density),
        (Material.CRYSTAL, grass & central, p.crystal_density),
        (Material.HERB, grass, p.herb_density),
    )
    for k, (resource, where, density) in enumerate(candidates):
        material[where & (material <= Material.FOREST) & (draws[k] < density)] = resource
    material[fish & (draws[4] < p.fish_density)] = Material.FISH
    return material


def generate_terrain(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Material grid, uint8 ``[G, G]`` of :class:`Material` values; everything outside the playable
    area ``[border, border + size)`` is lava. With ``profession.enabled`` the resource tiles are
    placed last (:func:`place_resources`), from draws after the height map's, so the rest of the
    map is the one the same seed gives without them."""
    material = threshold_materials(cfg, generate_height(cfg, rng))
    if cfg.profession.enabled:
        place_resources(cfg, material, rng)
    return material
