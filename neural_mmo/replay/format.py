"""The replay file format, version 1: header and record framing, codecs, and the state layout.

Every byte is described in ``docs/replay.md``; this module is the one place that knows them.
Integers are little-endian. A file is::

    header                      magic, version, codec, keyframe interval, seed, world, episode,
                                config (TOML), state layout (text), map (compressed), CRC-32
    record*                     one per recorded tick: keyframe (full state) or delta
    end record                  written by close(): the number of tick records

A record is a 28-byte frame (kind, tick, stored and raw payload lengths, payload CRC-32, frame
CRC-32) followed by its payload, compressed on its own with the file's codec.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from neural_mmo.config import Config, ConfigError, MapConfig, load_toml
from neural_mmo.world.events import EventColumn
from neural_mmo.world.state import Role, WorldState

MAGIC = b"NMMO-RPL"
"""The first 8 bytes of every replay file."""

FORMAT_VERSION = 1
"""The framing version this code writes and reads (see the version policy in ``docs/replay.md``)."""

HEADER = struct.Struct("<8sHBBIQIIIII")
"""magic, version, codec, reserved, keyframe interval, seed, world index, episode, config length,
layout length, map length (44 bytes); the variable parts and a CRC-32 follow."""

FRAME = struct.Struct("<BxxxqIIII")
"""kind, 3 zero bytes, tick, stored length, raw length, payload CRC-32, frame CRC-32 (28 bytes)."""

END_PAYLOAD = struct.Struct("<Q")
"""The end record's payload: how many tick records precede it."""

COUNT = struct.Struct("<I")

MAX_TEXT = 1 << 20
"""Upper bound on the config and layout texts of a header (a corrupt length is caught before any
large read)."""


def _largest_grid_side() -> int:
    limits = {f.name: f.metadata for f in fields(MapConfig)}
    return int(limits["size"]["max"]) + 2 * int(limits["border"]["max"])


def stored_bound(raw_length: int) -> int:
    """The most bytes either codec needs to store ``raw_length`` bytes (incompressible data costs
    zstandard under 1/256 more, LZMA2 3 bytes per 64 KiB chunk): a stored length above this is
    corrupt or hostile, and refused before it is read."""
    return raw_length + raw_length // 64 + 4096


MAX_MAP_STORED = stored_bound(_largest_grid_side() ** 2)
"""Upper bound on the header's compressed map: the largest grid any valid config allows, stored
incompressibly. Checked before the header is read, so a header claiming gigabytes is refused at
once (the tighter bound of the header's own config is checked once it is parsed)."""

READ_CHUNK = 1 << 20
"""Checksums of record payloads are computed over chunks of this many bytes while scanning."""

DEFAULT_KEYFRAME_EVERY = 64
"""Ticks between keyframes: random access decodes at most this many records."""


class ReplayError(ValueError):
    """A replay file is not a replay, is corrupt or truncated, or was written by an incompatible
    version. The message names the file and what is wrong."""


class RecordKind(IntEnum):
    KEYFRAME = 1  # the full state of the tick
    DELTA = 2  # changes against the previous record
    END = 3  # written by close(); payload: the number of tick records


# ---------------------------------------------------------------------- codecs


class Codec(IntEnum):
    """How record payloads and the header's map are compressed (byte 10 of the header)."""

    ZSTD = 1  # zstandard frames, level ZSTD_LEVEL
    LZMA = 2  # raw LZMA2 streams (no .xz container), dictionary at most LZMA_MAX_DICT


ZSTD_LEVEL = 3
LZMA_PRESET = 3
LZMA_MAX_DICT = 1 << 20
"""Format version 1 fixes raw LZMA2 with a dictionary of at most 1 MiB: a reader decodes every
payload with a 1 MiB dictionary. The writer sizes it to the payload (a small dictionary starts
much faster)."""


def _lzma_filters(raw_length: int) -> list[dict[str, int]]:
    dict_size = min(LZMA_MAX_DICT, max(4096, 1 << max(0, raw_length - 1).bit_length()))
    return [{"id": lzma.FILTER_LZMA2, "preset": LZMA_PRESET, "dict_size": dict_size}]


_LZMA_DECODE = [{"id": lzma.FILTER_LZMA2, "dict_size": LZMA_MAX_DICT}]


def zstd_available() -> bool:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


def pick_codec(compression: str) -> Codec:
    """``"auto"`` (zstandard if importable, else lzma), ``"zstd"`` or ``"lzma"``."""
    if compression == "auto":
        return Codec.ZSTD if zstd_available() else Codec.LZMA
    if compression == "zstd":
        if not zstd_available():
            raise ImportError(
                "compression='zstd' needs the zstandard package: pip install 'neural-mmo[viewer]'"
            )
        return Codec.ZSTD
    if compression == "lzma":
        return Codec.LZMA
    raise ValueError(f"compression must be 'auto', 'zstd' or 'lzma', got {compression!r}")


class Compressor:
    """Compresses payloads with one codec (keeps its zstandard context between records)."""

    def __init__(self, codec: Codec):
        self.codec = codec
        if codec == Codec.ZSTD:
            import zstandard

            self._zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)

    def compress(self, raw: bytes) -> bytes:
        if self.codec == Codec.ZSTD:
            return self._zstd.compress(raw)
        return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_lzma_filters(len(raw)))


