"""Record payloads: what a keyframe and a delta hold, encoded and decoded.

Uncompressed payload of a record, in order (``docs/replay.md`` has the byte-level table):

* the four images (item sizes 1, 2, 4, 8) of the stored arrays: a keyframe holds each image whole;
  a delta holds, per image, the count of changed elements, the gaps between their positions
  (uint32) and their arithmetic differences (new - old, wrapping, in the image's unsigned type);
* the occupant residual: the count, position gaps and values of the tiles where ``occupant``
  differs from what the tables predict (normally none);
* the event rows of the tick: the count and the ``int64 [rows, 9]`` table column by column.

Every array is written byte-shuffled (:func:`~neural_mmo.replay.format.shuffle`).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import DTypeLike

from neural_mmo.replay.checks import check_state
from neural_mmo.replay.format import (
    COUNT,
    GROUP_SIZES,
    UNSIGNED,
    RecordKind,
    ReplayError,
    StateLayout,
    state_arrays,
    unshuffle,
)
from neural_mmo.world.events import EventColumn
from neural_mmo.world.state import WorldState

N_EVENT_COLUMNS = len(EventColumn)


@numba.njit(cache=True)
def _put(values: np.ndarray, m: int, out: np.ndarray, pos: int) -> int:
    """Write ``values[:m]`` (unsigned ints) into ``out`` at ``pos`` byte-shuffled, little endian
    (as :func:`~neural_mmo.replay.format.shuffle`); return the position after them."""
    for b in range(values.itemsize):
        shift = 8 * b
        for i in range(m):
            out[pos] = (values[i] >> shift) & 0xFF
            pos += 1
    return pos


@numba.njit(cache=True)
def _put_count(n: int, out: np.ndarray, pos: int) -> int:
    for b in range(4):
        out[pos + b] = (n >> (8 * b)) & 0xFF
    return pos + 4


@numba.njit(cache=True)
def _group_delta(
    views: tuple, prev: np.ndarray, gaps: np.ndarray, diffs: np.ndarray, out: np.ndarray, pos: int
) -> int:
    """Delta of one image: compare the arrays ``views`` (the image, piecewise) with ``prev``, write
    the count, the gaps between changed positions and the differences there; update ``prev``."""
    m = 0
    base = 0
    last = 0
    for v in views:
        for i in range(v.shape[0]):
            k = base + i
            if v[i] != prev[k]:
                gaps[m] = k - last
                diffs[m] = v[i] - prev[k]
                prev[k] = v[i]
                last = k
                m += 1
        base += v.shape[0]
    pos = _put_count(m, out, pos)
    pos = _put(gaps, m, out, pos)
    return _put(diffs, m, out, pos)


@numba.njit(cache=True)
def _group_full(views: tuple, prev: np.ndarray, out: np.ndarray, pos: int) -> int:
    """Keyframe of one image: copy the arrays ``views`` into ``prev`` and write it whole."""
    base = 0
    for v in views:
        prev[base : base + v.shape[0]] = v
        base += v.shape[0]
    return _put(prev, prev.shape[0], out, pos)


@numba.njit(cache=True)
def predict_occupant(agents_alive, agents_r, agents_c, npcs_alive, npcs_r, npcs_c, side, out):  # type: ignore[no-untyped-def]
    """Fill flat ``out`` (``int32 [G*G]``) with the occupant grid the tables imply: each living
    agent's slot, then each living NPC's ``n_agents + j``, on its tile; -1 elsewhere."""
    out[:] = -1
    n = agents_alive.shape[0]
    for i in range(n):
        r, c = agents_r[i], agents_c[i]
        if agents_alive[i] and 0 <= r < side and 0 <= c < side:
            out[r * side + c] = i
    for j in range(npcs_alive.shape[0]):
        r, c = npcs_r[j], npcs_c[j]
        if npcs_alive[j] and 0 <= r < side and 0 <= c < side:
            out[r * side + c] = n + j


@numba.njit(cache=True)
def _tail(
    occupant: np.ndarray, predicted: np.ndarray, gaps: np.ndarray, values: np.ndarray,
    events: np.ndarray, n_events: int, out: np.ndarray, pos: int,
) -> int:  # fmt: skip
    """The occupant residual (tiles where ``occupant`` differs from ``predicted``), then the
    event rows column by column. ``values`` and ``events`` are unsigned views."""
    m = 0
    last = 0
    for k in range(occupant.shape[0]):
        if occupant[k] != predicted[k]:
            gaps[m] = k - last
            values[m] = occupant[k]
            last = k
            m += 1
    pos = _put_count(m, out, pos)
    pos = _put(gaps, m, out, pos)
    pos = _put(values, m, out, pos)
    pos = _put_count(n_events, out, pos)
    for b in range(8):
        shift = 8 * b
        for col in range(events.shape[1]):
            for row in range(n_events):
                out[pos] = (events[row, col] >> shift) & 0xFF
                pos += 1
    return pos


def predicted_occupant(state: WorldState, out: np.ndarray) -> np.ndarray:
    """:func:`predict_occupant` for a WorldState, into flat ``out``."""
    a, b = state.agents, state.npcs
    predict_occupant(a.alive, a.r, a.c, b.alive, b.r, b.c, state.material.shape[1], out)
    return out


class Encoder:
    """Turns successive states of one world into record payloads (keeps the previous images)."""

    def __init__(self, layout: StateLayout):
        self.layout = layout
        self._prev = layout.new_images()
        self._gaps = {g: np.empty(n, np.uint32) for g, n in layout.group_sizes.items()}
        self._diffs = layout.new_images()
        cells = layout.side * layout.side
        self._predicted = np.empty(cells, np.int32)
        self._cell_gaps = np.empty(cells, np.uint32)
        self._cell_values = np.empty(cells, np.uint32)
        self._out = np.empty(layout.max_raw, np.uint8)
        self._key: tuple = ()
        self._views: dict[int, tuple[np.ndarray, ...]] = {}

    def encode(self, state: WorldState, kind: RecordKind) -> bytes:
        """The uncompressed payload of ``state`` as a keyframe, or as a delta against the state
        encoded last."""
        prev, out = self._prev, self._out
        views = self._group_views(state)
        pos = 0
        for g in GROUP_SIZES:
            if not views[g]:
                pos = pos if kind == RecordKind.KEYFRAME else _put_count(0, out, pos)
            elif kind == RecordKind.KEYFRAME:
                pos = _group_full(views[g], prev[g], out, pos)
            else:
                pos = _group_delta(views[g], prev[g], self._gaps[g], self._diffs[g], out, pos)
        predicted_occupant(state, self._predicted)
        events = state.events.table.view(np.uint64)
        pos = _tail(state.occupant.reshape(-1).view(np.uint32), self._predicted.view(np.uint32),
                    self._cell_gaps, self._cell_values, events, state.events.n, out, pos)  # fmt: skip
        return out[:pos].tobytes()

    def _group_views(self, state: WorldState) -> dict[int, tuple[np.ndarray, ...]]:
        """Flat unsigned views of the stored arrays, by item size; rebuilt only when the state's
        world record is another object than last time (it holds every array of the world)."""
        key = (state.world,)
        if len(key) != len(self._key) or any(a is not b for a, b in zip(key, self._key)):
            parts: dict[int, list[np.ndarray]] = {g: [] for g in GROUP_SIZES}
            for _, array in state_arrays(state):
                g = array.dtype.itemsize
                parts[g].append(array.reshape(-1).view(UNSIGNED[g]))
            self._views = {g: tuple(v) for g, v in parts.items()}
            self._key = key
        return self._views


class _Cursor:
    """Reads a payload front to back; running past its end is a ReplayError."""

    def __init__(self, raw: bytes, where: str):
        self.view = memoryview(raw)
        self.pos = 0
        self.where = where

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.view):
            raise ReplayError(f"{self.where}: payload ends early ({len(self.view)} bytes)")
        part = self.view[self.pos : self.pos + n]
        self.pos += n
        return part

    def count(self, limit: int, what: str) -> int:
        (n,) = COUNT.unpack(self.take(COUNT.size))
        if n > limit:
            raise ReplayError(f"{self.where}: {n} {what}, at most {limit} possible")
        return n

    def array(self, dtype: DTypeLike, n: int) -> np.ndarray:
        return unshuffle(self.take(n * np.dtype(dtype).itemsize), dtype, n)

    def positions(self, n: int, size: int, what: str) -> np.ndarray:
        gaps = self.array(np.uint32, n).astype(np.int64)
        if n and ((gaps[1:] < 1).any() or int(gaps.sum()) >= size):
            raise ReplayError(f"{self.where}: {what} positions out of order or out of range")
        return np.cumsum(gaps)

    def done(self) -> None:
        if self.pos != len(self.view):
            raise ReplayError(f"{self.where}: {len(self.view) - self.pos} unexpected bytes after the payload")


class Decoder:
    """Rebuilds the state of successive records: a keyframe sets it, a delta updates it."""

    def __init__(self, layout: StateLayout):
        self.layout = layout
        self.images = layout.new_images()
        self.occupant_residual = (np.zeros(0, np.int64), np.zeros(0, np.int32))
        self.events = np.zeros((0, N_EVENT_COLUMNS), np.int64)
        self.tick: int | None = None

    def apply(self, kind: RecordKind, raw: bytes, tick: int, where: str) -> None:
        """Decode one record's payload onto the current state; a delta needs the previous tick's."""
        if kind == RecordKind.DELTA and self.tick != tick - 1:
            raise ReplayError(f"{where}: a delta for tick {tick} needs tick {tick - 1} decoded first")
        cells = self.layout.side * self.layout.side
        cur = _Cursor(raw, where)
        images = self.images
        for g in GROUP_SIZES:
            size = self.layout.group_sizes[g]
            if kind == RecordKind.KEYFRAME:
                images[g][:] = cur.array(UNSIGNED[g], size)
            else:
                m = cur.count(size, f"changed {g}-byte values")
                positions = cur.positions(m, size, f"changed {g}-byte value")
                images[g][positions] += cur.array(UNSIGNED[g], m)
        m = cur.count(cells, "occupant residual tiles")
        residual = (cur.positions(m, cells, "occupant residual"), cur.array(np.int32, m))
        n = cur.count(self.layout.event_capacity, "event rows")
        events = cur.array(np.int64, n * N_EVENT_COLUMNS).reshape(N_EVENT_COLUMNS, n).T
        cur.done()
        self.occupant_residual = residual
        self.events = events
        self.tick = tick

    def state(self, where: str) -> WorldState:
        """A new WorldState holding the current decoded tick (its own arrays)."""
        layout = self.layout
        state = WorldState.allocate(layout.config)
        layout.unpack(self.images, state)
        occupant = state.occupant.reshape(-1)
        predicted_occupant(state, occupant)
        positions, values = self.occupant_residual
        occupant[positions] = values
        n = len(self.events)
        if int(state.events.counts[0]) != n:
            raise ReplayError(f"{where}: event count {state.events.counts[0]} but {n} event rows")
        state.events.table[:n] = self.events
        if state.tick != self.tick:
            raise ReplayError(f"{where}: the state's clock says tick {state.tick}, the record {self.tick}")
        check_state(state, where)
        return state
