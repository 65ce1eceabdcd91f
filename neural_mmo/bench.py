"""Throughput measurements behind ``neural-mmo bench`` (never part of the test suite).

Agent-steps per second = living agents x ticks / time spent inside the env's ``step``: the
VecEnv figures play through :class:`~neural_mmo.agents.play.Player` like every other tool, the
policy computing each tick's actions (``Player.act``) outside the clock and the step
(``Player.apply``: the env's ``step``, nothing else for a scripted policy) inside it. Each figure is
the median of ``repeats`` timed runs after a warm-up, in this process, on one core.

The headline figures (``vecenv_agent_steps_per_s``, ``parallel_env_agent_steps_per_s``) keep every
agent alive (concurrent spawning, immortal) with the Random policy, which picks uniformly among
the values its action mask allows: every agent attacks most ticks when something is in reach,
and the preset's NPCs (128 on ``medium``) fight, chase, die and respawn. So the agent count is
the preset's cap and combat is timed at full load. ``vecenv_fighter_default_rules_agent_steps_per_s``
runs the preset's own rules (continuous spawning, deaths) with Fighter agents, so spawning and
dying are timed too. ``vecenv_without_combat_agent_steps_per_s`` is the reference measured in the
same run without any fighting (no NPCs, Forager agents that never attack): the headline over it
is what combat costs.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from neural_mmo.agents import Player, RandomPolicy, make_policy
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


def _timed_steps(
    step: Callable[[Any], Any], act: Callable[[], Any], ticks: int, count: Callable[[], int]
) -> float:
    """Agent-steps/s over ``ticks`` calls of ``step(act())``, timing ``step`` only."""
    agents, spent = 0, 0.0
    for _ in range(ticks):
        actions = act()
        start = time.perf_counter()
        step(actions)
        spent += time.perf_counter() - start
        agents += count()
    return agents / spent


def _timed_play(player: Player, ticks: int) -> float:
    """:func:`_timed_steps` of a :class:`Player`: the policy acts outside the clock, the env's
    step (:meth:`Player.apply`) inside; living agents counted after each step."""
    alive = player.env.alive
    return _timed_steps(player.apply, player.act, ticks, lambda: int(np.count_nonzero(alive)))


def bench_vecenv(
    config: Config, ticks: int, repeats: int, num_worlds: int = 1, seed: int = 0, policy: str = "random"
) -> dict[str, Any]:
    """Agent-steps/s of :class:`VecEnv` stepping ``num_worlds`` worlds, actions from ``policy``."""
    vec = VecEnv(num_worlds, config=config, seed=seed)
    player = Player(vec, make_policy(policy, vec.layout, seed))
    player.reset()
    for _ in range(20):
        player.step()
    median, rates = _median_rate(lambda: _timed_play(player, ticks), repeats)
    return {"agent_steps_per_s": median, "runs": rates, "agents": int(vec.alive.sum()), "worlds": num_worlds}


def bench_parallel_env(config: Config, ticks: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Agent-steps/s of the PettingZoo ParallelEnv (dict in, dicts out) with the Random policy."""
    from neural_mmo.agents import act_dict

    env = NeuralMMOParallelEnv(config=config, seed=seed, agent_names="unique")  # names: living agents only
    agent = RandomPolicy(env.layout, seed)
    last = {"obs": env.reset()[0]}

    def step(actions: dict[str, Any]) -> None:
        last["obs"] = env.step(actions)[0]

    def act() -> dict[str, Any]:
        return act_dict(agent, last["obs"])

    for _ in range(20):
        step(act())

    def run() -> float:
        return _timed_steps(step, act, ticks, lambda: len(last["obs"]))

    median, rates = _median_rate(run, repeats)
    return {"agent_steps_per_s": median, "runs": rates, "agents": len(env.agents)}


def bench_multiprocess(
    config: Config, ticks: int, repeats: int, num_worlds: int, num_workers: int, seed: int = 0
) -> dict[str, Any]:
    """Agent-steps/s of :class:`MultiprocessVecEnv` (``num_workers`` processes) against the
    in-process :class:`VecEnv` with the same worlds on one core, alternating runs of the two."""
    from neural_mmo.envs.multiprocess import MultiprocessVecEnv

    envs: dict[str, Any] = {
        "one_core": VecEnv(num_worlds, config=config, seed=seed),
        "multi": MultiprocessVecEnv(num_worlds, config=config, seed=seed, num_workers=num_workers),
    }
    rates: dict[str, list[float]] = {name: [] for name in envs}
    try:
        players = {name: Player(env, RandomPolicy(env.layout, seed)) for name, env in envs.items()}
        for player in players.values():
            player.reset()
            for _ in range(20):
                player.step()
        for _ in range(repeats):
            for name, player in players.items():
                rates[name].append(_timed_play(player, ticks))
    finally:
        envs["multi"].close()
    one, multi = statistics.median(rates["one_core"]), statistics.median(rates["multi"])
    return {"one_core": one, "multi": multi, "speedup": multi / one, "worlds": num_worlds,
            "workers": num_workers, "runs": rates}  # fmt: skip


