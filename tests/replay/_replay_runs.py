"""Runs recorded by the replay tests: the simulation's own hashes and events, tick by tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neural_mmo.agents import FighterPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayWriter
from neural_mmo.replay.format import FRAME, HEADER, crc32


@dataclass
class Run:
    """What the simulation said at each recorded tick (index = tick)."""

    config: Config
    seed: int
    hashes: list[str] = field(default_factory=list)
    events: list[np.ndarray] = field(default_factory=list)
    event_counts: list[np.ndarray] = field(default_factory=list)


def record_run(
    config: Config, ticks: int, writers: dict[str, dict], folder: Path, seed: int = 0
) -> tuple[Run, dict[str, Path]]:
    """Step one world ``ticks`` times with Fighter agents, recording it with one ReplayWriter per
    entry of ``writers`` (name -> writer options); return the run and the files."""
    vec = VecEnv(1, config=config, seed=seed, autoreset=False)
    policy = FighterPolicy(vec.layout, seed=seed)
    obs, _ = vec.reset()
    world = vec.worlds[0]
    paths = {name: folder / f"{name}.replay" for name in writers}
    opened = [ReplayWriter(paths[name], config, seed, **opts) for name, opts in writers.items()]
    run = Run(config, seed)

    def note() -> None:
        run.hashes.append(world.state_hash())
        run.events.append(world.events.table[: world.events.n].copy())
        run.event_counts.append(world.events.counts.copy())
        for w in opened:
            w.record(world)

    note()
    for _ in range(ticks):
        obs, *_ = vec.step(policy.act(obs))
        assert not vec.episode_done[0], "the test run must not end its episode early"
        note()
    for w in opened:
        w.close()
    return run, paths


def frame_ends(data: bytes) -> list[int]:
    """Byte offset just past each record (tick records, then the end record) of a whole file,
    walked with the documented framing: header, then 28-byte frames each followed by its payload."""
    fixed = HEADER.unpack(data[: HEADER.size])
    pos = HEADER.size + fixed[-3] + fixed[-2] + fixed[-1] + 4
    ends = []
    while pos < len(data):
        stored = FRAME.unpack(data[pos : pos + FRAME.size])[2]
        pos += FRAME.size + stored
        ends.append(pos)
    assert pos == len(data)
    return ends


def header_end(data: bytes) -> int:
    fixed = HEADER.unpack(data[: HEADER.size])
    return HEADER.size + fixed[-3] + fixed[-2] + fixed[-1] + 4


def reheader(data: bytes, config: bytes | None = None, layout: bytes | None = None) -> bytes:
    """``data`` with its header's config and/or layout text replaced and the header's checksum
    recomputed (the map and every record are kept)."""
    fixed = HEADER.unpack(data[: HEADER.size])
    n_config, n_layout, n_map = fixed[-3:]
    old_config = data[HEADER.size : HEADER.size + n_config]
    old_layout = data[HEADER.size + n_config : HEADER.size + n_config + n_layout]
    config = old_config if config is None else config
    layout = old_layout if layout is None else layout
    start = HEADER.size + n_config + n_layout
    material = data[start : start + n_map]
    head = HEADER.pack(*fixed[:-3], len(config), len(layout), n_map) + config + layout + material
    return head + crc32(head).to_bytes(4, "little") + data[header_end(data) :]


def rewrite_record(data: bytes, index: int, stored: bytes, raw_length: int | None = None) -> bytes:
    """``data`` with record ``index``'s stored (compressed) payload replaced by ``stored`` and its
    frame rebuilt around it with valid checksums (``raw_length``: the frame's raw length, default
    unchanged); later records move along with it."""
    ends = frame_ends(data)
    start = header_end(data) if index == 0 else ends[index - 1]
    kind, tick, _, raw, _, _ = FRAME.unpack(data[start : start + FRAME.size])
    raw = raw if raw_length is None else raw_length
    head = FRAME.pack(kind, tick, len(stored), raw, crc32(stored), 0)[:-4]
    frame = head + crc32(head).to_bytes(4, "little")
    return data[:start] + frame + stored + data[ends[index] :]
