"""Neural MMO: a massively multi-agent research environment in the spirit of MMORPGs.

Quick start::

    import neural_mmo
    env = neural_mmo.parallel_env("small")
    obs, infos = env.reset(seed=0)
    while env.agents:
        actions = {a: env.action_space(a).sample(obs[a]["action_mask"]) for a in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)
"""

from neural_mmo._kernel_cache import configure_kernel_cache

KERNEL_CACHE = configure_kernel_cache()  # before any kernel is defined; see _kernel_cache

from neural_mmo.config import PRESETS, Config, ConfigError  # noqa: E402
from neural_mmo.envs.multiprocess import MultiprocessVecEnv  # noqa: E402
from neural_mmo.envs.parallel import NeuralMMOParallelEnv, env, parallel_env  # noqa: E402
from neural_mmo.envs.vector import VecEnv  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Config",
    "ConfigError",
    "MultiprocessVecEnv",
    "NeuralMMOParallelEnv",
    "VecEnv",
    "env",
    "parallel_env",
]
