"""WorldState: buffers allocated once, the playable ring, and a hash that sees every array."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.config import Config
from neural_mmo.world.events import EVENT_BOUNDS, EventColumn, EventKind, event_capacity
from neural_mmo.world.geometry import nearest_first
from neural_mmo.world.rng import Stream, episode_seed
from neural_mmo.world.rules import make_rules
from neural_mmo.world.state import REGROW_RING, Clock, WorldState, ring_tiles
from neural_mmo.world.step import reset
from neural_mmo.world.tables import AgentTable, NpcTable


@pytest.mark.parametrize("border,size", [(1, 2), (8, 8), (3, 5), (2, 17)])
def test_ring_tiles_walk_the_outer_ring_clockwise(border, size):
    ring = ring_tiles(border, size)
    assert ring.dtype == np.int16
    assert ring.shape == (4 * (size - 1), 2)
    lo, hi = border, border + size - 1
    tiles = [tuple(t) for t in ring.tolist()]
    assert len(set(tiles)) == len(tiles)
    expected = {
        (r, c) for r in range(lo, hi + 1) for c in range(lo, hi + 1) if r in (lo, hi) or c in (lo, hi)
    }
    assert set(tiles) == expected
    assert tiles[0] == (lo, lo)
    for (r0, c0), (r1, c1) in zip(tiles, tiles[1:] + tiles[:1]):
        assert abs(r0 - r1) + abs(c0 - c1) == 1
    if size > 2:
        assert tiles[1] == (lo, lo + 1)


def test_ring_of_a_single_tile():
    assert ring_tiles(4, 1).tolist() == [[4, 4]]


def test_allocate_shapes_and_dtypes():
    cfg = Config.preset("small").override({"spawn.n_agents": 5})
    state = WorldState.allocate(cfg)
    g = cfg.grid_side
    assert state.material.shape == (g, g) and state.material.dtype == np.uint8
    assert (
        state.occupant.shape == (g, g) and state.occupant.dtype == np.int32 and (state.occupant == -1).all()
    )
    assert state.agents.capacity == 5
    assert state.scratch.shape == (2, 5) and state.scratch.dtype == np.int32  # order; damage dealt
    assert state.regrowth.head.shape == (REGROW_RING,) and (state.regrowth.head == -1).all()
    assert state.regrowth.due.shape == (g * g,) and state.regrowth.next_tile.shape == (g * g,)
    assert state.regrowth.due.dtype == np.int64 and (state.regrowth.due == -1).all()
    assert state.npcs.capacity == cfg.npc.n_npcs == 32 and not state.npcs.alive.any()
    side = 2 * cfg.npc.sight + 1
    assert state.npc_offsets.shape == (side * side, 2) and state.npc_offsets.dtype == np.int16
    assert (state.npc_offsets == nearest_first(cfg.npc.sight)).all()
    assert state.npc_search.shape == (2, side * side) and state.npc_search.dtype == np.int32
    # the worst tick: 30 rows per agent and 6 per NPC (see event_capacity), and one per listing the
    # exchange can hold (none here: no exchange)
    assert event_capacity(cfg.spawn.n_agents, cfg.npc.n_npcs) == 30 * 5 + 6 * 32 == 342
    assert event_capacity(cfg.spawn.n_agents, cfg.npc.n_npcs, 20) == 342 + 20
    assert set(EVENT_BOUNDS) == set(EventKind)  # every kind of event declares its bound
    assert state.events.table.shape == (342, len(EventColumn)) and state.events.n == 0
    assert state.edge_tiles.shape == (4 * (cfg.map.size - 1), 2)
    assert state.streams.shape == (len(Stream), 4) and state.streams.dtype == np.uint64
    assert state.clock.shape == (len(Clock),) and state.clock.dtype == np.int64 and (state.clock == 0).all()
    assert state.rules == make_rules(cfg)
    assert state.tick == 0 and state.next_agent_id == 0 and state.n_alive == 0


def test_tick_and_next_agent_id_are_read_only_views_of_the_clock():
    state = _reset_state(0)
    assert [(c.name, c.value) for c in Clock] == [("TICK", 0), ("NEXT_ID", 1), ("NEXT_NPC_ID", 2)]
    assert state.tick == 0 and state.next_agent_id == state.n_alive == 6
    assert state.clock[Clock.NEXT_NPC_ID] == np.count_nonzero(state.npcs.alive) > 0
    state.clock[Clock.TICK] = 12
    state.clock[Clock.NEXT_ID] = 40
    assert state.tick == 12 and state.next_agent_id == 40
    assert type(state.tick) is int and type(state.next_agent_id) is int
    for name in ("tick", "next_agent_id"):
        with pytest.raises(AttributeError):
            setattr(state, name, 0)


def _reset_state(seed=0):
    cfg = Config.preset("small").override({"map.size": 16, "spawn.n_agents": 6, "spawn.mode": "concurrent"})
    state = WorldState.allocate(cfg)
    reset(state, episode_seed(seed, 0, 0))
    return state


def test_hash_is_equal_for_equal_worlds_and_differs_across_seeds():
    assert _reset_state(1).state_hash() == _reset_state(1).state_hash()
    assert _reset_state(1).state_hash() != _reset_state(2).state_hash()
    assert len(_reset_state(1).state_hash()) == 64


MUTATIONS = {
    "material": lambda s: s.material.__setitem__((10, 10), (s.material[10, 10] + 1) % 6),
    "occupant": lambda s: s.occupant.__setitem__((0, 0), 3),
    "tick": lambda s: s.clock.__setitem__(Clock.TICK, s.tick + 1),
    "next_agent_id": lambda s: s.clock.__setitem__(Clock.NEXT_ID, s.next_agent_id + 1),
    "next_npc_id": lambda s: s.clock.__setitem__(Clock.NEXT_NPC_ID, s.clock[Clock.NEXT_NPC_ID] + 1),
    "regrowth.due": lambda s: s.regrowth.due.__setitem__(0, 99),
    "regrowth.head": lambda s: s.regrowth.head.__setitem__(0, 99),
    "regrowth.next_tile": lambda s: s.regrowth.next_tile.__setitem__(0, 99),
    **{
        f"streams.{row.name.lower()}": (
            lambda s, row=row: s.streams.__setitem__((row, 0), s.streams[row, 0] ^ np.uint64(1))
        )
        for row in Stream
    },
    **{
        f"agents.{name}": (
            lambda s, name=name: getattr(s.agents, name).__setitem__(0, getattr(s.agents, name)[0] + 1)
        )
        for name in AgentTable._fields
        if name != "alive"
    },
    "agents.alive": lambda s: s.agents.alive.__setitem__(0, not s.agents.alive[0]),
    **{
        f"npcs.{name}": (
            lambda s, name=name: getattr(s.npcs, name).__setitem__(0, getattr(s.npcs, name)[0] + 1)
        )
        for name in NpcTable._fields
        if name != "alive"
    },
    "npcs.alive": lambda s: s.npcs.alive.__setitem__(0, not s.npcs.alive[0]),
}


def test_mutations_cover_every_column():
    assert {k for k in MUTATIONS if k.startswith("agents.")} == {f"agents.{n}" for n in AgentTable._fields}
    assert {k for k in MUTATIONS if k.startswith("npcs.")} == {f"npcs.{n}" for n in NpcTable._fields}


@pytest.mark.parametrize("what", list(MUTATIONS))
def test_hash_sees_every_part_of_the_state(what):
    state = _reset_state(3)
    before = state.state_hash()
    MUTATIONS[what](state)
    assert state.state_hash() != before
