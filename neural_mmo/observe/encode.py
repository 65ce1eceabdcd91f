"""Observation encoders: numba kernels writing every agent's observation into caller-owned buffers.

Slots holding a living agent, or one that died this tick (its last view), are written; a slot
that becomes empty is zeroed once (its action mask then allows only the no-ops).
"""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import EntityKind, ObsLayout, TileChannel
from neural_mmo.world.actions import ActionHead
from neural_mmo.world.materials import PASSABLE
from neural_mmo.world.state import WorldState
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS
from neural_mmo.world.tables import AgentTable


def nearest_first(radius: int) -> np.ndarray:
    """Offsets ``(dr, dc)`` of the vision square, nearest first, starting with ``(0, 0)``.

    Order: Chebyshev distance, then Euclidean, then row, then column, so ties are broken the
    same way everywhere. The agent's own tile is included: in the last view of an agent that
    died this tick, a newcomer may already stand there, and is listed like any other neighbour.
    """
    offsets = [(dr, dc) for dr in range(-radius, radius + 1) for dc in range(-radius, radius + 1)]
    offsets.sort(key=lambda o: (max(abs(o[0]), abs(o[1])), o[0] ** 2 + o[1] ** 2, o[0], o[1]))
    return np.array(offsets, np.int16).reshape(-1, 2)


@numba.njit(cache=True)
def _write_agent(out: np.ndarray, row: int, agents: AgentTable, j: int, r0: int, c0: int, tick: int) -> None:
    """Entity row ``row`` of ``out`` describes agent slot ``j`` as seen from ``(r0, c0)``."""
    out[row, E.KIND] = EntityKind.PLAYER
    out[row, E.POPULATION] = agents.population[j]
    out[row, E.ROW] = agents.r[j]
    out[row, E.COL] = agents.c[j]
    out[row, E.REL_ROW] = agents.r[j] - r0
    out[row, E.REL_COL] = agents.c[j] - c0
    out[row, E.HEALTH] = agents.health[j]
    out[row, E.FOOD] = agents.food[j]
    out[row, E.WATER] = agents.water[j]
    out[row, E.TIME_ALIVE] = min(tick - agents.spawn_tick[j], 32767)


@numba.njit(cache=True)
def write_observations(
    agents: AgentTable,
    material: np.ndarray,
    occupant: np.ndarray,
    tick: int,
    radius: int,
    border: int,
    offsets: np.ndarray,
    move_offset: int,
    noop_offsets: np.ndarray,
    tiles: np.ndarray,
    entities: np.ndarray,
    entity_mask: np.ndarray,
    action_mask: np.ndarray,
    written: np.ndarray,
    entity_slot: np.ndarray,
) -> None:
    """Fill the observation buffers of every slot (see module docs); ``entity_slot[i, k]`` records
    which agent slot entity row ``k`` of slot ``i`` shows (-1 for empty rows), so actions that
    name a row (attack targets) resolve without searching again."""
    n_rows = entities.shape[1]
    lo = border - 1  # movement never goes past the first ring of the border
    hi = material.shape[0] - border
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] and agents.death_tick[i] != tick:
            if written[i]:
                tiles[i] = 0
                entities[i] = 0
                entity_mask[i] = 0
                entity_slot[i] = -1
                action_mask[i] = 0
                for h in range(noop_offsets.shape[0]):
                    action_mask[i, noop_offsets[h]] = 1
                written[i] = False
            continue
        written[i] = True
        r0 = agents.r[i]
        c0 = agents.c[i]
        for dr in range(-radius, radius + 1):
            for dc in range(-radius, radius + 1):
                tiles[i, dr + radius, dc + radius, TileChannel.MATERIAL] = material[r0 + dr, c0 + dc]
                occ = occupant[r0 + dr, c0 + dc]
                tiles[i, dr + radius, dc + radius, TileChannel.OCCUPANT] = (
                    0 if occ < 0 else agents.population[occ] + 1
                )
        _write_agent(entities[i], 0, agents, i, r0, c0, tick)
        entity_mask[i, 0] = 1
        entity_slot[i, 0] = i
        row = 1
        for k in range(offsets.shape[0]):
            if row >= n_rows:
                break
            occ = occupant[r0 + offsets[k, 0], c0 + offsets[k, 1]]
            if occ >= 0 and occ != i:
                _write_agent(entities[i], row, agents, occ, r0, c0, tick)
                entity_mask[i, row] = 1
                entity_slot[i, row] = occ
                row += 1
        for k in range(row, n_rows):
            entities[i, k] = 0
            entity_mask[i, k] = 0
            entity_slot[i, k] = -1
        action_mask[i, move_offset] = 1
        for d in range(1, N_DIRECTIONS):
            r1 = r0 + DR[d]
            c1 = c0 + DC[d]
            inside = lo <= r1 <= hi and lo <= c1 <= hi
            action_mask[i, move_offset + d] = inside and PASSABLE[material[r1, c1]] and occupant[r1, c1] < 0


class Observer:
    """Writes one world's observations into a block of buffers (views of the caller's arrays)."""

    def __init__(self, layout: ObsLayout, buffers: dict[str, np.ndarray]):
        self.layout = layout
        self.buffers = buffers
        self.offsets = nearest_first(layout.radius)
        self.written = np.zeros(buffers["tiles"].shape[0], np.bool_)
        self.entity_slot = np.full((buffers["tiles"].shape[0], layout.n_entities), -1, np.int32)
        """Agent slot shown by each entity row (-1: empty row); not part of the observation."""
        self.move_offset = int(layout.action_offsets[ActionHead.MOVE])

    def clear(self) -> None:
        """Zero every buffer (at reset), leaving only the no-ops allowed."""
        for array in self.buffers.values():
            array.fill(0)
        self.buffers["action_mask"][:, self.layout.action_offsets] = 1
        self.written.fill(False)
        self.entity_slot.fill(-1)

    def write(self, state: WorldState) -> None:
        b = self.buffers
        write_observations(
            state.agents, state.material, state.occupant, state.tick, self.layout.radius,
            state.config.map.border, self.offsets,
            self.move_offset, self.layout.action_offsets, b["tiles"], b["entities"], b["entity_mask"],
            b["action_mask"], self.written, self.entity_slot,
        )  # fmt: skip
