"""Browser tests of the viewer client: Debian's Chromium driven by Playwright, the server in-process.

Part of ``make test`` (after the Python suite); ``make test-browser`` runs them alone. Nothing is
downloaded: Playwright's own browsers are never installed; ``CHROMIUM`` must exist. Tests wait for
conditions (``wait_for``, ``page.wait_for_function``), never for a time; ``TIMEOUT`` only ends a
test that is broken.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from neural_mmo.agents import record_scripted_run
from neural_mmo.config import Config
from neural_mmo.viewer.server import LiveSource, ReplaySource, ViewerServer

CHROMIUM = os.environ.get("NEURAL_MMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT = 30.0  # seconds; only keeps a broken test from hanging
VIEWPORT = {"width": 1200, "height": 900}


def wait_for(predicate, what: str, timeout: float = TIMEOUT):
    """Poll ``predicate`` until it returns a true value (returned) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail("the playwright package is missing; it comes with the dev extra: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.set_default_timeout(TIMEOUT * 1000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def live():
    server = ViewerServer(LiveSource(Config.preset("small"), seed=1), port=0, fps=20).start_in_thread()
    yield server
    server.stop()
    server.source.close()


@pytest.fixture(scope="session")
def replay_file(tmp_path_factory):
    return record_scripted_run(
        tmp_path_factory.mktemp("viewer") / "run.replay", Config.preset("small"), 2, 40
    )


@pytest.fixture
def replay(replay_file):
    server = ViewerServer(ReplaySource(replay_file), port=0, fps=20).start_in_thread()
    yield server
    server.stop()
    server.source.close()


def open_viewer(page, server):
    """Load the client and wait until it has drawn a frame."""
    page.goto(f"http://127.0.0.1:{server.port}/")
    page.wait_for_function("() => window.viewer && window.viewer.tick !== null && window.viewer.drawn > 0")
    return page


def pause(page, server):
    """Pause through the UI and wait until the page shows the server's final tick, drawn."""
    page.click("#play")
    wait_for(lambda: not server.playing, "the server to pause")
    tick = server.tick
    page.wait_for_function("t => window.viewer.tick === t && window.viewer.drawnTick === t", arg=tick)
    return tick


def canvas_png(page) -> bytes:
    return page.locator("#world").screenshot()


def save_artifact(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path
