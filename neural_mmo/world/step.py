"""THE tick: the only place that knows in which order the systems run.

| order | system                 | what it does                                                       |
|-------|------------------------|--------------------------------------------------------------------|
| 1     | begin tick             | clear the event log, advance the clock                             |
| 2     | ``resolve_attacks``    | attack head: agents attack from where they stand, random order     |
| 3     | ``act_npcs``           | NPCs regenerate, pick targets, attack or move (path search)        |
| 4     | ``move_agents``        | move head: one step or stay, random order, lava marks death        |
| 5     | ``forage``             | eat on forest (it depletes to scrub), drink next to water, XP      |
| 6     | ``update_vitals``      | food/water decay, starvation/dehydration damage, regeneration      |
| 7     | ``remove_dead``        | dead agents leave the map, DEATH events with cause and killer      |
| 8     | ``remove_dead_npcs``   | killed NPCs leave the map (their KILL event was logged)            |
| 9     | ``regrow_resources``   | depleted tiles whose time has come regrow                          |
| 10    | ``spawn_continuous``   | continuous mode: new agents at the edges (not on the last tick)    |
| 11    | ``spawn_npcs``         | NPCs respawn at random tiles while below the cap                   |

So within one tick an agent attacks before it moves: its target is where the observation showed
it. (A masked-in attack can still find its target killed earlier in the tick, and a masked-in
move its tile taken by an NPC or another agent, or its agent frozen; those become no-ops.)

The whole tick is one numba function, so Python pays one call per tick whatever the number of
systems. Observations, masks and rewards are computed afterwards from the state and the event
log by the layers above (:mod:`neural_mmo.observe`, :mod:`neural_mmo.tasks`).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from neural_mmo.world.actions import Command
from neural_mmo.world.events import EventLog
from neural_mmo.world.params import Params
from neural_mmo.world.rng import Stream, system_streams, terrain_generator
from neural_mmo.world.state import Clock, RegrowthQueue, WorldState
from neural_mmo.world.systems.combat import resolve_attacks
from neural_mmo.world.systems.death import remove_dead
from neural_mmo.world.systems.foraging import forage
from neural_mmo.world.systems.movement import move_agents
from neural_mmo.world.systems.npc import act_npcs, remove_dead_npcs, spawn_npcs
from neural_mmo.world.systems.regrowth import regrow_resources, schedule_initial_regrowth
from neural_mmo.world.systems.spawning import place_agents, spawn_concurrent, spawn_continuous
from neural_mmo.world.systems.vitals import update_vitals
from neural_mmo.world.tables import AgentTable, NpcTable
from neural_mmo.world.terrain import generate_terrain


@numba.njit(cache=True)
def tick(
    agents: AgentTable,
    npcs: NpcTable,
    material: np.ndarray,
    occupant: np.ndarray,
    events: EventLog,
    regrowth: RegrowthQueue,
    edge_tiles: np.ndarray,
    scratch: np.ndarray,
    npc_offsets: np.ndarray,
    npc_search: np.ndarray,
    streams: np.ndarray,
    clock: np.ndarray,
    commands: np.ndarray,
    p: Params,
) -> None:
    """Advance one world by one tick; ``commands`` is ``int32 [N, len(Command)]``."""
    n = agents.alive.shape[0]
    events.counts[0] = 0
    clock[Clock.TICK] += 1
    now = clock[Clock.TICK]
    resolve_attacks(agents, npcs, commands[:, Command.STYLE], commands[:, Command.TARGET], scratch, events,
                    streams[Stream.COMBAT], now, p)  # fmt: skip
    act_npcs(agents, npcs, material, occupant, npc_offsets, npc_search, events, streams[Stream.NPC], now, p)
    move_agents(agents, material, occupant, commands[:, Command.MOVE], scratch[0], events,
                streams[Stream.MOVEMENT], now, p)  # fmt: skip
    forage(agents, material, regrowth, events, streams[Stream.REGROWTH], now, p)
    update_vitals(agents, now, p)
    remove_dead(agents, npcs, occupant, events, now)
    remove_dead_npcs(npcs, occupant, n, now)
    regrow_resources(regrowth, material, now)
    if p.continuous_spawn and now != p.last_tick:
        spawn_continuous(agents, material, occupant, edge_tiles, events, streams[Stream.SPAWN], clock, p)
    spawn_npcs(npcs, material, occupant, events, streams[Stream.NPC], clock, p.npc_spawn_attempts, n, p)


def step(state: WorldState, commands: np.ndarray) -> None:
    """Advance the world by one tick with decoded ``commands`` (``int32 [N, len(Command)]``:
    Direction, Style, target entity number; see :mod:`neural_mmo.world.actions`)."""
    s = state
    expected = (s.agents.capacity, len(Command))
    if not isinstance(commands, np.ndarray) or commands.shape != expected or commands.dtype != np.int32:
        raise ValueError(
            f"commands must be an int32 array of shape {expected} (Direction, Style, target entity), got "
            f"{type(commands).__name__} {getattr(commands, 'dtype', '')} {getattr(commands, 'shape', '')}"
        )
    tick_packed(tick_args(state), commands)


def tick_args(state: WorldState) -> tuple:
    """The arguments of :func:`tick` but ``commands``, for :func:`tick_packed`: one plain tuple,
    tables and params as plain tuples too. Numba reads the types of a plain tuple of arrays in C
    but those of a NamedTuple field by field in Python, so a call with these costs a few µs less."""
    s = state
    tables = (tuple(s.agents), tuple(s.npcs), s.material, s.occupant, tuple(s.events), tuple(s.regrowth))
    rest = (s.edge_tiles, s.scratch, s.npc_offsets, s.npc_search, s.streams, s.clock, tuple(s.params))
    return tables + rest


class TickArgs(NamedTuple):
    """The arguments of :func:`tick` but ``commands``, by name (what :func:`unpack_tick_args` gives)."""

    agents: AgentTable
    npcs: NpcTable
    material: np.ndarray
    occupant: np.ndarray
    events: EventLog
    regrowth: RegrowthQueue
    edge_tiles: np.ndarray
    scratch: np.ndarray
    npc_offsets: np.ndarray
    npc_search: np.ndarray
    streams: np.ndarray
    clock: np.ndarray
    params: Params


@numba.njit(cache=True)
def unpack_tick_args(args: tuple) -> TickArgs:
    """:func:`tick_args` back as the tables and params :func:`tick` takes (in kernels)."""
    agents, npcs, material, occupant, events, regrowth = args[:6]
    edge_tiles, scratch, npc_offsets, npc_search, streams, clock, p = args[6:]
    return TickArgs(
        AgentTable(*agents), NpcTable(*npcs), material, occupant, EventLog(*events), RegrowthQueue(*regrowth),
        edge_tiles, scratch, npc_offsets, npc_search, streams, clock, Params(*p),
    )  # fmt: skip


@numba.njit(cache=True)
def tick_packed(args: tuple, commands: np.ndarray) -> None:
    """:func:`tick` with the arguments of :func:`tick_args`."""
    w = unpack_tick_args(args)
    tick(w.agents, w.npcs, w.material, w.occupant, w.events, w.regrowth, w.edge_tiles, w.scratch,
         w.npc_offsets, w.npc_search, w.streams, w.clock, commands, w.params)  # fmt: skip


def commands_for(state: WorldState, moves: np.ndarray | None = None) -> np.ndarray:
    """A command array for ``state`` (all no-ops), with the ``moves`` column filled if given."""
    commands = np.zeros((state.agents.capacity, len(Command)), np.int32)
    commands[:, Command.TARGET] = -1
    if moves is not None:
        commands[:, Command.MOVE] = moves
    return commands


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
    s.npcs.clear()
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
    n_npcs = s.npcs.capacity
    spawn_npcs(s.npcs, s.material, s.occupant, s.events, s.streams[Stream.NPC], s.clock, 4 * n_npcs,
               s.agents.capacity, p)  # fmt: skip
