"""The exchange, a global market (``exchange.enabled``): list items at a price, buy the cheapest.

A *listing* is one piece of an item (a row of the item table placed ``Place.LISTED``, owned by
its seller, at ``price``, since ``listed_tick``); it has left the seller's inventory. The market
has one *row* per item type and level, ``m = (type - 1) x item.max_level + level - 1``; the
published market table (:func:`write_market`, one per world, the same for every agent) shows per
row the cheapest asking price, the number of listings and the price of the row's last sale.

Each tick, right after trade (:mod:`neural_mmo.world.systems.trade`) and before any attack:

1. **expiry**: a listing ``exchange.listing_ticks`` old goes back to its seller's inventory (merged
   into a stack when one has room), with an EXPIRE event; if it does not fit, it stays listed (and
   buyable) and tries again next tick;
2. **sell** (``Command.SELL``, an inventory position, at ``Command.PRICE`` >= 1 gold), in slot
   order: one piece of the item is listed (a stack gives one piece, split off as a new item;
   that needs a free row of the item table); at most ``exchange.max_listings`` listings per agent.
   A LIST event (value: price);
3. **buy** (``Command.BUY``, a market row), in a random order of the buyers (draws of the combat
   stream): the buyer takes the cheapest listing of that row offered by another agent (ties: the
   earliest listed, then the lowest item id) if it has at least that price in gold and an empty
   inventory position; else nothing happens (it never buys a dearer listing instead). The price
   moves from buyer to seller: BUY (buyer) and SELL (seller) events, and a GOLD event for each
   (detail ``GoldSource.SALE``; the buyer's is negative). The row's last price is set.

Gold is never created or lost by a trade. The listings of an agent that dies go with its other
items (:mod:`neural_mmo.world.systems.loot`): to its killer, or out of the world.

The masks (:func:`write_exchange_masks`) allow exactly what would happen given the world as
observed; others' trades in the same tick (earlier buyers, expiries) can still make an allowed
buy a no-op, as an allowed attack can find its target dead.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from neural_mmo.world.commands import Command
from neural_mmo.world.events import EventKind, GoldSource, log_pair
from neural_mmo.world.items import Place, free_row, list_item, move_to_inventory
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rng import Stream, below
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.systems.trade import has_room


class MarketView(IntEnum):
    """Columns of the published market table (one row per item type and level)."""

    TYPE = 0  # ItemType
    LEVEL = 1
    PRICE = 2  # cheapest asking price (0: nothing listed; saturated at 32767)
    COUNT = 3  # listings
    LAST_PRICE = 4  # price of the last sale of this type and level (0: none yet; saturated)


@kernel(inline=True)
def market_row(item_type: int, level: int, max_level: int) -> int:
    """The market row of an item type and level."""
    return (item_type - 1) * max_level + level - 1


@kernel
def _collect_listed(world: World, listed: np.ndarray) -> int:
    """The rows placed LISTED, in row order, into ``listed``; returns how many (one pass over the
    table per tick, which expiry and the buys then share). The pass ends at the last listing: the
    market's count per seller says how many there are (loads check that they agree)."""
    total = world.market.listed.sum()
    place = world.items.place
    n = 0
    for k in range(place.shape[0]):  # a free row's place is NOWHERE: no need to read alive
        if n == total:
            break
        if place[k] == Place.LISTED:
            listed[n] = k
            n += 1
    return n


@kernel
def _expire(world: World, rules: Rules, listed: np.ndarray, n_listed: int) -> None:
    items, holdings, agents = world.items, world.holdings, world.agents
    now = world.clock[Clock.TICK]
    for q in range(n_listed):
        k = listed[q]
        if now - items.listed_tick[k] < rules.exchange.listing_ticks:
            continue
        seller = items.owner[k]
        item_id, level, t = items.item_id[k], int(items.level[k]), int(items.type[k])
        if move_to_inventory(items, holdings, k, seller, rules.item.max_stack):
            listed[q] = -1  # no longer listed (its row may be listed again by a sell this tick)
            world.market.listed[seller] -= 1
            log_pair(world.events, EventKind.EXPIRE, seller, agents.agent_id[seller], agents.r[seller],
                     agents.c[seller], level, -1, item_id, t)  # fmt: skip


