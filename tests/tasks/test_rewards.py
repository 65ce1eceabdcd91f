"""Rewards: the default survival reward and custom reward functions through both APIs."""

from __future__ import annotations

import numpy as np
from _support import make_scenario

import neural_mmo
from neural_mmo.agents import ForagerPolicy, act_dict
from neural_mmo.envs.vector import VecEnv
from neural_mmo.tasks import SurvivalReward
from neural_mmo.world.events import DeathCause, EventKind
from neural_mmo.world.vocabulary import Direction, Style


def test_survival_reward_is_minus_one_on_death_only():
    sc = make_scenario("""
        0L......
        ........
        ........
        ........
        ........
        ........
        ........
        ......1.
    """)
    sc.step()
    assert sc.vec.rewards.tolist() == [0.0, 0.0]
    sc.step({0: Direction.EAST})
    assert sc.vec.rewards.tolist() == [-1.0, 0.0]
    sc.step()
    assert sc.vec.rewards.tolist() == [0.0, 0.0]


def test_survival_reward_counts_combat_deaths_and_not_kills():
    sc = make_scenario(
        """
        ........
        ...01...
        ........
        ........
        ........
        ........
        ........
        ........
    """,
        spawn_immunity=0,
    )
    sc.state.agents.health[1] = 1  # any hit kills
    for _ in range(100):
        sc.step(attacks={0: (Style.MELEE, 1)})
        if sc.events(EventKind.KILL):
            break
    assert [(e["slot"], e["other"]) for e in sc.events(EventKind.KILL)] == [(0, 1)]
    deaths = sc.events(EventKind.DEATH)
    assert [(e["slot"], e["value"], e["other"]) for e in deaths] == [(1, DeathCause.COMBAT, 0)]
    assert sc.vec.rewards.tolist() == [0.0, -1.0]  # the killer gets nothing from the default reward
    assert sc.vec.terminations.tolist() == [False, True]
    sc.step()
    assert sc.vec.rewards.tolist() == [0.0, 0.0]


def test_custom_death_penalty():
    reward = SurvivalReward(death_penalty=-5)
    vec = VecEnv(
        1,
        "small",
        seed=0,
        map__size=16,
        spawn__n_agents=4,
        reward_fn=reward,
        food_decay=100,
        starvation_damage=100,
        spawn__mode="concurrent",
    )
    vec.reset()
    vec.step(np.zeros((4, 2), np.int64))
    assert (vec.rewards == -5.0).all() and vec.terminations.all()


def fed(state, events):
    out = np.zeros(state.agents.capacity, np.float32)
    out[events.slot[events.of_kind(EventKind.EAT)]] = 0.5
    out[~state.agents.alive] = 123.0  # ignored by the envs for empty slots
    return out


def test_custom_reward_function_and_empty_slots_are_zeroed():
    env = neural_mmo.parallel_env(
        "small", seed=2, reward_fn=fed, spawn__mode="concurrent", horizon=60, agent_names="unique"
    )
    obs, _ = env.reset()
    policy = ForagerPolicy(env.layout, seed=2)
    eats = 0
    while env.agents:
        obs, rewards, terms, _, _ = env.step(act_dict(policy, obs))
        eaters = {f"player_{env.world.events.agent_id[k]}" for k in env.world.events.of_kind(EventKind.EAT)}
        eats += len(eaters)
        for name, r in rewards.items():
            if terms[name]:
                assert r == 123.0  # the reward of the death tick is whatever the function says
            else:
                assert r == (0.5 if name in eaters else 0.0)
    assert eats > 0
    vec = env.vec
    assert (vec.rewards[~(vec.alive | vec.terminations)] == 0).all()
