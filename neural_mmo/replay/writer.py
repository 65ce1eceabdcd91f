"""Writing replays: :class:`ReplayWriter` (one episode, one file) and :class:`EpisodeRecorder`
(one world across episodes, a file per episode).

The writer streams: each record goes to the file (and is flushed) as soon as it is made, and
only the previous tick's arrays are kept, so memory stays flat however long the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from neural_mmo.config import Config
from neural_mmo.replay.format import (
    DEFAULT_KEYFRAME_EVERY,
    END_PAYLOAD,
    FORMAT_VERSION,
    FRAME,
    HEADER,
    MAGIC,
    Compressor,
    RecordKind,
    StateLayout,
    config_from_toml_text,
    crc32,
    pick_codec,
)
from neural_mmo.replay.records import Encoder
from neural_mmo.world.state import WorldState


class ReplayWriter:
    """Records one episode of one world to ``path``.

    Call :meth:`record` with the state after reset and after every tick (consecutive ticks),
    then :meth:`close` (or use it as a context manager). The header is written with the first
    record, since it holds that tick's map.

    Arguments:
        path: the file to create (overwritten if it exists).
        config: the world's config (stored in the header as TOML).
        seed, world_index, episode: where the episode comes from (stored in the header; with the
            config they regenerate its map: ``episode_seed(seed, world_index, episode)``).
        keyframe_every: ticks between full-state records (random access decodes at most this
            many records).
        compression: ``"auto"`` (zstandard if importable, else lzma), ``"zstd"`` or ``"lzma"``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: Config,
        seed: int = 0,
        *,
        world_index: int = 0,
        episode: int = 0,
        keyframe_every: int = DEFAULT_KEYFRAME_EVERY,
        compression: str = "auto",
    ):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a neural_mmo.Config, got {type(config).__name__}")
        for name, value, bits in (
            ("seed", seed, 64),
            ("world_index", world_index, 32),
            ("episode", episode, 32),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
                raise ValueError(f"{name} must be an int in [0, 2**{bits}), got {value!r}")
        if isinstance(keyframe_every, bool) or not isinstance(keyframe_every, int) or keyframe_every < 1:
            raise ValueError(f"keyframe_every must be a positive int, got {keyframe_every!r}")
        self.codec = pick_codec(compression)
        self.path = Path(path)
        self.config = config
        self.seed, self.world_index, self.episode = seed, world_index, episode
        self.keyframe_every = keyframe_every
        self.n_ticks = 0
        """Tick records written so far."""
        self.last_tick: int | None = None
        self._toml = config.to_toml()
        if config_from_toml_text(self._toml) != config:
            raise ValueError("this config does not survive a TOML round trip; it cannot be recorded")
        self._layout = StateLayout(config)
        self._encoder = Encoder(self._layout)
        self._compressor = Compressor(self.codec)
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close())
        self._closed = False

    # ------------------------------------------------------------------ API

    def record(self, state: WorldState) -> None:
        """Append the state of one tick: after reset, then after every tick, in order."""
        if self._closed:
            raise ValueError(f"{self.path}: the replay writer is closed")
        if state.config is not self.config and state.config != self.config:
            raise ValueError("the state's config differs from the config this replay was opened with")
        tick = state.tick
        if self.last_tick is None:
            self._write_header(state)
        elif tick != self.last_tick + 1:
            raise ValueError(
                f"{self.path}: tick {tick} after tick {self.last_tick}; a replay holds consecutive ticks "
                "of one episode (a new episode needs a new writer: see EpisodeRecorder)"
            )
        kind = RecordKind.KEYFRAME if self.n_ticks % self.keyframe_every == 0 else RecordKind.DELTA
        raw = self._encoder.encode(state, kind)
        self._write_record(kind, tick, self._compressor.compress(raw), len(raw))
        self.n_ticks += 1
        self.last_tick = tick

    def close(self) -> None:
        """Write the end record and close the file (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.last_tick is not None:
                payload = END_PAYLOAD.pack(self.n_ticks)
                self._write_record(RecordKind.END, self.last_tick, payload, len(payload))
        finally:
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> ReplayWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _write_header(self, state: WorldState) -> None:
        config = self._toml.encode()
        layout = self._layout.text.encode()
        material = self._compressor.compress(state.material.tobytes())
        fixed = HEADER.pack(
            MAGIC, FORMAT_VERSION, int(self.codec), 0, self.keyframe_every, self.seed, self.world_index,
            self.episode, len(config), len(layout), len(material),
        )  # fmt: skip
        header = fixed + config + layout + material
        self._file.write(header + crc32(header).to_bytes(4, "little"))

    def _write_record(self, kind: RecordKind, tick: int, stored: bytes, raw_length: int) -> None:
        head = FRAME.pack(kind, tick, len(stored), raw_length, crc32(stored), 0)[:-4]
        self._file.write(head + crc32(head).to_bytes(4, "little") + stored)
        self._file.flush()


def episode_path(path: str | os.PathLike[str], n: int) -> Path:
    """File of the ``n``-th episode a recorder sees: ``run.replay``, ``run-1.replay``, ``run-2.replay``..."""
    path = Path(path)
    return path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")


class EpisodeRecorder:
    """Records one world across episodes, one file per episode (see :func:`episode_path`).

    :meth:`start` opens the next file with the state just after a reset; :meth:`record` adds a
    tick; :meth:`follow` does whichever fits (a tick-0 state starts an episode), for loops over
    auto-resetting envs. :meth:`finish` closes the current file when its episode ends.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: Config,
        seed: int = 0,
        *,
        world_index: int = 0,
        keyframe_every: int = DEFAULT_KEYFRAME_EVERY,
        compression: str = "auto",
    ):
        self.path = Path(path)
        self.config = config
        self.seed = seed
        self.world_index = world_index
        self._options = {"keyframe_every": keyframe_every, "compression": compression}
        pick_codec(compression)  # fail now, not at the first reset
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.paths: list[Path] = []
        """Every file started so far, in order."""
        self._writer: ReplayWriter | None = None

    def start(self, state: WorldState, seed: int | None = None, episode: int | None = None) -> Path:
        """Close the current file and start the next with ``state`` (just reset)."""
        self.finish()
        if seed is not None:
            self.seed = seed
        path = episode_path(self.path, len(self.paths))
        self._writer = ReplayWriter(
            path, self.config, self.seed, world_index=self.world_index,
            episode=len(self.paths) if episode is None else episode, **self._options,  # type: ignore[arg-type]
        )  # fmt: skip
        self.paths.append(path)
        self._writer.record(state)
        return path

    def record(self, state: WorldState) -> None:
        """Add one tick to the current episode's file (ignored when no episode is open)."""
        if self._writer is not None:
            self._writer.record(state)

    def follow(self, state: WorldState) -> None:
        """:meth:`start` on a tick-0 state, else :meth:`record`."""
        if state.tick == 0:
            self.start(state)
        else:
            self.record(state)

    def finish(self) -> None:
        """Close the current episode's file, if any."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    close = finish

    def __enter__(self) -> EpisodeRecorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish()
