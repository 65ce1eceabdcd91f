"""write_observations against a slow Python re-implementation of the layout's rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.encode import Observer, nearest_first, write_observations
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.materials import Material
from neural_mmo.world.tables import AgentTable

BLOCKING = {int(Material.WATER), int(Material.STONE)}
STEPS = [(-1, 0), (1, 0), (0, 1), (0, -1)]  # north, south, east, west


@pytest.mark.parametrize("radius", [1, 2, 3, 7])
def test_nearest_first_order(radius):
    offsets = nearest_first(radius).tolist()
    w = 2 * radius + 1
    assert len(offsets) == w * w and offsets[0] == [0, 0]
    assert len({tuple(o) for o in offsets}) == len(offsets)
    keys = [(max(abs(r), abs(c)), r * r + c * c, r, c) for r, c in offsets]
    assert keys == sorted(keys)
    assert offsets[1:5] == [[-1, 0], [0, -1], [0, 1], [1, 0]]
    assert offsets[5:9] == [[-1, -1], [-1, 1], [1, -1], [1, 1]]


def reference_observation(agents, material, occupant, tick, radius, n_rows, slot, border):
    """One agent's observation, computed from the agent table (not the occupant grid) where possible."""
    r0, c0 = int(agents.r[slot]), int(agents.c[slot])
    w = 2 * radius + 1
    tiles = np.zeros((w, w, 2), np.uint8)
    living = [j for j in range(agents.capacity) if agents.alive[j]]
    where = {(int(agents.r[j]), int(agents.c[j])): j for j in living}
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            tiles[dr + radius, dc + radius, 0] = material[r0 + dr, c0 + dc]
            j = where.get((r0 + dr, c0 + dc))
            tiles[dr + radius, dc + radius, 1] = 0 if j is None else agents.population[j] + 1

    def row(j):
        return [
            1,
            agents.population[j],
            agents.r[j],
            agents.c[j],
            agents.r[j] - r0,
            agents.c[j] - c0,
            agents.health[j],
            agents.food[j],
            agents.water[j],
            min(tick - int(agents.spawn_tick[j]), 32767),
        ]

    seen = [
        j
        for j in living
        if j != slot and abs(int(agents.r[j]) - r0) <= radius and abs(int(agents.c[j]) - c0) <= radius
    ]

    def key(j):
        dr, dc = int(agents.r[j]) - r0, int(agents.c[j]) - c0
        return (max(abs(dr), abs(dc)), dr * dr + dc * dc, dr, dc)

    seen.sort(key=key)
    entities = np.zeros((n_rows, 10), np.int16)
    mask = np.zeros(n_rows, np.uint8)
    shown = np.full(n_rows, -1, np.int32)
    for k, j in enumerate([slot, *seen][:n_rows]):
        entities[k] = row(j)
        mask[k] = 1
        shown[k] = j
    action = np.zeros(5, np.int8)
    action[0] = 1
    lo, hi = border - 1, material.shape[0] - border  # nobody moves past the first border ring
    for d, (dr, dc) in enumerate(STEPS, start=1):
        r1, c1 = r0 + dr, c0 + dc
        inside = lo <= r1 <= hi and lo <= c1 <= hi
        action[d] = inside and int(material[r1, c1]) not in BLOCKING and (r1, c1) not in where
    return tiles, entities, mask, action, shown


