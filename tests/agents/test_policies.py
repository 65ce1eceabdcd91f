"""Scripted policies: RandomPolicy (masked uniform, seeded) and ForagerPolicy (safe, goal-seeking)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from _support import make_scenario
from hypothesis import given
from hypothesis import strategies as st

import neural_mmo
from neural_mmo.agents import POLICIES, ForagerPolicy, RandomPolicy, act_dict, make_policy
from neural_mmo.agents.random import sample_masked
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.events import DeathCause, EventKind
from neural_mmo.world.materials import DEADLY, DRINKABLE, FOOD, PASSABLE, Material
from neural_mmo.world.systems.movement import Direction

LAYOUT = ObsLayout(Config.preset("small"))


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


def test_random_policy_is_uniform_over_allowed_moves_and_seeded():
    mask = np.tile(np.array([1, 1, 0, 1, 0], np.int8), (3000, 1))
    obs = {"action_mask": mask}
    a = RandomPolicy(LAYOUT, seed=3).act(obs)
    b = RandomPolicy(LAYOUT, seed=3).act(obs)
    c = RandomPolicy(LAYOUT, seed=4).act(obs)
    assert a.dtype == np.int32 and a.shape == (3000, 1)
    assert (a == b).all() and (a != c).any()
    counts = np.bincount(a[:, 0], minlength=5)
    assert counts[2] == counts[4] == 0
    assert all(abs(counts[v] - 1000) < 5 * np.sqrt(3000 * (1 / 3) * (2 / 3)) for v in (0, 1, 3))


def test_act_dict_maps_agents_to_head_dicts():
    env = neural_mmo.parallel_env("small", seed=0, spawn__mode="concurrent")
    obs, _ = env.reset()
    actions = act_dict(RandomPolicy(env.layout, seed=0), obs)
    assert set(actions) == set(obs)
    for name, action in actions.items():
        assert set(action) == {"move"} and isinstance(action["move"], int)
        assert obs[name]["action_mask"][action["move"]] == 1
    assert act_dict(RandomPolicy(env.layout), {}) == {}


def test_make_policy_by_name():
    assert set(POLICIES) == {"random", "forager"}
    assert isinstance(make_policy("random", LAYOUT, 1), RandomPolicy)
    assert isinstance(make_policy("forager", LAYOUT), ForagerPolicy)
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
    assert (a == b).all()
    assert set(np.unique(a)) <= set(int(d) for d in Direction)


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