@kernel
def _sell(world: World, i: int, s: int, price: int) -> int:
    """Agent ``i`` lists inventory position ``s`` at ``price``; returns the listed row, or -1."""
    items, agents = world.items, world.agents
    k = list_item(items, world.holdings, world.item_ids, i, s, price, world.clock[Clock.TICK])
    if k >= 0:
        world.market.listed[i] += 1
        log_pair(world.events, EventKind.LIST, i, agents.agent_id[i], agents.r[i], agents.c[i], price, -1,
                 items.item_id[k], items.type[k])  # fmt: skip
    return k


@kernel
def _group_listings(
    world: World, listed: np.ndarray, n_listed: int, order: np.ndarray, start: np.ndarray, fill: np.ndarray,
    max_level: int,
) -> None:  # fmt: skip
    """The rows of ``listed[:n_listed]`` (-1: none) still placed LISTED, grouped by market row (a
    counting sort): group ``m`` is ``order[start[m]:start[m + 1]]``."""
    items = world.items
    start[:] = 0
    for q in range(n_listed):
        k = listed[q]
        if k >= 0 and items.place[k] == Place.LISTED:
            start[market_row(items.type[k], items.level[k], max_level) + 1] += 1
    for m in range(1, start.shape[0]):
        start[m] += start[m - 1]
    for m in range(fill.shape[0]):
        fill[m] = start[m]
    for q in range(n_listed):
        k = listed[q]
        if k >= 0 and items.place[k] == Place.LISTED:
            m = market_row(items.type[k], items.level[k], max_level)
            order[fill[m]] = k
            fill[m] += 1


@kernel(inline=True)
def _before(price: int, tick: int, item_id: int, price2: int, tick2: int, item_id2: int) -> bool:
    """Whether a listing comes before another for buyers: cheaper, else listed earlier, else older."""
    if price != price2:
        return price < price2
    if tick != tick2:
        return tick < tick2
    return item_id < item_id2


@kernel
def _buy(world: World, i: int, m: int, order: np.ndarray, start: np.ndarray, rules: Rules) -> None:
    items, agents, events = world.items, world.agents, world.events
    best = -1
    for q in range(start[m], start[m + 1]):
        k = order[q]
        if items.place[k] != Place.LISTED or items.owner[k] == i:  # bought earlier this tick, or its own
            continue
        if best < 0 or _before(items.price[k], items.listed_tick[k], items.item_id[k], items.price[best],
                               items.listed_tick[best], items.item_id[best]):  # fmt: skip
            best = k
    if best < 0 or world.gold[i] < items.price[best] or not has_room(world.holdings.inventory, i):
        return
    k, seller, price, t = best, items.owner[best], int(items.price[best]), int(items.type[best])
    world.gold[i] -= price
    world.gold[seller] += price
    world.market.listed[seller] -= 1
    world.market.last_price[m] = price
    move_to_inventory(items, world.holdings, k, i, rules.item.max_stack)
    me, them = agents.agent_id[i], agents.agent_id[seller]
    r, c, sr, sc = agents.r[i], agents.c[i], agents.r[seller], agents.c[seller]
    log_pair(events, EventKind.BUY, i, me, r, c, price, seller, them, t)
    log_pair(events, EventKind.GOLD, i, me, r, c, -price, seller, them, GoldSource.SALE)
    log_pair(events, EventKind.SELL, seller, them, sr, sc, price, i, me, t)
    log_pair(events, EventKind.GOLD, seller, them, sr, sc, price, i, me, GoldSource.SALE)


