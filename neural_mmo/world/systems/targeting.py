"""Targeting: what the attack commands mean before combat resolves them.

Two settings of ``combat`` change the agents' attack commands, here, just before combat runs:

* ``enabled = False`` (foraging only): every attack command is dropped;
* ``auto_target = True`` (automatic targeting): an agent names only a style, and its target
  becomes the attackable entity of lowest health within that style's reach (Chebyshev distance,
  as combat measures it) at the start of the tick; ties go to the nearest, then to the lowest
  entity number. Attackable: another living agent past its spawn immunity, or a living NPC. With
  nothing attackable in reach the command is dropped.

With combat on and learned targeting (the defaults) the commands pass through unchanged.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.commands import Command
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.tables import AgentTable, NpcTable
from neural_mmo.world.vocabulary import N_STYLES


@kernel
def lowest_health_target(
    agents: AgentTable, npcs: NpcTable, occupant: np.ndarray, i: int, reach: int, now: int, immunity: int
) -> int:
    """The entity agent ``i`` attacks at ``reach`` under automatic targeting (module docs), or -1."""
    n = agents.alive.shape[0]
    side = occupant.shape[0]
    r0 = int(agents.r[i])
    c0 = int(agents.c[i])
    best = -1
    best_health = 0
    best_distance = 0
    for r in range(max(0, r0 - reach), min(side, r0 + reach + 1)):
        for c in range(max(0, c0 - reach), min(side, c0 + reach + 1)):
            e = occupant[r, c]
            if e < 0 or e == i:
                continue
            if e < n:
                if not agents.alive[e] or agents.health[e] <= 0 or now - agents.spawn_tick[e] <= immunity:
                    continue
                health = int(agents.health[e])
            else:
                j = e - n
                if not npcs.alive[j] or npcs.health[j] <= 0:
                    continue
                health = int(npcs.health[j])
            distance = max(abs(r - r0), abs(c - c0))
            if (
                best < 0
                or health < best_health
                or (health == best_health and distance < best_distance)
                or (health == best_health and distance == best_distance and e < best)
            ):
                best = e
                best_health = health
                best_distance = distance
    return best


@kernel(inline=True)
def choose_targets(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Rewrite the attack columns of ``commands`` (``int32 [N, len(Command)]``) for
    ``combat.enabled`` and ``combat.auto_target`` (see module docs); a no-op by default."""
    if not rules.combat.enabled:
        commands[:, Command.STYLE] = 0
        return
    if not rules.combat.auto_target:
        return
    agents, npcs, occupant = world.agents, world.npcs, world.occupant
    now = world.clock[Clock.TICK]
    immunity = rules.combat.spawn_immunity
    for i in range(agents.alive.shape[0]):
        style = commands[i, Command.STYLE]
        if not agents.alive[i] or style <= 0 or style > N_STYLES:
            continue
        reach = rules.derived.style_range[style - 1]
        commands[i, Command.TARGET] = lowest_health_target(agents, npcs, occupant, i, reach, now, immunity)
