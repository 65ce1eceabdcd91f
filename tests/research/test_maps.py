"""Analysis maps against small hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neural_mmo.config import Config
from neural_mmo.render import POPULATION_COLOURS
from neural_mmo.research.maps import (
    STYLE_COLOURS,
    MapRecorder,
    coverage,
    dependency_observations,
    grass_scene,
    jensen_shannon,
    niche_image,
    specialisation,
)
from neural_mmo.testing import Scenario
from neural_mmo.world.materials import Material
from neural_mmo.world.vocabulary import Direction, Style

DRAWING = """
........
.0......
........
........
......1.
........
........
........
"""


def recorded(moves: list[dict[int, int]], attacks: list[dict[int, tuple[int, int]]] | None = None, **kw):
    sc = Scenario(DRAWING, spawn__n_populations=2, immortal=True, combat__spawn_immunity=0, **kw)
    recorder = MapRecorder(sc.vec)
    recorder.start()
    for k, move in enumerate(moves):
        sc.step(move, (attacks or [{}] * len(moves))[k])
        recorder.tick()
    recorder.finish()
    return sc, recorder


def test_visits_coverage_and_distance_on_a_drawn_map():
    east = {0: Direction.EAST}
    sc, rec = recorded([east, east, east, {}, {}])
    b = sc.border
    expected = np.zeros_like(rec.visits)
    for c in (2, 3):  # agent 0 (population 0) walks from (1, 1) to (1, 4), then stays
        expected[0, b + 1, b + c] = 1
    expected[0, b + 1, b + 4] = 3
    expected[1, b + 4, b + 6] = 5  # agent 1 (population 1) stays five ticks
    np.testing.assert_array_equal(rec.visits, expected)
    assert rec.ticks == 5
    assert coverage(rec.visited, [sc.state.material], sc.config) == pytest.approx(4 / 64)
    assert sorted(rec.distances.tolist()) == [0.0, 3.0]


def test_attacks_are_counted_where_the_attacker_stood_by_style():
    drawing_attacks = [{0: (Style.MAGE, 1)}] * 3 + [{0: (Style.RANGE, 1)}]
    sc, rec = recorded([{}] * 4, drawing_attacks, combat__mage_range=5, combat__range_range=5)
    b = sc.border
    assert rec.attacks[Style.MAGE - 1, b + 1, b + 1] == 3
    assert rec.attacks[Style.RANGE - 1, b + 1, b + 1] == 1
    assert rec.attacks.sum() == 4


def test_specialisation_is_zero_for_identical_visits_and_grows_as_they_separate():
    p = np.array([1.0, 1.0, 0.0])
    q = np.array([0.0, 1.0, 1.0])
    assert jensen_shannon(p, q) == pytest.approx(0.5)  # m = (.25, .5, .25): each KL is 0.5 bit
    assert jensen_shannon(p, 7 * p) == pytest.approx(0.0)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    same = np.stack([np.arange(16.0).reshape(4, 4)] * 3)
    assert specialisation(same) == pytest.approx(0.0, abs=1e-12)
    values = []
    for shift in range(5):  # two bumps drifting apart
        a = np.exp(-0.5 * (np.arange(20) - 8.0) ** 2)
        b = np.exp(-0.5 * (np.arange(20) - 8.0 - shift) ** 2)
        values.append(specialisation(np.stack([a, b])))
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert all(x < y for x, y in zip(values, values[1:])) and values[-1] > 0.9
    assert math.isnan(specialisation(same[:1]))


def test_the_niche_picture_colours_tiles_by_population():
    material = np.full((4, 4), Material.GRASS, np.uint8)
    visits = np.zeros((2, 4, 4))
    visits[0, 0, 0] = 10
    visits[1, 3, 3] = 10
    visits[:, 2, 2] = 5
    image = niche_image(visits, material, scale=1)
    np.testing.assert_array_equal(image[0, 0], POPULATION_COLOURS[0])
    np.testing.assert_array_equal(image[3, 3], POPULATION_COLOURS[1])
    mix = (POPULATION_COLOURS[0].astype(float) + POPULATION_COLOURS[1]) / 2
    np.testing.assert_array_equal(image[2, 2], mix.astype(np.uint8))
    assert (image[1, 1] < 60).all(), "an unvisited tile is the darkened map"
    assert STYLE_COLOURS.shape == (3, 3)


# ---------------------------------------------------------------------- dependency


class Probe:
    """A stand-in model whose value is hand-computable from the observation: 1000 x the agent's
    population, plus 10 x the row offset + the column offset + 100 x the population of the other
    agent (entity row 1), when there is one."""

    def __call__(self, obs):
        import torch

        entities = obs["entities"].double()
        other = obs["entity_mask"][:, 1].double()
        value = 1000 * entities[:, 0, 1] + other * (
            10 * entities[:, 1, 4] + entities[:, 1, 5] + 100 * entities[:, 1, 1]
        )
        return None, value.to(torch.float32), None


def test_the_dependency_map_is_the_value_change_at_every_offset():
    pytest.importorskip("torch")
    from neural_mmo.research.maps import dependency_map

    cfg = Config.preset("small").override({"spawn.n_populations": 2})
    values = dependency_map([Probe(), Probe()], cfg)
    R = cfg.observe.vision_radius
    assert values.shape == (2, 2, 2 * R + 1, 2 * R + 1)
    dr, dc = np.meshgrid(np.arange(-R, R + 1), np.arange(-R, R + 1), indexing="ij")
    for a in range(2):
        for b in range(2):
            expected = 10.0 * dr + dc + 100 * b
            expected[R, R] = np.nan
            np.testing.assert_allclose(values[a, b], expected)


def test_dependency_scenes_leave_out_tiles_no_agent_can_stand_on():
    cfg = Config.preset("small")
    material, centre = grass_scene(cfg)
    r0, c0 = centre
    material[r0 - 1, c0 + 2] = Material.WATER
    alone, pairs, offsets = dependency_observations(cfg, material, centre, 1)
    R = cfg.observe.vision_radius
    assert len(offsets) == (2 * R + 1) ** 2 - 2
    assert [-1, 2] not in offsets.tolist()
    k = offsets.tolist().index([3, -4])
    assert pairs["entity_mask"][0, 0, k].tolist()[:3] == [1, 1, 0]
    assert pairs["entities"][0, 0, k, 1, 4:6].tolist() == [3, -4]
    assert alone["entity_mask"][0].tolist()[:2] == [1, 0]
    assert pairs["entities"][0, 0, k, 1, 21] == 0, "past spawn immunity"
