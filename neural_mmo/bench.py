"""Throughput measurements behind ``neural-mmo bench`` (never part of the test suite).

Agent-steps per second = living agents x ticks / wall time, for the env step alone: actions are
drawn before the clock starts, and the policy is not timed. Each figure is the median of
``repeats`` timed runs after a warm-up, in this process, on one core.

The headline figures (``vecenv_agent_steps_per_s``, ``parallel_env_agent_steps_per_s``) keep every
agent alive (concurrent spawning, immortal) with random actions, so the agent count is the
preset's cap; ``vecenv_forager_default_rules_agent_steps_per_s`` runs the preset's own rules
(continuous spawning, deaths) with Forager agents, so spawning and dying are timed too.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from neural_mmo.config import Config
from neural_mmo.envs.parallel import NeuralMMOParallelEnv
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.world.rng import episode_seed, terrain_generator
from neural_mmo.world.terrain import generate_terrain

BENCH_OVERRIDES = {"spawn.mode": "concurrent", "vitals.immortal": True, "episode.horizon": 1_000_000}
"""Every agent alive for the whole run, so the agent count is the one asked for."""


def _median_rate(run: Any, repeats: int) -> tuple[float, list[float]]:
    rates = [run() for _ in range(repeats)]
    return statistics.median(rates), rates


def bench_vecenv(
    config: Config, ticks: int, repeats: int, num_worlds: int = 1, seed: int = 0
) -> dict[str, Any]:
    """Agent-steps/s of :class:`VecEnv` stepping ``num_worlds`` worlds with random actions."""
    vec = VecEnv(num_worlds, config=config, seed=seed)
    vec.reset()
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, vec.layout.action_sizes, size=(64, vec.num_slots, vec.n_heads))
    for t in range(20):
        vec.step(bank[t % 64])

    def run() -> float:
        agents = 0
        start = time.perf_counter()
        for t in range(ticks):
            vec.step(bank[t % 64])
            agents += int(np.count_nonzero(vec.alive))
        return agents / (time.perf_counter() - start)

    median, rates = _median_rate(run, repeats)
    return {"agent_steps_per_s": median, "runs": rates, "agents": int(vec.alive.sum()), "worlds": num_worlds}


def bench_vecenv_forager(config: Config, ticks: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Agent-steps/s of :class:`VecEnv` under the config's own rules (spawning, deaths) with
    Forager agents; only ``vec.step`` is timed, not the policy."""
    from neural_mmo.agents import ForagerPolicy

    vec = VecEnv(1, config=config, seed=seed)
    policy = ForagerPolicy(vec.layout, seed)
    obs, _ = vec.reset()
    for _ in range(100):
        vec.step(policy.act(obs))

    def run() -> float:
        agents, spent = 0, 0.0
        for _ in range(ticks):
            actions = policy.act(obs)
            start = time.perf_counter()
            vec.step(actions)
            spent += time.perf_counter() - start
            agents += int(np.count_nonzero(vec.alive))
        return agents / spent

    median, rates = _median_rate(run, repeats)
    return {"agent_steps_per_s": median, "runs": rates, "agents": int(vec.alive.sum())}


def bench_parallel_env(config: Config, ticks: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Agent-steps/s of the PettingZoo ParallelEnv (dict in, dicts out) with random actions."""
    env = NeuralMMOParallelEnv(config=config, seed=seed)
    env.reset()
    rng = np.random.default_rng(seed)
    bank = [
        {a: int(x) for a, x in zip(env.agents, rng.integers(0, env.layout.action_sizes[0], len(env.agents)))}
        for _ in range(64)
    ]
    for t in range(20):
        env.step(bank[t % 64])

    def run() -> float:
        agents = 0
        start = time.perf_counter()
        for t in range(ticks):
            obs, *_ = env.step(bank[t % 64])
            agents += len(obs)
        return agents / (time.perf_counter() - start)

    median, rates = _median_rate(run, repeats)
    return {"agent_steps_per_s": median, "runs": rates, "agents": len(env.agents)}


def bench_copy_floor(config: Config, ticks: int, repeats: int) -> dict[str, Any]:
    """Reference measured in the same run: agent-steps/s if a step did nothing but write every
    agent's observation bytes once (a copy of the full observation buffers). The env's figure
    divided by this one says how close a step is to the memory-bandwidth floor."""
    layout = ObsLayout(config)
    n = config.spawn.n_agents
    source = layout.allocate(n)
    target = layout.allocate(n)

    def run() -> float:
        start = time.perf_counter()
        for _ in range(ticks):
            for key, array in source.items():
                np.copyto(target[key], array)
        return n * ticks / (time.perf_counter() - start)

    median, rates = _median_rate(run, repeats)
    return {"agent_steps_per_s": median, "runs": rates}


def _median_seconds(call: Callable[[int], object], repeats: int) -> dict[str, Any]:
    """Median wall time of ``call(k)`` for ``k = 1..repeats``, after a warm-up ``call(0)``."""
    call(0)
    times = []
    for k in range(1, repeats + 1):
        start = time.perf_counter()
        call(k)
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "runs": times}


def bench_map(config: Config, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Seconds to generate one map (median over seeds)."""
    return _median_seconds(
        lambda k: generate_terrain(config, terrain_generator(episode_seed(seed, 0, k))), repeats
    )


def bench_reset(config: Config, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Seconds for a whole ``VecEnv.reset`` of one world (map, regrowth schedule, spawns)."""
    vec = VecEnv(1, config=config, seed=seed)
    return _median_seconds(lambda k: vec.reset(seed=seed + k), repeats)


def run_benchmarks(config: Config, ticks: int = 1000, repeats: int = 5, preset: str = "") -> dict[str, Any]:
    """All figures of ``neural-mmo bench`` for one configuration."""
    rules = bench_vecenv_forager(config, ticks, repeats)
    config = config.override(BENCH_OVERRIDES)
    vec = bench_vecenv(config, ticks, repeats)
    par = bench_parallel_env(config, max(ticks // 4, 50), repeats)
    floor = bench_copy_floor(config, ticks, repeats)
    gen = bench_map(config, repeats)
    reset = bench_reset(config, repeats)
    return {
        "preset": preset,
        "forced_overrides": dict(BENCH_OVERRIDES),
        "map_size": config.map.size,
        "agents": vec["agents"],
        "ticks_per_run": ticks,
        "repeats": repeats,
        "vecenv_agent_steps_per_s": round(vec["agent_steps_per_s"]),
        "parallel_env_agent_steps_per_s": round(par["agent_steps_per_s"]),
        "vecenv_runs": [round(x) for x in vec["runs"]],
        "parallel_env_runs": [round(x) for x in par["runs"]],
        "vecenv_forager_default_rules_agent_steps_per_s": round(rules["agent_steps_per_s"]),
        "obs_copy_floor_agent_steps_per_s": round(floor["agent_steps_per_s"]),
        "vecenv_fraction_of_copy_floor": round(vec["agent_steps_per_s"] / floor["agent_steps_per_s"], 4),
        "map_generation_s": round(gen["seconds"], 4),
        "reset_s": round(reset["seconds"], 4),
        "obs_bytes_per_agent": ObsLayout(config).bytes_per_agent,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }
