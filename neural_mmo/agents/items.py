"""What the scripted agents do with items (``item.enabled``), read from their own observation.

:func:`use_actions`, the ``use`` head, in this order of need:

1. health below ``low`` of its maximum: drink the best potion the mask allows;
2. food or water below ``low`` of its maximum: eat the best ration;
3. otherwise put on the best upgrade: an inventory item the mask allows to wear (so the agent has
   the skill for its level) whose level is above what it wears in that slot (a weapon: above
   the worn weapon's, of any style; an empty slot counts as level 0); the largest gain first.

:func:`merchant_actions`, the ``sell``, ``sell_price`` and ``buy`` heads of the Merchant: it lists, at a price
of ``2 ** level`` units (capped at the top bucket), one piece of an inventory item it will not use
(not an upgrade: no higher than what it wears in the slot, or one it lacks the skill for; rations
and potions beyond ``keep`` pieces); and it buys, among the market rows the mask allows (listed by
another agent, affordable, room in the inventory), the equippable type whose level most exceeds
what it wears, if its skill reaches that level, or else a ration or potion when it has none.
"""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.world.items import EQUIP_SLOT, N_EQUIP_SLOTS, REQUIRES, ItemType, ItemView
from neural_mmo.world.tables import N_SKILLS


@numba.njit(cache=True)
def use_actions(
    items: np.ndarray, entities: np.ndarray, mask: np.ndarray, low: float, max_food: float, max_water: float,
    out: np.ndarray,
) -> None:  # fmt: skip
    """``out[i]``: the ``use`` head value of every agent (``mask``: the head's part of the action
    masks, ``[n, 1 + rows]``); see the module docs."""
    for i in range(items.shape[0]):
        out[i] = 0
        if entities[i, 0, E.KIND] == 0:
            continue
        hurt = entities[i, 0, E.HEALTH] < low * entities[i, 0, E.MAX_HEALTH]
        hungry = entities[i, 0, E.FOOD] < low * max_food or entities[i, 0, E.WATER] < low * max_water
        best, best_gain = 0, 0
        for row in range(N_EQUIP_SLOTS, items.shape[1]):
            if not mask[i, 1 + row]:
                continue
            t, level = items[i, row, ItemView.TYPE], items[i, row, ItemView.LEVEL]
            gain = 0
            if t == ItemType.POTION:
                gain = 1000 + level if hurt else 0
            elif t == ItemType.RATION:
                gain = 500 + level if hungry else 0
            elif EQUIP_SLOT[t] >= 0:
                gain = level - items[i, EQUIP_SLOT[t], ItemView.LEVEL]
            if gain > best_gain:
                best, best_gain = 1 + row, gain
        out[i] = best


@numba.njit(cache=True, inline="always")
def _skill(entities: np.ndarray, professions: np.ndarray, i: int, code: int) -> int:
    if code < N_SKILLS:
        return entities[i, 0, E.MELEE + code]
    if professions.shape[1] == 0:
        return 1
    return professions[i, code - N_SKILLS]


@numba.njit(cache=True)
def merchant_actions(
    items: np.ndarray, entities: np.ndarray, professions: np.ndarray, sell_mask: np.ndarray,
    price_mask: np.ndarray, buy_mask: np.ndarray, max_level: int, keep: int, sell_out: np.ndarray,
    price_out: np.ndarray, buy_out: np.ndarray,
) -> None:  # fmt: skip
    """``sell_out[i]``, ``price_out[i]``, ``buy_out[i]``: the Merchant's ``sell``, ``sell_price``
    and ``buy`` head values (module docs)."""
    slots = items.shape[1] - N_EQUIP_SLOTS
    buckets = price_mask.shape[1] - 1
    for i in range(items.shape[0]):
        sell_out[i] = 0
        price_out[i] = 0
        buy_out[i] = 0
        if entities[i, 0, E.KIND] == 0:
            continue
        has_food = False
        for s in range(slots):
            row = N_EQUIP_SLOTS + s
            t, level, quantity = (
                items[i, row, ItemView.TYPE],
                items[i, row, ItemView.LEVEL],
                items[i, row, ItemView.QUANTITY],
            )
            if t == 0:
                continue
            surplus = False
            if t == ItemType.RATION or t == ItemType.POTION:
                has_food = True
                surplus = quantity > keep
            elif EQUIP_SLOT[t] >= 0:
                worn = items[i, EQUIP_SLOT[t], ItemView.LEVEL]
                surplus = level <= worn or _skill(entities, professions, i, REQUIRES[t]) < level
            bucket = min(int(level), buckets - 1)
            if surplus and sell_out[i] == 0 and sell_mask[i, 1 + s] and price_mask[i, 1 + bucket]:
                sell_out[i] = 1 + s
                price_out[i] = 1 + bucket
        best_gain = 0
        for m in range(buy_mask.shape[1] - 1):
            if not buy_mask[i, 1 + m]:
                continue
            t, level = 1 + m // max_level, 1 + m % max_level
            gain = 0
            if (t == ItemType.RATION or t == ItemType.POTION) and not has_food:
                gain = 1
            elif EQUIP_SLOT[t] >= 0 and _skill(entities, professions, i, REQUIRES[t]) >= level:
                gain = level - items[i, EQUIP_SLOT[t], ItemView.LEVEL]
            if gain > best_gain:
                best_gain = gain
                buy_out[i] = 1 + m
