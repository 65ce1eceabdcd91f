"""Scenario maps: parsing, the border, positions in playable coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.config import ConfigError
from neural_mmo.testing import Scenario, parse_map
from neural_mmo.world.materials import Material
from neural_mmo.world.systems.movement import Direction


def test_parse_map_legend_and_agents():
    material, agents = parse_map("""
        ~.,
        T1#
        L0.
    """)
    assert material.tolist() == [
        [Material.WATER, Material.GRASS, Material.SCRUB],
        [Material.FOREST, Material.GRASS, Material.STONE],
        [Material.LAVA, Material.GRASS, Material.GRASS],
    ]
    assert agents == {0: (2, 1), 1: (1, 1)}


@pytest.mark.parametrize(
    "drawing,fragment",
    [
        ("..\n...", "square"),
        ("..\n.x", "unknown map character"),
        ("1.\n..", "numbered"),
        ("02\n..", "numbered"),
    ],
)
def test_parse_map_errors(drawing, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_map(drawing)


def test_scenario_builds_a_bordered_one_world_env():
    sc = Scenario(
        """
        ~.......
        .0.T....
        ........
        ..1.....
        ........
        ........
        ........
        .......L
    """,
        immortal=True,
    )
    cfg = sc.config
    assert (
        cfg.map.size == 8
        and cfg.spawn.n_agents == 2
        and cfg.spawn.mode == "concurrent"
        and cfg.vitals.immortal
    )
    assert sc.border == cfg.map.border
    g = cfg.grid_side
    b = sc.border
    assert (sc.state.material[:b] == Material.LAVA).all() and (
        sc.state.material[:, g - b :] == Material.LAVA
    ).all()
    assert sc.material_at(0, 0) == Material.WATER and sc.material_at(1, 3) == Material.FOREST
    assert sc.material_at(7, 7) == Material.LAVA
    assert sc.pos(0) == (1, 1) and sc.pos(1) == (3, 2)
    assert sc.agent(0)["agent_id"] == 0 and sc.agent(1)["health"] == cfg.vitals.max_health
    sc.step({0: Direction.EAST})
    assert sc.pos(0) == (1, 2)
    sc.run(3)
    assert sc.state.tick == 4
    assert set(sc.obs(0)) == {"tiles", "entities", "entity_mask", "action_mask"}


def test_the_docstring_example_runs():
    sc = Scenario(
        """
        ~....
        .0.T.
        .....
        ..1..
        .....
    """,
        immortal=True,
    )
    sc.step({0: Direction.EAST})
    assert sc.pos(0) == (1, 2)


def test_full_action_rows_can_be_given():
    sc = Scenario("0.\n..")
    heads = np.array([[Direction.SOUTH]], np.int64)
    sc.step(heads=heads)
    assert sc.pos(0) == (1, 0)


def test_scenario_accepts_a_seed():
    drawing = "0...\n....\n....\n...1"
    sc = Scenario(drawing, seed=3)
    assert sc.vec.seed == 3
    assert sc.pos(0) == (0, 0) and sc.pos(1) == (3, 3)
    same, other = Scenario(drawing, seed=3), Scenario(drawing, seed=4)
    assert same.state.state_hash() == sc.state.state_hash()
    assert other.state.state_hash() != sc.state.state_hash()  # another seed: other random streams
    assert (other.state.material == sc.state.material).all()  # ... on the same drawn map
    with pytest.raises(ConfigError, match="seed"):
        Scenario(drawing, spawn__seed=3)  # the seed is not a config field


def test_parse_map_rejects_an_agent_drawn_twice():
    with pytest.raises(ValueError, match="drawn twice"):
        parse_map("0.0\n...\n...")
    with pytest.raises(ValueError, match="drawn twice"):
        Scenario("01.\n...\n..1")
