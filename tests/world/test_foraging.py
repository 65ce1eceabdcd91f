"""forage against a plain-Python reference: eat on forest (it depletes), drink next to water."""

from __future__ import annotations

import numpy as np
from _support import PyStream, rules, stream, world_of
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.world.events import DeathCause, EventLog
from neural_mmo.world.materials import Material
from neural_mmo.world.rng import Stream
from neural_mmo.world.state import REGROW_RING, RegrowthQueue
from neural_mmo.world.systems.foraging import forage
from neural_mmo.world.systems.progression import XP_FOR_LEVEL, Skill
from neural_mmo.world.tables import AgentTable


def empty_queue(g: int) -> RegrowthQueue:
    return RegrowthQueue(
        np.full(REGROW_RING, -1, np.int32), np.full(g * g, -1, np.int32), np.full(g * g, -1, np.int64)
    )


@given(
    seed=st.integers(0, 2**32 - 1),
    g=st.integers(4, 10),
    n=st.integers(1, 25),
    max_food=st.integers(1, 200),
    max_water=st.integers(1, 200),
    food_restore=st.integers(0, 250),
    water_restore=st.integers(0, 250),
    prob=st.sampled_from([0.0, 0.05, 0.5, 1.0]),
    tick=st.integers(1, 1000),
    restore_per_level=st.sampled_from([0.0, 0.5, 1.25, 3.0]),
    forage_xp=st.sampled_from([0.0, 10.0, 83.0, 5000.0]),
    max_level=st.sampled_from([1, 10, 99]),
)
def test_forage_matches_the_reference(
    seed, g, n, max_food, max_water, food_restore, water_restore, prob, tick, restore_per_level, forage_xp,
    max_level,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    material = rng.choice(
        np.array([Material.GRASS, Material.FOREST, Material.WATER, Material.SCRUB, Material.STONE], np.uint8),
        size=(g, g),
    )
    inner = [(r, c) for r in range(1, g - 1) for c in range(1, g - 1) if material[r, c] != Material.WATER]
    rng.shuffle(inner)
    agents = AgentTable.empty(n)
    for i, (r, c) in enumerate(inner[:n]):
        agents.alive[i] = rng.random() < 0.9
        agents.agent_id[i] = 50 + i
        agents.r[i], agents.c[i] = r, c
        agents.food[i] = rng.integers(0, max_food + 1)
        agents.water[i] = rng.integers(0, max_water + 1)
        for skill in (Skill.HUNTING, Skill.FISHING):
            level = int(rng.integers(1, max_level + 1))
            low = int(XP_FOR_LEVEL[level - 1])
            high = int(XP_FOR_LEVEL[level]) if level < len(XP_FOR_LEVEL) else low + 1000
            agents.level[i, skill] = level
            agents.xp[i, skill] = rng.integers(low, high)  # an XP that gives this level
        if rng.random() < 0.1:
            agents.death_cause[i] = DeathCause.LAVA

    ref_material = material.copy()
    ref_food, ref_water = agents.food.astype(int), agents.water.astype(int)
    ref_level, ref_xp = agents.level.astype(int), agents.xp.astype(int)
    world_rng = stream(seed + 1)
    ref_rng = PyStream(world_rng)
    ref_due = {}
    expected_events = []

    def gain_forage_xp(i: int, skill: Skill, r: int, c: int) -> None:
        ref_xp[i, skill] += round(forage_xp)
        level = min(max_level, sum(1 for needed in XP_FOR_LEVEL if needed <= ref_xp[i, skill]))
        if level > ref_level[i, skill]:
            ref_level[i, skill] = level
            expected_events.append(("LEVEL_UP", i, 50 + i, r, c, level, -1, -1, skill))

    for i in range(n):
        if not agents.alive[i] or agents.death_cause[i]:
            continue
        r, c = int(agents.r[i]), int(agents.c[i])
        if ref_material[r, c] == Material.FOREST:
            restore = food_restore + int(restore_per_level * (ref_level[i, Skill.HUNTING] - 1))
            gained = min(max_food, ref_food[i] + restore) - ref_food[i]
            ref_food[i] += gained
            ref_material[r, c] = Material.SCRUB
            if prob > 0:
                ref_due[r * g + c] = tick + (1 if prob >= 1 else ref_rng.geometric(prob))
            expected_events.append(("EAT", i, 50 + i, r, c, gained, -1, -1, 0))
            if gained > 0:
                gain_forage_xp(i, Skill.HUNTING, r, c)
        neighbours = [
            ref_material[r - 1, c],
            ref_material[r + 1, c],
            ref_material[r, c - 1],
            ref_material[r, c + 1],
        ]
        if Material.WATER in neighbours:
            restore = water_restore + int(restore_per_level * (ref_level[i, Skill.FISHING] - 1))
            gained = min(max_water, ref_water[i] + restore) - ref_water[i]
            ref_water[i] += gained
            expected_events.append(("DRINK", i, 50 + i, r, c, gained, -1, -1, 0))
            if gained > 0:
                gain_forage_xp(i, Skill.FISHING, r, c)

    queue = empty_queue(g)
    events = EventLog.empty(5 * n)
    p = rules(
        vitals__max_food=max_food,
        vitals__max_water=max_water,
        resources__food_restore=food_restore,
        resources__water_restore=water_restore,
        resources__food_regrow_prob=prob,
        progression__restore_per_level=restore_per_level,
        progression__forage_xp=forage_xp,
        progression__max_level=max_level,
    )
    world = world_of(
        material, tick, {Stream.REGROWTH: world_rng}, agents=agents, regrowth=queue, events=events
    )
    forage(world, p)

    assert (material == ref_material).all()
    assert agents.food.tolist() == ref_food.tolist()
    assert agents.water.tolist() == ref_water.tolist()
    assert agents.level.tolist() == ref_level.tolist()
    assert agents.xp.tolist() == ref_xp.tolist()
    got = [tuple(e.values()) for e in events.rows()]
    assert got == expected_events
    scheduled = {int(t): int(queue.due[t]) for t in np.flatnonzero(queue.due >= 0)}
    assert scheduled == ref_due
    assert world.streams[Stream.REGROWTH].tolist() == ref_rng.state()


def test_diagonal_water_does_not_count():
    material = np.full((5, 5), Material.GRASS, np.uint8)
    material[1, 1] = material[1, 3] = material[3, 1] = material[3, 3] = Material.WATER
    agents = AgentTable.empty(1)
    agents.alive[0] = True
    agents.r[0] = agents.c[0] = 2
    agents.water[0] = 3
    events = EventLog.empty(5)
    p = rules(
        vitals__max_food=10,
        vitals__max_water=10,
        resources__food_restore=5,
        resources__water_restore=5,
        resources__food_regrow_prob=0.5,
    )
    forage(world_of(material, 1, agents=agents, regrowth=empty_queue(5), events=events), p)
    assert agents.water[0] == 3 and events.n == 0
