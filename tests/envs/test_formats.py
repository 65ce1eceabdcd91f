"""Space formats of the PettingZoo env: flat Box observations, MultiDiscrete actions,
render_mode="human" and max_cycles, through PettingZoo's own tests and against the dict formats."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)
from pettingzoo.utils.conversions import parallel_to_aec

import neural_mmo
from neural_mmo.agents import FighterPolicy, act_dict
from neural_mmo.envs.formats import FlatObservation, MultiDiscreteActions
from neural_mmo.observe.layout import ObsLayout

FLAT = {"observation_format": "flat", "action_format": "multidiscrete"}


def test_flat_layout_covers_every_field_once_in_field_order():
    env = neural_mmo.parallel_env("small", observation_format="flat")
    flat, layout = env.flat_observation, env.layout
    assert (
        list(flat.slices)
        == [f.key for f in layout.fields]
        == ["tiles", "entities", "entity_mask", "action_mask"]
    )
    position = 0
    for f in layout.fields:
        part = flat.slices[f.key]
        assert part.start == position and part.stop - part.start == int(np.prod(f.shape))
        assert flat.shapes[f.key] == f.shape and flat.dtypes[f.key] == f.dtype
        position = part.stop
    assert flat.size == position == sum(int(np.prod(f.shape)) for f in layout.fields)
    space = env.observation_space("player_0")
    assert isinstance(space, spaces.Box) and space.shape == (flat.size,) and space.dtype == np.float32
    for f in layout.fields:
        assert (space.low[flat.slices[f.key]] == f.low.ravel()).all()
        assert (space.high[flat.slices[f.key]] == f.high.ravel()).all()
    table = flat.markdown()
    assert f"| `action_mask` | {flat.slices['action_mask'].start} | {flat.size} |" in table


def test_flat_observations_hold_exactly_the_dict_observations():
    """Same seed, same actions: every flat observation unflattens to the dict env's, bit for bit,
    and the infos carry each agent's action mask."""
    dict_env = neural_mmo.parallel_env("small", seed=3, horizon=80, agent_names="unique")
    flat_env = neural_mmo.parallel_env("small", seed=3, horizon=80, agent_names="unique", **FLAT)
    obs_d, _ = dict_env.reset()
    obs_f, infos_f = flat_env.reset()
    policy = FighterPolicy(dict_env.layout, seed=1)
    flat = flat_env.flat_observation
    checked = 0
    while dict_env.agents:
        assert list(obs_d) == list(obs_f)
        for name, d in obs_d.items():
            vector = obs_f[name]
            assert vector.dtype == np.float32 and flat_env.observation_space(name).contains(vector)
            back = flat.unflatten(vector)
            for key in d:
                assert back[key].dtype == d[key].dtype and np.array_equal(back[key], d[key]), (name, key)
                assert np.array_equal(flat.part(vector, key), d[key])
            assert infos_f[name]["action_mask"].dtype == np.int8
            assert np.array_equal(infos_f[name]["action_mask"], d["action_mask"])
            checked += 1
        actions = act_dict(policy, obs_d)
        as_arrays = {a: np.array([v["move"], v["attack"]]) for a, v in actions.items()}
        obs_d, rewards_d, terms_d, truncs_d, infos_d = dict_env.step(actions)
        obs_f, rewards_f, terms_f, truncs_f, infos_f = flat_env.step(as_arrays)
        assert (rewards_d, terms_d, truncs_d) == (rewards_f, terms_f, truncs_f)
        assert {a: i["invalid_actions"] for a, i in infos_d.items()} == {
            a: i["invalid_actions"] for a, i in infos_f.items()
        }
        assert flat_env.state_hash() == dict_env.state_hash()
    assert checked > 1000 and flat_env.agents == []


def test_flatten_and_unflatten_round_trip_batches():
    layout = ObsLayout(neural_mmo.Config.preset("small"))
    flat = FlatObservation(layout)
    vec = neural_mmo.VecEnv(2, "small", seed=4)
    obs, _ = vec.reset()
    batch = flat.flatten(obs)
    assert batch.shape == (vec.num_slots, flat.size) and batch.dtype == np.float32
    back = flat.unflatten(batch)
    assert all(np.array_equal(back[k], obs[k]) and back[k].dtype == obs[k].dtype for k in obs)
    grid = flat.unflatten(batch.reshape(2, vec.slots_per_world, flat.size))
    assert grid["tiles"].shape == (2, vec.slots_per_world, *obs["tiles"].shape[1:])
    assert np.array_equal(flat.flatten({k: v[5] for k, v in obs.items()}), batch[5])
    with pytest.raises(ValueError, match=f"{flat.size} values"):
        flat.unflatten(batch[:, :-1])
    with pytest.raises(ValueError, match="entities has shape"):
        flat.flatten({**obs, "entities": obs["entities"][:3]})


