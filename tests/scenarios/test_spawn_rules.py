"""Spawning: continuous (attempts per tick on the ring, cap, min_alive) and concurrent (all at tick 0)."""

from __future__ import annotations

import numpy as np
import pytest
from _support import ring_set

from neural_mmo.agents import RandomPolicy
from neural_mmo.config import Config, ConfigError
from neural_mmo.envs.vector import VecEnv
from neural_mmo.testing import check_invariants
from neural_mmo.world.events import EventKind
from neural_mmo.world.materials import SPAWNABLE, Material
from neural_mmo.world.state import ring_tiles


def config(**overrides):
    """Agents-only spawn rules: no NPCs to take tiles or fight."""
    base = {"map.size": 16, "spawn.n_agents": 24, "spawn.mode": "continuous", "npc.n_npcs": 0}
    return Config.preset("small").override({**base, **overrides})


def spawns(state):
    return [e for e in state.events.rows() if e["kind"] == "SPAWN"]


def grass_map(cfg):
    b, n = cfg.map.border, cfg.map.size
    material = np.full((cfg.grid_side, cfg.grid_side), Material.LAVA, np.uint8)
    material[b : b + n, b : b + n] = Material.GRASS
    return material


@pytest.mark.parametrize("attempts", [1, 3, 7])
def test_continuous_spawns_at_most_attempts_per_tick_on_the_ring(attempts):
    cfg = config(**{"spawn.attempts_per_tick": attempts, "spawn.min_alive": 0, "vitals.food_decay": 25})
    vec = VecEnv(1, config=cfg, seed=attempts)
    obs, _ = vec.reset()
    ring = ring_set(cfg)
    policy = RandomPolicy(vec.layout, seed=1)
    total = 0
    for _ in range(200):
        obs, *_ = vec.step(policy.act(obs))
        state = vec.worlds[0]
        new = spawns(state)
        assert len(new) <= cfg.spawn.attempts_per_tick
        assert all((e["r"], e["c"]) in ring for e in new)
        assert sorted(e["slot"] for e in new) == np.flatnonzero(vec.spawned).tolist()
        assert state.n_alive <= cfg.spawn.n_agents
        check_invariants(state)
        total += len(new)
    assert total > 50


def test_continuous_spawning_that_could_never_spawn_is_a_config_error():
    """attempts_per_tick = 0 with min_alive = 0 (a world that stays empty) is rejected up front."""
    with pytest.raises(ConfigError, match="attempts_per_tick"):
        config(**{"spawn.attempts_per_tick": 0, "spawn.min_alive": 0})
    with pytest.raises(ConfigError, match="attempts_per_tick"):
        VecEnv(1, "small", spawn__mode="continuous", attempts_per_tick=0, min_alive=0)


def test_population_cap_is_respected_and_reached():
    cfg = config(**{"spawn.attempts_per_tick": 5, "vitals.immortal": True, "spawn.n_agents": 10})
    vec = VecEnv(1, config=cfg, seed=2)
    vec.load(0, grass_map(cfg))
    history = [vec.worlds[0].n_alive]
    for _ in range(60):
        vec.step(np.zeros((10, 2), np.int64))
        new = spawns(vec.worlds[0])
        assert len(new) <= cfg.spawn.attempts_per_tick
        if history[-1] == cfg.spawn.n_agents:
            assert new == []  # full: no attempt succeeds
        history.append(vec.worlds[0].n_alive)
        assert history[-1] == history[-2] + len(new) <= cfg.spawn.n_agents
    assert max(history) == cfg.spawn.n_agents
    assert history[-1] == cfg.spawn.n_agents
    assert vec.worlds[0].next_agent_id == cfg.spawn.n_agents  # nobody died, so no more ids were used


@pytest.mark.parametrize("min_alive,n_agents", [(1, 4), (3, 6)])
def test_min_alive_keeps_that_many_agents_alive(min_alive, n_agents):
    cfg = config(
        **{
            "spawn.attempts_per_tick": 0,
            "spawn.min_alive": min_alive,
            "spawn.n_agents": n_agents,
            "vitals.food_decay": 50,
            "vitals.starvation_damage": 50,
        }
    )
    vec = VecEnv(1, config=cfg, seed=min_alive)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=3)
    assert vec.worlds[0].n_alive == min_alive
    deaths = 0
    for _ in range(100):
        obs, *_ = vec.step(policy.act(obs))
        assert vec.worlds[0].n_alive == min_alive  # never fewer, and no attempts beyond it
        deaths += int(vec.terminations.sum())
    assert deaths >= 10


