"""Scenario maps: parsing, the border, positions in playable coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.config import ConfigError
from neural_mmo.observe.heads import ActionHead, attack_value
from neural_mmo.testing import Scenario, check_invariants, parse_map
from neural_mmo.world.events import EventKind
from neural_mmo.world.materials import Material
from neural_mmo.world.state import Clock
from neural_mmo.world.tables import Behaviour
from neural_mmo.world.vocabulary import Direction, Style


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
    heads = np.zeros((1, sc.vec.n_heads), np.int64)
    heads[0, ActionHead.MOVE] = Direction.SOUTH
    sc.step(heads=heads)
    assert sc.pos(0) == (1, 0)


def test_full_rows_carry_the_attack_head():
    sc = Scenario("01\n..", combat__spawn_immunity=0)
    heads = np.zeros((2, sc.vec.n_heads), np.int64)
    heads[0, ActionHead.ATTACK] = attack_value(Style.MELEE, sc.row_of(0, 1), sc.config.observe.n_entities)
    heads[1, ActionHead.MOVE] = Direction.SOUTH
    sc.step(heads=heads)
    assert [(e["slot"], e["other"], e["detail"]) for e in sc.events(EventKind.ATTACK)] == [
        (0, 1, Style.MELEE)
    ]
    assert sc.pos(1) == (1, 1)  # attacks come before moves: 1 was hit where it stood, then moved


def test_npcs_drawn_on_the_map_replace_the_spawned_ones():
    sc = Scenario(
        """
        0.h
        ...
        p.n
    """,
        npc_level=7,
        npc_style=Style.MAGE,
    )
    cfg = sc.config
    assert cfg.npc.n_npcs == 3 and cfg.npc.spawn_attempts == 0
    npcs = sc.state.npcs
    assert npcs.alive.tolist() == [True, True, True] and npcs.npc_id.tolist() == [0, 1, 2]
    assert [sc.npc_pos(j) for j in range(3)] == [(0, 2), (2, 0), (2, 2)]  # reading order
    assert npcs.behaviour.tolist() == [Behaviour.HOSTILE, Behaviour.PASSIVE, Behaviour.NEUTRAL]
    assert (npcs.level == 7).all() and (npcs.style == Style.MAGE).all()
    health = cfg.vitals.max_health + cfg.progression.health_per_level * (7 - 1)
    assert sc.npc(0)["max_health"] == sc.npc(0)["health"] == health
    assert [sc.npc_entity(j) for j in range(3)] == [1, 2, 3]  # after the one agent slot
    b = sc.border
    assert [int(sc.state.occupant[r + b, c + b]) for r, c in [(0, 2), (2, 0), (2, 2)]] == [1, 2, 3]
    assert sc.material_at(0, 2) == Material.GRASS
    check_invariants(sc.state)
    sc.run(3)
    assert np.count_nonzero(sc.state.npcs.alive) <= 3 and sc.state.clock[Clock.NEXT_NPC_ID] == 3  # no respawn


def test_a_scenario_without_npc_letters_has_no_npcs():
    sc = Scenario("0.\n..")
    assert sc.config.npc.n_npcs == 0 and sc.state.npcs.capacity == 0
    assert (sc.state.occupant >= 0).sum() == 1


def test_attacks_name_an_entity_the_agent_sees():
    sc = Scenario("0p\n..", npc_level=1)
    npc = sc.npc_entity(0)
    row = sc.row_of(0, npc)
    assert row >= 1  # row 0 is the agent itself
    assert sc.attack_mask(0)[Style.MELEE - 1, row] == 1
    assert sc.attack_value(0, Style.RANGE, npc) == 1 + (Style.RANGE - 1) * sc.config.observe.n_entities + row
    sc.step(attacks={0: (Style.MELEE, npc)})
    [attack] = sc.events(EventKind.ATTACK)
    assert (attack["slot"], attack["other"], attack["other_id"], attack["detail"]) == (0, npc, 0, Style.MELEE)
    with pytest.raises(ValueError, match="does not see entity"):
        sc.row_of(0, 7)


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