SCALING_AGENTS = (16, 64, 128, 512, 1024)
SCALING_MAPS = (64, 128, 512, 1024)


def bench_scaling(base: Config, ticks: int, repeats: int) -> list[dict[str, Any]]:
    """VecEnv agent-steps/s (one core) over agent counts x map sizes, NPCs as many as agents."""
    rows = []
    for size in SCALING_MAPS:
        for agents in SCALING_AGENTS:
            cfg = base.override({"map.size": size, "spawn.n_agents": agents, "npc.n_npcs": agents})
            result = bench_vecenv(cfg, max(ticks * 128 // max(agents, 128), 20), repeats)
            rows.append(
                {"map_size": size, "agents": agents, "agent_steps_per_s": round(result["agent_steps_per_s"])}
            )
    return rows


def state_bytes(config: Config) -> dict[str, int]:
    """Bytes of one world's state, as allocated: the per-tile arrays (the maps: material, occupant,
    regrowth schedule) and everything else per agent slot (agent and NPC tables, event log,
    scratch, streams)."""
    from neural_mmo.world.state import WorldState

    s = WorldState.allocate(config)
    tiles = (s.material, s.occupant, s.regrowth.next_tile, s.regrowth.due)
    rest = (*s.agents, *s.npcs, *s.events, s.regrowth.head, s.edge_tiles, s.scratch, s.npc_offsets,
            s.npc_search, s.streams, s.clock)  # fmt: skip
    return {
        "map_bytes": sum(a.nbytes for a in tiles),
        "state_bytes_per_agent": sum(a.nbytes for a in rest) // config.spawn.n_agents,
    }


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


def run_benchmarks(
    config: Config, ticks: int = 1000, repeats: int = 5, preset: str = "", scaling: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """All figures of ``neural-mmo bench`` for one configuration (plus the scaling table when
    ``scaling``); ``workers`` processes for the multi-core figure (default: every CPU)."""
    import multiprocessing
    import resource

    rules = bench_vecenv(config, ticks, repeats, policy="fighter")
    config = config.override(BENCH_OVERRIDES)
    vec = bench_vecenv(config, ticks, repeats)
    peaceful = bench_vecenv(config.override({"npc.n_npcs": 0}), ticks, repeats, policy="forager")
    par = bench_parallel_env(config, max(ticks // 4, 50), repeats)
    floor = bench_copy_floor(config, ticks, repeats)
    gen = bench_map(config, repeats)
    reset = bench_reset(config, repeats)
    workers = workers or multiprocessing.cpu_count()
    multi = bench_multiprocess(
        config, max(ticks // 4, 50), repeats, num_worlds=16 * workers, num_workers=workers
    )
    memory = state_bytes(config)
    result = {
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
        "npcs": config.npc.n_npcs,
        "vecenv_fighter_default_rules_agent_steps_per_s": round(rules["agent_steps_per_s"]),
        "vecenv_without_combat_agent_steps_per_s": round(peaceful["agent_steps_per_s"]),
        "obs_copy_floor_agent_steps_per_s": round(floor["agent_steps_per_s"]),
        "vecenv_fraction_of_copy_floor": round(vec["agent_steps_per_s"] / floor["agent_steps_per_s"], 4),
        "map_generation_s": round(gen["seconds"], 4),
        "reset_s": round(reset["seconds"], 4),
        "obs_bytes_per_agent": ObsLayout(config).bytes_per_agent,
        "multiprocess_workers": workers,
        "multiprocess_worlds": multi["worlds"],
        "multiprocess_agent_steps_per_s": round(multi["multi"]),
        "multiprocess_one_core_reference_agent_steps_per_s": round(multi["one_core"]),
        "multiprocess_speedup": round(multi["speedup"], 3),
        **memory,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }
    if scaling:
        result["scaling"] = bench_scaling(config, ticks, repeats)
    return result