def test_continuous_reset_and_new_agents_have_full_vitals_and_fresh_ids():
    cfg = config(**{"spawn.attempts_per_tick": 4, "vitals.food_decay": 30})
    vec = VecEnv(1, config=cfg, seed=9)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=9)
    v = cfg.vitals
    last_id = int(vec.agent_id.max())
    for _ in range(100):
        obs, *_ = vec.step(policy.act(obs))
        state = vec.worlds[0]
        for e in sorted(spawns(state), key=lambda e: e["agent_id"]):
            assert e["agent_id"] == last_id + 1
            last_id += 1
            row = state.agents.row(e["slot"])
            assert (row["health"], row["food"], row["water"]) == (v.max_health, v.max_food, v.max_water)
            assert row["population"] == e["agent_id"] % cfg.spawn.n_populations == e["value"]
            assert row["spawn_tick"] == state.tick
    assert vec.worlds[0].next_agent_id == last_id + 1


@pytest.mark.parametrize("n_agents,n_populations", [(24, 1), (60, 4), (7, 3)])
def test_concurrent_spawns_everyone_at_tick_zero_evenly_on_the_ring(n_agents, n_populations):
    cfg = config(
        **{
            "spawn.mode": "concurrent",
            "spawn.n_agents": n_agents,
            "spawn.n_populations": n_populations,
            "vitals.immortal": True,
        }
    )
    vec = VecEnv(1, config=cfg, seed=1)
    vec.load(0, grass_map(cfg))
    state = vec.worlds[0]
    ring = ring_tiles(cfg.map.border, cfg.map.size)
    new = spawns(state)
    assert len(new) == n_agents == state.n_alive
    for a, e in enumerate(new):
        assert e["agent_id"] == a and e["value"] == a % n_populations
        assert [e["r"], e["c"]] == ring[a * len(ring) // n_agents].tolist()
    rng = np.random.default_rng(0)
    for _ in range(60):
        moves = rng.integers(0, 5, size=n_agents)
        vec.step(np.stack([moves, np.zeros_like(moves)], axis=1))
        assert spawns(vec.worlds[0]) == []
        assert not vec.spawned.any()
        assert vec.worlds[0].n_alive == n_agents


def test_concurrent_on_generated_maps_everyone_on_a_spawnable_ring_tile():
    cfg = Config.preset("small").override({"spawn.mode": "concurrent"})
    vec = VecEnv(2, config=cfg, seed=4)
    vec.reset()
    ring = ring_set(cfg)
    for state in vec.worlds:
        a = state.agents
        assert state.n_alive == cfg.spawn.n_agents
        assert all((int(r), int(c)) in ring for r, c in zip(a.r, a.c))
        assert SPAWNABLE[state.material[a.r.astype(int), a.c.astype(int)]].all()
    policy = RandomPolicy(vec.layout, seed=4)
    obs = vec.observations
    for _ in range(50):
        obs, *_ = vec.step(policy.act(obs))
        for state in vec.worlds:
            if state.tick:
                assert len(state.events.of_kind(EventKind.SPAWN)) == 0


def test_concurrent_episode_ends_when_everyone_is_dead_and_restarts_on_a_new_map():
    cfg = Config.preset("small").override(
        {
            "map.size": 16,
            "spawn.n_agents": 6,
            "spawn.mode": "concurrent",
            "vitals.food_decay": 100,
            "vitals.starvation_damage": 100,
        }
    )
    vec = VecEnv(1, config=cfg, seed=8)
    vec.reset()
    first_map = vec.worlds[0].material.copy()
    vec.step(np.zeros((6, 2), np.int64))  # everyone starves on tick 1
    assert vec.terminations.all() and vec.episode_done[0] and (vec.rewards == -1).all()
    vec.step(np.zeros((6, 2), np.int64))
    assert vec.worlds[0].tick == 0 and not vec.episode_done[0]
    assert not (vec.worlds[0].material == first_map).all()
    assert vec.spawned.all() and vec.alive.all() and not vec.terminations.any()


def test_nobody_spawns_on_the_last_tick_of_an_episode():
    from neural_mmo.envs.vector import VecEnv

    vec = VecEnv(1, "small", seed=0, horizon=6, attempts_per_tick=5, n_agents=64)
    vec.reset()
    spawned_per_tick = []
    for _ in range(6):
        vec.step(np.zeros((64, 2), np.int64))
        spawned_per_tick.append(int(vec.spawned.sum()))
    assert all(n > 0 for n in spawned_per_tick[:-1])  # room and attempts enough every tick before
    assert spawned_per_tick[-1] == 0 and vec.truncations.any()
