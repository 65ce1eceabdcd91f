"""Gold and NPC drops on drawn maps; every expected number comes from the config."""

from __future__ import annotations

import pytest
from _support import DUEL, kill_agent, make_scenario

from neural_mmo.world.events import EventColumn, EventKind, GoldSource
from neural_mmo.world.items import check_items
from neural_mmo.world.systems.drops import DROPPABLE
from neural_mmo.world.tables import Skill
from neural_mmo.world.vocabulary import Direction, Style

ITEMS = {"item__enabled": True, "food_decay": 0, "water_decay": 0, "spawn_immunity": 0}
HUNT = """
.....
.0p..
.....
.....
.....
"""


def kill_npc(sc, slot: int = 0, j: int = 0) -> None:
    sc.state.agents.level[slot, Skill.MELEE] = 99
    for _ in range(200):
        if not sc.state.npcs.alive[j]:
            return
        sc.step(attacks={slot: (Style.MELEE, sc.npc_entity(j))})
    raise AssertionError("the NPC survived 200 attacks")


@pytest.mark.parametrize("level,npc_gold", [(1, 1), (7, 1), (12, 3)])
def test_killing_an_npc_earns_gold_by_its_level(level, npc_gold):
    sc = make_scenario(HUNT, npc_level=level, **ITEMS, item__npc_gold=npc_gold, item__drop_chance=0.0)
    assert sc.state.gold[0] == 0
    kill_npc(sc)
    assert sc.state.gold[0] == npc_gold * level
    gold = sc.events(EventKind.GOLD)
    assert [(e["slot"], e["value"], e["detail"]) for e in gold] == [(0, npc_gold * level, GoldSource.NPC)]
    assert gold[0]["other"] == sc.npc_entity(0)
    assert sc.obs(0)["gold"].tolist() == [npc_gold * level]
    assert not sc.state.items.alive.any()  # no drop at chance 0


@pytest.mark.parametrize(
    "level,drop_levels,expected", [(1, 3, 1), (7, 3, 3), (30, 3, 10), (30, 2, 10), (9, 4, 3)]
)
def test_a_drop_is_equipment_at_a_level_set_by_the_npcs(level, drop_levels, expected):
    sc = make_scenario(HUNT, npc_level=level, **ITEMS, item__drop_chance=1.0, item__drop_levels=drop_levels)
    kill_npc(sc)
    drops = sc.events(EventKind.DROP)
    assert len(drops) == 1 and drops[0]["value"] == expected and 1 <= drops[0]["detail"] <= DROPPABLE
    k = sc.state.holdings.inventory[0, 0]
    assert (sc.state.items.type[k], sc.state.items.level[k]) == (drops[0]["detail"], expected)
    assert check_items(sc.state.items, sc.state.holdings, sc.config.item.max_stack) == []


def test_drops_follow_their_chance():
    kept = 0
    for seed in range(40):
        sc = make_scenario(HUNT, seed=seed, **ITEMS, item__drop_chance=0.5)
        kill_npc(sc)
        kept += len(sc.events(EventKind.DROP))
    assert 8 <= kept <= 32  # 40 fair coins: outside this range with probability below 1e-4


def test_the_killer_takes_the_victims_gold_and_none_is_made():
    sc = make_scenario(DUEL, **ITEMS)
    sc.state.gold[:] = [5, 40]
    kill_agent(sc, 0, 1)
    assert sc.state.gold.tolist() == [45, 0]
    gold = sc.events(EventKind.GOLD)
    assert [(e["slot"], e["value"], e["other"], e["detail"]) for e in gold] == [(0, 40, 1, GoldSource.LOOT)]


def test_gold_vanishes_with_loot_off_or_without_a_killer():
    sc = make_scenario(DUEL, **ITEMS, item__loot=False)
    sc.state.gold[:] = [5, 40]
    kill_agent(sc, 0, 1)
    assert sc.state.gold.tolist() == [5, 0] and sc.events(EventKind.GOLD) == []
    lava = make_scenario(
        """
        .....
        .0L..
        .....
        .....
        .....
        """,
        **ITEMS,
        spawn__mode="continuous",
        spawn__min_alive=1,
    )
    lava.state.gold[0] = 17
    lava.step({0: Direction.EAST})
    lava.run(3)
    assert lava.state.agents.alive[0] and lava.state.gold[0] == 0  # the newcomer starts with none


def test_gold_is_never_negative_and_grows_only_by_npc_kills():
    from neural_mmo.agents.random import RandomPolicy
    from neural_mmo.config import Config
    from neural_mmo.envs.vector import VecEnv

    cfg = Config.preset("small").override({"item.enabled": True, "npc.centre_level": 5})
    vec = VecEnv(2, config=cfg, seed=3)
    vec.reset()
    policy = RandomPolicy(vec.layout, 3)
    earned = 0
    for _ in range(400):
        before = sum(int(w.gold.sum()) for w in vec.worlds)
        vec.step(policy.act(vec.observations))
        npc_gold = sum(npc_gold_of(w) for w in vec.worlds)
        after = sum(int(w.gold.sum()) for w in vec.worlds)
        assert after <= before + npc_gold
        earned += npc_gold
        for w in vec.worlds:
            assert (w.gold >= 0).all() and (w.gold[~w.agents.alive] == 0).all()
    assert earned > 0


def npc_gold_of(world) -> int:
    """Gold earned from NPC kills in this tick's events."""
    rows = world.events.table[: world.events.n]
    mine = (rows[:, EventColumn.KIND] == EventKind.GOLD) & (rows[:, EventColumn.DETAIL] == GoldSource.NPC)
    return int(rows[mine, EventColumn.VALUE].sum())
