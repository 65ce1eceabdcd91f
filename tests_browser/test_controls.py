"""The viewer client's controls in headless Chromium: replay speed, the skill picker, reconnecting.

What the page asks for is checked where it lands, on the server object running in this process
(its speed, each client's overlay), and what the server sends back is checked on the page.
"""

from __future__ import annotations

import numpy as np
from conftest import open_viewer, pause, save_artifact, wait_for

from neural_mmo.config import Config
from neural_mmo.viewer.server import LiveSource, ReplaySource, ViewerServer
from neural_mmo.world.tables import Skill


def test_replay_speed_reaches_the_server(page, replay):
    open_viewer(page, replay)
    page.locator("#speed").wait_for(state="visible")
    assert replay.speed == 1.0
    assert page.input_value("#speed") == "1"
    for value in ("4", "0.25", "16", "1"):
        page.select_option("#speed", value)
        wait_for(lambda v=float(value): replay.speed == v, f"the server's speed to become {value}")
        assert page.evaluate("window.viewer.speed") == float(value)
    assert not page.evaluate("window.viewer.error")  # every value was accepted


def test_skill_picker_changes_the_overlay(page, live):
    open_viewer(page, live)
    page.wait_for_function("() => window.viewer.tick > 5")  # agents have levelled
    pause(page, live)
    page.keyboard.press("Backquote")
    page.locator("#console").wait_for(state="visible")
    skills = page.locator("#console-skill option").all_inner_texts()
    assert skills == [s.name.lower() for s in Skill]

    def shows(skill: str) -> None:
        key = f"skills:{skill}"
        wait_for(lambda: [c.overlay for c in live.clients] == [key], f"the server to be asked for {key}")
        page.wait_for_function(
            "k => window.viewer.overlay?.name === k && window.viewer.drawnOverlay === k", arg=key
        )
        assert page.text_content("#legend-name") == key
        agents = live.source.state.agents  # paused: the world the page shows
        levels = agents.level[agents.alive, int(Skill[skill.upper()])]
        assert page.text_content("#legend-max") == str(int(levels.max()))
        assert page.evaluate("window.viewer.overlay.max") == float(levels.max())

    page.select_option("#console-skill", "constitution")  # picked before the overlay: used by it
    assert [c.overlay for c in live.clients] == [None]
    page.check("#overlay-skills")
    shows("constitution")
    for skill in ("mage", "melee"):  # changed while the overlay shows: a new request each time
        page.select_option("#console-skill", skill)
        shows(skill)
    save_artifact(page, "overlay_skills.png")
    page.check("#overlay-counts")  # another overlay: the skill no longer matters
    wait_for(lambda: [c.overlay for c in live.clients] == ["counts"], "the server to be asked for counts")
    page.wait_for_function("() => window.viewer.drawnOverlay === 'counts'")


def test_client_reconnects_to_a_restarted_server(page, replay_file):
    first = ViewerServer(LiveSource(Config.preset("small"), seed=2), port=0, fps=20).start_in_thread()
    try:
        open_viewer(page, first)
        assert page.evaluate("[window.viewer.source, window.viewer.connections]") == ["live", 1]
        assert not page.locator("#replay-controls").is_visible()
        page.click("#play")  # paused here: asked for again after the reconnect
        wait_for(lambda: not first.playing, "the first server to pause")
        port = first.port
    finally:
        first.stop()
        first.source.close()
    page.wait_for_function("() => window.viewer.connected === false")
    assert "disconnected" in page.text_content("#status")
    frames = page.evaluate("window.viewer.frames")

    second = ViewerServer(ReplaySource(replay_file), port=port, fps=20).start_in_thread()
    try:
        page.wait_for_function("() => window.viewer.connected && window.viewer.connections === 2")
        page.wait_for_function(
            "n => window.viewer.frames > n && window.viewer.drawnTick === window.viewer.tick", arg=frames
        )
        assert page.evaluate("window.viewer.source") == "replay"
        page.locator("#replay-controls").wait_for(state="visible")
        wait_for(lambda: not second.playing, "the client to pause the restarted server")
        assert page.text_content("#status") == "connected"
        # frames of the new server: its agents, drawn
        tick = second.tick
        page.wait_for_function("t => window.viewer.tick === t && window.viewer.drawnTick === t", arg=tick)
        state = second.source.state
        shown = sorted(a["id"] for a in page.evaluate("window.viewer.agents"))
        assert shown == sorted(int(i) for i in state.agents.agent_id[np.flatnonzero(state.agents.alive)])
    finally:
        second.stop()
        second.source.close()
