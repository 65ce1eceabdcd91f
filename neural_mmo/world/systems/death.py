"""Death: agents marked dead by any system this tick leave the map and free their slot."""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.world.events import EventKind, EventLog, log_event
from neural_mmo.world.tables import AgentTable


@numba.njit(cache=True)
def remove_dead(agents: AgentTable, occupant: np.ndarray, events: EventLog, tick: int) -> int:
    """Remove every living agent with a death cause set; log its death. Returns deaths."""
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
        log_event(events, EventKind.DEATH, i, agents.agent_id[i], r, c, agents.death_cause[i])
        deaths += 1
    return deaths
