"""NPC drops: what an agent earns by killing an NPC (``item.enabled``).

Runs after the attacks of agents and NPCs, over the NPCs killed this tick whose killing blow came
from an agent (in NPC slot order):

* the killer earns ``item.npc_gold`` x the NPC's level in gold (a GOLD event, detail NPC);
* with chance ``item.drop_chance`` (one draw of the combat stream per such NPC) the NPC also leaves
  a weapon, tool or piece of armour (a uniform draw over the eleven types from spear to bottom) at
  level ``min(item.max_level, 1 + (NPC level - 1) // item.drop_levels)``, put in the killer's
  inventory if it fits, else lost (a DROP event when it is kept).

Gold is never negative and changes only here (earned), in loot (handed from a killed agent to its
killer, or lost with a death without one: :mod:`neural_mmo.world.systems.loot`) and, later, trades.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.events import EventKind, GoldSource, log_pair
from neural_mmo.world.items import ItemType, create_item
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rng import Stream, below, uniform
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World

DROPPABLE = int(ItemType.BOTTOM)
"""NPCs drop item types 1 .. DROPPABLE: weapons, tools and armour."""


@kernel
def _reward(world: World, j: int, killer: int, rules: Rules) -> None:
    agents, npcs = world.agents, world.npcs
    n = agents.alive.shape[0]
    level = int(npcs.level[j, 0])
    gold = rules.item.npc_gold * level
    r, c, agent_id = agents.r[killer], agents.c[killer], agents.agent_id[killer]
    if gold > 0:
        world.gold[killer] += gold
        log_pair(
            world.events, EventKind.GOLD, killer, agent_id, r, c, gold, n + j, npcs.npc_id[j], GoldSource.NPC
        )
    rng = world.streams[Stream.COMBAT]
    if rules.item.drop_chance <= 0.0 or uniform(rng) >= rules.item.drop_chance:
        return
    type_ = 1 + below(rng, DROPPABLE)
    item_level = min(rules.item.max_level, 1 + (level - 1) // rules.item.drop_levels)
    k = create_item(
        world.items, world.holdings, world.item_ids, killer, type_, item_level, 1, rules.item.max_stack
    )
    if k >= 0:
        item_id = world.items.item_id[k]
        log_pair(world.events, EventKind.DROP, killer, agent_id, r, c, item_level, n + j, item_id, type_)


@kernel(inline=True)
def npc_drops(world: World, rules: Rules) -> None:
    """Gold and items for the agents that killed NPCs this tick (module docs)."""
    if not rules.item.enabled:
        return
    npcs = world.npcs
    n = world.agents.alive.shape[0]
    for j in range(npcs.alive.shape[0]):
        if npcs.alive[j] and npcs.death_cause[j] != 0 and 0 <= npcs.killer[j] < n:
            _reward(world, j, npcs.killer[j], rules)


@kernel
def write_gold_view(world: World, out: np.ndarray) -> None:
    """``out[i, 0]``: the gold of every agent slot shown this tick (saturated at 32767); other
    slots are zeroed."""
    agents = world.agents
    tick = world.clock[Clock.TICK]
    for i in range(out.shape[0]):
        shown = agents.alive[i] or agents.death_tick[i] == tick
        out[i, 0] = min(world.gold[i], 32767) if shown else 0
