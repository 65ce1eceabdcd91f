"""Spawning: where and when agents enter the world.

* continuous: every tick but the episode's last (an agent born then would never act),
  ``attempts_per_tick`` attempts at uniformly random tiles of the playable area's outer ring; an
  attempt succeeds on a free, spawnable tile (not lava, water or stone) when a slot is free.
  Then, while fewer than ``min_alive`` agents live, attempts continue (at most
  ``4 * ring length`` extra draws, then a scan of the ring) so the world is not left empty. It
  can only end up empty when every slot was emptied on the same tick (a slot is not refilled on
  the tick its agent died) or no ring tile is spawnable; the episode then ends.
* concurrent: at reset, ``n_agents`` agents (``cap`` when set) evenly spaced along the ring; an
  agent whose tile is taken or unspawnable goes to the next good tile clockwise (then anywhere on
  the map, scanning row by row within the playable area, if the ring is full).

A world's ``spawn.cap`` (when above 0) bounds the agents alive at once below the slots: no spawn
happens while that many live, and ``min_alive`` counts up to the cap at most. (A VecEnv with
``spawn.sample_cap`` gives each world and episode its own cap.)

Nobody spawns on the *closed rings*: the outer ``closed_rings`` rings of the playable area, which
systems may close for the tick (reopened as each tick begins; a system raises the count). While
the edge ring is closed, continuous spawning, which uses only it, stops (no draws are made).

A new agent takes the lowest free slot that did not lose its agent this tick, gets the next
global id, population ``id % n_populations``, full health, food and water, and every skill at
level 1.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.events import EventKind, log_event
from neural_mmo.world.geometry import in_square
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import SPAWNABLE
from neural_mmo.world.rng import Stream, below
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.tables import NEVER, AgentTable


@kernel(inline=True)
def _free_slot(agents: AgentTable, tick: int) -> int:
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] and agents.death_tick[i] != tick:
            return i
    return -1


@kernel(inline=True)
def room_for(agents: AgentTable, rules: Rules) -> int:
    """Most agents alive at once: ``spawn.cap`` when set (and below the slots), else every slot."""
    n = agents.alive.shape[0]
    cap = rules.spawn.cap
    return cap if 0 < cap < n else n


OPEN = (0, 2**62)
""":func:`open_square` while no ring is closed: every tile of any grid is open."""


@kernel(inline=True)
def open_square(world: World, rules: Rules) -> tuple[int, int]:
    """First and last row (and column) of the square where things may spawn this tick, on the
    stored grid (border included), inclusive: the playable area less its closed rings."""
    rings = world.closed_rings[0]
    if rings <= 0:
        return OPEN
    return rules.map.border + rings, rules.map.border + rules.map.size - 1 - rings


@kernel(inline=True)
def _can_spawn(material: np.ndarray, occupant: np.ndarray, r: int, c: int, lo: int, hi: int) -> bool:
    """A free, spawnable tile inside the open square ``lo .. hi`` (see :func:`open_square`)."""
    return SPAWNABLE[material[r, c]] and occupant[r, c] < 0 and in_square(r, c, lo, hi)


@kernel(inline=True)
def _place(world: World, slot: int, r: int, c: int, rules: Rules) -> None:
    """Put the next agent id in ``slot`` at ``(r, c)`` with full vitals."""
    agents, clock = world.agents, world.clock
    agent_id = clock[Clock.NEXT_ID]
    clock[Clock.NEXT_ID] = agent_id + 1
    population = agent_id % rules.spawn.n_populations
    agents.alive[slot] = True
    agents.agent_id[slot] = agent_id
    agents.population[slot] = population
    agents.r[slot] = r
    agents.c[slot] = c
    agents.health[slot] = rules.vitals.max_health
    agents.max_health[slot] = rules.vitals.max_health
    agents.food[slot] = rules.vitals.max_food
    agents.water[slot] = rules.vitals.max_water
    agents.level[slot, :] = 1
    agents.xp[slot, :] = 0
    world.professions.level[slot, :] = 1  # no columns while professions are off
    world.professions.xp[slot, :] = 0
    if world.gold.shape[0] > 0:  # items on
        world.gold[slot] = 0
    agents.style[slot] = 0
    agents.freeze_until[slot] = NEVER
    agents.combat_tick[slot] = NEVER
    agents.killer[slot] = -1
    agents.spawn_tick[slot] = clock[Clock.TICK]
    agents.death_cause[slot] = 0
    world.occupant[r, c] = slot
    log_event(world.events, EventKind.SPAWN, slot, agent_id, r, c, population)


@kernel(inline=True)
def spawn_continuous(world: World, rules: Rules) -> None:
    """One tick of continuous spawning (see module docs)."""
    agents, material, occupant, edge_tiles = world.agents, world.material, world.occupant, world.edge_tiles
    rng = world.streams[Stream.SPAWN]
    tick = world.clock[Clock.TICK]
    if world.closed_rings[0] > 0:  # the edge ring is closed
        return
    lo, hi = open_square(world, rules)
    n_edge = edge_tiles.shape[0]
    room = room_for(agents, rules)
    min_alive = min(rules.spawn.min_alive, room)
    alive = 0
    for i in range(agents.alive.shape[0]):
        alive += agents.alive[i]
    extra = 4 * n_edge
    k = 0
    while k < rules.spawn.attempts_per_tick or (
        alive < min_alive and k < rules.spawn.attempts_per_tick + extra
    ):
        k += 1
        if alive >= room:
            return
        slot = _free_slot(agents, tick)
        if slot < 0:
            return
        pick = below(rng, n_edge)
        r = edge_tiles[pick, 0]
        c = edge_tiles[pick, 1]
        if _can_spawn(material, occupant, r, c, lo, hi):
            _place(world, slot, r, c, rules)
            alive += 1
    for e in range(n_edge):
        if alive >= min_alive:
            break
        slot = _free_slot(agents, tick)
        if slot < 0:
            break
        r = edge_tiles[e, 0]
        c = edge_tiles[e, 1]
        if _can_spawn(material, occupant, r, c, lo, hi):
            _place(world, slot, r, c, rules)
            alive += 1


@kernel
def spawn_concurrent(world: World, rules: Rules) -> None:
    """Place ``rules.spawn.n_agents`` agents (the cap, when set) evenly along the ring (see module docs)."""
    agents, material, occupant, edge_tiles = world.agents, world.material, world.occupant, world.edge_tiles
    tick = world.clock[Clock.TICK]
    safe_lo, safe_hi = open_square(world, rules)
    n_edge = edge_tiles.shape[0]
    lo = rules.map.border
    size = material.shape[0] - 2 * rules.map.border
    cursor = 0  # row-major position in the playable area where the fallback scan resumes
    count = min(rules.spawn.n_agents, room_for(agents, rules))
    for a in range(count):
        slot = _free_slot(agents, tick)
        if slot < 0:
            return
        start = (a * n_edge) // count
        placed = False
        for j in range(n_edge):
            k = (start + j) % n_edge
            r = edge_tiles[k, 0]
            c = edge_tiles[k, 1]
            if _can_spawn(material, occupant, r, c, safe_lo, safe_hi):
                _place(world, slot, r, c, rules)
                placed = True
                break
        while not placed and cursor < size * size:
            r = lo + cursor // size
            c = lo + cursor % size
            cursor += 1
            if _can_spawn(material, occupant, r, c, safe_lo, safe_hi):
                _place(world, slot, r, c, rules)
                placed = True
        if not placed:
            return


@kernel
def place_agents(world: World, positions: np.ndarray, rules: Rules) -> None:
    """Put agent ``k`` in slot ``k`` at ``positions[k]`` (hand-made maps and scenario tests)."""
    for k in range(positions.shape[0]):
        _place(world, k, positions[k, 0], positions[k, 1], rules)
