"""Observation encoders: numba kernels writing every agent's observation into caller-owned buffers.

Slots holding a living agent, or one that died this tick (its last view), are written; a slot
that becomes empty is zeroed once (its action mask then allows only the no-ops).
"""

from __future__ import annotations

from enum import IntEnum

import numba
import numpy as np

from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import EntityKind, ObsLayout, TileChannel
from neural_mmo.world.actions import ActionHead, attack_value_of
from neural_mmo.world.geometry import nearest_first
from neural_mmo.world.materials import PASSABLE
from neural_mmo.world.state import WorldState
from neural_mmo.world.systems.combat import N_STYLES, combat_level
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS
from neural_mmo.world.tables import N_SKILLS, AgentTable, NpcTable

__all__ = ["Observer", "Rule", "nearest_first", "write_observations", "write_public_rows"]


class Rule(IntEnum):
    """Entries of the ``rules`` array the encoder kernels take (the combat numbers masks need)."""

    STATUS_TICKS = 0
    SPAWN_IMMUNITY = 1
    MELEE_RANGE = 2  # then range, then mage: MELEE_RANGE + style - 1
    RANGE_RANGE = 3
    MAGE_RANGE = 4


@numba.njit(cache=True)
def write_public_rows(
    agents: AgentTable, npcs: NpcTable, tick: int, n_populations: int, rules: np.ndarray,
    public: np.ndarray, tile_code: np.ndarray,
) -> None:  # fmt: skip
    """Row ``e`` of ``public`` describes entity ``e`` (agent slot, or n_agents + NPC slot) as any
    observer sees it, except the relative columns; ``tile_code[e]`` is its OCCUPANT tile value.
    Written once per tick, then copied into every observation that shows the entity."""
    n = agents.alive.shape[0]
    status_ticks = rules[Rule.STATUS_TICKS]
    immunity = rules[Rule.SPAWN_IMMUNITY]
    for e in range(n + npcs.alive.shape[0]):
        out = public[e]
        if e < n:
            j = e
            shown = agents.alive[j] or agents.death_tick[j] == tick  # the dead see their last view
        else:
            j = e - n
            shown = npcs.alive[j]
        if not shown:
            continue
        if e < n:
            out[E.KIND] = EntityKind.PLAYER
            out[E.POPULATION] = agents.population[j]
            out[E.ROW] = agents.r[j]
            out[E.COL] = agents.c[j]
            out[E.HEALTH] = agents.health[j]
            out[E.MAX_HEALTH] = agents.max_health[j]
            out[E.FOOD] = agents.food[j]
            out[E.WATER] = agents.water[j]
            out[E.TIME_ALIVE] = min(tick - agents.spawn_tick[j], 32767)
            out[E.LEVEL] = combat_level(agents.level, j)
            for k in range(N_SKILLS):
                out[E.MELEE + k] = agents.level[j, k]
            out[E.STYLE] = agents.style[j]
            out[E.FROZEN] = min(max(0, agents.freeze_until[j] - tick), 32767)
            out[E.IMMUNE] = min(max(0, agents.spawn_tick[j] + immunity - tick), 32767)
            out[E.IN_COMBAT] = min(max(0, agents.combat_tick[j] + status_ticks - 1 - tick), 32767)
            tile_code[e] = agents.population[j] + 1
        else:
            out[E.KIND] = 1 + npcs.behaviour[j]
            out[E.POPULATION] = 0
            out[E.ROW] = npcs.r[j]
            out[E.COL] = npcs.c[j]
            out[E.HEALTH] = npcs.health[j]
            out[E.MAX_HEALTH] = npcs.max_health[j]
            out[E.FOOD] = 0
            out[E.WATER] = 0
            out[E.TIME_ALIVE] = min(tick - npcs.spawn_tick[j], 32767)
            out[E.LEVEL] = combat_level(npcs.level, j)
            for k in range(N_SKILLS):
                out[E.MELEE + k] = npcs.level[j, k]
            out[E.STYLE] = npcs.style[j]
            out[E.FROZEN] = min(max(0, npcs.freeze_until[j] - tick), 32767)
            out[E.IMMUNE] = 0
            out[E.IN_COMBAT] = min(max(0, npcs.combat_tick[j] + status_ticks - 1 - tick), 32767)
            tile_code[e] = n_populations + npcs.behaviour[j]


