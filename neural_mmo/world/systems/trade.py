"""Trade between agents (``item.enabled``): destroy an item, give an item, give gold.

Each living agent's trade commands resolve in slot order, right after the use head, in this order
per agent: destroy, give, give gold.

* **destroy** (``Command.DESTROY``, an inventory position): the item (the whole stack) leaves the
  world. A DESTROY event (value: the quantity; other_id: the item's id; detail: ItemType).
* **give** (``Command.GIVE``, an inventory position, to ``Command.GIVE_TO``, an agent slot): the
  whole row goes to the receiver, which must be another living agent within ``item.give_reach``
  tiles (Chebyshev distance) with an empty inventory position; it is merged into a stack of the
  same type and level with room if the receiver has one. A GIVE event for the giver (value:
  quantity; other: the receiver; other_id: its agent id; detail: ItemType).
* **give gold** (``Command.GOLD``, an amount, to ``Command.GOLD_TO``): needs at least that much gold
  and another living agent within reach; the amount moves from giver to receiver. Two GOLD events:
  the giver's (negative value) and the receiver's (detail ``GoldSource.GIFT``).

Anything else (an empty position, a target out of reach, dead or oneself, a full inventory, too
little gold, a non-positive amount) is a no-op, and the action masks allow only what would happen
(:func:`write_trade_masks`). Nothing is created: items and gold only move, or leave the world by
destroy.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.world.commands import Command
from neural_mmo.world.events import EventKind, GoldSource, log_pair
from neural_mmo.world.items import destroy, move_to_inventory
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World


@kernel(inline=True)
def in_reach(alive: np.ndarray, r: np.ndarray, c: np.ndarray, i: int, j: int, reach: int) -> bool:
    """Whether agent slot ``j`` is another living agent within ``reach`` tiles of agent ``i``
    (columns, not the table: this runs per entity row of every mask)."""
    if j < 0 or j >= alive.shape[0] or j == i or not alive[j]:
        return False
    return abs(int(r[j]) - int(r[i])) <= reach and abs(int(c[j]) - int(c[i])) <= reach


@kernel(inline=True)
def has_room(inventory: np.ndarray, j: int) -> bool:
    """Whether agent ``j``'s inventory has an empty position."""
    for s in range(inventory.shape[1]):
        if inventory[j, s] < 0:
            return True
    return False


@kernel
def _trade(world: World, i: int, command: np.ndarray, rules: Rules) -> None:
    agents, items, holdings, events = world.agents, world.items, world.holdings, world.events
    slots = holdings.inventory.shape[1]
    r, c, me = agents.r[i], agents.c[i], agents.agent_id[i]
    s = command[Command.DESTROY]
    if 0 <= s < slots and holdings.inventory[i, s] >= 0:
        k = holdings.inventory[i, s]
        quantity, item_id, t = int(items.quantity[k]), items.item_id[k], int(items.type[k])
        destroy(items, holdings, k)
        log_pair(events, EventKind.DESTROY, i, me, r, c, quantity, -1, item_id, t)
    s, j = command[Command.GIVE], command[Command.GIVE_TO]
    reach = rules.item.give_reach
    if (
        0 <= s < slots and holdings.inventory[i, s] >= 0
        and in_reach(agents.alive, agents.r, agents.c, i, j, reach) and has_room(holdings.inventory, j)
    ):  # fmt: skip
        k = holdings.inventory[i, s]
        quantity, t = int(items.quantity[k]), int(items.type[k])
        move_to_inventory(items, holdings, k, j, rules.item.max_stack)
        log_pair(events, EventKind.GIVE, i, me, r, c, quantity, j, agents.agent_id[j], t)
    amount, j = command[Command.GOLD], command[Command.GOLD_TO]
    if amount > 0 and world.gold[i] >= amount and in_reach(agents.alive, agents.r, agents.c, i, j, reach):
        world.gold[i] -= amount
        world.gold[j] += amount
        log_pair(events, EventKind.GOLD, i, me, r, c, -amount, j, agents.agent_id[j], GoldSource.GIFT)
        log_pair(events, EventKind.GOLD, j, agents.agent_id[j], agents.r[j], agents.c[j], amount, i, me,
                 GoldSource.GIFT)  # fmt: skip


