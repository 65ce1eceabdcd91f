"""The item table's moves: each does all it says or nothing, and the holdings always agree with the table."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_mmo.world.items import (
    EQUIP_SLOT,
    N_EQUIP_SLOTS,
    STACKS,
    EquipSlot,
    Holdings,
    ItemTable,
    ItemType,
    Place,
    check_items,
    consume,
    create_item,
    destroy,
    drop_to_ground,
    equip,
    move_to_inventory,
    unequip,
)

MAX_STACK = 5


def world(n_agents=2, slots=3, capacity=6):
    return ItemTable.empty(capacity), Holdings.empty(n_agents, slots), np.zeros(1, np.int64)


def test_a_new_item_goes_to_the_first_empty_position_and_stacks_with_its_like():
    items, holdings, next_id = world()
    spear = create_item(items, holdings, next_id, 0, ItemType.SPEAR, 3, 1, MAX_STACK)
    rations = create_item(items, holdings, next_id, 0, ItemType.RATION, 1, 2, MAX_STACK)
    assert (spear, rations) == (0, 1) and holdings.inventory[0].tolist() == [0, 1, -1]
    assert create_item(items, holdings, next_id, 0, ItemType.RATION, 1, 3, MAX_STACK) == rations  # 2 + 3 = 5
    assert items.quantity[rations] == 5 and next_id[0] == 2  # a stack is not a new item
    assert create_item(items, holdings, next_id, 0, ItemType.RATION, 1, 1, MAX_STACK) == 2  # full: a new row
    assert create_item(items, holdings, next_id, 0, ItemType.RATION, 2, 1, MAX_STACK) == -1  # inventory full
    assert create_item(items, holdings, next_id, 1, ItemType.SPEAR, 1, 2, MAX_STACK) == -1  # no spear stacks
    assert create_item(items, holdings, next_id, 1, ItemType.NONE, 1, 1, MAX_STACK) == -1
    assert create_item(items, holdings, next_id, 1, 99, 1, 1, MAX_STACK) == -1
    assert check_items(items, holdings, MAX_STACK) == []
    assert items.item_id[items.alive].tolist() == [0, 1, 2]


def test_equipping_swaps_with_what_the_slot_held_and_unequipping_needs_room():
    items, holdings, next_id = world(slots=2)
    old = create_item(items, holdings, next_id, 0, ItemType.HAT, 1, 1, MAX_STACK)
    new = create_item(items, holdings, next_id, 0, ItemType.HAT, 4, 1, MAX_STACK)
    assert equip(items, holdings, 0, 0)  # the level 1 hat
    assert holdings.equipment[0, EquipSlot.HEAD] == old and holdings.inventory[0].tolist() == [-1, new]
    assert equip(items, holdings, 0, 1)  # the level 4 hat: the old one takes its position
    assert holdings.equipment[0, EquipSlot.HEAD] == new and holdings.inventory[0].tolist() == [-1, old]
    assert items.place[new] == Place.EQUIPPED and items.slot[new] == EquipSlot.HEAD
    ration = create_item(items, holdings, next_id, 0, ItemType.RATION, 1, 1, MAX_STACK)
    assert not equip(items, holdings, 0, 0)  # a ration is not worn
    assert not unequip(items, holdings, 0, EquipSlot.HEAD)  # the inventory is full
    assert consume(items, holdings, ration, 1) and not items.alive[ration]
    assert unequip(items, holdings, 0, EquipSlot.HEAD) and holdings.inventory[0].tolist() == [new, old]
    assert not unequip(items, holdings, 0, EquipSlot.HEAD) and not unequip(items, holdings, 0, N_EQUIP_SLOTS)
    assert check_items(items, holdings, MAX_STACK) == []


def test_moving_an_item_between_agents_merges_stacks_and_fails_whole():
    items, holdings, next_id = world(slots=1)
    a = create_item(items, holdings, next_id, 0, ItemType.ARROW, 2, 3, MAX_STACK)
    b = create_item(items, holdings, next_id, 1, ItemType.ARROW, 2, 2, MAX_STACK)
    assert move_to_inventory(items, holdings, a, 1, MAX_STACK)  # 3 + 2 fit one stack
    assert not items.alive[a] and items.quantity[b] == 5 and holdings.inventory[0, 0] == -1
    c = create_item(items, holdings, next_id, 0, ItemType.ARROW, 2, 1, MAX_STACK)
    before = (items.quantity.copy(), holdings.inventory.copy())
    assert not move_to_inventory(items, holdings, c, 1, MAX_STACK)  # 5 + 1 > 5 and no empty position
    assert (items.quantity == before[0]).all() and (holdings.inventory == before[1]).all()
    assert drop_to_ground(items, holdings, c, 7, 8) and items.place[c] == Place.GROUND
    assert (items.owner[c], items.r[c], items.c[c]) == (-1, 7, 8) and holdings.inventory[0, 0] == -1
    assert move_to_inventory(items, holdings, c, 0, MAX_STACK) and holdings.inventory[0, 0] == c  # back
    assert check_items(items, holdings, MAX_STACK) == []


def test_check_items_names_what_disagrees():
    items, holdings, next_id = world()
    k = create_item(items, holdings, next_id, 0, ItemType.POTION, 1, 2, MAX_STACK)
    holdings.inventory[1, 2] = k
    items.quantity[k] = MAX_STACK + 1
    problems = check_items(items, holdings, MAX_STACK)
    assert any("named twice" in p for p in problems) and any("outside 1 .. 5" in p for p in problems)


def test_a_free_row_with_a_place_is_a_problem():
    """The exchange's scans read a row's place alone (a free row is placed NOWHERE), so a save
    whose free row claims a place is refused."""
    items, holdings, _ = world()
    items.place[3] = Place.LISTED
    assert check_items(items, holdings, MAX_STACK) == ["row 3 holds no item but is placed 3"]


MOVES = st.lists(
    st.tuples(
        st.sampled_from(["create", "move", "equip", "unequip", "consume", "destroy", "drop"]),
        st.integers(0, 2),  # agent
        st.integers(-1, 7),  # row, position or slot
        st.sampled_from(list(ItemType)[1:]),
        st.integers(1, 3),  # level
        st.integers(-1, 6),  # quantity or amount
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(MOVES)
def test_random_moves_keep_the_table_consistent_and_conserve_quantity(moves):
    items, holdings, next_id = world(n_agents=3, slots=4, capacity=8)
    total = 0  # quantity in the world: created, less consumed or destroyed
    for move, agent, k, type_, level, q in moves:
        held = int(items.quantity[items.alive].sum())
        if move == "create":
            row = create_item(items, holdings, next_id, agent, type_, level, q, MAX_STACK)
            total += q if row >= 0 else 0
        elif move == "move":
            move_to_inventory(items, holdings, k, agent, MAX_STACK)
        elif move == "equip":
            equip(items, holdings, agent, k)
        elif move == "unequip":
            unequip(items, holdings, agent, k)
        elif move == "consume":
            if consume(items, holdings, k, q):
                total -= q
        elif move == "destroy":
            if 0 <= k < items.capacity and items.alive[k]:
                total -= int(items.quantity[k])
            destroy(items, holdings, k)
        else:
            drop_to_ground(items, holdings, k, 1, 1)
        assert check_items(items, holdings, MAX_STACK) == [], (move, agent, k, type_, level, q, held)
        assert int(items.quantity[items.alive].sum()) == total
        assert (items.quantity[items.alive] >= 1).all()
    assert all(EQUIP_SLOT[items.type[k]] >= 0 for k in holdings.equipment[holdings.equipment >= 0])
    assert all(STACKS[items.type[k]] or items.quantity[k] == 1 for k in np.flatnonzero(items.alive))
