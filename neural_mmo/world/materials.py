"""Tile materials and the one table of their properties.

Every rule that depends on what a tile is made of reads a column of ``MATERIAL_TABLE``
(through the arrays below), never a chain of ``if material == ...``.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Material(IntEnum):
    """What a tile is made of. Values are the bytes stored in the ``material`` grid."""

    LAVA = 0
    WATER = 1
    GRASS = 2
    SCRUB = 3
    FOREST = 4
    STONE = 5


N_MATERIALS = len(Material)

# name       passable  deadly  food  drinkable  depletes_to  regrows_to
_ROWS = {
    Material.LAVA: (True, True, False, False, Material.LAVA, Material.LAVA),
    Material.WATER: (False, False, False, True, Material.WATER, Material.WATER),
    Material.GRASS: (True, False, False, False, Material.GRASS, Material.GRASS),
    Material.SCRUB: (True, False, False, False, Material.SCRUB, Material.FOREST),
    Material.FOREST: (True, False, True, False, Material.SCRUB, Material.FOREST),
    Material.STONE: (False, False, False, False, Material.STONE, Material.STONE),
}

MATERIAL_TABLE: dict[Material, dict[str, object]] = {
    m: dict(zip(("passable", "deadly", "food", "drinkable", "depletes_to", "regrows_to"), row))
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
SPAWNABLE = PASSABLE & ~DEADLY
SPAWNABLE.flags.writeable = False
"""``SPAWNABLE[m]``: an agent may be placed on material ``m``."""
