"""Frames carry the tables' numbers; overlays accumulate and validate."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from neural_mmo.agents import FighterPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.viewer import OverlayError, register_overlay
from neural_mmo.viewer.frames import FrameEncoder, frame_text, map_part
from neural_mmo.viewer.overlays import OverlayTracker, compute_overlay, quantise
from neural_mmo.world.events import EventKind
from neural_mmo.world.tables import Skill


def _run(ticks: int):
    vec = VecEnv(1, config=Config.preset("small"), seed=3, autoreset=False)
    policy = FighterPolicy(vec.layout, seed=3)
    obs, _ = vec.reset()
    yield vec.worlds[0]
    for _ in range(ticks):
        obs, *_ = vec.step(policy.act(obs))
        yield vec.worlds[0]


def test_frame_matches_tables():
    encoder = FrameEncoder()
    attacks_seen = 0
    for state in _run(40):
        frame = encoder.encode(state)
        body = frame.body
        a = state.agents
        slots = np.flatnonzero(a.alive)
        assert body["tick"] == state.tick
        assert body["agents"]["slot"] == slots.tolist()
        assert body["agents"]["id"] == a.agent_id[slots].tolist()
        for col in ("r", "c", "population", "health", "max_health", "food", "water", "style"):
            assert body["agents"][col] == getattr(a, col)[slots].tolist(), col
        assert body["agents"]["levels"] == a.level[slots].tolist()
        assert body["agents"]["alive"] == [True] * len(slots)
        npcs = np.flatnonzero(state.npcs.alive)
        assert body["npcs"]["id"] == state.npcs.npc_id[npcs].tolist()
        assert body["npcs"]["r"] == state.npcs.r[npcs].tolist()
        assert body["npcs"]["level"] == state.npcs.level[npcs, 0].tolist()
        rows = [k for k in range(state.events.n) if state.events.kind[k] == EventKind.ATTACK]
        assert len(body["attacks"]) == len(rows)
        for (fr, fc, tr, tc, style), k in zip(body["attacks"], rows):
            assert (fr, fc, style) == (state.events.r[k], state.events.c[k], state.events.detail[k])
            other = int(state.events.other[k])
            table, i = (a, other) if other < a.capacity else (state.npcs, other - a.capacity)
            assert (tr, tc) == (table.r[i], table.c[i])
        attacks_seen += len(rows)
    assert attacks_seen > 0, "the run must contain attacks for this test to mean anything"


def test_attack_targets_without_npcs():
    """Entity numbers index the agent columns then the (here empty) NPC columns."""
    cfg = Config.preset("small").override(
        {"npc.n_npcs": 0, "spawn.mode": "concurrent", "combat.spawn_immunity": 0}
    )
    vec = VecEnv(1, config=cfg, seed=0)
    policy = FighterPolicy(vec.layout, seed=0)
    obs, _ = vec.reset()
    attacks = 0
    for _ in range(30):
        obs, *_ = vec.step(policy.act(obs))
        state = vec.worlds[0]
        body = FrameEncoder().encode(state).body
        for (_, _, tr, tc, _), other in zip(
            body["attacks"], state.events.other[state.events.kind == EventKind.ATTACK].tolist()
        ):
            assert (tr, tc) == (state.agents.r[other], state.agents.c[other])
            attacks += 1
    assert attacks > 0


def test_map_full_then_changed_tiles_only():
    state = next(_run(0))
    frame = FrameEncoder().encode(state)
    full = map_part(frame.material, None)
    grid = np.frombuffer(base64.b64decode(full["full"]), np.uint8).reshape(full["rows"], full["cols"])
    assert np.array_equal(grid, state.material)
    assert map_part(frame.material, frame.material) is None
    changed = frame.material.copy()
    changed[10, 11] = (changed[10, 11] + 1) % 6
    assert map_part(changed, frame.material) == {"tiles": [[10, 11, int(changed[10, 11])]]}
    assert '"map"' not in frame_text(frame, frame.material)
    assert '"map"' in frame_text(frame, None)


def test_counts_accumulate_and_population_remembers():
    tracker = OverlayTracker()
    expected = None
    for state in _run(15):
        a = state.agents
        here = np.zeros(state.material.shape, np.int64)
        here[a.r[a.alive], a.c[a.alive]] = 1
        expected = here if expected is None else expected + here
        tracker.observe(state)
        view = tracker.view(state, Skill.HUNTING)
        assert np.array_equal(compute_overlay("counts", view), expected)
        pop = compute_overlay("population", view)
        assert np.array_equal(pop[a.r[a.alive], a.c[a.alive]], a.population[a.alive] + 1)
        skills = compute_overlay("skills", view)
        assert np.array_equal(skills[a.r[a.alive], a.c[a.alive]], a.level[a.alive, Skill.HUNTING])
    assert expected.sum() > expected.max()  # several agent-ticks counted
    tracker.observe(state)  # the same tick again is not counted twice
    assert np.array_equal(tracker.visits, expected)


def test_register_overlay_validation():
    state = next(_run(0))
    view = OverlayTracker().view(state)
    with pytest.raises(OverlayError, match="name"):
        register_overlay("../bad", lambda v: v.visits)
    with pytest.raises(OverlayError, match="callable"):
        register_overlay("notfn", 3)
    register_overlay("t_wrong_shape", lambda v: np.zeros((3, 3)))
    with pytest.raises(OverlayError, match="shape"):
        compute_overlay("t_wrong_shape", view)
    register_overlay("t_nan", lambda v: np.full(v.state.material.shape, np.nan))
    with pytest.raises(OverlayError, match="NaN"):
        compute_overlay("t_nan", view)
    register_overlay("t_text", lambda v: np.full(v.state.material.shape, "x"))
    with pytest.raises(OverlayError, match="dtype"):
        compute_overlay("t_text", view)
    register_overlay("t_raises", lambda v: 1 / 0)
    with pytest.raises(OverlayError, match="ZeroDivisionError"):
        compute_overlay("t_raises", view)
    register_overlay("t_ok", lambda v: v.state.material.astype(float))
    assert np.array_equal(compute_overlay("t_ok", view), state.material)


def test_quantise_spans_0_to_255():
    layer = quantise(np.array([[0.0, 5.0], [10.0, 2.5]]))
    data = np.frombuffer(base64.b64decode(layer["data"]), np.uint8)
    assert data.tolist() == [0, 128, 255, 64]
    assert (layer["min"], layer["max"]) == (0.0, 10.0)
    flat = quantise(np.full((2, 2), 7.0))
    assert np.frombuffer(base64.b64decode(flat["data"]), np.uint8).tolist() == [0, 0, 0, 0]
