"""Hypothesis: world invariants hold for random small configs and random (also invalid) actions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead
from neural_mmo.observe.layout import EntityColumn
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
    max_level = draw(st.integers(1, 99))
    danger = sorted(draw(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2)))
    reaches = {
        "combat.melee_range": draw(st.integers(1, 3)),
        "combat.range_range": draw(st.integers(1, 4)),
        "combat.mage_range": draw(st.integers(1, 5)),
    }
    n_npcs = draw(st.integers(0, 8))
    # NPCs see at least as far as the longest reach (else the config is rejected); without NPCs
    # the sight is free
    lowest_sight = max(reaches.values()) if n_npcs else 1
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
        **reaches,
        "combat.roll_bonus": draw(st.integers(0, 20)),
        "combat.freeze_ticks": draw(st.integers(0, 4)),
        "combat.spawn_immunity": draw(st.integers(0, 5)),
        "combat.status_ticks": draw(st.integers(0, 6)),
        "combat.regen_in_combat": draw(st.booleans()),
        "combat.melee_damage": draw(st.sampled_from([0.0, 7.0, 500.0])),
        "progression.max_level": max_level,
        "progression.xp_scale": draw(st.sampled_from([0.0, 1.0, 1e4])),
        "progression.health_per_level": draw(st.integers(0, 500)),
        "progression.restore_per_level": draw(st.sampled_from([0.0, 0.5, 40.0])),
        "npc.n_npcs": n_npcs,
        "npc.spawn_attempts": draw(st.integers(0, 4)),
        "npc.passive_below": danger[0],
        "npc.neutral_below": danger[1],
        "npc.edge_level": draw(st.integers(1, max_level)),
        "npc.centre_level": draw(st.integers(1, max_level)),
        "npc.sight": draw(st.integers(lowest_sight, lowest_sight + 2)),
        "npc.wander_prob": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "npc.leash": draw(st.integers(1, 5)),
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
        assert own[EntityColumn.HEALTH] == state.agents.health[i] > 0
        assert own[EntityColumn.MAX_HEALTH] == state.agents.max_health[i] >= state.agents.health[i]


def random_actions(vec: VecEnv, rng: np.random.Generator) -> np.ndarray:
    """Random rows for every head: out of range half the time, else in range with most attacks
    taken from the attack mask (so fights happen)."""
    sizes = vec.layout.action_sizes
    if rng.random() < 0.5:
        return rng.integers(-3, sizes + 3, size=(vec.num_slots, len(sizes)))
    actions = rng.integers(0, sizes, size=(vec.num_slots, len(sizes)))
    start = vec.layout.action_offsets[ActionHead.ATTACK]
    masks = vec.observations["action_mask"][:, start : start + sizes[ActionHead.ATTACK]]
    for i in range(vec.num_slots):
        allowed = np.flatnonzero(masks[i])
        if allowed.size and rng.random() < 0.8:
            actions[i, ActionHead.ATTACK] = rng.choice(allowed)
    return actions


@given(cfg=small_configs(), seed=st.integers(0, 2**31 - 1), ticks=st.integers(1, 80))
@settings(max_examples=120)
def test_invariants_hold_under_random_actions(cfg, seed, ticks):
    vec = VecEnv(1, config=cfg, seed=seed)
    vec.reset()
    check_outputs(vec, cfg)
    rng = np.random.default_rng(seed)
    for _ in range(ticks):
        actions = random_actions(vec, rng)
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
