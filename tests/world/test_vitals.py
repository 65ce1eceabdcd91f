"""update_vitals and remove_dead against plain-Python references of their docstrings."""

from __future__ import annotations

import numpy as np
from _support import rules, world_of
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.world.events import DeathCause, EventLog
from neural_mmo.world.systems.death import remove_dead
from neural_mmo.world.systems.vitals import update_vitals
from neural_mmo.world.tables import NEVER, AgentTable, NpcTable


def reference_vitals(health, food, water, max_health, in_combat, p):
    """One agent, one tick, exactly as the vitals module docstring says (``max_health``: the agent's
    own; ``in_combat``: it attacked or was attacked within the last ``status_ticks`` ticks)."""
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
    paused = in_combat and not p["regen_in_combat"]
    if food > 0 and water > 0 and food > p["food_above"] and water > p["water_above"] and not paused:
        health = min(max_health, health + p["regen"])
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
    status_ticks=st.integers(0, 20),
    regen_in_combat=st.booleans(),
    now=st.integers(1, 10**6),
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
    status_ticks,
    regen_in_combat,
    now,
):
    rng = np.random.default_rng(seed)
    agents = AgentTable.empty(n)
    agents.alive[:] = rng.random(n) < 0.85
    # constitution raises an agent's own max health above the config's
    agents.max_health[:] = max_health + 2 * rng.integers(0, 3, n) * rng.integers(0, 50, n)
    agents.health[:] = rng.integers(1, agents.max_health.astype(int) + 1)
    # last combat: never, long ago, or within the last status_ticks ticks
    agents.combat_tick[:] = rng.choice([NEVER, now - status_ticks - 1, now - status_ticks, now - 1, now], n)
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
        immortal=immortal,
        regen_in_combat=regen_in_combat,
    )
    before = {name: getattr(agents, name).copy() for name in ("health", "food", "water", "death_cause")}
    kernel_params = rules(
        vitals__food_decay=food_decay,
        vitals__water_decay=water_decay,
        vitals__starvation_damage=starvation_damage,
        vitals__dehydration_damage=dehydration_damage,
        derived__food_regen_above=p["food_above"],
        derived__water_regen_above=p["water_above"],
        derived__regen_amount=p["regen"],
        vitals__max_health=max_health,
        vitals__max_food=max_food,
        vitals__max_water=max_water,
        vitals__immortal=immortal,
        combat__status_ticks=status_ticks,
        combat__regen_in_combat=regen_in_combat,
    )
    update_vitals(world_of(np.zeros((3, 3), np.uint8), now, agents=agents), kernel_params)
    for i in range(n):
        if not before_alive(agents, i) or before["death_cause"][i] != 0:
            for name, column in before.items():
                assert getattr(agents, name)[i] == column[i], (i, name)
            continue
        in_combat = now - int(agents.combat_tick[i]) < status_ticks
        h, f, w, cause = reference_vitals(
            int(before["health"][i]), int(before["food"][i]), int(before["water"][i]),
            int(agents.max_health[i]), in_combat, p,
        )  # fmt: skip
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
    world = world_of(
        occupant * 0, 17, agents=agents, npcs=NpcTable.empty(2), occupant=occupant, events=events
    )
    assert remove_dead(world) == 2
    assert agents.alive.tolist() == [True, False, False, False]
    assert agents.health.tolist() == [5, 0, 0, 5]
    assert agents.death_tick.tolist() == [-1, 17, 17, -1]
    assert occupant[2].tolist()[1:5] == [0, -1, -1, -1]
    assert [
        (e["kind"], e["slot"], e["agent_id"], e["value"], e["other"], e["other_id"]) for e in events.rows()
    ] == [
        ("DEATH", 1, 11, DeathCause.STARVATION, -1, -1),
        ("DEATH", 2, 12, DeathCause.LAVA, -1, -1),
    ]


def test_remove_dead_names_the_killer_agent_or_npc():
    agents = AgentTable.empty(3)
    npcs = NpcTable.empty(2)
    occupant = np.full((6, 6), -1, np.int32)
    agents.alive[:] = True
    agents.agent_id[:] = [30, 31, 32]
    agents.r[:] = 1
    agents.c[:] = [1, 2, 3]
    occupant[1, 1:4] = [0, 1, 2]
    npcs.alive[1] = True
    npcs.npc_id[1] = 77
    agents.death_cause[0] = agents.death_cause[2] = DeathCause.COMBAT
    agents.killer[0] = 2  # agent slot 2 (itself killed this tick: blows are simultaneous)
    agents.killer[2] = 3 + 1  # entity n_agents + 1: NPC slot 1
    events = EventLog.empty(6)
    assert (
        remove_dead(world_of(occupant * 0, 5, agents=agents, npcs=npcs, occupant=occupant, events=events))
        == 2
    )
    assert [(e["slot"], e["agent_id"], e["value"], e["other"], e["other_id"]) for e in events.rows()] == [
        (0, 30, DeathCause.COMBAT, 2, 32),
        (2, 32, DeathCause.COMBAT, 4, 77),
    ]
    assert agents.alive.tolist() == [False, True, False] and occupant[1, 1:4].tolist() == [-1, 1, -1]


def test_remove_dead_leaves_another_agents_tile_alone():
    agents = AgentTable.empty(2)
    occupant = np.full((4, 4), -1, np.int32)
    agents.alive[:] = True
    agents.r[:] = 1
    agents.c[:] = 1
    occupant[1, 1] = 1
    agents.death_cause[0] = DeathCause.LAVA
    remove_dead(world_of(occupant * 0, 3, agents=agents, occupant=occupant, events=EventLog.empty(4)))
    assert occupant[1, 1] == 1
