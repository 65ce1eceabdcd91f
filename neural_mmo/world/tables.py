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
        return AgentTable(
            alive=np.zeros(capacity, np.bool_),
            agent_id=np.full(capacity, -1, np.int64),
            population=np.zeros(capacity, np.int16),
            r=np.zeros(capacity, np.int16),
            c=np.zeros(capacity, np.int16),
            health=np.zeros(capacity, np.int16),
            max_health=np.zeros(capacity, np.int16),
            food=np.zeros(capacity, np.int16),
            water=np.zeros(capacity, np.int16),
            level=np.zeros((capacity, N_SKILLS), np.int16),
            xp=np.zeros((capacity, N_SKILLS), np.int32),
            style=np.zeros(capacity, np.uint8),
            freeze_until=np.full(capacity, NEVER, np.int64),
            combat_tick=np.full(capacity, NEVER, np.int64),
            killer=np.full(capacity, -1, np.int32),
            spawn_tick=np.zeros(capacity, np.int64),
            death_tick=np.full(capacity, -1, np.int64),
            death_cause=np.zeros(capacity, np.uint8),
        )

    @property
    def capacity(self) -> int:
        return int(self.alive.shape[0])

    def clear(self) -> None:
        """Free every slot (in place)."""
        _clear(self, {"agent_id": -1, "death_tick": -1, "killer": -1, **_TICKS})

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
        return NpcTable(
            alive=np.zeros(capacity, np.bool_),
            npc_id=np.full(capacity, -1, np.int64),
            behaviour=np.zeros(capacity, np.uint8),
            r=np.zeros(capacity, np.int16),
            c=np.zeros(capacity, np.int16),
            home_r=np.zeros(capacity, np.int16),
            home_c=np.zeros(capacity, np.int16),
            health=np.zeros(capacity, np.int16),
            max_health=np.zeros(capacity, np.int16),
            level=np.zeros((capacity, N_SKILLS), np.int16),
            style=np.zeros(capacity, np.uint8),
            freeze_until=np.full(capacity, NEVER, np.int64),
            combat_tick=np.full(capacity, NEVER, np.int64),
            target=np.full(capacity, -1, np.int32),
            target_id=np.full(capacity, -1, np.int64),
            killer=np.full(capacity, -1, np.int32),
            spawn_tick=np.zeros(capacity, np.int64),
            death_tick=np.full(capacity, -1, np.int64),
            death_cause=np.zeros(capacity, np.uint8),
        )

    @property
    def capacity(self) -> int:
        return int(self.alive.shape[0])

    def clear(self) -> None:
        """Free every slot (in place)."""
        _clear(self, {"npc_id": -1, "death_tick": -1, "killer": -1, "target": -1, "target_id": -1, **_TICKS})

    def row(self, i: int) -> dict[str, Any]:
        """A frozen snapshot of slot ``i`` as plain Python values (debugging and tests)."""
        return _row(self, i)


_TICKS = {"freeze_until": NEVER, "combat_tick": NEVER}


def _clear(table: Any, fill: dict[str, int]) -> None:
    for name, column in table._asdict().items():
        column[...] = fill.get(name, 0)


def _row(table: Any, i: int) -> dict[str, Any]:
    return {name: column[i].tolist() for name, column in table._asdict().items()}
