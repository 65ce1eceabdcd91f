"""Observation encoders: numba kernels writing every agent's observation into caller-owned buffers.

Slots holding a living agent, or one that died this tick (its last view), are written; a slot
that becomes empty is zeroed once (its action mask then allows only the no-ops).
"""

from __future__ import annotations

import sys
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

__all__ = ["Observer", "Rule", "nearest_first", "tile_pairs", "write_all", "write_observations",
           "write_public_rows"]  # fmt: skip


MATERIAL_SHIFT = 8 * (TileChannel.MATERIAL if sys.byteorder == "little" else 1 - TileChannel.MATERIAL)
OCCUPANT_SHIFT = 8 - MATERIAL_SHIFT
"""Where each channel of a tile sits in the uint16 the encoder writes both channels of a tile as."""


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
    rank: np.ndarray,
    head_offsets: np.ndarray,
    tiles: np.ndarray,
    entities: np.ndarray,
    entity_mask: np.ndarray,
    action_mask: np.ndarray,
    written: np.ndarray,
    entity_slot: np.ndarray,
    found: np.ndarray,
) -> None:
    """Fill the observation buffers of every agent slot (see module docs) from the tick's
    ``public`` rows; ``entity_slot[i, k]`` records which entity (agent slot, or n_agents + NPC
    slot) entity row ``k`` of slot ``i`` shows (-1 for empty rows), so attacks that name a row
    resolve without searching again.

    ``tiles`` is the buffer as :func:`tile_pairs` (one uint16 per tile); ``rules`` holds the
    combat numbers the masks need, indexed by :class:`Rule`; ``rank[dr + R, dc + R]`` is the
    position of offset ``(dr, dc)`` in ``offsets`` (nearest first); ``found`` (int64 ``[2,
    n_entities]``) is work space. The crop finds the others in view (one pass over the window,
    not a search in ``offsets`` order) and keeps the nearest ``n_entities - 1`` sorted by rank.
    """
    n = alive.shape[0]
    n_rows = entities.shape[1]
    n_cols = entities.shape[2]
    window = 2 * radius + 1
    move_offset = head_offsets[ActionHead.MOVE]
    attack_offset = head_offsets[ActionHead.ATTACK]
    attack_size = 1 + N_STYLES * n_rows
    lo = border - 1  # movement never goes past the first ring of the border
    hi = material.shape[0] - border
    found_rank = found[0]
    found_occ = found[1]
    cap = n_rows - 1  # others shown: every entity row but the agent's own
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
        # the crop, materials first; a second pass over rows with someone in them writes the
        # occupants and keeps the nearest others (at most cap), in offsets order
        tile = tiles[i]
        top = np.uint64(r0 - radius)  # unsigned: no negative-index checks, so the first pass vectorizes
        left = np.uint64(c0 - radius)
        n_found = 0
        for dr in range(window):
            material_row = material[top + np.uint64(dr)]
            occupant_row = occupant[top + np.uint64(dr)]
            tile_row = tile[dr]
            anyone = False
            for dc in range(window):
                c = left + np.uint64(dc)
                tile_row[dc] = np.uint16(material_row[c]) << MATERIAL_SHIFT
                anyone |= occupant_row[c] >= 0
            if not anyone:
                continue
            for dc in range(window):
                occ = occupant_row[left + np.uint64(dc)]
                if occ < 0:
                    continue
                tile_row[dc] |= np.uint16(tile_code[occ]) << OCCUPANT_SHIFT
                if occ == i:
                    continue
                key = rank[dr, dc]
                if n_found < cap:
                    j = n_found
                    n_found += 1
                elif cap > 0 and key < found_rank[cap - 1]:
                    j = cap - 1  # the farthest kept one drops out
                else:
                    continue
                while j > 0 and found_rank[j - 1] > key:
                    found_rank[j] = found_rank[j - 1]
                    found_occ[j] = found_occ[j - 1]
                    j -= 1
                found_rank[j] = key
                found_occ[j] = occ
        mask = action_mask[i, attack_offset : attack_offset + attack_size]
        mask[:] = 0
        mask[0] = 1
        rows = entities[i]
        for col in range(n_cols):
            rows[0, col] = public[i, col]
        rows[0, E.REL_ROW] = 0
        rows[0, E.REL_COL] = 0
        entity_mask[i, 0] = 1
        entity_slot[i, 0] = i
        for m in range(n_found):
            row = m + 1
            occ = found_occ[m]
            dr = offsets[found_rank[m], 0]
            dc = offsets[found_rank[m], 1]
            for col in range(n_cols):
                rows[row, col] = public[occ, col]
            rows[row, E.REL_ROW] = dr
            rows[row, E.REL_COL] = dc
            entity_mask[i, row] = 1
            entity_slot[i, row] = occ
            if public[occ, E.IMMUNE] == 0 and alive[i]:
                reach = max(abs(dr), abs(dc))
                for s in range(1, N_STYLES + 1):
                    mask[attack_value_of(s, row, n_rows)] = reach <= rules[Rule.MELEE_RANGE + s - 1]
        for k in range(n_found + 1, n_rows):
            for col in range(n_cols):
                rows[k, col] = 0
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


