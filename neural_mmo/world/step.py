"""THE tick: the only place that knows in which order the systems run.

| order | system                 | what it does                                                       |
|-------|------------------------|--------------------------------------------------------------------|
| 1     | begin tick             | clear the event log, advance the clock                             |
| 2     | ``move_agents``        | move head: one step or stay, random order, lava marks death        |
| 3     | ``forage``             | eat on forest (it depletes to scrub), drink next to water          |
| 4     | ``update_vitals``      | food/water decay, starvation/dehydration damage, regeneration      |
| 5     | ``remove_dead``        | agents marked dead leave the map, DEATH events with cause          |
| 6     | ``regrow_resources``   | depleted tiles whose time has come regrow                          |
| 7     | ``spawn_continuous``   | continuous mode: new agents at the edges (not on the last tick)    |

The whole tick is one numba function, so Python pays one call per tick whatever the number of
systems. Observations, masks and rewards are computed afterwards from the state and the event
log by the layers above (:mod:`neural_mmo.observe`, :mod:`neural_mmo.tasks`).
"""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.world.actions import ActionHead
from neural_mmo.world.events import EventLog
from neural_mmo.world.params import Params
from neural_mmo.world.rng import Stream, system_streams, terrain_generator
from neural_mmo.world.state import Clock, RegrowthQueue, WorldState
from neural_mmo.world.systems.death import remove_dead
from neural_mmo.world.systems.foraging import forage
from neural_mmo.world.systems.movement import move_agents
from neural_mmo.world.systems.regrowth import regrow_resources, schedule_initial_regrowth
from neural_mmo.world.systems.spawning import place_agents, spawn_concurrent, spawn_continuous
from neural_mmo.world.systems.vitals import update_vitals
from neural_mmo.world.tables import AgentTable
from neural_mmo.world.terrain import generate_terrain


@numba.njit(cache=True)
def tick(
    agents: AgentTable,
    material: np.ndarray,
    occupant: np.ndarray,
    events: EventLog,
    regrowth: RegrowthQueue,
    edge_tiles: np.ndarray,
    scratch: np.ndarray,
    streams: np.ndarray,
    clock: np.ndarray,
    actions: np.ndarray,
    p: Params,
) -> None:
    """Advance one world by one tick; ``actions`` is a validated ``int32 [N, n_heads]``."""
    events.counts[0] = 0
    clock[Clock.TICK] += 1
    now = clock[Clock.TICK]
    move_agents(
        agents, material, occupant, actions[:, ActionHead.MOVE], scratch, events, streams[Stream.MOVEMENT], p
    )
    forage(agents, material, regrowth, events, streams[Stream.REGROWTH], now, p)
    update_vitals(agents, p)
    remove_dead(agents, occupant, events, now)
    regrow_resources(regrowth, material, now)
    if p.continuous_spawn and now != p.last_tick:
        spawn_continuous(agents, material, occupant, edge_tiles, events, streams[Stream.SPAWN], clock, p)


def step(state: WorldState, actions: np.ndarray) -> None:
    """Advance the world by one tick. ``actions`` is a validated ``int32 [N, n_heads]``."""
    s = state
    tick(s.agents, s.material, s.occupant, s.events, s.regrowth, s.edge_tiles, s.scratch, s.streams, s.clock,
         actions, s.params)  # fmt: skip


def reset(
    state: WorldState,
    seed: np.random.SeedSequence,
    material: np.ndarray | None = None,
    placements: np.ndarray | None = None,
) -> None:
    """Start a new episode: new random streams, new map (or ``material``), then the first spawns.

    ``placements`` (int ``[k, 2]`` of ``(r, c)``) puts agents on exactly those tiles instead of
    the spawn rules (hand-made maps, scenario tests).
    """
    s, p = state, state.params
    s.streams[:] = system_streams(seed)
    s.material[:] = generate_terrain(s.config, terrain_generator(seed)) if material is None else material
    s.occupant.fill(-1)
    s.agents.clear()
    s.events.counts.fill(0)
    s.regrowth.head.fill(-1)
    s.regrowth.next_tile.fill(-1)
    s.regrowth.due.fill(-1)
    s.clock.fill(0)
    schedule_initial_regrowth(s.regrowth, s.material, 0, p.food_regrow_prob, s.streams[Stream.REGROWTH])
    if placements is not None:
        place_agents(s.agents, s.occupant, s.events, np.asarray(placements, np.int64), s.clock, p)
    elif p.continuous_spawn:
        spawn_continuous(
            s.agents, s.material, s.occupant, s.edge_tiles, s.events, s.streams[Stream.SPAWN], s.clock, p
        )
    else:
        spawn_concurrent(s.agents, s.material, s.occupant, s.edge_tiles, s.events, s.clock, p)
