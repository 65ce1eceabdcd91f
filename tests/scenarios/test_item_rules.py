"""The use head on drawn maps: requirements, swaps, taking off, rations and potions, the mask."""

from __future__ import annotations

import numpy as np
import pytest
from _support import give_item as give
from _support import make_scenario

from neural_mmo.observe.heads import ActionHead
from neural_mmo.world.events import EventKind
from neural_mmo.world.items import N_EQUIP_SLOTS, EquipSlot, ItemType, check_items, equip
from neural_mmo.world.systems.combat import hit_damage
from neural_mmo.world.systems.inventory import usable
from neural_mmo.world.tables import Skill
from neural_mmo.world.vocabulary import Style

ITEMS = {"item__enabled": True, "food_decay": 0, "water_decay": 0}
ROOM = """
.....
.0...
.....
...1.
.....
"""


def scenario(**overrides: object):
    return make_scenario(ROOM, **{**ITEMS, **overrides})


def inventory_row(sc, slot: int, k: int) -> int:
    """The items-observation row of item row ``k`` in agent ``slot``'s inventory."""
    return N_EQUIP_SLOTS + int(np.flatnonzero(sc.state.holdings.inventory[slot] == k)[0])


def use(sc, slot: int, row: int) -> None:
    heads = np.zeros((sc.vec.num_slots, sc.vec.n_heads), np.int64)
    heads[slot, ActionHead.USE] = 1 + row
    sc.step(heads=heads)


def use_mask(sc, slot: int) -> np.ndarray:
    o = sc.vec.layout.action_offsets[ActionHead.USE]
    return sc.obs(slot)["action_mask"][o : o + sc.vec.layout.action_sizes[ActionHead.USE]]


@pytest.mark.parametrize("melee,allowed", [(2, False), (3, True), (9, True)])
def test_putting_on_a_weapon_needs_its_skill_at_the_items_level(melee, allowed):
    sc = scenario()
    sc.state.agents.level[0, Skill.MELEE] = melee
    k = give(sc, 0, ItemType.SPEAR, 3)
    row = inventory_row(sc, 0, k)
    assert use_mask(sc, 0)[1 + row] == allowed
    use(sc, 0, row)
    assert (sc.state.holdings.equipment[0, EquipSlot.WEAPON] == k) == allowed
    assert sc.vec.invalid_actions[0] == (not allowed)  # a masked use is a counted no-op
    equips = sc.events(EventKind.EQUIP)
    assert [(e["value"], e["detail"]) for e in equips] == ([(3, ItemType.SPEAR)] if allowed else [])
    if allowed:
        assert sc.obs(0)["items"][EquipSlot.WEAPON].tolist() == [ItemType.SPEAR, 3, 1, 1]


@pytest.mark.parametrize(
    "item,skill",
    [(ItemType.HAT, Skill.DEFENCE), (ItemType.BOW, Skill.RANGE), (ItemType.RUNES, Skill.MAGE),
     (ItemType.ROD, Skill.FISHING)],
)  # fmt: skip
def test_each_type_asks_for_its_own_skill(item, skill):
    sc = scenario()
    k = give(sc, 0, item, 2)
    row = inventory_row(sc, 0, k)
    assert not use_mask(sc, 0)[1 + row]
    sc.state.agents.level[0, skill] = 2
    sc.refresh()
    assert use_mask(sc, 0)[1 + row]


def test_tools_of_professions_count_level_one_without_professions():
    sc = scenario()
    low, high = give(sc, 0, ItemType.PICKAXE, 1), give(sc, 0, ItemType.AXE, 2)
    mask = use_mask(sc, 0)
    assert mask[1 + inventory_row(sc, 0, low)] and not mask[1 + inventory_row(sc, 0, high)]


def test_putting_on_swaps_with_what_was_worn():
    sc = scenario()
    spear = give(sc, 0, ItemType.SPEAR, 1)
    bow = give(sc, 0, ItemType.BOW, 1)
    use(sc, 0, inventory_row(sc, 0, spear))
    bow_row = inventory_row(sc, 0, bow)
    use(sc, 0, bow_row)
    assert sc.state.holdings.equipment[0, EquipSlot.WEAPON] == bow
    assert inventory_row(sc, 0, spear) == bow_row  # the spear took the bow's place
    assert check_items(sc.state.items, sc.state.holdings, sc.config.item.max_stack) == []


