"""What each library adapter adds on top of the PettingZoo API, and what RLlib's PPO reaches.

    .venv/bin/python benchmarks/bench_integrations.py [--preset small] [--ticks 200] [--rounds 5]
        [--torch-threads 1]

All in agent-steps/s (agent-steps = living agents after each step), each measure taken once per
round, the measures alternating round by round in one process; prints JSON lines and the medians:

* ``pettingzoo``: the raw PettingZoo ``parallel_env`` (dict observations) stepped with random
  allowed actions drawn from each agent's mask outside the clock; ``rllib_env``, ``sb3_vec_env``,
  ``torchrl_env``: the same for the RLlib ``MultiAgentEnv``, the SB3 vector env (SuperSuit over the
  PettingZoo env) and the TorchRL env;
* ``pettingzoo_policy``: the PettingZoo API with a small network choosing the actions, in the clock;
* ``rllib_sampling_ppo_defaults`` and ``rllib_sampling``: RLlib's ``env_runner.sample`` of
  ``--ticks`` env steps (the env, RLlib's episodes and connectors, the model's forward passes) with
  PPO's defaults and with the configuration docs/integrations.md recommends;
* ``rllib_training``: one ``algo.train()`` of that configuration (sampling, then PPO's update);
* ``rllib_vec_sampling`` and ``rllib_vec_training``: the same two for the fast path,
  ``NeuralMMOVecEnvRunner`` with ``NeuralMMOPPOLearner`` (single-agent RLlib, one episode per agent
  life, 8 worlds stepped as arrays), in the configuration docs/integrations.md recommends:
  ``env_runner.sample`` of ``--vec-batch`` agent-steps, and one ``algo.train()`` of a
  ``--vec-batch`` agent-step batch, 2 epochs of 2,048-row minibatches; ``rllib_vec_training_1_epoch``:
  the same with 1 epoch of 1,024-row minibatches.

torch runs on ``--torch-threads`` threads (1 by default: on two busy cores more threads make small
forward passes several times slower).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def allowed(mask: np.ndarray, sizes: list[int], rng: np.random.Generator) -> np.ndarray:
    """One allowed value per head from a flat mask."""
    heads = np.split(mask.astype(bool), np.cumsum(sizes)[:-1])
    return np.array([rng.choice(np.flatnonzero(h)) for h in heads], np.int64)


def pettingzoo(preset: str, rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[Any], int]]:
    import neural_mmo

    env = neural_mmo.parallel_env(preset, seed=0)
    sizes = [h.size for h in env.layout.heads]
    names = [h.name for h in env.layout.heads]
    state = {"obs": env.reset(seed=0)[0]}

    def act() -> Any:
        return {
            k: dict(zip(names, allowed(o["action_mask"], sizes, rng).tolist()))
            for k, o in state["obs"].items()
            if o["entity_mask"][0]
        }

    def step(actions: Any) -> int:
        obs, _, _, _, _ = env.step(actions)
        if not env.agents:
            obs, _ = env.reset()
        state["obs"] = obs
        return int(env.vec.alive.sum())

    return act, step


def rllib_env(preset: str, rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[Any], int]]:
    from neural_mmo.integrations.rllib import NeuralMMOMultiAgentEnv

    env = NeuralMMOMultiAgentEnv({"preset": preset, "seed": 0})
    sizes = env.get_action_space(None).nvec.tolist()
    part = env.flat_observation.slices["action_mask"]
    state = {"obs": env.reset(seed=0)[0]}

    def act() -> Any:
        return {k: allowed(v[part], sizes, rng) for k, v in state["obs"].items()}

    def step(actions: Any) -> int:
        obs, _, terms, truncs, _ = env.step(actions)
        if terms["__all__"] or truncs["__all__"]:
            obs, _ = env.reset()
        state["obs"] = obs
        return int(env.env.vec.alive.sum())

    return act, step


def sb3_env(preset: str, rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[Any], int]]:
    from neural_mmo.integrations.sb3 import make_vec_env

    env = make_vec_env(preset, seed=0)
    layout = env.venv.vec_envs[0].par_env.flat_observation
    sizes = env.action_space.nvec.tolist()
    state = {"obs": env.reset()}

    def act() -> Any:
        masks = state["obs"][:, layout.slices["action_mask"]]
        return np.stack([allowed(m, sizes, rng) for m in masks])

    def step(actions: Any) -> int:
        obs, _, _, infos = env.step(actions)
        state["obs"] = obs
        return sum(bool(info["alive"]) for info in infos)

    return act, step


def torchrl_env(preset: str, rng: np.random.Generator) -> tuple[Callable[[], Any], Callable[[Any], int]]:
    from neural_mmo.integrations.torchrl import GROUP, MaskedRandomPolicy, make_env

    env = make_env(preset, seed=0)
    policy = MaskedRandomPolicy(env, seed=0)
    state = {"td": env.reset()}

    def act() -> Any:
        return policy(state["td"])

    def step(td: Any) -> int:
        out = env.step(td)
        nxt = out["next"]
        state["td"] = env.reset() if bool(nxt["done"].any()) else nxt
        return int(nxt[GROUP, "info", "alive"].sum())

    return act, step


def pettingzoo_policy(
    preset: str, rng: np.random.Generator
) -> tuple[Callable[[], Any], Callable[[Any], int]]:
    """The PettingZoo API driven by a small network, the way a trainer of one's own drives it: flat
    observations of every slot, one batched forward pass (RLlib's tuned model: 64 tanh units, the
    heads' logits), a draw per head, an action for each living agent; all of it in the clock."""
    import torch

    import neural_mmo

    env = neural_mmo.parallel_env(preset, seed=0, observation_format="flat", action_format="multidiscrete")
    sizes = env.action_space("player_0").nvec.tolist()
    size = env.flat_observation.size
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(size, 64), torch.nn.Tanh(), torch.nn.Linear(64, sum(sizes)))
    names = list(env.possible_agents)
    state = {"obs": env.reset(seed=0)[0]}

    def act() -> Any:
        return None  # the policy runs inside the clock, in step()

    def step(_: Any) -> int:
        obs = state["obs"]
        alive = env.vec.alive
        with torch.no_grad():  # a draw per head from the softmax of its logits (Gumbel-max)
            logits = net(torch.from_numpy(np.stack([obs[k] for k in names])))
            noisy = logits - torch.log(-torch.log(torch.rand_like(logits)))
            chosen = torch.stack([h.argmax(-1) for h in noisy.split(sizes, -1)], -1).numpy()
        obs, _, _, _, _ = env.step({k: chosen[i] for i, k in enumerate(names) if alive[i]})
        if not env.agents:
            obs, _ = env.reset()
        state["obs"] = obs
        return int(env.vec.alive.sum())

    return act, step


