"""Harvest, professions and loot on drawn maps; every expected number comes from the config."""

from __future__ import annotations

import numpy as np
import pytest
from _support import DUEL, kill_agent, make_scenario

from neural_mmo.world.events import EventKind
from neural_mmo.world.items import EquipSlot, ItemType, ItemView, Place, check_items, create_item, equip
from neural_mmo.world.materials import Material
from neural_mmo.world.systems.progression import level_for_xp
from neural_mmo.world.tables import N_SKILLS, Profession, Skill
from neural_mmo.world.vocabulary import Direction

ECONOMY = {"item__enabled": True, "profession__enabled": True, "food_decay": 0, "water_decay": 0}

# the agent steps east onto the resource (fish: it stays next to the water)
ON_TILE = {
    "o": (Material.ORE, Material.SLAG, ItemType.WHETSTONE, N_SKILLS + Profession.PROSPECTING),
    "t": (Material.TREE, Material.STUMP, ItemType.ARROW, N_SKILLS + Profession.CARVING),
    "c": (Material.CRYSTAL, Material.RUBBLE, ItemType.RUNES, N_SKILLS + Profession.ALCHEMY),
    "*": (Material.HERB, Material.WEEDS, ItemType.POTION, N_SKILLS + Profession.HERBALISM),
}


def one_resource(ch: str, **overrides: object):
    drawing = f"""
    .....
    .0{ch}..
    .....
    .....
    .....
    """
    return make_scenario(drawing, **{**ECONOMY, "profession__regrow_prob": 0.0, **overrides})


def holdings(sc, slot: int = 0) -> list[tuple[int, int, int]]:
    """(type, level, quantity) of each item in the agent's inventory, by position."""
    items = sc.state.items
    return [
        (int(items.type[k]), int(items.level[k]), int(items.quantity[k]))
        for k in sc.state.holdings.inventory[slot]
        if k >= 0
    ]


def skill_xp(sc, code: int, slot: int = 0) -> int:
    if code < N_SKILLS:
        return int(sc.state.agents.xp[slot, code])
    return int(sc.state.professions.xp[slot, code - N_SKILLS])


@pytest.mark.parametrize("ch", list(ON_TILE))
def test_standing_on_a_resource_harvests_it_into_the_inventory(ch):
    resource, depleted, item, code = ON_TILE[ch]
    sc = one_resource(ch)
    assert sc.material_at(1, 2) == resource
    sc.step({0: Direction.EAST})
    assert sc.material_at(1, 2) == depleted
    assert holdings(sc) == [(item, 1, sc.config.profession.amount)]
    gained = round(sc.config.progression.xp_scale * sc.config.profession.harvest_xp)
    assert skill_xp(sc, code) == gained
    harvests = sc.events(EventKind.HARVEST)
    assert [(e["slot"], e["value"], e["detail"]) for e in harvests] == [(0, 1, item)]
    assert harvests[0]["other_id"] == sc.state.items.item_id[sc.state.holdings.inventory[0, 0]]
    sc.step()  # the depleted tile gives nothing
    assert sc.events(EventKind.HARVEST) == [] and holdings(sc) == [(item, 1, sc.config.profession.amount)]
    assert check_items(sc.state.items, sc.state.holdings, sc.config.item.max_stack) == []


def test_fishing_works_from_next_to_the_water_and_drinks_too():
    sc = make_scenario(
        """
        .....
        .0f..
        .....
        .....
        .....
        """,
        **ECONOMY,
        profession__regrow_prob=0.0,
    )
    sc.state.agents.water[0] = 10
    sc.step()
    assert sc.material_at(1, 2) == Material.FISHED
    assert holdings(sc) == [(ItemType.RATION, 1, 1)]
    assert skill_xp(sc, Skill.FISHING) > 0  # the drink and the catch both train fishing
    assert sc.events(EventKind.DRINK) and sc.events(EventKind.HARVEST)
    sc.step()  # fished water still quenches thirst, but holds no fish
    assert sc.events(EventKind.DRINK) and not sc.events(EventKind.HARVEST)
    sc.step({0: Direction.EAST})  # nobody walks into water
    assert sc.pos(0) == (1, 1)


