"""Trade and the exchange on drawn maps: destroy, give, give gold, list, expire, buy the cheapest,
the masks, and the gold and items that move (never made, never lost by a trade)."""

from __future__ import annotations

import numpy as np
import pytest
from _support import give_item, kill_agent, make_scenario

from neural_mmo.observe.heads import gold_amount, market_rows, sell_price
from neural_mmo.world.events import EventKind, GoldSource
from neural_mmo.world.items import ItemType, Place, check_items
from neural_mmo.world.systems.exchange import MarketView, market_row

ECONOMY = {"item__enabled": True, "exchange__enabled": True, "food_decay": 0, "water_decay": 0,
           "spawn_immunity": 0}  # fmt: skip
# slots 0 and 1 adjacent, 2 two tiles from 1 and three from 0
TRIO = """
......
.01.2.
......
......
......
......
"""


def scenario(drawing: str = TRIO, **overrides: object):
    return make_scenario(drawing, **{**ECONOMY, **overrides})


def position(sc, slot: int, k: int) -> int:
    return int(np.flatnonzero(sc.state.holdings.inventory[slot] == k)[0])


def entity_row(sc, slot: int, other: int) -> int:
    return sc.row_of(slot, other)


def consistent(sc) -> None:
    s = sc.state
    assert check_items(s.items, s.holdings, sc.config.item.max_stack, s.market.listed) == []
    assert (s.gold >= 0).all()


def test_destroy_removes_the_item_and_the_mask_names_held_positions():
    sc = scenario()
    k = give_item(sc, 0, ItemType.ARROW, 2, quantity=7)
    s = position(sc, 0, k)
    mask = sc.mask(0, "destroy")
    assert mask[0] == 1 and mask[1 + s] == 1 and mask.sum() == 2
    item_id = sc.state.items.item_id[k]
    sc.step(act={0: {"destroy": 1 + s}})
    assert not sc.state.items.alive.any() and (sc.state.holdings.inventory[0] < 0).all()
    [event] = sc.events(EventKind.DESTROY)
    assert (event["slot"], event["value"], event["other_id"], event["detail"]) == (
        0,
        7,
        item_id,
        ItemType.ARROW,
    )
    consistent(sc)


def test_give_reaches_only_agents_within_give_reach():
    sc = scenario()
    k = give_item(sc, 1, ItemType.HAT, 1)
    s = position(sc, 1, k)
    assert sc.mask(1, "give").tolist() == [1] + [int(p == s) for p in range(sc.config.item.inventory_slots)]
    mask = sc.mask(1, "give_to")
    assert mask[1 + entity_row(sc, 1, 0)] == 1  # adjacent
    assert mask[1 + entity_row(sc, 1, 2)] == 0  # two tiles away
    assert mask[1 + 0] == 0  # row 0 is the giver itself
    assert mask.sum() == 2
    sc.step(act={1: {"give": 1 + s, "give_to": 1 + entity_row(sc, 1, 2)}})  # masked: a counted no-op
    assert sc.state.items.owner[k] == 1 and sc.vec.invalid_actions[1] == 1
    sc.step(act={1: {"give": 1 + s}})  # half a pair: nothing happens, and nothing was invalid
    assert sc.state.items.owner[k] == 1 and sc.vec.invalid_actions[1] == 0
    sc.step(act={1: {"give_to": 1 + entity_row(sc, 1, 0)}})
    assert sc.state.items.owner[k] == 1 and sc.vec.invalid_actions[1] == 0
    sc.step(act={1: {"give": 1 + s, "give_to": 1 + entity_row(sc, 1, 0)}})
    assert sc.state.items.owner[k] == 0 and sc.state.items.place[k] == Place.INVENTORY
    [event] = sc.events(EventKind.GIVE)
    assert (event["slot"], event["other"], event["value"], event["detail"]) == (1, 0, 1, ItemType.HAT)
    consistent(sc)


def test_give_reach_is_configurable():
    sc = scenario(item__give_reach=2)
    k = give_item(sc, 1, ItemType.HAT, 1)
    s = position(sc, 1, k)
    sc.step(act={1: {"give": 1 + s, "give_to": 1 + entity_row(sc, 1, 2)}})
    assert sc.state.items.owner[k] == 2


