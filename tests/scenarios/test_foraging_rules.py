"""Eating, drinking and regrowth on drawn maps; every expected number comes from the config."""

from __future__ import annotations

import numpy as np
import pytest
from _support import binomial_tolerance, load_world, make_scenario

from neural_mmo.config import Config
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.world.events import EventKind
from neural_mmo.world.materials import Material
from neural_mmo.world.vocabulary import Direction

FOREST = """
........
........
..0T....
........
........
........
........
........
"""


@pytest.mark.parametrize("food,restore", [(10, 30), (90, 30), (0, 100), (100, 100), (55, 0)])
def test_eating_refills_then_decays_and_depletes_the_forest(food, restore):
    sc = make_scenario(FOREST, food_restore=restore, food_regrow_prob=0.0)
    v = sc.config.vitals
    sc.state.agents.food[0] = food
    sc.step({0: Direction.EAST})
    refilled = min(v.max_food, food + sc.config.resources.food_restore)
    assert sc.agent(0)["food"] == max(0, refilled - v.food_decay)
    assert [(e["slot"], e["value"]) for e in sc.events(EventKind.EAT)] == [(0, refilled - food)]
    assert sc.material_at(2, 3) == Material.SCRUB
    before = sc.agent(0)["food"]
    sc.step()
    assert sc.events(EventKind.EAT) == []  # scrub feeds nobody
    assert sc.agent(0)["food"] == max(0, before - v.food_decay)


def test_eating_is_in_the_observation_the_same_tick():
    sc = make_scenario(FOREST, food_regrow_prob=0.0)
    sc.state.agents.food[0] = 20
    sc.step({0: Direction.EAST})
    o = sc.obs(0)
    v = sc.config.vitals
    assert o["entities"][0][E.FOOD] == sc.agent(0)["food"]
    assert sc.agent(0)["food"] == min(v.max_food, 20 + sc.config.resources.food_restore) - v.food_decay
    assert o["entities"][0][E.WATER] == sc.agent(0)["water"]
    r = c = sc.config.observe.vision_radius
    assert o["tiles"][r, c, 0] == Material.SCRUB


def test_regrowth_with_probability_one_takes_exactly_one_tick():
    sc = make_scenario(FOREST, food_regrow_prob=1.0)
    sc.step({0: Direction.EAST})
    assert sc.material_at(2, 3) == Material.SCRUB
    sc.step()
    assert sc.material_at(2, 3) == Material.FOREST
    assert sc.events(EventKind.EAT) == []  # it regrew after foraging, so no meal this tick
    sc.step()
    assert sc.events(EventKind.EAT) != [] and sc.material_at(2, 3) == Material.SCRUB


def test_regrowth_with_probability_zero_never_happens():
    sc = make_scenario(
        """
        ........
        ........
        ..0T....
        ,,,,,,,,
        ,,,,,,,,
        ,,,,,,,,
        ,,,,,,,,
        ,,,,,,,,
    """,
        food_regrow_prob=0.0,
        immortal=True,
    )
    sc.step({0: Direction.EAST})
    sc.step({0: Direction.EAST})
    scrub_before = int((sc.state.material == Material.SCRUB).sum())
    for _ in range(400):
        sc.step()
    assert sc.material_at(2, 3) == Material.SCRUB
    assert int((sc.state.material == Material.SCRUB).sum()) == scrub_before
    assert scrub_before == 1 + 8 * 5


@pytest.mark.parametrize("prob", [0.1, 0.03])
def test_regrowth_fraction_follows_one_minus_one_minus_p_to_the_k(prob):
    """4000+ scrub tiles (depleted at tick 0): after k ticks about 1-(1-p)^k of them are forest."""
    side = 64
    rows = ["0" + "," * (side - 1)] + ["," * side] * (side - 1)
    sc = make_scenario("\n".join(rows), seed=5, food_regrow_prob=prob, immortal=True)
    n = side * side - 1
    p = sc.config.resources.food_regrow_prob
    for k in range(1, 31):
        sc.step()
        if k in (1, 2, 5, 10, 30):
            regrown = int((sc.state.material == Material.FOREST).sum())
            expected = 1 - (1 - p) ** k
            assert abs(regrown - n * expected) <= binomial_tolerance(n, expected), (k, regrown, n * expected)


@pytest.mark.parametrize("prob", [0.1, 0.25])
def test_regrowth_after_eating_in_one_tick_matches_p(prob):
    """400 agents eat their forest tiles on tick 1; a fraction p of them is forest again after tick 2."""
    side = 20
    cfg = Config.preset("small").override(
        {
            "map.size": side,
            "spawn.n_agents": side * side,
            "spawn.mode": "concurrent",
            "resources.food_regrow_prob": prob,
            "vitals.immortal": True,
        }
    )
    inner = np.full((side, side), Material.FOREST, np.uint8)
    placements = [[r, c] for r in range(side) for c in range(side)]
    vec = load_world(cfg, inner, placements, seed=3)
    vec.step(np.zeros((side * side, 2), np.int64))
    state = vec.worlds[0]
    assert len(state.events.of_kind(EventKind.EAT)) == side * side
    assert int((state.material == Material.FOREST).sum()) == 0
    vec.step(np.zeros((side * side, 2), np.int64))
    regrown = int((state.material == Material.FOREST).sum())
    p = cfg.resources.food_regrow_prob
    assert abs(regrown - side * side * p) <= binomial_tolerance(side * side, p)


WATER = """
........
........
...~....
........
........
........
........
........
"""


@pytest.mark.parametrize("where", [(1, 3), (3, 3), (2, 2), (2, 4)])
@pytest.mark.parametrize("water,restore", [(10, 30), (90, 30), (0, 100)])
def test_drinking_next_to_water(where, water, restore):
    grid = [list(r) for r in WATER.split()]
    grid[where[0]][where[1]] = "0"
    sc = make_scenario("\n".join("".join(r) for r in grid), water_restore=restore)
    v = sc.config.vitals
    sc.state.agents.water[0] = water
    sc.step()
    refilled = min(v.max_water, water + sc.config.resources.water_restore)
    assert sc.agent(0)["water"] == max(0, refilled - v.water_decay)
    assert [(e["slot"], e["value"]) for e in sc.events(EventKind.DRINK)] == [(0, refilled - water)]
    assert sc.material_at(2, 3) == Material.WATER  # water never runs out


@pytest.mark.parametrize("where", [(1, 2), (1, 4), (3, 2), (3, 4), (0, 3), (2, 5)])
def test_no_drinking_diagonally_or_from_two_tiles_away(where):
    grid = [list(r) for r in WATER.split()]
    grid[where[0]][where[1]] = "0"
    sc = make_scenario("\n".join("".join(r) for r in grid))
    sc.state.agents.water[0] = 50
    sc.step()
    assert sc.events(EventKind.DRINK) == []
    assert sc.agent(0)["water"] == 50 - sc.config.vitals.water_decay


def test_eating_and_drinking_in_one_tick():
    sc = make_scenario(
        """
        ........
        ........
        ...~....
        ..0T....
        ........
        ........
        ........
        ........
    """,
        food_restore=15,
        water_restore=25,
    )
    v = sc.config.vitals
    sc.state.agents.food[0] = 40
    sc.state.agents.water[0] = 40
    sc.step({0: Direction.EAST})
    assert [e["kind"] for e in sc.events() if e["slot"] == 0] == ["MOVE", "EAT", "DRINK"]
    assert sc.agent(0)["food"] == min(v.max_food, 40 + 15) - v.food_decay
    assert sc.agent(0)["water"] == min(v.max_water, 40 + 25) - v.water_decay
