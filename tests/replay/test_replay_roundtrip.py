"""Replays hold the whole world: every tick read back hashes and logs exactly as it was simulated."""

from __future__ import annotations

import numpy as np
import pytest
from _replay_runs import record_run

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayError, ReplayReader, ReplayWriter, config_from_toml_text
from neural_mmo.replay.format import shuffle, unshuffle, zstd_available
from neural_mmo.replay.records import _put
from neural_mmo.world.events import EventKind
from neural_mmo.world.state import WorldState

TICKS = 200
ZSTD = zstd_available()  # in the dev extra; without it the lzma files are still checked
WRITERS = {
    "zstd": {"compression": "zstd" if ZSTD else "lzma"},
    "lzma": {"compression": "lzma"},
    "every7": {"compression": "zstd" if ZSTD else "lzma", "keyframe_every": 7},
    "every1": {"compression": "lzma", "keyframe_every": 1},
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    cfg = Config.preset("small")
    return record_run(cfg, TICKS, WRITERS, tmp_path_factory.mktemp("roundtrip"), seed=3)


def test_the_recorded_run_has_npcs_and_combat(recorded):
    run, _ = recorded
    kinds = np.concatenate([e[:, 0] for e in run.events])
    for kind in (EventKind.ATTACK, EventKind.KILL, EventKind.NPC_SPAWN, EventKind.DEATH, EventKind.EAT):
        assert (kinds == kind).sum() > 0, kind.name
    assert len(set(run.hashes)) == TICKS + 1


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_tick_reads_back_with_the_simulations_hash_and_events(recorded, name):
    run, paths = recorded
    reader = ReplayReader(paths[name])
    assert (reader.first_tick, reader.last_tick, reader.n_ticks) == (0, TICKS, TICKS + 1)
    assert len(reader) == TICKS + 1
    assert reader.complete
    seen = 0
    for tick, state in enumerate(reader):
        assert state.tick == tick
        assert state.state_hash() == run.hashes[tick], f"tick {tick}"
        np.testing.assert_array_equal(state.events.table[: state.events.n], run.events[tick])
        np.testing.assert_array_equal(state.events.counts, run.event_counts[tick])
        seen += 1
    assert seen == TICKS + 1


@pytest.mark.parametrize("name", ["zstd", "lzma", "every7"])
def test_random_access_gives_the_same_tick(recorded, name):
    run, paths = recorded
    reader = ReplayReader(paths[name])
    rng = np.random.default_rng(0)
    ticks = [0, 1, 63, 64, 65, TICKS, *rng.integers(0, TICKS + 1, 12).tolist()]
    for tick in ticks:
        state = reader.state_at(tick)
        assert state.state_hash() == run.hashes[tick], f"tick {tick}"
        assert state.events.rows() == _rows(run, tick)


def _rows(run, tick: int) -> list[dict]:
    state = WorldState.allocate(run.config)
    n = len(run.events[tick])
    state.events.table[:n] = run.events[tick]
    state.events.counts[:] = run.event_counts[tick]
    return state.events.rows()


def test_a_range_of_ticks_decodes_from_its_keyframe(recorded):
    run, paths = recorded
    reader = ReplayReader(paths["every7"])
    states = list(reader.states(40, 53))
    assert [s.tick for s in states] == list(range(40, 53))
    assert [s.state_hash() for s in states] == run.hashes[40:53]
    assert len({id(s.material) for s in states}) == len(states), "each state owns its arrays"
    assert list(reader.states(10, 10)) == []


def test_the_header_holds_config_seed_and_map(recorded):
    run, paths = recorded
    for name, opts in WRITERS.items():
        reader = ReplayReader(paths[name])
        assert reader.config == run.config
        assert (reader.seed, reader.world_index, reader.episode) == (3, 0, 0)
        assert reader.compression == opts["compression"]
        assert reader.keyframe_every == opts.get("keyframe_every", 64)
        np.testing.assert_array_equal(reader.map, reader.state_at(0).material)


@pytest.mark.skipif(not ZSTD, reason="zstandard is not installed")
def test_compression_codecs_change_the_bytes_not_the_worlds(recorded):
    _, paths = recorded
    assert paths["zstd"].read_bytes() != paths["lzma"].read_bytes()
    a, b = ReplayReader(paths["zstd"]), ReplayReader(paths["lzma"])
    assert a.state_at(137).state_hash() == b.state_at(137).state_hash()


def test_ticks_outside_the_replay_are_index_errors(recorded):
    _, paths = recorded
    reader = ReplayReader(paths["zstd"])
    for tick in (-1, TICKS + 1):
        with pytest.raises(IndexError, match=f"ticks 0..{TICKS}"):
            reader.state_at(tick)
    with pytest.raises(TypeError):
        reader.state_at(1.5)  # type: ignore[arg-type]


def test_a_state_the_tables_do_not_explain_still_round_trips(tmp_path):
    """``occupant`` is stored as its difference from what the tables predict: a hand-edited grid
    (an occupant nobody's table places there) must come back as it was. (Entity numbers outside the
    tables are refused on read: ``test_replay_hostile``.)"""
    vec = VecEnv(1, "small", seed=1)
    vec.reset()
    world = vec.worlds[0]
    free = np.argwhere(world.occupant == -1)[:3]
    world.occupant[free[0][0], free[0][1]] = 7
    world.occupant[free[1][0], free[1][1]] = vec.config.spawn.n_agents + vec.config.npc.n_npcs - 1  # an NPC
    live = np.flatnonzero(world.agents.alive)[0]
    world.occupant[world.agents.r[live], world.agents.c[live]] = -1
    with ReplayWriter(tmp_path / "odd.replay", vec.config, 1) as writer:
        writer.record(world)
    state = ReplayReader(tmp_path / "odd.replay").state_at(0)
    np.testing.assert_array_equal(state.occupant, world.occupant)
    assert state.state_hash() == world.state_hash()


def test_the_file_is_readable_while_it_is_written(tmp_path):
    """Records are flushed as they are made: an unclosed file reads up to the last tick."""
    vec = VecEnv(1, "small", seed=2)
    vec.reset()
    writer = ReplayWriter(tmp_path / "live.replay", vec.config, 2, keyframe_every=4)
    hashes = []
    for _ in range(6):
        writer.record(vec.worlds[0])
        hashes.append(vec.worlds[0].state_hash())
        vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    reader = ReplayReader(tmp_path / "live.replay")
    assert (reader.n_ticks, reader.complete) == (6, False)
    assert reader.state_at(5).state_hash() == hashes[5]
    writer.close()
    assert ReplayReader(tmp_path / "live.replay").complete


def test_the_writer_refuses_gaps_other_configs_and_use_after_close(tmp_path):
    vec = VecEnv(1, "small", seed=0)
    vec.reset()
    world = vec.worlds[0]
    writer = ReplayWriter(tmp_path / "w.replay", vec.config, 0)
    writer.record(world)
    with pytest.raises(ValueError, match="tick 0 after tick 0"):
        writer.record(world)
    other = VecEnv(1, "small", seed=0, horizon=99)
    other.reset()
    with pytest.raises(ValueError, match="config differs"):
        writer.record(other.worlds[0])
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.record(world)
    for bad in ({"seed": -1}, {"seed": 2**64}, {"episode": 1.5}, {"keyframe_every": 0}):
        with pytest.raises(ValueError):
            ReplayWriter(tmp_path / "x.replay", vec.config, **{"seed": 0, **bad})
    with pytest.raises(ValueError, match="compression"):
        ReplayWriter(tmp_path / "x.replay", vec.config, 0, compression="gzip")
    with pytest.raises(TypeError):
        ReplayWriter(tmp_path / "x.replay", {"map": 1}, 0)  # type: ignore[arg-type]


def test_a_writer_that_records_nothing_leaves_a_file_the_reader_rejects(tmp_path):
    with ReplayWriter(tmp_path / "none.replay", Config.preset("small"), 0):
        pass
    with pytest.raises(ReplayError, match="empty file"):
        ReplayReader(tmp_path / "none.replay")


@pytest.mark.parametrize("preset", ["small", "medium", "large"])
def test_config_text_round_trips(preset):
    cfg = Config.preset(preset).override({"combat.melee_range": 2, "spawn.mode": "concurrent"})
    assert config_from_toml_text(cfg.to_toml()) == cfg


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.uint32, np.int64, np.uint64])
def test_byte_shuffling_round_trips_and_the_kernel_agrees(dtype):
    values = np.array([0, 1, -1, 300, 2**31 - 1, 7], np.int64).astype(dtype)
    data = shuffle(values)
    assert len(data) == values.nbytes
    np.testing.assert_array_equal(unshuffle(data, values.dtype, len(values)), values)
    if values.itemsize > 1:  # byte plane 0 holds every value's lowest byte
        assert data[: len(values)] == bytes((values.astype(np.uint64) & np.uint64(0xFF)).astype(np.uint8))
    unsigned = values.view(f"u{values.itemsize}")
    out = np.zeros(values.nbytes + 3, np.uint8)
    assert _put(unsigned, len(values), out, 3) == values.nbytes + 3
    assert bytes(out[3:]) == data
