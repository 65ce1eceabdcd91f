"""Replays as videos: each recorded tick drawn by :func:`neural_mmo.render.render_rgb`, written as
an animated GIF (Pillow) or, when ``imageio`` with its ffmpeg plugin is installed, an MP4."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from neural_mmo.render import NPC_COLOURS, PALETTE, POPULATION_COLOURS, render_rgb
from neural_mmo.replay.reader import ReplayReader

SUFFIXES = (".gif", ".mp4")


class VideoError(ValueError):
    """A video cannot be written as asked (unknown format, missing encoder, bad tick range)."""


def parse_ticks(text: str | None, ticks: range) -> range:
    """``"A:B"`` -> ticks A up to (not including) B, inside ``ticks``; either end may be left out."""
    if text is None:
        return ticks
    start_text, sep, stop_text = text.partition(":")
    if not sep:
        raise VideoError(f"--ticks {text!r}: expected A:B (e.g. 0:100, 50:, :200)")
    try:
        start = int(start_text) if start_text.strip() else ticks.start
        stop = int(stop_text) if stop_text.strip() else ticks.stop
    except ValueError:
        raise VideoError(f"--ticks {text!r}: A and B must be integers") from None
    if not ticks.start <= start < stop <= ticks.stop:
        raise VideoError(
            f"--ticks {text!r}: the replay holds ticks {ticks.start}..{ticks.stop - 1}; "
            f"give {ticks.start} <= A < B <= {ticks.stop}"
        )
    return range(start, stop)


def frames(reader: ReplayReader, ticks: range, scale: int) -> Iterator[np.ndarray]:
    """``uint8 [H, W, 3]`` pictures of the recorded ticks in ``ticks``."""
    for state in reader.states(ticks.start, ticks.stop):
        yield render_rgb(state, scale)


def write_video(
    replay: str | os.PathLike[str] | ReplayReader,
    out: str | os.PathLike[str],
    *,
    scale: int = 4,
    fps: int = 10,
    ticks: str | None = None,
) -> int:
    """Render ``replay`` to ``out`` (``.gif`` or ``.mp4``), one frame per tick at ``fps``;
    ``ticks`` is ``"A:B"`` to keep part of it. Returns the number of ticks drawn.

    A GIF holds its frames in memory while Pillow encodes them (one byte per pixel each); an
    MP4 is streamed to ffmpeg."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise VideoError(f"scale must be a positive int, got {scale!r}")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise VideoError(f"fps must be a positive int, got {fps!r}")
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise VideoError(f"{out}: unknown video format {suffix or '(none)'!r}; write .gif (or .mp4)")
    write = _write_gif if suffix == ".gif" else _mp4_writer()
    reader = replay if isinstance(replay, ReplayReader) else ReplayReader(replay)
    chosen = parse_ticks(ticks, reader.ticks)
    out.parent.mkdir(parents=True, exist_ok=True)
    write(frames(reader, chosen, scale), out, fps)
    return len(chosen)


# ---------------------------------------------------------------------- GIF


def _palette() -> np.ndarray:
    """Every colour :func:`render_rgb` draws (materials, populations, NPCs, outlines), ``[k, 3]``."""
    colours = [*PALETTE.values(), *map(tuple, POPULATION_COLOURS.tolist()), *NPC_COLOURS.values()]
    colours += [(0, 0, 0), (255, 255, 255)]
    return np.unique(np.array(colours, np.uint8), axis=0)


def _codes(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _indexed(frame: np.ndarray, codes: np.ndarray, palette_image: list[int]):  # type: ignore[no-untyped-def]
    """A Pillow ``P`` image of ``frame``: exact on the renderer's palette; any other colour
    (a renderer that grew one) makes Pillow quantize that frame instead."""
    from PIL import Image

    flat = _codes(frame)
    index = np.searchsorted(codes, flat).clip(0, len(codes) - 1)
    if not (codes[index] == flat).all():
        return Image.fromarray(frame).quantize(colors=256, dither=Image.Dither.NONE)
    image = Image.fromarray(index.astype(np.uint8))  # "L", made "P" by its palette
    image.putpalette(palette_image)
    return image


def _write_gif(pictures: Iterator[np.ndarray], out: Path, fps: int) -> None:
    palette = _palette()
    codes = _codes(palette)
    order = np.argsort(codes)
    palette, codes = palette[order], codes[order]
    flat_palette = palette.reshape(-1).tolist()
    images = [_indexed(frame, codes, flat_palette) for frame in pictures]
    first, rest = images[0], images[1:]
    first.save(out, save_all=True, append_images=rest, duration=round(1000 / fps), loop=0, optimize=False)


# ---------------------------------------------------------------------- MP4


def _mp4_writer():  # type: ignore[no-untyped-def]
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise VideoError(
            "writing .mp4 needs imageio with its ffmpeg plugin (pip install imageio imageio-ffmpeg); "
            "or write a .gif, which needs nothing extra"
        ) from None

    def write(pictures: Iterator[np.ndarray], out: Path, fps: int) -> None:
        with imageio.get_writer(out, format="FFMPEG", mode="I", fps=fps, codec="libx264",  # type: ignore[call-overload]
                                pixelformat="yuv420p", macro_block_size=1) as writer:  # fmt: skip
            for frame in pictures:
                h, w = frame.shape[:2]
                writer.append_data(np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge"))  # type: ignore[attr-defined]

    return write
