"""Scripted policies: RandomPolicy (masked uniform, seeded), ForagerPolicy (safe, goal-seeking) and
FighterPolicy (forages, attacks the weakest entity in reach, hunts when fed)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from _support import make_scenario
from hypothesis import given
from hypothesis import strategies as st

import neural_mmo
from neural_mmo.agents import POLICIES, FighterPolicy, ForagerPolicy, RandomPolicy, act_dict, make_policy
from neural_mmo.agents.random import sample_masked
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead, attack_value
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import EntityKind, ObsLayout
from neural_mmo.world.events import DeathCause, EventKind
from neural_mmo.world.materials import DEADLY, DRINKABLE, FOOD, PASSABLE, Material
from neural_mmo.world.vocabulary import Direction, Style

LAYOUT = ObsLayout(Config.preset("small"))
ATTACK_OFFSET = int(LAYOUT.action_offsets[ActionHead.ATTACK])
N_ROWS = LAYOUT.n_entities


def reference_sample(mask, offsets, sizes, rng):
    out = np.zeros((mask.shape[0], len(sizes)), np.int32)
    for i in range(mask.shape[0]):
        for h, (o, n) in enumerate(zip(offsets, sizes)):
            allowed = [v for v in range(n) if mask[i, o + v]]
            if allowed:
                out[i, h] = allowed[int(rng.integers(0, len(allowed)))]
    return out


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
)
def test_sample_masked_matches_the_reference(seed, n, sizes):
    rng = np.random.default_rng(seed)
    sizes_a = np.array(sizes, np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes_a)[:-1]]).astype(np.int64)
    mask = (rng.random((n, int(sizes_a.sum()))) < 0.5).astype(np.int8)
    out = np.full((n, len(sizes)), 9, np.int32)
    sample_masked(mask, offsets, sizes_a, np.random.default_rng(seed + 1), out)
    assert (out == reference_sample(mask, offsets, sizes_a, np.random.default_rng(seed + 1))).all()
    for i in range(n):
        for h, (o, size) in enumerate(zip(offsets, sizes)):
            assert mask[i, o + out[i, h]] or not mask[i, o : o + size].any()


def test_random_policy_is_uniform_over_allowed_values_of_each_head_and_seeded():
    mask = np.zeros((3000, LAYOUT.n_actions), np.int8)
    mask[:, :5] = [1, 1, 0, 1, 0]
    allowed_attacks = [
        0,
        attack_value(Style.MELEE, 1, N_ROWS),
        attack_value(Style.MAGE, 7, N_ROWS),
        3 * N_ROWS,
    ]
    mask[:, [ATTACK_OFFSET + v for v in allowed_attacks]] = 1
    obs = {"action_mask": mask}
    a = RandomPolicy(LAYOUT, seed=3).act(obs)
    b = RandomPolicy(LAYOUT, seed=3).act(obs)
    c = RandomPolicy(LAYOUT, seed=4).act(obs)
    assert a.dtype == np.int32 and a.shape == (3000, 2)
    assert (a == b).all() and (a != c).any()
    counts = np.bincount(a[:, 0], minlength=5)
    assert counts[2] == counts[4] == 0
    assert all(abs(counts[v] - 1000) < 5 * np.sqrt(3000 * (1 / 3) * (2 / 3)) for v in (0, 1, 3))
    attacks = np.bincount(a[:, 1], minlength=LAYOUT.action_sizes[1])
    assert set(np.flatnonzero(attacks).tolist()) == set(allowed_attacks)
    assert all(abs(attacks[v] - 750) < 5 * np.sqrt(3000 * (1 / 4) * (3 / 4)) for v in allowed_attacks)


def test_act_dict_maps_agents_to_head_dicts():
    env = neural_mmo.parallel_env("small", seed=0, spawn__mode="concurrent")
    obs, _ = env.reset()
    actions = act_dict(RandomPolicy(env.layout, seed=0), obs)
    assert set(actions) == set(obs)
    offset = int(env.layout.action_offsets[ActionHead.ATTACK])
    for name, action in actions.items():
        assert list(action) == ["move", "attack"]
        assert isinstance(action["move"], int) and isinstance(action["attack"], int)
        assert obs[name]["action_mask"][action["move"]] == 1
        assert obs[name]["action_mask"][offset + action["attack"]] == 1
    assert act_dict(RandomPolicy(env.layout), {}) == {}


def test_make_policy_by_name():
    assert set(POLICIES) == {"random", "forager", "fighter", "merchant"}
    assert isinstance(make_policy("random", LAYOUT, 1), RandomPolicy)
    assert isinstance(make_policy("forager", LAYOUT), ForagerPolicy)
    assert isinstance(make_policy("fighter", LAYOUT, 2), FighterPolicy)
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("genius", LAYOUT)


def test_forager_walks_to_food_when_hungry():
    sc = make_scenario(
        """
        ........
        ........
        ........
        0...T...
        ........
        ........
        ........
        ........
    """,
        food_regrow_prob=0.0,
    )
    policy = ForagerPolicy(sc.vec.layout, seed=0)
    sc.state.agents.food[0] = 10
    for _ in range(4):
        sc.step(heads=policy.act(sc.vec.observations).astype(np.int64))
    assert sc.pos(0) == (3, 4)
    assert sc.events(EventKind.EAT) != []


def test_forager_walks_to_water_when_thirsty_around_obstacles():
    sc = make_scenario("""
        ........
        ........
        ..#.....
        0.#..~..
        ..#.....
        ........
        ........
        ........
    """)
    policy = ForagerPolicy(sc.vec.layout, seed=0)
    sc.state.agents.water[0] = 5
    drank = False
    for _ in range(10):
        sc.step(heads=policy.act(sc.vec.observations).astype(np.int64))
        drank = drank or bool(sc.events(EventKind.DRINK))
    assert drank
    assert sc.agent(0)["alive"]


def test_forager_never_steps_on_lava_and_only_takes_allowed_moves():
    vec = VecEnv(2, "small", seed=5, spawn__mode="concurrent", horizon=300)
    obs, _ = vec.reset()
    policy = ForagerPolicy(vec.layout, seed=5)
    lava_deaths = 0
    for _ in range(300):
        actions = policy.act(obs)
        mask = obs["action_mask"]
        assert all(mask[i, actions[i, 0]] for i in range(vec.num_slots))
        obs, *_ = vec.step(actions)
        for w in vec.worlds:
            rows = w.events.rows()
            lava_deaths += sum(1 for e in rows if e["kind"] == "DEATH" and e["value"] == DeathCause.LAVA)
        assert (vec.invalid_actions == 0).all()
    assert lava_deaths == 0


def test_foragers_outlive_random_walkers():
    def survivors(policy_cls):
        vec = VecEnv(1, "small", seed=1, spawn__mode="concurrent", horizon=200)
        obs, _ = vec.reset()
        policy = policy_cls(vec.layout, seed=1)
        for _ in range(150):
            obs, *_ = vec.step(policy.act(obs))
        return vec.worlds[0].n_alive

    assert survivors(ForagerPolicy) > survivors(RandomPolicy) + 10


def test_forager_is_deterministic_per_seed():
    vec = VecEnv(1, "small", seed=2, spawn__mode="concurrent")
    obs, _ = vec.reset()
    a = ForagerPolicy(vec.layout, seed=7).act(obs)
    b = ForagerPolicy(vec.layout, seed=7).act(obs)
    assert (a == b).all() and a.shape == (vec.num_slots, 2)
    assert set(np.unique(a[:, 0])) <= set(int(d) for d in Direction)
    assert (a[:, 1] == 0).all()  # the forager never attacks


def _allowed(material, occupied):
    return PASSABLE[material] & ~DEADLY[material] & (occupied == 0)


def _goal_distance(material, occupied, want_food):
    """Shortest-path distance from every tile to the nearest goal, through allowed tiles (or -1)."""
    n = material.shape[0]
    allowed = _allowed(material, occupied)
    centre = n // 2
    walkable = allowed.copy()
    walkable[centre, centre] = True
    if want_food:
        goal = FOOD[material] & walkable
    else:
        wet = DRINKABLE[material]
        near = np.zeros_like(wet)
        near[1:] |= wet[:-1]
        near[:-1] |= wet[1:]
        near[:, 1:] |= wet[:, :-1]
        near[:, :-1] |= wet[:, 1:]
        goal = near & walkable
    dist = np.full((n, n), -1, np.int64)
    queue = deque()
    for r, c in np.argwhere(goal):
        dist[r, c] = 0
        queue.append((r, c))
    while queue:
        r, c = queue.popleft()
        for dr, dc in ((-1, 0), (1, 0), (0, 1), (0, -1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n and walkable[rr, cc] and dist[rr, cc] < 0:
                dist[rr, cc] = dist[r, c] + 1
                queue.append((rr, cc))
    return dist


@given(seed=st.integers(0, 2**32 - 1), n_agents=st.integers(1, 12))
def test_forager_takes_the_first_step_of_a_shortest_path(seed, n_agents):
    cfg = Config.preset("small").override({"observe.vision_radius": 4, "map.border": 5})
    layout = ObsLayout(cfg)
    rng = np.random.default_rng(seed)
    w = layout.window
    centre = w // 2
    obs = layout.allocate(n_agents)
    weights = np.array([0.05, 0.1, 0.45, 0.1, 0.1, 0.2])
    obs["tiles"][..., 0] = rng.choice(6, size=(n_agents, w, w), p=weights)
    obs["tiles"][..., 1] = (rng.random((n_agents, w, w)) < 0.1) * rng.integers(1, 3, size=(n_agents, w, w))
    obs["tiles"][:, centre, centre, 0] = Material.GRASS
    obs["tiles"][:, centre, centre, 1] = 1
    obs["entities"][:, 0, E.KIND] = rng.random(n_agents) < 0.9
    obs["entities"][:, 0, E.FOOD] = rng.integers(0, 101, n_agents)
    obs["entities"][:, 0, E.WATER] = rng.integers(0, 101, n_agents)
    for i in range(n_agents):
        obs["action_mask"][i, 0] = 1
        for d, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, 1), (0, -1)), start=1):
            m = obs["tiles"][i, centre + dr, centre + dc]
            obs["action_mask"][i, d] = PASSABLE[m[0]] and m[1] == 0
    actions = ForagerPolicy(layout, seed=seed).act(obs)
    v = cfg.vitals
    for i in range(n_agents):
        move = int(actions[i, 0])
        if not obs["entities"][i, 0, E.KIND]:
            assert move == 0
            continue
        material, occupied = obs["tiles"][i, ..., 0], obs["tiles"][i, ..., 1]
        want_food = obs["entities"][i, 0, E.FOOD] / v.max_food <= obs["entities"][i, 0, E.WATER] / v.max_water
        dist = _goal_distance(material, occupied, want_food)
        if dist[centre, centre] == 0:
            assert move == 0  # already there
        elif dist[centre, centre] > 0:
            assert move != 0
            dr, dc = ((-1, 0), (1, 0), (0, 1), (0, -1))[move - 1]
            assert dist[centre + dr, centre + dc] == dist[centre, centre] - 1
        else:  # nothing reachable in view: a random safe move, or stay
            if move:
                assert obs["action_mask"][i, move]
                dr, dc = ((-1, 0), (1, 0), (0, 1), (0, -1))[move - 1]
                assert not DEADLY[material[centre + dr, centre + dc]]


# ---------------------------------------------------------------------- the fighter


def fighter_obs(rows, own_levels=(1, 5, 5), own_level=5, in_combat=0, food=100, water=100):
    """One agent on grass: ``rows`` maps entity row -> (health, level, styles allowed, extra columns)."""
    obs = LAYOUT.allocate(1)
    obs["tiles"][..., 0] = Material.GRASS
    c = LAYOUT.radius
    obs["tiles"][0, c, c, 1] = 1
    me = obs["entities"][0, 0]
    me[E.KIND], me[E.LEVEL], me[E.IN_COMBAT], me[E.FOOD], me[E.WATER] = 1, own_level, in_combat, food, water
    me[E.MELEE : E.MAGE + 1] = own_levels
    obs["entity_mask"][0, 0] = 1
    obs["action_mask"][0, :5] = 1
    obs["action_mask"][0, ATTACK_OFFSET] = 1
    for k, (health, level, styles, extra) in rows.items():
        row = obs["entities"][0, k]
        row[E.KIND], row[E.HEALTH], row[E.LEVEL] = EntityKind.HOSTILE_NPC, health, level
        for column, value in extra.items():
            row[column] = value
        obs["entity_mask"][0, k] = 1
        for style in styles:
            obs["action_mask"][0, ATTACK_OFFSET + attack_value(style, k, N_ROWS)] = 1
    return obs


ALL = (Style.MELEE, Style.RANGE, Style.MAGE)


def test_fighter_attacks_the_weakest_entity_in_reach_with_its_best_allowed_style():
    obs = fighter_obs(
        {
            1: (50, 1, ALL, {}),
            2: (20, 1, (Style.MELEE, Style.MAGE), {}),  # the weakest in reach: range is not allowed
            3: (10, 1, (), {}),  # weaker, but out of every reach
            4: (5, 9, ALL, {}),  # weaker, but more than level_margin=3 above the fighter's 5
        }
    )
    action = FighterPolicy(LAYOUT, seed=0).act(obs)[0]
    assert action[ActionHead.ATTACK] == attack_value(Style.MAGE, 2, N_ROWS)  # mage 5 beats melee 1
    assert obs["action_mask"][0, ATTACK_OFFSET + action[ActionHead.ATTACK]] == 1


def test_fighter_takes_on_a_strong_entity_it_is_already_fighting():
    rows = {1: (50, 1, ALL, {}), 4: (5, 9, ALL, {E.IN_COMBAT: 1})}
    calm = FighterPolicy(LAYOUT).act(fighter_obs(rows, in_combat=0))[0]
    assert calm[ActionHead.ATTACK] == attack_value(Style.RANGE, 1, N_ROWS)  # range 5 = mage 5: range first
    fighting = FighterPolicy(LAYOUT).act(fighter_obs(rows, in_combat=1))[0]
    assert fighting[ActionHead.ATTACK] == attack_value(Style.RANGE, 4, N_ROWS)
    tie = FighterPolicy(LAYOUT).act(fighter_obs({1: (30, 1, ALL, {}), 2: (30, 1, ALL, {})}, (7, 7, 7)))[0]
    assert tie[ActionHead.ATTACK] == attack_value(Style.MELEE, 1, N_ROWS)  # equal health: nearest row


def test_fighter_hunts_a_weaker_entity_out_of_reach_only_when_fed():
    prey = {1: (30, 2, (), {E.REL_ROW: 0, E.REL_COL: 4})}  # east, out of reach
    strong = {1: (30, 20, (), {E.REL_ROW: 0, E.REL_COL: 4})}
    immune = {1: (30, 2, (), {E.REL_ROW: 0, E.REL_COL: 4, E.IMMUNE: 5})}
    fed = FighterPolicy(LAYOUT, seed=1).act(fighter_obs(prey))[0]
    assert fed.tolist() == [Direction.EAST, 0]
    hungry = [FighterPolicy(LAYOUT, seed=s).act(fighter_obs(prey, food=10))[0] for s in range(20)]
    assert {int(a[ActionHead.ATTACK]) for a in hungry} == {0}
    assert {int(a[ActionHead.MOVE]) for a in hungry} != {Direction.EAST}  # the forager's random walk
    for rows in (strong, immune):
        moves = {int(FighterPolicy(LAYOUT, seed=s).act(fighter_obs(rows))[0, 0]) for s in range(20)}
        assert moves != {Direction.EAST}


def test_fighters_only_take_allowed_attacks_and_kill_npcs():
    vec = VecEnv(1, "small", seed=3, spawn__mode="concurrent", horizon=200)
    obs, _ = vec.reset()
    policy = FighterPolicy(vec.layout, seed=3)
    offset = int(vec.layout.action_offsets[ActionHead.ATTACK])
    n = vec.slots_per_world
    attacks = npc_kills = 0
    for _ in range(150):
        actions = policy.act(obs)
        mask = obs["action_mask"]
        assert all(mask[i, offset + actions[i, 1]] for i in range(vec.num_slots))
        assert (actions[~vec.alive, 1] == 0).all()
        obs, *_ = vec.step(actions)
        rows = vec.worlds[0].events.rows()
        attacks += sum(1 for e in rows if e["kind"] == "ATTACK" and e["slot"] < n)
        npc_kills += sum(1 for e in rows if e["kind"] == "KILL" and e["slot"] < n and e["other"] >= n)
    assert attacks > 100 and npc_kills >= 3
