"""Fixed-capacity struct-of-arrays tables.

A table is a NamedTuple of same-length numpy columns plus an ``alive`` mask, so numba kernels take
the whole table as one argument (``agents.health[i]``). Each column is declared once, as a field
whose default (:func:`column`) states its dtype and the value of a free slot. Rows are slots:
an entity is a row index, never a Python object. Capacity is fixed when the world is built, so nothing is
allocated while it runs.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np


class Skill(IntEnum):
    """Columns of the ``level`` and ``xp`` tables (the rules: ``world.systems.progression``)."""

    MELEE = 0
    RANGE = 1
    MAGE = 2
    DEFENCE = 3
    CONSTITUTION = 4
    HUNTING = 5
    FISHING = 6


N_SKILLS = len(Skill)


class Profession(IntEnum):
    """Gathering skills beside hunting and fishing: columns of the ``professions`` part (present
    with ``profession.enabled``). Events and materials name one as skill code ``N_SKILLS + p``."""

    PROSPECTING = 0  # ore -> whetstones
    CARVING = 1  # trees -> arrows
    ALCHEMY = 2  # crystal -> runes
    HERBALISM = 3  # herbs -> potions


N_PROFESSIONS = len(Profession)


def skill_name(code: int) -> str:
    """The name of a skill code (a Skill, or N_SKILLS + Profession), as events and docs show it."""
    return Skill(code).name.lower() if code < N_SKILLS else Profession(code - N_SKILLS).name.lower()


NEVER = -(2**40)
"""A tick long before any episode: the value of tick columns for 'not yet'."""


class Column(NamedTuple):
    """How a table column is allocated: its dtype, the value of a free slot, one value per Skill."""

    dtype: type
    fill: Any = 0
    per_skill: bool = False


def column(dtype: type, fill: Any = 0, per_skill: bool = False) -> Any:
    """A column declaration, written as the default of a table's field: the one place a column's
    dtype and free value are stated (allocation, clearing, hashing and saving read it)."""
    return Column(dtype, fill, per_skill)


class Table:
    """What every table can do; mixed into each table's NamedTuple of columns."""

    __slots__ = ()
    _field_defaults: dict[str, Column]

    @classmethod
    def empty(cls, capacity: int) -> Any:
        """A table with every slot free."""
        return cls(
            **{
                name: np.full((capacity, N_SKILLS) if col.per_skill else capacity, col.fill, col.dtype)
                for name, col in cls._field_defaults.items()
            }
        )

    @property
    def capacity(self) -> int:
        return int(self[0].shape[0])  # type: ignore[index]

    def clear(self) -> None:
        """Free every slot (in place)."""
        for (_name, col), array in zip(self._field_defaults.items(), self):  # type: ignore[call-overload]
            array[...] = col.fill

    def row(self, i: int) -> dict[str, Any]:
        """A frozen snapshot of slot ``i`` as plain Python values (debugging and tests)."""
        return {name: array[i].tolist() for name, array in self._asdict().items()}  # type: ignore[attr-defined]


