"""The event log: everything that happened during the current tick, as a fixed-capacity table.

Systems append rows with :func:`log_event` from inside numba kernels; the log is cleared at the
start of each tick. Consumers (rewards, stats, replays) read ``kind[:count]`` and friends.
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


class DeathCause(IntEnum):
    """Why an agent died (stored in ``AgentTable.death_cause`` and DEATH events)."""

    NONE = 0
    LAVA = 1
    STARVATION = 2
    DEHYDRATION = 3


class EventLog(NamedTuple):
    """Events of one tick. Row ``k < used[0]`` is one event."""

    used: np.ndarray  # int64 [1]  rows used this tick (an array so kernels can bump it)
    kind: np.ndarray  # uint8 [E]  EventKind
    slot: np.ndarray  # int32 [E]  agent slot, or -1
    agent_id: np.ndarray  # int64 [E]  global agent id, or -1
    r: np.ndarray  # int16 [E]  where it happened
    c: np.ndarray  # int16 [E]
    value: np.ndarray  # int32 [E]  detail, see EventKind
    dropped: np.ndarray  # int64 [1]  events lost to a full log since reset (should stay 0)

    @staticmethod
    def empty(capacity: int) -> EventLog:
        return EventLog(
            used=np.zeros(1, np.int64),
            kind=np.zeros(capacity, np.uint8),
            slot=np.full(capacity, -1, np.int32),
            agent_id=np.full(capacity, -1, np.int64),
            r=np.zeros(capacity, np.int16),
            c=np.zeros(capacity, np.int16),
            value=np.zeros(capacity, np.int32),
            dropped=np.zeros(1, np.int64),
        )

    @property
    def n(self) -> int:
        return int(self.used[0])

    def clear(self) -> None:
        self.used[0] = 0

    def of_kind(self, kind: EventKind) -> np.ndarray:
        """Row indices of this tick's events of one kind."""
        return np.flatnonzero(self.kind[: self.n] == kind)

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
    k = events.used[0]
    if k >= events.kind.shape[0]:
        events.dropped[0] += 1
        return
    events.kind[k] = kind
    events.slot[k] = slot
    events.agent_id[k] = agent_id
    events.r[k] = r
    events.c[k] = c
    events.value[k] = value
    events.used[0] = k + 1
