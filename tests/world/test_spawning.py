"""Spawning kernels against references of the spawning module's rules."""

from __future__ import annotations

import numpy as np
from _support import PyStream, rules, stream, world_of
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.world.events import EventLog
from neural_mmo.world.materials import Material
from neural_mmo.world.rng import Stream
from neural_mmo.world.state import Clock, ring_tiles
from neural_mmo.world.systems.spawning import place_agents, spawn_concurrent, spawn_continuous
from neural_mmo.world.tables import NEVER, AgentTable

SPAWNABLE = {int(Material.GRASS), int(Material.SCRUB), int(Material.FOREST)}


def random_world(rng, size, border, n_slots, died_tick):
    g = size + 2 * border
    material = np.full((g, g), Material.LAVA, np.uint8)
    material[border : border + size, border : border + size] = rng.integers(0, 6, size=(size, size))
    grassy = rng.random((g, g)) < 0.5
    inside = np.zeros((g, g), bool)
    inside[border : border + size, border : border + size] = True
    material[grassy & inside] = Material.GRASS
    agents = AgentTable.empty(n_slots)
    occupant = np.full((g, g), -1, np.int32)
    free_tiles = [(r, c) for r in range(g) for c in range(g) if int(material[r, c]) in SPAWNABLE]
    rng.shuffle(free_tiles)
    next_id = 0
    for i in range(n_slots):
        state = rng.integers(0, 3)  # 0 free, 1 alive, 2 died this tick
        if state == 1 and free_tiles:
            r, c = free_tiles.pop()
            agents.alive[i] = True
            agents.agent_id[i] = next_id
            agents.r[i], agents.c[i] = r, c
            agents.health[i] = 1
            occupant[r, c] = i
            next_id += 1
        elif state == 2:
            agents.death_tick[i] = died_tick
    return material, agents, occupant, next_id


def reference_continuous(material, occupant, alive, death_tick, ring, rng, tick, attempts, min_alive):
    """Returns the list of (slot, r, c) placed, in order."""
    alive = alive.copy()
    occupant = occupant.copy()
    placed = []
    n_alive = int(alive.sum())

    def free_slot():
        for i in range(len(alive)):
            if not alive[i] and death_tick[i] != tick:
                return i
        return -1

    def try_place(slot, r, c):
        nonlocal n_alive
        if int(material[r, c]) in SPAWNABLE and occupant[r, c] < 0:
            occupant[r, c] = slot
            alive[slot] = True
            placed.append((slot, r, c))
            n_alive += 1

    k = 0
    while k < attempts or (n_alive < min_alive and k < attempts + 4 * len(ring)):
        k += 1
        slot = free_slot()
        if slot < 0:
            return placed
        r, c = (int(x) for x in ring[rng.below(len(ring))])
        try_place(slot, r, c)
    for r, c in ring.tolist():
        slot = free_slot()
        if slot < 0 or n_alive >= min_alive:
            break
        try_place(slot, r, c)
    return placed


