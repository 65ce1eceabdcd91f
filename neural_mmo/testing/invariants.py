"""World invariants that must hold after every tick, whatever the actions were."""

from __future__ import annotations

import numpy as np

from neural_mmo.world.materials import PASSABLE
from neural_mmo.world.state import WorldState


class InvariantError(AssertionError):
    """A world broke one of its invariants (a bug, never a user error)."""


def check_invariants(state: WorldState) -> None:
    """Raise :class:`InvariantError` naming the first broken invariant."""
    cfg = state.config
    a = state.agents
    alive = np.flatnonzero(a.alive)
    if len(alive) > cfg.spawn.n_agents:
        raise InvariantError(f"{len(alive)} agents alive, cap is {cfg.spawn.n_agents}")
    for name, column, hi in (
        ("health", a.health, cfg.vitals.max_health),
        ("food", a.food, cfg.vitals.max_food),
        ("water", a.water, cfg.vitals.max_water),
    ):
        values = column[alive]
        if values.size and (values.min() < 0 or values.max() > hi):
            raise InvariantError(f"{name} outside [0, {hi}]: {values.min()}..{values.max()}")
    if alive.size and a.health[alive].min() <= 0:
        raise InvariantError("a living agent has health <= 0")
    r, c = a.r[alive].astype(np.int64), a.c[alive].astype(np.int64)
    lo, hi = cfg.map.border - 1, cfg.map.border + cfg.map.size
    if alive.size and (r.min() < lo or r.max() > hi or c.min() < lo or c.max() > hi):
        raise InvariantError("an agent stands beyond the first ring of the border")
    if not PASSABLE[state.material[r, c]].all():
        raise InvariantError("an agent stands on an impassable tile")
    if len(set(zip(r.tolist(), c.tolist()))) != len(alive):
        raise InvariantError("two agents share a tile")
    if not np.array_equal(state.occupant[r, c], alive.astype(np.int32)):
        raise InvariantError("occupant grid disagrees with agent positions")
    if np.count_nonzero(state.occupant >= 0) != len(alive):
        raise InvariantError("occupant grid names a tile with no living agent")
    ids = a.agent_id[alive]
    if len(np.unique(ids)) != len(ids) or (ids >= state.next_agent_id).any() or (ids < 0).any():
        raise InvariantError("agent ids are not unique, or not below next_agent_id")
    if state.events.dropped:
        raise InvariantError(f"{state.events.dropped} events dropped: the event log is too small")
