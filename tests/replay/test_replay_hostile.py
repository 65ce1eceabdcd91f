"""Files written to hurt: lengths claiming gigabytes, compression bombs, FIFOs and devices, and
records whose checksums are valid around values no world holds. Each is a ReplayError naming the
problem, in bounded memory and time, never a hang or an IndexError inside a consumer."""

from __future__ import annotations

import json
import lzma
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import numpy as np
import pytest
from _replay_runs import header_end, reheader, rewrite_record

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayError, ReplayReader, ReplayWriter
from neural_mmo.replay.format import FRAME, HEADER, LZMA_MAX_DICT, MAX_MAP_STORED, crc32
from neural_mmo.world.events import EventColumn, EventKind
from neural_mmo.world.state import Clock, WorldState

CONFIG = Config.preset("small").override({"map.size": 16, "spawn.n_agents": 8, "npc.n_npcs": 4})
GIB = 1 << 30
MB = 1 << 20


def _world(ticks: int = 3) -> WorldState:
    vec = VecEnv(1, config=CONFIG, seed=5, autoreset=False)
    vec.reset()
    for _ in range(ticks):
        vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    world = vec.worlds[0]
    assert world.agents.alive.any() and world.npcs.alive.any()
    return world


def _record(path, world: WorldState, **options) -> bytes:
    with ReplayWriter(path, CONFIG, 5, compression="lzma", **options) as writer:
        writer.record(world)
    return path.read_bytes()


@pytest.fixture(scope="module")
def replay(tmp_path_factory) -> bytes:
    """A valid one-tick lzma replay (a keyframe and the end record)."""
    return _record(tmp_path_factory.mktemp("hostile") / "ok.replay", _world())


