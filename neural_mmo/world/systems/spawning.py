"""Spawning: where and when agents enter the world.

* continuous: every tick, ``attempts_per_tick`` attempts at uniformly random tiles of the playable
  area's outer ring; an attempt succeeds on a free, spawnable tile (not lava, water or stone) when
  a slot is free. Then, while fewer than ``min_alive`` agents live, attempts continue (at most
  ``4 * ring length`` extra draws, then a scan of the ring) so the world is never empty.
* concurrent: at reset, ``n_agents`` agents evenly spaced along the ring; an agent whose tile is
  taken or unspawnable goes to the next good tile clockwise (then anywhere on the map, scanning
  row by row, if the ring is full).

A new agent takes the lowest free slot that did not lose its agent this tick, gets the next
global id, population ``id % n_populations``, and full health, food and water.
"""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.world.events import EventKind, EventLog, log_event
from neural_mmo.world.materials import SPAWNABLE
from neural_mmo.world.rng import below
from neural_mmo.world.tables import AgentTable


@numba.njit(cache=True)
def _free_slot(agents: AgentTable, tick: int) -> int:
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] and agents.death_tick[i] != tick:
            return i
    return -1


@numba.njit(cache=True)
def _can_spawn(material: np.ndarray, occupant: np.ndarray, r: int, c: int) -> bool:
    return SPAWNABLE[material[r, c]] and occupant[r, c] < 0


@numba.njit(cache=True)
def _place(
    agents: AgentTable,
    occupant: np.ndarray,
    events: EventLog,
    slot: int,
    agent_id: int,
    r: int,
    c: int,
    tick: int,
    n_populations: int,
    max_health: int,
    max_food: int,
    max_water: int,
) -> None:
    population = agent_id % n_populations
    agents.alive[slot] = True
    agents.agent_id[slot] = agent_id
    agents.population[slot] = population
    agents.r[slot] = r
    agents.c[slot] = c
    agents.health[slot] = max_health
    agents.food[slot] = max_food
    agents.water[slot] = max_water
    agents.spawn_tick[slot] = tick
    agents.death_cause[slot] = 0
    occupant[r, c] = slot
    log_event(events, EventKind.SPAWN, slot, agent_id, r, c, population)


@numba.njit(cache=True)
def spawn_continuous(
    agents: AgentTable,
    material: np.ndarray,
    occupant: np.ndarray,
    edge_tiles: np.ndarray,
    events: EventLog,
    rng: np.ndarray,
    tick: int,
    next_id: int,
    attempts: int,
    min_alive: int,
    n_populations: int,
    max_health: int,
    max_food: int,
    max_water: int,
) -> int:
    """One tick of continuous spawning (see module docs). Returns the next free agent id."""
    n_edge = edge_tiles.shape[0]
    alive = 0
    for i in range(agents.alive.shape[0]):
        alive += agents.alive[i]
    extra = 4 * n_edge
    k = 0
    while k < attempts or (alive < min_alive and k < attempts + extra):
        k += 1
        slot = _free_slot(agents, tick)
        if slot < 0:
            return next_id
        pick = below(rng, n_edge)
        r = edge_tiles[pick, 0]
        c = edge_tiles[pick, 1]
        if _can_spawn(material, occupant, r, c):
            _place(
                agents,
                occupant,
                events,
                slot,
                next_id,
                r,
                c,
                tick,
                n_populations,
                max_health,
                max_food,
                max_water,
            )
            next_id += 1
            alive += 1
    if alive < min_alive:
        for e in range(n_edge):
            slot = _free_slot(agents, tick)
            if slot < 0 or alive >= min_alive:
                break
            r = edge_tiles[e, 0]
            c = edge_tiles[e, 1]
            if _can_spawn(material, occupant, r, c):
                _place(
                    agents,
                    occupant,
                    events,
                    slot,
                    next_id,
                    r,
                    c,
                    tick,
                    n_populations,
                    max_health,
                    max_food,
                    max_water,
                )
                next_id += 1
                alive += 1
    return next_id


@numba.njit(cache=True)
def spawn_concurrent(
    agents: AgentTable,
    material: np.ndarray,
    occupant: np.ndarray,
    edge_tiles: np.ndarray,
    events: EventLog,
    tick: int,
    next_id: int,
    n_agents: int,
    n_populations: int,
    max_health: int,
    max_food: int,
    max_water: int,
) -> int:
    """Place ``n_agents`` agents evenly along the ring (see module docs). Returns the next id."""
    n_edge = edge_tiles.shape[0]
    for a in range(n_agents):
        slot = _free_slot(agents, tick)
        if slot < 0:
            break
        start = (a * n_edge) // n_agents
        placed = False
        for j in range(n_edge):
            k = (start + j) % n_edge
            r = edge_tiles[k, 0]
            c = edge_tiles[k, 1]
            if _can_spawn(material, occupant, r, c):
                _place(
                    agents,
                    occupant,
                    events,
                    slot,
                    next_id,
                    r,
                    c,
                    tick,
                    n_populations,
                    max_health,
                    max_food,
                    max_water,
                )
                placed = True
                break
        if not placed:
            for r in range(material.shape[0]):
                for c in range(material.shape[1]):
                    if not placed and _can_spawn(material, occupant, r, c):
                        _place(
                            agents,
                            occupant,
                            events,
                            slot,
                            next_id,
                            r,
                            c,
                            tick,
                            n_populations,
                            max_health,
                            max_food,
                            max_water,
                        )
                        placed = True
        if not placed:
            break
        next_id += 1
    return next_id


@numba.njit(cache=True)
def place_agents(
    agents: AgentTable,
    occupant: np.ndarray,
    events: EventLog,
    positions: np.ndarray,
    tick: int,
    n_populations: int,
    max_health: int,
    max_food: int,
    max_water: int,
) -> int:
    """Put agent ``k`` in slot ``k`` at ``positions[k]`` (scenario maps). Returns the next id."""
    for k in range(positions.shape[0]):
        _place(
            agents,
            occupant,
            events,
            k,
            k,
            positions[k, 0],
            positions[k, 1],
            tick,
            n_populations,
            max_health,
            max_food,
            max_water,
        )
    return positions.shape[0]
