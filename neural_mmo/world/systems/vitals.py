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

from neural_mmo.world.events import DeathCause
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.systems.combat import in_combat


@kernel(inline=True)
def update_vitals(world: World, rules: Rules) -> None:
    """Apply one tick of decay, damage and regeneration to every living agent."""
    agents = world.agents
    now = world.clock[Clock.TICK]
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] or agents.death_cause[i] != 0:  # dead, or killed earlier this tick
            continue
        food = max(0, agents.food[i] - rules.vitals.food_decay)
        water = max(0, agents.water[i] - rules.vitals.water_decay)
        health = int(agents.health[i])
        cause = DeathCause.NONE
        if food == 0 or water == 0:
            if food == 0:
                health -= rules.vitals.starvation_damage
                if health <= 0:
                    cause = DeathCause.STARVATION
            if water == 0:
                health -= rules.vitals.dehydration_damage
                if health <= 0 and cause == DeathCause.NONE:
                    cause = DeathCause.DEHYDRATION
        elif (
            food > rules.derived.food_regen_above
            and water > rules.derived.water_regen_above
            and (
                rules.combat.regen_in_combat
                or not in_combat(now, agents.combat_tick[i], rules.combat.status_ticks)
            )
        ):
            health = min(int(agents.max_health[i]), health + rules.derived.regen_amount)
        if rules.vitals.immortal:
            health = max(1, health)
        elif health <= 0:
            health = 0
            agents.death_cause[i] = cause
        agents.food[i] = food
        agents.water[i] = water
        agents.health[i] = health
