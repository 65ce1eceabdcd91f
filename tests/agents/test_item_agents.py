"""Scripted agents with items: the Forager and Fighter use them, the Merchant trades."""

from __future__ import annotations

import numpy as np
import pytest
from _support import give_item as holding
from _support import make_scenario

from neural_mmo.agents import FighterPolicy, ForagerPolicy, MerchantPolicy, play
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead
from neural_mmo.world.events import EventKind
from neural_mmo.world.items import EquipSlot, ItemType
from neural_mmo.world.systems.exchange import market_row
from neural_mmo.world.tables import Skill

ECONOMY = {"item__enabled": True, "exchange__enabled": True, "spawn_immunity": 0}
PAIR = """
.....
.0.1.
.....
.....
.....
"""


def act(policy, sc) -> np.ndarray:
    return policy.act(sc.vec.observations)


@pytest.mark.parametrize("policy_class", [ForagerPolicy, FighterPolicy, MerchantPolicy])
def test_scripted_agents_put_on_the_best_upgrade_they_may_wear(policy_class):
    sc = make_scenario(PAIR, **ECONOMY)
    sc.state.agents.level[0, Skill.MELEE] = 4
    holding(sc, 0, ItemType.SPEAR, 2)
    holding(sc, 0, ItemType.SPEAR, 4)
    holding(sc, 0, ItemType.SPEAR, 6)  # needs melee 6: masked, never chosen
    policy = policy_class(sc.vec.layout, 0)
    sc.step(heads=act(policy, sc))
    k = sc.state.holdings.equipment[0, EquipSlot.WEAPON]
    assert k >= 0 and sc.state.items.level[k] == 4
    sc.step(heads=act(policy, sc))  # nothing better left: the level-2 spear stays in the inventory
    assert sc.state.items.level[sc.state.holdings.equipment[0, EquipSlot.WEAPON]] == 4
    assert not sc.events(EventKind.EQUIP) and not sc.events(EventKind.UNEQUIP)


def test_a_hungry_forager_eats_a_ration_and_a_hurt_one_drinks_a_potion():
    sc = make_scenario(PAIR, **ECONOMY)
    holding(sc, 0, ItemType.RATION, 1, 3)
    holding(sc, 0, ItemType.POTION, 1, 3)
    policy = ForagerPolicy(sc.vec.layout, 0)
    sc.step(heads=act(policy, sc))
    assert not sc.events(EventKind.CONSUME)  # fed and healthy: keeps them
    sc.state.agents.food[0] = 10
    sc.refresh()
    sc.step(heads=act(policy, sc))
    [meal] = sc.events(EventKind.CONSUME)
    assert meal["detail"] == ItemType.RATION
    sc.state.agents.health[0] = 20
    sc.refresh()
    sc.step(heads=act(policy, sc))
    [drink] = sc.events(EventKind.CONSUME)
    assert drink["detail"] == ItemType.POTION


def test_the_merchant_lists_what_it_will_not_use_and_buys_an_upgrade():
    sc = make_scenario(PAIR, **ECONOMY)
    sc.state.agents.level[:, Skill.DEFENCE] = 5
    worn = holding(sc, 0, ItemType.HAT, 3)
    policy = MerchantPolicy(sc.vec.layout, 0)
    sc.step(heads=act(policy, sc))
    assert sc.state.holdings.equipment[0, EquipSlot.HEAD] == worn
    spare = holding(sc, 0, ItemType.HAT, 2)  # below the worn one: surplus
    sc.step(heads=act(policy, sc))
    [listing] = sc.events(EventKind.LIST)
    assert listing["other_id"] == sc.state.items.item_id[spare] and listing["value"] == 4  # 2 ** level
    # agent 1 sells a level-5 hat; the merchant has the gold and the skill: it buys the upgrade
    offer = holding(sc, 1, ItemType.HAT, 5)
    s = int(np.flatnonzero(sc.state.holdings.inventory[1] == offer)[0])
    sc.step(act={1: {"sell": 1 + s, "sell_price": 1 + 3}})
    sc.state.gold[0] = 50
    sc.refresh()
    m = market_row(ItemType.HAT, 5, sc.config.item.max_level)
    actions = act(policy, sc)
    assert actions[0, ActionHead.BUY] == 1 + m
    sc.step(heads=actions)
    assert sc.state.items.owner[offer] == 0 and sc.state.gold[0] == 50 - 8


def test_merchants_make_a_market_in_a_whole_world():
    cfg = Config.preset("small").override(
        {"item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
    )
    env = VecEnv(1, config=cfg, seed=3)
    stats = play(env, MerchantPolicy(env.layout, 3), 600)
    economy = stats.summary()["economy"]
    assert economy["items_made_by_level"] and economy["equips"] > 0, economy
    assert economy["gold_by_source"]["npc"] > 0, economy  # it hunts
    assert economy["sales"] > 0 and economy["market_volume"] > 0, economy
