"""Model overlays in the viewer (values, attention, global values) and ``serve --policy``."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neural_mmo.cli import build_parser, main  # noqa: E402
from neural_mmo.config import Config  # noqa: E402
from neural_mmo.envs.vector import VecEnv  # noqa: E402
from neural_mmo.observe.layout import EntityColumn, ObsLayout  # noqa: E402
from neural_mmo.train.checkpoint import TrainedPolicy, save_checkpoint  # noqa: E402
from neural_mmo.train.config import TrainConfig  # noqa: E402
from neural_mmo.train.io import to_tensors  # noqa: E402
from neural_mmo.train.models import make_model  # noqa: E402
from neural_mmo.train.overlays import (  # noqa: E402
    ModelOverlays,
    all_resources,
    fill_empty,
    lone_agent_observations,
    register_model_overlays,
)
from neural_mmo.viewer import overlays as viewer_overlays  # noqa: E402
from neural_mmo.viewer.overlays import OverlayTracker, compute_overlay  # noqa: E402
from neural_mmo.viewer.server import LiveSource, SelectionView, ViewerServer, parse_command  # noqa: E402
from neural_mmo.world.materials import PASSABLE, SPAWNABLE, Material  # noqa: E402

GAME = Config.preset("small").override({"map.size": 32, "spawn.n_agents": 16, "npc.n_npcs": 4})


def _checkpoint(path, model_name="simple", game=GAME):
    torch.manual_seed(0)
    train = TrainConfig(model=model_name, hidden=32)
    model = make_model(model_name, ObsLayout(game), hidden=32).eval()
    return save_checkpoint(path, train_config=train, game_config=game, models=[model])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return _checkpoint(tmp_path_factory.mktemp("overlays") / "simple.pt")


@pytest.fixture
def live(checkpoint):
    policy = TrainedPolicy(checkpoint, seed=1)
    source = LiveSource(policy.game_config, agents=policy, seed=1)
    for _ in range(3):
        source.advance()
    yield source, policy
    source.close()


def view_of(state, agent=None) -> SelectionView:
    return SelectionView(**vars(OverlayTracker().view(state)), agent=agent)


@torch.no_grad()
def forward(model, obs: dict, rows, state=None):
    """(logits, values) of ``rows`` of a batch of observations."""
    logits, value, _ = model(to_tensors({k: v[rows] for k, v in obs.items()}), state)
    return logits, value.numpy()


# ---------------------------------------------------------------------------------- values


def test_values_are_each_agents_value_at_its_tile(live):
    source, policy = live
    state = source.state
    slots = np.flatnonzero(state.agents.alive)
    assert slots.size > 1
    grid = ModelOverlays(policy).values_overlay(view_of(state))
    assert grid.shape == state.material.shape and np.isfinite(grid).all()
    _, expected = forward(policy.models[0], source.player.observations, slots)
    r, c = state.agents.r[slots], state.agents.c[slots]
    np.testing.assert_allclose(grid[r, c], expected, rtol=1e-5, atol=1e-6)
    empty = np.ones(grid.shape, bool)
    empty[r, c] = False
    assert len(np.unique(grid[empty])) == 1 and grid[empty][0] < expected.min(), "one marker below all"


def test_recurrent_values_use_the_policys_state_of_the_slot(tmp_path):
    policy = TrainedPolicy(_checkpoint(tmp_path / "recurrent.pt", "recurrent"), seed=2)
    source = LiveSource(policy.game_config, agents=policy, seed=2)
    for _ in range(4):
        source.advance()
    slots = np.flatnonzero(source.state.agents.alive)
    h, c = policy.states[0]
    index = torch.from_numpy(slots)
    _, expected = forward(policy.models[0], source.player.observations, slots, (h[index], c[index]))
    _, fresh = forward(policy.models[0], source.player.observations, slots)
    assert not np.allclose(expected, fresh), "four ticks of history change the values"
    grid = ModelOverlays(policy).values(source.state)
    a = source.state.agents
    np.testing.assert_allclose(grid[a.r[slots], a.c[slots]], expected, rtol=1e-5, atol=1e-6)
    source.close()


def test_fill_empty_marks_below_every_value():
    grid = np.array([[np.nan, -1.0], [2.0, np.nan]])
    filled = fill_empty(grid)
    assert filled[0, 0] == filled[1, 1] < -1.0 and filled[0, 1] == -1.0 and filled[1, 0] == 2.0
    lo, hi = filled.min(), filled.max()
    assert np.rint((-1.0 - lo) * 255 / (hi - lo)) == 1, "empty tiles alone quantise to 0"
    assert (fill_empty(np.array([[np.nan, 0.25]])) == [[0.0, 0.25]]).all(), "0 below positive values"
    assert (fill_empty(np.full((2, 2), np.nan)) == 0).all()


# ---------------------------------------------------------------------------------- attention


def _expected_attention(model, obs, slot, r0, c0, shape):
    """The attention grid, built tile by tile from the model's weights (15x15 crop, 5x5 patches)."""
    model.keep_attention = True
    try:
        forward(model, obs, [slot])
        weights = model.attention[0].numpy()
    finally:
        model.keep_attention = False
    layout = model.layout
    R, W = layout.radius, layout.window
    assert W % 3 == 0 and model.grid == W // 3
    n_patches = model.grid**2
    grid = np.full(shape, np.nan)
    for dr in range(W):
        for dc in range(W):
            grid[r0 - R + dr, c0 - R + dc] = weights[(dr // 3) * model.grid + dc // 3]
    entities = obs["entities"][slot]
    for row in range(1, layout.n_entities):
        if obs["entity_mask"][slot, row]:
            grid[r0 + entities[row, EntityColumn.REL_ROW], c0 + entities[row, EntityColumn.REL_COL]] += (
                weights[n_patches + row - 1]
            )
    return weights, grid


def test_attention_of_the_selected_agent(live):
    source, policy = live
    state, model = source.state, policy.models[0]
    a = state.agents
    alive = np.flatnonzero(a.alive)
    overlays = ModelOverlays(policy)
    lowest = alive[np.argmin(a.agent_id[alive])]
    other = alive[np.argmax(a.agent_id[alive])]
    for slot, agent in ((lowest, None), (other, int(a.agent_id[other]))):
        weights, expected = _expected_attention(
            model, source.player.observations, slot, a.r[slot], a.c[slot], state.material.shape
        )
        assert weights.sum() == pytest.approx(1.0, abs=1e-5)
        grid = overlays.attention(state, agent)
        np.testing.assert_allclose(grid, expected, rtol=1e-5, atol=1e-7, equal_nan=True)
        painted = overlays.attention_overlay(view_of(state, agent))
        assert (painted[np.isnan(expected)] == 0).all(), "0 outside the crop, below every weight"
        # every patch once plus every entity: the weights add up to 1
        R = model.layout.radius
        r0, c0 = a.r[slot], a.c[slot]
        patch_sum = sum(
            grid[r0 - R + 3 * i + 1, c0 - R + 3 * j + 1] for i in range(model.grid) for j in range(model.grid)
        )
        assert patch_sum <= 1.0 + 1e-5
    assert model.keep_attention is False, "the overlay leaves the model as it found it"
    gone = int(a.agent_id.max()) + 1000
    assert np.isnan(overlays.attention(state, gone)).all()
    assert (overlays.attention_overlay(view_of(state, gone)) == 0).all()


def test_overlay_command_carries_the_selected_agent():
    msg = parse_command(json.dumps({"cmd": "overlay", "name": "counts", "agent": 3}))
    assert msg["agent"] == 3
    assert "agent" not in parse_command(json.dumps({"cmd": "overlay", "name": "counts"}))
    for bad in (-1, "3", 1.5, True):
        with pytest.raises(ValueError):
            parse_command(json.dumps({"cmd": "overlay", "name": "counts", "agent": bad}))


# ---------------------------------------------------------------------------------- global values


def _playable_tiles(material, config, where):
    b, n = config.map.border, config.map.size
    rows, cols = np.nonzero(where[material])
    inside = (rows >= b) & (rows < b + n) & (cols >= b) & (cols < b + n)
    return rows[inside], cols[inside]


def test_lone_agent_observations_equal_the_encoders(live):
    source, _ = live
    material = source.state.material.copy()
    game = GAME.override({"npc.n_npcs": 0})  # nobody else in the world
    env = VecEnv(1, config=game, seed=0)
    rows, cols = _playable_tiles(material, game, SPAWNABLE)
    b, n = game.map.border, game.map.size
    edge = np.flatnonzero((rows == b) | (cols == b) | (rows == b + n - 1) | (cols == b + n - 1))
    picks = np.concatenate([edge[:3], np.random.default_rng(0).choice(len(rows), 5, replace=False)])
    layout = ObsLayout(game)
    mine = lone_agent_observations(layout, material, rows[picks], cols[picks])
    for k, pick in enumerate(picks):
        env.load(0, material, np.array([[rows[pick], cols[pick]]]))
        for key, array in env.observations.items():
            np.testing.assert_array_equal(
                mine[key][k], array[0], err_msg=f"{key} at {rows[pick], cols[pick]}"
            )


def test_global_values_are_a_lone_agents_value_and_cached(live):
    source, policy = live
    state, model = source.state, policy.models[0]
    material = state.material.copy()
    overlays = ModelOverlays(policy)
    grid = overlays.global_values(material, state.config)
    assert grid.shape == material.shape
    rows, cols = _playable_tiles(material, state.config, PASSABLE)
    assert overlays.computed == len(rows)
    standing = np.zeros(material.shape, bool)
    standing[rows, cols] = True
    assert np.isfinite(grid[standing]).all() and np.isnan(grid[~standing]).all()
    painted = ModelOverlays(policy).global_values_overlay(view_of(state))
    restored = ModelOverlays(policy).global_values(all_resources(material), state.config)
    np.testing.assert_allclose(painted, fill_empty(restored), rtol=1e-5, atol=1e-6)
    assert np.isfinite(painted).all() and (painted[~standing] < restored[standing].min()).all()

    # a direct forward pass of the encoder's observation of a lone agent on sample tiles
    game = state.config.override({"npc.n_npcs": 0})
    env = VecEnv(1, config=game, seed=0)
    spawnable = _playable_tiles(material, game, SPAWNABLE)
    for k in np.random.default_rng(1).choice(len(spawnable[0]), 4, replace=False):
        r, c = spawnable[0][k], spawnable[1][k]
        env.load(0, material, np.array([[r, c]]))
        _, value = forward(model, env.observations, [0])
        assert grid[r, c] == pytest.approx(float(value[0]), rel=1e-5, abs=1e-6)

    # the same map again: nothing evaluated
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    assert overlays.global_values(material, state.config) is grid
    assert overlays.computed == len(rows) and calls == []

    # a few tiles change: only the tiles that see them are evaluated, and the grid is the full one's
    forest = np.argwhere(material == Material.FOREST)[:2]
    material[forest[:, 0], forest[:, 1]] = Material.SCRUB
    material[rows[0], cols[0]] = Material.STONE  # and one tile becomes impassable
    before = overlays.computed
    updated = overlays.global_values(material, state.config)
    assert 0 < overlays.computed - before < len(rows) / 2 and len(calls) == 1
    full = ModelOverlays(policy).global_values(material, state.config)
    np.testing.assert_allclose(updated, full, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isnan(updated[rows[0], cols[0]])


def test_global_values_take_under_ten_seconds_on_the_medium_map():
    """The medium map (128x128): 12k tiles; measured at well under a second (one thread)."""
    import time

    from neural_mmo.world.rng import episode_seed, terrain_generator
    from neural_mmo.world.terrain import generate_terrain

    game = Config.preset("medium")
    material = generate_terrain(game, terrain_generator(episode_seed(0, 0, 0)))
    torch.manual_seed(0)
    overlays = ModelOverlays(make_model("simple", ObsLayout(game)).eval())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        overlays.global_values(material, game)
        assert time.perf_counter() - start < 10
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------- registration, serving


def test_registered_overlays_run_through_the_viewer_api(live, monkeypatch):
    source, policy = live
    monkeypatch.setattr(viewer_overlays, "_REGISTRY", dict(viewer_overlays._REGISTRY))
    register_model_overlays(policy)
    assert {"values", "attention", "global_values"} <= set(viewer_overlays.overlay_names())
    for name in ("values", "attention", "global_values"):
        array = compute_overlay(name, view_of(source.state))
        assert array.shape == source.state.material.shape


def test_live_source_with_a_trained_policy_advances_and_restarts_spawned_slots(checkpoint, monkeypatch):
    policy = TrainedPolicy(checkpoint, seed=0)
    restarted = []
    monkeypatch.setattr(policy, "restart", lambda rows: restarted.append(np.asarray(rows).copy()))
    game = policy.game_config.override({"episode.horizon": 4})  # an episode ends: agents spawn again
    source = LiveSource(game, agents=policy, seed=0)
    first = source.state.tick
    assert restarted and (restarted[0] == np.flatnonzero(source.state.agents.alive)).all()
    ticks = [source.advance().tick for _ in range(6)]
    assert ticks[:3] == [first + 1, first + 2, first + 3]
    assert len(restarted) >= 2, "the new episode's agents restart their slots"
    source.close()
    with pytest.raises(ValueError, match="entities"):
        LiveSource(GAME.override({"observe.n_entities": 8}), agents=policy)


def test_viewer_streams_the_attention_of_the_selected_agent(live, monkeypatch):
    from websockets.sync.client import connect

    source, policy = live
    monkeypatch.setattr(viewer_overlays, "_REGISTRY", dict(viewer_overlays._REGISTRY))
    register_model_overlays(policy)
    server = ViewerServer(source, port=0, fps=50).start_in_thread()
    try:
        with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
            hello = json.loads(ws.recv(timeout=30))
            assert {"values", "attention", "global_values"} <= set(hello["overlays"])
            ws.send(json.dumps({"cmd": "pause"}))  # the selected agent should outlive the request
            layers = []
            for _ in range(20):  # an agent picked while a tick was still running may have died in it
                agent = int(source.state.agents.agent_id[np.flatnonzero(source.state.agents.alive)].max())
                ws.send(json.dumps({"cmd": "overlay", "name": "attention", "agent": agent}))
                while True:
                    msg = json.loads(ws.recv(timeout=30))
                    assert msg["type"] != "error", msg
                    if msg["type"] == "frame" and msg.get("overlay", {}).get("name") == f"attention@{agent}":
                        break
                layers.append(msg["overlay"]["max"])
                if layers[-1] > 0:
                    break
            assert layers[-1] > 0, f"every attention layer was empty: {layers}"
    finally:
        server.stop()


def test_serve_policy_errors_exit_2(checkpoint, tmp_path, capsys):
    assert main(["serve", "--policy", str(tmp_path / "missing.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["serve", "--policy", str(bad)]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert main(["serve", "--policy", str(checkpoint), "--set", "observe.n_entities=8"]) == 2
    err = capsys.readouterr().err
    assert "cannot play this game" in err and "observe.n_entities 32 -> 8" in err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--policy", str(checkpoint), "--agents", "forager"])


def test_serve_policy_runs_the_checkpoints_game(checkpoint, monkeypatch):
    import neural_mmo.cli as cli

    monkeypatch.setattr(viewer_overlays, "_REGISTRY", dict(viewer_overlays._REGISTRY))
    seen = {}

    def fake_serve(args, source):
        seen["config"], seen["policy"] = source.vec.config, source.policy
        source.close()
        return 0

    monkeypatch.setattr(cli, "_serve", fake_serve)
    assert main(["serve", "--policy", str(checkpoint), "--set", "resources.food_regrow_prob=0.5"]) == 0
    assert seen["config"] == GAME.override({"resources.food_regrow_prob": 0.5})
    assert isinstance(seen["policy"], TrainedPolicy)
    assert "global_values" in viewer_overlays.overlay_names()
    assert main(["serve", "--policy", str(checkpoint), "--preset", "medium"]) == 0, "a bigger map fits"
    assert seen["config"].map.size == 128
