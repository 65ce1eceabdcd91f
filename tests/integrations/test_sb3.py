"""SuperSuit + Stable-Baselines3: the vector env of agent slots (PPO learning on it is the docs
example, tests/integrations/test_docs_examples.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
pytest.importorskip("supersuit")

from neural_mmo.integrations.sb3 import make_vec_env  # noqa: E402


def test_each_slot_of_each_world_is_one_env_and_worlds_differ():
    env = make_vec_env("small", num_worlds=2, seed=4)
    try:
        assert env.num_envs == 128
        obs = env.reset()
        assert obs.shape == (128, env.observation_space.shape[0]) and obs.dtype == np.float32
        assert not np.array_equal(obs[:64], obs[64:]), "the two worlds play different maps"
        actions = np.zeros((128, 2), np.int64)
        for _ in range(5):
            obs, rewards, dones, infos = env.step(actions)
        assert rewards.shape == (128,) and dones.shape == (128,) and len(infos) == 128
        assert {"agent_id", "alive", "died", "spawned"} <= set(infos[0])
    finally:
        env.close()
    with pytest.raises(ValueError, match="num_worlds must be a positive int"):
        make_vec_env("small", num_worlds=0)