@numba.njit(cache=True)
def write_observations(
    alive: np.ndarray,
    death_tick: np.ndarray,
    freeze_until: np.ndarray,
    public: np.ndarray,
    tile_code: np.ndarray,
    material: np.ndarray,
    occupant: np.ndarray,
    tick: int,
    radius: int,
    border: int,
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
    """Fill the observation buffers of every agent slot (see module docs) from the tick's
    ``public`` rows; ``entity_slot[i, k]`` records which entity (agent slot, or n_agents + NPC
    slot) entity row ``k`` of slot ``i`` shows (-1 for empty rows), so attacks that name a row
    resolve without searching again.

    ``rules`` holds the combat numbers the masks need, indexed by :class:`Rule`.
    """
    n = alive.shape[0]
    n_rows = entities.shape[1]
    n_cols = entities.shape[2]
    move_offset = head_offsets[ActionHead.MOVE]
    attack_offset = head_offsets[ActionHead.ATTACK]
    attack_size = 1 + N_STYLES * n_rows
    lo = border - 1  # movement never goes past the first ring of the border
    hi = material.shape[0] - border
    for i in range(n):
        if not alive[i] and death_tick[i] != tick:
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
        r0 = public[i, E.ROW]
        c0 = public[i, E.COL]
        for dr in range(-radius, radius + 1):
            for dc in range(-radius, radius + 1):
                tiles[i, dr + radius, dc + radius, TileChannel.MATERIAL] = material[r0 + dr, c0 + dc]
                occ = occupant[r0 + dr, c0 + dc]
                tiles[i, dr + radius, dc + radius, TileChannel.OCCUPANT] = 0 if occ < 0 else tile_code[occ]
        mask = action_mask[i, attack_offset : attack_offset + attack_size]
        mask[:] = 0
        mask[0] = 1
        for col in range(n_cols):
            entities[i, 0, col] = public[i, col]
        entities[i, 0, E.REL_ROW] = 0
        entities[i, 0, E.REL_COL] = 0
        entity_mask[i, 0] = 1
        entity_slot[i, 0] = i
        row = 1
        for k in range(offsets.shape[0]):
            if row >= n_rows:
                break
            occ = occupant[r0 + offsets[k, 0], c0 + offsets[k, 1]]
            if occ < 0 or occ == i:
                continue
            for col in range(n_cols):
                entities[i, row, col] = public[occ, col]
            entities[i, row, E.REL_ROW] = offsets[k, 0]
            entities[i, row, E.REL_COL] = offsets[k, 1]
            entity_mask[i, row] = 1
            entity_slot[i, row] = occ
            if public[occ, E.IMMUNE] == 0 and alive[i]:
                reach = max(abs(offsets[k, 0]), abs(offsets[k, 1]))
                for s in range(1, N_STYLES + 1):
                    mask[attack_value_of(s, row, n_rows)] = reach <= rules[Rule.MELEE_RANGE + s - 1]
            row += 1
        for k in range(row, n_rows):
            entities[i, k] = 0
            entity_mask[i, k] = 0
            entity_slot[i, k] = -1
        action_mask[i, move_offset] = 1
        stuck = tick + 1 <= freeze_until[i] or not alive[i]  # frozen; or a dead agent's last view
        for d in range(1, N_DIRECTIONS):
            r1 = r0 + DR[d]
            c1 = c0 + DC[d]
            inside = lo <= r1 <= hi and lo <= c1 <= hi
            action_mask[i, move_offset + d] = (
                not stuck and inside and PASSABLE[material[r1, c1]] and occupant[r1, c1] < 0
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
        self.rules = np.zeros(len(Rule), np.int64)
        for rule, value in ((Rule.STATUS_TICKS, c.status_ticks), (Rule.SPAWN_IMMUNITY, c.spawn_immunity),
                            (Rule.MELEE_RANGE, c.melee_range), (Rule.RANGE_RANGE, c.range_range),
                            (Rule.MAGE_RANGE, c.mage_range)):  # fmt: skip
            self.rules[rule] = value
        entities = layout.config.spawn.n_agents + layout.config.npc.n_npcs
        self.public = np.zeros((entities, buffers["entities"].shape[2]), np.int16)
        """Each entity's row as every observer sees it (relative columns aside), per tick."""
        self.tile_code = np.zeros(entities, np.uint8)

    def clear(self) -> None:
        """Zero every buffer (at reset), leaving only the no-ops allowed."""
        for array in self.buffers.values():
            array.fill(0)
        self.buffers["action_mask"][:, self.layout.action_offsets] = 1
        self.written.fill(False)
        self.entity_slot.fill(-1)

    def write(self, state: WorldState) -> None:
        b, a = self.buffers, state.agents
        write_public_rows(a, state.npcs, state.tick, state.config.spawn.n_populations, self.rules,
                          self.public, self.tile_code)  # fmt: skip
        write_observations(
            a.alive, a.death_tick, a.freeze_until, self.public, self.tile_code, state.material,
            state.occupant, state.tick, self.layout.radius, state.config.map.border, self.rules,
            self.offsets, self.layout.action_offsets, b["tiles"], b["entities"], b["entity_mask"],
            b["action_mask"], self.written, self.entity_slot,
        )  # fmt: skip
