"""Observation encoders: numba kernels writing every agent's observation into caller-owned buffers.

Slots holding a living agent, or one that died this tick (its last view), are written; a slot
that becomes empty is zeroed once (its action mask then allows only the no-ops).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np

from neural_mmo.observe.heads import ActionHead, attack_value_of
from neural_mmo.observe.layout import (
    SYSTEM_VIEWS,
    EntityKind,
    ObsLayout,
    SystemView,
    SystemViews,
    TileChannel,
    write_system_masks,
    write_system_views,
)
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.world.events import EventColumn, EventKind
from neural_mmo.world.geometry import nearest_first
from neural_mmo.world.items import EquipmentView, EquipSlot
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import PASSABLE
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World, WorldState
from neural_mmo.world.systems.combat import N_STYLES, combat_level
from neural_mmo.world.systems.exchange import MarketView
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS
from neural_mmo.world.tables import N_SKILLS, AgentTable, NpcTable

__all__ = ["Encoding", "Observer", "ObserverArrays", "encoding_of", "nearest_first", "tile_pairs",
           "REBUILT", "mark_holdings", "write_all", "write_observations", "write_public_rows"]  # fmt: skip


MATERIAL_SHIFT = 8 * (TileChannel.MATERIAL if sys.byteorder == "little" else 1 - TileChannel.MATERIAL)
OCCUPANT_SHIFT = 8 - MATERIAL_SHIFT
"""Where each channel of a tile sits in the uint16 the encoder writes both channels of a tile as."""


class Encoding(NamedTuple):
    """What the encoder needs of an observation layout (the same for every world of a layout)."""

    radius: int  # vision radius R: crops are (2R + 1) tiles wide
    offsets: np.ndarray  # int64 [(2R+1)^2, 2]  (dr, dc) of the crop, nearest first
    rank: np.ndarray  # int64 [2R+1, 2R+1]  rank[dr + R, dc + R]: position of (dr, dc) in offsets
    head_offsets: np.ndarray  # int64 [n_heads]  first entry of each head in the flat action mask
    head_sizes: np.ndarray  # int64 [n_heads]  values of each head


class ObserverArrays(NamedTuple):
    """One world's observation buffers (views of the caller's arrays) and the encoder's work arrays."""

    tiles: np.ndarray  # uint16 [N, W, W]  both tile channels as one number (see tile_pairs)
    entities: np.ndarray  # int16 [N, n_entities, n_columns]
    entity_mask: np.ndarray  # uint8 [N, n_entities]
    action_mask: np.ndarray  # uint8 [N, sum of head sizes]
    entity_slot: np.ndarray  # int32 [N, n_entities]  entity shown by each row, -1 for none
    written: np.ndarray  # bool [N]  the slot's buffers hold an observation (zeroed once when emptied)
    rows_shown: np.ndarray  # int64 [N]  entity rows written by the last observation (later rows are zero)
    view_rows: np.ndarray  # int64 [N]  rows held by the system views aligned with entity rows (later: zero)
    public: np.ndarray  # int16 [n_agents + n_npcs, n_columns]  each entity's row as anyone sees it
    tile_code: np.ndarray  # uint8 [n_agents + n_npcs]  each entity's OCCUPANT tile value
    found: np.ndarray  # int64 [2, n_entities]  work space: ranks and entities kept by the crop
    worn: np.ndarray  # int16 [n_agents + n_npcs, EquipmentView]  work space: what each entity visibly wears
    touched: np.ndarray  # bool [N]  work space: slots whose holdings parts are rewritten (mark_holdings)
    was_shown: np.ndarray  # bool [N]  slots shown by the last write (alive, or died that tick)
    had_ammo: np.ndarray  # bool [N]  slots with ammunition equipped at the last write
    rewrite: np.ndarray  # bool [2]  [0]: the next write rewrites every slot's holdings parts; [1]: always
    views: SystemViews  # int16 [N, width] per system view, by key; [N, 0] while its system is off
    market: (
        np.ndarray
    )  # int16 [market rows, MarketView]  the world's market table ([0, ...] without an exchange)
    market_best: np.ndarray  # int64 [market rows, 3]  work space: best offers per row (write_market)
    market_offered: np.ndarray  # int64 [market rows]  work space: the rows with a listing


