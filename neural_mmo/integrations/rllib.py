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

The fast path: one episode per agent life
-----------------------------------------

RLlib's generic multi-agent sampler runs Python per agent and per step (connectors batching and
unbatching each agent, per-agent episode records), several times the cost of the env itself.
:class:`NeuralMMOVecEnvRunner` samples for *single-agent* RLlib instead, in bulk::

    from ray.rllib.algorithms.ppo import PPOConfig
    from neural_mmo.integrations.rllib import (
        NeuralMMOMultiAgentEnv, NeuralMMOPPOLearner, NeuralMMOVecEnvRunner)

    config = (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": "small"})  # no .multi_agent()
        .env_runners(env_runner_cls=NeuralMMOVecEnvRunner, num_envs_per_env_runner=8)  # 8 worlds
        .learners(learner_class=NeuralMMOPPOLearner)  # optional: the same batch, built in bulk
    )

It steps ``num_envs_per_env_runner`` worlds as one ``VecEnv``, runs the RLModule once per tick
over every living agent and cuts the rows into one ``SingleAgentEpisode`` per agent life: a death
is a true termination (RLlib does not bootstrap past it: no slot-reuse bias), the horizon a
truncation, a life still going at the end of ``sample()`` a chunk that the next call continues.
``env_config`` is read as the ``MultiAgentEnv`` reads it (world ``w`` of env runner ``i`` plays the
episodes of seed ``(seed + 1000 i, w, episode)``). One policy acts for every agent. Each episode's
``custom_data`` holds its ``world``, ``slot`` and ``agent_id``. :class:`NeuralMMOPPOLearner` is
RLlib's torch PPO learner with its learner connector pipeline done in one piece
(:class:`LivesToPPOBatch`: the same batch, tested) and minibatches gathered by index.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import numpy as np

from neural_mmo.integrations import FLAT_SLOTS, missing, refuse_fixed

try:
    import torch
    from gymnasium.vector.utils import batch_space
    from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
    from ray.rllib.connectors.connector_v2 import ConnectorV2
    from ray.rllib.connectors.learner.learner_connector_pipeline import LearnerConnectorPipeline
    from ray.rllib.core import DEFAULT_MODULE_ID
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode
    from ray.rllib.env.utils.infinite_lookback_buffer import InfiniteLookbackBuffer
    from ray.rllib.evaluation.postprocessing import Postprocessing
    from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
    from ray.rllib.utils.metrics import (
        NUM_AGENT_STEPS_SAMPLED,
        NUM_AGENT_STEPS_SAMPLED_LIFETIME,
        NUM_MODULE_STEPS_SAMPLED,
        NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    )
    from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets
    from ray.rllib.utils.typing import AgentID, MultiAgentDict
except ImportError as _err:
    raise missing("RLlib", "rllib", _err) from None

from neural_mmo.envs.formats import FlatObservation, MultiDiscreteActions
from neural_mmo.envs.parallel import NeuralMMOParallelEnv
from neural_mmo.envs.vector import VecEnv

FIXED = FLAT_SLOTS
"""What the RLlib env sets on the PettingZoo env it wraps (``env_config`` cannot change them)."""

SEED_STRIDE = 1_000
"""Seed offset between env runners (``worker_index``); vector indexes add 1 each."""


class NeuralMMOMultiAgentEnv(MultiAgentEnv):
    """Neural MMO for RLlib (see the module docs). ``config``: RLlib's ``env_config``."""

    def __init__(self, config: dict[str, Any] | None = None):
        super().__init__()
        settings = dict(config or {})
        refuse_fixed(settings, FIXED, "the RLlib env's env_config")
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


