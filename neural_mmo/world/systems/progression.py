"""Progression: seven skills, each with experience (XP) and a level from 1 to ``max_level``.

Levels follow the RuneScape experience table, computed from its public formula: the XP needed
for level L is ``floor(sum over l = 1 .. L-1 of floor(l + 300 * 2 ** (l / 7)) / 4)`` (level 2 at
83 XP, level 50 at 101,333, level 99 at 13,034,431). Every agent starts each skill at level 1
with 0 XP. Gains, each ``round(xp_scale * rate * amount)`` (halves round to even, as Python's
``round``):

| skill        | gains XP from                               | its level does                         |
|--------------|---------------------------------------------|----------------------------------------|
| melee        | damage dealt with melee (``xp_per_damage``) | accuracy and damage of melee attacks   |
| range        | damage dealt with range                     | accuracy and damage of range attacks   |
| mage         | damage dealt with mage                      | accuracy and damage of mage attacks    |
| defence      | damage taken (``defence_xp_per_damage``)    | dodges attacks, absorbs damage         |
| constitution | damage dealt (``constitution_xp_per_damage``)| max health +``health_per_level`` each  |
| hunting      | each meal that restored food (``forage_xp``)| +``restore_per_level`` food per meal   |
| fishing      | each drink that restored water              | +``restore_per_level`` water per drink |

A gain that crosses one or more level boundaries logs a LEVEL_UP event with the new level.
A constitution level-up raises max health; current health follows on regeneration.
"""

from __future__ import annotations

import math

import numpy as np

from neural_mmo.world.events import EventKind, EventLog, log_pair
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.tables import Skill

__all__ = [
    "MAX_LEVEL", "XP_FOR_LEVEL", "Skill", "add_xp", "gain_xp", "level_for_xp", "max_health_at", "xp_table",
]  # fmt: skip

MAX_LEVEL = 99


def xp_table(max_level: int = MAX_LEVEL) -> np.ndarray:
    """``int64 [max_level]``: entry ``L - 1`` is the XP needed for level ``L`` (entry 0 is 0)."""
    table = np.zeros(max_level, np.int64)
    points = 0
    for level in range(1, max_level):
        points += math.floor(level + 300 * 2 ** (level / 7))
        table[level] = points // 4
    return table


XP_FOR_LEVEL = xp_table()
"""The experience table: ``XP_FOR_LEVEL[L - 1]`` XP reach level ``L``."""


@kernel
def level_for_xp(xp: int, max_level: int) -> int:
    """The level ``xp`` experience gives (1 .. max_level)."""
    return min(int(np.searchsorted(XP_FOR_LEVEL, xp, side="right")), max_level)


@kernel
def max_health_at(constitution: int, rules: Rules) -> int:
    """Max health of an entity at this constitution level (at most 32767, the int16 column's top)."""
    return min(rules.vitals.max_health + rules.progression.health_per_level * (constitution - 1), 32767)


@kernel
def gain_xp(
    xp: np.ndarray, level: np.ndarray, max_health: np.ndarray, i: int, skill: int, rate: float,
    amount: float, agent_id: int, r: int, c: int, events: EventLog, rules: Rules,
) -> None:  # fmt: skip
    """Give agent ``i`` ``round(xp_scale * rate * amount)`` XP in ``skill``; level up if due.

    Takes the agent table's ``xp``, ``level`` and ``max_health`` columns rather than the table:
    numba reference-counts every array of a table handed to a function, which would cost more
    than the rule itself on this per-event path.
    """
    new_level = add_xp(xp, level, i, skill, int(round(rules.progression.xp_scale * rate * amount)), rules)
    if new_level > 0:
        if skill == Skill.CONSTITUTION:
            max_health[i] = max_health_at(new_level, rules)
        log_pair(events, EventKind.LEVEL_UP, i, agent_id, r, c, new_level, -1, -1, skill)


@kernel(inline=True)
def add_xp(xp: np.ndarray, level: np.ndarray, i: int, column: int, gained: int, rules: Rules) -> int:
    """Add ``gained`` XP to ``xp[i, column]`` (saturating), raising ``level[i, column]`` to match;
    the new level if it rose, else 0. (:func:`gain_xp` for the seven skills; the gathering
    professions of ``neural_mmo.world.systems.harvest`` use it on their own columns.)"""
    if gained <= 0:
        return 0
    total = min(int(xp[i, column]) + gained, 2**31 - 1)
    xp[i, column] = total
    new_level = level_for_xp(total, rules.progression.max_level)
    if new_level <= level[i, column]:
        return 0
    level[i, column] = new_level
    return new_level