def test_give_needs_an_empty_position_at_the_receiver():
    sc = scenario(item__inventory_slots=1)
    give_item(sc, 0, ItemType.HAT, 1)
    k = give_item(sc, 1, ItemType.TOP, 1)
    value = 1 + entity_row(sc, 1, 0)
    assert sc.mask(1, "give_to")[value] == 0
    assert sc.mask(1, "give")[1:].sum() == 0  # nobody in reach has room: no item may be given either
    sc.step(act={1: {"give": 1, "give_to": value}})
    assert sc.state.items.owner[k] == 1
    consistent(sc)


def test_nothing_to_give_allows_no_receiver():
    sc = scenario()
    assert sc.mask(1, "give")[1:].sum() == 0 and sc.mask(1, "give_to")[1:].sum() == 0
    assert sc.mask(1, "give_gold")[1:].sum() == 0 and sc.mask(1, "give_gold_to")[1:].sum() == 0


@pytest.mark.parametrize("gold,bucket,moves", [(10, 3, True), (7, 3, False), (1, 0, True)])
def test_give_gold_moves_exactly_the_amount_to_an_adjacent_agent(gold, bucket, moves):
    sc = scenario()
    sc.state.gold[:] = [gold, 0, 0]
    sc.refresh()
    assert sc.mask(0, "give_gold")[1 + bucket] == moves
    assert sc.mask(0, "give_gold_to")[1 + entity_row(sc, 0, 1)] == 1
    sc.step(act={0: {"give_gold": 1 + bucket, "give_gold_to": 1 + entity_row(sc, 0, 1)}})
    amount = gold_amount(bucket) if moves else 0
    assert sc.state.gold.tolist() == [gold - amount, amount, 0]
    assert sc.vec.invalid_actions[0] == (not moves)
    if moves:
        events = [(e["slot"], e["value"], e["other"], e["detail"]) for e in sc.events(EventKind.GOLD)]
        assert events == [(0, -amount, 1, GoldSource.GIFT), (1, amount, 0, GoldSource.GIFT)]


def test_give_gold_never_reaches_a_distant_agent():
    sc = scenario()
    sc.state.gold[:] = [100, 0, 0]
    sc.refresh()
    assert sc.mask(0, "give_gold_to")[1 + entity_row(sc, 0, 2)] == 0
    sc.step(act={0: {"give_gold": 1, "give_gold_to": 1 + entity_row(sc, 0, 2)}})
    assert sc.state.gold.tolist() == [100, 0, 0]


def sell(sc, slot: int, k: int, bucket: int) -> None:
    sc.step(act={slot: {"sell": 1 + position(sc, slot, k), "sell_price": 1 + bucket}})


def test_selling_lists_one_piece_at_the_bucket_price_and_shows_it_on_the_market():
    sc = scenario()
    k = give_item(sc, 0, ItemType.ARROW, 2, quantity=5)
    sell(sc, 0, k, 2)
    price = sell_price(sc.config, 2)
    listed = np.flatnonzero(sc.state.items.place == Place.LISTED)
    assert len(listed) == 1 and listed[0] != k  # one piece split off the stack
    piece = listed[0]
    assert sc.state.items.quantity[k] == 4 and sc.state.items.quantity[piece] == 1
    assert (sc.state.items.owner[piece], sc.state.items.price[piece]) == (0, price)
    assert sc.state.market.listed.tolist() == [1, 0, 0]
    [event] = sc.events(EventKind.LIST)
    assert (event["slot"], event["value"], event["detail"]) == (0, price, ItemType.ARROW)
    row = sc.vec.market[0][market_row(ItemType.ARROW, 2, sc.config.item.max_level)]
    assert row.tolist() == [ItemType.ARROW, 2, price, 1, 0]
    assert sc.vec.market.shape == (1, market_rows(sc.config), len(MarketView))
    consistent(sc)


def test_an_agent_lists_at_most_max_listings():
    sc = scenario(exchange__max_listings=2)
    k = give_item(sc, 0, ItemType.RATION, 1, quantity=5)
    for _ in range(3):
        sell(sc, 0, k, 0)
    assert sc.state.market.listed[0] == 2 and sc.state.items.quantity[k] == 3
    assert sc.mask(0, "sell")[1:].sum() == 0 and sc.mask(0, "sell_price")[1:].sum() == 0
    assert sc.vec.invalid_actions[0] == 2  # the third sell was masked out: its item and its price
    consistent(sc)


