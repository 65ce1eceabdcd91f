"""AgentTable and NpcTable: fixed-capacity structs of arrays with explicit dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.world.systems.progression import Skill
from neural_mmo.world.tables import N_SKILLS, NEVER, AgentTable, Behaviour, NpcTable

DTYPES = {
    "alive": np.bool_,
    "agent_id": np.int64,
    "population": np.int16,
    "r": np.int16,
    "c": np.int16,
    "health": np.int16,
    "max_health": np.int16,
    "food": np.int16,
    "water": np.int16,
    "level": np.int16,
    "xp": np.int32,
    "style": np.uint8,
    "freeze_until": np.int64,
    "combat_tick": np.int64,
    "killer": np.int32,
    "spawn_tick": np.int64,
    "death_tick": np.int64,
    "death_cause": np.uint8,
}
NPC_DTYPES = {
    "alive": np.bool_,
    "npc_id": np.int64,
    "behaviour": np.uint8,
    "r": np.int16,
    "c": np.int16,
    "home_r": np.int16,
    "home_c": np.int16,
    "health": np.int16,
    "max_health": np.int16,
    "level": np.int16,
    "style": np.uint8,
    "freeze_until": np.int64,
    "combat_tick": np.int64,
    "target": np.int32,
    "target_id": np.int64,
    "killer": np.int32,
    "spawn_tick": np.int64,
    "death_tick": np.int64,
    "death_cause": np.uint8,
}
PER_SKILL = {"level", "xp"}
"""Columns with one entry per Skill: shape ``[capacity, N_SKILLS]``."""
MINUS_ONE = {"agent_id", "npc_id", "death_tick", "killer", "target", "target_id"}
"""Columns whose empty value is -1."""
NEVER_COLUMNS = {"freeze_until", "combat_tick"}
"""Tick columns whose empty value is NEVER."""


def _empty_value(name: str) -> int:
    return -1 if name in MINUS_ONE else NEVER if name in NEVER_COLUMNS else 0


def test_skill_columns_match_the_skills():
    assert N_SKILLS == len(Skill) == 7
    assert NEVER == -(2**40) and NEVER < 0
    assert [(b.name, b.value) for b in Behaviour] == [("PASSIVE", 1), ("NEUTRAL", 2), ("HOSTILE", 3)]


@pytest.mark.parametrize("table_type,dtypes", [(AgentTable, DTYPES), (NpcTable, NPC_DTYPES)])
def test_empty_table_columns(table_type, dtypes):
    table = table_type.empty(7)
    assert table.capacity == 7
    assert list(table._fields) == list(dtypes)
    for name, dtype in dtypes.items():
        column = getattr(table, name)
        assert column.dtype == dtype, name
        assert column.shape == ((7, N_SKILLS) if name in PER_SKILL else (7,)), name
        assert (column == _empty_value(name)).all(), name


def test_columns_shared_with_agents_have_the_same_dtypes_and_shapes():
    shared = set(DTYPES) & set(NPC_DTYPES)
    assert shared >= {"health", "max_health", "level", "style", "freeze_until", "combat_tick", "killer"}
    agents, npcs = AgentTable.empty(3), NpcTable.empty(3)
    for name in shared:
        assert getattr(agents, name).dtype == getattr(npcs, name).dtype, name
        assert getattr(agents, name).shape == getattr(npcs, name).shape, name


@pytest.mark.parametrize("table_type", [AgentTable, NpcTable])
def test_clear_frees_every_slot_in_place(table_type):
    table = table_type.empty(4)
    before = {name: column for name, column in table._asdict().items()}
    for name, column in table._asdict().items():
        column[...] = True if name == "alive" else 3
    table.clear()
    for name, column in table._asdict().items():
        assert column is before[name], name  # in place
        assert (column == _empty_value(name)).all(), name


def test_row_is_a_plain_snapshot():
    table = AgentTable.empty(3)
    table.alive[1] = True
    table.agent_id[1] = 42
    table.r[1], table.c[1] = 10, 11
    table.health[1] = 77
    table.level[1] = [1, 2, 3, 4, 5, 6, 7]
    table.xp[1, Skill.FISHING] = 830
    row = table.row(1)
    assert row["alive"] is True and row["agent_id"] == 42 and (row["r"], row["c"]) == (10, 11)
    assert row["health"] == 77 and isinstance(row["health"], int)
    assert row["level"] == [1, 2, 3, 4, 5, 6, 7] and all(isinstance(v, int) for v in row["level"])
    assert row["xp"] == [0, 0, 0, 0, 0, 0, 830]
    assert row["freeze_until"] == NEVER and row["killer"] == -1
    table.health[1] = 1
    table.level[1, 0] = 99
    assert row["health"] == 77 and row["level"][0] == 1
    assert set(row) == set(DTYPES)


def test_npc_row_is_a_plain_snapshot():
    table = NpcTable.empty(2)
    table.alive[0] = True
    table.npc_id[0] = 5
    table.behaviour[0] = Behaviour.HOSTILE
    table.level[0] = 12
    row = table.row(0)
    assert set(row) == set(NPC_DTYPES)
    assert row["alive"] is True and row["npc_id"] == 5 and row["behaviour"] == Behaviour.HOSTILE
    assert row["level"] == [12] * N_SKILLS and row["target"] == -1 and row["target_id"] == -1
    assert type(row["behaviour"]) is int
