"""Accumulated overlays in the viewer: attack splats, values painted as agents walk, and the lone
agent's value with every resource present."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.testing import Scenario
from neural_mmo.viewer.overlays import OverlayTracker, compute_overlay
from neural_mmo.world.materials import Material
from neural_mmo.world.vocabulary import Direction, Style


def test_attack_splats_keep_the_style_of_the_last_attack_from_each_tile():
    sc = Scenario(
        """
        .....
        .0...
        .....
        ...1.
        .....
        """,
        immortal=True,
        combat__spawn_immunity=0,
    )
    tracker = OverlayTracker()
    tracker.observe(sc.state)
    b = sc.border
    sc.step(attacks={0: (Style.RANGE, 1)})
    tracker.observe(sc.state)
    grid = compute_overlay("attacks", tracker.view(sc.state))
    assert grid[b + 1, b + 1] == Style.RANGE and np.count_nonzero(grid) == 1
    sc.step({0: Direction.EAST}, attacks={0: (Style.MAGE, 1), 1: (Style.MELEE, 0)})
    tracker.observe(sc.state)
    grid = compute_overlay("attacks", tracker.view(sc.state))
    assert grid[b + 1, b + 1] == Style.MAGE  # attacks come before moves: still from (1, 1)
    assert np.count_nonzero(grid) == 1, "agent 1 was out of melee reach: no attack happened"


torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model():
    from neural_mmo.config import Config
    from neural_mmo.observe.layout import ObsLayout
    from neural_mmo.train.models import make_model

    torch.manual_seed(3)
    cfg = Config.preset("small").override({"map.size": 24, "spawn.n_agents": 6, "npc.n_npcs": 0})
    return make_model("simple", ObsLayout(cfg), hidden=16).eval(), cfg


def test_values_are_painted_as_agents_walk_and_averaged_per_tile(model):
    from neural_mmo.agents import RandomPolicy
    from neural_mmo.envs.vector import VecEnv
    from neural_mmo.train.overlays import ModelOverlays

    net, cfg = model
    env = VecEnv(1, config=cfg, seed=2)
    env.reset()
    policy = RandomPolicy(env.layout, 4)
    overlays = ModelOverlays([net])
    state = env.worlds[0]
    total = np.zeros(state.material.shape)
    count = np.zeros(state.material.shape)
    for _ in range(6):
        env.step(policy.act(env.observations))
        slots, values = overlays.agent_values(state)
        np.add.at(total, (state.agents.r[slots], state.agents.c[slots]), values)
        np.add.at(count, (state.agents.r[slots], state.agents.c[slots]), 1)
        trail = overlays.value_trail(state)
        again = overlays.value_trail(state)  # the same tick: nothing added
        np.testing.assert_allclose(again, trail, equal_nan=True)
    expected = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    np.testing.assert_allclose(trail, expected, rtol=1e-5, equal_nan=True)
    assert (count > 0).sum() > len(slots), "more tiles than agents: the trail keeps where they were"
    env.reset()  # a new episode starts a new trail
    fresh = overlays.value_trail(env.worlds[0])
    assert np.isfinite(fresh).sum() == env.worlds[0].n_alive


def test_global_values_see_every_resource_present(model):
    from neural_mmo.train.overlays import ModelOverlays, all_resources, fill_empty
    from neural_mmo.viewer.overlays import WorldView
    from neural_mmo.world.state import WorldState
    from neural_mmo.world.step import reset as reset_world

    net, cfg = model
    state = WorldState.allocate(cfg)
    reset_world(state, np.random.SeedSequence(5))
    forest = np.argwhere(state.material == Material.FOREST)[:3]
    state.material[forest[:, 0], forest[:, 1]] = Material.SCRUB  # eaten
    restored = all_resources(state.material)
    assert (restored[forest[:, 0], forest[:, 1]] == Material.FOREST).all()
    assert not (restored == Material.SCRUB).any()
    unchanged = ~np.isin(state.material, [Material.SCRUB])
    np.testing.assert_array_equal(restored[unchanged], state.material[unchanged])
    view = WorldView(
        state, np.zeros(state.material.shape, np.int64), np.zeros(state.material.shape, np.int16)
    )
    painted = ModelOverlays([net]).global_values_overlay(view)
    direct = ModelOverlays([net]).global_values(restored, cfg)
    np.testing.assert_allclose(painted, fill_empty(direct), rtol=1e-5)