@kernel
def write_public_rows(
    agents: AgentTable, npcs: NpcTable, tick: int, rules: Rules, public: np.ndarray, tile_code: np.ndarray
) -> None:
    """Row ``e`` of ``public`` describes entity ``e`` (agent slot, or n_agents + NPC slot) as any
    observer sees it, except the relative columns; ``tile_code[e]`` is its OCCUPANT tile value.
    Written once per tick, then copied into every observation that shows the entity."""
    n = agents.alive.shape[0]
    n_populations = rules.spawn.n_populations
    status_ticks = rules.combat.status_ticks
    immunity = rules.combat.spawn_immunity
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


HOLDINGS_EVENTS = np.zeros(max(EventKind) + 1, np.bool_)
"""Event kinds after which the agents they name (``SLOT`` and ``OTHER``) may hold other items or
have other levels: every rule that changes what an agent holds, or a level, logs one of these."""
for _kind in (EventKind.SPAWN, EventKind.DEATH, EventKind.LEVEL_UP, EventKind.HARVEST, EventKind.LOOT,
              EventKind.EQUIP, EventKind.UNEQUIP, EventKind.CONSUME, EventKind.DROP, EventKind.DESTROY,
              EventKind.GIVE, EventKind.LIST, EventKind.BUY, EventKind.SELL, EventKind.EXPIRE):  # fmt: skip
    HOLDINGS_EVENTS[_kind] = True


@kernel
def mark_holdings(world: World, out: ObserverArrays) -> None:
    """``out.touched[i]``: whether slot ``i``'s holdings parts (its items view, professions view
    and use mask: functions of what it holds, its levels and whether it is shown) must be rewritten
    after this tick. Every slot after a reset, a restore, or with ``out.rewrite[1]`` (observers of
    worlds that change other than tick by tick); otherwise the slots named by this tick's events
    of :data:`HOLDINGS_EVENTS`, the attackers that had or have ammunition equipped (an attack uses
    one), and the slots whose shown state changed. Needs the observer to write after every tick
    (every slot, every tick, should the full event log ever drop an event)."""
    agents, events, touched = world.agents, world.events, out.touched
    tick = world.clock[Clock.TICK]
    n = touched.shape[0]
    every = out.rewrite[0] or out.rewrite[1] or events.counts[1] > 0  # an event was dropped: none lost here
    out.rewrite[0] = False
    has_items = world.holdings.equipment.shape[1] > 0
    for i in range(n):
        shown = agents.alive[i] or agents.death_tick[i] == tick
        touched[i] = every or shown != out.was_shown[i]
        out.was_shown[i] = shown
    for k in range(events.counts[0]):
        kind = events.table[k, EventColumn.KIND]
        i = events.table[k, EventColumn.SLOT]
        if kind == EventKind.ATTACK:
            if 0 <= i < n and out.had_ammo[i]:
                touched[i] = True
        elif HOLDINGS_EVENTS[kind]:
            j = events.table[k, EventColumn.OTHER]
            if 0 <= i < n:
                touched[i] = True
            if 0 <= j < n:
                touched[j] = True
    if has_items:
        equipment = world.holdings.equipment
        for i in range(n):
            now = equipment[i, EquipSlot.AMMO] >= 0
            touched[i] |= now and not out.had_ammo[i]  # put on this tick: an EQUIP event marks it too
            out.had_ammo[i] = now


REBUILT = frozenset({"touched", "was_shown", "had_ammo", "rewrite"})
"""Observer arrays that are not saved: the first write after a restore rebuilds them from the
world (a restore asks for a full rewrite), so saves keep the layout they had without them."""


DEFAULT_WINDOW = 15
"""The crop width of the default vision radius (7), which the encoder compiles a copy for."""


