"""Fixed-capacity struct-of-arrays tables.

A table is a NamedTuple of same-length numpy columns plus an ``alive`` mask, so numba kernels take
the whole table as one argument (``agents.health[i]``). Rows are slots: an entity is a row index,
never a Python object. Capacity is fixed when the world is built, so nothing is
allocated while it runs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


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
    food: np.ndarray  # int16 [N]
    water: np.ndarray  # int16 [N]
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
            food=np.zeros(capacity, np.int16),
            water=np.zeros(capacity, np.int16),
            spawn_tick=np.zeros(capacity, np.int64),
            death_tick=np.full(capacity, -1, np.int64),
            death_cause=np.zeros(capacity, np.uint8),
        )

    @property
    def capacity(self) -> int:
        return int(self.alive.shape[0])

    def clear(self) -> None:
        """Free every slot (in place)."""
        for name, column in self._asdict().items():
            column[:] = -1 if name in ("agent_id", "death_tick") else 0

    def row(self, i: int) -> dict[str, Any]:
        """A frozen snapshot of slot ``i`` as plain Python values (debugging and tests)."""
        return {name: column[i].item() for name, column in self._asdict().items()}
