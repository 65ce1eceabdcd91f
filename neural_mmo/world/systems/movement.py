"""Movement: one step north, south, east or west, or stay.

Resolution: each tick the living agents move one at a time, in a random order drawn from the
world's ``movement`` generator. A move succeeds when the target tile is passable (not water or
stone) and free *at that moment*; otherwise the agent stays. So when two agents try to enter the
same tile, the one earlier in this tick's order gets it, and an agent never swaps places with
another. An agent frozen by a mage hit, or killed earlier this tick, stays. Stepping onto lava
kills (unless ``vitals.immortal``); the death itself is applied by
:mod:`neural_mmo.world.systems.death`. Nobody goes further out than the first ring of the lava
border (only immortal agents survive there).
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.commands import Command
from neural_mmo.world.events import DeathCause, EventKind, log_event
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import DEADLY, PASSABLE
from neural_mmo.world.rng import Stream, below
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.vocabulary import DC, DR, N_DIRECTIONS, Direction  # noqa: F401 (Direction: the move head)


@kernel
def shuffled_alive(alive: np.ndarray, order: np.ndarray, rng: np.ndarray) -> int:
    """Write the living slots into ``order[:n]`` in a uniformly random order; return n."""
    n = 0
    for i in range(alive.shape[0]):
        if alive[i]:
            order[n] = i
            n += 1
    for k in range(n - 1, 0, -1):
        j = below(rng, k + 1)
        order[k], order[j] = order[j], order[k]
    return n


@kernel(inline=True)
def move_agents(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Apply every agent's move command (a Direction) in a random order; see module docs."""
    agents, material, occupant, events = world.agents, world.material, world.occupant, world.events
    moves = commands[:, Command.MOVE]
    rng = world.streams[Stream.MOVEMENT]
    now = world.clock[Clock.TICK]
    order = world.scratch[0]
    lo = rules.map.border - 1
    hi = material.shape[0] - rules.map.border
    n = shuffled_alive(agents.alive, order, rng)
    for k in range(n):
        i = order[k]
        d = moves[i]
        if d <= 0 or d >= N_DIRECTIONS or agents.death_cause[i] != 0 or now <= agents.freeze_until[i]:
            continue
        r0 = agents.r[i]
        c0 = agents.c[i]
        r1 = r0 + DR[d]
        c1 = c0 + DC[d]
        if r1 < lo or r1 > hi or c1 < lo or c1 > hi:
            continue
        if not PASSABLE[material[r1, c1]] or occupant[r1, c1] >= 0:
            continue
        occupant[r0, c0] = -1
        occupant[r1, c1] = i
        agents.r[i] = r1
        agents.c[i] = c1
        log_event(events, EventKind.MOVE, i, agents.agent_id[i], r1, c1, d)
        if DEADLY[material[r1, c1]] and not rules.vitals.immortal:
            agents.health[i] = 0
            agents.death_cause[i] = DeathCause.LAVA
