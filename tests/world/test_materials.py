"""The material table: one row per material, columns consistent with the rules."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.world import materials as m
from neural_mmo.world.items import ItemType
from neural_mmo.world.materials import MATERIAL_TABLE, Material
from neural_mmo.world.tables import N_SKILLS, Profession, Skill


def test_every_material_has_a_row_and_values_are_bytes():
    assert set(MATERIAL_TABLE) == set(Material)
    assert m.N_MATERIALS == len(Material) == 16
    assert m.BASE_MATERIALS == 6  # the rest exist only with profession.enabled
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
        "YIELDS",
        "GATHERED_BY",
        "TOOL",
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
    base = slice(0, m.BASE_MATERIALS)
    assert list(np.flatnonzero(m.PASSABLE[base])) == [
        Material.LAVA,
        Material.GRASS,
        Material.SCRUB,
        Material.FOREST,
    ]
    assert list(np.flatnonzero(m.DEADLY)) == [Material.LAVA]
    assert list(np.flatnonzero(m.FOOD)) == [Material.FOREST]
    assert list(np.flatnonzero(m.DRINKABLE)) == [Material.WATER, Material.FISH, Material.FISHED]
    assert list(np.flatnonzero(m.SPAWNABLE[base])) == [Material.GRASS, Material.SCRUB, Material.FOREST]
    assert m.DEPLETES_TO[Material.FOREST] == Material.SCRUB
    assert m.REGROWS_TO[Material.SCRUB] == Material.FOREST
    # resources: walkable except fish (in water); each yields its item, gathered by its skill
    resources = {Material.ORE: (ItemType.WHETSTONE, N_SKILLS + Profession.PROSPECTING, ItemType.PICKAXE),
                 Material.TREE: (ItemType.ARROW, N_SKILLS + Profession.CARVING, ItemType.AXE),
                 Material.CRYSTAL: (ItemType.RUNES, N_SKILLS + Profession.ALCHEMY, ItemType.CHISEL),
                 Material.HERB: (ItemType.POTION, N_SKILLS + Profession.HERBALISM, ItemType.GLOVES),
                 Material.FISH: (ItemType.RATION, Skill.FISHING, ItemType.ROD)}  # fmt: skip
    assert [Material(x) for x in np.flatnonzero(m.YIELDS)] == list(resources)
    for mat, (item, skill, tool) in resources.items():
        assert (m.YIELDS[mat], m.GATHERED_BY[mat], m.TOOL[mat]) == (item, skill, tool)
        assert m.PASSABLE[mat] == (mat != Material.FISH)
    assert not m.PASSABLE[Material.FISHED] and m.PASSABLE[m.DEPLETES_TO[Material.ORE]]


def test_only_food_and_resources_deplete_and_regrowth_undoes_depletion():
    for mat in Material:
        depleted = m.DEPLETES_TO[mat]
        assert (depleted != mat) == bool(m.FOOD[mat] or m.YIELDS[mat])
        if depleted != mat:
            assert m.REGROWS_TO[depleted] == mat
            assert m.PASSABLE[depleted] == m.PASSABLE[mat] and m.DRINKABLE[depleted] == m.DRINKABLE[mat]
        if m.REGROWS_TO[mat] != mat:
            assert m.FOOD[m.REGROWS_TO[mat]] or m.YIELDS[m.REGROWS_TO[mat]]
    assert not (m.SPAWNABLE & ~m.PASSABLE).any()
    assert not (m.SPAWNABLE & m.DEADLY).any()
