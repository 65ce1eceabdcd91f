"""Movement kernels against plain-Python references (same generator, same draws)."""

from __future__ import annotations

import numpy as np
from _support import PyStream, commands_of, rules, stream, world_of
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.world.events import DeathCause, EventKind, EventLog
from neural_mmo.world.materials import Material
from neural_mmo.world.rng import Stream
from neural_mmo.world.systems.movement import move_agents, shuffled_alive
from neural_mmo.world.tables import NEVER, AgentTable
from neural_mmo.world.vocabulary import DC, DR, Direction

OFFSETS = {Direction.NORTH: (-1, 0), Direction.SOUTH: (1, 0), Direction.EAST: (0, 1), Direction.WEST: (0, -1)}
BLOCKING = {int(Material.WATER), int(Material.STONE)}


def test_direction_offsets():
    assert int(Direction.STAY) == 0
    assert (DR[0], DC[0]) == (0, 0)
    for d, (dr, dc) in OFFSETS.items():
        assert (DR[d], DC[d]) == (dr, dc)


def reference_shuffle(alive: np.ndarray, rng: PyStream) -> list[int]:
    order = [int(i) for i in np.flatnonzero(alive)]
    for k in range(len(order) - 1, 0, -1):
        j = rng.below(k + 1)
        order[k], order[j] = order[j], order[k]
    return order


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), p=st.floats(0.0, 1.0))
def test_shuffled_alive_is_a_permutation_of_the_living_slots(seed, n, p):
    alive = np.random.default_rng(seed).random(n) < p
    order = np.full(n, -7, np.int32)
    rng = stream(seed)
    ref_rng = PyStream(rng)
    k = shuffled_alive(alive, order, rng)
    assert k == alive.sum()
    assert sorted(order[:k].tolist()) == np.flatnonzero(alive).tolist()
    assert (order[k:] == -7).all()
    assert order[:k].tolist() == reference_shuffle(alive, ref_rng)
    assert rng.tolist() == ref_rng.state()


def test_shuffled_alive_is_uniform_over_orders():
    alive = np.array([True, False, True, True])
    order = np.zeros(4, np.int32)
    rng = stream(0)
    counts: dict[tuple[int, ...], int] = {}
    trials = 6000
    for _ in range(trials):
        shuffled_alive(alive, order, rng)
        key = tuple(order[:3].tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6
    expected = trials / 6
    chi2 = sum((v - expected) ** 2 / expected for v in counts.values())
    assert chi2 < 25.0  # 5 degrees of freedom: p < 1e-4 for a fair shuffle


def reference_move(material, occupant, r, c, alive, health, cause, freeze_until, now, moves, rng, immortal,
                   border):  # fmt: skip
    """Agents one at a time in the shuffled order; blocked by water, stone, anyone, or the 2nd border ring.
    Frozen agents (``now <= freeze_until``) and agents killed earlier this tick (a cause set) stay."""
    g = material.shape[0]
    events = []
    for i in reference_shuffle(alive, rng):
        d = int(moves[i])
        if d not in OFFSETS or cause[i] != DeathCause.NONE or now <= freeze_until[i]:
            continue
        dr, dc = OFFSETS[Direction(d)]
        r1, c1 = r[i] + dr, c[i] + dc
        if not (border - 1 <= r1 <= g - border and border - 1 <= c1 <= g - border):
            continue
        if int(material[r1, c1]) in BLOCKING or occupant[r1, c1] != -1:
            continue
        occupant[r[i], c[i]] = -1
        occupant[r1, c1] = i
        r[i], c[i] = r1, c1
        events.append(("MOVE", i, r1, c1, d))
        if material[r1, c1] == Material.LAVA and not immortal:
            health[i] = 0
            cause[i] = DeathCause.LAVA
    return events


@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(2, 9),
    border=st.integers(1, 3),
    n_agents=st.integers(1, 20),
    immortal=st.booleans(),
    now=st.integers(1, 10**6),
)
def test_move_agents_matches_the_reference(seed, size, border, n_agents, immortal, now):
    rng = np.random.default_rng(seed)
    g = size + 2 * border
    material = rng.integers(0, 6, size=(g, g)).astype(np.uint8)
    material[rng.random((g, g)) < 0.4] = Material.GRASS
    lo, hi = border - 1, g - border
    candidates = [
        (r, c) for r in range(lo, hi + 1) for c in range(lo, hi + 1) if int(material[r, c]) not in BLOCKING
    ]
    rng.shuffle(candidates)
    agents = AgentTable.empty(n_agents)
    occupant = np.full((g, g), -1, np.int32)
    for i, (r, c) in enumerate(candidates[:n_agents]):
        if rng.random() < 0.8:
            agents.alive[i] = True
            agents.agent_id[i] = 100 + i
            agents.r[i], agents.c[i] = r, c
            agents.health[i] = 10
            # frozen by a mage hit: until an earlier tick (free again), this tick or a later one
            agents.freeze_until[i] = rng.choice([NEVER, now - 1, now, now + 2])
            if rng.random() < 0.15:  # killed in combat earlier this tick: still on its tile
                agents.health[i] = 0
                agents.death_cause[i] = DeathCause.COMBAT
            occupant[r, c] = i
    moves = rng.integers(-2, 7, size=n_agents).astype(np.int32)

    ref_occ, ref_r, ref_c = occupant.copy(), agents.r.astype(int), agents.c.astype(int)
    ref_health, ref_cause = agents.health.copy(), agents.death_cause.copy()
    world_rng = stream(seed + 1)
    ref_rng = PyStream(world_rng)
    expected = reference_move(
        material, ref_occ, ref_r, ref_c, agents.alive, ref_health, ref_cause,
        agents.freeze_until.tolist(), now, moves, ref_rng, immortal, border,
    )  # fmt: skip

    events = EventLog.empty(5 * n_agents)
    p = rules(vitals__immortal=immortal, map__border=border)
    world = world_of(
        material, now, {Stream.MOVEMENT: world_rng}, agents=agents, occupant=occupant, events=events
    )
    move_agents(world, commands_of(moves), p)

    assert (occupant == ref_occ).all()
    assert agents.r.tolist() == ref_r.tolist() and agents.c.tolist() == ref_c.tolist()
    assert agents.health.tolist() == ref_health.tolist()
    assert agents.death_cause.tolist() == ref_cause.tolist()
    got = [(e["kind"], e["slot"], e["r"], e["c"], e["value"]) for e in events.rows()]
    assert got == expected
    assert all(events.agent_id[k] == 100 + events.slot[k] for k in range(events.n))
    assert world.streams[Stream.MOVEMENT].tolist() == ref_rng.state()


