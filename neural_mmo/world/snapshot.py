"""World saves: one versioned, checksummed file holding a whole running world (or an env's worlds).

A save is a header, a JSON manifest and the raw bytes of named arrays (``docs/saves.md``)::

    header    68 bytes: magic b"NMMOSAVE", format version (u32), reserved (u32), manifest length (u64),
              data length (u64), SHA-256 of manifest + data (32 bytes), CRC-32 of the 64 bytes before it
    manifest  UTF-8 JSON: kind, config (TOML text), meta (plain values), arrays (name, dtype, shape,
              offset, nbytes)
    data      every array's bytes, C order, in manifest order

What a world saves is derived from :class:`~neural_mmo.world.state.WorldState`'s declarations: every
array of its STATE and TICK parts (tables and records expanded column by column), so a table or
column added there is saved without touching this module. Reading checks the header, bounds every
length by the file's real size, verifies the checksum while streaming (before allocating any array),
then checks every array's dtype and shape against a world freshly allocated for the file's config,
and the index columns kernels address arrays with against their ranges. Callers copy into a live
world only once all of that passed, so a bad file never leaves a half-loaded world.

Writes are atomic: a temporary file in the target's folder, fsync, then ``os.replace``; a crash
mid-write leaves the last good save in place. No pickle anywhere: a save can never run code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import struct
import tempfile
import tomllib
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from neural_mmo.config import Config, ConfigError
from neural_mmo.world.items import N_EQUIP_SLOTS, N_ITEM_TYPES, Holdings, ItemTable, Place, check_items
from neural_mmo.world.materials import materials_in_play
from neural_mmo.world.state import Role, WorldState

MAGIC = b"NMMOSAVE"
FORMAT_VERSION = 1
"""Bumped whenever the layout of the file or the meaning of a saved array changes."""

_HEAD = struct.Struct("<8sIIQQ32s")
_CRC = struct.Struct("<I")
HEADER_SIZE = _HEAD.size + _CRC.size  # 68
MAX_MANIFEST = 64 * 2**20
"""Largest manifest accepted (bytes): far above any real one, small enough to read at once."""
MAX_DIMS = 8
_CHUNK = 2**20

_DTYPES = {
    np.dtype(t).str: np.dtype(t)
    for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)
    + (np.uint64, np.float16, np.float32, np.float64)
}
"""The dtypes a save may hold (plain numbers; never objects)."""


class SaveError(ValueError):
    """A save cannot be written, or a file is not a save this code can load (corrupt, truncated,
    another version, another config, not a regular file). Nothing was changed when it is raised."""


class SaveFile(NamedTuple):
    """A verified save: its kind (``world``, ``vec``, ``parallel``), config, plain metadata and
    arrays by name (fresh arrays, owned by the caller)."""

    kind: str
    config: Config
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


# ---------------------------------------------------------------------- writing


def write_save(
    path: str | os.PathLike[str],
    kind: str,
    config: Config,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Write ``arrays`` (and JSON-able ``meta``) to ``path`` atomically: the old file, if any, stays
    until the new one is complete and flushed to disk."""
    entries, offset = [], 0
    for name, array in arrays.items():
        if array.dtype.str not in _DTYPES:
            raise SaveError(f"{name}: dtype {array.dtype} cannot be saved (plain numbers only)")
        entries.append({"name": name, "dtype": array.dtype.str, "shape": list(array.shape),
                        "offset": offset, "nbytes": int(array.nbytes)})  # fmt: skip
        offset += int(array.nbytes)
    try:
        manifest = json.dumps(
            {"kind": kind, "config": config.to_toml(), "meta": dict(meta or {}), "arrays": entries},
            allow_nan=False,
        ).encode()
    except (TypeError, ValueError) as err:
        raise SaveError(f"meta of a {kind} save is not plain JSON data: {err}") from err
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise SaveError(f"{path}: cannot write a save there: {err}") from err
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(HEADER_SIZE))
            digest = hashlib.sha256(manifest)
            _write_chunks(f, _body(manifest, arrays.values(), digest))
            head = _HEAD.pack(MAGIC, FORMAT_VERSION, 0, len(manifest), offset, digest.digest())
            f.seek(0)
            f.write(head + _CRC.pack(zlib.crc32(head)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise SaveError(f"{path}: cannot write the save: {err}") from err
        raise
    _sync_folder(folder)


def _body(manifest: bytes, arrays: Iterable[np.ndarray], digest: Any) -> Iterable[memoryview | bytes]:
    """The manifest, then every array's bytes (hashed on the way)."""
    yield manifest
    for array in arrays:
        data = _raw_bytes(np.ascontiguousarray(array))
        digest.update(data)
        yield data


def _raw_bytes(array: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array, as a flat view (empty arrays included)."""
    return array.reshape(-1).view(np.uint8).data


def _write_chunks(f: Any, chunks: Iterable[memoryview | bytes]) -> None:
    """Write each chunk (a separate function so tests can make a write fail half-way)."""
    for chunk in chunks:
        f.write(chunk)


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of the renamed file (best effort: not every system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- reading


def read_save(path: str | os.PathLike[str], kinds: tuple[str, ...] | None = None) -> SaveFile:
    """Read and verify a save; ``kinds``: the kinds the caller accepts. Raises :class:`SaveError`."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block here
    except OSError as err:
        raise SaveError(f"{path}: cannot open the save: {err}") from err
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SaveError(f"{path}: not a regular file (a save is a file written by save())")
    with os.fdopen(fd, "rb") as f:
        try:
            return _read(f, str(path), info.st_size, kinds)
        except OSError as err:
            raise SaveError(f"{path}: cannot read the save: {err}") from err


def _read(f: Any, path: str, size: int, kinds: tuple[str, ...] | None) -> SaveFile:
    raw = f.read(HEADER_SIZE)
    if len(raw) < HEADER_SIZE or raw[:8] != MAGIC:
        raise SaveError(f"{path}: not a Neural MMO save (no {MAGIC!r} header)")
    magic, version, _reserved, manifest_len, data_len, digest = _HEAD.unpack(raw[: _HEAD.size])
    if version != FORMAT_VERSION:
        raise SaveError(f"{path}: save format version {version}; this version reads {FORMAT_VERSION}")
    if _CRC.unpack(raw[_HEAD.size :])[0] != zlib.crc32(raw[: _HEAD.size]):
        raise SaveError(f"{path}: corrupt save header (checksum mismatch)")
    if manifest_len > MAX_MANIFEST or HEADER_SIZE + manifest_len + data_len != size:
        raise SaveError(
            f"{path}: the header claims {manifest_len} + {data_len} bytes but the file holds "
            f"{size - HEADER_SIZE} after its header (truncated or corrupt)"
        )
    h = hashlib.sha256()
    left = manifest_len + data_len
    while left:
        chunk = f.read(min(_CHUNK, left))
        if not chunk:
            raise SaveError(f"{path}: the file ended early (truncated while reading)")
        h.update(chunk)
        left -= len(chunk)
    if h.digest() != digest:
        raise SaveError(f"{path}: corrupt save (SHA-256 of its contents does not match its header)")
    f.seek(HEADER_SIZE)
    kind, config, meta, entries = _manifest(path, f.read(manifest_len), data_len)
    if kinds is not None and kind not in kinds:
        raise SaveError(f"{path}: a {kind!r} save; expected {' or '.join(map(repr, kinds))}")
    arrays = {}
    for name, dtype, shape, nbytes in entries:
        array = np.empty(shape, dtype)
        if f.readinto(_raw_bytes(array)) != nbytes:
            raise SaveError(f"{path}: the file ended early (truncated while reading {name})")
        arrays[name] = array
    return SaveFile(kind, config, meta, arrays)


def _manifest(path: str, text: bytes, data_len: int) -> tuple[str, Config, dict, list]:
    """Parse and check the manifest: every entry's dtype, shape and place within the data."""
    try:
        manifest = json.loads(text.decode())
        kind, toml, meta, listed = manifest["kind"], manifest["config"], manifest["meta"], manifest["arrays"]
        if not (isinstance(kind, str) and isinstance(toml, str) and isinstance(meta, dict)
                and isinstance(listed, list)):  # fmt: skip
            raise TypeError("wrong types")
        entries, offset = [], 0
        for e in listed:
            name, dtype, shape = e["name"], _DTYPES[e["dtype"]], e["shape"]
            if not (isinstance(name, str) and isinstance(shape, list) and len(shape) <= MAX_DIMS
                    and all(type(n) is int and 0 <= n < 2**40 for n in shape)):  # fmt: skip
                raise TypeError(f"bad entry {name!r}")
            nbytes = math.prod(shape) * dtype.itemsize
            if e["offset"] != offset or e["nbytes"] != nbytes or offset + nbytes > data_len:
                raise TypeError(f"entry {name!r} does not fit the data")
            entries.append((name, dtype, tuple(shape), nbytes))
            offset += nbytes
        if offset != data_len or len({e[0] for e in entries}) != len(entries):
            raise TypeError("entries do not cover the data exactly once")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as err:
        raise SaveError(f"{path}: corrupt save manifest ({err})") from None
    return kind, config_from_toml(toml, path), meta, entries


def config_from_toml(text: str, where: str = "save") -> Config:
    """The :class:`Config` written by ``Config.to_toml`` (every field given, so no defaults leak in)."""
    try:
        data = tomllib.loads(text)
        flat = {f"{group}.{name}": value for group, table in data.items() for name, value in table.items()}
        return Config().override(flat)
    except (tomllib.TOMLDecodeError, ConfigError, AttributeError, TypeError, RecursionError) as err:
        raise SaveError(f"{where}: the saved config is not valid: {err}") from None


# ---------------------------------------------------------------------- checking and copying


def config_differences(saved: Config, live: Config) -> list[str]:
    """``key: saved -> live`` for every config field that differs."""
    now = dict(live.items())
    return [f"{k}: {v!r} in the save, {now[k]!r} here" for k, v in saved.items() if now[k] != v]


def check_config(path: Any, saved: Config, live: Config) -> None:
    """Raise a :class:`SaveError` naming the differences when the save is of another config."""
    differences = config_differences(saved, live)
    if differences:
        raise SaveError(
            f"{path}: the save is of another config ({'; '.join(differences[:8])}"
            f"{'; ...' if len(differences) > 8 else ''}); build the env from the file instead "
            "(from_save) or restore into an env of the same config"
        )


def check_arrays(path: Any, saved: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray]) -> None:
    """The saved arrays must be exactly the expected names, each with the expected dtype and shape."""
    missing = [name for name in expected if name not in saved]
    unknown = [name for name in saved if name not in expected]
    if missing or unknown:
        raise SaveError(
            f"{path}: the save does not hold this version's state: "
            f"missing {missing[:6] or 'nothing'}, unknown {unknown[:6] or 'nothing'}"
        )
    for name, live in expected.items():
        array = saved[name]
        if array.dtype != live.dtype or array.shape != live.shape:
            raise SaveError(
                f"{path}: {name} is {array.dtype}{list(array.shape)} in the save, "
                f"{live.dtype}{list(live.shape)} here"
            )


def copy_arrays(saved: Mapping[str, np.ndarray], into: Mapping[str, np.ndarray]) -> None:
    """Copy checked arrays into the live ones (in place: kernels keep their references)."""
    for name, live in into.items():
        live[...] = saved[name]


def world_arrays(state: WorldState, prefix: str = "world.") -> dict[str, np.ndarray]:
    """Every saved array of a world by name (``world.agents.health``): its STATE and TICK parts,
    derived from the declarations of :class:`WorldState` and its tables."""
    return {prefix + name: array for name, array in state.arrays(Role.STATE, Role.TICK)}


def _index_ranges(config: Config) -> dict[str, tuple[int, int]]:
    """``name -> [lo, hi)`` of the columns kernels index arrays with: a file whose checksum is
    valid but whose values are not (written by hand) must not make a kernel read out of bounds."""
    side, n, m = config.grid_side, config.spawn.n_agents, config.npc.n_npcs
    entities = (-1, n + m)
    return {
        "material": (0, materials_in_play(config.profession.enabled)),
        "occupant": entities,
        "agents.r": (0, side), "agents.c": (0, side),
        "agents.population": (0, config.spawn.n_populations),
        "agents.killer": entities,
        "npcs.r": (0, side), "npcs.c": (0, side), "npcs.home_r": (0, side), "npcs.home_c": (0, side),
        "npcs.target": (-1, n), "npcs.killer": entities,
        "regrowth.head": (-1, side * side), "regrowth.next_tile": (-1, side * side),
        "items.type": (0, N_ITEM_TYPES), "items.place": (0, len(Place)), "items.owner": (-1, n),
        "items.slot": (-1, max(config.item.inventory_slots, N_EQUIP_SLOTS)),
        "items.r": (0, side), "items.c": (0, side),
        "holdings.inventory": (-1, config.item.capacity), "holdings.equipment": (-1, config.item.capacity),
        "market.last_price": (0, 2**31 - 1), "market.listed": (0, config.exchange.max_listings + 1),
    }  # fmt: skip


def check_world_values(
    path: Any, saved: Mapping[str, np.ndarray], config: Config, prefix: str = "world."
) -> None:
    """Index columns in range, and the event log within its capacity."""
    for name, (lo, hi) in _index_ranges(config).items():
        array = saved.get(prefix + name)
        if array is not None and array.size and (array.min() < lo or array.max() >= hi):
            raise SaveError(f"{path}: {prefix}{name} holds values outside [{lo}, {hi})")
    if config.item.enabled:
        items = ItemTable(**{c: saved[f"{prefix}items.{c}"] for c in ItemTable._fields})
        holdings = Holdings(*(saved[f"{prefix}holdings.{c}"] for c in Holdings._fields))
        listed = saved.get(f"{prefix}market.listed") if config.exchange.enabled else None
        problems = check_items(items, holdings, config.item.max_stack, listed)
        if problems:
            raise SaveError(f"{path}: {prefix}items and holdings disagree: {problems[0]}")
        alive = saved.get(f"{prefix}agents.alive")
        owners = items.owner[items.alive & (items.place != Place.GROUND)]
        if alive is not None and not alive[owners[owners >= 0]].all():
            # the dead hold nothing (their items went with their loot); a slot's next agent would inherit them
            raise SaveError(f"{path}: {prefix}items are held or listed by agent slots with no living agent")
    counts = saved.get(prefix + "events.counts")
    table = saved.get(prefix + "events.table")
    if counts is not None and table is not None and not 0 <= counts[0] <= table.shape[0]:
        raise SaveError(f"{path}: {prefix}events.counts claims {counts[0]} events for {table.shape[0]} rows")


# ---------------------------------------------------------------------- one world


def save_world(state: WorldState, path: str | os.PathLike[str]) -> None:
    """Save one world (its config and every STATE and TICK array) to ``path``, atomically."""
    write_save(path, "world", state.config, world_arrays(state))


def restore_world(state: WorldState, path: str | os.PathLike[str]) -> None:
    """Overwrite ``state`` (of the same config) with the world saved in ``path``; on any error
    :class:`SaveError` is raised and ``state`` is unchanged."""
    save = read_save(path, ("world",))
    check_config(path, save.config, state.config)
    _commit(state, save, path)


def load_world(path: str | os.PathLike[str]) -> WorldState:
    """A new world, allocated for the saved config, holding the world saved in ``path``."""
    save = read_save(path, ("world",))
    state = WorldState.allocate(save.config)
    _commit(state, save, path)
    return state


def _commit(state: WorldState, save: SaveFile, path: Any) -> None:
    live = world_arrays(state)
    check_arrays(path, save.arrays, live)
    check_world_values(path, save.arrays, state.config)
    copy_arrays(save.arrays, live)