class LivesToPPOBatch(ConnectorV2):
    """PPO's learner connector pipeline in one piece, in bulk: from single-agent episodes with
    numpy data (``NeuralMMOVecEnvRunner``'s, or any ``to_numpy()`` episodes with a ``Box``
    observation) to PPO's train batch. As RLlib's default pipeline does, every episode chunk of
    ``n`` steps is extended by a copy of its last step for the value bootstrap; ``terminateds`` and
    ``truncateds`` mark each chunk's last step (a chunk that is not done is truncated there); one
    value forward pass over all rows, RLlib's ``compute_value_targets`` (GAE) and the advantages
    normalised over all rows. Then, unlike RLlib's, the bootstrap rows are left out of the batch:
    RLlib keeps them with ``loss_mask`` False, so every loss term ignores them, but they cost a
    forward and backward pass each (a seventh of the rows with lives of a few steps). The rows
    that remain are RLlib's batch's unmasked rows, value for value (a test compares them). RLlib's
    own pieces do the same one episode at a time (copying each episode to append the bootstrap
    row, batching item by item)."""

    def __init__(self, *args: Any, gamma: float, lambda_: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.gamma = float(gamma)
        self.lambda_ = float(lambda_)

    def __call__(  # type: ignore[override]
        self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any], **kwargs: Any
    ) -> Any:
        """``batch[DEFAULT_MODULE_ID]``: PPO's columns as tensors on the module's device."""
        module_ids = list(rl_module.keys())
        if module_ids != [DEFAULT_MODULE_ID]:
            raise ValueError(f"LivesToPPOBatch trains one RLModule ({DEFAULT_MODULE_ID!r}), got {module_ids}")
        if not all(isinstance(e, SingleAgentEpisode) for e in episodes):
            raise TypeError("LivesToPPOBatch takes single-agent episodes (SingleAgentEpisode) only")
        episodes = [e for e in episodes if len(e) > 0]
        if not episodes:
            return batch
        module = rl_module[DEFAULT_MODULE_ID]
        if module.is_stateful():
            raise ValueError("LivesToPPOBatch does not batch stateful (recurrent) RLModules")
        n = np.fromiter((len(e) for e in episodes), np.int64, len(episodes))
        rows = n + 1
        total = int(rows.sum())
        episode = np.repeat(np.arange(len(episodes)), rows)
        position = np.arange(total) - np.repeat(np.cumsum(rows) - rows, rows)
        n_row = n[episode]
        real = position < n_row  # the bootstrap row of each chunk is not
        last = position == n_row - 1
        is_terminated = np.fromiter((e.is_terminated for e in episodes), np.bool_, len(episodes))
        terminateds = last & is_terminated[episode]
        truncateds = last & ~is_terminated[episode]
        rewards = np.zeros(total, np.float32)
        rewards[real] = np.concatenate([_data(e.rewards, len(e)) for e in episodes])
        obs = _joined([_data(e.observations, len(e) + 1) for e in episodes])
        device = next(iter(module.parameters()), torch.zeros(0)).device
        with torch.no_grad():
            values = module.compute_values({Columns.OBS: torch.from_numpy(obs).to(device)})
            values = values.cpu().numpy().astype(np.float32)
        targets = compute_value_targets(
            values=values,
            rewards=rewards,
            terminateds=terminateds.astype(np.float32),
            truncateds=truncateds.astype(np.float32),
            gamma=self.gamma,
            lambda_=self.lambda_,
        )
        advantages = targets - values
        advantages = (advantages - advantages.mean()) / max(1e-4, float(advantages.std()))
        out: dict[str, np.ndarray] = {
            Columns.LOSS_MASK: np.ones(int(n.sum()), np.bool_),
            Columns.TERMINATEDS: terminateds[real],
            Columns.TRUNCATEDS: truncateds[real],
            Columns.OBS: obs[real],
            Columns.ACTIONS: np.concatenate([_data(e.actions, len(e)) for e in episodes]),
            Columns.REWARDS: rewards[real],
        }
        for key in episodes[0].extra_model_outputs:
            out[key] = np.concatenate([_data(e.extra_model_outputs[key], len(e)) for e in episodes])
        out[Postprocessing.ADVANTAGES] = advantages[real].astype(np.float32)
        out[Postprocessing.VALUE_TARGETS] = targets[real]
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in out.items()}
        batch[DEFAULT_MODULE_ID] = tensors
        return batch


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate(parts)``, without a copy where the parts lie one after the other in one
    array (``NeuralMMOVecEnvRunner``'s episodes, used where they were sampled)."""
    first, base = parts[0], parts[0].base
    if (
        base is not None
        and first.flags.c_contiguous
        and all(p.base is base and p.flags.c_contiguous for p in parts)
    ):
        start = first.__array_interface__["data"][0]
        row = first.strides[0]
        offsets = np.fromiter((p.__array_interface__["data"][0] for p in parts), np.int64, len(parts))
        lengths = np.fromiter((len(p) for p in parts), np.int64, len(parts))
        if np.array_equal(offsets - start, (np.cumsum(lengths) - lengths) * row):
            whole = np.lib.stride_tricks.as_strided(
                first, (int(lengths.sum()), *first.shape[1:]), first.strides
            )
            return whole  # a view of the rows of every part, in order
    return np.concatenate(parts)


def _data(buffer: Any, n: int) -> np.ndarray:
    """The first ``n`` items after the lookback of a numpy ``InfiniteLookbackBuffer``."""
    if not isinstance(buffer.data, np.ndarray):
        raise TypeError(
            "LivesToPPOBatch takes numpy episodes (to_numpy()) with array observations and actions"
        )
    return buffer.data[buffer.lookback : buffer.lookback + n]


class NeuralMMOPPOLearner(PPOTorchLearner):
    """RLlib's torch PPO learner, with PPO's learner batch built in bulk and minibatches drawn by
    index: ``config.learners(learner_class=NeuralMMOPPOLearner)``, for single-agent episodes
    (``NeuralMMOVecEnvRunner``'s).

    * Its learner connector pipeline is :class:`LivesToPPOBatch` alone (the same batch as RLlib's
      default pipeline); a custom ``learner_connector`` is refused (a ValueError).
    * Minibatches are drawn the way RLlib's cyclic iterator draws them (``minibatch_size`` rows at
      a time, passing over the batch ``num_epochs`` times, reshuffled at each pass when
      ``shuffle_batch_per_epoch``), as one gather of the minibatch's rows from the batch, where
      RLlib copies the whole batch to shuffle it and then copies each minibatch again; and the
      first pass is shuffled too (RLlib's goes through it in episode order).
    """

    def build(self) -> None:
        if (
            self.config._learner_connector is not None
            or not self.config.add_default_connectors_to_learner_pipeline
        ):
            raise ValueError(
                "NeuralMMOPPOLearner builds PPO's learner batch itself (LivesToPPOBatch): leave out "
                "learner_connector and add_default_connectors_to_learner_pipeline=False"
            )
        if self.config.is_multi_agent:
            raise ValueError("NeuralMMOPPOLearner trains single-agent configs (one RLModule) only")
        super().build()
        self._shuffle_rng: np.random.Generator | None = None  # seeded with config.seed on first use
        if self._learner_connector is not None:
            config: Any = self.config  # a PPOConfig
            self._learner_connector = LearnerConnectorPipeline(
                connectors=[LivesToPPOBatch(gamma=config.gamma, lambda_=config.lambda_)],
            )

    def _create_iterator_if_necessary(  # type: ignore[override]
        self,
        *,
        training_data: Any,
        num_total_minibatches: int = 0,
        num_epochs: int = 1,
        minibatch_size: int | None = None,
        shuffle_batch_per_epoch: bool = False,
        **kwargs: Any,
    ) -> Any:
        if training_data.data_iterators or not minibatch_size:
            return super()._create_iterator_if_necessary(
                training_data=training_data, num_total_minibatches=num_total_minibatches,
                num_epochs=num_epochs, minibatch_size=minibatch_size,
                shuffle_batch_per_epoch=shuffle_batch_per_epoch, **kwargs,
            )  # fmt: skip
        batch = self._make_batch_if_necessary(training_data=training_data)
        for module_id in list(batch.policy_batches):
            if not self.should_module_be_updated(module_id, batch):
                del batch.policy_batches[module_id]
        if not batch.policy_batches:
            return {}
        if self._shuffle_rng is None:
            self._shuffle_rng = np.random.default_rng(self.config.seed)
        return _minibatches(
            batch,
            minibatch_size,
            num_epochs,
            shuffle_batch_per_epoch,
            num_total_minibatches,
            self._shuffle_rng,
        )


def _minibatches(
    batch: Any, size: int, epochs: int, shuffle: bool, total: int, rng: np.random.Generator | None = None
) -> Any:
    """RLlib's cyclic minibatches of a one-module ``MultiAgentBatch``, gathered by index."""
    ((module_id, columns),) = batch.policy_batches.items()
    rows = len(columns)
    if rows == 0:
        raise ValueError(f"the batch for module {module_id!r} is empty")
    data = {k: v for k, v in columns.items() if isinstance(v, torch.Tensor) and len(v) == rows}
    rng = rng if rng is not None else np.random.default_rng()
    order = rng.permutation(rows) if shuffle else np.arange(rows)
    start = passes = made = 0
    while (passes < epochs) if total == 0 else (made < total):
        parts, need = [], size
        while start + need >= rows:
            parts.append(order[start:])
            need -= rows - start
            start = 0
            passes += 1
            if shuffle:
                order = rng.permutation(rows)
        if need > 0:
            parts.append(order[start : start + need])
            start += need
        index = torch.from_numpy(np.concatenate(parts))
        device_index = index.to(next(iter(data.values())).device)
        minibatch = SampleBatch({k: v.index_select(0, device_index) for k, v in data.items()})
        yield MultiAgentBatch({module_id: minibatch}, len(batch))
        made += 1


def _lean(info: dict[str, Any]) -> dict[str, Any]:
    """An info without the action mask (it is also in the observation; RLlib keeps every info)."""
    info.pop("action_mask", None)
    return info


class _Worlds:
    """What RLlib's runner machinery reads of an env (spaces, ``num_envs``, ``unwrapped``,
    ``close``) around a :class:`~neural_mmo.envs.vector.VecEnv` of one world per ``num_envs``."""

    def __init__(self, vec: VecEnv):
        self.vec = vec
        self.num_envs = vec.num_worlds
        self.flat_observation = FlatObservation(vec.layout)
        self.single_observation_space = self.flat_observation.space
        self.single_action_space = MultiDiscreteActions(vec.layout)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.unwrapped = self

    def close(self) -> None:
        self.vec.close()


def check_vec_runner_config(config: Any) -> None:
    """Raise a ValueError saying what to change if ``config`` (an ``AlgorithmConfig``) cannot run
    :class:`NeuralMMOVecEnvRunner`."""
    env = config.env
    if not (isinstance(env, type) and issubclass(env, NeuralMMOMultiAgentEnv)):
        raise ValueError(
            "NeuralMMOVecEnvRunner plays Neural MMO worlds only: set "
            "config.environment(NeuralMMOMultiAgentEnv, env_config={...}) (the env_config is read "
            f"the same way), got env={env!r}"
        )
    if config.is_multi_agent:
        raise ValueError(
            "NeuralMMOVecEnvRunner makes one single-agent RLlib episode per agent life, for one "
            "policy: leave out config.multi_agent(...) (the default policy acts for every agent); "
            "for a policy per agent slot use NeuralMMOEnvRunner"
        )
    if config.batch_mode != "truncate_episodes":
        raise ValueError(
            f"NeuralMMOVecEnvRunner samples with batch_mode='truncate_episodes', got {config.batch_mode!r}"
        )
    custom = [
        name
        for name, value in (
            ("env_to_module_connector", config._env_to_module_connector),
            ("module_to_env_connector", config._module_to_env_connector),
        )
        if value is not None
    ]
    if custom:
        raise ValueError(
            f"NeuralMMOVecEnvRunner feeds the flat observations straight to the RLModule and samples "
            f"actions from its action distribution: it does not run a custom {' or '.join(custom)}"
        )
    _vec_settings(config.env_config)


def _vec_settings(env_config: Any) -> dict[str, Any]:
    """The ``VecEnv`` arguments of an ``env_config`` (preset or config, seed, reward_fn, overrides)."""
    settings = dict(env_config or {})
    refuse_fixed(settings, FIXED, "the RLlib env's env_config")
    unsupported = sorted(set(settings) & {"record", "render_mode", "max_cycles"})
    if unsupported:
        raise ValueError(
            f"NeuralMMOVecEnvRunner does not take env_config {', '.join(unsupported)} "
            "(give the horizon as 'horizon'; record or render with the PettingZoo env)"
        )
    return settings


class _Rows:
    """Observation rows of one ``sample()``, appended tick by tick: the flat observation, the life
    it belongs to and its tick (grows by doubling)."""

    def __init__(self, size: int, capacity: int):
        self.obs = np.empty((capacity, size), np.float32)
        self.life = np.empty(capacity, np.int64)
        self.tick = np.empty(capacity, np.int64)
        self.n = 0

    def _room(self, m: int) -> slice:
        if self.n + m > len(self.life):
            grown = max(2 * len(self.life), self.n + m)
            for name in ("obs", "life", "tick"):
                old = getattr(self, name)
                new = np.empty((grown, *old.shape[1:]), old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        part = slice(self.n, self.n + m)
        self.n += m
        return part

    def add(self, obs: np.ndarray, life: np.ndarray, tick: int) -> np.ndarray:
        part = self._room(len(life))
        self.obs[part], self.life[part], self.tick[part] = obs, life, tick
        return np.arange(part.start, part.stop)

    def add_flat(self, flat: FlatObservation, buffers: dict, slots: np.ndarray, life: np.ndarray,
                 tick: int) -> np.ndarray:  # fmt: skip
        """Rows for ``slots`` flattened from the VecEnv's observation buffers straight into place."""
        part = self._room(len(slots))
        out = self.obs[part]
        for key, cols in flat.slices.items():
            out[:, cols] = buffers[key][slots].reshape(len(slots), -1)
        self.life[part], self.tick[part] = life, tick
        return np.arange(part.start, part.stop)


class _Steps:
    """The steps of one ``sample()``, one array per tick and column."""

    def __init__(self) -> None:
        self.life: list[np.ndarray] = []
        self.tick: list[np.ndarray] = []
        self._columns: list[list[np.ndarray]] = [[] for _ in range(9)]

    def add(self, life: np.ndarray, tick: int, *columns: np.ndarray) -> None:
        self.life.append(life)
        self.tick.append(np.full(life.size, tick, np.int64))
        for store, value in zip(self._columns, columns):
            store.append(value)  # fresh arrays (fancy indexing, the policy's outputs)

    def columns(self) -> list[list[np.ndarray]]:
        """slot, agent id, step index in the life, action, logp, distribution inputs, reward,
        terminated, truncated"""
        return self._columns


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``[0..c0-1, 0..c1-1, ...]`` for counts ``[c0, c1, ...]``."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


_EPISODE_SLOTS = frozenset(
    ("actions", "agent_id", "extra_model_outputs", "id_", "infos", "is_terminated", "is_truncated",
     "module_id", "multi_agent_episode_id", "observations", "rewards", "t", "t_started", "_action_space",
     "_last_added_observation", "_last_added_infos", "_last_step_time", "_observation_space",
     "_start_time", "_custom_data")
)  # fmt: skip
_BUFFER_FIELDS = frozenset(("data", "lookback", "finalized", "_space", "_space_struct"))


def _episode_maker(observation_space: Any, action_space: Any, fast: bool = True) -> Any:
    """A function making a ``SingleAgentEpisode`` of numpy chunks (no lookback).

    RLlib's constructor checks spaces and lengths item by item (about 30 us an episode, as long
    as a quick chunk's sampling); where the installed RLlib's episode and buffer hold exactly the
    fields its constructor sets (checked here on one episode made by the constructor), the fields
    are set directly, to the values the constructor gives (a test compares the two)."""

    def make(
        id_: str,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        extra: dict,
        terminated: bool,
        truncated: bool,
        t_started: int,
        custom: dict,
    ) -> SingleAgentEpisode:
        episode = SingleAgentEpisode(
            id_=id_,
            observations=InfiniteLookbackBuffer(obs),
            observation_space=observation_space,
            infos=[{} for _ in range(len(obs))],
            actions=InfiniteLookbackBuffer(actions),
            action_space=action_space,
            rewards=InfiniteLookbackBuffer(rewards),
            terminated=terminated,
            truncated=truncated,
            extra_model_outputs={k: InfiniteLookbackBuffer(v) for k, v in extra.items()},
            t_started=t_started,
            len_lookback_buffer=0,
        )
        episode.custom_data.update(custom)
        return episode

    one = make("probe", np.zeros((2, *observation_space.shape), np.float32), np.zeros((1, 1)), np.zeros(1),
               {}, False, False, 0, {})  # fmt: skip
    slots = set(getattr(SingleAgentEpisode, "__slots__", ()))
    buffer_fields = set(getattr(one.observations, "__dict__", {}))
    if not fast or slots != _EPISODE_SLOTS or buffer_fields != _BUFFER_FIELDS:
        return make
    spaces = {name: (getattr(one, name).space, getattr(one, name).space_struct) for name in
              ("observations", "actions", "rewards")}  # fmt: skip
    new_buffer = InfiniteLookbackBuffer.__new__
    new_episode = SingleAgentEpisode.__new__

    def buffer(data: Any, space: Any = None, struct: Any = None) -> InfiniteLookbackBuffer:
        b = new_buffer(InfiniteLookbackBuffer)
        b.__dict__.update(
            data=data, lookback=0, finalized=not isinstance(data, list), _space=space, _space_struct=struct
        )
        return b

    def make_fast(
        id_: str,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        extra: dict,
        terminated: bool,
        truncated: bool,
        t_started: int,
        custom: dict,
    ) -> SingleAgentEpisode:
        e = new_episode(SingleAgentEpisode)
        e.id_ = id_
        e.agent_id = e.module_id = e.multi_agent_episode_id = None
        e.observations = buffer(obs, *spaces["observations"])
        e._observation_space = observation_space
        e.infos = buffer([{} for _ in range(len(obs))])
        e.actions = buffer(actions, *spaces["actions"])
        e._action_space = action_space
        e.rewards = buffer(rewards, *spaces["rewards"])
        e.is_terminated, e.is_truncated = terminated, truncated
        e.extra_model_outputs = {k: buffer(v) for k, v in extra.items()}
        e.t_started = t_started
        e.t = t_started + len(rewards)
        e._custom_data = custom
        e._start_time = e._last_step_time = e._last_added_observation = e._last_added_infos = None
        return e

    return make_fast


def _categorical_heads(module: Any) -> list[int] | None:
    """The heads' sizes where the module's exploration distribution is RLlib's multi-categorical
    one (else None)."""
    cls = module.get_exploration_action_dist_cls()
    space = getattr(module, "action_space", None)
    if space is None or not hasattr(space, "nvec"):
        return None
    sizes = [int(n) for n in np.ravel(space.nvec)]
    try:
        dist = cls.from_logits(torch.zeros(1, sum(sizes)))
    except Exception:  # noqa: BLE001  # another distribution: sampled the generic way
        return None
    if not isinstance(dist, TorchMultiCategorical) or [c.logits.shape[-1] for c in dist._cats] != sizes:
        return None
    return sizes


class NeuralMMOVecEnvRunner(SingleAgentEnvRunner):
    """An RLlib env runner that steps Neural MMO worlds as arrays; every agent life is one
    single-agent RLlib episode (see the module docs, "The fast path").

    ``num_envs_per_env_runner`` worlds are stepped together (one ``VecEnv``); each tick, one
    ``forward_exploration`` of the RLModule covers every living agent of every world, and actions
    and their log-probabilities are drawn from the module's action distribution in one batch. At
    the end of ``sample()`` the rows are cut into ``SingleAgentEpisode`` objects, one per agent life
    and chunk: a death is a true termination (``is_terminated``, with the death reward), the horizon
    a truncation (the value bootstraps from the final observation), and a life still going on at the
    end of ``sample()`` is returned as a chunk that the next ``sample()`` continues (same episode
    id, ``t_started`` set), as RLlib's own runner does.

    ``num_timesteps`` counts agent-steps (the episodes' steps); whole ticks are sampled, so a call
    returns up to one tick's living agents more. RLlib's ``num_env_steps_sampled`` and its
    agent and module step counts are these agent-steps (each agent is one "env" to single-agent
    RLlib); ``world_ticks_sampled`` counts the worlds' ticks, ``agent_deaths`` and ``agent_births``
    the lives that ended in a death and those that began after their episode's first tick. Episode
    returns and lengths are per agent life (logged when the life ends). Each episode's
    ``custom_data`` holds the life's ``world``, ``slot`` and ``agent_id``.

    Not supported (a ValueError says so): multi-agent configs, custom env-to-module or
    module-to-env connectors (observations go straight to the module), ``num_episodes``,
    ``random_actions``, ``batch_mode="complete_episodes"``, stateful (recurrent) modules. Per-step
    episode callbacks (``on_episode_start``/``step``/``end``) are not made.
    """

    def __init__(self, *, config: Any, **kwargs: Any):
        check_vec_runner_config(config)
        self._worlds: _Worlds | None = None
        self._life = np.zeros(0, np.int64)
        self._prefix = uuid.uuid4().hex[:16] + "-"
        self._serial = 0
        super().__init__(config=config, **kwargs)
        if self.module is not None and self.module.is_stateful():
            raise ValueError("NeuralMMOVecEnvRunner does not run stateful (recurrent) RLModules")

    @property
    def vec(self) -> VecEnv:
        """The worlds this runner steps (a ``VecEnv``; read its running totals, do not step it)."""
        if self._worlds is None:
            raise ValueError("this env runner has no worlds (the local runner of remote env runners)")
        return self._worlds.vec

    def make_env(self) -> None:
        if self._worlds is not None:
            self._worlds.close()
        settings = _vec_settings(self.config.env_config)
        seed = int(settings.pop("seed", 0)) + SEED_STRIDE * int(self.worker_index or 0)
        vec = VecEnv(self.config.num_envs_per_env_runner, seed=seed, autoreset=True, **settings)
        self._worlds = _Worlds(vec)
        self.env = self._worlds  # type: ignore[assignment]  # RLlib reads its spaces
        self.num_envs = vec.num_worlds
        n = vec.num_slots
        self._world_of = np.arange(n) // vec.slots_per_world
        self._flat = self._worlds.flat_observation
        self._make_episode = _episode_maker(
            self._worlds.single_observation_space, self._worlds.single_action_space
        )
        self._obs = np.zeros((n, self._flat.size), np.float32)
        self._life = np.full(n, -1, np.int64)  # serial of the life each slot holds, -1: none
        self._steps = np.zeros(n, np.int64)  # steps the slot's life took so far
        self._return = np.zeros(n, np.float64)
        self._born = np.zeros(n, np.float64)
        self._needs_initial_reset = True

    def _reset_worlds(self) -> None:
        vec = self.vec
        vec.reset()
        self._obs[:] = self._flat.flatten(vec.observations)
        self._life.fill(-1)
        self._start_lives(np.flatnonzero(vec.alive))
        self._needs_initial_reset = False

    def _start_lives(self, slots: np.ndarray) -> None:
        self._life[slots] = np.arange(self._serial, self._serial + slots.size)
        self._serial += slots.size
        self._steps[slots] = 0
        self._return[slots] = 0.0
        self._born[slots] = time.time()

    def _sample(  # type: ignore[override]
        self,
        *,
        num_timesteps: int | None = None,
        num_episodes: int | None = None,
        explore: bool,
        random_actions: bool = False,
        force_reset: bool = False,
    ) -> list[SingleAgentEpisode]:
        if num_episodes is not None or num_timesteps is None:
            raise ValueError("NeuralMMOVecEnvRunner samples a number of agent-steps (num_timesteps) only")
        if random_actions:
            raise ValueError(
                "NeuralMMOVecEnvRunner samples actions from its RLModule only (no random_actions)"
            )
        if force_reset or self._needs_initial_reset:
            self._reset_worlds()
        vec, module = self.vec, self.module
        heads = _categorical_heads(module) if explore else None
        world_of, life = self._world_of, self._life
        acting = vec.alive & ~vec.episode_done[world_of]
        first = np.flatnonzero(acting)
        rows = _Rows(self._obs.shape[1], num_timesteps + 2 * vec.num_slots)
        latest = np.zeros(vec.num_slots, np.int64)  # each slot's newest row
        latest[first] = rows.add(self._obs[first], life[first], 0)
        steps = _Steps()
        finished: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        ts = tick = deaths = births = 0
        lifetime = self.num_env_steps_sampled_lifetime
        while ts < num_timesteps:
            slots = np.flatnonzero(acting)
            chosen, logp, logits = self._act(module, rows.obs[latest[slots]], explore, lifetime + ts, heads)
            vec.action_buffer.fill(0)
            vec.action_buffer[slots] = chosen
            reset = vec.episode_done[world_of]  # these worlds start a new episode in this step
            vec.step_buffered()
            term, trunc, reward = vec.terminations[slots], vec.truncations[slots], vec.rewards[slots]
            steps.add(life[slots], tick, slots, vec.agent_id[slots], self._steps[slots], chosen, logp, logits,
                      reward, term, trunc)  # fmt: skip
            tick += 1
            self._steps[slots] += 1
            self._return[slots] += reward
            ended = slots[term | trunc]
            if ended.size:
                finished.append((self._steps[ended], self._return[ended], self._born[ended]))
                deaths += int(term.sum())
            ts += slots.size
            spawned = vec.spawned
            born = np.flatnonzero(spawned)
            if born.size:
                self._start_lives(born)
                births += int((~reset[born]).sum())  # not counting a new episode's first agents
            shown = np.flatnonzero(acting | spawned)
            latest[shown] = rows.add_flat(self._flat, vec.observations, shown, life[shown], tick)
            acting = vec.alive & ~vec.episode_done[world_of]
        going = np.flatnonzero(acting)
        self._obs[going] = rows.obs[latest[going]]  # where the next sample() goes on
        episodes = self._episodes(rows, steps)
        self._log_sampled(ts, tick, finished, deaths, births)
        return episodes

    def _act(
        self, module: Any, obs: np.ndarray, explore: bool, t: int, heads: list[int] | None
    ) -> tuple[np.ndarray, ...]:
        """Actions, their log-probabilities and the distribution inputs for a batch of observations:
        one forward pass, one draw from the module's action distribution. For RLlib's
        multi-categorical distribution (``heads``: its heads' sizes) the draw is made per head by
        the Gumbel-max trick and the log-probabilities from a log-softmax per head: the same
        distribution and values, without building RLlib's and torch's distribution objects."""
        batch = {Columns.OBS: torch.from_numpy(obs).to(self._device)}
        with torch.no_grad():
            if not explore:
                out = module.forward_inference(batch)
                logits = out[Columns.ACTION_DIST_INPUTS]
                dist = module.get_inference_action_dist_cls().from_logits(logits).to_deterministic()
                chosen = dist.sample()
                logp = dist.logp(chosen)
            else:
                out = module.forward_exploration(batch, t=t)
                logits = out[Columns.ACTION_DIST_INPUTS]
                if heads is None:
                    dist = module.get_exploration_action_dist_cls().from_logits(logits)
                    chosen = dist.sample()
                    logp = dist.logp(chosen)
                else:
                    logps = [torch.log_softmax(h, -1) for h in logits.split(heads, -1)]
                    picks = [
                        (lp - torch.log(-torch.log(torch.rand_like(lp).clamp_(1e-20, 1.0)))).argmax(-1)
                        for lp in logps
                    ]
                    chosen = torch.stack(picks, -1)
                    logp = sum(lp.gather(-1, c[:, None])[:, 0] for lp, c in zip(logps, picks))
        return chosen.cpu().numpy().astype(np.int64), logp.cpu().numpy(), logits.cpu().numpy()

    def _episodes(self, rows: _Rows, steps: _Steps) -> list[SingleAgentEpisode]:
        """One ``SingleAgentEpisode`` per life that acted in this chunk, from the rows sorted by
        life and tick (each life's observations: one more than its actions); the episodes'
        arrays are consecutive slices of one array per column."""
        if not steps.life:
            return []
        o_life, o_tick = rows.life[: rows.n], rows.tick[: rows.n]
        o_order = np.lexsort((o_tick, o_life))
        o_life = o_life[o_order]
        a_life = np.concatenate(steps.life)
        a_order = np.lexsort((np.concatenate(steps.tick), a_life))
        a_life = a_life[a_order]
        lives, a_start, a_count = np.unique(a_life, return_index=True, return_counts=True)
        o_start = np.searchsorted(o_life, lives)
        o_count = np.searchsorted(o_life, lives, side="right") - o_start
        if not np.array_equal(o_count, a_count + 1):
            raise RuntimeError("NeuralMMOVecEnvRunner: a life's observations and actions do not line up")
        # rows of lives that did not act (born on the last tick) go last, out of the way
        keep = np.zeros(o_life.size, np.bool_)
        keep[np.repeat(o_start, o_count) + _ranges(o_count)] = True
        obs = rows.obs[o_order[keep]]
        o_start = np.cumsum(o_count) - o_count
        slot, agent, step, actions, logp, inputs, rewards, terms, truncs = (
            np.concatenate(c)[a_order] for c in steps.columns()
        )
        per_world = self.vec.slots_per_world
        make = self._make_episode
        prefix = self._prefix
        episodes = []
        for serial, a0, n, o0 in zip(lives.tolist(), a_start.tolist(), a_count.tolist(), o_start.tolist()):
            a1 = a0 + n
            episodes.append(
                make(
                    f"{prefix}{serial}",
                    obs[o0 : o0 + n + 1],
                    actions[a0:a1],
                    rewards[a0:a1],
                    {Columns.ACTION_LOGP: logp[a0:a1], Columns.ACTION_DIST_INPUTS: inputs[a0:a1]},
                    bool(terms[a1 - 1]),
                    bool(truncs[a1 - 1]),
                    int(step[a0]),
                    {
                        "world": int(slot[a0]) // per_world,
                        "slot": int(slot[a0]) % per_world,
                        "agent_id": int(agent[a0]),
                    },
                )
            )
        return episodes

    def _log_sampled(self, ts: int, ticks: int, finished: list, deaths: int, births: int) -> None:
        """RLlib's step and episode counts, this runner's own counts, and the returns and lengths
        of the lives that ended (only the last ones the smoothing window keeps)."""
        empty = np.zeros(0)
        lengths, returns, born = (np.concatenate(c) for c in zip(*finished)) if finished else (empty,) * 3
        if ts:
            self._log_env_steps(metric=self._metrics_num_env_steps_sampled, num_steps=ts)
        self._increase_sampled_metrics(ts, int(lengths.size))
        self.metrics.log_value("world_ticks_sampled", ticks * self.num_envs, reduce="sum")
        self.metrics.log_value("world_ticks_sampled_lifetime", ticks * self.num_envs, reduce="lifetime_sum")
        self.metrics.log_value("agent_deaths", deaths, reduce="sum")
        self.metrics.log_value("agent_births", births, reduce="sum")
        window = max(
            1, -(-self.config.metrics_num_episodes_for_smoothing // (self.config.num_env_runners or 1))
        )
        now = time.time()
        for length, ret, start in zip(
            lengths[-window:].tolist(), returns[-window:].tolist(), born[-window:].tolist()
        ):
            self._log_episode_metrics(length, ret, now - start)


__all__ = [
    "FIXED",
    "NeuralMMOEnvRunner",
    "NeuralMMOMultiAgentEnv",
    "NeuralMMOVecEnvRunner",
    "check_vec_runner_config",
]