def give(sc, slot: int, item: int, level: int, quantity: int = 1) -> int:
    s = sc.state
    return create_item(s.items, s.holdings, s.item_ids, slot, item, level, quantity, sc.config.item.max_stack)


@pytest.mark.parametrize(
    "skill_level,tool,tool_level,max_level,expected",
    [
        (7, None, 0, 10, 1),  # no tool: level 1
        (7, ItemType.PICKAXE, 3, 10, 3),  # the tool limits
        (7, ItemType.PICKAXE, 9, 10, 7),  # the skill limits
        (7, ItemType.PICKAXE, 9, 5, 5),  # the item levels end at item.max_level
        (7, ItemType.AXE, 9, 10, 1),  # the wrong tool counts as none
    ],
)
def test_the_item_level_is_the_lowest_of_skill_tool_and_top_level(skill_level, tool, tool_level, max_level,
                                                                 expected):  # fmt: skip
    sc = one_resource("o", item__max_level=max_level)
    sc.state.professions.level[0, Profession.PROSPECTING] = skill_level
    if tool is not None:
        give(sc, 0, tool, tool_level)
        assert equip(sc.state.items, sc.state.holdings, 0, 0)
    sc.step({0: Direction.EAST})
    assert [e["value"] for e in sc.events(EventKind.HARVEST)] == [expected]
    assert (ItemType.WHETSTONE, expected, 1) in holdings(sc)


def test_harvests_of_one_type_and_level_stack():
    sc = make_scenario(
        """
        .....
        .0oo.
        .....
        .....
        .....
        """,
        **ECONOMY,
        profession__regrow_prob=0.0,
        profession__amount=3,
    )
    sc.step({0: Direction.EAST})
    sc.step({0: Direction.EAST})
    assert holdings(sc) == [(ItemType.WHETSTONE, 1, 6)]


def test_a_full_inventory_leaves_the_tile_alone():
    sc = one_resource("o", item__inventory_slots=2)
    give(sc, 0, ItemType.SPEAR, 1)
    give(sc, 0, ItemType.HAT, 1)
    before = sc.state.items.alive.sum()
    sc.step({0: Direction.EAST})
    assert sc.material_at(1, 2) == Material.ORE
    assert sc.events(EventKind.HARVEST) == [] and sc.state.items.alive.sum() == before
    assert skill_xp(sc, N_SKILLS + Profession.PROSPECTING) == 0


def test_a_harvested_tile_regrows_with_its_own_probability():
    sc = one_resource("o", profession__regrow_prob=1.0, food_regrow_prob=0.0)
    sc.step({0: Direction.EAST})
    assert sc.material_at(1, 2) == Material.SLAG
    sc.step({0: Direction.WEST})
    assert sc.material_at(1, 2) == Material.ORE  # regrown after one tick (probability 1)
    never = one_resource("o", profession__regrow_prob=0.0, food_regrow_prob=1.0)
    never.step({0: Direction.EAST})
    never.step({0: Direction.WEST})
    never.run(50)
    assert never.material_at(1, 2) == Material.SLAG


def test_professions_level_up_on_the_experience_table():
    sc = one_resource("c", profession__harvest_xp=2000.0)
    sc.step({0: Direction.EAST})
    gained = round(sc.config.progression.xp_scale * 2000.0)
    level = level_for_xp(gained, sc.config.progression.max_level)
    assert level > 1
    assert sc.state.professions.level[0, Profession.ALCHEMY] == level
    ups = sc.events(EventKind.LEVEL_UP)
    assert [(e["value"], e["detail"]) for e in ups] == [(level, N_SKILLS + Profession.ALCHEMY)]
    assert sc.obs(0)["professions"].tolist() == [1, 1, level, 1]


