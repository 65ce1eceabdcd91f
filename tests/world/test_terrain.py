"""Terrain generation: determinism, the lava border, shapes, material fractions, the octave bank,
numba kernels against their numpy references, and the centre-versus-edge structure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.world import noise
from neural_mmo.world.materials import BASE_MATERIALS, PASSABLE, Material
from neural_mmo.world.terrain import (
    centrality,
    generate_height,
    generate_terrain,
    octave_count,
    octave_sigma,
    octave_stride,
    octave_wavelengths,
    rank_normalise,
)

SEEDS = range(5)


def _cfg(preset: str = "medium", **overrides: object) -> Config:
    return Config.preset(preset).override(overrides)


def _playable(cfg: Config, grid: np.ndarray) -> np.ndarray:
    b, s = cfg.map.border, cfg.map.size
    return grid[b : b + s, b : b + s]


def _fractions(cfg: Config, material: np.ndarray) -> np.ndarray:
    inside = _playable(cfg, material)
    return np.bincount(inside.ravel(), minlength=BASE_MATERIALS) / inside.size


def _expected_fractions(cfg: Config) -> np.ndarray:
    t = cfg.terrain
    levels = [0.0, t.lava_below, t.water_below, t.grass_below, t.scrub_below, t.forest_below, 1.0]
    return np.diff(levels)


def _gradient_energy(height: np.ndarray) -> np.ndarray:
    """Squared height difference to the right and lower neighbours, ``[n - 1, n - 1]``."""
    return np.diff(height, axis=0)[:, :-1] ** 2 + np.diff(height, axis=1)[:-1] ** 2


# ---------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes() -> None:
    cfg = _cfg()
    a = generate_terrain(cfg, np.random.default_rng(123))
    b = generate_terrain(cfg, np.random.default_rng(123))
    assert a.tobytes() == b.tobytes()
    ha = generate_height(cfg, np.random.default_rng(123))
    hb = generate_height(cfg, np.random.default_rng(123))
    assert ha.tobytes() == hb.tobytes()


def test_different_seeds_give_different_maps() -> None:
    cfg = _cfg()
    a = _playable(cfg, generate_terrain(cfg, np.random.default_rng(1)))
    b = _playable(cfg, generate_terrain(cfg, np.random.default_rng(2)))
    assert (a != b).mean() > 0.3


# ---------------------------------------------------------------------------- shapes and the border


@pytest.mark.parametrize(
    ("size", "border", "vision"),
    [(8, 2, 1), (9, 3, 2), (33, 8, 7), (64, 9, 7), (128, 20, 7), (200, 16, 7)],
)
def test_shape_dtype_and_lava_border(size: int, border: int, vision: int) -> None:
    cfg = Config().override({"map.size": size, "map.border": border, "observe.vision_radius": vision})
    side = size + 2 * border
    assert cfg.grid_side == side
    material = generate_terrain(cfg, np.random.default_rng(size))
    height = generate_height(cfg, np.random.default_rng(size))
    assert material.shape == (side, side) and material.dtype == np.uint8
    assert height.shape == (side, side) and height.dtype == np.float32
    assert 0.0 <= height.min() and height.max() <= 1.0

    outside = np.ones((side, side), dtype=bool)
    outside[border : border + size, border : border + size] = False
    assert np.all(material[outside] == Material.LAVA)
    assert np.all(height[outside] == 0.0)
    inside = _playable(cfg, material)
    assert inside.max() <= max(Material)
    # The inner ring of the playable area is real terrain, not more border.
    ring = np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]])
    assert np.any(ring != Material.LAVA)


def test_border_is_lava_even_when_lava_threshold_is_zero() -> None:
    cfg = _cfg("small", **{"terrain.lava_below": 0.0})
    material = generate_terrain(cfg, np.random.default_rng(0))
    assert not np.any(_playable(cfg, material) == Material.LAVA)
    b = cfg.map.border
    assert np.all(material[:b] == Material.LAVA) and np.all(material[:, -b:] == Material.LAVA)


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(8, 48),
    border=st.integers(8, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_size_has_a_lava_frame_and_valid_materials(size: int, border: int, seed: int) -> None:
    cfg = Config().override({"map.size": size, "map.border": border})
    material = generate_terrain(cfg, np.random.default_rng(seed))
    assert material.shape == (cfg.grid_side, cfg.grid_side)
    frame = material.copy()
    frame[border : border + size, border : border + size] = Material.LAVA
    assert np.all(frame == Material.LAVA)
    assert material.max() < len(Material)


# ---------------------------------------------------------------------------- material fractions


@pytest.mark.parametrize("preset", ["small", "medium"])
def test_fractions_follow_thresholds(preset: str) -> None:
    """Heights are ranks, so each material covers the span between its thresholds (to rounding)."""
    cfg = _cfg(preset)
    expected = _expected_fractions(cfg)
    n = cfg.map.size**2
    for seed in SEEDS:
        got = _fractions(cfg, generate_terrain(cfg, np.random.default_rng(seed)))
        np.testing.assert_allclose(got, expected, atol=2.0 / n + 1e-6)


def test_fractions_follow_overridden_thresholds() -> None:
    cfg = _cfg(
        "medium",
        **{
            "terrain.lava_below": 0.05,
            "terrain.water_below": 0.35,
            "terrain.grass_below": 0.40,
            "terrain.scrub_below": 0.50,
            "terrain.forest_below": 0.75,
        },
    )
    got = _fractions(cfg, generate_terrain(cfg, np.random.default_rng(3)))
    np.testing.assert_allclose(got, [0.05, 0.30, 0.05, 0.10, 0.25, 0.25], atol=2.0 / cfg.map.size**2 + 1e-6)


def test_default_thresholds_look_like_neural_mmo() -> None:
    """Mostly grass and forest with lakes, some stone, a little scrub, a few lava pools."""
    lava, water, grass, scrub, forest, stone = _expected_fractions(Config())
    assert 0.01 <= lava <= 0.04
    assert 0.10 <= water <= 0.20
    assert 0.30 <= grass <= 0.45
    assert 0.03 <= scrub <= 0.08
    assert 0.20 <= forest <= 0.35
    assert 0.05 <= stone <= 0.12


def test_edge_ring_is_calmer_than_the_map() -> None:
    """Agents spawn on the edge ring: less lava and more passable ground there than on the map."""
    cfg = _cfg()
    ring_lava, ring_passable, ring_water = [], [], []
    for seed in SEEDS:
        inside = _playable(cfg, generate_terrain(cfg, np.random.default_rng(seed)))
        ring = np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]])
        ring_lava.append(np.mean(ring == Material.LAVA))
        ring_water.append(np.mean(ring == Material.WATER))
        ring_passable.append(np.mean(PASSABLE[ring] & (ring != Material.LAVA)))
    lava, water, grass, scrub, forest, stone = _expected_fractions(cfg)
    assert np.mean(ring_lava) < lava / 4
    assert np.mean(ring_passable) > grass + scrub + forest
    assert np.mean(ring_water) > water / 4  # still drinkable water near spawn


# ---------------------------------------------------------------------------- the octave bank


@pytest.mark.parametrize(("size", "count"), [(8, 4), (16, 4), (64, 8), (128, 16), (200, 25), (1024, 128)])
def test_octave_count_rule(size: int, count: int) -> None:
    assert octave_count(Config().override({"map.size": size})) == count


def test_octave_count_of_presets() -> None:
    assert octave_count(Config.preset("medium")) == 16
    assert octave_count(Config.preset("large")) == 128


def test_wavelengths_are_log_spaced_between_the_limits() -> None:
    cfg = Config.preset("medium")
    wl = octave_wavelengths(cfg)
    assert len(wl) == octave_count(cfg)
    assert wl[0] == pytest.approx(cfg.terrain.max_wavelength)
    assert wl[-1] == pytest.approx(cfg.terrain.min_wavelength)
    ratios = wl[1:] / wl[:-1]
    np.testing.assert_allclose(ratios, ratios[0])
    assert ratios[0] < 1.0


def test_sigma_covers_the_same_share_of_any_bank() -> None:
    medium, large = Config.preset("medium"), Config.preset("large")
    share = [octave_sigma(c) / (octave_count(c) - 1) for c in (medium, large)]
    assert share[0] == pytest.approx(medium.terrain.smoothness / 8)
    assert share[1] == pytest.approx(share[0])
    assert octave_sigma(_cfg("medium", **{"terrain.smoothness": 2.0})) == pytest.approx(
        2 * octave_sigma(medium)
    )
    # Large banks are sampled sparsely, with at least two octaves per sigma.
    sigma = octave_sigma(large)
    assert octave_stride(sigma) > 1 and sigma / octave_stride(sigma) >= 2.0
    assert octave_stride(octave_sigma(medium)) == 1


def test_centrality() -> None:
    c = centrality(9)
    assert c[4, 4] == 1.0
    assert np.all(c[0] == 0.0) and np.all(c[:, -1] == 0.0)
    assert c[2, 4] == pytest.approx(0.5) and c[2, 2] == pytest.approx(0.5)
    assert np.all((c >= 0.0) & (c <= 1.0))


def test_rank_normalise_is_uniform() -> None:
    values = np.random.default_rng(0).normal(size=(20, 30))
    ranks = rank_normalise(values)
    np.testing.assert_allclose(np.sort(ranks.ravel()), (np.arange(600) + 0.5) / 600)
    assert np.array_equal(np.argsort(ranks.ravel()), np.argsort(values.ravel()))


# ---------------------------------------------------------------------------- kernels vs references


def test_simplex_numba_agrees_with_reference() -> None:
    rng = np.random.default_rng(0)
    r, c = np.meshgrid(np.arange(40.0), np.arange(40.0), indexing="ij")
    for seed in (0, 12345, 2**32 - 1):
        freq, dx, dy = rng.uniform(0.02, 0.5), rng.uniform(-100, 4096), rng.uniform(-100, 4096)
        x, y = (c * freq + dx).ravel(), (r * freq + dy).ravel()
        got = noise.simplex_points(x, y, seed)
        want = noise.simplex_points_reference(x, y, seed)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        assert np.ptp(got) > 0.5  # not a constant: the comparison means something


def test_simplex_statistics() -> None:
    """Zero mean, bounded by 1, and the documented standard deviation that blends divide by."""
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 2000, 200_000), rng.uniform(0, 2000, 200_000)
    values = noise.simplex_points(x, y, 7)
    assert abs(values.mean()) < 0.01
    assert np.abs(values).max() <= 1.0
    assert values.std() == pytest.approx(noise.SIMPLEX_STD, rel=0.02)
    other = noise.simplex_points(x, y, 8)
    assert abs(np.corrcoef(values, other)[0, 1]) < 0.02  # seeds give independent octaves


def test_simplex_is_continuous() -> None:
    x = np.linspace(0.0, 50.0, 200_001)
    values = noise.simplex_points(x, np.full_like(x, 3.3), 5)
    assert np.abs(np.diff(values)).max() < 0.01


@pytest.mark.parametrize(("sigma", "stride"), [(0.7, 1), (1.9, 1), (5.0, 2)])
def test_blend_bank_numba_agrees_with_reference(sigma: float, stride: int) -> None:
    rng = np.random.default_rng(2)
    n = 12
    freqs = 1.0 / np.geomspace(40.0, 3.0, n)
    seeds = rng.integers(0, 2**32, size=n, dtype=np.int64)
    offsets = rng.uniform(0, 4096, size=(n, 2))
    mean = rng.uniform(0, n - 1, size=(24, 24))
    mean[0, 0], mean[0, 1] = 0.0, n - 1.0
    got = noise.blend_bank(mean, sigma, stride, freqs, seeds, offsets)
    want = noise.blend_bank_reference(mean, sigma, stride, freqs, seeds, offsets)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert np.ptp(got) > 1.0


def test_blend_bank_has_unit_spread_for_any_width() -> None:
    """Dividing by the root of the summed squared weights keeps the spread of a blend at about 1."""
    rng = np.random.default_rng(3)
    n = 16
    freqs = 1.0 / np.geomspace(8.0, 2.0, n)
    seeds = rng.integers(0, 2**32, size=n, dtype=np.int64)
    offsets = rng.uniform(0, 4096, size=(n, 2))
    for sigma in (0.5, 2.0, 6.0):
        out = noise.blend_bank(np.full((160, 160), 7.5), sigma, 1, freqs, seeds, offsets)
        assert out.std() == pytest.approx(1.0, rel=0.15)


def test_fbm_has_unit_spread() -> None:
    rng = np.random.default_rng(4)
    seeds = rng.integers(0, 2**32, size=3, dtype=np.int64)
    offsets = rng.uniform(0, 4096, size=(3, 2))
    out = noise.fbm_grid(256, 256, 8.0, seeds, offsets)
    assert out.std() == pytest.approx(1.0, rel=0.1)
    assert abs(out.mean()) < 0.1


def test_normal_cdf_agrees_with_math_erf() -> None:
    z = np.linspace(-4, 4, 81).reshape(9, 9)
    want = np.array([[0.5 * (1 + math.erf(v / math.sqrt(2))) for v in row] for row in z])
    np.testing.assert_allclose(noise.normal_cdf(z), want, atol=1e-15)


# ---------------------------------------------------------------------------- centre vs edges


def _centre_to_edge_energy(cfg: Config) -> float:
    """Mean gradient energy of the central square over that of the outer band, over several seeds."""
    s = cfg.map.size
    centre, edge = [], []
    for seed in SEEDS:
        e = _gradient_energy(_playable(cfg, generate_height(cfg, np.random.default_rng(seed))).astype(float))
        q, band = s // 8, s // 8
        centre.append(e[s // 2 - q : s // 2 + q, s // 2 - q : s // 2 + q].mean())
        outer = np.ones(e.shape, dtype=bool)
        outer[band:-band, band:-band] = False
        edge.append(e[outer].mean())
    return float(np.mean(centre) / np.mean(edge))


def test_centre_is_more_varied_than_edges() -> None:
    assert _centre_to_edge_energy(_cfg()) > 3.0


def test_centre_bias_drives_the_contrast() -> None:
    """Negative control: without centre bias and edge calming the centre is not systematically busier."""
    biased = _centre_to_edge_energy(_cfg())
    flat = _centre_to_edge_energy(_cfg(**{"terrain.centre_bias": 0.0, "terrain.edge_calm": 0.0}))
    assert flat < biased / 2
    assert 0.4 < flat < 2.5


# ---------------------------------------------------------------------- resource tiles


def _economy(preset: str = "medium", **overrides: object) -> Config:
    return _cfg(preset, item__enabled=True, profession__enabled=True, **overrides)


def test_resources_exist_only_with_professions_and_leave_the_rest_of_the_map_alone():
    plain = generate_terrain(_cfg(), np.random.default_rng(3))
    assert plain.max() < BASE_MATERIALS
    with_resources = generate_terrain(_economy(), np.random.default_rng(3))
    changed = with_resources != plain
    assert changed.any()
    # only grass, forest (to ore) and water (to fish) turned into resources, and only into resources
    assert set(np.unique(plain[changed])) <= {Material.GRASS, Material.FOREST, Material.WATER}
    assert set(np.unique(with_resources[changed])) <= {
        Material.ORE, Material.TREE, Material.CRYSTAL, Material.HERB, Material.FISH
    }  # fmt: skip
    became = {m: int((with_resources == m).sum()) for m in (Material.ORE, Material.TREE, Material.CRYSTAL,
                                                             Material.HERB, Material.FISH)}  # fmt: skip
    assert all(count > 0 for count in became.values()), became


def _neighbours(material: np.ndarray, r: int, c: int, diagonal: bool) -> set[int]:
    steps = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    return {int(material[r + dr, c + dc]) for dr, dc in steps if diagonal or dr == 0 or dc == 0}


def test_each_resource_lies_where_its_rule_puts_it():
    cfg = _economy()
    rng = np.random.default_rng(11)
    plain = generate_terrain(_cfg(), np.random.default_rng(11))
    material = generate_terrain(cfg, rng)
    b, s = cfg.map.border, cfg.map.size
    for r, c in zip(*np.nonzero(material != plain)):
        kind = material[r, c]
        if kind == Material.ORE:
            assert Material.STONE in _neighbours(plain, r, c, True)
        elif kind == Material.TREE:
            assert plain[r, c] == Material.GRASS and Material.FOREST in _neighbours(plain, r, c, True)
        elif kind == Material.CRYSTAL:
            centre = (s - 1) / 2
            assert max(abs(r - b - centre), abs(c - b - centre)) / centre <= 0.5
        elif kind == Material.FISH:
            assert any(PASSABLE[m] and m != Material.LAVA for m in _neighbours(plain, r, c, False))


def test_densities_scale_the_resources_and_zero_places_none():
    none = generate_terrain(
        _economy(profession__ore_density=0.0, profession__tree_density=0.0, profession__crystal_density=0.0,
                 profession__herb_density=0.0, profession__fish_density=0.0),
        np.random.default_rng(5),
    )  # fmt: skip
    assert none.max() < BASE_MATERIALS
    few = generate_terrain(_economy(profession__herb_density=0.01), np.random.default_rng(5))
    many = generate_terrain(_economy(profession__herb_density=0.2), np.random.default_rng(5))
    assert (many == Material.HERB).sum() > 5 * (few == Material.HERB).sum() > 0