def tile_pairs(tiles: np.ndarray) -> np.ndarray:
    """``tiles`` (uint8 ``[n, W, W, 2]``) as uint16 ``[n, W, W]``: one number per tile, both
    channels (a view: writing it writes ``tiles``)."""
    pairs = tiles.view(np.uint16)
    pairs.shape = tiles.shape[:3]  # raises rather than copies
    return pairs


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
        self.rank = np.zeros((layout.window, layout.window), np.int64)
        """``rank[dr + R, dc + R]``: the position of offset ``(dr, dc)`` in ``offsets``."""
        self.rank[self.offsets[:, 0] + layout.radius, self.offsets[:, 1] + layout.radius] = np.arange(
            len(self.offsets)
        )
        self.found = np.zeros((2, layout.n_entities), np.int64)
        """Work space of :func:`write_observations`."""
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

    @property
    def args(self) -> tuple:
        """What :func:`write_all` needs besides the world, as one plain tuple (quick to hand to
        numba; callers that write every tick keep it)."""
        b = self.buffers
        return (
            self.layout.radius, self.rules, self.offsets, self.rank, self.layout.action_offsets, self.public,
            self.tile_code, tile_pairs(b["tiles"]), b["entities"], b["entity_mask"], b["action_mask"],
            self.written, self.entity_slot, self.found,
        )  # fmt: skip

    def clear(self) -> None:
        """Zero every buffer (at reset), leaving only the no-ops allowed."""
        for array in self.buffers.values():
            array.fill(0)
        self.buffers["action_mask"][:, self.layout.action_offsets] = 1
        self.written.fill(False)
        self.entity_slot.fill(-1)

    def write(self, state: WorldState) -> None:
        s, cfg = state, state.config
        write_all(s.agents, s.npcs, s.material, s.occupant, s.tick, cfg.spawn.n_populations, cfg.map.border,
                  self.args)  # fmt: skip


@numba.njit(cache=True)
def write_all(
    agents: AgentTable, npcs: NpcTable, material: np.ndarray, occupant: np.ndarray, tick: int,
    n_populations: int, border: int, observer: tuple,
) -> None:  # fmt: skip
    """One world's public rows, then every observation, into the arrays of ``observer`` (an
    :attr:`Observer.args` tuple)."""
    radius, rules, offsets, rank, head_offsets, public, tile_code = observer[:7]
    tiles, entities, entity_mask, action_mask, written, entity_slot, found = observer[7:]
    write_public_rows(agents, npcs, tick, n_populations, rules, public, tile_code)
    write_observations(
        agents.alive, agents.death_tick, agents.freeze_until, public, tile_code, material, occupant, tick,
        radius, border, rules, offsets, rank, head_offsets, tiles, entities, entity_mask, action_mask,
        written, entity_slot, found,
    )  # fmt: skip
