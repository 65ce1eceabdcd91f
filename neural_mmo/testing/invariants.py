"""World invariants that must hold after every tick, whatever the actions were."""

from __future__ import annotations

import numpy as np

from neural_mmo.world.materials import DEADLY, PASSABLE
from neural_mmo.world.state import WorldState
from neural_mmo.world.systems.progression import Skill, level_for_xp, max_health_at


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
        ("food", a.food, cfg.vitals.max_food),
        ("water", a.water, cfg.vitals.max_water),
    ):
        values = column[alive]
        if values.size and (values.min() < 0 or values.max() > hi):
            raise InvariantError(f"{name} outside [0, {hi}]: {values.min()}..{values.max()}")
    for kind, table, living in (("agent", a, alive), ("NPC", state.npcs, np.flatnonzero(state.npcs.alive))):
        if living.size and (
            table.health[living].min() <= 0 or (table.health > table.max_health)[living].any()
        ):
            raise InvariantError(f"a living {kind} has health <= 0 or above its max health")
        levels = table.level[living]
        if levels.size and (levels.min() < 1 or levels.max() > cfg.progression.max_level):
            raise InvariantError(f"a living {kind} has a level outside 1..{cfg.progression.max_level}")
    expected = np.array(
        [max_health_at(int(level), state.rules) for level in a.level[alive, Skill.CONSTITUTION]]
    )
    if alive.size and not np.array_equal(a.max_health[alive], expected):
        raise InvariantError("an agent's max health does not follow its constitution level")
    xp_levels = np.array([level_for_xp(int(x), cfg.progression.max_level) for x in a.xp[alive].ravel()])
    if alive.size and not np.array_equal(xp_levels, a.level[alive].ravel()):
        raise InvariantError("an agent's level does not match its experience")
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
    npcs = state.npcs
    living_npcs = np.flatnonzero(npcs.alive)
    nr, nc = npcs.r[living_npcs].astype(np.int64), npcs.c[living_npcs].astype(np.int64)
    if not np.array_equal(state.occupant[nr, nc], (living_npcs + cfg.spawn.n_agents).astype(np.int32)):
        raise InvariantError("occupant grid disagrees with NPC positions")
    if living_npcs.size and not (PASSABLE[state.material[nr, nc]] & ~DEADLY[state.material[nr, nc]]).all():
        raise InvariantError("an NPC stands on an impassable or deadly tile")
    if np.count_nonzero(state.occupant >= 0) != len(alive) + len(living_npcs):
        raise InvariantError("occupant grid names a tile with no living entity")
    ids = a.agent_id[alive]
    if len(np.unique(ids)) != len(ids) or (ids >= state.next_agent_id).any() or (ids < 0).any():
        raise InvariantError("agent ids are not unique, or not below next_agent_id")
    if state.events.dropped:
        raise InvariantError(f"{state.events.dropped} events dropped: the event log is too small")