class AgentColumns(NamedTuple):
    """One row per agent slot (capacity ``spawn.n_agents``).

    A slot is free when ``alive[i]`` is false; a new agent takes the lowest free slot that did not
    hold an agent which died this tick (so a trainer never sees a death and a birth in one slot on
    the same tick).
    """

    alive: np.ndarray = column(np.bool_)  # bool [N]   the slot holds a living agent
    agent_id: np.ndarray = column(
        np.int64, -1
    )  # int64 [N]  global id, unique per world, never reused; -1 free
    population: np.ndarray = column(np.int16)  # int16 [N]  species index in [0, n_populations)
    r: np.ndarray = column(np.int16)  # int16 [N]  row on the grid (border included)
    c: np.ndarray = column(np.int16)  # int16 [N]  column on the grid (border included)
    health: np.ndarray = column(np.int16)  # int16 [N]
    max_health: np.ndarray = column(np.int16)  # int16 [N]  grows with constitution
    food: np.ndarray = column(np.int16)  # int16 [N]
    water: np.ndarray = column(np.int16)  # int16 [N]
    level: np.ndarray = column(np.int16, 0, True)  # int16 [N, N_SKILLS]  level of each Skill, 1..max_level
    xp: np.ndarray = column(np.int32, 0, True)  # int32 [N, N_SKILLS]  experience of each Skill
    style: np.ndarray = column(np.uint8)  # uint8 [N]  Style of the last attack made (0: none yet)
    freeze_until: np.ndarray = column(np.int64, NEVER)  # int64 [N]  cannot move on ticks <= this
    combat_tick: np.ndarray = column(np.int64, NEVER)  # int64 [N]  last tick it attacked or was attacked
    killer: np.ndarray = column(np.int32, -1)  # int32 [N]  entity that dealt the killing blow, -1 if none
    spawn_tick: np.ndarray = column(np.int64)  # int64 [N]  tick the current holder spawned
    death_tick: np.ndarray = column(np.int64, -1)  # int64 [N]  tick the last holder died; -1 if never
    death_cause: np.ndarray = column(np.uint8)  # uint8 [N] DeathCause of the last holder; 0 while alive


class AgentTable(Table, AgentColumns):
    """The agents (see :class:`AgentColumns` for the columns)."""

    __slots__ = ()


class Behaviour(IntEnum):
    """What an NPC does (``NpcTable.behaviour``)."""

    PASSIVE = 1  # wanders; never fights back
    NEUTRAL = 2  # wanders; fights the agent that attacked it
    HOSTILE = 3  # hunts the nearest agent in sight


class NpcColumns(NamedTuple):
    """One row per NPC slot (capacity ``npc.n_npcs``). Columns shared with :class:`AgentColumns`
    have the same names, dtypes and meaning, so combat kernels take either table."""

    alive: np.ndarray = column(np.bool_)  # bool [M]
    npc_id: np.ndarray = column(np.int64, -1)  # int64 [M]  global NPC id, unique per world; -1 when free
    behaviour: np.ndarray = column(np.uint8)  # uint8 [M]  Behaviour: passive, neutral or hostile
    r: np.ndarray = column(np.int16)  # int16 [M]
    c: np.ndarray = column(np.int16)  # int16 [M]
    home_r: np.ndarray = column(np.int16)  # int16 [M]  spawn tile, where an idle NPC returns to
    home_c: np.ndarray = column(np.int16)  # int16 [M]
    health: np.ndarray = column(np.int16)  # int16 [M]
    max_health: np.ndarray = column(np.int16)  # int16 [M]
    level: np.ndarray = column(np.int16, 0, True)  # int16 [M, N_SKILLS]  every skill at the NPC's level
    style: np.ndarray = column(np.uint8)  # uint8 [M]  the Style it attacks with
    freeze_until: np.ndarray = column(np.int64, NEVER)  # int64 [M]
    combat_tick: np.ndarray = column(np.int64, NEVER)  # int64 [M]
    target: np.ndarray = column(np.int32, -1)  # int32 [M]  agent slot it is fighting, -1 if none
    target_id: np.ndarray = column(
        np.int64, -1
    )  # int64 [M]  that agent's id (a reused slot is another agent)
    killer: np.ndarray = column(np.int32, -1)  # int32 [M]  entity that killed it, -1 if none
    spawn_tick: np.ndarray = column(np.int64)  # int64 [M]
    death_tick: np.ndarray = column(np.int64, -1)  # int64 [M]  tick the last holder died; -1 if never
    death_cause: np.ndarray = column(np.uint8)  # uint8 [M]  DeathCause of the last holder; 0 while alive


class NpcTable(Table, NpcColumns):
    """The NPCs (see :class:`NpcColumns` for the columns)."""

    __slots__ = ()
