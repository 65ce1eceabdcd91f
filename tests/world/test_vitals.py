"""update_vitals and remove_dead against plain-Python references of their docstrings."""

from __future__ import annotations

import numpy as np
from _support import params
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.world.events import DeathCause, EventLog
from neural_mmo.world.systems.death import remove_dead
from neural_mmo.world.systems.vitals import update_vitals
from neural_mmo.world.tables import AgentTable


def reference_vitals(health, food, water, p):
    """One agent, one tick, exactly as the vitals module docstring says."""
    food = max(0, food - p["food_decay"])
    water = max(0, water - p["water_decay"])
    cause = DeathCause.NONE
    if food == 0:
        health -= p["starvation_damage"]
        if health <= 0:
            cause = DeathCause.STARVATION
    if water == 0:
        health -= p["dehydration_damage"]
        if health <= 0 and cause == DeathCause.NONE:
            cause = DeathCause.DEHYDRATION
    if food > 0 and water > 0 and food > p["food_above"] and water > p["water_above"]:
        health = min(p["max_health"], health + p["regen"])
    if p["immortal"]:
        health = max(1, health)
        cause = DeathCause.NONE
    elif health <= 0:
        health = 0
    return health, food, water, cause


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    max_health=st.integers(1, 300),
    max_food=st.integers(1, 300),
    max_water=st.integers(1, 300),
    food_decay=st.integers(0, 60),
    water_decay=st.integers(0, 60),
    starvation_damage=st.integers(0, 80),
    dehydration_damage=st.integers(0, 80),
    threshold=st.floats(0.0, 1.0),
    regen_fraction=st.floats(0.0, 1.0),
    immortal=st.booleans(),
)
def test_update_vitals_matches_the_reference(
    seed,
    n,
    max_health,
    max_food,
    max_water,
    food_decay,
    water_decay,
    starvation_damage,
    dehydration_damage,
    threshold,
    regen_fraction,
    immortal,
):
    rng = np.random.default_rng(seed)
    agents = AgentTable.empty(n)
    agents.alive[:] = rng.random(n) < 0.85
    agents.health[:] = rng.integers(1, max_health + 1, n)
    agents.food[:] = rng.integers(0, max_food + 1, n)
    agents.water[:] = rng.integers(0, max_water + 1, n)
    lava = rng.random(n) < 0.1
    agents.death_cause[lava] = DeathCause.LAVA
    p = dict(
        food_decay=food_decay,
        water_decay=water_decay,
        starvation_damage=starvation_damage,
        dehydration_damage=dehydration_damage,
        food_above=threshold * max_food,
        water_above=threshold * max_water,
        regen=int(max_health * regen_fraction),
        max_health=max_health,
        immortal=immortal,
    )
    before = {name: getattr(agents, name).copy() for name in ("health", "food", "water", "death_cause")}
    kernel_params = params(
        food_decay=food_decay,
        water_decay=water_decay,
        starvation_damage=starvation_damage,
        dehydration_damage=dehydration_damage,
        food_regen_above=p["food_above"],
        water_regen_above=p["water_above"],
        regen_amount=p["regen"],
        max_health=max_health,
        max_food=max_food,
        max_water=max_water,
        immortal=immortal,
    )
    update_vitals(agents, kernel_params)
    for i in range(n):
        if not before_alive(agents, i) or before["death_cause"][i] != 0:
            for name, column in before.items():
                assert getattr(agents, name)[i] == column[i], (i, name)
            continue
        h, f, w, cause = reference_vitals(
            int(before["health"][i]), int(before["food"][i]), int(before["water"][i]), p
        )
        assert (agents.health[i], agents.food[i], agents.water[i]) == (h, f, w), i
        assert agents.death_cause[i] == cause, i
        assert agents.alive[i]  # death is applied later by remove_dead


def before_alive(agents, i):
    return bool(agents.alive[i])


def test_remove_dead_frees_slots_and_logs_causes():
    agents = AgentTable.empty(4)
    occupant = np.full((8, 8), -1, np.int32)
    for i in range(4):
        agents.alive[i] = i != 3
        agents.agent_id[i] = 10 + i
        agents.r[i], agents.c[i] = 2, i + 1
        agents.health[i] = 5
        occupant[2, i + 1] = i if i != 3 else -1
    agents.death_cause[1] = DeathCause.STARVATION
    agents.death_cause[2] = DeathCause.LAVA
    agents.death_cause[3] = DeathCause.DEHYDRATION  # already dead: not logged again
    events = EventLog.empty(10)
    assert remove_dead(agents, occupant, events, 17) == 2
    assert agents.alive.tolist() == [True, False, False, False]
    assert agents.health.tolist() == [5, 0, 0, 5]
    assert agents.death_tick.tolist() == [-1, 17, 17, -1]
    assert occupant[2].tolist()[1:5] == [0, -1, -1, -1]
    assert [(e["kind"], e["slot"], e["agent_id"], e["value"]) for e in events.rows()] == [
        ("DEATH", 1, 11, DeathCause.STARVATION),
        ("DEATH", 2, 12, DeathCause.LAVA),
    ]


def test_remove_dead_leaves_another_agents_tile_alone():
    agents = AgentTable.empty(2)
    occupant = np.full((4, 4), -1, np.int32)
    agents.alive[:] = True
    agents.r[:] = 1
    agents.c[:] = 1
    occupant[1, 1] = 1
    agents.death_cause[0] = DeathCause.LAVA
    remove_dead(agents, occupant, EventLog.empty(4), 3)
    assert occupant[1, 1] == 1
