"""``neural-mmo video``: one frame per tick, the renderer's exact colours, clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _replay_runs import record_run
from PIL import Image, ImageSequence

from neural_mmo.cli import main
from neural_mmo.config import Config
from neural_mmo.render import render_rgb
from neural_mmo.replay import ReplayReader
from neural_mmo.replay.video import VideoError, parse_ticks, write_video

TICKS = 24


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    cfg = Config.preset("small").override({"map.size": 24, "spawn.n_agents": 16, "npc.n_npcs": 8})
    _, paths = record_run(cfg, TICKS, {"v": {"compression": "lzma"}}, tmp_path_factory.mktemp("video"))
    return paths["v"]


def _expected_frames(replay, ticks: range, scale: int) -> list[np.ndarray]:
    return [render_rgb(s, scale) for s in ReplayReader(replay).states(ticks.start, ticks.stop)]


def test_video_writes_one_gif_frame_per_tick(replay, tmp_path, capsys):
    out = tmp_path / "clip.gif"
    assert main(["video", str(replay), str(out), "--scale", "2", "--fps", "20", "--ticks", "3:15"]) == 0
    assert "12 ticks" in capsys.readouterr().out
    expected = _expected_frames(replay, range(3, 15), 2)
    distinct = 1 + sum(not np.array_equal(a, b) for a, b in zip(expected, expected[1:]))
    assert distinct == 12, "the test needs a frame that changes every tick (GIF merges equal frames)"
    with Image.open(out) as gif:
        assert gif.n_frames == 12
        assert gif.size == (expected[0].shape[1], expected[0].shape[0])
        for k, frame in enumerate(ImageSequence.Iterator(gif)):
            assert frame.info["duration"] == 50
            np.testing.assert_array_equal(np.asarray(frame.convert("RGB")), expected[k], err_msg=f"frame {k}")


def test_video_defaults_to_every_tick(replay, tmp_path):
    out = tmp_path / "all.gif"
    assert write_video(replay, out, scale=1) == TICKS + 1
    with Image.open(out) as gif:
        assert gif.n_frames == TICKS + 1
        assert gif.info["duration"] == 100


def test_tick_ranges():
    ticks = range(0, 25)
    assert parse_ticks(None, ticks) == ticks
    assert parse_ticks("5:", ticks) == range(5, 25)
    assert parse_ticks(":7", ticks) == range(0, 7)
    assert parse_ticks("2:3", ticks) == range(2, 3)
    for bad in ("5", "a:b", "7:7", "9:3", "-1:4", "0:26"):
        with pytest.raises(VideoError, match="--ticks"):
            parse_ticks(bad, ticks)


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--ticks", "30:40"], "ticks 0..24"),
        (["--ticks", "x"], "A:B"),
    ],
)
def test_video_errors_exit_2_with_a_message(replay, tmp_path, capsys, argv, fragment):
    assert main(["video", str(replay), str(tmp_path / "x.gif"), *argv]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "x.gif").exists()


def test_video_refuses_unknown_formats_and_non_replays(replay, tmp_path, capsys):
    assert main(["video", str(replay), str(tmp_path / "x.avi")]) == 2
    assert ".gif" in capsys.readouterr().err
    junk = tmp_path / "junk.replay"
    junk.write_bytes(b"not a replay at all")
    assert main(["video", str(junk), str(tmp_path / "x.gif")]) == 2
    assert "not a neural_mmo replay" in capsys.readouterr().err


def test_mp4_without_imageio_suggests_gif(replay, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    with pytest.raises(VideoError, match=r"imageio.*\.gif"):
        write_video(replay, tmp_path / "x.mp4")


def test_mp4_when_imageio_with_ffmpeg_is_installed(replay, tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / "clip.mp4"
    assert write_video(replay, out, scale=3, fps=12, ticks="0:9") == 9
    with imageio.get_reader(out) as video:
        assert video.count_frames() == 9
        assert video.get_meta_data()["fps"] == 12
