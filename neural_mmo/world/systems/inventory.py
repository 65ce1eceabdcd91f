"""Using items (``item.enabled``): the ``use`` head equips, takes off and consumes.

The command names a row of the agent's ``items`` observation (equipment rows in EquipSlot order,
then inventory positions; :class:`~neural_mmo.world.items.ItemView`):

* an equipment row: take that item off into the first empty inventory position (needs one);
* an inventory row holding a weapon, tool, armour or ammunition: put it on, if the agent's level
  in the skill the type requires (:data:`~neural_mmo.world.items.REQUIRES`: the style for weapons
  and ammunition, defence for armour, the gathering skill for tools) is at least the item's level;
  what was worn in that slot goes to the position it leaves (a swap);
* an inventory row holding a ration: eat one, restoring ``ration_restore + restore_per_item_level x
  (level - 1)`` food and as much water; a potion: drink one, restoring as much health (``potion_
  restore`` instead); never above the maxima.

Anything else (an empty row, a requirement not met, no room to take something off) is a no-op,
and the action mask allows only what would happen. Uses resolve in slot order before any attack,
so a potion drunk this tick heals before this tick's damage and a weapon put on strikes this tick.
Events: EQUIP, UNEQUIP, CONSUME (value: the level, or the amount restored; other_id: the item's
id; detail: its ItemType).
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.commands import Command
from neural_mmo.world.events import EventKind, log_pair
from neural_mmo.world.items import (
    EQUIP_SLOT,
    REQUIRES,
    ItemType,
    consume,
    equip,
    free_inventory_slot,
    unequip,
)
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.tables import N_SKILLS


@kernel(inline=True)
def skill_level(agent_level: np.ndarray, profession_level: np.ndarray, i: int, code: int) -> int:
    """Agent ``i``'s level in skill code ``code`` (a Skill, or N_SKILLS + Profession; a profession
    counts as level 1 in a world without professions). Takes the level columns, not the world:
    numba reference-counts every array of a record handed to a function, which on these per-row
    paths (the mask asks for every row of every agent) would cost more than the rule."""
    if code < N_SKILLS:
        return int(agent_level[i, code])
    if profession_level.shape[1] == 0:
        return 1
    return int(profession_level[i, code - N_SKILLS])


@kernel(inline=True)
def usable(
    item_type: np.ndarray, item_level: np.ndarray, inventory: np.ndarray, equipment: np.ndarray,
    agent_level: np.ndarray, profession_level: np.ndarray, i: int, row: int, has_room: bool,
) -> bool:  # fmt: skip
    """Whether using row ``row`` of agent ``i``'s items observation would do something
    (``has_room``: its inventory has an empty position)."""
    n_equip = equipment.shape[1]
    if row < 0 or row >= n_equip + inventory.shape[1]:
        return False
    if row < n_equip:
        return equipment[i, row] >= 0 and has_room
    k = inventory[i, row - n_equip]
    if k < 0:
        return False
    t = item_type[k]
    if t == ItemType.RATION or t == ItemType.POTION:
        return True
    return EQUIP_SLOT[t] >= 0 and skill_level(agent_level, profession_level, i, REQUIRES[t]) >= item_level[k]


@kernel
def _use(world: World, i: int, row: int, rules: Rules) -> None:
    agents, items, holdings, events = world.agents, world.items, world.holdings, world.events
    n_equip = holdings.equipment.shape[1]
    k = holdings.equipment[i, row] if row < n_equip else holdings.inventory[i, row - n_equip]
    t = items.type[k]
    level = int(items.level[k])
    item_id = items.item_id[k]
    if row < n_equip:
        unequip(items, holdings, i, row)
        log_pair(
            events, EventKind.UNEQUIP, i, agents.agent_id[i], agents.r[i], agents.c[i], level, -1, item_id, t
        )
        return
    if EQUIP_SLOT[t] >= 0:
        equip(items, holdings, i, row - n_equip)
        log_pair(
            events, EventKind.EQUIP, i, agents.agent_id[i], agents.r[i], agents.c[i], level, -1, item_id, t
        )
        return
    if t == ItemType.RATION:
        amount = rules.item.ration_restore + rules.item.restore_per_item_level * (level - 1)
        food = min(rules.vitals.max_food, agents.food[i] + amount) - agents.food[i]
        water = min(rules.vitals.max_water, agents.water[i] + amount) - agents.water[i]
        agents.food[i] += food
        agents.water[i] += water
        restored = food + water
    else:
        amount = rules.item.potion_restore + rules.item.restore_per_item_level * (level - 1)
        restored = min(agents.max_health[i], agents.health[i] + amount) - agents.health[i]
        agents.health[i] += restored
    consume(items, holdings, k, 1)
    log_pair(
        events, EventKind.CONSUME, i, agents.agent_id[i], agents.r[i], agents.c[i], restored, -1, item_id, t
    )


@kernel(inline=True)
def use_items(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Each living agent's use command, in slot order (module docs)."""
    if not rules.item.enabled:
        return
    agents, items, holdings = world.agents, world.items, world.holdings
    inventory, equipment, profession_level = holdings.inventory, holdings.equipment, world.professions.level
    for i in range(agents.alive.shape[0]):
        row = commands[i, Command.USE]
        if row < 0 or not agents.alive[i]:
            continue
        room = free_inventory_slot(holdings, i) >= 0
        if usable(
            items.type, items.level, inventory, equipment, agents.level, profession_level, i, row, room
        ):
            _use(world, i, row, rules)


@kernel
def write_use_mask(world: World, touched: np.ndarray, mask: np.ndarray) -> None:
    """The ``use`` head's part of the action mask (``mask``: ``[N, 1 + rows]``) of every shown
    agent slot ``i`` with ``touched[i]``: the no-op, and each row :func:`usable` allows (none for
    an agent that died this tick).

    The rule of :func:`usable`, written out as plain loops: a call per row, even inlined, costs
    numba a reference count of each array it is handed, several times the rule itself
    (``tests/scenarios/test_item_rules.py`` checks that both agree)."""
    agents, items = world.agents, world.items
    inventory, equipment = world.holdings.inventory, world.holdings.equipment
    agent_level, profession_level = agents.level, world.professions.level
    has_professions = profession_level.shape[1] > 0
    n_equip = equipment.shape[1]
    tick = world.clock[Clock.TICK]
    for i in range(mask.shape[0]):
        alive = agents.alive[i]
        if not touched[i] or (not alive and agents.death_tick[i] != tick):
            continue
        mask[i, 0] = 1
        room = False
        for s in range(inventory.shape[1]):
            k = inventory[i, s]
            room |= k < 0
            ok = False
            if alive and k >= 0:
                t = items.type[k]
                if t == ItemType.RATION or t == ItemType.POTION:
                    ok = True
                elif EQUIP_SLOT[t] >= 0:
                    code = REQUIRES[t]
                    if code < N_SKILLS:
                        level = agent_level[i, code]
                    elif has_professions:
                        level = profession_level[i, code - N_SKILLS]
                    else:
                        level = 1
                    ok = level >= items.level[k]
            mask[i, 1 + n_equip + s] = ok
        for e in range(n_equip):
            mask[i, 1 + e] = alive and room and equipment[i, e] >= 0
