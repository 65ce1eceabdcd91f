"""Observations through the APIs: inside the space, self first, masks that match the world."""

from __future__ import annotations

import numpy as np
import pytest
from _support import make_scenario

import neural_mmo
from neural_mmo.agents import RandomPolicy, act_dict
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import EntityKind, TileChannel
from neural_mmo.world.actions import ActionHead
from neural_mmo.world.materials import PASSABLE, Material
from neural_mmo.world.systems.movement import DC, DR
from neural_mmo.world.tables import Behaviour


@pytest.mark.parametrize(
    "overrides", [{}, {"spawn__mode": "concurrent", "n_populations": 4, "combat__spawn_immunity": 0}]
)
def test_every_observation_is_in_the_space_and_describes_its_agent(overrides):
    env = neural_mmo.parallel_env("small", seed=6, horizon=150, agent_names="unique", **overrides)
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=6)
    space = env.observation_space("player_0")
    radius = env.layout.radius
    n_rows = env.layout.n_entities
    n = env.config.spawn.n_agents
    attack_offset = int(env.layout.action_offsets[ActionHead.ATTACK])
    combat = env.config.combat
    reaches = (combat.melee_range, combat.range_range, combat.mage_range)
    checked = npc_rows = attackable = frozen_seen = 0
    while env.agents:
        table = env.world.agents
        npcs = env.world.npcs
        tick = env.world.tick
        slot_of = {f"player_{table.agent_id[s]}": int(s) for s in np.flatnonzero(table.alive)}
        for name in env.agents:
            o = obs[name]
            assert space.contains(o), name
            assert sum(v.nbytes for v in o.values()) <= 4096
            s = slot_of[name]
            me = o["entities"][0]
            assert o["entity_mask"][0] == 1 and me[E.KIND] == 1
            assert (me[E.ROW], me[E.COL]) == (table.r[s], table.c[s]) and me[E.REL_ROW] == me[E.REL_COL] == 0
            assert (me[E.HEALTH], me[E.FOOD], me[E.WATER]) == (table.health[s], table.food[s], table.water[s])
            assert me[E.MAX_HEALTH] == table.max_health[s] and me[E.LEVEL] == table.level[s, :5].max()
            assert me[E.MELEE : E.FISHING + 1].tolist() == table.level[s].tolist()
            assert me[E.STYLE] == table.style[s]
            assert me[E.IMMUNE] == max(0, table.spawn_tick[s] + combat.spawn_immunity - tick)
            assert (
                me[E.POPULATION]
                == table.population[s]
                == int(name.split("_")[1]) % env.config.spawn.n_populations
            )
            assert me[E.TIME_ALIVE] == env.world.tick - table.spawn_tick[s]
            window = env.world.material[
                table.r[s] - radius : table.r[s] + radius + 1, table.c[s] - radius : table.c[s] + radius + 1
            ]
            assert (o["tiles"][..., TileChannel.MATERIAL] == window).all()
            assert o["tiles"][radius, radius, TileChannel.OCCUPANT] == table.population[s] + 1
            mask = o["action_mask"]
            assert mask[0] == 1
            frozen = tick + 1 <= table.freeze_until[s]
            assert me[E.FROZEN] == max(0, table.freeze_until[s] - tick)
            frozen_seen += bool(frozen)
            for d in range(1, 5):
                r1, c1 = table.r[s] + DR[d], table.c[s] + DC[d]
                free = PASSABLE[env.world.material[r1, c1]] and env.world.occupant[r1, c1] < 0
                assert mask[d] == (free and not frozen), (name, d)
            others = o["entities"][1:][o["entity_mask"][1:] == 1]
            assert (np.abs(others[:, E.REL_ROW]) <= radius).all() and (
                np.abs(others[:, E.REL_COL]) <= radius
            ).all()
            attack = mask[attack_offset:]
            assert attack[0] == 1 and attack.shape == (1 + 3 * n_rows,)
            styles = attack[1:].reshape(3, n_rows)
            assert not styles[:, 0].any()  # nobody attacks itself
            for k in range(1, n_rows):
                row = o["entities"][k]
                if not o["entity_mask"][k]:
                    assert not styles[:, k].any() and not row.any()
                    continue
                r, c = row[E.ROW], row[E.COL]
                e = env.world.occupant[r, c]  # who stands there
                assert e >= 0 and (row[E.REL_ROW], row[E.REL_COL]) == (r - table.r[s], c - table.c[s])
                if e < n:
                    assert row[E.KIND] == EntityKind.PLAYER and row[E.POPULATION] == table.population[e]
                    assert row[E.HEALTH] == table.health[e]
                    immune = table.spawn_tick[e] + combat.spawn_immunity - tick > 0
                else:
                    j = e - n
                    assert row[E.KIND] == 1 + npcs.behaviour[j] and row[E.POPULATION] == 0
                    assert row[E.HEALTH] == npcs.health[j] and row[E.LEVEL] == npcs.level[j, 0]
                    assert row[E.STYLE] == npcs.style[j] and row[E.IMMUNE] == 0
                    immune = False
                    npc_rows += 1
                distance = max(abs(int(row[E.REL_ROW])), abs(int(row[E.REL_COL])))
                expected = [not immune and distance <= reach for reach in reaches]
                assert styles[:, k].tolist() == expected, (name, k)
                attackable += any(expected)
            checked += 1
        obs, _, terms, _, _ = env.step(act_dict(policy, obs))
        for name, done in terms.items():
            if done:
                assert obs[name]["entities"][0][E.HEALTH] == 0
                assert space.contains(obs[name])
    assert checked > 500
    assert npc_rows > 100 and attackable > 100  # NPCs are seen, and some are within reach
    assert frozen_seen > 0  # mage hits froze someone: the frozen move mask was checked