class Decompressor:
    """Decompresses payloads of one codec, never producing more than the announced raw length."""

    def __init__(self, codec: Codec, where: str):
        self.codec = codec
        if codec == Codec.ZSTD:
            try:
                import zstandard
            except ImportError:
                raise ReplayError(
                    f"{where}: compressed with zstandard, which is not installed; "
                    "pip install zstandard (or 'neural-mmo[viewer]')"
                ) from None
            self._zstd = zstandard.ZstdDecompressor()
            self._zstd_error: type[Exception] = zstandard.ZstdError

    def decompress(self, stored: bytes, raw_length: int, where: str) -> bytes:
        try:
            if self.codec == Codec.ZSTD:
                import zstandard

                if zstandard.frame_content_size(stored) != raw_length:  # never allocate what a frame claims
                    raise ReplayError(f"{where}: compressed frame size does not match its record frame")
                raw = self._zstd.decompress(stored, max_output_size=raw_length)
            else:
                d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA_DECODE)
                raw = d.decompress(stored, max_length=raw_length)
                if not d.eof or d.unused_data:
                    raise ReplayError(f"{where}: compressed payload does not end where its frame says")
        except (lzma.LZMAError, MemoryError) as err:
            raise ReplayError(f"{where}: cannot decompress ({err})") from None
        except Exception as err:
            if self.codec == Codec.ZSTD and isinstance(err, self._zstd_error):
                raise ReplayError(f"{where}: cannot decompress ({err})") from None
            raise
        if len(raw) != raw_length:
            raise ReplayError(
                f"{where}: payload is {len(raw)} bytes after decompression, frame says {raw_length}"
            )
        return raw


def crc32(data: bytes | memoryview) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# ---------------------------------------------------------------------- config text


def config_from_toml_text(text: str) -> Config:
    """The Config written by ``Config.to_toml()``: every ``[group]`` field over the defaults."""
    data = load_toml(text, "the header's config")
    flat: dict[str, Any] = {}
    for group, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"top-level key {group!r} is not a [table] of a config group")
        for name, value in table.items():
            flat[f"{group}.{name}"] = value
    return Config().override(flat)


# ---------------------------------------------------------------------- byte shuffling


def shuffle(values: np.ndarray) -> bytes:
    """The bytes of a 1-d array grouped by significance (all lowest bytes, then the next, ...), little
    endian: high bytes of small numbers form long zero runs that compress to nothing."""
    k = values.dtype.itemsize
    le = values.astype(values.dtype.newbyteorder("<"), copy=False)
    if k == 1:
        return le.tobytes()
    return np.ascontiguousarray(le).view(np.uint8).reshape(-1, k).T.tobytes()


def unshuffle(buf: bytes | memoryview, dtype: DTypeLike, n: int) -> np.ndarray:
    """Inverse of :func:`shuffle`: ``n`` values of ``dtype`` (native byte order)."""
    dtype = np.dtype(dtype)
    k = dtype.itemsize
    raw = np.frombuffer(buf, np.uint8, count=n * k)
    planes = raw if k == 1 else raw.reshape(k, n).T
    return np.ascontiguousarray(planes).view(dtype.newbyteorder("<")).reshape(n).astype(dtype, copy=False)


# ---------------------------------------------------------------------- state layout

GROUP_SIZES = (1, 2, 4, 8)
"""Arrays are packed into one image per item size, viewed as unsigned ints of that size."""

UNSIGNED: dict[int, np.dtype[Any]] = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.uint16),
    4: np.dtype(np.uint32),
    8: np.dtype(np.uint64),
}


def state_arrays(state: WorldState) -> list[tuple[str, np.ndarray]]:
    """Every array of a WorldState a replay stores as-is, by name: the world's STATE parts (as
    declared in :class:`~neural_mmo.world.state.WorldState`, so a new table is stored without a
    line here) but ``occupant`` (stored as its difference from what the tables predict), and the
    event counts (the event rows are stored raw each tick). CONST and WORK parts are not stored."""
    arrays = [(name, array) for name, array in state.arrays(Role.STATE) if name != "occupant"]
    arrays.append(("events.counts", state.events.counts))
    return arrays


@dataclass(frozen=True)
class Entry:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    group: int  # item size: which image
    offset: int  # first element in the image
    size: int  # elements


class StateLayout:
    """Where each stored array of a world lives in the four per-item-size images, and the text
    that names them (in the header, so a reader detects a world whose tables changed)."""

    def __init__(self, config: Config):
        self.config = config
        state = WorldState.allocate(config)
        offsets = dict.fromkeys(GROUP_SIZES, 0)
        self.entries: list[Entry] = []
        for name, array in state_arrays(state):
            g = array.dtype.itemsize
            self.entries.append(Entry(name, array.dtype, array.shape, g, offsets[g], array.size))
            offsets[g] += array.size
        self.group_sizes = offsets
        self.side = config.grid_side
        self.event_capacity = state.events.table.shape[0]
        self.text = (
            "\n".join(
                f"{e.name} {e.dtype.newbyteorder('<').str} {'x'.join(map(str, e.shape))}"
                for e in self.entries
            )
            + f"\noccupant residual int32 {self.side}x{self.side}\nevents rows int64 {len(EventColumn)}"
        )
        cells = self.side * self.side
        per_group = sum(COUNT.size + n * (4 + g) for g, n in self.group_sizes.items())
        self.max_raw = (
            per_group + COUNT.size + cells * 8 + COUNT.size + self.event_capacity * len(EventColumn) * 8
        )
        """No payload of this layout decompresses to more bytes than this."""

    def new_images(self) -> dict[int, np.ndarray]:
        return {g: np.zeros(n, UNSIGNED[g]) for g, n in self.group_sizes.items()}

    def unpack(self, images: dict[int, np.ndarray], state: WorldState) -> None:
        """Write ``images`` into the stored arrays of ``state`` (in place)."""
        for entry, (_, array) in zip(self.entries, state_arrays(state)):
            flat = array.reshape(-1).view(UNSIGNED[entry.group])
            flat[:] = images[entry.group][entry.offset : entry.offset + entry.size]
