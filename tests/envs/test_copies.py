"""Copies of envs: pickle and deepcopy give independent envs that continue bit-identically from the
copied state (fresh or after use), for the VecEnv, the PettingZoo env and its AEC conversion; a
MultiprocessVecEnv refuses to be copied with a TypeError."""

from __future__ import annotations

import copy
import multiprocessing as mp
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import neural_mmo
from neural_mmo.agents import FighterPolicy, RandomPolicy, act_dict
from neural_mmo.envs.multiprocess import MultiprocessVecEnv
from neural_mmo.envs.vector import VecEnv
from neural_mmo.world.materials import SPAWNABLE

TICKS = 300
COPIERS = {"pickle": lambda env: pickle.loads(pickle.dumps(env)), "deepcopy": copy.deepcopy}


class FoodReward:
    """A reward function with state of its own (a copy must carry its own count)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, state, events) -> np.ndarray:
        self.calls += 1
        return state.agents.food.astype(np.float32) / 100 + self.calls % 3


def vec_outputs(vec: VecEnv) -> list[np.ndarray]:
    """Every output buffer and per-world record of a VecEnv, copied."""
    arrays = [v.copy() for v in vec.observations.values()]
    for name in ("rewards", "terminations", "truncations", "alive", "agent_id", "spawned", "invalid_actions",
                 "episode_done", "event_counts", "death_causes"):  # fmt: skip
        arrays.append(getattr(vec, name).copy())
    for state in vec.worlds:
        arrays.append(np.frombuffer(bytes.fromhex(state.state_hash()), np.uint8))
        arrays.append(state.events.table[: state.events.counts[0]].copy())
    arrays.append(np.array([vec.episode_index(w) for w in range(vec.num_worlds)]))
    return arrays


def assert_same(a: list[np.ndarray], b: list[np.ndarray], tick: int) -> None:
    assert len(a) == len(b)
    for k, (x, y) in enumerate(zip(a, b)):
        assert x.dtype == y.dtype and np.array_equal(x, y), (tick, k)


def step_in_lockstep(envs: list[VecEnv], ticks: int, seed: int = 4) -> None:
    policies = [FighterPolicy(envs[0].layout, seed=seed) for _ in envs]
    for t in range(ticks):
        outs = []
        for env, policy in zip(envs, policies):
            env.step(policy.act(env.observations))
            outs.append(vec_outputs(env))
        for out in outs[1:]:
            assert_same(outs[0], out, t)


def arrays_of(vec: VecEnv) -> list[np.ndarray]:
    """Every array a VecEnv's step reads or writes."""
    found = list(vec._saved_arrays().values()) + [vec.action_buffer, vec._commands]
    for io in vec._io:
        found += list(io.slots)
        for part in io.observer:  # arrays, and the record of system views
            found += list(part) if isinstance(part, tuple) else [part]
    return found


@pytest.mark.parametrize("how", COPIERS)
@pytest.mark.parametrize("when", ["fresh", "used"])
def test_vec_env_copies_continue_bit_identically(how, when):
    original = VecEnv(2, "small", seed=7, horizon=120, reward_fn=FoodReward())
    if when == "used":
        original.reset()
        step_in_lockstep([original], 137, seed=1)  # past an episode end and its autoreset
        assert original.episode_index(0) == 1
    clone = COPIERS[how](original)
    assert clone.reward_fn is not original.reward_fn and clone.reward_fn.calls == original.reward_fn.calls
    assert clone.config == original.config and clone.seed == original.seed
    if when == "fresh":
        assert not clone._started
        for env in (original, clone):
            env.reset()
    assert_same(vec_outputs(original), vec_outputs(clone), -1)
    mine = arrays_of(original)
    assert not any(np.shares_memory(a, b) for a in arrays_of(clone) for b in mine)
    step_in_lockstep([original, clone], TICKS)
    assert original.episode_index(0) >= 2 and original.death_causes.sum() > 0