def test_action_mask_blocks_water_stone_and_occupied_tiles_but_not_lava():
    sc = make_scenario("""
        ........
        ...~....
        ..#0L...
        ...1....
        ........
        ........
        ........
        ........
    """)
    mask = sc.obs(0)["action_mask"]
    assert mask[:5].tolist() == [1, 0, 0, 1, 0]  # stay, north water, south agent 1, east lava, west stone
    assert sc.obs(1)["action_mask"][:5].tolist() == [1, 0, 1, 1, 1]  # north is agent 0


def test_mask_follows_a_moving_neighbour():
    sc = make_scenario("""
        ........
        ........
        ..01....
        ........
        ........
        ........
        ........
        ........
    """)
    assert sc.obs(0)["action_mask"][3] == 0
    sc.step({1: 3})  # agent 1 walks east
    assert sc.obs(0)["action_mask"][3] == 1
    assert sc.pos(1) == (2, 4)


def test_npcs_block_moves_and_are_listed_with_their_kind():
    sc = make_scenario(
        """
        ........
        ...p....
        ..h0....
        ...n....
        ........
        ........
        ........
        ........
    """,
        npc_level=5,
        n_populations=1,
    )
    o = sc.obs(0)
    assert o["action_mask"][:5].tolist() == [1, 0, 0, 1, 0]  # only east is free
    rows = o["entities"][o["entity_mask"] == 1]
    assert [tuple(r[[E.REL_ROW, E.REL_COL]]) for r in rows] == [(0, 0), (-1, 0), (0, -1), (1, 0)]
    assert [int(r[E.KIND]) for r in rows] == [
        EntityKind.PLAYER, EntityKind.PASSIVE_NPC, EntityKind.HOSTILE_NPC, EntityKind.NEUTRAL_NPC,
    ]  # fmt: skip
    assert all(r[E.LEVEL] == 5 and r[E.POPULATION] == 0 and r[E.FOOD] == r[E.WATER] == 0 for r in rows[1:])
    occ = o["tiles"][..., TileChannel.OCCUPANT]
    c = sc.config.observe.vision_radius
    n_pop = sc.config.spawn.n_populations
    assert occ[c, c] == 1
    assert (occ[c - 1, c], occ[c, c - 1], occ[c + 1, c]) == (
        n_pop + Behaviour.PASSIVE, n_pop + Behaviour.HOSTILE, n_pop + Behaviour.NEUTRAL,
    )  # fmt: skip
    # every NPC (entity rows 1..3) may be attacked in every style: all three are adjacent
    assert sc.attack_mask(0)[:, 1:4].tolist() == [[1, 1, 1]] * 3
    assert not sc.attack_mask(0)[:, 4:].any() and not sc.attack_mask(0)[:, 0].any()


def test_entities_list_neighbours_nearest_first_and_crop_occupancy():
    sc = make_scenario(
        """
        2.......
        ........
        ...1....
        ...0.3..
        ........
        ........
        ........
        .......4
    """,
        vision_radius=3,
        border=4,
        n_populations=2,
    )
    o = sc.obs(0)
    rows = o["entities"][o["entity_mask"] == 1]
    assert [tuple(r[[E.REL_ROW, E.REL_COL]]) for r in rows] == [(0, 0), (-1, 0), (0, 2), (-3, -3)]
    assert rows[1][E.POPULATION] == 1 and rows[2][E.POPULATION] == 1 and rows[3][E.POPULATION] == 0
    occ = o["tiles"][..., TileChannel.OCCUPANT]
    assert occ[3, 3] == 1 and occ[2, 3] == 2 and occ[3, 5] == 2 and occ[0, 0] == 1
    assert np.count_nonzero(occ) == 4  # agent 4 is out of view
    assert not any(r[E.KIND] != 1 for r in rows)  # the drawing has no NPCs, so the world has none
    assert o["tiles"][0, 0, TileChannel.MATERIAL] == Material.GRASS
    assert (o["tiles"][3, 3 + np.arange(1, 4), TileChannel.MATERIAL] == Material.GRASS).all()
