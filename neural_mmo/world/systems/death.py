"""Death: agents marked dead by any system this tick leave the map and free their slot.

The DEATH event names the cause and, for a combat death, the killer (``other``: its entity
number, ``other_id``: its id). NPCs killed this tick leave the map too.
"""

from __future__ import annotations

from neural_mmo.world.events import EventKind, log_pair
from neural_mmo.world.kernel import kernel
from neural_mmo.world.state import Clock, World
from neural_mmo.world.tables import AgentTable, NpcTable


@kernel
def entity_id(agents: AgentTable, npcs: NpcTable, entity: int) -> int:
    """The global id of an entity number (agent id or NPC id), -1 for none."""
    n = agents.alive.shape[0]
    if entity < 0:
        return -1
    return agents.agent_id[entity] if entity < n else npcs.npc_id[entity - n]


@kernel(inline=True)
def remove_dead(world: World) -> int:
    """Remove every living agent with a death cause set; log its death. Returns deaths."""
    agents, npcs, occupant, events = world.agents, world.npcs, world.occupant, world.events
    tick = world.clock[Clock.TICK]
    deaths = 0
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] or agents.death_cause[i] == 0:
            continue
        r = agents.r[i]
        c = agents.c[i]
        if occupant[r, c] == i:
            occupant[r, c] = -1
        agents.alive[i] = False
        agents.health[i] = 0
        agents.death_tick[i] = tick
        killer = agents.killer[i]
        log_pair(events, EventKind.DEATH, i, agents.agent_id[i], r, c, agents.death_cause[i],
                 killer, entity_id(agents, npcs, killer), 0)  # fmt: skip
        deaths += 1
    return deaths


@kernel(inline=True)
def remove_dead_npcs(world: World) -> None:
    """NPCs killed this tick leave the map and free their slot (their KILL was logged)."""
    npcs, occupant = world.npcs, world.occupant
    n_agents = world.agents.alive.shape[0]
    now = world.clock[Clock.TICK]
    for j in range(npcs.alive.shape[0]):
        if not npcs.alive[j] or npcs.death_cause[j] == 0:
            continue
        if occupant[npcs.r[j], npcs.c[j]] == n_agents + j:
            occupant[npcs.r[j], npcs.c[j]] = -1
        npcs.alive[j] = False
        npcs.health[j] = 0
        npcs.target[j] = -1
        npcs.target_id[j] = -1
        npcs.death_tick[j] = now
