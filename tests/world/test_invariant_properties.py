"""Hypothesis: world invariants hold for random small configs and random (also invalid) actions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.testing import check_invariants


@st.composite
def small_configs(draw):
    radius = draw(st.integers(1, 3))
    n_agents = draw(st.integers(1, 12))
    levels = sorted(draw(st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5)))
    mode = draw(st.sampled_from(["continuous", "concurrent"]))
    attempts = draw(st.integers(0, 4))
    # Valid configs only: persistent worlds spawn continuously, and continuous spawning spawns someone.
    never_spawns = mode == "continuous" and attempts == 0
    overrides = {
        "map.size": draw(st.integers(1, 14)),
        "map.border": radius + draw(st.integers(1, 2)),
        "observe.vision_radius": radius,
        "observe.n_entities": draw(st.integers(1, 6)),
        "spawn.n_agents": n_agents,
        "spawn.mode": mode,
        "spawn.n_populations": draw(st.integers(1, n_agents)),
        "spawn.attempts_per_tick": attempts,
        "spawn.min_alive": draw(st.integers(1 if never_spawns else 0, n_agents)),
        "vitals.max_health": draw(st.integers(1, 200)),
        "vitals.max_food": draw(st.integers(1, 200)),
        "vitals.max_water": draw(st.integers(1, 200)),
        "vitals.food_decay": draw(st.integers(0, 40)),
        "vitals.water_decay": draw(st.integers(0, 40)),
        "vitals.starvation_damage": draw(st.integers(0, 60)),
        "vitals.dehydration_damage": draw(st.integers(0, 60)),
        "vitals.regen_fraction": draw(st.floats(0.0, 1.0)),
        "vitals.regen_threshold": draw(st.floats(0.0, 1.0)),
        "vitals.immortal": draw(st.booleans()),
        "resources.food_restore": draw(st.integers(0, 250)),
        "resources.water_restore": draw(st.integers(0, 250)),
        "resources.food_regrow_prob": draw(st.sampled_from([0.0, 0.01, 0.3, 1.0])),
        "episode.horizon": draw(st.integers(5, 60)),
        "episode.persistent": mode == "continuous" and draw(st.booleans()),
        **dict(
            zip(
                [
                    "terrain.lava_below",
                    "terrain.water_below",
                    "terrain.grass_below",
                    "terrain.scrub_below",
                    "terrain.forest_below",
                ],
                levels,
            )
        ),
    }
    return Config.preset("small").override(overrides)


def check_outputs(vec: VecEnv, cfg: Config) -> None:
    state = vec.worlds[0]
    check_invariants(state)
    assert state.n_alive == int(vec.alive.sum()) <= cfg.spawn.n_agents
    assert (vec.agent_id[vec.alive] == state.agents.agent_id[state.agents.alive]).all()
    assert not (vec.terminations & vec.alive).any()
    assert not (vec.truncations & ~vec.alive).any()
    assert (vec.rewards[~(vec.alive | vec.terminations)] == 0).all()
    space = vec.observation_space
    for i in np.flatnonzero(vec.alive | vec.terminations):
        obs = {k: v[i] for k, v in vec.observations.items()}
        assert space.contains(obs), i
    for i in np.flatnonzero(vec.alive):
        own = vec.observations["entities"][i, 0]
        assert own[6] == state.agents.health[i] > 0


@given(cfg=small_configs(), seed=st.integers(0, 2**31 - 1), ticks=st.integers(1, 80))
@settings(max_examples=120)
def test_invariants_hold_under_random_actions(cfg, seed, ticks):
    vec = VecEnv(1, config=cfg, seed=seed)
    vec.reset()
    check_outputs(vec, cfg)
    rng = np.random.default_rng(seed)
    for _ in range(ticks):
        if rng.random() < 0.5:
            actions = rng.integers(-3, 8, size=(vec.num_slots, 1))
        else:
            actions = rng.integers(0, 5, size=(vec.num_slots, 1))
        reset_step = bool(vec.episode_done[0])
        _, _, _, _, infos = vec.step(actions)
        if reset_step:
            assert vec.worlds[0].tick == 0 and not vec.episode_done[0]
            assert (vec.spawned == vec.alive).all()
        check_outputs(vec, cfg)
        if cfg.vitals.immortal:
            assert not vec.terminations.any()
        wiped_out = not vec.alive.any() and (cfg.spawn.mode == "concurrent" or cfg.spawn.min_alive > 0)
        if cfg.episode.persistent:
            assert not vec.truncations.any()
            assert vec.episode_done[0] == (wiped_out and not reset_step)
        elif not reset_step:
            at_horizon = vec.worlds[0].tick >= cfg.episode.horizon
            assert vec.episode_done[0] == (at_horizon or wiped_out)
