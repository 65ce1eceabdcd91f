"""Tile materials and the one table of their properties.

Every rule that depends on what a tile is made of reads a column of ``MATERIAL_TABLE``
(through the arrays below), never a chain of ``if material == ...``.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from neural_mmo.world.items import ItemType
from neural_mmo.world.tables import N_SKILLS, Profession, Skill


class Material(IntEnum):
    """What a tile is made of. Values are the bytes stored in the ``material`` grid."""

    LAVA = 0
    WATER = 1
    GRASS = 2
    SCRUB = 3
    FOREST = 4
    STONE = 5
    # resource tiles: placed only with profession.enabled (neural_mmo.world.systems.harvest)
    ORE = 6
    SLAG = 7  # harvested ore
    TREE = 8
    STUMP = 9  # harvested tree
    CRYSTAL = 10
    RUBBLE = 11  # harvested crystal
    HERB = 12
    WEEDS = 13  # harvested herbs
    FISH = 14  # water with fish: drinkable, fished from next to it
    FISHED = 15  # water without fish


N_MATERIALS = len(Material)
BASE_MATERIALS = int(Material.ORE)
"""Materials ``0 .. BASE_MATERIALS - 1`` exist in every world; the rest only with professions."""


def materials_in_play(profession_enabled: bool) -> int:
    """How many materials a world may hold (values ``0 .. n - 1``): resource tiles only with
    ``profession.enabled`` (maps given by hand are checked against it, and the tile observation's
    bound follows it)."""
    return N_MATERIALS if profession_enabled else BASE_MATERIALS


_HUNT, _FISH = int(Skill.HUNTING), int(Skill.FISHING)
_PROSPECT, _CARVE, _ALCHEMY, _HERB = (N_SKILLS + p for p in Profession)
_NO = (ItemType.NONE, -1, ItemType.NONE)

# name       passable deadly food   drinkable depletes_to      regrows_to     yields, gathered by, tool
_ROWS = {
    Material.LAVA: (True, True, False, False, Material.LAVA, Material.LAVA, *_NO),
    Material.WATER: (False, False, False, True, Material.WATER, Material.WATER, *_NO),
    Material.GRASS: (True, False, False, False, Material.GRASS, Material.GRASS, *_NO),
    Material.SCRUB: (True, False, False, False, Material.SCRUB, Material.FOREST, *_NO),
    Material.FOREST: (True, False, True, False, Material.SCRUB, Material.FOREST, *_NO),
    Material.STONE: (False, False, False, False, Material.STONE, Material.STONE, *_NO),
    Material.ORE: (True, False, False, False, Material.SLAG, Material.ORE,
                   ItemType.WHETSTONE, _PROSPECT, ItemType.PICKAXE),
    Material.SLAG: (True, False, False, False, Material.SLAG, Material.ORE, *_NO),
    Material.TREE: (True, False, False, False, Material.STUMP, Material.TREE,
                    ItemType.ARROW, _CARVE, ItemType.AXE),
    Material.STUMP: (True, False, False, False, Material.STUMP, Material.TREE, *_NO),
    Material.CRYSTAL: (True, False, False, False, Material.RUBBLE, Material.CRYSTAL,
                       ItemType.RUNES, _ALCHEMY, ItemType.CHISEL),
    Material.RUBBLE: (True, False, False, False, Material.RUBBLE, Material.CRYSTAL, *_NO),
    Material.HERB: (True, False, False, False, Material.WEEDS, Material.HERB,
                    ItemType.POTION, _HERB, ItemType.GLOVES),
    Material.WEEDS: (True, False, False, False, Material.WEEDS, Material.HERB, *_NO),
    Material.FISH: (False, False, False, True, Material.FISHED, Material.FISH,
                    ItemType.RATION, _FISH, ItemType.ROD),
    Material.FISHED: (False, False, False, True, Material.FISHED, Material.FISH, *_NO),
}  # fmt: skip
del _HUNT

MATERIAL_TABLE: dict[Material, dict[str, object]] = {
    m: dict(
        zip(
            (
                "passable",
                "deadly",
                "food",
                "drinkable",
                "depletes_to",
                "regrows_to",
                "yields",
                "gathered_by",
                "tool",
            ),
            row,
        )
    )  # fmt: skip
    for m, row in _ROWS.items()
}
"""Per-material properties, keyed by material then column name (used for docs and tests)."""


def _column(name: str, dtype: type) -> np.ndarray:
    column: np.ndarray = np.array([MATERIAL_TABLE[m][name] for m in Material], dtype=dtype)
    column.flags.writeable = False
    return column


PASSABLE = _column("passable", np.bool_)
"""``PASSABLE[m]``: an entity may stand on material ``m`` (lava is passable, and kills)."""
DEADLY = _column("deadly", np.bool_)
"""``DEADLY[m]``: stepping onto material ``m`` kills."""
FOOD = _column("food", np.bool_)
"""``FOOD[m]``: standing on material ``m`` eats (then the tile depletes)."""
DRINKABLE = _column("drinkable", np.bool_)
"""``DRINKABLE[m]``: standing next to material ``m`` drinks (never depletes)."""
DEPLETES_TO = _column("depletes_to", np.uint8)
"""``DEPLETES_TO[m]``: what material ``m`` becomes once harvested."""
REGROWS_TO = _column("regrows_to", np.uint8)
"""``REGROWS_TO[m]``: what material ``m`` becomes when it regrows."""
YIELDS = _column("yields", np.uint8)
"""``YIELDS[m]``: the ItemType harvesting material ``m`` gives (0: not a resource)."""
GATHERED_BY = _column("gathered_by", np.int8)
"""``GATHERED_BY[m]``: the skill code that harvests ``m`` (a Skill, or N_SKILLS + Profession)."""
TOOL = _column("tool", np.uint8)
"""``TOOL[m]``: the ItemType of the tool that raises the level of what ``m`` yields."""
SPAWNABLE = PASSABLE & ~DEADLY
SPAWNABLE.flags.writeable = False
"""``SPAWNABLE[m]``: an agent may be placed on material ``m``."""