@kernel(inline=True)
def run_exchange(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Expiry, then every sell in slot order, then every buy in a random order (module docs)."""
    if not rules.exchange.enabled:
        return
    agents = world.agents
    work = world.exchange_work
    n_listed = _collect_listed(world, work.listed)
    _expire(world, rules, work.listed, n_listed)
    n_rows = world.market.last_price.shape[0]
    buyers = world.scratch[0]
    n_buyers = 0
    for i in range(agents.alive.shape[0]):
        if not agents.alive[i]:
            continue
        s, price = commands[i, Command.SELL], commands[i, Command.PRICE]
        if s >= 0 and price >= 1 and world.market.listed[i] < rules.exchange.max_listings:
            k = _sell(world, i, s, price)
            if k >= 0:
                work.listed[n_listed] = k
                n_listed += 1
        m = commands[i, Command.BUY]
        if 0 <= m < n_rows:
            buyers[n_buyers] = i
            n_buyers += 1
    if n_buyers == 0:
        return
    rng = world.streams[Stream.COMBAT]
    for q in range(n_buyers - 1, 0, -1):
        j = below(rng, q + 1)
        buyers[q], buyers[j] = buyers[j], buyers[q]
    _group_listings(world, work.listed, n_listed, work.order, work.start, work.fill, rules.item.max_level)
    for q in range(n_buyers):
        i = buyers[q]
        _buy(world, i, commands[i, Command.BUY], work.order, work.start, rules)


# ---------------------------------------------------------------------- what agents see


@kernel
def write_market(world: World, table: np.ndarray, best: np.ndarray, max_level: int) -> bool:
    """The published market table (``table``: int16 ``[rows, len(MarketView)]``) and, per row, in
    ``best`` (int64 ``[rows, 3]``): the seller of the cheapest listing (-1: none), its price, and
    the cheapest price among other sellers (0: none), which the buy masks read. Returns whether
    the item table is full (a stack's piece cannot be split off to be listed)."""
    items = world.items
    rows = table.shape[0]
    for m in range(rows):
        table[m, MarketView.TYPE] = 1 + m // max_level
        table[m, MarketView.LEVEL] = 1 + m % max_level
        table[m, MarketView.PRICE] = 0
        table[m, MarketView.COUNT] = 0
        table[m, MarketView.LAST_PRICE] = min(world.market.last_price[m], 32767)
        best[m, 0] = -1
        best[m, 1] = 0
        best[m, 2] = 0
    listed = world.exchange_work.listed  # the tick's work array, free again once the tick is over
    for q in range(_collect_listed(world, listed)):
        k = listed[q]
        m = market_row(items.type[k], items.level[k], max_level)
        table[m, MarketView.COUNT] = min(int(table[m, MarketView.COUNT]) + 1, 32767)
        price, seller = int(items.price[k]), int(items.owner[k])
        if best[m, 0] < 0 or price < best[m, 1]:
            if best[m, 0] >= 0 and best[m, 0] != seller:
                best[m, 2] = best[m, 1]
            best[m, 0] = seller
            best[m, 1] = price
        elif seller != best[m, 0] and (best[m, 2] == 0 or price < best[m, 2]):
            best[m, 2] = price
    for m in range(rows):
        table[m, MarketView.PRICE] = min(best[m, 1], 32767)
    return free_row(items) < 0


@kernel
def write_exchange_masks(
    world: World, best: np.ndarray, table_full: bool, sell_mask: np.ndarray, price_mask: np.ndarray,
    buy_mask: np.ndarray, max_listings: int, offered: np.ndarray,
) -> None:  # fmt: skip
    """The masks of the sell (``[N, 1 + slots]``: value ``1 + s`` lists inventory position
    ``s``), sell-price (``[N, 1 + buckets]``: ``1 + b`` asks price bucket ``b``; any, when some
    position may be listed) and buy (``[N, 1 + rows]``: value ``1 + m`` buys market row ``m``)
    heads of every agent slot shown this tick, from ``best`` and ``table_full``
    (:func:`write_market`); ``offered`` (int64 ``[rows]``) is work space. An agent that died this
    tick gets the no-ops alone."""
    agents, items, inventory = world.agents, world.items, world.holdings.inventory
    tick = world.clock[Clock.TICK]
    slots = inventory.shape[1]
    n_offered = 0  # offered[:n_offered]: the market rows with a listing
    cheapest = 0  # the lowest price on the market: an agent with less gold can buy nothing
    for m in range(best.shape[0]):
        if best[m, 0] >= 0:
            offered[n_offered] = m
            n_offered += 1
            if cheapest == 0 or best[m, 1] < cheapest:
                cheapest = best[m, 1]
    for i in range(sell_mask.shape[0]):
        alive = agents.alive[i]
        if not alive and agents.death_tick[i] != tick:
            continue
        sell_mask[i, 0] = 1
        price_mask[i, 0] = 1
        buy_mask[i, 0] = 1
        can_list = alive and world.market.listed[i] < max_listings
        any_listable = False
        for s in range(slots):
            k = inventory[i, s]
            ok = can_list and k >= 0 and (not table_full or items.quantity[k] == 1)
            sell_mask[i, 1 + s] = ok
            any_listable |= ok
        price_mask[i, 1:] = any_listable
        buy_mask[i, 1:] = 0
        gold = world.gold[i] if alive else 0
        if n_offered == 0 or gold < cheapest or not has_room(inventory, i):
            continue
        for q in range(n_offered):
            m = offered[q]
            price = best[m, 1] if best[m, 0] != i else best[m, 2]
            buy_mask[i, 1 + m] = 0 < price <= gold
