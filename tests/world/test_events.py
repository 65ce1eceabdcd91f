"""The event log: fixed capacity, appended from numba, cleared per tick, overflow counted."""

from __future__ import annotations

import numpy as np

from neural_mmo.world.events import DeathCause, EventKind, EventLog, log_event


def test_log_append_rows_and_of_kind():
    log = EventLog.empty(4)
    assert log.n == 0 and log.rows() == []
    log_event(log, EventKind.MOVE, 3, 30, 10, 11, 2)
    log_event(log, EventKind.DEATH, 1, 17, 5, 6, DeathCause.LAVA)
    log_event(log, EventKind.MOVE, 0, 9, 7, 8, 4)
    assert log.n == 3 == log.used[0]
    assert log.rows()[1] == {
        "kind": "DEATH",
        "slot": 1,
        "agent_id": 17,
        "r": 5,
        "c": 6,
        "value": int(DeathCause.LAVA),
    }
    assert list(log.of_kind(EventKind.MOVE)) == [0, 2]
    assert list(log.of_kind(EventKind.EAT)) == []
    assert all(isinstance(v, int) for row in log.rows() for k, v in row.items() if k != "kind")


def test_full_log_counts_dropped_events_and_keeps_the_first():
    log = EventLog.empty(2)
    for k in range(5):
        log_event(log, EventKind.SPAWN, k, k, 0, 0, 0)
    assert log.n == 2
    assert log.dropped[0] == 3
    assert [row["slot"] for row in log.rows()] == [0, 1]


def test_clear_resets_count_but_not_dropped():
    log = EventLog.empty(1)
    log_event(log, EventKind.EAT, 0, 0, 0, 0, 5)
    log_event(log, EventKind.EAT, 0, 0, 0, 0, 5)
    log.clear()
    assert log.n == 0 and log.rows() == []
    assert log.dropped[0] == 1
    log_event(log, EventKind.DRINK, 2, 2, 1, 1, 7)
    assert log.rows() == [{"kind": "DRINK", "slot": 2, "agent_id": 2, "r": 1, "c": 1, "value": 7}]


def test_enum_values_are_stable():
    assert [(k.name, k.value) for k in EventKind] == [
        ("SPAWN", 1),
        ("MOVE", 2),
        ("EAT", 3),
        ("DRINK", 4),
        ("DEATH", 5),
    ]
    assert [(c.name, c.value) for c in DeathCause] == [
        ("NONE", 0),
        ("LAVA", 1),
        ("STARVATION", 2),
        ("DEHYDRATION", 3),
    ]
    log = EventLog.empty(3)
    assert log.kind.dtype == np.uint8 and log.agent_id.dtype == np.int64 and log.value.dtype == np.int32
