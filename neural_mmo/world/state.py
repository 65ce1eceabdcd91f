"""WorldState: every array of one world, allocated once when the world is built.

Grids are indexed ``[r, c]`` over the whole stored map (playable area plus its lava border).
``occupant[r, c]`` is the slot of the agent standing there, or -1, so "who is near" is a slice of
a grid, never a scan of a table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from neural_mmo.config import Config
from neural_mmo.world.events import EventLog
from neural_mmo.world.geometry import nearest_first
from neural_mmo.world.params import Params
from neural_mmo.world.rng import Stream
from neural_mmo.world.tables import AgentTable, NpcTable


class Clock(IntEnum):
    """Entries of the ``clock`` array (an array so kernels can advance it)."""

    TICK = 0  # ticks since the episode began
    NEXT_ID = 1  # id the next spawned agent gets
    NEXT_NPC_ID = 2  # id the next spawned NPC gets


REGROW_RING = 256
"""Buckets of the regrowth timer wheel (ticks ahead that can be scheduled exactly at once)."""


class RegrowthQueue(NamedTuple):
    """A timer wheel of depleted tiles waiting to regrow; cost per tick is the tiles due, not the map.

    Tiles are flat indices ``r * side + c``. Each tile is in at most one bucket: a singly linked
    list through ``next_tile`` starting at ``head[due % REGROW_RING]``.
    """

    head: np.ndarray  # int32 [REGROW_RING]  first tile of each bucket, -1 if empty
    next_tile: np.ndarray  # int32 [G*G]  next tile in the same bucket, -1 at the end
    due: np.ndarray  # int64 [G*G]  tick the tile regrows, -1 if not scheduled


@dataclass
class WorldState:
    """All mutable state of one world. Systems read and write it in place.

    ``occupant`` holds *entity numbers*: agent slots ``0 .. n_agents-1``, then NPC slot ``j`` as
    ``n_agents + j``, so one grid answers "who stands here" for every kind of entity. Events use
    the same numbering.
    """

    config: Config
    params: Params
    material: np.ndarray  # uint8 [G, G]  Material of each tile
    occupant: np.ndarray  # int32 [G, G]  entity standing on the tile, -1 if none
    agents: AgentTable
    npcs: NpcTable
    events: EventLog
    regrowth: RegrowthQueue
    edge_tiles: np.ndarray  # int16 [P, 2]  (r, c) of the playable area's outer ring, clockwise
    scratch: np.ndarray  # int32 [2, N]  per-tick work arrays (move and attack order; damage dealt)
    npc_offsets: np.ndarray  # int16 [(2V+1)^2, 2]  the NPC vision square, nearest first
    npc_search: np.ndarray  # int32 [2, (2V+1)^2]  path search work arrays (marks, queue)
    streams: np.ndarray  # uint64 [len(Stream), 4]  one random stream per system
    clock: np.ndarray  # int64 [len(Clock)]  tick and next agent id

    @staticmethod
    def allocate(config: Config) -> WorldState:
        """Allocate every buffer for ``config``; the world is empty until reset."""
        side = config.grid_side
        capacity = config.spawn.n_agents
        return WorldState(
            config=config,
            params=Params.from_config(config),
            material=np.zeros((side, side), np.uint8),
            occupant=np.full((side, side), -1, np.int32),
            agents=AgentTable.empty(capacity),
            npcs=NpcTable.empty(config.npc.n_npcs),
            events=EventLog.empty(event_capacity(config)),
            regrowth=RegrowthQueue(
                head=np.full(REGROW_RING, -1, np.int32),
                next_tile=np.full(side * side, -1, np.int32),
                due=np.full(side * side, -1, np.int64),
            ),
            edge_tiles=ring_tiles(config.map.border, config.map.size),
            scratch=np.zeros((2, capacity), np.int32),
            npc_offsets=nearest_first(config.npc.sight),
            npc_search=np.zeros((2, (2 * config.npc.sight + 1) ** 2), np.int32),
            streams=np.zeros((len(Stream), 4), np.uint64),
            clock=np.zeros(len(Clock), np.int64),
        )

    @property
    def tick(self) -> int:
        return int(self.clock[Clock.TICK])

    @property
    def next_agent_id(self) -> int:
        return int(self.clock[Clock.NEXT_ID])

    @property
    def n_alive(self) -> int:
        return int(np.count_nonzero(self.agents.alive))

    def state_hash(self) -> str:
        """SHA-256 over every grid and table column plus the counters: equal hashes, equal worlds."""
        h = hashlib.sha256()
        tables = (*self.agents, *self.npcs, *self.regrowth)
        for array in (self.clock, self.streams, self.material, self.occupant, *tables):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()


def event_capacity(config: Config) -> int:
    """Room for every event one tick can produce, exactly. With n agents and m NPCs a tick logs at
    most n MOVE, EAT, DRINK, SPAWN and DEATH each (5 n), n + m ATTACK and n + m KILL, m NPC_SPAWN,
    and one LEVEL_UP per experience gain: 2 per attacking agent, 1 per attack on an agent (at most
    n + m) and 2 per foraging agent (5 n + m): 12 n + 4 m rows in all."""
    n, m = config.spawn.n_agents, config.npc.n_npcs
    return 12 * n + 4 * m


def ring_tiles(border: int, size: int) -> np.ndarray:
    """``(r, c)`` of the outer ring of the playable square, clockwise from its top-left corner."""
    lo, hi = border, border + size - 1
    if size == 1:
        return np.array([[lo, lo]], np.int16)
    top = [(lo, c) for c in range(lo, hi)]
    right = [(r, hi) for r in range(lo, hi)]
    bottom = [(hi, c) for c in range(hi, lo, -1)]
    left = [(r, lo) for r in range(hi, lo, -1)]
    return np.array(top + right + bottom + left, np.int16)