def rate(act: Callable[[], Any], step: Callable[[Any], int], ticks: int) -> float:
    agents, spent = 0, 0.0
    for _ in range(ticks):
        actions = act()
        start = time.perf_counter()
        agents += step(actions)
        spent += time.perf_counter() - start
    return agents / spent


def rllib_config(preset: str, tuned: bool) -> Any:
    """PPO on the RLlib env: PPO's defaults (its default model, 256-256 tanh units, one env per env
    runner), or the configuration docs/integrations.md recommends for speed."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from neural_mmo.integrations.rllib import NeuralMMOEnvRunner, NeuralMMOMultiAgentEnv

    config = (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": preset, "seed": 0})
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared")
        .env_runners(num_env_runners=0)
    )
    if tuned:
        config = (
            config.environment(normalize_actions=False)
            .env_runners(
                env_runner_cls=NeuralMMOEnvRunner, num_envs_per_env_runner=4, rollout_fragment_length=64
            )
            .training(train_batch_size_per_learner=256, minibatch_size=256, num_epochs=2)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64]))
        )
    return config


def rllib_vec_config(preset: str, batch: int, epochs: int = 2, minibatch: int = 2048) -> Any:
    """PPO on the fast path as docs/integrations.md recommends it: ``NeuralMMOVecEnvRunner`` with 8
    worlds, ``NeuralMMOPPOLearner``, ``batch`` agent-steps per iteration, a 64-unit model whose
    value head shares the policy's layer."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from neural_mmo.integrations.rllib import (
        NeuralMMOMultiAgentEnv,
        NeuralMMOPPOLearner,
        NeuralMMOVecEnvRunner,
    )

    return (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": preset, "seed": 0})
        .env_runners(num_env_runners=0, env_runner_cls=NeuralMMOVecEnvRunner, num_envs_per_env_runner=8)
        .learners(learner_class=NeuralMMOPPOLearner)
        .training(train_batch_size_per_learner=batch, minibatch_size=minibatch, num_epochs=epochs)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64], vf_share_layers=True))
    )


