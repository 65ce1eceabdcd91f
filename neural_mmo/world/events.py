"""The event log: everything that happened during the current tick, as a fixed-capacity table.

Systems append rows with :func:`log_event` from inside numba kernels; the log is cleared at the
start of each tick. Consumers (rewards, stats, replays) read ``events.kind[:events.n]`` and
friends.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

from neural_mmo.world.kernel import kernel


class EventKind(IntEnum):
    """What happened. ``value`` holds the detail named in the comment."""

    SPAWN = 1  # value: population
    MOVE = 2  # value: Direction taken
    EAT = 3  # value: food restored
    DRINK = 4  # value: water restored
    DEATH = 5  # value: DeathCause; other: the killer (combat)
    ATTACK = 6  # slot attacked other; value: damage (0: missed); detail: Style
    KILL = 7  # slot killed other; value: other's level; detail: Style of the blow
    LEVEL_UP = 8  # value: new level; detail: Skill
    NPC_SPAWN = 9  # slot: the NPC's entity number; value: its Behaviour; detail: level
    HARVEST = 10  # value: item level; other_id: the item's id; detail: ItemType
    LOOT = 11  # slot: the killer; other: the victim; value: item rows taken; detail: rows that vanished
    EQUIP = 12  # value: the item's level; other_id: its id; detail: ItemType
    UNEQUIP = 13  # value: the item's level; other_id: its id; detail: ItemType
    CONSUME = 14  # value: food plus water (ration) or health (potion) restored; other_id, detail: as EQUIP
    GOLD = 15  # value: gold gained; other: where from (the NPC or agent killed); detail: GoldSource
    DROP = 16  # value: item level; other: the NPC that dropped it; other_id: the item's id; detail: ItemType
    DESTROY = 17  # value: the quantity destroyed; other_id: the item's id; detail: ItemType
    GIVE = 18  # slot gave an item to other; value: quantity; detail: ItemType (other_id: the receiver)
    LIST = 19  # value: asking price; other_id: the listed item's id; detail: ItemType
    BUY = 20  # slot bought from other; value: price paid; detail: ItemType (other_id: the seller)
    SELL = 21  # slot sold to other; value: price received; detail: ItemType (other_id: the buyer)
    EXPIRE = 22  # slot's listing expired and the item came back; value: its level; other_id: its id


EVENT_VALUES = {
    EventKind.SPAWN: "population of the new agent",
    EventKind.MOVE: "Direction taken (1 north, 2 south, 3 east, 4 west)",
    EventKind.EAT: "food gained",
    EventKind.DRINK: "water gained",
    EventKind.DEATH: "DeathCause (other: the killer, for combat)",
    EventKind.ATTACK: "damage dealt, 0 for a miss (other: the target; detail: Style)",
    EventKind.KILL: "level of the victim (other: the victim; detail: Style of the killing blow)",
    EventKind.LEVEL_UP: "the new level (detail: Skill)",
    EventKind.NPC_SPAWN: "Behaviour of the new NPC (detail: its level)",
    EventKind.HARVEST: "level of the item harvested (other_id: the item's id; detail: ItemType)",
    EventKind.LOOT: "item rows the killer took (other: the victim; detail: rows that vanished)",
    EventKind.EQUIP: "level of the item put on (other_id: its id; detail: ItemType)",
    EventKind.UNEQUIP: "level of the item taken off (other_id: its id; detail: ItemType)",
    EventKind.CONSUME: "food plus water (ration) or health (potion) restored (other_id, detail: as EQUIP)",
    EventKind.GOLD: "gold gained, negative when spent or given (other: who it came from or went to; "
    "detail: GoldSource)",
    EventKind.DROP: "level of the item an NPC dropped (other: the NPC; other_id, detail: as HARVEST)",
    EventKind.DESTROY: "quantity destroyed (other_id: the item's id; detail: ItemType)",
    EventKind.GIVE: "quantity given (other: the receiver; detail: ItemType)",
    EventKind.LIST: "asking price of the item listed (other_id: its id; detail: ItemType)",
    EventKind.BUY: "price paid (other: the seller; detail: ItemType)",
    EventKind.SELL: "price received (other: the buyer; detail: ItemType)",
    EventKind.EXPIRE: "level of the item whose listing expired, back with its seller (other_id: its id; "
    "detail: ItemType)",
}
"""What the ``value`` column means for each kind of event."""


class Bound(NamedTuple):
    """The most events of one kind a tick can log: ``per_agent`` per agent slot plus ``per_npc``
    per NPC slot, plus ``per_listing`` per listing the exchange can hold (``exchange.max_listings``
    per agent slot, with the exchange on)."""

    per_agent: int
    per_npc: int
    why: str
    per_listing: int = 0


EVENT_BOUNDS = {
    EventKind.SPAWN: Bound(1, 0, "an agent slot is filled at most once per tick"),
    EventKind.MOVE: Bound(1, 0, "one move per agent"),
    EventKind.EAT: Bound(1, 0, "one meal per agent"),
    EventKind.DRINK: Bound(1, 0, "one drink per agent"),
    EventKind.DEATH: Bound(1, 0, "an agent dies once"),
    EventKind.ATTACK: Bound(1, 1, "each agent and each NPC attacks at most once"),
    EventKind.KILL: Bound(1, 1, "at most one killing blow per attack"),
    EventKind.LEVEL_UP: Bound(
        7,
        1,
        "2 per attacking agent (style, constitution), 1 per attack on an agent (n + m: "
        "defence), 2 per foraging agent (hunting, fishing), 2 per harvesting agent",
    ),
    EventKind.NPC_SPAWN: Bound(0, 1, "an NPC slot is filled at most once per tick"),
    EventKind.HARVEST: Bound(2, 0, "the tile an agent stands on, and one next to it (fish)"),
    EventKind.LOOT: Bound(1, 0, "an agent dies once"),
    EventKind.EQUIP: Bound(1, 0, "one use action per agent"),
    EventKind.UNEQUIP: Bound(1, 0, "one use action per agent"),
    EventKind.CONSUME: Bound(1, 0, "one use action per agent"),
    EventKind.GOLD: Bound(
        5,
        1,
        "per killed NPC (its killer), per agent killed by an agent (loot), and per agent's trade actions: "
        "gold given and received (2), a purchase paid and received (2)",
    ),
    EventKind.DROP: Bound(0, 1, "per killed NPC"),
    EventKind.DESTROY: Bound(1, 0, "one destroy action per agent"),
    EventKind.GIVE: Bound(1, 0, "one give action per agent"),
    EventKind.LIST: Bound(1, 0, "one sell action per agent"),
    EventKind.BUY: Bound(1, 0, "one buy action per agent"),
    EventKind.SELL: Bound(1, 0, "one per purchase (one buy action per agent)"),
    EventKind.EXPIRE: Bound(0, 0, "a listing expires at most once", per_listing=1),
}
"""Per kind of event, how many one tick can log at most; the event log's capacity is their sum
(:func:`event_capacity`), so a system that logs a new kind declares its bound here."""


def event_capacity(n_agents: int, n_npcs: int, listings: int = 0) -> int:
    """Room for every event one tick can produce: the sum of :data:`EVENT_BOUNDS` (``listings``:
    the most listings the exchange can hold, 0 without one)."""
    return sum(
        b.per_agent * n_agents + b.per_npc * n_npcs + b.per_listing * listings for b in EVENT_BOUNDS.values()
    )


class GoldSource(IntEnum):
    """Where gold came from (the ``detail`` of GOLD events)."""

    NPC = 1  # killing an NPC (npc_gold x its level)
    LOOT = 2  # killing an agent that had gold
    GIFT = 3  # given by another agent (the giver's event is negative)
    SALE = 4  # an item sold on the exchange (the buyer's event is negative)


class DeathCause(IntEnum):
    """Why an agent died (stored in ``AgentTable.death_cause`` and DEATH events)."""

    NONE = 0
    LAVA = 1
    STARVATION = 2
    DEHYDRATION = 3
    COMBAT = 4
    FOG = 5


class EventColumn(IntEnum):
    """Columns of the event table."""

    KIND = 0  # EventKind
    SLOT = 1  # entity that acted: agent slot, or n_agents + NPC slot
    AGENT_ID = 2  # its global id (agent id or NPC id)
    R = 3  # where it happened
    C = 4
    VALUE = 5  # see EventKind
    OTHER = 6  # the other entity (target, victim, killer), -1 if none
    OTHER_ID = 7  # its global id, -1 if none
    DETAIL = 8  # Style or Skill, see EventKind


def is_npc(entity: int, n_agents: int) -> bool:
    """Whether an entity number (event ``slot``/``other``, occupant grid) is an NPC."""
    return entity >= n_agents


class EventLog(NamedTuple):
    """Events of one tick: row ``k < n`` of ``table`` is one event.

    One ``int64`` table rather than a column per field, so a kernel appending an event touches
    two arrays (numba reference-counts every array of a tuple it passes on). The column
    properties (``kind``, ``slot``, ...) are views of this tick's rows only.
    """

    table: np.ndarray  # int64 [E, len(EventColumn)]
    counts: np.ndarray  # int64 [2]  rows used this tick; events dropped since reset (stays 0)

    @staticmethod
    def empty(capacity: int) -> EventLog:
        return EventLog(table=np.zeros((capacity, len(EventColumn)), np.int64), counts=np.zeros(2, np.int64))

    @property
    def kind(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.KIND]

    @property
    def slot(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.SLOT]

    @property
    def agent_id(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.AGENT_ID]

    @property
    def r(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.R]

    @property
    def c(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.C]

    @property
    def value(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.VALUE]

    @property
    def other(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.OTHER]

    @property
    def other_id(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.OTHER_ID]

    @property
    def detail(self) -> np.ndarray:
        return self.table[: self.counts[0], EventColumn.DETAIL]

    @property
    def dropped(self) -> int:
        return int(self.counts[1])

    @property
    def n(self) -> int:
        return int(self.counts[0])

    def clear(self) -> None:
        self.counts[0] = 0

    def of_kind(self, kind: EventKind) -> np.ndarray:
        """Row indices of this tick's events of one kind."""
        return np.flatnonzero(self.kind == kind)

    def rows(self) -> list[dict[str, int | str]]:
        """This tick's events as dicts (debugging, tests, small tools; not for hot paths)."""
        return [
            {
                "kind": EventKind(int(self.kind[k])).name,
                "slot": int(self.slot[k]),
                "agent_id": int(self.agent_id[k]),
                "r": int(self.r[k]),
                "c": int(self.c[k]),
                "value": int(self.value[k]),
                "other": int(self.other[k]),
                "other_id": int(self.other_id[k]),
                "detail": int(self.detail[k]),
            }
            for k in range(self.n)
        ]


@kernel
def log_event(events: EventLog, kind: int, slot: int, agent_id: int, r: int, c: int, value: int) -> None:
    """Append one event about one entity (or count it as dropped when the log is full)."""
    log_pair(events, kind, slot, agent_id, r, c, value, -1, -1, 0)


@kernel
def log_pair(
    events: EventLog, kind: int, slot: int, agent_id: int, r: int, c: int, value: int,
    other: int, other_id: int, detail: int,
) -> None:  # fmt: skip
    """Append one event with every column (or count it as dropped when the log is full)."""
    k = events.counts[0]
    table = events.table
    if k >= table.shape[0]:
        events.counts[1] += 1
        return
    table[k, EventColumn.KIND] = kind
    table[k, EventColumn.SLOT] = slot
    table[k, EventColumn.AGENT_ID] = agent_id
    table[k, EventColumn.R] = r
    table[k, EventColumn.C] = c
    table[k, EventColumn.VALUE] = value
    table[k, EventColumn.OTHER] = other
    table[k, EventColumn.OTHER_ID] = other_id
    table[k, EventColumn.DETAIL] = detail
    events.counts[0] = k + 1