def test_taking_off_needs_a_free_inventory_position():
    sc = scenario(item__inventory_slots=2)
    hat = give(sc, 0, ItemType.HAT, 1)
    use(sc, 0, inventory_row(sc, 0, hat))
    assert sc.state.holdings.equipment[0, EquipSlot.HEAD] == hat
    assert use_mask(sc, 0)[1 + EquipSlot.HEAD]
    give(sc, 0, ItemType.TOP, 1)
    give(sc, 0, ItemType.BOTTOM, 1)
    assert not use_mask(sc, 0)[1 + EquipSlot.HEAD]  # full: nowhere to put the hat
    use(sc, 0, EquipSlot.HEAD)
    assert sc.state.holdings.equipment[0, EquipSlot.HEAD] == hat and sc.vec.invalid_actions[0] == 1
    roomy = scenario()
    hat = give(roomy, 0, ItemType.HAT, 1)
    use(roomy, 0, inventory_row(roomy, 0, hat))
    use(roomy, 0, EquipSlot.HEAD)
    assert roomy.state.holdings.equipment[0, EquipSlot.HEAD] == -1 and inventory_row(roomy, 0, hat) >= 0
    assert [e["detail"] for e in roomy.events(EventKind.UNEQUIP)] == [ItemType.HAT]


@pytest.mark.parametrize("level,food,water", [(1, 10, 50), (3, 10, 95), (2, 100, 100)])
def test_a_ration_restores_food_and_water(level, food, water):
    sc = scenario()
    cfg, a = sc.config, sc.state.agents
    a.food[0], a.water[0] = food, water
    k = give(sc, 0, ItemType.RATION, level, 3)
    use(sc, 0, inventory_row(sc, 0, k))
    amount = cfg.item.ration_restore + cfg.item.restore_per_item_level * (level - 1)
    new_food, new_water = min(cfg.vitals.max_food, food + amount), min(cfg.vitals.max_water, water + amount)
    assert (a.food[0], a.water[0]) == (new_food, new_water)
    assert sc.state.items.quantity[k] == 2
    consumed = sc.events(EventKind.CONSUME)
    assert [(e["value"], e["detail"]) for e in consumed] == [
        (new_food - food + new_water - water, ItemType.RATION)
    ]


def test_a_potion_restores_health_and_the_last_one_frees_its_row():
    sc = scenario(regen_fraction=0.0)
    cfg, a = sc.config, sc.state.agents
    a.health[0] = 40
    k = give(sc, 0, ItemType.POTION, 2)
    row = inventory_row(sc, 0, k)
    use(sc, 0, row)
    assert a.health[0] == min(
        cfg.vitals.max_health, 40 + cfg.item.potion_restore + cfg.item.restore_per_item_level
    )
    assert not sc.state.items.alive[k] and (sc.state.holdings.inventory[0] < 0).all()
    assert not use_mask(sc, 0)[1 + row] and not sc.obs(0)["items"][row].any()


def test_the_mask_allows_exactly_the_rows_that_do_something():
    sc = scenario(item__inventory_slots=4)
    sc.state.agents.level[0, Skill.MELEE] = 5
    spear = give(sc, 0, ItemType.SPEAR, 5)
    give(sc, 0, ItemType.WAND, 2)
    ration = give(sc, 0, ItemType.RATION, 1)
    mask = use_mask(sc, 0)
    expected = np.zeros(1 + N_EQUIP_SLOTS + 4, bool)
    expected[0] = True
    expected[1 + inventory_row(sc, 0, spear)] = True  # melee 5: yes; the wand needs mage 2
    expected[1 + inventory_row(sc, 0, ration)] = True
    assert mask.astype(bool).tolist() == expected.tolist()
    assert use_mask(sc, 1).astype(bool).tolist() == [True] + [False] * (N_EQUIP_SLOTS + 4)


def test_use_resolves_before_attacks_so_a_potion_saves_its_drinker():
    sc = make_scenario(
        """
        .....
        .01..
        .....
        .....
        .....
        """,
        **ITEMS,
        spawn_immunity=0,
        item__potion_restore=1000,
    )
    k = give(sc, 1, ItemType.POTION, 1)
    a = sc.state.agents
    a.health[1] = 1
    a.level[0, Skill.MELEE] = 99
    top = sc.config.vitals.max_health  # the potion heals to full
    for _ in range(50):  # until a blow lands in the tick the potion is drunk
        heads = np.zeros((sc.vec.num_slots, sc.vec.n_heads), np.int64)
        heads[1, ActionHead.USE] = 1 + inventory_row(sc, 1, k)
        sc.step(heads=heads, attacks={0: (Style.MELEE, 1)})
        damage = [e["value"] for e in sc.events(EventKind.ATTACK) if e["slot"] == 0]
        if damage and damage[0] > 0:
            break
        a.health[1] = 1
        k = give(sc, 1, ItemType.POTION, 1)
    assert damage[0] > 0
    assert a.alive[1] and a.health[1] == top - damage[0]  # drunk first, then struck


