"""Lava: stepping on it kills at once; the slot is freed and the episode may end."""

from __future__ import annotations

import numpy as np
from _support import make_scenario

from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.world.events import DeathCause, EventKind
from neural_mmo.world.materials import Material
from neural_mmo.world.vocabulary import Direction

MAP = """
........
........
..0L....
........
........
........
......1.
........
"""


def test_lava_kills_frees_the_slot_and_terminates():
    sc = make_scenario(MAP)
    b = sc.border
    sc.step({0: Direction.EAST})
    deaths = sc.events(EventKind.DEATH)
    assert [(e["slot"], e["agent_id"], e["value"], e["r"] - b, e["c"] - b) for e in deaths] == [
        (0, 0, DeathCause.LAVA, 2, 3)
    ]
    assert [e["kind"] for e in sc.events() if e["slot"] == 0] == ["MOVE", "DEATH"]
    agent = sc.agent(0)
    assert agent["alive"] is False and agent["health"] == 0
    assert agent["death_cause"] == DeathCause.LAVA and agent["death_tick"] == 1
    assert sc.state.occupant[2 + b, 3 + b] == -1 and sc.state.occupant[2 + b, 2 + b] == -1
    assert sc.material_at(2, 3) == Material.LAVA
    assert sc.vec.terminations.tolist() == [True, False]
    assert sc.vec.rewards.tolist() == [-1.0, 0.0]
    assert sc.vec.alive.tolist() == [False, True]
    assert sc.vec.agent_id.tolist() == [0, 1]  # the dead agent is still named on its death tick
    assert not sc.vec.episode_done[0]
    sc.step()
    assert sc.vec.terminations.tolist() == [False, False]
    assert sc.vec.agent_id.tolist() == [-1, 1]
    assert sc.vec.rewards.tolist() == [0.0, 0.0]
    no_ops = np.zeros(sc.vec.layout.n_actions, np.int8)
    no_ops[sc.vec.layout.action_offsets] = 1  # value 0 of each head
    assert not sc.obs(0)["entity_mask"].any() and (sc.obs(0)["action_mask"] == no_ops).all()
    assert no_ops.sum() == 2 and no_ops[0] == 1 and no_ops[len(Direction)] == 1


def test_last_view_of_a_dying_agent_is_published():
    sc = make_scenario(MAP)
    sc.step({0: Direction.EAST})
    o = sc.obs(0)
    assert o["entity_mask"][0] == 1 and o["entities"][0][E.HEALTH] == 0  # its own row, health 0
    assert o["entities"][0][E.ROW] - sc.border == 2 and o["entities"][0][E.COL] - sc.border == 3
    assert not sc.attack_mask(0).any()  # the dead attack nobody


def test_everyone_dead_ends_a_concurrent_episode_and_autoreset_replays_the_loaded_map():
    sc = make_scenario(MAP.replace("1", "."))
    scenario_map = sc.state.material.copy()
    start = sc.pos(0)
    sc.step({0: Direction.EAST})
    assert sc.vec.episode_done[0] and sc.vec.terminations[0]
    sc.step({0: Direction.EAST})  # ignored: this step starts the next episode
    state = sc.state
    assert not sc.vec.episode_done[0] and state.tick == 0
    assert (state.material == scenario_map).all()  # a loaded map stays until unload()
    assert sc.pos(0) == start  # and so do its placements
    assert state.n_alive == sc.config.spawn.n_agents == 1
    assert sc.vec.spawned[0] and sc.vec.alive[0] and not sc.vec.terminations[0]
    assert [e["kind"] for e in state.events.rows()] == ["SPAWN"]


def test_after_unload_autoreset_draws_a_new_generated_map():
    sc = make_scenario(MAP.replace("1", "."))
    scenario_map = sc.state.material.copy()
    sc.vec.unload(0)
    sc.step({0: Direction.EAST})
    assert sc.vec.episode_done[0]
    sc.step()
    state = sc.state
    assert state.tick == 0 and not (state.material == scenario_map).all()
    assert state.n_alive == 1 and sc.vec.spawned[0]


def test_immortal_agents_survive_lava():
    sc = make_scenario(MAP, immortal=True)
    sc.step({0: Direction.EAST})
    assert sc.agent(0)["alive"] and sc.pos(0) == (2, 3)
    assert sc.events(EventKind.DEATH) == []
    assert not sc.vec.terminations.any()
    np.testing.assert_array_equal(sc.vec.rewards, [0.0, 0.0])
