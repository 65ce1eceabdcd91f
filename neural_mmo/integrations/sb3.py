"""Neural MMO for Stable-Baselines3 through SuperSuit (extra ``[sb3]``).

::

    from stable_baselines3 import PPO
    from neural_mmo.integrations.sb3 import make_vec_env

    env = make_vec_env("small", num_worlds=2)   # 2 worlds x 64 agent slots = 128 SB3 envs
    model = PPO("MlpPolicy", env, seed=0)
    model.learn(100_000)

Each agent slot of each world is one environment of the SB3 vector env: the PettingZoo env with
flat ``Box`` observations, ``MultiDiscrete([move, attack])`` actions and one name per slot (the
defaults that SuperSuit's ``pettingzoo_env_to_vec_env_v1`` needs: every name present every tick,
the same spaces for all), turned into a vector env by SuperSuit and stacked ``num_worlds`` times
by ``concat_vec_envs_v1``. An SB3 "episode" of a slot is the world's episode: a death is the -1
reward and ``infos[i]["died"]``, after which the slot shows zeros (only the no-op allowed) until
the next agent born there takes over (``infos[i]["spawned"]``, ``infos[i]["agent_id"]``).

``num_cpus > 0`` steps the worlds in that many processes (SuperSuit pickles the env into each);
the default 0 steps them in this process.
"""

from __future__ import annotations

from typing import Any

from neural_mmo.integrations import FLAT_SLOTS, missing, refuse_fixed

try:
    import supersuit
    from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper
except ImportError as _err:
    raise missing("SuperSuit and Stable-Baselines3", "sb3", _err) from None

from neural_mmo.envs.parallel import NeuralMMOParallelEnv

FIXED = FLAT_SLOTS
"""What the vector env sets on each PettingZoo env it wraps."""


class NeuralMMOVecEnv(SB3VecEnvWrapper):
    """SuperSuit's SB3 wrapper, plus the ``seed()`` that SB3 calls when a model is given a seed
    (SuperSuit's vector envs take the seed at ``reset`` instead: it is kept for the next one)."""

    def __init__(self, venv: Any, seed: int | None = None):
        super().__init__(venv)
        self._next_seed = seed  # the first reset seeds world i with seed + i

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._next_seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
        seed = self._next_seed if seed is None else seed
        self._next_seed = None
        observations, self.reset_infos = self.venv.reset(seed=seed, options=options)
        return observations


def make_vec_env(
    preset: str | None = None, *, num_worlds: int = 1, num_cpus: int = 0, **kwargs: Any
) -> NeuralMMOVecEnv:
    """An SB3 ``VecEnv`` of ``num_worlds`` worlds, one SB3 env per agent slot (see the module
    docs). ``kwargs``: arguments of ``neural_mmo.parallel_env`` (``config``, ``seed``,
    ``reward_fn``, config overrides such as ``horizon``)."""
    if isinstance(num_worlds, bool) or not isinstance(num_worlds, int) or num_worlds < 1:
        raise ValueError(f"num_worlds must be a positive int, got {num_worlds!r}")
    if isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 0:
        raise ValueError(f"num_cpus must be an int >= 0, got {num_cpus!r}")
    refuse_fixed(kwargs, FIXED, "make_vec_env")
    env = NeuralMMOParallelEnv(preset, **kwargs, **FIXED)
    markov = supersuit.pettingzoo_env_to_vec_env_v1(env)
    stacked = supersuit.concat_vec_envs_v1(markov, num_worlds, num_cpus=num_cpus, base_class="gymnasium")
    return NeuralMMOVecEnv(stacked, seed=kwargs.get("seed", 0))


__all__ = ["FIXED", "NeuralMMOVecEnv", "make_vec_env"]
