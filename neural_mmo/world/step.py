"""THE tick: the only place that knows in which order the systems run.

| order | system                 | what it does                                                       |
|-------|------------------------|--------------------------------------------------------------------|
| 1     | begin tick             | clear the event log, advance the clock                             |
| 2     | ``move_agents``        | move head: one step or stay, random order, lava marks death        |
| 3     | ``forage``             | eat on forest (it depletes to scrub), drink next to water          |
| 4     | ``update_vitals``      | food/water decay, starvation/dehydration damage, regeneration      |
| 5     | ``remove_dead``        | agents marked dead leave the map, DEATH events with cause          |
| 6     | ``regrow_resources``   | depleted tiles whose time has come regrow                          |
| 7     | ``spawn_agents``       | continuous mode: new agents at the edges                           |

Observations, masks and rewards are computed afterwards from the state and the event log by the
layers above (:mod:`neural_mmo.observe`, :mod:`neural_mmo.tasks`).
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.actions import ActionHead
from neural_mmo.world.rng import system_streams, terrain_generator
from neural_mmo.world.state import WorldState
from neural_mmo.world.systems.death import remove_dead
from neural_mmo.world.systems.foraging import forage
from neural_mmo.world.systems.movement import move_agents
from neural_mmo.world.systems.regrowth import regrow_resources, schedule_initial_regrowth
from neural_mmo.world.systems.spawning import place_agents, spawn_concurrent, spawn_continuous
from neural_mmo.world.systems.vitals import update_vitals
from neural_mmo.world.terrain import generate_terrain


def reset(
    state: WorldState,
    seed: np.random.SeedSequence,
    material: np.ndarray | None = None,
    placements: np.ndarray | None = None,
) -> None:
    """Start a new episode: new generators, new map (or ``material``), then the first spawns.

    ``placements`` (int ``[k, 2]`` of ``(r, c)``) puts agents on exactly those tiles instead of
    the spawn rules (scenario tests).
    """
    cfg = state.config
    state.rng = system_streams(seed)
    state.material[:] = generate_terrain(cfg, terrain_generator(seed)) if material is None else material
    state.occupant.fill(-1)
    state.agents.clear()
    state.events.clear()
    state.events.dropped[0] = 0
    state.regrowth.head.fill(-1)
    state.regrowth.next_tile.fill(-1)
    state.regrowth.due.fill(-1)
    state.tick = 0
    state.next_agent_id = 0
    schedule_initial_regrowth(
        state.regrowth, state.material, 0, cfg.resources.food_regrow_prob, state.rng["regrowth"]
    )
    if placements is not None:
        _place_exactly(state, placements)
    elif cfg.spawn.mode == "concurrent":
        state.next_agent_id = spawn_concurrent(
            state.agents, state.material, state.occupant, state.edge_tiles, state.events, 0,
            state.next_agent_id, cfg.spawn.n_agents, cfg.spawn.n_populations,
            cfg.vitals.max_health, cfg.vitals.max_food, cfg.vitals.max_water,
        )  # fmt: skip
    else:
        spawn_agents(state)


def step(state: WorldState, actions: np.ndarray) -> None:
    """Advance the world by one tick. ``actions`` is a validated ``int32 [N, n_heads]``."""
    cfg, agents, events = state.config, state.agents, state.events
    v = cfg.vitals
    events.clear()
    state.tick += 1
    move_agents(
        agents, state.material, state.occupant, actions[:, ActionHead.MOVE], state.scratch, events,
        state.rng["movement"], v.immortal, cfg.map.border,
    )  # fmt: skip
    forage(
        agents, state.material, state.regrowth, events, state.rng["regrowth"], state.tick,
        v.max_food, v.max_water, cfg.resources.food_restore, cfg.resources.water_restore,
        cfg.resources.food_regrow_prob,
    )  # fmt: skip
    update_vitals(
        agents, v.food_decay, v.water_decay, v.starvation_damage, v.dehydration_damage,
        v.regen_threshold * v.max_food, v.regen_threshold * v.max_water, cfg.regen_amount,
        v.max_health, v.immortal,
    )  # fmt: skip
    remove_dead(agents, state.occupant, events, state.tick)
    regrow_resources(state.regrowth, state.material, state.tick)
    if cfg.spawn.mode == "continuous":
        spawn_agents(state)


def spawn_agents(state: WorldState) -> None:
    """Continuous spawning for the current tick."""
    cfg = state.config
    state.next_agent_id = spawn_continuous(
        state.agents, state.material, state.occupant, state.edge_tiles, state.events,
        state.rng["spawn"], state.tick, state.next_agent_id, cfg.spawn.attempts_per_tick,
        cfg.spawn.min_alive, cfg.spawn.n_populations,
        cfg.vitals.max_health, cfg.vitals.max_food, cfg.vitals.max_water,
    )  # fmt: skip


def _place_exactly(state: WorldState, placements: np.ndarray) -> None:
    cfg = state.config
    state.next_agent_id = place_agents(
        state.agents, state.occupant, state.events, np.asarray(placements, np.int64), 0,
        cfg.spawn.n_populations, cfg.vitals.max_health, cfg.vitals.max_food, cfg.vitals.max_water,
    )  # fmt: skip