@pytest.mark.parametrize("how", COPIERS)
def test_a_vec_env_copy_is_independent(how):
    original = VecEnv(1, "small", seed=3, horizon=500)
    original.reset()
    step_in_lockstep([original], 20)
    before = vec_outputs(original)
    clone = COPIERS[how](original)
    step_in_lockstep([clone], 50, seed=9)  # stepping the copy leaves the original alone
    assert_same(vec_outputs(original), before, 0)
    assert clone.worlds[0].tick == 70 and original.worlds[0].tick == 20
    again = COPIERS[how](original)
    step_in_lockstep([original], 50, seed=9)  # and the original, stepped the same way, catches up
    assert_same(vec_outputs(original), vec_outputs(clone), 1)
    assert again.worlds[0].tick == 20


def test_vec_env_copies_keep_loaded_maps_idle_worlds_and_settings():
    original = VecEnv(2, "small", seed=2, horizon=30, autoreset=False, first_world=5)
    original.reset()
    material = original.worlds[0].material.copy()
    b = original.config.map.border
    placements = np.argwhere(SPAWNABLE[material[b:-b, b:-b]])[:3] + b
    original.load(0, material, placements)
    step_in_lockstep([original], 31)  # world 1 finishes and stays idle (no autoreset)
    assert original.episode_done.all()
    for how, copier in COPIERS.items():
        clone = copier(original)
        assert not clone.autoreset and clone.first_world == 5, how
        assert np.array_equal(clone._maps[0][0], material) and np.array_equal(clone._maps[0][1], placements)
        assert clone._maps[1] is None
        step_in_lockstep([original, clone], 3)
        clone.reset()
        original.reset()
        step_in_lockstep([original, clone], 40)


def _step_elsewhere(payload: bytes, ticks: int) -> list[bytes]:
    """In a spawned process: unpickle a VecEnv and step it with a seeded policy."""
    vec = pickle.loads(payload)
    policy = FighterPolicy(vec.layout, seed=5)
    for _ in range(ticks):
        vec.step(policy.act(vec.observations))
    return [a.tobytes() for a in vec_outputs(vec)]


def test_a_vec_env_pickled_into_a_spawned_process_continues_there():
    original = VecEnv(1, "small", seed=8, horizon=80)
    original.reset()
    step_in_lockstep([original], 60)
    payload = pickle.dumps(original)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        there = pool.submit(_step_elsewhere, payload, 50).result(timeout=600)
    policy = FighterPolicy(original.layout, seed=5)
    for _ in range(50):
        original.step(policy.act(original.observations))
    assert there == [a.tobytes() for a in vec_outputs(original)]


# ---------------------------------------------------------------------- PettingZoo


def assert_same_step(a: tuple, b: tuple, tick: int) -> None:
    obs_a, *rest_a = a
    obs_b, *rest_b = b
    assert list(obs_a) == list(obs_b), tick
    for name, value in obs_a.items():
        if isinstance(value, dict):
            for key in value:
                assert np.array_equal(value[key], obs_b[name][key]), (tick, name, key)
        else:
            assert value.dtype == obs_b[name].dtype and np.array_equal(value, obs_b[name]), (tick, name)
    for x, y in zip(rest_a, rest_b):  # rewards, terminations, truncations, infos
        assert x.keys() == y.keys(), tick
        for name in x:
            if isinstance(x[name], dict):
                assert x[name].keys() == y[name].keys()
                assert all(np.array_equal(x[name][k], y[name][k]) for k in x[name]), (tick, name)
            else:
                assert x[name] == y[name], (tick, name)


def run_parallel(envs: list, last: list | None, ticks: int, seed: int = 2) -> tuple[list, int]:
    """Step every env with the same actions (from one policy per env, identically seeded) from
    their last observations (None: reset first); compare every output; reset all when the
    episode ends. Returns the last observations and the number of resets."""
    policies = [RandomPolicy(envs[0].layout, seed=seed) for _ in envs]
    resets = 0
    for t in range(ticks):
        if last is None or not envs[0].agents:
            outs = [env.reset() for env in envs]
            resets += 1
        else:
            outs = []
            for env, policy, obs in zip(envs, policies, last):
                as_dicts = {a: o if isinstance(o, dict) else env.flat_observation.unflatten(o)
                            for a, o in obs.items() if a in env.agents}  # fmt: skip
                outs.append(env.step(act_dict(policy, as_dicts)))
        for out in outs[1:]:
            assert_same_step(outs[0], out, t)
        assert all(env.agents == envs[0].agents for env in envs)
        assert all(env.state_hash() == envs[0].state_hash() for env in envs)
        last = [out[0] for out in outs]
    return last, resets


