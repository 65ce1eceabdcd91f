"""The event log: everything that happened during the current tick, as a fixed-capacity table.

Systems append rows with :func:`log_event` from inside numba kernels; the log is cleared at the
start of each tick. Consumers (rewards, stats, replays) read ``events.kind[:events.n]`` and
friends.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numba
import numpy as np


class EventKind(IntEnum):
    """What happened. ``value`` holds the detail named in the comment."""

    SPAWN = 1  # value: population
    MOVE = 2  # value: Direction taken
    EAT = 3  # value: food restored
    DRINK = 4  # value: water restored
    DEATH = 5  # value: DeathCause


EVENT_VALUES = {
    EventKind.SPAWN: "population of the new agent",
    EventKind.MOVE: "Direction taken (1 north, 2 south, 3 east, 4 west)",
    EventKind.EAT: "food gained",
    EventKind.DRINK: "water gained",
    EventKind.DEATH: "DeathCause",
}
"""What the ``value`` column means for each kind of event."""


class DeathCause(IntEnum):
    """Why an agent died (stored in ``AgentTable.death_cause`` and DEATH events)."""

    NONE = 0
    LAVA = 1
    STARVATION = 2
    DEHYDRATION = 3


class EventColumn(IntEnum):
    """Columns of the event table."""

    KIND = 0  # EventKind
    SLOT = 1  # agent slot, or -1
    AGENT_ID = 2  # global agent id, or -1
    R = 3  # where it happened
    C = 4
    VALUE = 5  # detail, see EventKind


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
            }
            for k in range(self.n)
        ]


@numba.njit(cache=True)
def log_event(events: EventLog, kind: int, slot: int, agent_id: int, r: int, c: int, value: int) -> None:
    """Append one event (or count it as dropped when the log is full)."""
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
    events.counts[0] = k + 1
