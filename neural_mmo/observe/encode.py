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
from neural_mmo.world.systems.combat import N_STYLES, combat_level, nearest_first
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS
from neural_mmo.world.tables import N_SKILLS, AgentTable, NpcTable

__all__ = ["Observer", "nearest_first", "write_observations"]


@numba.njit(cache=True, inline="always")
def _write_entity(
    out: np.ndarray, row: int, table, j: int, kind: int, population: int, food: int, water: int,
    immune: int, r0: int, c0: int, tick: int, status_ticks: int,
) -> None:  # fmt: skip
    """Entity row ``row`` of ``out`` describes row ``j`` of ``table`` (agents or NPCs) as seen
    from ``(r0, c0)`` at the end of ``tick``."""
    out[row, E.KIND] = kind
    out[row, E.POPULATION] = population
    out[row, E.ROW] = table.r[j]
    out[row, E.COL] = table.c[j]
    out[row, E.REL_ROW] = table.r[j] - r0
    out[row, E.REL_COL] = table.c[j] - c0
    out[row, E.HEALTH] = table.health[j]
    out[row, E.MAX_HEALTH] = table.max_health[j]
    out[row, E.FOOD] = food
    out[row, E.WATER] = water
    out[row, E.TIME_ALIVE] = min(tick - table.spawn_tick[j], 32767)
    out[row, E.LEVEL] = combat_level(table.level, j)
    for k in range(N_SKILLS):
        out[row, E.MELEE + k] = table.level[j, k]
    out[row, E.STYLE] = table.style[j]
    out[row, E.FROZEN] = min(max(0, table.freeze_until[j] - tick), 32767)
    out[row, E.IMMUNE] = immune
    out[row, E.IN_COMBAT] = tick - table.combat_tick[j] < status_ticks


@numba.njit(cache=True)
def write_observations(
    agents: AgentTable,
    npcs: NpcTable,
    material: np.ndarray,
    occupant: np.ndarray,
    tick: int,
    radius: int,
    border: int,
    n_populations: int,
    rules: np.ndarray,
    offsets: np.ndarray,
    head_offsets: np.ndarray,
    tiles: np.ndarray,
    entities: np.ndarray,
    entity_mask: np.ndarray,
    action_mask: np.ndarray,
    written: np.ndarray,
    entity_slot: np.ndarray,
) -> None:
    """Fill the observation buffers of every slot (see module docs); ``entity_slot[i, k]`` records
    which entity (agent slot, or n_agents + NPC slot) entity row ``k`` of slot ``i`` shows (-1
    for empty rows), so attacks that name a row resolve without searching again.

    ``rules`` holds ``[status_ticks, spawn_immunity, melee reach, range reach, mage reach]``.
    """
    n = agents.alive.shape[0]
    n_rows = entities.shape[1]
    status_ticks = rules[0]
    immunity = rules[1]
    move_offset = head_offsets[ActionHead.MOVE]
    attack_offset = head_offsets[ActionHead.ATTACK]
    attack_size = 1 + N_STYLES * n_rows
    lo = border - 1  # movement never goes past the first ring of the border
    hi = material.shape[0] - border
    for i in range(n):
        if not agents.alive[i] and agents.death_tick[i] != tick:
            if written[i]:
                tiles[i] = 0
                entities[i] = 0
                entity_mask[i] = 0
                entity_slot[i] = -1
                action_mask[i] = 0
                for h in range(head_offsets.shape[0]):
                    action_mask[i, head_offsets[h]] = 1
                written[i] = False
            continue
        written[i] = True
        r0 = agents.r[i]
        c0 = agents.c[i]
        for dr in range(-radius, radius + 1):
            for dc in range(-radius, radius + 1):
                tiles[i, dr + radius, dc + radius, TileChannel.MATERIAL] = material[r0 + dr, c0 + dc]
                occ = occupant[r0 + dr, c0 + dc]
                if occ < 0:
                    code = 0
                elif occ < n:
                    code = agents.population[occ] + 1
                else:
                    code = n_populations + npcs.behaviour[occ - n]
                tiles[i, dr + radius, dc + radius, TileChannel.OCCUPANT] = code
        mask = action_mask[i, attack_offset : attack_offset + attack_size]
        mask[:] = 0
        mask[0] = 1
        _write_entity(entities[i], 0, agents, i, EntityKind.PLAYER, agents.population[i], agents.food[i],
                      agents.water[i], max(0, agents.spawn_tick[i] + immunity - tick), r0, c0, tick,
                      status_ticks)  # fmt: skip
        entity_mask[i, 0] = 1
        entity_slot[i, 0] = i
        row = 1
        for k in range(offsets.shape[0]):
            if row >= n_rows:
                break
            occ = occupant[r0 + offsets[k, 0], c0 + offsets[k, 1]]
            if occ < 0 or occ == i:
                continue
            if occ < n:
                immune = max(0, agents.spawn_tick[occ] + immunity - tick)
                _write_entity(entities[i], row, agents, occ, EntityKind.PLAYER, agents.population[occ],
                              agents.food[occ], agents.water[occ], immune, r0, c0, tick,
                              status_ticks)  # fmt: skip
            else:
                j = occ - n
                immune = 0
                _write_entity(entities[i], row, npcs, j, 1 + npcs.behaviour[j], 0, 0, 0, 0, r0, c0, tick,
                              status_ticks)  # fmt: skip
            entity_mask[i, row] = 1
            entity_slot[i, row] = occ
            if immune == 0 and agents.alive[i]:
                reach = max(abs(offsets[k, 0]), abs(offsets[k, 1]))
                for s in range(N_STYLES):
                    mask[1 + s * n_rows + row] = reach <= rules[2 + s]
            row += 1
        for k in range(row, n_rows):
            entities[i, k] = 0
            entity_mask[i, k] = 0
            entity_slot[i, k] = -1
        action_mask[i, move_offset] = 1
        frozen = tick + 1 <= agents.freeze_until[i]
        for d in range(1, N_DIRECTIONS):
            r1 = r0 + DR[d]
            c1 = c0 + DC[d]
            inside = lo <= r1 <= hi and lo <= c1 <= hi
            action_mask[i, move_offset + d] = (
                not frozen and inside and PASSABLE[material[r1, c1]] and occupant[r1, c1] < 0
            )


class Observer:
    """Writes one world's observations into a block of buffers (views of the caller's arrays).

    ``entity_slot`` may be given (a view of a larger array) so actions of many worlds decode in
    one call; otherwise it is allocated here.
    """

    def __init__(
        self, layout: ObsLayout, buffers: dict[str, np.ndarray], entity_slot: np.ndarray | None = None
    ):
        self.layout = layout
        self.buffers = buffers
        n = buffers["tiles"].shape[0]
        self.offsets = nearest_first(layout.radius)
        self.written = np.zeros(n, np.bool_)
        self.entity_slot = (
            np.full((n, layout.n_entities), -1, np.int32) if entity_slot is None else entity_slot
        )
        """Entity shown by each entity row (-1: empty row); not part of the observation."""
        c = layout.config.combat
        self.rules = np.array(
            [c.status_ticks, c.spawn_immunity, c.melee_range, c.range_range, c.mage_range], np.int64
        )

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
            state.agents, state.npcs, state.material, state.occupant, state.tick, self.layout.radius,
            state.config.map.border, state.config.spawn.n_populations, self.rules, self.offsets,
            self.layout.action_offsets, b["tiles"], b["entities"], b["entity_mask"],
            b["action_mask"], self.written, self.entity_slot,
        )  # fmt: skip
