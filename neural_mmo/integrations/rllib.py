"""Neural MMO as an RLlib ``MultiAgentEnv`` (extra ``[rllib]``).

::

    from ray.rllib.algorithms.ppo import PPOConfig
    from neural_mmo.integrations.rllib import NeuralMMOEnvRunner, NeuralMMOMultiAgentEnv

    config = (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": "small"})
        .env_runners(env_runner_cls=NeuralMMOEnvRunner)  # optional: the same, faster
    )
    algo = config.build_algo()
    algo.train()

RLlib agents are the agent slots: ``player_0 .. player_<n_agents - 1>`` (``possible_agents``),
each shown while it holds a living agent. RLlib needs every agent id it will ever meet listed in
the env's spaces up front, and an id that terminated may not come back in the same episode, so
the ids are the slots, and the next agent born in a slot continues the slot's RLlib agent:

* an agent that dies shows its last observation with the death reward (-1 by default) and
  ``infos[id]["died"] = True``; its RLlib agent is not terminated;
* an empty slot is left out of the returned dicts (nobody acts there, no samples are made);
* an agent that spawns in the slot shows up again under the slot's id, with
  ``infos[id]["spawned"] = True`` and its unique ``infos[id]["agent_id"]``.

So to RLlib a slot is one agent whose deaths cost -1 and whose life goes on in the next agent born
there: the advantage of the actions before a death sees the -1 in full; the value at the death
bootstraps from the next agent's first observation (a small bias against a true end of episode,
which RLlib cannot express for a reused id). The episode ends for all at the horizon
(``truncateds["__all__"]``) or when nobody is left (``terminateds["__all__"]``).

All agents share one observation space, a flat ``float32`` ``Box`` (the parts' offsets:
``env.flat_observation``, see docs/api.md), and one ``MultiDiscrete([move, attack])`` action
space, so one RLModule (RLlib's default: an MLP encoder with a multi-categorical head) serves
them all. The action mask is the observation's ``action_mask`` part; masked or invalid actions
are no-ops, so a policy that ignores the mask still trains.

``env_config`` holds the arguments of ``neural_mmo.parallel_env`` (a ``preset`` or a ``config``,
``seed``, ``reward_fn``, config overrides such as ``horizon``); each env runner and vector index
adds its own offset to ``seed`` so that copies play different worlds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from neural_mmo.integrations import missing

try:
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
    from ray.rllib.utils.metrics import (
        NUM_AGENT_STEPS_SAMPLED,
        NUM_AGENT_STEPS_SAMPLED_LIFETIME,
        NUM_MODULE_STEPS_SAMPLED,
        NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    )
    from ray.rllib.utils.typing import AgentID, MultiAgentDict
except ImportError as _err:
    raise missing("RLlib", "rllib", _err) from None

from neural_mmo.envs.parallel import NeuralMMOParallelEnv

FIXED: dict[str, Any] = {
    "agent_names": "slot",
    "observation_format": "flat",
    "action_format": "multidiscrete",
}
"""What the RLlib env sets on the PettingZoo env it wraps (``env_config`` cannot change them)."""

SEED_STRIDE = 1_000
"""Seed offset between env runners (``worker_index``); vector indexes add 1 each."""


class NeuralMMOMultiAgentEnv(MultiAgentEnv):
    """Neural MMO for RLlib (see the module docs). ``config``: RLlib's ``env_config``."""

    def __init__(self, config: dict[str, Any] | None = None):
        super().__init__()
        settings = dict(config or {})
        fixed = sorted(set(settings) & set(FIXED))
        if fixed:
            raise ValueError(
                f"env_config sets {', '.join(fixed)}, which the RLlib env fixes "
                f"({', '.join(f'{k}={v!r}' for k, v in FIXED.items())})"
            )
        seed = settings.pop("seed", 0)
        worker, vector = (getattr(config, key, None) or 0 for key in ("worker_index", "vector_index"))
        seed += SEED_STRIDE * int(worker) + int(vector)  # RLlib's EnvContext; None outside env runners
        self.env = NeuralMMOParallelEnv(seed=seed, **settings, **FIXED)
        self.flat_observation = self.env.flat_observation
        """Where each part lies in the flat observation (``slices``, ``shapes``, ``unflatten``)."""
        self._observation_space = self.env.observation_space("player_0")
        self._action_space = self.env.action_space("player_0")
        self.possible_agents: list[AgentID] = list(self.env.possible_agents)
        self.observation_spaces = dict.fromkeys(self.possible_agents, self._observation_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, self._action_space)
        self.agents: list[AgentID] = []
        self._seen: set[str] = set()
        self.deaths = 0
        """Agents that died, over this env's lifetime."""
        self.spawns = 0
        """Agents born after an episode's first tick, over this env's lifetime."""

    def get_observation_space(self, agent_id: Any) -> Any:
        return self._observation_space

    def get_action_space(self, agent_id: Any) -> Any:
        return self._action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, infos = self.env.reset(seed=seed, options=options)
        shown = [name for name, info in infos.items() if info["alive"]]
        self.agents = shown
        self._seen = set(shown)
        return {k: obs[k] for k in shown}, {k: _lean(infos[k]) for k in shown}

    def step(  # type: ignore[override]  # RLlib's MultiAgentEnv.step (names are str here)
        self, action_dict: dict[str, Any]
    ) -> tuple[MultiAgentDict, MultiAgentDict, MultiAgentDict, MultiAgentDict, MultiAgentDict]:
        obs, rewards, terminations, truncations, infos = self.env.step(action_dict)
        vec = self.env.vec
        done = bool(vec.episode_done[0])
        if done:  # every agent RLlib met this episode gets a last step (an empty slot's: zeros)
            shown = [name for name in infos if name in self._seen or infos[name]["died"]]
        else:
            shown = [name for name, info in infos.items() if info["alive"] or info["died"]]
            self._seen.update(shown)
        at_horizon = done and any(truncations.values())
        self.deaths += int(vec.terminations.sum())
        self.spawns += int(vec.spawned.sum())
        self.agents = shown  # the agents that died this tick included: they show their last step
        out = (
            {k: obs[k] for k in shown},
            {k: rewards[k] for k in shown},
            dict.fromkeys(shown, False),
            dict.fromkeys(shown, False),
            {k: _lean(infos[k]) for k in shown},
        )
        out[2]["__all__"] = done and not at_horizon
        out[3]["__all__"] = at_horizon
        if done:  # the episode's end is every shown agent's end
            for name in shown:
                out[2][name], out[3][name] = not at_horizon, at_horizon
        return out

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