@kernel
def write_observations(world: World, out: ObserverArrays, enc: Encoding, rules: Rules) -> None:
    """Fill the observation buffers of every agent slot (see module docs) from the tick's
    ``out.public`` rows; ``out.entity_slot[i, k]`` records which entity (agent slot, or n_agents
    + NPC slot) entity row ``k`` of slot ``i`` shows (-1 for empty rows), so attacks that name a
    row resolve without searching again.

    The crop finds the others in view (one pass over the window, not a search in ``enc.offsets``
    order) and keeps the nearest ``n_entities - 1`` sorted by rank. The default window has a copy
    of its own, where the width is a constant: the compiler unrolls each row of the crop (~1 µs
    less per medium world-step).
    """
    window = 2 * enc.radius + 1
    if window == DEFAULT_WINDOW:
        _write_observations(world, out, enc, rules, DEFAULT_WINDOW)
    else:
        _write_observations(world, out, enc, rules, window)


@kernel(inline=True)
def _write_observations(world: World, out: ObserverArrays, enc: Encoding, rules: Rules, window: int) -> None:
    """:func:`write_observations` with a crop ``window`` tiles wide (``2 * enc.radius + 1``)."""
    alive = world.agents.alive
    death_tick = world.agents.death_tick
    freeze_until = world.agents.freeze_until
    material = world.material
    occupant = world.occupant
    tick = world.clock[Clock.TICK]
    border = rules.map.border
    reach = rules.derived.style_range
    radius = window // 2
    offsets, rank, head_offsets = enc.offsets, enc.rank, enc.head_offsets
    tiles, entities, entity_mask, action_mask = out.tiles, out.entities, out.entity_mask, out.action_mask
    entity_slot, written, rows_shown, public, tile_code, found = (
        out.entity_slot,
        out.written,
        out.rows_shown,
        out.public,
        out.tile_code,
        out.found,
    )
    n = alive.shape[0]
    n_rows = entities.shape[1]
    n_cols = entities.shape[2]
    move_offset = head_offsets[ActionHead.MOVE]
    attack_offset = head_offsets[ActionHead.ATTACK]
    attack_size = enc.head_sizes[ActionHead.ATTACK]  # 1 + N_STYLES * n_rows; 1 + N_STYLES when automatic
    fights = rules.combat.enabled
    auto = rules.combat.auto_target
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
                rows_shown[i] = 0
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
            if public[occ, E.IMMUNE] == 0 and alive[i] and fights:
                distance = max(abs(dr), abs(dc))
                for s in range(1, N_STYLES + 1):
                    if auto:
                        if distance <= reach[s - 1]:
                            mask[s] = 1
                    else:
                        mask[attack_value_of(s, row, n_rows)] = distance <= reach[s - 1]
        for k in range(n_found + 1, rows_shown[i]):  # rows past the last observation's are zero already
            for col in range(n_cols):
                rows[k, col] = 0
            entity_mask[i, k] = 0
            entity_slot[i, k] = -1
        rows_shown[i] = n_found + 1
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

    ``incremental``: the observer writes one world after each of its ticks (a VecEnv's), so each
    slot's holdings parts are rewritten only when this tick's events say they changed
    (:func:`mark_holdings`); otherwise every write rewrites everything, whatever world it is given.
    After editing a world other than through its ticks, call :meth:`rewrite_all`.
    """

    def __init__(
        self, layout: ObsLayout, buffers: dict[str, np.ndarray], entity_slot: np.ndarray | None = None,
        incremental: bool = False,
    ):  # fmt: skip
        self.layout = layout
        self.buffers = buffers
        n = buffers["tiles"].shape[0]
        self.encoding = encoding_of(layout)
        entities = layout.config.spawn.n_agents + layout.config.npc.n_npcs
        shape = layout.world_fields[0].shape if layout.world_fields else (0, len(MarketView))
        market = buffers.get("market")  # the world's one table (allocated here unless given)
        market = np.zeros(shape, np.int16) if market is None else market
        if market.shape != shape or market.dtype != np.int16 or not market.flags.c_contiguous:
            raise TypeError(
                f"the 'market' buffer must be a C-contiguous int16 {shape}: {market.dtype}{market.shape}"
            )
        self.arrays = ObserverArrays(
            tiles=tile_pairs(buffers["tiles"]),
            entities=buffers["entities"],
            entity_mask=buffers["entity_mask"],
            action_mask=buffers["action_mask"],
            entity_slot=(
                np.full((n, layout.n_entities), -1, np.int32) if entity_slot is None else entity_slot
            ),
            written=np.zeros(n, np.bool_),
            rows_shown=np.full(n, layout.n_entities, np.int64),  # unknown: the first write zeros every row
            view_rows=np.full(n, layout.n_entities, np.int64),
            public=np.zeros((entities, buffers["entities"].shape[2]), np.int16),
            tile_code=np.zeros(entities, np.uint8),
            found=np.zeros((2, layout.n_entities), np.int64),
            worn=np.zeros((entities, len(EquipmentView)), np.int16),
            touched=np.ones(n, np.bool_),
            was_shown=np.zeros(n, np.bool_),
            had_ammo=np.zeros(n, np.bool_),
            rewrite=np.array([True, not incremental]),
            views=SystemViews(**{view.key: _view_buffer(buffers, view, n) for view in SYSTEM_VIEWS}),
            market=market,
            market_best=np.zeros((market.shape[0], 3), np.int64),
            market_offered=np.zeros(market.shape[0], np.int64),
        )

    @property
    def entity_slot(self) -> np.ndarray:
        """Entity shown by each entity row (-1: empty row); not part of the observation."""
        return self.arrays.entity_slot

    def clear(self) -> None:
        """Zero every buffer (at reset), leaving only the no-ops allowed."""
        for array in self.buffers.values():
            array.fill(0)
        self.buffers["action_mask"][:, self.layout.action_offsets] = 1
        self.arrays.written.fill(False)
        self.arrays.rows_shown.fill(0)
        self.arrays.view_rows.fill(0)
        self.arrays.entity_slot.fill(-1)
        self.rewrite_all()

    def rewrite_all(self) -> None:
        """Have the next write rewrite every part of every slot (after a world was changed other
        than by its ticks: a restore, a hand edit)."""
        self.arrays.rewrite[0] = True

    def write(self, state: WorldState) -> None:
        write_all(state.world, self.arrays, self.encoding, state.rules)


def _view_buffer(buffers: dict[str, np.ndarray], view: SystemView, n: int) -> np.ndarray:
    """The buffer of a system view (``[n, 0, ...]`` when the layout has none)."""
    if view.key not in buffers:
        return np.zeros((n,) + (0,) * view.ndim, np.int16)
    array = buffers[view.key]
    if array.dtype != np.int16 or array.ndim != 1 + view.ndim or not array.flags.c_contiguous:
        raise TypeError(
            f"the {view.key!r} buffer must be a C-contiguous int16 [N, *shape] array of {1 + view.ndim} "
            f"dimensions: {array.dtype}{array.shape}"
        )
    return array


def encoding_of(layout: ObsLayout) -> Encoding:
    """The :class:`Encoding` of a layout."""
    offsets = nearest_first(layout.radius)
    rank = np.zeros((layout.window, layout.window), np.int64)
    rank[offsets[:, 0] + layout.radius, offsets[:, 1] + layout.radius] = np.arange(len(offsets))
    return Encoding(
        radius=layout.radius,
        offsets=offsets,
        rank=rank,
        head_offsets=layout.action_offsets,
        head_sizes=layout.action_sizes,
    )


@kernel
def write_all(world: World, out: ObserverArrays, enc: Encoding, rules: Rules) -> None:
    """One world's public rows, then every observation."""
    tick = world.clock[Clock.TICK]
    write_public_rows(world.agents, world.npcs, tick, rules, out.public, out.tile_code)
    write_observations(world, out, enc, rules)
    if rules.item.enabled or rules.profession.enabled:  # the parts it spares are theirs
        mark_holdings(world, out)
    write_system_views(
        world, out.views, out.entity_slot, out.rows_shown, out.view_rows, out.worn, out.touched, rules
    )
    write_system_masks(
        world,
        out.action_mask,
        enc.head_offsets,
        enc.head_sizes,
        out.entity_slot,
        out.market,
        out.market_best,
        out.market_offered,
        out.touched,
        rules,
    )
