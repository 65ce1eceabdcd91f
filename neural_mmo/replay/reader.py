"""Reading replays: :class:`ReplayReader` validates the whole file when it opens, then gives any
tick's state by decoding from the nearest keyframe before it."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

from neural_mmo.config import Config, ConfigError
from neural_mmo.files import open_regular
from neural_mmo.replay.format import (
    END_PAYLOAD,
    FORMAT_VERSION,
    FRAME,
    HEADER,
    MAGIC,
    MAX_MAP_STORED,
    MAX_TEXT,
    READ_CHUNK,
    Codec,
    Decompressor,
    RecordKind,
    ReplayError,
    StateLayout,
    config_from_toml_text,
    crc32,
    stored_bound,
)
from neural_mmo.replay.records import Decoder
from neural_mmo.world.state import WorldState

_KINDS = frozenset(int(k) for k in RecordKind)


class ReplayReader:
    """A replay file, checked end to end when opened.

    Opening reads the header (magic, version, config, state layout, map; CRC-32) and every record
    frame and payload checksum, so a reader that exists is a whole one: any damage raises
    :class:`ReplayError` naming the file, the place and the problem. A file whose writer stopped
    without closing it (killed mid-run) is read up to its last complete record, with
    ``complete`` False.

    Attributes:
        config, seed, world_index, episode: from the header.
        map: ``uint8 [G, G]`` material grid of the first recorded tick.
        first_tick, last_tick, n_ticks: the recorded ticks are ``first_tick .. last_tick``.
        complete: the writer closed the file (its end record is present).
        compression: ``"zstd"`` or ``"lzma"``. keyframe_every: ticks between keyframes.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        try:
            with open_regular(self.path) as f:
                self._size = os.fstat(f.fileno()).st_size
                self._read_header(f)
                self._scan(f)
        except OSError as err:
            raise ReplayError(f"{self.path}: cannot read: {err}") from None

    # ------------------------------------------------------------------ API

    @property
    def ticks(self) -> range:
        return range(self.first_tick, self.last_tick + 1)

    def __len__(self) -> int:
        return self.n_ticks

    def state_at(self, tick: int) -> WorldState:
        """The world as it was after ``tick`` (a new WorldState; its events are that tick's)."""
        i = self._index_of(tick)
        start = int(self._keyframe_of[i])
        decoder = Decoder(self._layout)
        with self._open() as f:
            for k in range(start, i + 1):
                self._apply(f, decoder, k)
        return decoder.state(self._where(i))

    def states(self, start: int | None = None, stop: int | None = None) -> Iterator[WorldState]:
        """Each tick's state from ``start`` up to (not including) ``stop``, decoded in one pass
        (default: every recorded tick). Every state is a new object."""
        first = self.first_tick if start is None else start
        end = self.last_tick + 1 if stop is None else stop
        if first >= end:
            return
        i, last = self._index_of(first), self._index_of(end - 1)
        decoder = Decoder(self._layout)
        with self._open() as f:
            for k in range(int(self._keyframe_of[i]), i):
                self._apply(f, decoder, k)
            for k in range(i, last + 1):
                self._apply(f, decoder, k)
                yield decoder.state(self._where(k))

    def __iter__(self) -> Iterator[WorldState]:
        return self.states()

    def close(self) -> None:
        """Nothing to release (files are opened per read); here for symmetry with the writer."""

    def __enter__(self) -> ReplayReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "complete" if self.complete else "truncated"
        return (
            f"ReplayReader({str(self.path)!r}: ticks {self.first_tick}..{self.last_tick}, seed {self.seed}, "
            f"world {self.world_index}, episode {self.episode}, {self.compression}, {state})"
        )

    # ------------------------------------------------------------------ opening

    def _fail(self, what: str) -> ReplayError:
        return ReplayError(f"{self.path}: {what}")

    def _read_header(self, f: BinaryIO) -> None:
        fixed = f.read(HEADER.size)
        if fixed[: len(MAGIC)] != MAGIC:
            if len(fixed) == 0:
                raise self._fail("empty file, not a replay (a writer that recorded nothing leaves one)")
            if len(fixed) < len(MAGIC) and MAGIC.startswith(fixed):
                raise self._fail(f"truncated header ({len(fixed)} bytes)")
            raise self._fail(f"not a neural_mmo replay (the file does not start with {MAGIC!r})")
        if len(fixed) < HEADER.size:
            raise self._fail(f"truncated header ({len(fixed)} of {HEADER.size} fixed bytes)")
        magic, version, codec, reserved, every, seed, world, episode, n_config, n_layout, n_map = (
            HEADER.unpack(fixed)
        )
        if version != FORMAT_VERSION:
            newer = "newer than" if version > FORMAT_VERSION else "older than"
            raise self._fail(
                f"replay format version {version} is {newer} the version this neural_mmo reads "
                f"({FORMAT_VERSION}); read it with the neural_mmo release that wrote it"
            )
        lengths = f"config {n_config}, layout {n_layout}, map {n_map} bytes"
        if n_config > MAX_TEXT or n_layout > MAX_TEXT or n_map > MAX_MAP_STORED:
            raise self._fail(
                f"header lengths ({lengths}) exceed what the format allows (texts of at most {MAX_TEXT} "
                f"bytes, a map of at most {MAX_MAP_STORED} bytes): corrupt header"
            )
        if HEADER.size + n_config + n_layout + n_map + 4 > self._size:
            raise self._fail(
                f"header lengths ({lengths}) do not fit in the file ({self._size} bytes): truncated or "
                "corrupt header"
            )
        rest = f.read(n_config + n_layout + n_map + 4)
        if len(rest) != n_config + n_layout + n_map + 4:
            raise self._fail("the file shrank while its header was read")
        header = fixed + rest[:-4]
        if crc32(header) != int.from_bytes(rest[-4:], "little"):
            raise self._fail("header checksum mismatch: the header is corrupt")
        if codec not in (Codec.ZSTD, Codec.LZMA) or reserved != 0 or every < 1:
            raise self._fail(
                f"invalid header fields (codec {codec}, reserved {reserved}, keyframe interval {every})"
            )
        self.version = version
        self.codec = Codec(codec)
        self.compression = "zstd" if self.codec == Codec.ZSTD else "lzma"
        self.keyframe_every = every
        self.seed, self.world_index, self.episode = seed, world, episode
        try:
            self.config: Config = config_from_toml_text(rest[:n_config].decode())
        except (UnicodeDecodeError, ValueError) as err:  # ConfigError and TOMLDecodeError are ValueErrors
            kind = "config" if isinstance(err, ConfigError) else "cannot parse config"
            raise self._fail(f"the header's {kind} is not valid here: {err}") from None
        self._layout = StateLayout(self.config)
        layout = rest[n_config : n_config + n_layout].decode(errors="replace")
        if layout != self._layout.text:
            ours = self._layout.text.splitlines()
            theirs = layout.splitlines()
            first = next(
                (k for k in range(max(len(ours), len(theirs))) if ours[k : k + 1] != theirs[k : k + 1]), 0
            )
            mine = ours[first] if first < len(ours) else "(nothing)"
            its = theirs[first] if first < len(theirs) else "(nothing)"
            raise self._fail(
                f"written for a different world state layout (array {first}: the file has {its!r}, this "
                f"neural_mmo has {mine!r}); read it with the neural_mmo release that wrote it"
            )
        self._decompressor = Decompressor(self.codec, str(self.path))
        side = self.config.grid_side
        if n_map > stored_bound(side * side):
            raise self._fail(f"a map of {n_map} bytes is larger than any {side}x{side} map can be stored in")
        material = self._decompressor.decompress(
            rest[n_config + n_layout : -4], side * side, f"{self.path}: map"
        )
        self.map = np.frombuffer(material, np.uint8).reshape(side, side).copy()
        self._records_start = HEADER.size + len(rest)

    def _scan(self, f: BinaryIO) -> None:
        """Check every record frame and payload checksum; build the index of ticks and keyframes."""
        offsets: list[int] = []
        kinds: list[int] = []
        ticks: list[int] = []
        pos = self._records_start
        self.complete = False
        while True:
            frame = f.read(FRAME.size)
            if len(frame) < FRAME.size:
                break  # end of file, or a frame cut short: the writer stopped here
            kind, tick, stored, raw, payload_crc, frame_crc = FRAME.unpack(frame)
            where = f"record {len(offsets)} at byte {pos}"
            if crc32(frame[:-4]) != frame_crc or frame[1:4] != b"\0\0\0":
                raise self._fail(f"{where}: frame checksum mismatch: the record is corrupt")
            if kind not in _KINDS:
                raise self._fail(f"{where}: unknown record kind {kind}")
            if kind == RecordKind.END and stored != END_PAYLOAD.size:
                raise self._fail(f"{where}: end record of {stored} bytes, expected {END_PAYLOAD.size}")
            if kind != RecordKind.END and (raw > self._layout.max_raw or stored > stored_bound(raw)):
                raise self._fail(
                    f"{where}: payload of {stored} bytes stored, {raw} raw, is larger than any state of "
                    f"this config ({self._layout.max_raw} bytes raw at most)"
                )
            if pos + FRAME.size + stored > self._size:
                break  # payload cut short: the writer stopped while writing it
            if kind == RecordKind.END:
                payload = f.read(stored)
                if crc32(payload) != payload_crc:
                    raise self._fail(f"{where}: payload checksum mismatch: the record is corrupt")
                self._check_end(payload, tick, ticks, where, pos + FRAME.size + stored)
                self.complete = True
                break
            if _crc_of(f, stored) != payload_crc:
                raise self._fail(f"{where} (tick {tick}): payload checksum mismatch: the record is corrupt")
            if not ticks and tick < 0:
                raise self._fail(f"{where}: negative tick {tick}")
            if not ticks and kind != RecordKind.KEYFRAME:
                raise self._fail(f"{where}: the first record must be a keyframe")
            if ticks and tick != ticks[-1] + 1:
                raise self._fail(f"{where}: tick {tick} follows tick {ticks[-1]}; ticks must be consecutive")
            offsets.append(pos)
            kinds.append(kind)
            ticks.append(tick)
            pos += FRAME.size + stored
        if not ticks:
            raise self._fail("no complete tick record: the writer stopped before its first tick was written")
        self._offsets = np.array(offsets, np.int64)
        keyframe = np.array(kinds) == RecordKind.KEYFRAME
        self._keyframe_of = np.maximum.accumulate(np.where(keyframe, np.arange(len(kinds)), 0))
        self.first_tick = ticks[0]
        self.last_tick = ticks[-1]
        self.n_ticks = len(ticks)

    def _check_end(self, payload: bytes, tick: int, ticks: list[int], where: str, end: int) -> None:
        if len(payload) != END_PAYLOAD.size:
            raise self._fail(f"{where}: end record of {len(payload)} bytes, expected {END_PAYLOAD.size}")
        (count,) = END_PAYLOAD.unpack(payload)
        if count != len(ticks) or (ticks and tick != ticks[-1]):
            raise self._fail(
                f"{where}: end record says {count} ticks ending at {tick}, the file holds {len(ticks)}"
            )
        if end != self._size:
            raise self._fail(f"{self._size - end} unexpected bytes after the end record")

    # ------------------------------------------------------------------ decoding

    def _open(self) -> BinaryIO:
        try:
            f = open_regular(self.path)
        except OSError as err:
            raise self._fail(f"cannot read: {err}") from None
        if os.fstat(f.fileno()).st_size < self._size:
            f.close()
            raise self._fail("the file shrank since it was opened")
        return f

    def _index_of(self, tick: int) -> int:
        if isinstance(tick, bool) or not isinstance(tick, (int, np.integer)):
            raise TypeError(f"tick must be an int, got {type(tick).__name__}")
        if not self.first_tick <= tick <= self.last_tick:
            raise IndexError(f"tick {tick} is not in this replay (ticks {self.first_tick}..{self.last_tick})")
        return int(tick) - self.first_tick

    def _where(self, i: int) -> str:
        return f"{self.path}: record {i} (tick {self.first_tick + i})"

    def _apply(self, f: BinaryIO, decoder: Decoder, i: int) -> None:
        where = self._where(i)
        f.seek(int(self._offsets[i]))
        frame = f.read(FRAME.size)
        if len(frame) < FRAME.size:
            raise ReplayError(f"{where}: the file changed since it was opened")
        kind, tick, stored, raw, payload_crc, _ = FRAME.unpack(frame)
        payload = f.read(stored)
        if len(payload) != stored or crc32(payload) != payload_crc:
            raise ReplayError(f"{where}: the file changed since it was opened")
        decoder.apply(RecordKind(kind), self._decompressor.decompress(payload, raw, where), tick, where)


def _crc_of(f: BinaryIO, n: int) -> int:
    """CRC-32 of the next ``n`` bytes of ``f``, read in chunks (a scan holds no whole payload);
    a short read gives a value no checksum matches."""
    value = 0
    while n > 0:
        chunk = f.read(min(n, READ_CHUNK))
        if not chunk:
            return -1
        value = zlib.crc32(chunk, value)
        n -= len(chunk)
    return value & 0xFFFFFFFF