def test_dead_agents_do_not_move_and_are_not_shuffled():
    material = np.full((6, 6), Material.GRASS, np.uint8)
    agents = AgentTable.empty(2)
    occupant = np.full((6, 6), -1, np.int32)
    agents.alive[1] = True
    agents.r[:] = 3
    agents.c[:] = [2, 3]
    occupant[3, 3] = 1
    events = EventLog.empty(10)
    world = world_of(material, 1, agents=agents, occupant=occupant, events=events)
    move_agents(world, commands_of([3, 4]), rules(vitals__immortal=False, map__border=1))
    assert (agents.r[0], agents.c[0]) == (3, 2)
    assert (agents.r[1], agents.c[1]) == (3, 2)
    assert [e["kind"] for e in events.rows()] == [EventKind.MOVE.name]


def test_frozen_and_freshly_killed_agents_stay():
    material = np.full((7, 7), Material.GRASS, np.uint8)
    agents = AgentTable.empty(4)
    occupant = np.full((7, 7), -1, np.int32)
    agents.alive[:] = True
    agents.r[:] = [2, 2, 4, 4]
    agents.c[:] = [2, 4, 2, 4]
    occupant[agents.r, agents.c] = np.arange(4)
    now = 10
    agents.freeze_until[:] = [now, now - 1, NEVER, now + 1]  # frozen this tick, thawed, never, frozen
    agents.death_cause[2] = DeathCause.COMBAT  # killed by an attack earlier this tick
    events = EventLog.empty(10)
    moves = np.full(4, Direction.NORTH, np.int32)
    world = world_of(material, now, agents=agents, occupant=occupant, events=events)
    move_agents(world, commands_of(moves), rules(vitals__immortal=False, map__border=1))
    assert agents.r.tolist() == [2, 1, 4, 4] and agents.c.tolist() == [2, 4, 2, 4]
    assert [(e["kind"], e["slot"]) for e in events.rows()] == [("MOVE", 1)]
    assert occupant[1, 4] == 1 and occupant[2, 4] == -1 and occupant[4, 2] == 2
