"""Saving and restoring envs: a restored env, stepped with the same actions, gives bit-identical
outputs every tick to the env that never stopped (observations, rewards, flags, infos, events,
running totals and state hashes), over 2,000 ticks with episode ends, deaths and spawns."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.agents import FighterPolicy, RandomPolicy, act_dict
from neural_mmo.envs.parallel import NeuralMMOParallelEnv
from neural_mmo.envs.vector import VecEnv
from neural_mmo.world.events import DeathCause
from neural_mmo.world.materials import SPAWNABLE

TICKS = 2000


def food_reward(state, events) -> np.ndarray:
    """A custom reward: each slot's food, scaled."""
    return state.agents.food.astype(np.float32) / 100


def assert_same_vec(a: VecEnv, b: VecEnv, tick: int) -> None:
    for key in a.observations:
        assert np.array_equal(a.observations[key], b.observations[key]), (tick, key)
    for name in ("rewards", "terminations", "truncations", "event_counts", "death_causes", "action_buffer"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), (tick, name)
    for key in a.infos:
        assert np.array_equal(a.infos[key], b.infos[key]), (tick, key)
    for wa, wb in zip(a.worlds, b.worlds):
        assert wa.state_hash() == wb.state_hash(), tick
        assert np.array_equal(wa.events.table[: wa.events.counts[0]], wb.events.table[: wb.events.counts[0]])
    episodes = [[env.episode_index(w) for w in range(env.num_worlds)] for env in (a, b)]
    assert episodes[0] == episodes[1], tick


def run_in_lockstep(envs: list[VecEnv], policy_seed: int, ticks: int) -> VecEnv:
    """Step every env with actions from its own identically seeded fighter policy; compare each tick."""
    policies = [FighterPolicy(env.layout, seed=policy_seed) for env in envs]
    for t in range(ticks):
        for env, policy in zip(envs, policies):
            env.step(policy.act(env.observations))
        for other in envs[1:]:
            assert_same_vec(envs[0], other, t)
    return envs[0]


@pytest.mark.parametrize("reward_fn", [None, food_reward], ids=["default-reward", "custom-reward"])
def test_vec_env_restored_mid_episode_continues_bit_identically(reward_fn, tmp_path):
    kwargs = dict(config=None, reward_fn=reward_fn, horizon=300)
    original = VecEnv(3, "small", seed=21, **kwargs)
    obs, _ = original.reset()
    policy = FighterPolicy(original.layout, seed=2)
    for _ in range(137):
        obs, *_ = original.step(policy.act(obs))
    path = tmp_path / "vec.save"
    original.save(path)
    rebuilt = VecEnv.from_save(path, reward_fn=reward_fn)
    into = VecEnv(3, "small", seed=99, **kwargs)  # another seed, other episodes: all replaced
    into.reset()
    for _ in range(5):
        into.step(np.zeros((into.num_slots, into.n_heads), np.int64))
    into.restore(path)
    assert_same_vec(original, rebuilt, -1)
    assert_same_vec(original, into, -1)
    deaths = original.death_causes.sum()
    run_in_lockstep([original, rebuilt, into], policy_seed=4, ticks=TICKS)
    assert min(original.episode_index(w) for w in range(3)) >= 5  # episode ends and autoresets happened
    assert original.death_causes.sum() > deaths


def test_vec_env_saved_right_at_an_episode_end_resets_identically(tmp_path):
    original = VecEnv(2, "small", seed=5, horizon=40, autoreset=True)
    obs, _ = original.reset()
    policy = RandomPolicy(original.layout, seed=1)
    while not original.episode_done.all():
        obs, *_ = original.step(policy.act(obs))
    original.save(tmp_path / "end.save")
    restored = VecEnv.from_save(tmp_path / "end.save")
    assert restored.episode_done.all() and restored.autoreset
    run_in_lockstep([original, restored], policy_seed=3, ticks=1)
    assert original.spawned.any() and original.episode_index(0) == 1  # the pending reset happened in both
    run_in_lockstep([original, restored], policy_seed=3, ticks=200)


