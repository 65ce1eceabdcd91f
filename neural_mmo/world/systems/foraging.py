"""Foraging: eat by standing on forest (which then depletes to scrub), drink next to water.

Drinking needs one of the four orthogonal neighbours to be drinkable; water never runs out.
A depleted tile is handed to :mod:`neural_mmo.world.systems.regrowth` to come back later.
A meal restores ``food_restore + floor(restore_per_level (hunting - 1))`` food and a drink
``water_restore + floor(restore_per_level (fishing - 1))`` water (never above the max); one
that restored something gives ``forage_xp`` to hunting (fishing).
"""

from __future__ import annotations

from neural_mmo.world.events import EventKind, log_event
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import DEPLETES_TO, DRINKABLE, FOOD
from neural_mmo.world.rng import Stream
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.systems.progression import Skill, gain_xp
from neural_mmo.world.systems.regrowth import schedule_regrowth


@kernel(inline=True)
def forage(world: World, rules: Rules) -> None:
    """Every living agent eats where it stands and drinks from adjacent water, in slot order."""
    agents, material, regrowth, events = world.agents, world.material, world.regrowth, world.events
    rng = world.streams[Stream.REGROWTH]
    tick = world.clock[Clock.TICK]
    side = material.shape[1]
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i] or agents.death_cause[i] != 0:  # dead, or killed earlier this tick
            continue
        r = agents.r[i]
        c = agents.c[i]
        m = material[r, c]
        if FOOD[m]:
            restore = rules.resources.food_restore + int(
                rules.progression.restore_per_level * (agents.level[i, Skill.HUNTING] - 1)
            )
            gained = min(rules.vitals.max_food, agents.food[i] + restore) - agents.food[i]
            agents.food[i] += gained
            material[r, c] = DEPLETES_TO[m]
            schedule_regrowth(regrowth, r * side + c, tick, rules.resources.food_regrow_prob, rng)
            log_event(events, EventKind.EAT, i, agents.agent_id[i], r, c, gained)
            if gained > 0:
                gain_xp(
                    agents.xp,
                    agents.level,
                    agents.max_health,
                    i,
                    Skill.HUNTING,
                    rules.progression.forage_xp,
                    1.0,
                    agents.agent_id[i],
                    r,
                    c,
                    events,
                    rules,
                )
        if (
            DRINKABLE[material[r - 1, c]]
            or DRINKABLE[material[r + 1, c]]
            or DRINKABLE[material[r, c - 1]]
            or DRINKABLE[material[r, c + 1]]
        ):
            restore = rules.resources.water_restore + int(
                rules.progression.restore_per_level * (agents.level[i, Skill.FISHING] - 1)
            )
            gained = min(rules.vitals.max_water, agents.water[i] + restore) - agents.water[i]
            agents.water[i] += gained
            log_event(events, EventKind.DRINK, i, agents.agent_id[i], r, c, gained)
            if gained > 0:
                gain_xp(
                    agents.xp,
                    agents.level,
                    agents.max_health,
                    i,
                    Skill.FISHING,
                    rules.progression.forage_xp,
                    1.0,
                    agents.agent_id[i],
                    r,
                    c,
                    events,
                    rules,
                )
