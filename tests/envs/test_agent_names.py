"""Agent names of the PettingZoo env: bounded slot names (the default) and unique names, through
PettingZoo's own tests, against each other on the same world, and over a long persistent run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from pettingzoo.utils.conversions import parallel_to_aec

import neural_mmo
from neural_mmo.agents import FighterPolicy, RandomPolicy, act_dict
from neural_mmo.observe.layout import EntityColumn as E

CASES = [
    ("slot", {"horizon": 60}),
    ("slot", {"horizon": 60, "spawn__mode": "concurrent", "food_decay": 30}),
    ("slot", {"persistent": True, "food_decay": 30}),
    ("unique", {"horizon": 60}),
    ("unique", {"horizon": 60, "spawn__mode": "concurrent", "food_decay": 30}),
]


@pytest.mark.parametrize("agent_names,overrides", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_pettingzoo_tests_pass_in_both_naming_modes(agent_names, overrides):
    kwargs = dict(overrides, agent_names=agent_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(neural_mmo.parallel_env("small", **kwargs), num_cycles=80)
        api_test(parallel_to_aec(neural_mmo.parallel_env("small", **kwargs)), num_cycles=30)
        parallel_seed_test(lambda: neural_mmo.parallel_env("small", **kwargs), num_cycles=30)
        seed_test(lambda: neural_mmo.env("small", **kwargs), num_cycles=15)


def test_slot_names_are_the_default_and_one_per_slot():
    env = neural_mmo.parallel_env("small", spawn__n_agents=12)
    assert env.agent_names == "slot"
    assert env.possible_agents == [f"player_{k}" for k in range(12)] and env.max_num_agents == 12
    assert dict(env.observation_spaces) == dict.fromkeys(env.possible_agents, env.observation_space(None))
    assert dict(env.action_spaces) == dict.fromkeys(env.possible_agents, env.action_space(None))
    persistent = neural_mmo.parallel_env("small", persistent=True)
    assert len(persistent.possible_agents) == persistent.config.spawn.n_agents
    with pytest.raises(ValueError, match="agent_names"):
        neural_mmo.parallel_env("small", agent_names="ids")


def test_slot_names_persist_while_agents_die_and_are_replaced():
    """Every slot's name is present every tick; its infos say which agent it shows; a new agent
    in a slot starts afresh (spawned, time alive 0); a death gives -1 and no termination."""
    env = neural_mmo.parallel_env("small", seed=7, horizon=150, food_decay=20, attempts_per_tick=4)
    names = env.possible_agents
    obs, infos = env.reset()
    assert env.agents == names and list(obs) == names and list(infos) == names
    policy = RandomPolicy(env.layout, seed=7)
    last = {name: infos[name]["agent_id"] for name in names}  # last agent shown in each slot
    deaths = takeovers = 0
    for tick in range(1, 151):
        obs, rewards, terms, truncs, infos = env.step(act_dict(policy, obs))
        assert list(obs) == list(rewards) == list(terms) == list(truncs) == list(infos) == names
        vec = env.vec
        for k, name in enumerate(names):
            info = infos[name]
            assert info["agent_id"] == vec.agent_id[k] and info["alive"] == vec.alive[k]
            assert info["died"] == vec.terminations[k] and info["spawned"] == vec.spawned[k]
            if info["died"]:
                deaths += 1
                assert rewards[name] == -1.0 and info["agent_id"] == last[name] >= 0
            if info["spawned"]:
                takeovers += last[name] >= 0
                assert info["agent_id"] > last[name] and obs[name]["entities"][0, E.TIME_ALIVE] == 0
            if info["agent_id"] < 0:  # empty: a zero observation, only the no-ops allowed, reward 0
                assert rewards[name] == 0.0 and not obs[name]["entities"].any()
                assert obs[name]["action_mask"].sum() == len(env.layout.heads)
            last[name] = max(last[name], info["agent_id"])
        if tick < 150:
            assert not any(terms.values()) and not any(truncs.values()) and env.agents == names
    assert all(truncs.values()) and not any(terms.values()) and env.agents == []
    assert deaths > 30 and takeovers > 10


def test_both_modes_play_the_same_world_for_the_same_actions():
    """Slot names and unique names are two views of one world: per agent id, the same
    observations and rewards, and the same state every tick."""
    kwargs = dict(seed=5, horizon=120, food_decay=25, attempts_per_tick=3)
    slot_env = neural_mmo.parallel_env("small", agent_names="slot", **kwargs)
    unique_env = neural_mmo.parallel_env("small", agent_names="unique", **kwargs)
    obs_s, infos_s = slot_env.reset()
    obs_u, _ = unique_env.reset()
    policy = FighterPolicy(slot_env.layout, seed=3)
    for _ in range(120):
        by_id = {f"player_{i['agent_id']}": name for name, i in infos_s.items() if i["agent_id"] >= 0}
        assert set(by_id) == set(obs_u)
        for unique_name, slot_name in by_id.items():
            for key, value in obs_u[unique_name].items():
                assert np.array_equal(obs_s[slot_name][key], value)
        actions = act_dict(policy, obs_u)
        obs_s, rewards_s, _, _, infos_s = slot_env.step({by_id[a]: v for a, v in actions.items()})
        obs_u, rewards_u, terms_u, _, infos_u = unique_env.step(actions)
        assert slot_env.state_hash() == unique_env.state_hash()
        shown = {f"player_{i['agent_id']}": n for n, i in infos_s.items() if i["agent_id"] >= 0}
        assert {a: rewards_s[n] for a, n in shown.items()} == rewards_u
        assert {a: infos_s[n]["died"] for a, n in shown.items()} == terms_u
        assert {a: infos_s[n]["invalid_actions"] for a, n in shown.items()} == {
            a: i["invalid_actions"] for a, i in infos_u.items()
        }
    assert slot_env.agents == unique_env.agents == []


def test_actions_for_empty_slots_are_quiet_no_ops():
    env = neural_mmo.parallel_env("small", seed=0, horizon=50)
    _, infos = env.reset()
    empty = [name for name, info in infos.items() if not info["alive"]]
    assert empty  # continuous mode starts with a few agents
    _, _, _, _, infos = env.step(dict.fromkeys(empty, {"move": 4, "attack": 10**6}))
    assert env.ignored_actions == 0
    assert all(infos[name]["invalid_actions"] == 0 for name in empty)
    env.step({"player_64": 1, "nobody": 1})
    assert env.ignored_actions == 2


def test_concurrent_wipe_out_terminates_every_slot_name():
    env = neural_mmo.parallel_env(
        "small", seed=0, spawn__mode="concurrent", food_decay=100, max_food=100, starvation_damage=100
    )
    env.reset()
    _, rewards, terms, truncs, infos = env.step({})  # everyone starves on tick 1
    assert all(terms.values()) and not any(truncs.values()) and len(terms) == 64 and env.agents == []
    assert all(info["died"] for info in infos.values()) and set(rewards.values()) == {-1.0}
    assert env.step({"player_0": 1}) == ({}, {}, {}, {}, {}) and env.ignored_actions == 1


def test_a_persistent_world_keeps_slot_names_within_the_bound_for_10_000_ticks():
    env = neural_mmo.parallel_env(
        "small",
        seed=11,
        persistent=True,
        spawn__n_agents=16,
        food_decay=10,
        water_decay=10,
        attempts_per_tick=2,
    )
    bound = env.possible_agents
    assert len(bound) == 16
    env.reset()
    ids, names = set(), set()
    moves = np.random.default_rng(0).integers(0, 5, (10_000, 16))
    for t in range(10_000):
        obs, rewards, terms, truncs, infos = env.step(dict(zip(bound, moves[t].tolist())))
        names.update(obs)
        ids.update(info["agent_id"] for info in infos.values())
        assert not any(terms.values()) and not any(truncs.values())
    assert env.world.tick == 10_000 and env.agents == bound
    assert names == set(bound)
    assert len(ids - {-1}) > 200  # many more lifetimes than names, each countable by its id
    assert max(ids) == env.world.agents.agent_id.max()  # the ids are the world's own


def test_slot_mode_saves_and_restores_in_either_mode(tmp_path):
    env = neural_mmo.parallel_env("small", seed=2, horizon=100, food_decay=25)
    obs, _ = env.reset()
    policy = RandomPolicy(env.layout, seed=2)
    for _ in range(30):
        obs, *_ = env.step(act_dict(policy, obs))
    env.save(tmp_path / "slot.save")
    again = type(env).from_save(tmp_path / "slot.save")
    unique = type(env).from_save(tmp_path / "slot.save", agent_names="unique")
    assert again.agents == env.agents == env.possible_agents
    assert unique.agents == [f"player_{i}" for i in env.vec.agent_id[env.vec.alive]]
    policies = [RandomPolicy(env.layout, seed=9) for _ in range(2)]
    for _ in range(70):
        a = env.step(act_dict(policies[0], obs))
        b = again.step(act_dict(policies[1], obs))
        for key in obs["player_0"]:
            assert all(np.array_equal(a[0][n][key], b[0][n][key]) for n in env.possible_agents)
        assert a[1:] == b[1:] and env.state_hash() == again.state_hash()
        obs = a[0]
    assert env.agents == again.agents == []