def test_multidiscrete_space_samples_within_the_flat_mask():
    env = neural_mmo.parallel_env("small", seed=0, action_format="multidiscrete")
    space = env.action_space("player_0")
    assert isinstance(space, spaces.MultiDiscrete) and isinstance(space, MultiDiscreteActions)
    assert space.nvec.tolist() == env.layout.action_sizes.tolist() and space.dtype == np.int64
    mask = np.zeros(env.layout.n_actions, np.int8)
    offsets = env.layout.action_offsets
    mask[offsets[0] + 3] = 1
    mask[offsets[1] + 7] = 1
    for m in (mask, mask.astype(np.float32)):
        assert space.sample(m).tolist() == [3, 7]
    per_head = (mask[: offsets[1]], mask[offsets[1] :])
    assert space.sample(per_head).tolist() == [3, 7]  # gymnasium's own form still works
    space.seed(1)
    draws = {tuple(space.sample().tolist()) for _ in range(200)}
    assert len(draws) > 50 and all(0 <= a < n for d in draws for a, n in zip(d, space.nvec))


@pytest.mark.parametrize("agent_names", ["slot", "unique"])
@pytest.mark.parametrize(
    "kwargs",
    [FLAT, {"observation_format": "flat"}, {"action_format": "multidiscrete"}],
    ids=["flat+multidiscrete", "flat", "multidiscrete"],
)
def test_pettingzoo_tests_pass_in_every_format(kwargs, agent_names):
    kwargs = dict(kwargs, agent_names=agent_names, horizon=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(neural_mmo.parallel_env("small", **kwargs), num_cycles=60)
        api_test(parallel_to_aec(neural_mmo.parallel_env("small", **kwargs)), num_cycles=20)
        parallel_seed_test(lambda: neural_mmo.parallel_env("small", **kwargs), num_cycles=20)
        seed_test(lambda: neural_mmo.env("small", **kwargs), num_cycles=10)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"observation_format": "box"}, "observation_format"),
        ({"action_format": "discrete"}, "action_format"),
        ({"observation_format": None}, "observation_format"),
        ({"max_cycles": 10, "horizon": 20}, "max_cycles"),
        ({"max_cycles": 10, "episode__horizon": 20}, "max_cycles"),
    ],
)
def test_bad_format_arguments_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        neural_mmo.parallel_env("small", **kwargs)


def test_max_cycles_is_the_horizon():
    env = neural_mmo.parallel_env("small", max_cycles=7)
    assert env.config.episode.horizon == 7
    assert neural_mmo.parallel_env("small", max_cycles=7, horizon=7).config.episode.horizon == 7
    assert neural_mmo.env("small", max_cycles=9).unwrapped.config.episode.horizon == 9
    with pytest.raises(neural_mmo.ConfigError, match="horizon"):
        neural_mmo.parallel_env("small", max_cycles=0)
    env.reset(seed=0)
    steps = 0
    while env.agents:
        env.step({a: 0 for a in env.agents})
        steps += 1
    assert steps == 7 == env.world.tick


def test_pettingzoo_max_cycles_and_render_tests_pass():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        max_cycles_test(neural_mmo)
        render_test(lambda render_mode=None: neural_mmo.env("small", render_mode=render_mode, horizon=30))


def test_human_render_mode_opens_nothing_and_returns_none():
    env = neural_mmo.parallel_env("small", render_mode="human", seed=0)
    assert env.render_mode == "human" and env.metadata["render_modes"] == ["rgb_array"]
    env.reset()
    with pytest.warns(UserWarning, match="opens no window"):
        assert env.render() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per env, not on every call
        assert env.render() is None
    aec = neural_mmo.env("small", render_mode="human")
    aec.reset(seed=0)
    with pytest.warns(UserWarning):
        assert aec.render() is None
