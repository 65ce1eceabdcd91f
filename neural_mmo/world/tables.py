"""Fixed-capacity struct-of-arrays tables.

A table is a NamedTuple of same-length numpy columns plus an ``alive`` mask, so numba kernels take
the whole table as one argument (``agents.health[i]``). Rows are slots: an entity is a row index,
never a Python object. Capacity is fixed when the world is built, so nothing is
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

NEVER = -(2**40)
"""A tick long before any episode: the value of tick columns for 'not yet'."""


class AgentTable(NamedTuple):
    """One row per agent slot (capacity ``spawn.n_agents``).

    A slot is free when ``alive[i]`` is false; a new agent takes the lowest free slot that did not
    hold an agent which died this tick (so a trainer never sees a death and a birth in one slot on
    the same tick).
    """

    alive: np.ndarray  # bool [N]   the slot holds a living agent
    agent_id: np.ndarray  # int64 [N]  global id, unique per world and never reused; -1 when free
    population: np.ndarray  # int16 [N]  species index in [0, n_populations)
    r: np.ndarray  # int16 [N]  row on the grid (border included)
    c: np.ndarray  # int16 [N]  column on the grid (border included)
    health: np.ndarray  # int16 [N]
    max_health: np.ndarray  # int16 [N]  grows with constitution
    food: np.ndarray  # int16 [N]
    water: np.ndarray  # int16 [N]
    level: np.ndarray  # int16 [N, N_SKILLS]  level of each Skill, 1..max_level
    xp: np.ndarray  # int32 [N, N_SKILLS]  experience of each Skill
    style: np.ndarray  # uint8 [N]  Style of the last attack made (0: none yet)
    freeze_until: np.ndarray  # int64 [N]  cannot move on ticks <= this (mage hits)
    combat_tick: np.ndarray  # int64 [N]  last tick it attacked or was attacked
    killer: np.ndarray  # int32 [N]  entity that dealt the killing blow, -1 if none
    spawn_tick: np.ndarray  # int64 [N]  tick the current holder spawned
    death_tick: np.ndarray  # int64 [N]  tick the last holder died; -1 if never
    death_cause: np.ndarray  # uint8 [N] DeathCause of the last holder; 0 while alive

    @staticmethod
    def empty(capacity: int) -> AgentTable:
        """A table with every slot free."""
        return AgentTable(**_allocate(AGENT_COLUMNS, capacity))

    @property
    def capacity(self) -> int:
        return int(self.alive.shape[0])

    def clear(self) -> None:
        """Free every slot (in place)."""
        _clear(self, AGENT_COLUMNS)

    def row(self, i: int) -> dict[str, Any]:
        """A frozen snapshot of slot ``i`` as plain Python values (debugging and tests)."""
        return _row(self, i)


class Behaviour(IntEnum):
    """What an NPC does (``NpcTable.behaviour``)."""

    PASSIVE = 1  # wanders; never fights back
    NEUTRAL = 2  # wanders; fights the agent that attacked it
    HOSTILE = 3  # hunts the nearest agent in sight


class NpcTable(NamedTuple):
    """One row per NPC slot (capacity ``npc.n_npcs``). Columns shared with :class:`AgentTable`
    have the same names, dtypes and meaning, so combat kernels take either table."""

    alive: np.ndarray  # bool [M]
    npc_id: np.ndarray  # int64 [M]  global NPC id, unique per world; -1 when free
    behaviour: np.ndarray  # uint8 [M]  Behaviour: passive, neutral or hostile
    r: np.ndarray  # int16 [M]
    c: np.ndarray  # int16 [M]
    home_r: np.ndarray  # int16 [M]  spawn tile, where an idle NPC returns to
    home_c: np.ndarray  # int16 [M]
    health: np.ndarray  # int16 [M]
    max_health: np.ndarray  # int16 [M]
    level: np.ndarray  # int16 [M, N_SKILLS]  every skill at the NPC's level
    style: np.ndarray  # uint8 [M]  the Style it attacks with
    freeze_until: np.ndarray  # int64 [M]
    combat_tick: np.ndarray  # int64 [M]
    target: np.ndarray  # int32 [M]  agent slot it is fighting, -1 if none
    target_id: np.ndarray  # int64 [M]  that agent's id (a reused slot is not the same agent)
    killer: np.ndarray  # int32 [M]  entity that killed it, -1 if none
    spawn_tick: np.ndarray  # int64 [M]
    death_tick: np.ndarray  # int64 [M]  tick the last holder died; -1 if never
    death_cause: np.ndarray  # uint8 [M]  DeathCause of the last holder; 0 while alive

    @staticmethod
    def empty(capacity: int) -> NpcTable:
        """A table with every slot free."""
        return NpcTable(**_allocate(NPC_COLUMNS, capacity))

    @property
    def capacity(self) -> int:
        return int(self.alive.shape[0])

    def clear(self) -> None:
        """Free every slot (in place)."""
        _clear(self, NPC_COLUMNS)

    def row(self, i: int) -> dict[str, Any]:
        """A frozen snapshot of slot ``i`` as plain Python values (debugging and tests)."""
        return _row(self, i)


Columns = dict[str, tuple[type, int, bool]]
"""name -> (dtype, value of a free slot, one value per Skill): how a table is allocated and cleared."""

AGENT_COLUMNS: Columns = {
    "alive": (np.bool_, 0, False),
    "agent_id": (np.int64, -1, False),
    "population": (np.int16, 0, False),
    "r": (np.int16, 0, False),
    "c": (np.int16, 0, False),
    "health": (np.int16, 0, False),
    "max_health": (np.int16, 0, False),
    "food": (np.int16, 0, False),
    "water": (np.int16, 0, False),
    "level": (np.int16, 0, True),
    "xp": (np.int32, 0, True),
    "style": (np.uint8, 0, False),
    "freeze_until": (np.int64, NEVER, False),
    "combat_tick": (np.int64, NEVER, False),
    "killer": (np.int32, -1, False),
    "spawn_tick": (np.int64, 0, False),
    "death_tick": (np.int64, -1, False),
    "death_cause": (np.uint8, 0, False),
}

NPC_COLUMNS: Columns = {
    "alive": (np.bool_, 0, False),
    "npc_id": (np.int64, -1, False),
    "behaviour": (np.uint8, 0, False),
    "r": (np.int16, 0, False),
    "c": (np.int16, 0, False),
    "home_r": (np.int16, 0, False),
    "home_c": (np.int16, 0, False),
    "health": (np.int16, 0, False),
    "max_health": (np.int16, 0, False),
    "level": (np.int16, 0, True),
    "style": (np.uint8, 0, False),
    "freeze_until": (np.int64, NEVER, False),
    "combat_tick": (np.int64, NEVER, False),
    "target": (np.int32, -1, False),
    "target_id": (np.int64, -1, False),
    "killer": (np.int32, -1, False),
    "spawn_tick": (np.int64, 0, False),
    "death_tick": (np.int64, -1, False),
    "death_cause": (np.uint8, 0, False),
}


def _allocate(columns: Columns, capacity: int) -> dict[str, np.ndarray]:
    return {
        name: np.full((capacity, N_SKILLS) if per_skill else capacity, fill, dtype)
        for name, (dtype, fill, per_skill) in columns.items()
    }


def _clear(table: Any, columns: Columns) -> None:
    for name, column in table._asdict().items():
        column[...] = columns[name][1]


def _row(table: Any, i: int) -> dict[str, Any]:
    return {name: column[i].tolist() for name, column in table._asdict().items()}
