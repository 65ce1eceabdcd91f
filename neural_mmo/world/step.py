"""THE tick: the only place that knows in which order the systems run.

| order | system                 | what it does                                                       |
|-------|------------------------|--------------------------------------------------------------------|
| 1     | begin tick             | clear the event log, reopen closed rings, advance the clock        |
| 2     | ``use_items``          | items on: use head, slot order: take off, put on, eat, drink       |
| 3     | ``trade``              | items on: destroy, give, give gold, slot order                     |
| 4     | ``run_exchange``       | exchange on: expiry, sells (slot order), buys (random order)       |
| 5     | ``resolve_attacks``    | attack head: agents attack from where they stand, random order     |
|       | (``choose_targets``)   | first: combat off drops attacks; automatic targeting picks targets |
| 6     | ``act_npcs``           | NPCs regenerate, pick targets, attack or move (path search)        |
| 7     | ``move_agents``        | move head: one step or stay, random order, lava marks death        |
| 8     | ``forage``             | eat on forest (it depletes to scrub), drink next to water, XP      |
| 9     | ``harvest``            | professions on: gather resource tiles into items, XP               |
| 10    | ``update_vitals``      | food/water decay, starvation/dehydration damage, regeneration      |
| 11    | ``close_fog``          | the fog (when enabled) hurts agents outside the safe square        |
| 12    | ``npc_drops``          | items on: gold, maybe an item, for each agent that killed an NPC   |
| 13    | ``leave_items``        | items on: the dead's items and gold go to their killer, or vanish  |
| 14    | ``remove_dead``        | dead agents leave the map, DEATH events with cause and killer      |
| 15    | ``remove_dead_npcs``   | killed NPCs leave the map (their KILL event was logged)            |
| 16    | ``regrow_resources``   | depleted tiles whose time has come regrow                          |
| 17    | ``spawn_continuous``   | continuous mode: new agents at the edges (not on the last tick)    |
| 18    | ``spawn_npcs``         | NPCs respawn at random tiles while below the cap                   |

So within one tick an agent attacks before it moves: its target is where the observation showed
it. (A masked-in attack can still find its target killed earlier in the tick, and a masked-in
move its tile taken by an NPC or another agent, or its agent frozen; those become no-ops.)

The whole tick is one numba function, so Python pays one call per tick whatever the number of
systems. Each system kernel is declared ``inline="always"``, so it is compiled into the tick
rather than called: a call hands numba the whole world record, reference-counting every array
in it (the VecEnv step measured about 6% faster inlined, ``benchmarks/bench_worlds.py``). A new
system's kernel is declared the same way. Observations, masks and rewards are computed afterwards
from the state and the event log by the layers above (:mod:`neural_mmo.observe`,
:mod:`neural_mmo.tasks`).
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.commands import NO_COMMAND, Command
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rng import system_streams, terrain_generator
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World, WorldState
from neural_mmo.world.systems.combat import resolve_attacks
from neural_mmo.world.systems.death import remove_dead, remove_dead_npcs
from neural_mmo.world.systems.drops import npc_drops
from neural_mmo.world.systems.exchange import run_exchange
from neural_mmo.world.systems.fog import close_fog
from neural_mmo.world.systems.foraging import forage
from neural_mmo.world.systems.harvest import harvest
from neural_mmo.world.systems.inventory import use_items
from neural_mmo.world.systems.loot import leave_items
from neural_mmo.world.systems.movement import move_agents
from neural_mmo.world.systems.npc import act_npcs, spawn_npcs
from neural_mmo.world.systems.regrowth import regrow_resources, schedule_initial_regrowth
from neural_mmo.world.systems.spawning import place_agents, spawn_concurrent, spawn_continuous
from neural_mmo.world.systems.targeting import choose_targets
from neural_mmo.world.systems.trade import trade
from neural_mmo.world.systems.vitals import update_vitals
from neural_mmo.world.terrain import generate_terrain


@kernel
def tick(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Advance one world by one tick; ``commands`` is ``int32 [N, len(Command)]``."""
    world.events.counts[0] = 0
    world.closed_rings[0] = 0
    world.clock[Clock.TICK] += 1
    now = world.clock[Clock.TICK]
    use_items(world, commands, rules)
    trade(world, commands, rules)
    run_exchange(world, commands, rules)
    choose_targets(world, commands, rules)
    resolve_attacks(world, commands, rules)
    act_npcs(world, rules)
    move_agents(world, commands, rules)
    forage(world, rules)
    harvest(world, rules)
    update_vitals(world, rules)
    close_fog(world, rules)
    npc_drops(world, rules)
    leave_items(world, rules)
    remove_dead(world)
    remove_dead_npcs(world)
    regrow_resources(world)
    if rules.derived.continuous_spawn and now != rules.derived.last_tick:
        spawn_continuous(world, rules)
    spawn_npcs(world, rules.npc.spawn_attempts, rules)


def step(state: WorldState, commands: np.ndarray) -> None:
    """Advance the world by one tick with decoded ``commands`` (``int32 [N, len(Command)]``:
    Direction, Style, target entity number; see :mod:`neural_mmo.world.commands`)."""
    expected = (state.agents.capacity, len(Command))
    if not isinstance(commands, np.ndarray) or commands.shape != expected or commands.dtype != np.int32:
        raise ValueError(
            f"commands must be an int32 array of shape {expected} (Direction, Style, target entity), got "
            f"{type(commands).__name__} {getattr(commands, 'dtype', '')} {getattr(commands, 'shape', '')}"
        )
    tick(state.world, commands, state.rules)


def commands_for(state: WorldState, moves: np.ndarray | None = None) -> np.ndarray:
    """A command array for ``state`` (all no-ops), with the ``moves`` column filled if given."""
    commands = np.tile(np.array(NO_COMMAND, np.int32), (state.agents.capacity, 1))
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
    s, rules = state, state.rules
    s.clear()
    s.streams[:] = system_streams(seed)
    s.material[:] = generate_terrain(s.config, terrain_generator(seed)) if material is None else material
    schedule_initial_regrowth(s.world, rules)
    if placements is not None:
        place_agents(s.world, np.asarray(placements, np.int64), rules)
    elif rules.derived.continuous_spawn:
        spawn_continuous(s.world, rules)
    else:
        spawn_concurrent(s.world, rules)
    spawn_npcs(s.world, 4 * s.npcs.capacity, rules)