@given(
    seed=st.integers(0, 2**32 - 1),
    radius=st.integers(1, 4),
    size=st.integers(3, 12),
    n_slots=st.integers(1, 40),
    n_rows=st.integers(1, 8),
    n_pop=st.integers(1, 4),
    tick=st.integers(0, 40000),
)
def test_write_observations_matches_the_reference(seed, radius, size, n_slots, n_rows, n_pop, tick):
    rng = np.random.default_rng(seed)
    border = radius + 1
    g = size + 2 * border
    material = rng.integers(0, 6, size=(g, g)).astype(np.uint8)
    agents = AgentTable.empty(n_slots)
    occupant = np.full((g, g), -1, np.int32)
    lo, hi = border - 1, g - border  # agents may stand on the first ring of the border
    spread = int(rng.integers(1, hi - lo + 2))  # crowd agents into a corner sometimes
    tiles_free = [(r, c) for r in range(lo, lo + spread) for c in range(lo, lo + spread)]
    rng.shuffle(tiles_free)
    status = rng.integers(0, 3, size=n_slots)  # 0 empty, 1 alive, 2 died this tick
    living_tiles: list[tuple[int, int]] = []
    for i in range(n_slots):
        if status[i] == 2 and living_tiles and rng.random() < 0.5:
            r, c = living_tiles[int(rng.integers(len(living_tiles)))]  # a newcomer took its tile
        elif status[i] == 0 or not tiles_free:
            status[i] = 0
            continue
        else:
            r, c = tiles_free.pop()
        agents.r[i], agents.c[i] = r, c
        agents.population[i] = rng.integers(0, n_pop)
        agents.health[i], agents.food[i], agents.water[i] = rng.integers(0, 30000, size=3)
        agents.spawn_tick[i] = rng.integers(0, tick + 1)
        agents.agent_id[i] = i
        if status[i] == 1:
            agents.alive[i] = True
            occupant[r, c] = i
            living_tiles.append((r, c))
            if int(material[r, c]) in BLOCKING:
                material[r, c] = Material.GRASS
        else:
            agents.death_tick[i] = tick
    written = rng.random(n_slots) < 0.5
    written_before = written.copy()
    tiles = rng.integers(0, 255, size=(n_slots, 2 * radius + 1, 2 * radius + 1, 2)).astype(np.uint8)
    entities = rng.integers(-99, 99, size=(n_slots, n_rows, 10)).astype(np.int16)
    entity_mask = rng.integers(0, 2, size=(n_slots, n_rows)).astype(np.uint8)
    action_mask = rng.integers(0, 2, size=(n_slots, 5)).astype(np.int8)
    entity_slot = rng.integers(-5, 50, size=(n_slots, n_rows)).astype(np.int32)
    garbage = [a.copy() for a in (tiles, entities, entity_mask, action_mask, entity_slot)]

    write_observations(
        agents,
        material,
        occupant,
        tick,
        radius,
        border,
        nearest_first(radius),
        0,
        np.array([0], np.int64),
        tiles,
        entities,
        entity_mask,
        action_mask,
        written,
        entity_slot,
    )

    for i in range(n_slots):
        if status[i]:
            t, e, m, a, shown = reference_observation(
                agents, material, occupant, tick, radius, n_rows, i, border
            )
            assert (tiles[i] == t).all(), i
            assert (entities[i] == e).all(), (i, entities[i], e)
            assert (entity_mask[i] == m).all(), i
            assert (action_mask[i] == a).all(), i
            assert entity_slot[i].tolist() == shown.tolist(), i
            assert written[i]
        elif written_before[i]:
            assert not tiles[i].any() and not entities[i].any() and not entity_mask[i].any()
            assert action_mask[i].tolist() == [1, 0, 0, 0, 0]
            assert (entity_slot[i] == -1).all()
            assert not written[i]
        else:
            for buf, old in zip((tiles, entities, entity_mask, action_mask, entity_slot), garbage):
                assert (buf[i] == old[i]).all()
            assert not written[i]


def test_observer_clear_and_write_on_a_live_world():
    vec = VecEnv(1, "small", seed=3, spawn__mode="concurrent", spawn__n_agents=16, map__size=16)
    vec.reset()
    obs = vec.observations
    state = vec.worlds[0]
    layout = vec.layout
    for i in range(16):
        t, e, m, a, _ = reference_observation(
            state.agents, state.material, state.occupant, state.tick, layout.radius, layout.n_entities, i,
            vec.config.map.border,
        )  # fmt: skip
        assert (obs["tiles"][i] == t).all() and (obs["entities"][i] == e).all()
        assert (obs["entity_mask"][i] == m).all() and (obs["action_mask"][i] == a).all()
    observer = Observer(ObsLayout(vec.config), {k: v.copy() for k, v in obs.items()})
    assert observer.entity_slot.shape == (16, layout.n_entities) and observer.entity_slot.dtype == np.int32
    assert (observer.entity_slot == -1).all()
    observer.entity_slot.fill(7)
    observer.clear()
    assert not observer.buffers["tiles"].any()
    assert (observer.buffers["action_mask"] == np.array([1, 0, 0, 0, 0], np.int8)).all()
    assert not observer.written.any()
    assert (observer.entity_slot == -1).all()
    observer.write(state)
    for k in obs:
        assert (observer.buffers[k] == obs[k]).all()