class NeuralMMOEnvRunner(MultiAgentEnvRunner):
    """RLlib's ``MultiAgentEnvRunner`` with its per-agent step counts logged once per ``sample()``.

    The stock runner logs four counters per agent per env step (agent and module steps sampled,
    per sample and over the lifetime), each a metrics-logger call that reduces its window: about a
    quarter of the sampling time with a few dozen agents. This runner adds the same counts up over
    a ``sample()`` call and logs each total once at its end, so the metrics RLlib reports are the
    same (a test compares them). Use it with ``config.env_runners(env_runner_cls=NeuralMMOEnvRunner)``;
    it works with any multi-agent env.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self._agent_steps: Counter[Any] = Counter()
        self._module_steps: Counter[Any] = Counter()
        super().__init__(*args, **kwargs)

    def _increase_sampled_metrics(self, num_steps: int, next_obs: dict, episode: Any) -> int:
        self._agent_steps.update(next_obs.keys())
        self._module_steps.update(episode.module_for(aid) for aid in next_obs)
        return super()._increase_sampled_metrics(num_steps, {}, episode)  # env steps and episodes

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().sample(*args, **kwargs)
        finally:
            self._log_step_counts()

    def _log_step_counts(self) -> None:
        for aid, n in self._agent_steps.items():
            self.metrics.log_value((NUM_AGENT_STEPS_SAMPLED, str(aid)), n, reduce="sum")
            self.metrics.log_value((NUM_AGENT_STEPS_SAMPLED_LIFETIME, str(aid)), n, reduce="lifetime_sum")
        for module_id, n in self._module_steps.items():
            self.metrics.log_value((NUM_MODULE_STEPS_SAMPLED, module_id), n, reduce="sum")
            self.metrics.log_value((NUM_MODULE_STEPS_SAMPLED_LIFETIME, module_id), n, reduce="lifetime_sum")
        self._agent_steps.clear()
        self._module_steps.clear()


def _lean(info: dict[str, Any]) -> dict[str, Any]:
    """An info without the action mask (it is also in the observation; RLlib keeps every info)."""
    info.pop("action_mask", None)
    return info


__all__ = ["FIXED", "NeuralMMOEnvRunner", "NeuralMMOMultiAgentEnv"]