@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(2, 10),
    n_slots=st.integers(1, 30),
    attempts=st.integers(0, 6),
    min_alive=st.integers(0, 30),
    n_populations=st.integers(1, 4),
)
def test_spawn_continuous_matches_the_reference_and_its_rules(
    seed, size, n_slots, attempts, min_alive, n_populations
):
    rng = np.random.default_rng(seed)
    border, tick = 2, 9
    min_alive = min(min_alive, n_slots)
    material, agents, occupant, next_id = random_world(rng, size, border, n_slots, tick)
    ring = ring_tiles(border, size)
    alive_before = agents.alive.copy()
    world_rng = stream(seed + 1)
    ref_rng = PyStream(world_rng)
    expected = reference_continuous(
        material, occupant, agents.alive, agents.death_tick, ring, ref_rng, tick, attempts, min_alive
    )
    events = EventLog.empty(5 * n_slots)
    clock = np.array([tick, next_id], np.int64)
    p = rules(
        spawn__attempts_per_tick=attempts,
        spawn__min_alive=min_alive,
        spawn__n_populations=n_populations,
        vitals__max_health=30,
        vitals__max_food=40,
        vitals__max_water=50,
    )
    world = world_of(
        material,
        streams={Stream.SPAWN: world_rng},
        agents=agents,
        occupant=occupant,
        edge_tiles=ring,
        events=events,
        clock=clock,
    )
    assert spawn_continuous(world, p) is None
    spawns = events.rows()
    assert [(e["slot"], e["r"], e["c"]) for e in spawns] == expected
    assert clock[Clock.NEXT_ID] == next_id + len(expected)
    assert clock[Clock.TICK] == tick
    assert world.streams[Stream.SPAWN].tolist() == ref_rng.state()
    ring_set = {tuple(t) for t in ring.tolist()}
    for k, e in enumerate(spawns):
        i = e["slot"]
        assert (
            e["kind"] == "SPAWN"
            and e["agent_id"] == next_id + k
            and e["value"] == (next_id + k) % n_populations
        )
        assert (e["r"], e["c"]) in ring_set
        assert not alive_before[i] and agents.death_tick[i] != tick
        row = agents.row(i)
        expected_row = {
            "alive": True,
            "agent_id": next_id + k,
            "population": (next_id + k) % n_populations,
            "health": 30,
            "food": 40,
            "water": 50,
            "spawn_tick": tick,
            "death_cause": 0,
        }
        assert {key: row[key] for key in expected_row} == expected_row
        assert occupant[e["r"], e["c"]] == i
    n_before = int(alive_before.sum())
    assert len(spawns) <= attempts + max(0, min_alive - n_before)
    slots = [e["slot"] for e in spawns]
    assert slots == sorted(slots)
    free = [i for i in range(n_slots) if not alive_before[i] and agents.death_tick[i] != tick]
    assert slots == free[: len(slots)]
    if agents.alive.sum() < min_alive:  # min_alive gives up only when no slot or no ring tile is left
        slot_left = any(not agents.alive[i] and agents.death_tick[i] != tick for i in range(n_slots))
        tile_left = any(int(material[r, c]) in SPAWNABLE and occupant[r, c] < 0 for r, c in ring.tolist())
        assert not (slot_left and tile_left)


@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(2, 8),
    n_agents=st.integers(1, 40),
    n_populations=st.integers(1, 5),
)
def test_spawn_concurrent_spaces_agents_evenly_clockwise(seed, size, n_agents, n_populations):
    rng = np.random.default_rng(seed)
    border = 1
    g = size + 2
    # A spawnable border must not attract the fallback: it scans the playable area only.
    material = np.full((g, g), Material.GRASS if rng.random() < 0.5 else Material.LAVA, np.uint8)
    material[1 : 1 + size, 1 : 1 + size] = rng.choice(
        np.array([Material.GRASS, Material.GRASS, Material.WATER, Material.FOREST, Material.STONE], np.uint8),
        size=(size, size),
    )
    ring = ring_tiles(border, size)
    n_populations = min(n_populations, n_agents)
    agents = AgentTable.empty(n_agents)
    occupant = np.full((g, g), -1, np.int32)
    events = EventLog.empty(5 * n_agents)
    clock = np.zeros(len(Clock), np.int64)
    p = rules(
        map__border=border,
        spawn__n_agents=n_agents,
        spawn__n_populations=n_populations,
        vitals__max_health=5,
        vitals__max_food=6,
        vitals__max_water=7,
    )
    world = world_of(material, agents=agents, occupant=occupant, edge_tiles=ring, events=events, clock=clock)
    assert spawn_concurrent(world, p) is None
    next_id = int(clock[Clock.NEXT_ID])

    taken = np.full((g, g), False)
    expected = []
    for a in range(n_agents):
        start = a * len(ring) // n_agents
        spot = None
        for j in range(len(ring)):
            r, c = ring[(start + j) % len(ring)].tolist()
            if int(material[r, c]) in SPAWNABLE and not taken[r, c]:
                spot = (r, c)
                break
        if spot is None:
            spot = next(
                (
                    (r, c)
                    for r in range(border, border + size)
                    for c in range(border, border + size)
                    if int(material[r, c]) in SPAWNABLE and not taken[r, c]
                ),
                None,
            )
        if spot is None:
            break
        taken[spot] = True
        expected.append((a, a, *spot))
    got = [(e["slot"], e["agent_id"], e["r"], e["c"]) for e in events.rows()]
    assert got == expected
    assert next_id == len(expected)
    assert int(agents.alive.sum()) == len(expected)
    assert (agents.population[: len(expected)] == np.arange(len(expected)) % n_populations).all()
    placed = agents.alive
    assert (agents.health[placed] == 5).all() and (agents.food[placed] == 6).all()
    assert (agents.water[placed] == 7).all() and (agents.spawn_tick[placed] == 0).all()


