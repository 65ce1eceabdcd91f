"""Damaged, cut, foreign and wrong-version files: a clear ReplayError, or (for a file whose writer
stopped) every complete record and nothing more. Never a hang, never a half-read reader."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest
from _replay_runs import frame_ends, header_end, record_run
from hypothesis import given
from hypothesis import strategies as st

from neural_mmo.config import Config
from neural_mmo.replay import ReplayError, ReplayReader
from neural_mmo.replay.format import FORMAT_VERSION, FRAME, HEADER, MAGIC, crc32

TICKS = 20


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    cfg = Config.preset("small").override({"map.size": 16, "spawn.n_agents": 8, "npc.n_npcs": 4})
    run, paths = record_run(
        cfg, TICKS, {"lzma": {"compression": "lzma", "keyframe_every": 6}}, tmp_path_factory.mktemp("c")
    )
    return run, paths["lzma"].read_bytes()


def _write(tmp_path, data: bytes, name: str = "bad.replay"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _error(tmp_path, data: bytes) -> str:
    with pytest.raises(ReplayError) as info:
        ReplayReader(_write(tmp_path, data))
    message = str(info.value)
    assert "bad.replay" in message
    return message


def _reheader(data: bytes, fixed: tuple, config: bytes, layout: bytes) -> bytes:
    """``data`` with a rebuilt header (valid checksum) around new fields and texts."""
    old = HEADER.unpack(data[: HEADER.size])
    n_map = old[-1]
    start = HEADER.size + old[-3] + old[-2]
    material = data[start : start + n_map]
    head = HEADER.pack(*fixed[:-3], len(config), len(layout), n_map) + config + layout + material
    return head + crc32(head).to_bytes(4, "little") + data[header_end(data) :]


def test_the_intact_file_reads(replay, tmp_path):
    run, data = replay
    reader = ReplayReader(_write(tmp_path, data))
    assert reader.complete and reader.n_ticks == TICKS + 1
    assert reader.state_at(TICKS).state_hash() == run.hashes[TICKS]


def test_a_foreign_file_is_not_a_replay(tmp_path):
    for foreign in (b"\x89PNG\r\n\x1a\n" + bytes(200), b"hello", bytes(5000)):
        assert "not a neural_mmo replay" in _error(tmp_path, foreign)
    assert "empty file" in _error(tmp_path, b"")


def test_wrong_magic(replay, tmp_path):
    _, data = replay
    assert "does not start with" in _error(tmp_path, b"NMMO-RPX" + data[8:])


@pytest.mark.parametrize("version", [0, FORMAT_VERSION + 1, 65535])
def test_wrong_version_names_both_versions(replay, tmp_path, version):
    _, data = replay
    message = _error(tmp_path, data[:8] + struct.pack("<H", version) + data[10:])
    assert f"version {version}" in message and f"({FORMAT_VERSION})" in message
    assert ("newer" if version > FORMAT_VERSION else "older") in message


def test_a_corrupt_header_byte_fails_its_checksum(replay, tmp_path):
    _, data = replay
    for pos in (HEADER.size + 3, header_end(data) - 10, header_end(data) - 1):
        damaged = bytearray(data)
        damaged[pos] ^= 0x20
        assert "header checksum mismatch" in _error(tmp_path, bytes(damaged))


def test_a_corrupt_record_names_the_record(replay, tmp_path):
    _, data = replay
    ends = frame_ends(data)
    damaged = bytearray(data)
    damaged[ends[9] - 2] ^= 0x01  # inside the payload of record 9 (tick 9)
    message = _error(tmp_path, bytes(damaged))
    assert "record 9" in message and "tick 9" in message and "payload checksum" in message
    damaged = bytearray(data)
    damaged[ends[8] + 6] ^= 0x01  # the tick field of record 9's frame
    assert "frame checksum mismatch" in _error(tmp_path, bytes(damaged))


def test_a_header_for_another_world_layout_is_refused(replay, tmp_path):
    _, data = replay
    fixed = HEADER.unpack(data[: HEADER.size])
    config = data[HEADER.size : HEADER.size + fixed[-3]]
    layout = data[HEADER.size + fixed[-3] : HEADER.size + fixed[-3] + fixed[-2]]
    changed = layout.replace(b"agents.food <i2", b"agents.food <i4")
    assert changed != layout
    message = _error(tmp_path, _reheader(data, fixed, config, changed))
    assert "different world state layout" in message and "agents.food <i4" in message


def test_a_header_config_this_version_cannot_build_is_refused(replay, tmp_path):
    _, data = replay
    fixed = HEADER.unpack(data[: HEADER.size])
    config = data[HEADER.size : HEADER.size + fixed[-3]]
    layout = data[HEADER.size + fixed[-3] : HEADER.size + fixed[-3] + fixed[-2]]
    bad = config.replace(b"[combat]\n", b"[combat]\nlaser_range = 3\n")
    assert "laser_range" in _error(tmp_path, _reheader(data, fixed, bad, layout))
    assert "config" in _error(tmp_path, _reheader(data, fixed, b"[map\n", layout))


def test_any_flipped_byte_is_caught_when_the_file_opens(replay, tmp_path):
    """Every byte is under a checksum (or is the magic/version): a sweep over the whole file."""
    _, data = replay
    for pos in range(0, len(data), 23):
        damaged = bytearray(data)
        damaged[pos] ^= 0x10
        with pytest.raises(ReplayError):
            ReplayReader(_write(tmp_path, bytes(damaged)))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("flips")


@given(st.data())
def test_flipped_bytes_anywhere_raise(replay, scratch, data):
    _, original = replay
    pos = data.draw(st.integers(0, len(original) - 1))
    mask = data.draw(st.integers(1, 255))
    damaged = bytearray(original)
    damaged[pos] ^= mask
    with pytest.raises(ReplayError):
        ReplayReader(_write(scratch, bytes(damaged)))


def test_a_cut_file_reads_up_to_its_last_complete_record(replay, tmp_path):
    run, data = replay
    ends = frame_ends(data)
    tick_ends = ends[:-1]  # the last one is the end record
    rng = np.random.default_rng(0)
    cuts = sorted({*tick_ends, *(e - 1 for e in ends), *(e + 5 for e in tick_ends[:-1]),
                   *rng.integers(tick_ends[0], len(data), 40).tolist()})  # fmt: skip
    for cut in cuts:
        if not tick_ends[0] <= cut < len(data):
            continue
        reader = ReplayReader(_write(tmp_path, data[:cut]))
        complete = sum(end <= cut for end in tick_ends)
        assert (reader.n_ticks, reader.complete) == (complete, False), f"cut at {cut}"
        last = reader.last_tick
        assert last == complete - 1
        assert reader.state_at(last).state_hash() == run.hashes[last]


def test_a_file_cut_before_its_first_record_is_refused(replay, tmp_path):
    _, data = replay
    first_end = frame_ends(data)[0]
    for cut in (4, 20, HEADER.size, header_end(data) - 1):
        message = _error(tmp_path, data[:cut])
        assert "truncated" in message or "not fit" in message
    for cut in (header_end(data), header_end(data) + 10, first_end - 1):
        assert "no complete tick record" in _error(tmp_path, data[:cut])


def test_bytes_after_the_end_record_are_refused(replay, tmp_path):
    _, data = replay
    assert "unexpected bytes after the end record" in _error(tmp_path, data + b"\0" * 7)


def test_a_zstd_file_without_zstandard_says_what_to_install(tmp_path, monkeypatch):
    pytest.importorskip("zstandard")
    cfg = Config.preset("small").override({"map.size": 16, "spawn.n_agents": 4, "npc.n_npcs": 2})
    _, paths = record_run(cfg, 3, {"z": {"compression": "zstd"}}, tmp_path)
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ReplayError, match="pip install zstandard"):
        ReplayReader(paths["z"])


def test_a_missing_file_is_a_replay_error(tmp_path):
    with pytest.raises(ReplayError, match="cannot read"):
        ReplayReader(tmp_path / "nowhere.replay")


def test_the_constants_are_what_the_docs_say():
    assert MAGIC == b"NMMO-RPL" and HEADER.size == 44 and FRAME.size == 28 and FORMAT_VERSION == 1