def test_a_listing_expires_back_to_its_seller():
    sc = scenario(exchange__listing_ticks=5)
    k = give_item(sc, 0, ItemType.SPEAR, 3)
    item_id = sc.state.items.item_id[k]
    sell(sc, 0, k, 0)
    assert sc.state.items.place[k] == Place.LISTED and (sc.state.holdings.inventory[0] < 0).all()
    sc.run(4)
    assert sc.state.items.place[k] == Place.LISTED
    sc.run(1)  # the fifth tick after listing: back in the inventory
    assert sc.state.items.place[k] == Place.INVENTORY and sc.state.items.owner[k] == 0
    [event] = sc.events(EventKind.EXPIRE)
    assert (event["slot"], event["value"], event["other_id"]) == (0, 3, item_id)
    assert sc.state.market.listed[0] == 0
    consistent(sc)


def test_an_expired_listing_waits_for_room():
    sc = scenario(exchange__listing_ticks=2, item__inventory_slots=1)
    k = give_item(sc, 0, ItemType.SPEAR, 1)
    sell(sc, 0, k, 0)
    give_item(sc, 0, ItemType.HAT, 1)  # the position is taken again
    sc.run(4)
    assert sc.state.items.place[k] == Place.LISTED  # still on the market, still buyable
    sc.state.holdings.inventory[0, 0], hat = -1, sc.state.holdings.inventory[0, 0]
    sc.state.items.alive[hat] = False  # make room by hand (as a destroy would)
    sc.state.items.place[hat] = Place.NOWHERE
    sc.run(1)
    assert sc.state.items.place[k] == Place.INVENTORY


def test_buying_takes_the_cheapest_listing_of_another_agent_and_moves_the_price():
    sc = scenario()
    max_level = sc.config.item.max_level
    cheap = give_item(sc, 1, ItemType.BOW, 4)
    dear = give_item(sc, 2, ItemType.BOW, 4)
    sell(sc, 1, cheap, 3)  # 8 gold
    sell(sc, 2, dear, 4)  # 16 gold
    m = market_row(ItemType.BOW, 4, max_level)
    assert sc.vec.market[0][m].tolist() == [ItemType.BOW, 4, 8, 2, 0]
    sc.state.gold[:] = [20, 0, 0]
    sc.refresh()
    assert sc.mask(0, "buy")[1 + m] == 1 and sc.mask(0, "buy").sum() == 2
    sc.step(act={0: {"buy": 1 + m}})
    assert sc.state.items.owner[cheap] == 0 and sc.state.items.place[cheap] == Place.INVENTORY
    assert sc.state.items.place[dear] == Place.LISTED
    assert sc.state.gold.tolist() == [12, 8, 0]
    assert sc.state.market.listed.tolist() == [0, 0, 1] and sc.state.market.last_price[m] == 8
    assert sc.vec.market[0][m].tolist() == [ItemType.BOW, 4, 16, 1, 8]
    buy, sold = sc.events(EventKind.BUY), sc.events(EventKind.SELL)
    assert [(e["slot"], e["other"], e["value"]) for e in buy] == [(0, 1, 8)]
    assert [(e["slot"], e["other"], e["value"]) for e in sold] == [(1, 0, 8)]
    gold = [(e["slot"], e["value"], e["detail"]) for e in sc.events(EventKind.GOLD)]
    assert gold == [(0, -8, GoldSource.SALE), (1, 8, GoldSource.SALE)]
    assert sc.mask(0, "buy")[1 + m] == 0  # 12 gold: the next one costs 16
    consistent(sc)


def test_a_buyer_never_pays_more_than_the_cheapest_nor_buys_its_own_listing():
    sc = scenario()
    m = market_row(ItemType.WAND, 1, sc.config.item.max_level)
    own = give_item(sc, 0, ItemType.WAND, 1)
    other = give_item(sc, 1, ItemType.WAND, 1)
    sell(sc, 0, own, 0)  # 1 gold, its own
    sell(sc, 1, other, 5)  # 32 gold
    sc.state.gold[:] = [31, 0, 0]
    sc.refresh()
    assert sc.mask(0, "buy")[1 + m] == 0  # the cheapest of the others costs 32
    sc.state.gold[:] = [32, 0, 0]
    sc.refresh()
    assert sc.mask(0, "buy")[1 + m] == 1
    sc.step(act={0: {"buy": 1 + m}})
    assert sc.state.items.owner[other] == 0 and sc.state.gold.tolist() == [0, 32, 0]
    assert sc.state.items.place[own] == Place.LISTED


