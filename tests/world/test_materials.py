"""The material table: one row per material, columns consistent with the rules."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.world import materials as m
from neural_mmo.world.materials import MATERIAL_TABLE, Material


def test_every_material_has_a_row_and_values_are_bytes():
    assert set(MATERIAL_TABLE) == set(Material)
    assert m.N_MATERIALS == len(Material) == 6
    assert [int(x) for x in Material] == list(range(m.N_MATERIALS))


@pytest.mark.parametrize(
    "column",
    [
        "PASSABLE",
        "DEADLY",
        "FOOD",
        "DRINKABLE",
        "DEPLETES_TO",
        "REGROWS_TO",
        "SPAWNABLE",
    ],
)
def test_columns_are_read_only_arrays_indexed_by_material(column):
    array = getattr(m, column)
    assert array.shape == (m.N_MATERIALS,)
    assert not array.flags.writeable
    with pytest.raises(ValueError):
        array[0] = array[0]


def test_columns_follow_the_table():
    for mat, row in MATERIAL_TABLE.items():
        assert m.PASSABLE[mat] == row["passable"]
        assert m.DEADLY[mat] == row["deadly"]
        assert m.FOOD[mat] == row["food"]
        assert m.DRINKABLE[mat] == row["drinkable"]
        assert m.DEPLETES_TO[mat] == row["depletes_to"]
        assert m.REGROWS_TO[mat] == row["regrows_to"]


def test_rules_of_each_material():
    assert list(np.flatnonzero(m.PASSABLE)) == [
        Material.LAVA,
        Material.GRASS,
        Material.SCRUB,
        Material.FOREST,
    ]
    assert list(np.flatnonzero(m.DEADLY)) == [Material.LAVA]
    assert list(np.flatnonzero(m.FOOD)) == [Material.FOREST]
    assert list(np.flatnonzero(m.DRINKABLE)) == [Material.WATER]
    assert list(np.flatnonzero(m.SPAWNABLE)) == [Material.GRASS, Material.SCRUB, Material.FOREST]
    assert m.DEPLETES_TO[Material.FOREST] == Material.SCRUB
    assert m.REGROWS_TO[Material.SCRUB] == Material.FOREST


def test_only_food_depletes_and_regrowth_undoes_depletion():
    for mat in Material:
        depleted = m.DEPLETES_TO[mat]
        assert (depleted != mat) == bool(m.FOOD[mat])
        if depleted != mat:
            assert m.REGROWS_TO[depleted] == mat
        if m.REGROWS_TO[mat] != mat:
            assert m.FOOD[m.REGROWS_TO[mat]]
    assert not (m.SPAWNABLE & ~m.PASSABLE).any()
    assert not (m.SPAWNABLE & m.DEADLY).any()