@kernel(inline=True)
def trade(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Each living agent's destroy, give and give-gold commands, in slot order (module docs)."""
    if not rules.item.enabled:
        return
    agents = world.agents
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i]:
            continue
        command = commands[i]
        if command[Command.DESTROY] >= 0 or command[Command.GIVE] >= 0 or command[Command.GOLD] > 0:
            _trade(world, i, command, rules)


@kernel
def write_trade_masks(
    world: World, entity_slot: np.ndarray, destroy_mask: np.ndarray, give_mask: np.ndarray,
    give_to_mask: np.ndarray, gold_mask: np.ndarray, gold_to_mask: np.ndarray, reach: int,
) -> None:  # fmt: skip
    """The masks of the destroy and give (``[N, 1 + slots]``: value ``1 + s`` names inventory
    position ``s``), give-gold (``[N, 1 + buckets]``: ``1 + b`` gives ``2 ** b`` gold) and give-to
    and give-gold-to (``[N, 1 + E]``: ``1 + row`` names the agent in entity row ``row``;
    ``entity_slot``: the entity each row shows) heads of every agent slot shown this tick. An agent
    that died this tick gets the no-ops alone.

    Each pair is exact as a pair (:mod:`neural_mmo.observe.heads`): an item position is allowed
    when it holds an item and some receiver in reach has room, a receiver when it is in reach with
    room and the giver holds an item; an amount when the giver has that much gold and someone is
    in reach, a gold receiver when it is in reach and the giver has gold. The rules of
    :func:`_trade` written out as plain loops, with no call per entity row: a call, even inlined,
    costs numba a reference count of each array it is handed (``tests/scenarios/test_trade_rules.py``
    checks masks and rules agree)."""
    agents, inventory, npcs = world.agents, world.holdings.inventory, world.npcs
    tick = world.clock[Clock.TICK]
    slots = inventory.shape[1]
    n_rows = entity_slot.shape[1]
    buckets = gold_mask.shape[1] - 1
    living, r, c = agents.alive, agents.r, agents.c
    n = living.shape[0]
    for i in range(destroy_mask.shape[0]):
        alive = agents.alive[i]
        if not alive and agents.death_tick[i] != tick:
            continue
        destroy_mask[i, 0] = 1
        give_mask[i, 0] = 1
        give_to_mask[i, 0] = 1
        gold_mask[i, 0] = 1
        gold_to_mask[i, 0] = 1
        holds = False
        for s in range(slots):
            owned = alive and inventory[i, s] >= 0
            destroy_mask[i, 1 + s] = owned
            holds |= owned
        gold = world.gold[i] if alive else 0
        give_to_mask[i, 1:] = 0
        gold_to_mask[i, 1:] = 0
        any_room = False
        anyone = False
        r0, c0 = int(r[i]), int(c[i])
        row = 1  # row 0 shows the agent itself
        while alive and row < n_rows:  # in_reach and has_room written out: no call per row
            j = entity_slot[i, row]
            if j < 0:
                break  # entity rows are filled from the top: the rest are empty
            if j < n:
                far = max(abs(int(r[j]) - r0), abs(int(c[j]) - c0))
            else:
                far = max(abs(int(npcs.r[j - n]) - r0), abs(int(npcs.c[j - n]) - c0))
            if far > reach:
                break  # rows are nearest first (Chebyshev distance): the rest are out of reach too
            if j < n and living[j]:
                room = False
                for s in range(slots):
                    room |= inventory[j, s] < 0
                give_to_mask[i, 1 + row] = room and holds
                gold_to_mask[i, 1 + row] = gold > 0
                any_room |= room
                anyone = True
            row += 1
        for s in range(slots):
            give_mask[i, 1 + s] = any_room and inventory[i, s] >= 0
        for b in range(buckets):
            gold_mask[i, 1 + b] = anyone and gold >= (1 << b)
