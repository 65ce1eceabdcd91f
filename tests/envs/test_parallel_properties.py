"""Hypothesis: the PettingZoo contract and the world invariants on random small configs and actions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import neural_mmo
from neural_mmo.testing import check_invariants

ACTIONS = [None, 0, 1, 2, 3, 4, -1, 7, 2.0, "x", {"move": 3}, {"bogus": 1}, [2], [1, 2], True,
           {"attack": 1}, {"attack": 5, "move": 2}, (0, 10**9), [3, -2], {"attack": 2.5}]  # fmt: skip


def allowed_attack(rng: np.random.Generator, mask: np.ndarray, offset: int) -> int:
    """A uniformly chosen attack value the mask allows (0 when none but the no-op is)."""
    allowed = np.flatnonzero(mask[offset:])
    return int(rng.choice(allowed))


@given(
    size=st.integers(1, 12),
    n_agents=st.integers(1, 10),
    mode=st.sampled_from(["continuous", "concurrent"]),
    persistent=st.booleans(),
    horizon=st.integers(1, 40),
    food_decay=st.integers(0, 50),
    attempts=st.integers(0, 3),
    n_npcs=st.integers(0, 8),
    immunity=st.integers(0, 5),
    seed=st.integers(0, 2**31 - 1),
)
@settings(max_examples=150)
def test_parallel_env_contract_holds_on_random_configs(
    size, n_agents, mode, persistent, horizon, food_decay, attempts, n_npcs, immunity, seed
):
    persistent = persistent and mode == "continuous"  # a persistent concurrent world is a ConfigError
    env = neural_mmo.parallel_env(
        "small",
        seed=seed,
        map__size=size,
        spawn__n_agents=n_agents,
        spawn__mode=mode,
        persistent=persistent,
        horizon=horizon,
        food_decay=food_decay,
        attempts_per_tick=attempts,
        min_alive=min(1, n_agents),
        vision_radius=2,
        border=3,
        npc__n_npcs=n_npcs,
        spawn_immunity=immunity,
        agent_names="unique",
    )
    offset = int(env.layout.action_offsets[1])
    obs, infos = env.reset()
    rng = np.random.default_rng(seed)
    space = env.observation_space("player_0")
    assert set(obs) == set(infos) == set(env.agents)
    gone: set[str] = set()
    for _ in range(60):
        if not env.agents:
            break
        actions = {
            a: ACTIONS[int(rng.integers(len(ACTIONS)))]
            if rng.random() < 0.6
            else {"move": int(rng.integers(5)), "attack": allowed_attack(rng, obs[a]["action_mask"], offset)}
            for a in env.agents
        }
        before = set(env.agents)
        obs, rewards, terms, truncs, infos = env.step(actions)
        check_invariants(env.world)
        keys = set(obs)
        assert keys == set(rewards) == set(terms) == set(truncs) == set(infos)
        assert before <= keys
        assert not keys & gone
        assert set(env.agents) <= keys
        for a in keys:
            assert space.contains(obs[a])
            assert not (terms[a] and truncs[a])
            if terms[a]:
                assert rewards[a] == -1.0 and a not in env.agents
        gone |= {a for a in keys if terms[a] or truncs[a]}
        if persistent:
            assert not any(truncs.values())
        elif env.world.tick >= horizon:
            assert env.agents == [] and all(truncs[a] or terms[a] for a in keys)
        if not persistent:
            assert all(a in env.possible_agents for a in keys)
        if not env.agents:  # min_alive is 1: an empty world after the spawns ends the episode
            assert env.vec.episode_done[0]
            assert env.step({a: 0 for a in keys}) == ({}, {}, {}, {}, {})