def test_the_items_observation_lists_equipment_then_inventory():
    sc = one_resource("o")
    give(sc, 0, ItemType.PICKAXE, 1)
    assert equip(sc.state.items, sc.state.holdings, 0, 0)
    sc.step({0: Direction.EAST})
    rows = sc.obs(0)["items"]
    assert rows.shape == (6 + sc.config.item.inventory_slots, len(ItemView))
    assert rows[EquipSlot.TOOL].tolist() == [ItemType.PICKAXE, 1, 1, 1]
    assert rows[6].tolist() == [ItemType.WHETSTONE, 1, 1, 0]
    assert not np.delete(rows, [EquipSlot.TOOL, 6], axis=0).any()


# ---------------------------------------------------------------------- loot


def test_the_killer_takes_the_victims_items():
    sc = make_scenario(DUEL, **ECONOMY, spawn_immunity=0)
    give(sc, 1, ItemType.BOW, 4)
    assert equip(sc.state.items, sc.state.holdings, 1, 0)
    give(sc, 1, ItemType.ARROW, 2, 30)
    give(sc, 0, ItemType.ARROW, 2, 5)
    kill_agent(sc, 0, 1)
    assert sorted(holdings(sc, 0)) == [(ItemType.BOW, 4, 1), (ItemType.ARROW, 2, 35)]  # the arrows stacked
    assert holdings(sc, 1) == [] and (sc.state.holdings.equipment[1] < 0).all()
    loot = sc.events(EventKind.LOOT)
    assert [(e["slot"], e["other"], e["value"], e["detail"]) for e in loot] == [(0, 1, 2, 0)]
    assert check_items(sc.state.items, sc.state.holdings, sc.config.item.max_stack) == []


def test_what_does_not_fit_the_killer_vanishes():
    sc = make_scenario(DUEL, **ECONOMY, spawn_immunity=0, item__inventory_slots=2)
    give(sc, 1, ItemType.HAT, 1)
    give(sc, 1, ItemType.TOP, 1)
    give(sc, 0, ItemType.SPEAR, 1)
    kill_agent(sc, 0, 1)
    assert sorted(holdings(sc, 0)) == [(ItemType.SPEAR, 1, 1), (ItemType.HAT, 1, 1)]
    assert sc.state.items.alive.sum() == 2
    assert [(e["value"], e["detail"]) for e in sc.events(EventKind.LOOT)] == [(1, 1)]


def test_with_loot_off_or_without_a_killer_the_items_vanish():
    sc = make_scenario(DUEL, **ECONOMY, spawn_immunity=0, item__loot=False)
    give(sc, 1, ItemType.WAND, 3)
    kill_agent(sc, 0, 1)
    assert not sc.state.items.alive.any() and sc.events(EventKind.LOOT) == []
    lava = make_scenario(
        """
        .....
        .0L..
        .....
        .....
        .....
        """,
        **ECONOMY,
    )
    give(lava, 0, ItemType.RATION, 1, 4)
    lava.step({0: Direction.EAST})
    assert not lava.state.agents.alive[0] and not lava.state.items.alive.any()
    assert (lava.state.holdings.inventory[0] < 0).all()


def test_a_new_agent_in_a_dead_agents_slot_starts_with_nothing():
    sc = make_scenario(
        """
        .....
        .0L..
        .....
        .....
        .....
        """,
        **ECONOMY,
        spawn__mode="continuous",
        spawn__min_alive=1,
    )
    give(sc, 0, ItemType.POTION, 1, 2)
    sc.state.professions.level[0] = 5
    sc.step({0: Direction.EAST})
    sc.run(3)
    assert sc.state.agents.alive[0]
    assert holdings(sc, 0) == [] and sc.state.professions.level[0].tolist() == [1, 1, 1, 1]
    assert not (sc.state.items.place == Place.INVENTORY).any()