def test_place_agents_puts_agent_k_in_slot_k():
    agents = AgentTable.empty(3)
    occupant = np.full((6, 6), -1, np.int32)
    events = EventLog.empty(15)
    positions = np.array([[2, 2], [3, 4], [1, 1]], np.int64)
    clock = np.zeros(len(Clock), np.int64)
    p = rules(spawn__n_populations=2, vitals__max_health=10, vitals__max_food=11, vitals__max_water=12)
    # what a previous holder of each slot left behind must not leak into the new agent
    agents.max_health[:] = 300
    agents.level[:] = 40
    agents.xp[:] = 123456
    agents.style[:] = 3
    agents.freeze_until[:] = 9
    agents.combat_tick[:] = 9
    agents.killer[:] = 2
    world = world_of(np.zeros((6, 6), np.uint8), agents=agents, occupant=occupant, events=events, clock=clock)
    assert place_agents(world, positions, p) is None
    assert clock.tolist() == [0, 3, 0]  # tick unchanged, next id after the three placed, no NPC ids
    assert (agents.max_health == 10).all() and (agents.level == 1).all() and (agents.xp == 0).all()
    assert (agents.style == 0).all() and (agents.killer == -1).all()
    assert (agents.freeze_until == NEVER).all() and (agents.combat_tick == NEVER).all()
    assert agents.alive.all() and agents.agent_id.tolist() == [0, 1, 2]
    assert agents.population.tolist() == [0, 1, 0]
    assert [occupant[r, c] for r, c in positions.tolist()] == [0, 1, 2]
    assert (agents.health == 10).all() and (agents.food == 11).all() and (agents.water == 12).all()
    assert [e["kind"] for e in events.rows()] == ["SPAWN"] * 3


def test_min_alive_falls_back_to_scanning_the_ring_when_every_random_draw_misses():
    border, size = 3, 2
    ring = ring_tiles(border, size)  # 4 tiles
    g = size + 2 * border
    material = np.full((g, g), Material.STONE, np.uint8)
    free = 0  # only the first ring tile is spawnable: the scan must start at the beginning
    material[ring[free, 0], ring[free, 1]] = Material.GRASS
    extra = 4 * len(ring)  # random draws allowed before the scan
    seed = next(s for s in range(100_000) if free not in _draws(stream(s), len(ring), extra))
    agents = AgentTable.empty(1)
    occupant = np.full((g, g), -1, np.int32)
    events = EventLog.empty(8)
    clock = np.zeros(len(Clock), np.int64)
    p = rules(
        map__border=border,
        spawn__attempts_per_tick=0,
        spawn__min_alive=1,
        spawn__n_agents=1,
        spawn__n_populations=1,
    )
    world = world_of(
        material,
        streams={Stream.SPAWN: stream(seed)},
        agents=agents,
        occupant=occupant,
        edge_tiles=ring,
        events=events,
        clock=clock,
    )
    spawn_continuous(world, p)
    assert agents.alive[0] and (agents.r[0], agents.c[0]) == tuple(ring[free])


def _draws(state, n, k):
    s = PyStream(state)
    return [s.below(n) for _ in range(k)]


def test_closed_rings_keep_every_spawn_inside_the_open_square():
    """``closed_rings`` is the spawn rules' only input about closed areas (any system may set it)."""
    border, size, closed = 2, 10, 3
    g = size + 2 * border
    lo, hi = border + closed, border + size - 1 - closed
    material = np.full((g, g), Material.LAVA, np.uint8)
    material[border : border + size, border : border + size] = Material.GRASS
    ring = ring_tiles(border, size)
    p = rules(map__border=border, map__size=size, spawn__n_agents=8, spawn__n_populations=1,
              spawn__attempts_per_tick=50, spawn__min_alive=8)  # fmt: skip

    def fresh(rings):
        agents = AgentTable.empty(8)
        streams = {Stream.SPAWN: stream(1)}
        return agents, world_of(material, agents=agents, edge_tiles=ring, events=EventLog.empty(64),
                                streams=streams, closed_rings=np.array([rings]))  # fmt: skip

    agents, world = fresh(closed)
    spawn_concurrent(world, p)  # the ring is closed: all fall back to the scan of the open square
    assert agents.alive.all()
    assert all(lo <= r <= hi and lo <= c <= hi for r, c in zip(agents.r, agents.c))
    agents, world = fresh(closed)
    spawn_continuous(world, p)  # the edge ring is closed: no draw, nobody
    assert not agents.alive.any() and world.streams[Stream.SPAWN].tolist() == stream(1).tolist()
    agents, world = fresh(0)
    spawn_continuous(world, p)  # open again: the edge ring fills
    assert agents.alive.all()
    assert all(r in (border, border + size - 1) or c in (border, border + size - 1)
               for r, c in zip(agents.r, agents.c))  # fmt: skip
