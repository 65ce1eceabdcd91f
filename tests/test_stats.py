"""RunStats: counts agree with the event log."""

from __future__ import annotations

import numpy as np

from neural_mmo.agents import RandomPolicy
from neural_mmo.envs.vector import VecEnv
from neural_mmo.stats import RunStats
from neural_mmo.world.events import DeathCause, EventKind


def test_stats_agree_with_the_events():
    vec = VecEnv(2, "small", seed=1, map__size=16, spawn__n_agents=10, food_decay=20, autoreset=False)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=1)
    stats = RunStats()
    deaths = {c.name.lower(): 0 for c in DeathCause}
    spawned = sum(w.n_alive for w in vec.worlds)
    eats = 0
    hits = kills_of_agents = kills_of_npcs = 0
    top_level = 1
    population = []
    for _ in range(60):
        obs, *_ = vec.step(policy.act(obs))
        stats.record(vec.worlds)
        for w in vec.worlds:
            for k in w.events.of_kind(EventKind.DEATH):
                deaths[DeathCause(int(w.events.value[k])).name.lower()] += 1
            spawned += len(w.events.of_kind(EventKind.SPAWN))
            eats += len(w.events.of_kind(EventKind.EAT))
            for e in w.events.rows():
                hits += e["kind"] == "ATTACK" and e["value"] > 0
                if e["kind"] == "KILL":
                    kills_of_agents += e["other"] < w.agents.capacity
                    kills_of_npcs += e["other"] >= w.agents.capacity
                if e["kind"] == "LEVEL_UP":
                    top_level = max(top_level, e["value"])
        population.append(sum(w.n_alive for w in vec.worlds))
    stats.finish(vec.worlds)
    summary = stats.summary()
    assert summary["ticks"] == 60
    assert summary["population_final"] == population[-1] and summary["population_max"] == max(population)
    assert summary["agent_steps"] == sum(population)
    assert summary["deaths"] == {k: v for k, v in deaths.items() if v}
    assert sum(deaths.values()) > 0
    assert summary["events"].get("eat", 0) == eats
    assert summary["agents_seen"] == sum(deaths.values()) + population[-1]
    assert summary["agents_seen"] <= spawned
    assert summary["lifetime_max"] <= 60
    assert np.isclose(summary["population_mean"], np.mean(population))
    assert (summary["hits"], summary["kills_of_agents"], summary["kills_of_npcs"]) == (
        hits, kills_of_agents, kills_of_npcs,
    )  # fmt: skip
    assert hits > 0  # random agents attack what their mask allows: NPCs (and agents past immunity)
    assert summary["top_level"] == top_level


def test_empty_stats_summary():
    summary = RunStats().summary()
    assert summary["ticks"] == 0 and summary["agents_seen"] == 0 and summary["deaths"] == {}
    assert (summary["hits"], summary["kills_of_agents"], summary["kills_of_npcs"], summary["top_level"]) == (
        0, 0, 0, 1,
    )  # fmt: skip