def _run_isolated(paths: list, read: str = "open") -> dict:
    """Open (``read="open"``) or decode the first tick of (``"decode"``) each replay in a fresh
    process; per path: the ReplayError message (None if it read), the growth of the process's
    peak memory in bytes, and the seconds it took."""
    script = textwrap.dedent(
        """
        import json, resource, sys, time
        from neural_mmo.replay import ReplayError, ReplayReader
        def peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out = {}
        for path in sys.argv[2:]:
            before, start = peak(), time.perf_counter()
            try:
                reader = ReplayReader(path)
                if sys.argv[1] == "decode":
                    reader.state_at(reader.first_tick)
                error = None
            except ReplayError as err:
                error = str(err)
            out[path] = {"error": error, "grew": peak() - before, "seconds": time.perf_counter() - start}
        print(json.dumps(out))
        """
    )
    done = subprocess.run([sys.executable, "-c", script, read, *map(str, paths)], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _sparse(path, head: bytes, size: int) -> None:
    """``head``, then a hole up to ``size`` bytes: a file that claims much and holds little."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)


# ---------------------------------------------------------------------- lengths and bombs


def test_lengths_claiming_a_gibibyte_are_refused_in_bounded_memory_and_time(replay, tmp_path):
    fixed = list(HEADER.unpack(replay[: HEADER.size]))
    n_config, n_layout = fixed[-3], fixed[-2]
    texts = replay[HEADER.size : HEADER.size + n_config + n_layout]
    header_map = tmp_path / "map.replay"  # the header's map length says 1 GiB, the file is sparse
    fixed[-1] = GIB
    _sparse(header_map, HEADER.pack(*fixed) + texts, HEADER.size + len(texts) + GIB + 4096)
    assert header_map.stat().st_size > GIB
    # a record frame (valid frame checksum) whose payload claims 1 GiB, in a sparse file
    record = tmp_path / "record.replay"
    start = header_end(replay)
    kind, tick, _, raw, payload_crc, _ = FRAME.unpack(replay[start : start + FRAME.size])
    head = FRAME.pack(kind, tick, GIB, raw, payload_crc, 0)[:-4]
    _sparse(record, replay[:start] + head + crc32(head).to_bytes(4, "little"), start + GIB + 4096)
    results = _run_isolated([header_map, record])
    first, second = results[str(header_map)], results[str(record)]
    assert "exceed what the format allows" in first["error"] and f"map {GIB} bytes" in first["error"]
    assert "larger than any state of this config" in second["error"] and str(GIB) in second["error"]
    for result in (first, second):
        assert result["grew"] < 100 * MB, result
        assert result["seconds"] < 5.0, result  # the bound is "quickly": the old reader took 7.8 s


def test_the_map_bound_covers_the_largest_config():
    largest = Config().override({"map.size": 4096, "map.border": 64})
    assert MAX_MAP_STORED >= largest.grid_side**2
    assert MAX_MAP_STORED < 2 * largest.grid_side**2


def test_a_map_longer_than_its_config_can_store_is_refused(replay, tmp_path):
    fixed = list(HEADER.unpack(replay[: HEADER.size]))
    n_config, n_layout, n_map = fixed[-3:]
    start = HEADER.size + n_config + n_layout
    fixed[-1] = n_map + 40_000  # within the format's bound, beyond what a 32x32 grid needs
    head = HEADER.pack(*fixed) + replay[HEADER.size : start] + replay[start : start + n_map] + bytes(40_000)
    data = head + crc32(head).to_bytes(4, "little") + replay[header_end(replay) :]
    path = tmp_path / "long-map.replay"
    path.write_bytes(data)
    with pytest.raises(ReplayError, match="larger than any 32x32 map"):
        ReplayReader(path)


def _lzma_bomb(n_bytes: int) -> bytes:
    """A raw LZMA2 stream of ``n_bytes`` zero bytes (made in 1 MiB pieces, never held whole) that
    the reader's decoder accepts: 64 MiB of zeros take under 10 KB."""
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": LZMA_MAX_DICT}]
    compressor = lzma.LZMACompressor(format=lzma.FORMAT_RAW, filters=filters)
    piece = bytes(MB)
    parts = [compressor.compress(piece) for _ in range(n_bytes // MB)]
    return b"".join(parts) + compressor.flush()


def test_a_compressed_payload_bomb_is_refused_in_bounded_memory(replay, tmp_path):
    bomb = _lzma_bomb(64 * MB)
    assert len(bomb) < 12_000  # small enough to pass for a compressed state...
    path = tmp_path / "bomb.replay"
    path.write_bytes(rewrite_record(replay, 0, bomb))  # ...its frame's raw length is the real one
    result = _run_isolated([path], read="decode")[str(path)]
    assert "does not end where its frame says" in result["error"], result
    assert result["grew"] < 32 * MB, result


def test_a_payload_larger_than_its_state_can_be_is_refused_when_the_file_opens(replay, tmp_path):
    path = tmp_path / "long.replay"
    path.write_bytes(rewrite_record(replay, 0, bytes(200_000)))
    with pytest.raises(ReplayError, match="larger than any state of this config"):
        ReplayReader(path)


def test_a_zstd_frame_that_does_not_announce_its_size_is_refused(replay, tmp_path):
    zstandard = pytest.importorskip("zstandard")
    with ReplayWriter(tmp_path / "z.replay", CONFIG, 5, compression="zstd") as writer:
        writer.record(_world())
    data = (tmp_path / "z.replay").read_bytes()
    streamed = zstandard.ZstdCompressor().compressobj()
    bomb = streamed.compress(bytes(64 * MB)) + streamed.flush()  # no content size in the frame
    path = tmp_path / "zbomb.replay"
    path.write_bytes(rewrite_record(data, 0, bomb))
    reader = ReplayReader(path)
    with pytest.raises(ReplayError, match="record 0"):
        reader.state_at(reader.first_tick)


# ---------------------------------------------------------------------- not files


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.replay"
    os.mkfifo(fifo)
    script = "from neural_mmo.replay import ReplayReader; ReplayReader(__import__('sys').argv[1])"
    done = subprocess.run([sys.executable, "-c", script, str(fifo)], capture_output=True, text=True,
                          timeout=30, env=os.environ.copy())  # fmt: skip
    assert done.returncode == 1
    assert "ReplayError" in done.stderr and "not a regular file" in done.stderr and "FIFO" in done.stderr


def test_a_device_or_a_folder_is_refused(tmp_path):
    with pytest.raises(ReplayError, match="character device"):
        ReplayReader("/dev/zero")
    with pytest.raises(ReplayError, match="directory"):
        ReplayReader(tmp_path)


# ---------------------------------------------------------------------- hostile values


def _living(table) -> int:
    return int(np.flatnonzero(table.alive)[0])


def _event(world: WorldState, kind: EventKind, /, **columns: int) -> None:
    """Make the tick's event log one row of ``kind`` from a living agent, with ``columns`` set."""
    i = _living(world.agents)
    row = np.array([kind, i, world.agents.agent_id[i], world.agents.r[i], world.agents.c[i], 0, -1, -1, 0])
    for name, value in columns.items():
        row[EventColumn[name.upper()]] = value
    world.events.table[0] = row
    world.events.counts[0] = 1


def _set(table_name: str, column: str, value: int, row: int | None = None) -> Callable[[WorldState], None]:
    def edit(world: WorldState) -> None:
        table = getattr(world, table_name)
        getattr(table, column)[_living(table) if row is None else row] = value

    return edit


HOSTILE: dict[str, tuple[Callable[[WorldState], None], str]] = {
    "npc behaviour 99": (_set("npcs", "behaviour", 99), "npcs.behaviour"),
    "population out of range": (_set("agents", "population", 300), "agents.population"),
    "agent off the grid": (_set("agents", "r", 5000), "agents.r"),
    "negative column": (_set("agents", "c", -3), "agents.c"),
    "npc home off the grid": (_set("npcs", "home_c", 999), "npcs.home_c"),
    "killer past the tables": (_set("agents", "killer", 10**6, row=0), "agents.killer"),
    "npc target past the agents": (_set("npcs", "target", 100), "npcs.target"),
    "style 7": (_set("agents", "style", 7), "agents.style"),
    "level 0": (_set("agents", "level", 0), "agents.level"),
    "negative food": (_set("agents", "food", -5), "agents.food"),
    "health above max": (_set("agents", "health", 30_000), "health"),
    "agent id not yet given": (_set("agents", "agent_id", 10**9), "agents.agent_id"),
    "not a material": (lambda w: w.material.__setitem__((0, 0), 200), "material"),
    "occupant past the tables": (lambda w: w.occupant.__setitem__((0, 0), 10**6), "occupant"),
    "regrowth link off the map": (lambda w: w.regrowth.next_tile.__setitem__(3, 10**6), "regrowth.next_tile"),
    "negative next id": (lambda w: w.clock.__setitem__(Clock.NEXT_NPC_ID, -7), "clock"),
    "negative dropped events": (lambda w: w.events.counts.__setitem__(1, -1), "events.counts"),
    "event kind 42": (lambda w: _event(w, EventKind.MOVE, kind=42), "events.kind"),
    "attack on entity -1": (lambda w: _event(w, EventKind.ATTACK, other=-1, detail=1), "events.other"),
    "attack on a million": (lambda w: _event(w, EventKind.ATTACK, other=10**6, detail=1), "events.other"),
    "level-up of skill 40": (lambda w: _event(w, EventKind.LEVEL_UP, value=2, detail=40), "events.detail"),
    "event off the grid": (lambda w: _event(w, EventKind.EAT, r=-1), "events.r"),
    "npc spawned with behaviour 9": (lambda w: _event(w, EventKind.NPC_SPAWN, value=9), "events.value"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_value_with_valid_checksums_is_a_replay_error(tmp_path, case):
    edit, fragment = HOSTILE[case]
    world = _world()
    edit(world)
    _record(tmp_path / "hostile.replay", world)
    reader = ReplayReader(tmp_path / "hostile.replay")  # every checksum is valid: it opens
    with pytest.raises(ReplayError) as err:
        reader.state_at(reader.first_tick)
    message = str(err.value)
    assert "hostile.replay" in message and "record 0" in message and fragment in message, message
    with pytest.raises(ReplayError):
        list(reader.states())


def test_the_untouched_world_passes_the_same_checks(tmp_path):
    world = _world()
    _record(tmp_path / "fine.replay", world)
    assert ReplayReader(tmp_path / "fine.replay").state_at(world.tick).state_hash() == world.state_hash()


def test_a_negative_tick_is_refused(tmp_path):
    world = _world()
    world.clock[Clock.TICK] = -4
    _record(tmp_path / "negative.replay", world)
    with pytest.raises(ReplayError, match="negative tick -4"):
        ReplayReader(tmp_path / "negative.replay")


def test_a_config_nested_ten_thousand_deep_is_a_replay_error(replay, tmp_path):
    deep = b"[map]\nsize = " + b"[" * 10_000 + b"]" * 10_000 + b"\n"
    path = tmp_path / "deep.replay"
    path.write_bytes(reheader(replay, config=deep))
    with pytest.raises(ReplayError, match="nested 10000 levels deep"):
        ReplayReader(path)


def test_consumers_get_a_replay_error_not_an_index_error(tmp_path, capsys):
    world = _world()
    world.npcs.behaviour[_living(world.npcs)] = 99
    path = tmp_path / "hostile.replay"
    _record(path, world)
    from neural_mmo.cli import main

    assert main(["video", str(path), str(tmp_path / "out.gif")]) == 2
    assert "npcs.behaviour" in capsys.readouterr().err
    assert not (tmp_path / "out.gif").exists()
    pytest.importorskip("websockets")
    from neural_mmo.viewer.server import ReplaySource

    with pytest.raises(ReplayError, match="npcs.behaviour"):
        ReplaySource(path)
