"""The viewer's browser client in headless Chromium: drawing, selection, overlays, replay scrubbing."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from conftest import canvas_png, open_viewer, pause, save_artifact
from PIL import Image

import neural_mmo.viewer
from neural_mmo.config import Config
from neural_mmo.replay import ReplayReader
from neural_mmo.viewer.server import LiveSource, ViewerServer
from neural_mmo.world.systems.fog import safe_bounds


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_live_canvas_is_drawn(page, live):
    open_viewer(page, live)
    page.wait_for_function("() => window.viewer.tick > 2")  # frames keep coming
    image = pixels(canvas_png(page))
    colours = {tuple(p) for p in image.reshape(-1, 3)[::97]}
    assert len(colours) > 5, "the canvas looks blank"
    assert image.std() > 10
    assert page.locator("#world").is_visible()
    assert page.evaluate("window.viewer.source") == "live"
    save_artifact(page, "live.png")


def test_clicking_an_agent_opens_its_panel(page, live):
    open_viewer(page, live)
    tick = pause(page, live)
    agents = page.evaluate("window.viewer.agents")
    tiles = Counter((a["r"], a["c"]) for a in agents)
    agent = next(a for a in agents if tiles[(a["r"], a["c"])] == 1)
    point = page.evaluate("([r, c]) => window.viewer.screenOf(r, c)", [agent["r"], agent["c"]])
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("id => window.viewer.selected === id", arg=agent["id"])
    panel = page.locator("#panel")
    panel.wait_for(state="visible")

    state = live.source.state  # paused: the world the page shows
    slot = int(np.flatnonzero(state.agents.agent_id == agent["id"])[0])
    a = state.agents
    assert page.text_content("#panel-id") == str(agent["id"])
    assert page.text_content("#panel-population") == str(int(a.population[slot]))
    assert page.text_content("#panel-health") == f"{int(a.health[slot])} / {int(a.max_health[slot])}"
    assert page.text_content("#panel-food") == str(int(a.food[slot]))
    assert page.text_content("#panel-water") == str(int(a.water[slot]))
    assert page.text_content("#panel-position") == f"({int(a.r[slot])}, {int(a.c[slot])})"
    assert page.text_content("#panel-lifetime") == f"{tick - int(a.spawn_tick[slot])} ticks"
    levels = [int(x) for x in page.locator("#panel-skills td[data-skill]").all_text_contents()]
    assert levels == a.level[slot].tolist()
    assert page.locator("#follow").is_visible()
    page.click("#follow")
    page.wait_for_function("() => window.viewer.following === true")
    save_artifact(page, "selected.png")


def test_console_toggles_the_counts_overlay(page, live):
    open_viewer(page, live)
    page.wait_for_function("() => window.viewer.tick > 5")  # some visits to count
    pause(page, live)
    before = pixels(canvas_png(page))
    assert not page.locator("#console").is_visible()
    page.keyboard.press("Backquote")
    page.locator("#console").wait_for(state="visible")
    page.check("#overlay-counts")
    page.wait_for_function("() => window.viewer.overlay && window.viewer.overlay.name === 'counts'")
    page.locator("#legend").wait_for(state="visible")
    overlay = page.evaluate("window.viewer.overlay")
    assert page.text_content("#legend-min") == str(overlay["min"])
    assert page.text_content("#legend-max") == str(overlay["max"])
    assert overlay["max"] > overlay["min"]
    page.wait_for_function("() => window.viewer.drawnOverlay === 'counts'")
    after = pixels(canvas_png(page))
    changed = np.abs(after - before).sum(axis=2).astype(bool).mean()
    assert changed > 0.2, f"only {changed:.1%} of the pixels changed"
    save_artifact(page, "overlay_counts.png")
    # and off again: back to the plain map
    page.check("#overlay-none")
    page.wait_for_function("() => window.viewer.overlay === null && window.viewer.drawnOverlay === null")
    page.locator("#legend").wait_for(state="hidden")
    page.keyboard.press("Backquote")
    page.locator("#console").wait_for(state="hidden")
    back = np.abs(pixels(canvas_png(page)) - before).sum(axis=2).astype(bool).mean()
    assert back < 0.02, f"{back:.1%} of the pixels differ from the plain map"  # fading attack lines only


def test_replay_scrub_matches_reader(page, replay, replay_file):
    open_viewer(page, replay)
    assert page.evaluate("window.viewer.source") == "replay"
    page.locator("#scrub").wait_for(state="visible")
    first, last = page.evaluate("window.viewer.ticks")
    assert (first, last) == (replay.source.ticks.start, replay.source.ticks.stop - 1)
    pause(page, replay)
    with ReplayReader(replay_file) as reader:
        for n in (first + 17, first + 5, last):
            page.eval_on_selector(
                "#scrub", "(el, n) => { el.value = n; el.dispatchEvent(new Event('change')); }", n
            )
            page.wait_for_function("n => window.viewer.tick === n && window.viewer.drawnTick === n", arg=n)
            shown = {a["id"]: (a["r"], a["c"]) for a in page.evaluate("window.viewer.agents")}
            state = reader.state_at(n)
            alive = np.flatnonzero(state.agents.alive)
            expected = {
                int(state.agents.agent_id[i]): (int(state.agents.r[i]), int(state.agents.c[i])) for i in alive
            }
            assert shown == expected, f"tick {n}"
            assert page.input_value("#scrub") == str(n)
            assert page.text_content("#tick") == str(n)
    save_artifact(page, "replay.png")


def test_pan_and_zoom_move_the_camera(page, live):
    open_viewer(page, live)
    cam = page.evaluate("window.viewer.camera")
    box = page.locator("#world").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -300)
    page.wait_for_function("s => window.viewer.camera.scale > s", arg=cam["scale"])
    zoomed = page.evaluate("window.viewer.camera")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 40, steps=5)
    page.mouse.up()
    page.wait_for_function("x => window.viewer.camera.x < x", arg=zoomed["x"])
    moved = page.evaluate("window.viewer.camera")
    assert abs((zoomed["x"] - moved["x"]) * moved["scale"] - 60) < 1.5
    assert abs((zoomed["y"] - moved["y"]) * moved["scale"] - 40) < 1.5
    assert page.evaluate("window.viewer.selected") is None  # a drag is not a click


def _colours_js(name: str) -> str:
    text = (Path(neural_mmo.viewer.__file__).parent / "web" / "colours.js").read_text()
    return re.search(rf"export const {name} = (.*?);\n", text, re.S).group(1)


def test_the_fog_shades_its_bands_and_leaves_the_safe_square(page):
    config = Config.preset("small").override(
        {"fog.enabled": True, "fog.start_tick": 0, "fog.speed": 1.0, "fog.min_safe": 8}
    )
    server = ViewerServer(LiveSource(config, seed=1), port=0, fps=20).start_in_thread()
    try:
        open_viewer(page, server)
        page.wait_for_function("() => window.viewer.tick > 4")
        tick = pause(page, server)
        state = server.source.state
        lo, hi = safe_bounds(tick, state.rules)
        assert lo > config.map.border  # the fog has started
        material_rgb = np.array(json.loads(_colours_js("MATERIAL_RGB").replace(",\n]", "]")))
        fog = re.search(r"fog: \"rgba\((\d+), (\d+), (\d+), ([\d.]+)\)\"", _colours_js("AREA_CSS"))
        fog_rgb, alpha = np.array([int(fog.group(i)) for i in (1, 2, 3)]), float(fog.group(4))
        image = pixels(canvas_png(page))
        box = page.locator("#world").bounding_box()
        first, last = config.map.border, config.map.border + config.map.size - 1
        hits = {"fog": [], "safe": []}
        for r in range(first, last + 1, 3):
            for c in range(first, last + 1, 3):
                if state.occupant[r - 1 : r + 2, c - 1 : c + 2].max() >= 0:
                    continue  # an entity on or next to the tile covers part of it
                p = page.evaluate("([r, c]) => window.viewer.screenOf(r, c)", [r, c])
                x, y = int(p["x"] - box["x"]), int(p["y"] - box["y"])
                if not (0 <= y < image.shape[0] and 0 <= x < image.shape[1]):
                    continue
                base = material_rgb[state.material[r, c]]
                fogged = not (lo <= r <= hi and lo <= c <= hi)
                expected = (1 - alpha) * base + alpha * fog_rgb if fogged else base
                hits["fog" if fogged else "safe"].append(np.abs(image[y, x] - expected).max() <= 8)
        assert len(hits["fog"]) > 10 and len(hits["safe"]) > 3, {k: len(v) for k, v in hits.items()}
        assert np.mean(hits["fog"]) > 0.8, "fogged tiles are not shaded in the fog's colour"
        assert np.mean(hits["safe"]) > 0.8, "the safe square is shaded"
        save_artifact(page, "fog.png")
    finally:
        server.stop()
        server.source.close()
