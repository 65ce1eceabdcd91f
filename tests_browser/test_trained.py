"""Trained agents in the viewer: a checkpoint's policy plays, and the attention overlay follows the
agent selected on the page."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import open_viewer, pause, save_artifact, wait_for

from neural_mmo.config import Config
from neural_mmo.viewer import overlays as viewer_overlays
from neural_mmo.viewer.server import LiveSource, ViewerServer

torch = pytest.importorskip("torch")


@pytest.fixture
def trained(tmp_path, monkeypatch):
    from neural_mmo.observe.layout import ObsLayout
    from neural_mmo.train.checkpoint import TrainedPolicy, save_checkpoint
    from neural_mmo.train.config import TrainConfig
    from neural_mmo.train.models import Simple
    from neural_mmo.train.overlays import register_model_overlays

    game = Config.preset("small")
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "ck.pt", train_config=TrainConfig(), game_config=game,
                           models=[Simple(ObsLayout(game))])  # fmt: skip
    policy = TrainedPolicy(path)
    monkeypatch.setattr(viewer_overlays, "_REGISTRY", dict(viewer_overlays._REGISTRY))
    register_model_overlays(policy)
    server = ViewerServer(LiveSource(game, agents=policy, seed=4), port=0, fps=20).start_in_thread()
    yield server
    server.stop()
    server.source.close()


def test_attention_follows_the_selected_agent(page, trained):
    open_viewer(page, trained)
    page.wait_for_function("() => window.viewer.tick > 3")
    pause(page, trained)
    page.keyboard.press("Backquote")
    page.locator("#overlay-attention").wait_for(state="visible")
    page.check("#overlay-attention")
    # nobody selected: the server's default (the lowest living id), no agent in the request
    wait_for(lambda: [c.overlay for c in trained.clients] == ["attention"], "a plain attention request")
    # positions on screen are read once the overlay (and its legend) is drawn: nothing moves after
    page.wait_for_function("k => window.viewer.drawnOverlay === k", arg="attention")

    agents = page.evaluate("window.viewer.agents")
    tiles = Counter((a["r"], a["c"]) for a in agents)
    alone = sorted((a for a in agents if tiles[(a["r"], a["c"])] == 1), key=lambda a: -a["id"])
    # an agent whose tile centre is on the map as seen: inside the view and under no legend or menu
    chosen, point = next(
        (a, p) for a in alone
        for p in [page.evaluate("([r, c]) => window.viewer.screenOf(r, c)", [a["r"], a["c"]])]
        if page.evaluate("p => document.elementFromPoint(p.x, p.y)?.id === 'world'", p)
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("id => window.viewer.selected === id", arg=chosen["id"])
    key = f"attention@{chosen['id']}"
    wait_for(lambda: [c.overlay for c in trained.clients] == [key], f"the server to be asked for {key}")
    page.wait_for_function("k => window.viewer.drawnOverlay === k", arg=key)
    assert page.text_content("#legend-name") == key
    save_artifact(page, "attention.png")
    page.keyboard.press("Escape")  # deselect: back to the default agent
    wait_for(lambda: [c.overlay for c in trained.clients] == ["attention"], "the request without an agent")
