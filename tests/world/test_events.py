"""The event log: fixed capacity, appended from numba, cleared per tick, overflow counted."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.world.events import (
    EVENT_VALUES,
    DeathCause,
    EventColumn,
    EventKind,
    EventLog,
    is_npc,
    log_event,
    log_pair,
)

COLUMNS = ("kind", "slot", "agent_id", "r", "c", "value", "other", "other_id", "detail")


def test_log_append_rows_and_of_kind():
    log = EventLog.empty(4)
    assert log.n == 0 and log.rows() == []
    log_event(log, EventKind.MOVE, 3, 30, 10, 11, 2)
    log_event(log, EventKind.DEATH, 1, 17, 5, 6, DeathCause.LAVA)
    log_event(log, EventKind.MOVE, 0, 9, 7, 8, 4)
    assert log.n == 3 == log.counts[0]
    assert log.rows()[1] == {
        "kind": "DEATH",
        "slot": 1,
        "agent_id": 17,
        "r": 5,
        "c": 6,
        "value": int(DeathCause.LAVA),
        "other": -1,
        "other_id": -1,
        "detail": 0,
    }
    assert list(log.of_kind(EventKind.MOVE)) == [0, 2]
    assert list(log.of_kind(EventKind.EAT)) == []
    assert all(isinstance(v, int) for row in log.rows() for k, v in row.items() if k != "kind")


def test_full_log_counts_dropped_events_and_keeps_the_first():
    log = EventLog.empty(2)
    for k in range(5):
        log_event(log, EventKind.SPAWN, k, k, 0, 0, 0)
    assert log.n == 2
    assert log.dropped == 3 == log.counts[1]
    assert isinstance(log.dropped, int)
    assert [row["slot"] for row in log.rows()] == [0, 1]


def test_clear_resets_count_but_not_dropped():
    log = EventLog.empty(1)
    log_event(log, EventKind.EAT, 0, 0, 0, 0, 5)
    log_event(log, EventKind.EAT, 0, 0, 0, 0, 5)
    log.clear()
    assert log.n == 0 and log.rows() == []
    assert log.dropped == 1
    log_event(log, EventKind.DRINK, 2, 2, 1, 1, 7)
    assert log.rows() == [
        {"kind": "DRINK", "slot": 2, "agent_id": 2, "r": 1, "c": 1, "value": 7, "other": -1, "other_id": -1,
         "detail": 0}
    ]  # fmt: skip


def test_log_pair_writes_every_column_and_log_event_leaves_no_other():
    log = EventLog.empty(3)
    log_pair(log, EventKind.ATTACK, 2, 20, 4, 5, 9, 7, 70, 3)
    log_pair(log, EventKind.KILL, 2, 20, 4, 5, 11, 7, 70, 3)
    log_event(log, EventKind.EAT, 1, 10, 6, 6, 15)
    assert log.table[0].tolist() == [EventKind.ATTACK, 2, 20, 4, 5, 9, 7, 70, 3]
    assert log.rows()[1] == {
        "kind": "KILL", "slot": 2, "agent_id": 20, "r": 4, "c": 5, "value": 11, "other": 7, "other_id": 70,
        "detail": 3,
    }  # fmt: skip
    assert (log.other.tolist(), log.other_id.tolist(), log.detail.tolist()) == (
        [7, 7, -1],
        [70, 70, -1],
        [3, 3, 0],
    )
    log_pair(log, EventKind.ATTACK, 0, 0, 0, 0, 0, 1, 1, 1)
    assert log.n == 3 and log.dropped == 1  # a full log drops pairs too


def test_is_npc_splits_entity_numbers_at_n_agents():
    assert [is_npc(e, 4) for e in (0, 3, 4, 9)] == [False, False, True, True]


def test_enum_values_are_stable():
    assert [(k.name, k.value) for k in EventKind] == [
        ("SPAWN", 1),
        ("MOVE", 2),
        ("EAT", 3),
        ("DRINK", 4),
        ("DEATH", 5),
        ("ATTACK", 6),
        ("KILL", 7),
        ("LEVEL_UP", 8),
        ("NPC_SPAWN", 9),
        ("HARVEST", 10),
        ("LOOT", 11),
        ("EQUIP", 12),
        ("UNEQUIP", 13),
        ("CONSUME", 14),
        ("GOLD", 15),
        ("DROP", 16),
        ("DESTROY", 17),
        ("GIVE", 18),
        ("LIST", 19),
        ("BUY", 20),
        ("SELL", 21),
        ("EXPIRE", 22),
    ]
    assert set(EVENT_VALUES) == set(EventKind)
    assert [(c.name, c.value) for c in DeathCause] == [
        ("NONE", 0),
        ("LAVA", 1),
        ("STARVATION", 2),
        ("DEHYDRATION", 3),
        ("COMBAT", 4),
        ("FOG", 5),
    ]
    assert [(c.name, c.value) for c in EventColumn] == [
        ("KIND", 0),
        ("SLOT", 1),
        ("AGENT_ID", 2),
        ("R", 3),
        ("C", 4),
        ("VALUE", 5),
        ("OTHER", 6),
        ("OTHER_ID", 7),
        ("DETAIL", 8),
    ]
    log = EventLog.empty(3)
    assert log.table.dtype == np.int64 and log.table.shape == (3, len(EventColumn))
    assert log.counts.dtype == np.int64 and log.counts.shape == (2,)
    assert all(getattr(log, name).shape == (0,) for name in COLUMNS)
    log_event(log, EventKind.EAT, 1, 7, 3, 4, 60)
    log_event(log, EventKind.DRINK, 2, 8, 5, 6, 40)
    for name in COLUMNS:
        column = getattr(log, name)
        assert column.dtype == np.int64 and column.shape == (2,), name  # this tick's rows only
        assert np.shares_memory(column, log.table), name
    log.clear()
    assert log.kind.shape == (0,) and log.table[0, EventColumn.KIND] == EventKind.EAT  # old rows hidden


def test_columns_are_read_only_views_of_the_table():
    log = EventLog.empty(2)
    log_event(log, EventKind.EAT, 1, 7, 3, 4, 60)
    assert log.table[0].tolist() == [EventKind.EAT, 1, 7, 3, 4, 60, -1, -1, 0]
    assert (log.kind[0], log.slot[0], log.agent_id[0], log.r[0], log.c[0], log.value[0]) == (
        EventKind.EAT, 1, 7, 3, 4, 60,
    )  # fmt: skip
    log.table[0, EventColumn.VALUE] = 61
    assert log.value[0] == 61
    for name in (*COLUMNS, "dropped", "n"):
        with pytest.raises(AttributeError):
            setattr(log, name, None)
