"""The viewer client's frame rate: a big replay played to headless Chromium, frames drawn per second.

Records one world of the ``large`` preset (1024x1024 map, 1024 agents, 1024 NPCs) with
``vitals.immortal=true`` and ``spawn.mode=concurrent`` (all 1024 agents alive from the first
tick on), serves it with :class:`ViewerServer` and opens the client in Debian's Chromium through
Playwright (the flags of ``tests_browser/``; no browser is ever downloaded). Each round loads a
fresh page, waits for the first drawing, then counts ``requestAnimationFrame`` callbacks and
drawings (``window.viewer.drawn``) for ``--seconds``. The client redraws only when something
changed, so by default every animation frame sends a tiny wheel event (a zoom of +-0.15%) that
makes it redraw, as a drag or a zoom does: drawings per second is then the client's frame rate
with the whole map and every agent on screen while frames keep arriving at ``--fps`` ticks per
second. Prints each round and the medians.

    .venv/bin/python benchmarks/bench_viewer.py [--rounds 5] [--seconds 10] [--fps 10]
        [--width 1920 --height 1080] [--zoom 1.0] [--idle] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
from pathlib import Path

from neural_mmo.agents import record_scripted_run
from neural_mmo.config import Config
from neural_mmo.viewer.server import ReplaySource, ViewerServer

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip

# Count animation frames and drawings for `ms` milliseconds; `force`: make every frame redraw.
MEASURE_JS = """
([ms, force]) => new Promise((resolve) => {
  const canvas = document.getElementById("world");
  const box = canvas.getBoundingClientRect();
  const at = { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 };
  const v = window.viewer;
  let frames = 0, sign = 1, t0 = null, drawn0 = 0, ticks0 = 0, worst = 0, last = 0;
  function step(now) {
    if (t0 === null) {
      t0 = last = now;
      drawn0 = v.drawn;
      ticks0 = v.frames;
    } else {
      frames += 1;
      worst = Math.max(worst, now - last);
      last = now;
    }
    if (force) {
      canvas.dispatchEvent(new WheelEvent("wheel", { deltaY: sign, cancelable: true, ...at }));
      sign = -sign;
    }
    if (now - t0 < ms) requestAnimationFrame(step);
    else resolve({ seconds: (now - t0) / 1000, animation_frames: frames, drawn: v.drawn - drawn0,
                   received: v.frames - ticks0, worst_gap_ms: worst, agents: v.agents.length,
                   npcs: v.npcs.length, scale: v.camera.scale });
  }
  requestAnimationFrame(step);
})
"""


def record(folder: Path, ticks: int, seed: int) -> Path:
    config = Config.preset("large").override({"vitals.immortal": True, "spawn.mode": "concurrent"})
    return record_scripted_run(folder / "large.replay", config, seed, ticks)


def one_round(browser, replay: Path, args: argparse.Namespace) -> dict:
    server = ViewerServer(ReplaySource(replay), port=0, fps=args.fps).start_in_thread()
    viewport = {"width": args.width, "height": args.height}
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_function("() => window.viewer?.drawn > 0 && window.viewer.agents.length > 0")
        if args.zoom != 1.0:  # zoom about the centre: wheel deltaY = -ln(zoom) / 0.0015
            box = page.locator("#world").bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -math.log(args.zoom) / 0.0015)
        page.wait_for_timeout(args.warmup * 1000)
        result = page.evaluate(MEASURE_JS, [args.seconds * 1000, not args.idle])
    finally:
        context.close()
        server.stop()
        server.source.close()
    s = result["seconds"]
    result["fps_drawn"] = result["drawn"] / s
    result["fps_animation"] = result["animation_frames"] / s
    result["ticks_per_s"] = result["received"] / s
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds after the first drawing")
    ap.add_argument("--fps", type=float, default=10.0, help="server ticks per second")
    ap.add_argument("--ticks", type=int, default=0, help="ticks to record (default: enough for a round)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--zoom", type=float, default=1.0, help="zoom factor over the fitted view")
    ap.add_argument("--idle", action="store_true", help="no forced redraws: draw only when frames arrive")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--replay", type=Path, help="use this replay instead of recording one")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        replay = args.replay
        if replay is None:
            ticks = args.ticks or int((args.seconds + args.warmup + 5) * args.fps) + 10
            print(f"recording {ticks} ticks of the large preset (immortal agents)...", flush=True)
            replay = record(Path(tmp), ticks, args.seed)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                rounds = []
                for i in range(args.rounds):
                    r = one_round(browser, replay, args)
                    rounds.append(r)
                    print(f"round {i + 1}: " + json.dumps({k: round(v, 2) if isinstance(v, float) else v
                                                         for k, v in r.items()}), flush=True)  # fmt: skip
            finally:
                browser.close()
    keys = ("fps_drawn", "fps_animation", "ticks_per_s", "worst_gap_ms", "agents", "npcs")
    med = {k: statistics.median(r[k] for r in rounds) for k in keys}
    print(f"viewport {args.width}x{args.height}, zoom {args.zoom}, server {args.fps} ticks/s, "
          f"{'idle' if args.idle else 'redraw every frame'}, medians of {args.rounds} rounds:")  # fmt: skip
    print(f"  drawn frames/s {med['fps_drawn']:.1f}   animation frames/s {med['fps_animation']:.1f}   "
          f"ticks received/s {med['ticks_per_s']:.1f}   worst gap {med['worst_gap_ms']:.0f} ms   "
          f"agents {med['agents']:.0f}   npcs {med['npcs']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
