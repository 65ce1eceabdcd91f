"""Episode ends: the horizon truncates; persistent worlds never end and reuse slots with new ids."""

from __future__ import annotations

import numpy as np

import neural_mmo
from neural_mmo.agents import RandomPolicy, act_dict
from neural_mmo.envs.vector import VecEnv
from neural_mmo.testing import check_invariants


def test_persistent_vecenv_runs_past_the_horizon_and_reuses_slots_with_new_ids():
    vec = VecEnv(
        1,
        "small",
        seed=2,
        map__size=16,
        spawn__n_agents=10,
        persistent=True,
        horizon=10,
        food_decay=30,
        attempts_per_tick=2,
    )
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=2)
    holders: dict[int, list[int]] = {k: [] for k in range(10)}
    for k in np.flatnonzero(vec.alive):
        holders[int(k)].append(int(vec.agent_id[k]))
    for tick in range(1, 121):
        obs, rewards, terms, truncs, infos = vec.step(policy.act(obs))
        assert vec.worlds[0].tick == tick
        assert not truncs.any() and not vec.episode_done.any()
        check_invariants(vec.worlds[0])
        for k in np.flatnonzero(vec.spawned):
            holders[int(k)].append(int(vec.agent_id[k]))
    all_ids = [i for ids in holders.values() for i in ids]
    assert len(all_ids) == len(set(all_ids))  # never reused
    assert max(len(ids) for ids in holders.values()) >= 3  # slots are reused
    for ids in holders.values():
        assert ids == sorted(ids)  # a later holder of a slot always has a larger id
    assert vec.worlds[0].next_agent_id == max(all_ids) + 1


def test_persistent_pettingzoo_never_truncates_and_never_reuses_a_name():
    env = neural_mmo.parallel_env(
        "small", seed=3, persistent=True, horizon=5, food_decay=30, agent_names="unique"
    )
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=3)
    gone: set[str] = set()
    for _ in range(80):
        assert env.agents
        obs, rewards, terms, truncs, infos = env.step(act_dict(policy, obs))
        assert not any(truncs.values())
        assert not gone & set(obs)
        gone |= {a for a, t in terms.items() if t}
    assert len(gone) > 5 and env.world.tick == 80


def test_vecenv_truncates_every_living_agent_at_the_horizon():
    horizon = 12
    vec = VecEnv(1, "small", seed=4, horizon=horizon, attempts_per_tick=2)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=4)
    for tick in range(1, horizon + 1):
        obs, rewards, terms, truncs, infos = vec.step(policy.act(obs))
        if tick < horizon:
            assert not truncs.any() and not vec.episode_done[0]
    assert (truncs == vec.alive).all() and truncs.any()
    assert vec.episode_done[0]
    assert not (terms & truncs).any()


def test_pettingzoo_truncation_at_the_horizon_in_concurrent_mode():
    env = neural_mmo.parallel_env("small", seed=1, horizon=15, spawn__mode="concurrent")
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=1)
    for _ in range(15):
        obs, rewards, terms, truncs, infos = env.step(act_dict(policy, obs))
    assert env.agents == []
    alive_at_end = {a for a in obs if not terms[a]}
    assert alive_at_end and all(truncs[a] for a in alive_at_end)
    assert not any(truncs[a] for a in obs if terms[a])