def test_random_use_actions_keep_the_items_consistent():
    sc = scenario(item__inventory_slots=4)
    rng = np.random.default_rng(0)
    sc.state.agents.level[0, Skill.DEFENCE] = 3
    for slot in (0, 1):
        for item, level in ((ItemType.SPEAR, 1), (ItemType.HAT, 2), (ItemType.RATION, 1), (ItemType.BOW, 1)):
            give(sc, slot, item, level, 1)
    total = int(sc.state.items.quantity[sc.state.items.alive].sum())
    size = sc.vec.layout.action_sizes[ActionHead.USE]
    for _ in range(60):
        heads = np.zeros((sc.vec.num_slots, sc.vec.n_heads), np.int64)
        heads[:, ActionHead.USE] = rng.integers(-2, size + 3, sc.vec.num_slots)  # out of range too
        sc.step(heads=heads)
        assert check_items(sc.state.items, sc.state.holdings, sc.config.item.max_stack) == []
        s, a = sc.state, sc.state.agents
        for slot in (0, 1):  # the mask's loops say what the rule says
            room = bool((s.holdings.inventory[slot] < 0).any())
            rule = [usable(s.items.type, s.items.level, s.holdings.inventory, s.holdings.equipment, a.level,
                           s.professions.level, slot, row, room) for row in range(size - 1)]  # fmt: skip
            assert use_mask(sc, slot)[1:].astype(bool).tolist() == rule
        now = int(sc.state.items.quantity[sc.state.items.alive].sum())
        eaten = len(sc.events(EventKind.CONSUME))
        assert now == total - eaten
        total = now


# ---------------------------------------------------------------------- equipment in combat

DUEL = """
.....
.01..
.....
.....
.....
"""


def duel_damage(sc, attacker_items: list, defender_items: list, ticks: int, style: int = Style.MELEE):
    """Agent 0 attacks agent 1 for ``ticks`` ticks wearing the given (type, level, quantity)
    items; returns per attack (damage, the formula's damage before equipment, ammunition left)."""
    for slot, wear in ((0, attacker_items), (1, defender_items)):
        for item, level, quantity in wear:
            k = give(sc, slot, item, level, quantity)
            assert equip(sc.state.items, sc.state.holdings, slot, inventory_row(sc, slot, k) - N_EQUIP_SLOTS)
    sc.refresh()
    a, rules = sc.state.agents, sc.state.rules
    out = []
    for _ in range(ticks):
        skill = {Style.MELEE: Skill.MELEE, Style.RANGE: Skill.RANGE, Style.MAGE: Skill.MAGE}[style]
        plain = hit_damage(style, int(a.level[0, skill]), int(a.level[1, Skill.DEFENCE]), False, rules)
        sc.step(attacks={0: (style, 1)})
        hits = [e["value"] for e in sc.events(EventKind.ATTACK) if e["slot"] == 0]
        ammo = sc.state.holdings.equipment[0, EquipSlot.AMMO]
        out.append((hits[0], plain, int(sc.state.items.quantity[ammo]) if ammo >= 0 else 0))
    return out


def fighters(**overrides: object):
    sc = make_scenario(DUEL, **{**ITEMS, "spawn_immunity": 0, "max_health": 10_000, "regen_fraction": 0.0,
                                **overrides})  # fmt: skip
    sc.state.agents.health[:] = 10_000
    sc.state.agents.level[0, Skill.MELEE] = 40  # hits often
    return sc


def test_weapon_and_ammunition_add_damage_and_armour_blocks_it():
    sc = fighters()
    item = sc.config.item
    attacks = duel_damage(
        sc, [(ItemType.SPEAR, 4, 1), (ItemType.WHETSTONE, 2, 5)],
        [(ItemType.HAT, 1, 1), (ItemType.TOP, 2, 1), (ItemType.BOTTOM, 3, 1)], ticks=8,
    )  # fmt: skip
    block = item.armour_block * (1 + 2 + 3)
    hits = 0
    for k, (damage, plain, ammo_left) in enumerate(attacks):
        assert ammo_left == max(0, 5 - (k + 1))  # one whetstone per attack, hit or miss
        bonus = item.weapon_damage * 4 + (item.ammo_damage * 2 if k < 5 else 0)
        if damage:
            hits += 1
            assert damage == max(1, plain + bonus - block), (k, damage, plain)
    assert hits >= 3
    assert sc.state.holdings.equipment[0, EquipSlot.AMMO] == -1  # the last whetstone freed its row


def test_equipment_of_another_style_adds_nothing():
    sc = fighters()
    attacks = duel_damage(sc, [(ItemType.BOW, 5, 1), (ItemType.ARROW, 5, 3)], [], ticks=6)
    assert any(damage for damage, _, _ in attacks)
    for damage, plain, ammo_left in attacks:
        assert damage in (0, plain) and ammo_left == 3  # melee uses no arrows


def test_armour_never_blocks_a_hit_below_one():
    sc = fighters(armour_block=1000)
    attacks = duel_damage(sc, [], [(ItemType.HAT, 1, 1)], ticks=6)
    assert {damage for damage, _, _ in attacks} <= {0, 1} and any(damage for damage, _, _ in attacks)