def test_observer_entity_slot_names_the_agent_of_every_entity_row():
    vec = VecEnv(
        1, "small", seed=5, map__size=12, spawn__n_agents=24, n_entities=6, vision_radius=3, food_decay=30
    )
    vec.reset()
    layout = vec.layout
    state = vec.worlds[0]
    rng = np.random.default_rng(5)
    observer = Observer(layout, {k: np.empty_like(v) for k, v in vec.observations.items()})
    observer.clear()
    full_rows = 0
    for _ in range(60):
        vec.step(rng.integers(0, 5, size=(24, 1)))
        observer.write(state)
        for k in vec.observations:  # the same as the env's own observer
            assert (observer.buffers[k] == vec.observations[k]).all()
        entities, mask, shown = (
            observer.buffers["entities"],
            observer.buffers["entity_mask"],
            observer.entity_slot,
        )
        a = state.agents
        for i in range(24):
            if not (vec.alive[i] or vec.terminations[i]):
                assert (shown[i] == -1).all()
                continue
            *_, ref = reference_observation(
                a, state.material, state.occupant, state.tick, layout.radius, layout.n_entities, i,
                vec.config.map.border,
            )  # fmt: skip
            assert shown[i].tolist() == ref.tolist(), i
            assert shown[i, 0] == i
            assert ((shown[i] >= 0) == (mask[i] == 1)).all()
            for k in np.flatnonzero(shown[i] >= 0):
                j = shown[i, k]
                assert (entities[i, k, E.ROW], entities[i, k, E.COL]) == (a.r[j], a.c[j])
                assert entities[i, k, E.HEALTH] == a.health[j]
                assert entities[i, k, E.POPULATION] == a.population[j]
            full_rows += int(mask[i].sum() == layout.n_entities)
    assert full_rows > 0  # crowded enough that some views are cut at n_entities rows


def test_the_last_view_of_a_dead_agent_lists_a_newcomer_on_its_tile():
    radius, border, size = 2, 3, 5
    g = size + 2 * border
    material = np.full((g, g), Material.GRASS, np.uint8)
    agents = AgentTable.empty(2)
    occupant = np.full((g, g), -1, np.int32)
    r, c = border, border  # a ring tile: the dead agent's last position, where slot 1 just spawned
    agents.r[:] = r
    agents.c[:] = c
    agents.agent_id[:] = [0, 1]
    agents.death_tick[0] = 7
    agents.alive[1] = True
    agents.spawn_tick[1] = 7
    occupant[r, c] = 1
    w = 2 * radius + 1
    tiles = np.zeros((2, w, w, 2), np.uint8)
    entities = np.zeros((2, 4, len(E)), np.int16)
    entity_mask = np.zeros((2, 4), np.uint8)
    action_mask = np.zeros((2, 5), np.int8)
    entity_slot = np.full((2, 4), -1, np.int32)
    write_observations(
        agents, material, occupant, 7, radius, border, nearest_first(radius), 0, np.array([0], np.int64),
        tiles, entities, entity_mask, action_mask, np.zeros(2, np.bool_), entity_slot,
    )  # fmt: skip
    assert entity_slot[0].tolist() == [0, 1, -1, -1]  # itself, then the newcomer on the same tile
    assert (entities[0, 1, E.REL_ROW], entities[0, 1, E.REL_COL]) == (0, 0)
    assert tiles[0, radius, radius, 1] == agents.population[1] + 1  # and the occupant channel agrees
    assert entity_slot[1].tolist() == [1, -1, -1, -1]  # the newcomer does not see the dead agent
