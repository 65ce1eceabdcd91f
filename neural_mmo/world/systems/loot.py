"""Loot: what happens to the items and gold of an agent that dies (``item.enabled``).

Runs just before the dead leave the map, in slot order over the agents that died this tick.
With ``item.loot`` and a killer that is an agent still alive after this tick's damage (not dying
itself), the killer takes the victim's items, equipment first (in EquipSlot order), then the
inventory (in position order), then its listings on the exchange (in item-table order), each
into its own inventory as
:func:`~neural_mmo.world.items.move_to_inventory` allows (merging stacks of the same type and
level); whatever does not fit vanishes. It also takes all the victim's gold (a GOLD event, detail
LOOT). Without a killer agent (a death by the world, or by an NPC), or with ``item.loot`` off,
every item and all the gold of the dead vanish. A victim with items and a killer agent logs one
LOOT event (slot: the killer; other: the victim; value: item rows taken; detail: rows that
vanished). Nothing is ever duplicated: an item or a coin ends with the killer or nowhere.
"""

from __future__ import annotations

from neural_mmo.world.events import EventKind, GoldSource, log_pair
from neural_mmo.world.items import Place, destroy, move_to_inventory
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import World
from neural_mmo.world.systems.death import entity_id


@kernel(inline=True)
def _hand_over(world: World, k: int, heir: int, rules: Rules) -> bool:
    """Item row ``k`` into the heir's inventory (True), or out of the world (no heir, no room)."""
    if heir >= 0 and move_to_inventory(world.items, world.holdings, k, heir, rules.item.max_stack):
        return True
    destroy(world.items, world.holdings, k)
    return False


@kernel
def _leave_items(world: World, i: int, rules: Rules) -> None:
    agents, items, holdings = world.agents, world.items, world.holdings
    killer = agents.killer[i]
    n = agents.alive.shape[0]
    heir = -1
    if rules.item.loot and 0 <= killer < n and agents.alive[killer] and agents.death_cause[killer] == 0:
        heir = killer
    taken = 0
    lost = 0
    n_equip = holdings.equipment.shape[1]
    for place in range(n_equip + holdings.inventory.shape[1]):
        k = holdings.equipment[i, place] if place < n_equip else holdings.inventory[i, place - n_equip]
        if k >= 0:
            kept = _hand_over(world, k, heir, rules)
            taken += kept
            lost += not kept
    if world.market.listed.shape[0] > 0 and world.market.listed[i] > 0:  # its listings, last
        left = world.market.listed[i]
        for k in range(items.alive.shape[0]):
            if left == 0:
                break
            if items.alive[k] and items.place[k] == Place.LISTED and items.owner[k] == i:
                left -= 1
                kept = _hand_over(world, k, heir, rules)
                taken += kept
                lost += not kept
        world.market.listed[i] = 0
    gold = world.gold[i]
    world.gold[i] = 0
    if heir >= 0 and gold > 0:
        world.gold[heir] += gold
        log_pair(world.events, EventKind.GOLD, heir, agents.agent_id[heir], agents.r[heir], agents.c[heir],
                 gold, i, agents.agent_id[i], GoldSource.LOOT)  # fmt: skip
    if heir >= 0 and taken + lost > 0:
        log_pair(world.events, EventKind.LOOT, heir, agents.agent_id[heir], agents.r[heir], agents.c[heir],
                 taken, i, entity_id(agents, world.npcs, i), lost)  # fmt: skip


@kernel(inline=True)
def leave_items(world: World, rules: Rules) -> None:
    """The items of every agent dying this tick go to its killer or vanish (module docs)."""
    if not rules.item.enabled:
        return
    agents = world.agents
    for i in range(agents.alive.shape[0]):
        if agents.alive[i] and agents.death_cause[i] != 0:
            _leave_items(world, i, rules)
