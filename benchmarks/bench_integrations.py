"""What each library adapter adds on top of the PettingZoo API, in agent-steps/s.

    .venv/bin/python benchmarks/bench_integrations.py [--preset small] [--ticks 200] [--rounds 5]

Stepped with random allowed actions (drawn from each agent's mask, outside the clock), alternating
round by round in one process: the raw PettingZoo ``parallel_env`` (dict observations), the RLlib
``MultiAgentEnv``, the SB3 vector env (SuperSuit over the PettingZoo env) and the TorchRL env.
Agent-steps = living agents after each step. Then RLlib's own sampling with PPO's default model
(``env_runner.sample``: the env, RLlib's episodes and connectors, the model's forward passes),
agent-steps/s over ``--ticks`` env steps per round. Prints JSON lines and the medians.
"""

from __future__ import annotations

import argparse
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


def rate(act: Callable[[], Any], step: Callable[[Any], int], ticks: int) -> float:
    agents, spent = 0, 0.0
    for _ in range(ticks):
        actions = act()
        start = time.perf_counter()
        agents += step(actions)
        spent += time.perf_counter() - start
    return agents / spent


def rllib_sampling(preset: str, ticks: int, rounds: int) -> list[float]:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    from neural_mmo.integrations.rllib import NeuralMMOMultiAgentEnv

    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    config = (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": preset, "seed": 0})
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared")
        .env_runners(num_env_runners=0)
    )
    algo = config.build_algo()
    runner = algo.env_runner
    runner.sample(num_timesteps=20)  # warm-up
    rates = []
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            episodes = runner.sample(num_timesteps=ticks)
            spent = time.perf_counter() - start
            rates.append(sum(e.agent_steps() for e in episodes) / spent)
            print(json.dumps({"rllib_sampling": round(rates[-1])}), flush=True)
    finally:
        algo.stop()
        ray.shutdown()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    makers = {"pettingzoo": pettingzoo, "rllib_env": rllib_env, "sb3_vec_env": sb3_env,
              "torchrl_env": torchrl_env}  # fmt: skip
    envs = {name: make(args.preset, rng) for name, make in makers.items()}
    for act, step in envs.values():
        rate(act, step, 20)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for r in range(args.rounds):
        for name, (act, step) in envs.items():
            rates[name].append(rate(act, step, args.ticks))
        print(json.dumps({"round": r, **{k: round(v[-1]) for k, v in rates.items()}}), flush=True)
    rates["rllib_sampling"] = rllib_sampling(args.preset, args.ticks, args.rounds)
    medians = {k: statistics.median(v) for k, v in rates.items()}
    print(json.dumps({
        "preset": args.preset, "ticks": args.ticks, "rounds": args.rounds,
        "median_agent_steps_per_s": {k: round(v) for k, v in medians.items()},
        "share_of_pettingzoo": {k: round(v / medians["pettingzoo"], 3) for k, v in medians.items()},
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
