"""Vitals: food and water decay; an empty stomach or flask hurts; a full one heals.

Per tick, for each living agent, in this order:
1. food -= food_decay, water -= water_decay (never below 0);
2. if food == 0: health -= starvation_damage; if water == 0: health -= dehydration_damage;
3. otherwise, if food > regen_threshold * max_food and water > regen_threshold * max_water, and
   the agent is not in combat (unless ``combat.regen_in_combat``): health += regen_amount (never
   above the agent's max health, which grows with constitution).
An agent whose health reaches 0 dies of starvation if the food damage took it there, else of
dehydration. With ``vitals.immortal`` health never drops below 1.
"""

from __future__ import annotations

import numba

from neural_mmo.world.events import DeathCause
from neural_mmo.world.params import Params
from neural_mmo.world.systems.combat import in_combat
from neural_mmo.world.tables import AgentTable


@numba.njit(cache=True)
def update_vitals(agents: AgentTable, now: int, p: Params) -> None:
    """Apply one tick of decay, damage and regeneration to every living agent."""
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] or agents.death_cause[i] != 0:  # dead, or killed earlier this tick
            continue
        food = max(0, agents.food[i] - p.food_decay)
        water = max(0, agents.water[i] - p.water_decay)
        health = int(agents.health[i])
        cause = DeathCause.NONE
        if food == 0 or water == 0:
            if food == 0:
                health -= p.starvation_damage
                if health <= 0:
                    cause = DeathCause.STARVATION
            if water == 0:
                health -= p.dehydration_damage
                if health <= 0 and cause == DeathCause.NONE:
                    cause = DeathCause.DEHYDRATION
        elif (
            food > p.food_regen_above
            and water > p.water_regen_above
            and (p.regen_in_combat or not in_combat(now, agents.combat_tick[i], p.status_ticks))
        ):
            health = min(int(agents.max_health[i]), health + p.regen_amount)
        if p.immortal:
            health = max(1, health)
        elif health <= 0:
            health = 0
            agents.death_cause[i] = cause
        agents.food[i] = food
        agents.water[i] = water
        agents.health[i] = health
