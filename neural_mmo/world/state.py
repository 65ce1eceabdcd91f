"""WorldState: every array of one world, allocated once when the world is built.

Grids are indexed ``[r, c]`` over the whole stored map (playable area plus its lava border).
``occupant[r, c]`` is the slot of the agent standing there, or -1, so "who is near" is a slice of
a grid, never a scan of a table.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from neural_mmo.config import Config
from neural_mmo.world.events import EventLog, event_capacity
from neural_mmo.world.geometry import nearest_first
from neural_mmo.world.items import N_ITEM_TYPES, Holdings, ItemTable
from neural_mmo.world.rng import Stream
from neural_mmo.world.rules import Rules, make_rules
from neural_mmo.world.tables import N_PROFESSIONS, AgentTable, NpcTable, Table


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

    @staticmethod
    def empty(side: int) -> RegrowthQueue:
        return RegrowthQueue(
            head=np.full(REGROW_RING, -1, np.int32),
            next_tile=np.full(side * side, -1, np.int32),
            due=np.full(side * side, -1, np.int64),
        )


class Role(IntEnum):
    """What a part of the world is, which decides what reset, the state hash and saves do with it."""

    STATE = 0  # the world itself: reset to its fill value, hashed, saved
    TICK = 1  # this tick's record (the event log): cleared at reset, saved, not hashed
    WORK = 2  # work space a kernel overwrites before reading: never reset, hashed or saved
    CONST = 3  # derived from the config once (lookup tables): never changes


class Part(NamedTuple):
    """The declaration of one part of a world: allocated from the config, reset to ``fill``."""

    role: Role
    allocate: Callable[[Config], Any]
    fill: Any = 0


def _part(role: Role, allocate: Callable[[Config], Any], fill: Any = 0) -> Any:
    return field(metadata={"part": Part(role, allocate, fill)})


def _holdings(cfg: Config) -> Holdings:
    if not cfg.item.enabled:
        return Holdings.empty(cfg.spawn.n_agents, 0, 0)
    return Holdings.empty(cfg.spawn.n_agents, cfg.item.inventory_slots)


class Professions(NamedTuple):
    """Each agent's gathering professions (:class:`~neural_mmo.world.tables.Profession` columns),
    on the experience table of every skill; ``[N, 0]`` while ``profession.enabled`` is off."""

    level: np.ndarray  # int16 [N, N_PROFESSIONS]  1 .. progression.max_level while alive
    xp: np.ndarray  # int32 [N, N_PROFESSIONS]

    @staticmethod
    def empty(n_agents: int, enabled: bool) -> Professions:
        width = N_PROFESSIONS if enabled else 0
        return Professions(np.zeros((n_agents, width), np.int16), np.zeros((n_agents, width), np.int32))


def _listings(cfg: Config) -> int:
    """The most listings the exchange can hold at once (0 without an exchange)."""
    return cfg.spawn.n_agents * cfg.exchange.max_listings * cfg.exchange.enabled


class Market(NamedTuple):
    """The exchange's own state (``exchange.enabled``; empty otherwise). The listings themselves are
    rows of the item table (``Place.LISTED``); a market row is an item type and level:
    ``(type - 1) * item.max_level + level - 1`` (:mod:`neural_mmo.world.systems.exchange`)."""

    last_price: np.ndarray  # int32 [(N_ITEM_TYPES - 1) * item.max_level]  price of the last sale; 0: none yet
    listed: np.ndarray  # int32 [N]  listings each agent has on the market

    @staticmethod
    def empty(cfg: Config) -> Market:
        on = cfg.exchange.enabled
        rows = (N_ITEM_TYPES - 1) * cfg.item.max_level * on
        return Market(np.zeros(rows, np.int32), np.zeros(cfg.spawn.n_agents * on, np.int32))


class ExchangeWork(NamedTuple):
    """Work arrays of the exchange (the listed rows, and grouped by market row for the buys); empty
    without an exchange."""

    order: np.ndarray  # int32 [item.capacity]
    start: np.ndarray  # int32 [market rows + 1]
    fill: np.ndarray  # int32 [market rows]
    listed: np.ndarray  # int32 [2 x item.capacity]  the tick's listed rows, then those its sells list

    @staticmethod
    def empty(cfg: Config) -> ExchangeWork:
        on = cfg.exchange.enabled
        rows = (N_ITEM_TYPES - 1) * cfg.item.max_level * on
        return ExchangeWork(
            np.zeros(cfg.item.capacity * on, np.int32),
            np.zeros(rows + on, np.int32),
            np.zeros(rows, np.int32),
            np.zeros(2 * cfg.item.capacity * on, np.int32),
        )


def _grid(dtype: type) -> Callable[[Config], np.ndarray]:
    return lambda cfg: np.zeros((cfg.grid_side, cfg.grid_side), dtype)


@dataclass
class WorldState:
    """All mutable state of one world. Systems read and write it in place.

    Every array is declared once below, with its role (:class:`Role`) and how the config sizes it;
    allocation, reset, :meth:`state_hash`, saves and :attr:`world` (the record kernels take) are
    all derived from these declarations. A new table or grid is one line here.

    ``occupant`` holds *entity numbers*: agent slots ``0 .. n_agents-1``, then NPC slot ``j`` as
    ``n_agents + j``, so one grid answers "who stands here" for every kind of entity. Events use
    the same numbering.
    """

    config: Config
    rules: Rules  # the rule numbers of config, as kernels read them
    # int64 [len(Clock)]  tick and next agent and NPC ids
    clock: np.ndarray = _part(Role.STATE, lambda cfg: np.zeros(len(Clock), np.int64))
    # uint64 [len(Stream), 4]  one random stream per system
    streams: np.ndarray = _part(Role.STATE, lambda cfg: np.zeros((len(Stream), 4), np.uint64))
    # uint8 [G, G]  Material of each tile
    material: np.ndarray = _part(Role.STATE, _grid(np.uint8))
    # int32 [G, G]  entity standing on the tile, -1 if none
    occupant: np.ndarray = _part(Role.STATE, _grid(np.int32), -1)
    agents: AgentTable = _part(Role.STATE, lambda cfg: AgentTable.empty(cfg.spawn.n_agents))
    npcs: NpcTable = _part(Role.STATE, lambda cfg: NpcTable.empty(cfg.npc.n_npcs))
    # the items (item.capacity rows; none while items are off: see neural_mmo.world.items)
    items: ItemTable = _part(Role.STATE, lambda cfg: ItemTable.empty(cfg.item.capacity * cfg.item.enabled))
    # int32 [N, item.inventory_slots] and [N, len(EquipSlot)]  item rows of each agent's inventory
    # and equipment, -1 where empty ([N, 0] each while items are off)
    holdings: Holdings = _part(Role.STATE, _holdings, -1)
    # int64 [1]  id the next new item gets ([0] while items are off)
    item_ids: np.ndarray = _part(Role.STATE, lambda cfg: np.zeros(int(cfg.item.enabled), np.int64))
    # int64 [N]  each agent's gold ([0] while items are off)
    gold: np.ndarray = _part(
        Role.STATE, lambda cfg: np.zeros(cfg.spawn.n_agents * cfg.item.enabled, np.int64)
    )
    # levels and XP of the gathering professions ([N, 0] each while professions are off)
    professions: Professions = _part(
        Role.STATE, lambda cfg: Professions.empty(cfg.spawn.n_agents, cfg.profession.enabled)
    )
    # the exchange's last prices and each agent's number of listings (empty while it is off)
    market: Market = _part(Role.STATE, Market.empty)
    # timer wheel of depleted tiles
    regrowth: RegrowthQueue = _part(Role.STATE, lambda cfg: RegrowthQueue.empty(cfg.grid_side), -1)
    events: EventLog = _part(
        Role.TICK,
        lambda cfg: EventLog.empty(event_capacity(cfg.spawn.n_agents, cfg.npc.n_npcs, _listings(cfg))),
    )
    # int64 [1]  rings of the playable area, counted from its edge, where nothing may spawn this
    # tick (0: none; reopened as each tick begins, raised by systems that close the edges)
    closed_rings: np.ndarray = _part(Role.TICK, lambda cfg: np.zeros(1, np.int64))
    # int16 [P, 2]  (r, c) of the playable area's outer ring, clockwise
    edge_tiles: np.ndarray = _part(Role.CONST, lambda cfg: ring_tiles(cfg.map.border, cfg.map.size))
    # int16 [(2V+1)^2, 2]  the NPC vision square, nearest first
    npc_offsets: np.ndarray = _part(Role.CONST, lambda cfg: nearest_first(cfg.npc.sight))
    # int32 [2, N]  per-tick work arrays (move and attack order; damage dealt)
    scratch: np.ndarray = _part(Role.WORK, lambda cfg: np.zeros((2, cfg.spawn.n_agents), np.int32))
    # the buys' grouping of listings (see neural_mmo.world.systems.exchange)
    exchange_work: ExchangeWork = _part(Role.WORK, ExchangeWork.empty)
    # int32 [2, (2V+1)^2]  path search work arrays (marks, queue)
    npc_search: np.ndarray = _part(
        Role.WORK, lambda cfg: np.zeros((2, (2 * cfg.npc.sight + 1) ** 2), np.int32)
    )
    world: Any = field(init=False, repr=False)
    """Every declared part as one :data:`World` record, the argument kernels take."""

    def __post_init__(self) -> None:
        self.world = World(**{name: getattr(self, name) for name in PARTS})

    @staticmethod
    def allocate(config: Config) -> WorldState:
        """Allocate every part for ``config``; the world is empty until reset."""
        parts = {name: part.allocate(config) for name, part in PARTS.items()}
        state = WorldState(config=config, rules=make_rules(config), **parts)
        state.clear()
        return state

    def clear(self) -> None:
        """Every STATE and TICK part back to its declared fill value (in place)."""
        for name, part in PARTS.items():
            if part.role in (Role.STATE, Role.TICK):
                value = getattr(self, name)
                if isinstance(value, Table):
                    value.clear()
                else:
                    for array in arrays_of(value):
                        array.fill(part.fill)

    def arrays(self, *roles: Role) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, array)`` of every array of the parts with these roles, in declaration order
        (tables and records expanded as ``name.column``)."""
        for name, part in PARTS.items():
            if part.role in roles:
                value = getattr(self, name)
                if isinstance(value, tuple):
                    for column, array in value._asdict().items():  # type: ignore[attr-defined]
                        yield f"{name}.{column}", array
                else:
                    yield name, value

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
        """SHA-256 over every STATE array (grids, tables, counters, streams): equal hashes, equal worlds."""
        h = hashlib.sha256()
        for _name, array in self.arrays(Role.STATE):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save this world to ``path``, atomically (``neural_mmo.world.snapshot``)."""
        from neural_mmo.world.snapshot import save_world

        save_world(self, path)

    def restore(self, path: str | os.PathLike[str]) -> None:
        """Overwrite this world (same config) with a saved one; on a bad file ``SaveError`` is
        raised and nothing changes."""
        from neural_mmo.world.snapshot import restore_world

        restore_world(self, path)

    @staticmethod
    def from_save(path: str | os.PathLike[str]) -> WorldState:
        """A new world of the saved config, holding the world saved in ``path``."""
        from neural_mmo.world.snapshot import load_world

        return load_world(path)


def arrays_of(value: Any) -> tuple[np.ndarray, ...]:
    """The arrays of a part: itself, or the fields of a record."""
    return tuple(value) if isinstance(value, tuple) else (value,)


PARTS: dict[str, Part] = {f.name: f.metadata["part"] for f in fields(WorldState) if "part" in f.metadata}
"""Name -> declaration of every part of a world, in declaration order."""

if TYPE_CHECKING:
    World = Any  # generated from the declarations at import time: to a type checker, any record
else:
    World = NamedTuple("World", [(name, Any) for name in PARTS])
"""The record numba kernels take: one field per part of :class:`WorldState`, same names
(``world.agents.health[i]``, ``world.material[r, c]``); generated from the declarations."""


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
