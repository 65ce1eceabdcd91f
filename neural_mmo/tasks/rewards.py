"""Reward functions: read the world state and this tick's events, return one reward per slot.

A reward function is any callable ``fn(state, events) -> array-like [n_slots]``. It must treat
``state`` and ``events`` as read-only. Slots without an agent (and dead agents on the ticks after
their death) are ignored by the environments, so their values do not matter.

Example, a bonus for every meal::

    def fed(state, events):
        reward = np.zeros(state.agents.capacity, np.float32)
        reward[events.slot[events.of_kind(EventKind.EAT)]] = 0.1
        return reward

Events of combat (ATTACK, KILL) name NPCs too, with entity numbers ``n_agents + j``: keep only
``events.slot < state.agents.capacity`` before indexing a per-agent array.
"""

from __future__ import annotations

from typing import Protocol

import numba
import numpy as np

from neural_mmo.world.events import EventColumn, EventKind, EventLog
from neural_mmo.world.state import WorldState


class RewardFn(Protocol):
    def __call__(self, state: WorldState, events: EventLog) -> np.ndarray: ...


@numba.njit(cache=True)
def apply_death_penalty(events: EventLog, penalty: float, out: np.ndarray) -> None:
    """``out[slot] = penalty`` for every agent that died this tick, 0 elsewhere."""
    out[:] = 0.0
    for k in range(events.counts[0]):
        if events.table[k, EventColumn.KIND] == EventKind.DEATH:
            out[events.table[k, EventColumn.SLOT]] = penalty


class SurvivalReward:
    """The default: 0 every tick, ``death_penalty`` (-1) on the tick an agent dies."""

    def __init__(self, death_penalty: float = -1.0):
        self.death_penalty = float(death_penalty)
        self._out = np.zeros(0, np.float32)

    def __call__(self, state: WorldState, events: EventLog) -> np.ndarray:
        if self._out.shape[0] != state.agents.capacity:
            self._out = np.zeros(state.agents.capacity, np.float32)
        apply_death_penalty(events, self.death_penalty, self._out)
        return self._out
