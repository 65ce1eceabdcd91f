"""AgentTable: fixed-capacity struct of arrays with explicit dtypes."""

from __future__ import annotations

import numpy as np

from neural_mmo.world.tables import AgentTable

DTYPES = {
    "alive": np.bool_,
    "agent_id": np.int64,
    "population": np.int16,
    "r": np.int16,
    "c": np.int16,
    "health": np.int16,
    "food": np.int16,
    "water": np.int16,
    "spawn_tick": np.int64,
    "death_tick": np.int64,
    "death_cause": np.uint8,
}


def test_empty_table_columns():
    table = AgentTable.empty(7)
    assert table.capacity == 7
    assert set(table._fields) == set(DTYPES)
    for name, dtype in DTYPES.items():
        column = getattr(table, name)
        assert column.dtype == dtype, name
        assert column.shape == (7,)
    assert not table.alive.any()
    assert (table.agent_id == -1).all() and (table.death_tick == -1).all()
    assert (table.health == 0).all()


def test_clear_frees_every_slot_in_place():
    table = AgentTable.empty(4)
    health = table.health
    table.alive[:] = True
    table.agent_id[:] = [5, 6, 7, 8]
    table.health[:] = 9
    table.death_tick[:] = 3
    table.death_cause[:] = 2
    table.clear()
    assert table.health is health
    assert not table.alive.any()
    assert (table.agent_id == -1).all() and (table.death_tick == -1).all()
    assert (table.health == 0).all() and (table.death_cause == 0).all()


def test_row_is_a_plain_snapshot():
    table = AgentTable.empty(3)
    table.alive[1] = True
    table.agent_id[1] = 42
    table.r[1], table.c[1] = 10, 11
    table.health[1] = 77
    row = table.row(1)
    assert row["alive"] is True and row["agent_id"] == 42 and (row["r"], row["c"]) == (10, 11)
    assert row["health"] == 77 and isinstance(row["health"], int)
    table.health[1] = 1
    assert row["health"] == 77
    assert set(row) == set(DTYPES)