PARALLEL_CASES = [
    {},
    {"agent_names": "unique"},
    {"observation_format": "flat", "action_format": "multidiscrete"},
    {"persistent": True, "food_decay": 25},
]


@pytest.mark.parametrize("kwargs", PARALLEL_CASES, ids=[str(k) for k in PARALLEL_CASES])
@pytest.mark.parametrize("how", COPIERS)
def test_parallel_env_copies_continue_bit_identically(how, kwargs):
    kwargs = {"horizon": 130, **kwargs}
    original = neural_mmo.parallel_env("small", seed=6, **kwargs)
    fresh = COPIERS[how](original)
    assert fresh.agents == [] and fresh.possible_agents == original.possible_agents
    last, _ = run_parallel([original, fresh], None, 1)  # both reset
    for _ in range(3):
        last, _ = run_parallel([original, fresh], last, 40)
        used = COPIERS[how](original)
        assert used.agents == original.agents and used.ignored_actions == original.ignored_actions
        assert used.vec is not original.vec and used.world is used.vec.worlds[0]
        assert used.layout is used.vec.layout and used.config == original.config
        assert used.observation_space("player_0") == original.observation_space("player_0")
    _, resets = run_parallel([original, fresh, used], last[:2] + last[:1], TICKS)
    assert resets >= (0 if original.config.episode.persistent else 2)
    assert original.world.tick > 0


def test_a_parallel_env_copy_is_independent():
    original = neural_mmo.parallel_env("small", seed=1, horizon=400)
    last, _ = run_parallel([original], None, 30)
    hash_before, agents_before = original.state_hash(), list(original.agents)
    clone = copy.deepcopy(original)
    run_parallel([clone], last, 60, seed=4)
    assert original.state_hash() == hash_before and original.agents == agents_before
    assert original.world.tick == 29 and clone.world.tick == 89


def test_a_copy_of_a_recording_env_does_not_record(tmp_path):
    original = neural_mmo.parallel_env("small", seed=1, horizon=20, record=tmp_path / "run.replay")
    original.reset()
    original.step({})
    for clone in (copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert clone.recorder is None and original.recorder is not None
        clone.step({})
        while clone.agents:
            clone.step({})
        clone.reset()
    while original.agents:
        original.step({})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.replay"]


@pytest.mark.parametrize("how", COPIERS)
def test_aec_env_copies_continue_bit_identically(how):
    original = neural_mmo.env("small", seed=3, horizon=60)
    original.reset(seed=3)
    layout = original.unwrapped.layout

    def turns(env, n, policy):
        seen = []
        for agent in env.agent_iter(max_iter=n):
            obs, reward, terminated, truncated, info = env.last()
            seen.append((agent, reward, terminated, truncated, info, {k: v.copy() for k, v in obs.items()}))
            env.step(None if terminated or truncated else act_dict(policy, {agent: obs})[agent])
        return seen

    turns(original, 100, RandomPolicy(layout, seed=0))  # mid-cycle: some agents have acted this tick
    clone = COPIERS[how](original)
    a, b = (turns(env, 5000, RandomPolicy(layout, seed=1)) for env in (original, clone))
    assert len(a) == len(b) > 1000 and original.agents == clone.agents == []
    for x, y in zip(a, b):
        assert x[:5] == y[:5] and all(np.array_equal(x[5][k], y[5][k]) for k in x[5])


# ---------------------------------------------------------------------- MultiprocessVecEnv


def test_a_multiprocess_vec_env_refuses_to_be_copied():
    with MultiprocessVecEnv(2, "small", seed=0, num_workers=1, start_method="fork") as vec:
        vec.reset()
        for copier in (pickle.dumps, copy.copy, copy.deepcopy):
            with pytest.raises(TypeError, match="MultiprocessVecEnv cannot be pickled or copied"):
                copier(vec)
        obs, rewards, *_ = vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))  # still works
        assert rewards.shape == (vec.num_slots,)