def test_buying_without_gold_or_room_changes_nothing():
    sc = scenario(item__inventory_slots=1)
    m = market_row(ItemType.TOP, 2, sc.config.item.max_level)
    k = give_item(sc, 1, ItemType.TOP, 2)
    sell(sc, 1, k, 1)
    give_item(sc, 0, ItemType.HAT, 1)  # the buyer's only position is full
    sc.state.gold[:] = [100, 0, 0]
    sc.refresh()
    assert sc.mask(0, "buy")[1 + m] == 0
    sc.step(act={0: {"buy": 1 + m}})
    assert sc.state.gold.tolist() == [100, 0, 0] and sc.state.items.place[k] == Place.LISTED
    consistent(sc)


def test_listings_high_in_the_item_table_are_found_by_the_market_the_buys_and_expiry():
    # the scans of the item table stop at the last listing (counted per seller): put listings
    # at both ends of the table, with free rows between and below them
    sc = scenario(item__capacity=48, item__inventory_slots=40, exchange__listing_ticks=6)
    hats = [give_item(sc, 2, ItemType.HAT, 1) for _ in range(40)]  # rows 0 .. 39
    bow = give_item(sc, 1, ItemType.BOW, 2)
    assert bow == 40
    for k in hats[:10]:
        sc.step(act={2: {"destroy": 1 + position(sc, 2, k)}})  # rows 0 .. 9 free again
    sell(sc, 1, bow, 1)  # row 40, the table's highest live row
    arrows = give_item(sc, 0, ItemType.ARROW, 1, quantity=3)  # row 0
    sell(sc, 0, arrows, 2)  # a piece split off into row 1
    listed = np.flatnonzero(sc.state.items.place == Place.LISTED).tolist()
    assert listed == [1, bow]
    max_level = sc.config.item.max_level
    m_bow, m_arrow = market_row(ItemType.BOW, 2, max_level), market_row(ItemType.ARROW, 1, max_level)
    assert sc.vec.market[0][m_bow].tolist() == [ItemType.BOW, 2, sell_price(sc.config, 1), 1, 0]
    assert sc.vec.market[0][m_arrow].tolist() == [ItemType.ARROW, 1, sell_price(sc.config, 2), 1, 0]
    sc.state.gold[:] = [100, 0, 0]
    sc.refresh()
    assert sc.mask(0, "buy")[1 + m_bow] == 1 and sc.mask(0, "buy")[1 + m_arrow] == 0  # its own
    sc.step(act={0: {"buy": 1 + m_bow}})
    assert sc.state.items.owner[bow] == 0 and sc.state.items.place[bow] == Place.INVENTORY
    sc.run(6)  # the arrow's listing expires back onto its stack
    assert sc.state.items.place[1] == Place.NOWHERE and sc.state.items.quantity[arrows] == 3
    assert sc.state.market.listed.tolist() == [0, 0, 0] and sc.vec.market[0][:, MarketView.COUNT].sum() == 0
    consistent(sc)


def test_the_listings_of_the_dead_go_to_their_killer():
    sc = scenario("""
...
01.
...
""")
    k = give_item(sc, 1, ItemType.HAT, 2)
    sell(sc, 1, k, 0)
    kill_agent(sc, 0, 1)
    assert sc.state.items.owner[k] == 0 and sc.state.items.place[k] == Place.INVENTORY
    assert sc.state.market.listed.tolist() == [0, 0]
    consistent(sc)


def test_absurd_trade_actions_are_counted_no_ops():
    sc = scenario()
    k = give_item(sc, 0, ItemType.SPEAR, 1)
    sc.state.gold[:] = [5, 5, 5]
    sc.refresh()
    before = (sc.state.state_hash(), sc.state.gold.tolist())
    layout = sc.vec.layout
    for head, size in zip(layout.heads[3:], layout.action_sizes[3:]):
        for value in (-1, size, size + 100, 2**40):
            sc.step(act={0: {head.name: value}})
            assert sc.vec.invalid_actions[0] == 1, head.name
    assert sc.state.gold.tolist() == before[1] and sc.state.items.owner[k] == 0
    consistent(sc)