def rllib_vec_sampler(algo: Any, batch: int) -> Callable[[], float]:
    """Agent-steps/s of one ``env_runner.sample`` of ``batch`` agent-steps with the vec runner."""
    runner = algo.env_runner
    runner.sample(num_timesteps=200)  # warm-up

    def measure() -> float:
        start = time.perf_counter()
        episodes = runner.sample(num_timesteps=batch)
        return sum(len(e) for e in episodes) / (time.perf_counter() - start)

    return measure


def rllib_sampler(algo: Any, ticks: int) -> Callable[[], float]:
    """Agent-steps/s of one ``env_runner.sample`` call of ``ticks`` env steps (all vector envs
    together): the env, RLlib's episodes and connectors, the model's forward passes."""
    runner = algo.env_runner
    runner.sample(num_timesteps=20)  # warm-up

    def measure() -> float:
        start = time.perf_counter()
        episodes = runner.sample(num_timesteps=ticks)
        return sum(e.agent_steps() for e in episodes) / (time.perf_counter() - start)

    return measure


def rllib_trainer(algo: Any) -> Callable[[], float]:
    """Agent-steps/s of one ``algo.train()`` (sampling, then PPO's update): the agent-steps it
    sampled over its wall time."""
    algo.train()  # warm-up

    def measure() -> float:
        start = time.perf_counter()
        result = algo.train()
        spent = time.perf_counter() - start
        per_agent = result["env_runners"]["num_agent_steps_sampled"]  # NaN: an agent not sampled
        return float(np.nansum(list(per_agent.values()))) / spent  # the vec runner: one "agent"

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--vec-batch", type=int, default=4096, help="agent-steps per vec-runner batch")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = parser.parse_args()
    import ray
    import torch

    torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    makers = {"pettingzoo": pettingzoo, "pettingzoo_policy": pettingzoo_policy, "rllib_env": rllib_env,
              "sb3_vec_env": sb3_env, "torchrl_env": torchrl_env}  # fmt: skip
    envs = {name: make(args.preset, rng) for name, make in makers.items()}
    for act, step in envs.values():
        rate(act, step, 20)  # warm-up
    measures: dict[str, Callable[[], float]] = {
        name: functools.partial(rate, act, step, args.ticks) for name, (act, step) in envs.items()
    }
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    algos = [rllib_config(args.preset, tuned).build_algo() for tuned in (False, True, True)]
    measures["rllib_sampling_ppo_defaults"] = rllib_sampler(algos[0], args.ticks)
    measures["rllib_sampling"] = rllib_sampler(algos[1], args.ticks)
    measures["rllib_training"] = rllib_trainer(algos[2])
    algos += [rllib_vec_config(args.preset, args.vec_batch).build_algo() for _ in range(2)]
    algos.append(rllib_vec_config(args.preset, args.vec_batch, epochs=1, minibatch=1024).build_algo())
    measures["rllib_vec_sampling"] = rllib_vec_sampler(algos[3], args.vec_batch)
    measures["rllib_vec_training"] = rllib_trainer(algos[4])
    measures["rllib_vec_training_1_epoch"] = rllib_trainer(algos[5])
    rates: dict[str, list[float]] = {name: [] for name in measures}
    try:
        for r in range(args.rounds):
            for name, measure in measures.items():
                rates[name].append(measure())
            print(json.dumps({"round": r, **{k: round(v[-1]) for k, v in rates.items()}}), flush=True)
    finally:
        for algo in algos:
            algo.stop()
        ray.shutdown()
    medians = {k: statistics.median(v) for k, v in rates.items()}
    print(json.dumps({
        "preset": args.preset, "ticks": args.ticks, "rounds": args.rounds,
        "torch_threads": args.torch_threads, "vec_batch": args.vec_batch,
        "median_agent_steps_per_s": {k: round(v) for k, v in medians.items()},
        "range": {k: [round(min(v)), round(max(v))] for k, v in rates.items()},
        "share_of_pettingzoo": {k: round(v / medians["pettingzoo"], 3) for k, v in medians.items()},
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