def test_vec_env_without_autoreset_saved_idle_stays_idle(tmp_path):
    original = VecEnv(1, "small", seed=5, horizon=20, autoreset=False)
    original.reset()
    for _ in range(22):  # two steps past the end: the world is idle
        original.step(np.zeros((original.num_slots, original.n_heads), np.int64))
    original.save(tmp_path / "idle.save")
    restored = VecEnv.from_save(tmp_path / "idle.save")
    assert not restored.autoreset
    run_in_lockstep([original, restored], policy_seed=3, ticks=5)
    assert not original.alive.any()


def test_vec_env_with_a_loaded_map_keeps_playing_it_after_a_restore(tmp_path):
    original = VecEnv(1, "small", seed=2, horizon=30)
    original.reset()
    material = original.worlds[0].material.copy()
    b = original.config.map.border
    spawnable = np.argwhere(SPAWNABLE[material[b:-b, b:-b]])[:3] + b
    original.load(0, material, spawnable)
    original.save(tmp_path / "map.save")
    restored = VecEnv.from_save(tmp_path / "map.save")
    run_in_lockstep([original, restored], policy_seed=3, ticks=100)  # three episodes on the loaded map
    assert original.episode_index(0) >= 3
    saved_map = restored.snapshot()[1]
    assert np.array_equal(saved_map["map0.material"], material)
    assert np.array_equal(saved_map["map0.placements"], spawnable)


def test_persistent_world_with_deaths_and_spawns_continues_bit_identically(tmp_path):
    kwargs = dict(episode__persistent=True, spawn__mode="continuous")
    original = VecEnv(1, "small", seed=13, **kwargs)
    obs, _ = original.reset()
    policy = FighterPolicy(original.layout, seed=1)
    for _ in range(300):
        obs, *_ = original.step(policy.act(obs))
    original.save(tmp_path / "persistent.save")
    restored = VecEnv.from_save(tmp_path / "persistent.save")
    deaths, spawns = original.death_causes[0].copy(), 0
    policies = [FighterPolicy(original.layout, seed=8) for _ in range(2)]
    for t in range(TICKS):
        for env, p in zip((original, restored), policies):
            env.step(p.act(env.observations))
        assert_same_vec(original, restored, t)
        spawns += int(original.spawned.sum())
    assert original.worlds[0].tick == 2300 and not original.episode_done.any()
    died = original.death_causes[0] - deaths
    assert died.sum() > 50 and spawns > 50
    assert died[DeathCause.COMBAT] > 0


def assert_same_dicts(a: tuple, b: tuple, tick: int) -> None:
    obs_a, *rest_a = a
    obs_b, *rest_b = b
    assert list(obs_a) == list(obs_b), tick
    for name in obs_a:
        for key in obs_a[name]:
            assert np.array_equal(obs_a[name][key], obs_b[name][key]), (tick, name, key)
    assert rest_a == rest_b, tick


def test_parallel_env_restored_continues_bit_identically_across_episodes(tmp_path):
    original = NeuralMMOParallelEnv("small", seed=4, horizon=400)
    obs, _ = original.reset()
    policy = RandomPolicy(original.layout, seed=0)
    for _ in range(150):
        obs, *_ = original.step(act_dict(policy, obs))
    original.ignored_actions = 7
    path = tmp_path / "parallel.save"
    original.save(path)
    restored = NeuralMMOParallelEnv.from_save(path)
    into = NeuralMMOParallelEnv("small", seed=1, horizon=400)
    into.reset()
    into.restore(path)
    envs = [original, restored, into]
    for env in envs[1:]:
        assert env.agents == original.agents and env.ignored_actions == 7
        assert env.state_hash() == original.state_hash()
    policies = [RandomPolicy(original.layout, seed=9) for _ in envs]
    last = [obs] * 3
    resets = 0
    for t in range(TICKS):
        if not original.agents:
            last = [env.reset() for env in envs]
            assert_same_dicts(last[0], last[1], t)
            assert_same_dicts(last[0], last[2], t)
            last = [out[0] for out in last]
            resets += 1
        outs = [env.step(act_dict(p, o)) for env, p, o in zip(envs, policies, last)]
        for out in outs[1:]:
            assert_same_dicts(outs[0], out, t)
        assert [env.agents for env in envs[1:]] == [original.agents] * 2
        assert all(env.state_hash() == original.state_hash() for env in envs[1:])
        last = [out[0] for out in outs]
    assert resets >= 4
