"""check_invariants: silent on healthy worlds, names each broken invariant."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead
from neural_mmo.testing import InvariantError, check_invariants
from neural_mmo.world.materials import Material
from neural_mmo.world.systems.progression import XP_FOR_LEVEL, Skill
from neural_mmo.world.vocabulary import Direction


@pytest.fixture
def state():
    vec = VecEnv(1, "small", seed=1, map__size=16, spawn__n_agents=8, spawn__mode="concurrent", npc__n_npcs=6)
    vec.reset()
    actions = np.zeros((8, vec.n_heads), np.int64)
    actions[:, ActionHead.MOVE] = Direction.NORTH
    for _ in range(3):
        vec.step(actions)
    s = vec.worlds[0]
    check_invariants(s)
    assert s.n_alive >= 2
    assert np.count_nonzero(s.npcs.alive) >= 2
    return s


def first_two(state):
    alive = np.flatnonzero(state.agents.alive)
    return int(alive[0]), int(alive[1])


def first_npc(state):
    return int(np.flatnonzero(state.npcs.alive)[0])


def test_health_above_max(state):
    i, _ = first_two(state)
    state.agents.health[i] = state.config.vitals.max_health + 1
    with pytest.raises(InvariantError, match="health"):
        check_invariants(state)


def test_living_agent_with_zero_health(state):
    i, _ = first_two(state)
    state.agents.health[i] = 0
    with pytest.raises(InvariantError, match="health"):
        check_invariants(state)


@pytest.mark.parametrize("column", ["food", "water"])
def test_food_and_water_bounds(state, column):
    i, _ = first_two(state)
    getattr(state.agents, column)[i] = -1
    with pytest.raises(InvariantError, match=column):
        check_invariants(state)


def test_two_agents_on_one_tile(state):
    i, j = first_two(state)
    state.occupant[state.agents.r[j], state.agents.c[j]] = -1
    state.agents.r[j], state.agents.c[j] = state.agents.r[i], state.agents.c[i]
    with pytest.raises(InvariantError, match="share a tile|occupant"):
        check_invariants(state)


@pytest.mark.parametrize("material", [Material.WATER, Material.STONE])
def test_agent_on_an_impassable_tile(state, material):
    i, _ = first_two(state)
    state.material[state.agents.r[i], state.agents.c[i]] = material
    with pytest.raises(InvariantError, match="impassable"):
        check_invariants(state)


def test_agent_beyond_the_first_border_ring(state):
    i, _ = first_two(state)
    state.occupant[state.agents.r[i], state.agents.c[i]] = -1
    state.agents.r[i] = 0
    state.occupant[0, state.agents.c[i]] = i
    with pytest.raises(InvariantError, match="border"):
        check_invariants(state)


def test_occupant_grid_out_of_sync(state):
    i, _ = first_two(state)
    state.occupant[state.agents.r[i], state.agents.c[i]] = -1
    with pytest.raises(InvariantError, match="occupant"):
        check_invariants(state)
    state.occupant[state.agents.r[i], state.agents.c[i]] = i
    b = state.config.map.border
    free = np.argwhere(state.occupant[b:-b, b:-b] < 0)[0] + b
    state.occupant[free[0], free[1]] = 5
    with pytest.raises(InvariantError, match="occupant"):
        check_invariants(state)


def test_duplicate_or_future_ids(state):
    i, j = first_two(state)
    state.agents.agent_id[j] = state.agents.agent_id[i]
    with pytest.raises(InvariantError, match="ids"):
        check_invariants(state)
    state.agents.agent_id[j] = state.next_agent_id
    with pytest.raises(InvariantError, match="ids"):
        check_invariants(state)


def test_dropped_events(state):
    state.events.counts[1] = 1
    assert state.events.dropped == 1
    with pytest.raises(InvariantError, match="dropped"):
        check_invariants(state)


def test_invariant_error_is_an_assertion_error():
    assert issubclass(InvariantError, AssertionError)


def test_health_above_an_agents_own_max(state):
    i, j = first_two(state)
    state.agents.max_health[j] += 10  # as if j had gained constitution: not i's max
    state.agents.health[i] = state.agents.max_health[i] + 1
    with pytest.raises(InvariantError, match="health"):
        check_invariants(state)


def test_max_health_must_follow_constitution(state):
    i, _ = first_two(state)
    state.agents.max_health[i] += 1
    with pytest.raises(InvariantError, match="max health"):
        check_invariants(state)


def test_a_level_must_match_its_experience(state):
    i, _ = first_two(state)
    state.agents.xp[i, Skill.FISHING] = XP_FOR_LEVEL[1]  # enough XP for level 2, still at level 1
    with pytest.raises(InvariantError, match="experience"):
        check_invariants(state)
    state.agents.level[i, Skill.FISHING] = 2
    check_invariants(state)  # consistent again


def test_levels_within_one_and_max_level(state):
    i, _ = first_two(state)
    state.agents.level[i, Skill.HUNTING] = 0
    with pytest.raises(InvariantError, match="level outside"):
        check_invariants(state)
    state.agents.level[i, Skill.HUNTING] = 1
    j = first_npc(state)
    state.npcs.level[j, Skill.MELEE] = state.config.progression.max_level + 1
    with pytest.raises(InvariantError, match="NPC has a level outside"):
        check_invariants(state)


@pytest.mark.parametrize("health", ["zero", "above max"])
def test_npc_health_bounds(state, health):
    j = first_npc(state)
    state.npcs.health[j] = 0 if health == "zero" else state.npcs.max_health[j] + 1
    with pytest.raises(InvariantError, match="living NPC has health"):
        check_invariants(state)


def test_npc_occupant_out_of_sync(state):
    j = first_npc(state)
    r, c = state.npcs.r[j], state.npcs.c[j]
    state.occupant[r, c] = -1
    with pytest.raises(InvariantError, match="NPC positions"):
        check_invariants(state)
    state.occupant[r, c] = j  # an agent's number where the NPC stands
    with pytest.raises(InvariantError, match="occupant"):
        check_invariants(state)


@pytest.mark.parametrize("material", [Material.LAVA, Material.WATER, Material.STONE])
def test_npc_on_a_deadly_or_impassable_tile(state, material):
    j = first_npc(state)
    state.material[state.npcs.r[j], state.npcs.c[j]] = material
    with pytest.raises(InvariantError, match="NPC stands on"):
        check_invariants(state)


def test_occupant_names_a_dead_npc(state):
    j = first_npc(state)
    state.npcs.alive[j] = False  # removed from the table but left on the grid
    with pytest.raises(InvariantError, match="occupant"):
        check_invariants(state)
