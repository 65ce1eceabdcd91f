"""``check_env``: run the API contracts and the world's invariants on your own configuration."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from pettingzoo.test import api_test, parallel_api_test

from neural_mmo.agents import RandomPolicy, act_dict
from neural_mmo.config import Config, make_config
from neural_mmo.envs.parallel import NeuralMMOParallelEnv, env, parallel_env
from neural_mmo.testing.invariants import InvariantError, check_invariants


class EnvCheckError(AssertionError):
    """``check_env`` found a problem; the message says which check and what differed."""


def check_env(
    preset: str | None = None,
    *,
    config: Config | None = None,
    ticks: int = 200,
    seed: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """Check a configuration end to end and return a short report (raises on the first failure).

    1. PettingZoo's ``parallel_api_test`` and ``api_test`` on the AEC conversion, and the usual
       ``agent_iter`` loop run to the end of the episode (not in persistent mode, which has no end);
    2. every observation is inside the observation space;
    3. the world invariants after every tick (health bounds, one agent per tile, nobody on
       impassable tiles, population within cap, consistent occupancy);
    4. determinism: same seed and actions -> same state hash; another seed -> a different one;
    5. malformed actions (wrong types, out of range, unknown agents) are no-ops, never crashes.
    """
    if preset is None and config is None:
        preset = "small"
    overrides.setdefault("horizon", ticks)
    kwargs = dict(config=config, **overrides)
    persistent = make_config(preset, **kwargs).episode.persistent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(parallel_env(preset, **kwargs), num_cycles=ticks)
        api_test(env(preset, **kwargs), num_cycles=min(ticks, 50))
        if not persistent:
            _aec_loop(env(preset, **kwargs), seed, ticks)

    first = _rollout(parallel_env(preset, **kwargs), seed, ticks, malformed=True)
    again = _rollout(parallel_env(preset, **kwargs), seed, ticks, malformed=True)
    other = _rollout(parallel_env(preset, **kwargs), seed + 1, ticks, malformed=True)
    if first["hashes"] != again["hashes"]:
        tick = next(t for t, (x, y) in enumerate(zip(first["hashes"], again["hashes"])) if x != y)
        raise EnvCheckError(f"determinism: same seed, same actions, different state at tick {tick}")
    if first["hashes"][-1] == other["hashes"][-1]:
        raise EnvCheckError("determinism: two different seeds produced the same world")
    return {
        "ticks": len(first["hashes"]),
        "agent_steps": first["agent_steps"],
        "invalid_actions": first["invalid"],
        "ignored_actions": first["ignored"],
        "final_state_hash": first["hashes"][-1],
    }


def _aec_loop(aec: Any, seed: int, ticks: int) -> None:
    """The canonical AEC loop (``agent_iter`` / ``last`` / ``step``) until the episode ends."""
    layout = aec.unwrapped.layout
    policy = RandomPolicy(layout, seed)
    aec.reset(seed=seed)
    limit = (ticks + 1) * (layout.config.spawn.n_agents + 1) * 4
    turns = 0
    for agent in aec.agent_iter(max_iter=limit):
        obs, _, terminated, truncated, _ = aec.last()
        aec.step(None if terminated or truncated else act_dict(policy, {agent: obs})[agent])
        turns += 1
    if aec.agents:
        raise EnvCheckError(f"AEC loop: {len(aec.agents)} agents still active after {turns} turns")


def _rollout(env: NeuralMMOParallelEnv, seed: int, ticks: int, malformed: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    policy = RandomPolicy(env.layout, seed)
    space = env.observation_space(None)
    obs, _ = env.reset(seed=seed)
    hashes, agent_steps, invalid = [env.state_hash()], 0, 0
    junk: list[Any] = [None, -1, 99, 2.5, "north", [1, 2, 3], {"bogus": 1}, {"move": 17}, np.int8(3)]
    for _ in range(ticks):
        if not env.agents:
            break
        actions: dict[str, Any] = act_dict(policy, {a: obs[a] for a in env.agents})
        for agent in env.agents:
            if not space.contains(obs[agent]):
                raise EnvCheckError(f"observation of {agent} is outside the observation space")
            if malformed and rng.random() < 0.2:
                actions[agent] = junk[rng.integers(len(junk))]
        if malformed:
            actions["player_999999999"] = 1
            actions["not an agent"] = {"move": 1}
        obs, _, _, _, infos = env.step(actions)
        agent_steps += sum(info.get("alive", True) for info in infos.values())  # slot names: the living
        invalid += sum(i.get("invalid_actions", 0) for i in infos.values())
        try:
            check_invariants(env.world)
        except InvariantError as err:
            raise EnvCheckError(f"invariant broken at tick {env.world.tick}: {err}") from err
        hashes.append(env.state_hash())
    return {"hashes": hashes, "agent_steps": agent_steps, "invalid": invalid, "ignored": env.ignored_actions}
