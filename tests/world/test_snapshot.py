"""World saves (neural_mmo.world.snapshot): what a save holds, and bad files failing cleanly.

Every bad file must raise SaveError and leave the env it was restored into exactly as it was
(state hash, observations and bookkeeping unchanged)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
import tracemalloc
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neural_mmo.agents import FighterPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.world import snapshot
from neural_mmo.world.snapshot import FORMAT_VERSION, HEADER_SIZE, MAGIC, SaveError, read_save, write_save
from neural_mmo.world.state import Role, WorldState


def stepped_env(ticks: int = 40, seed: int = 3) -> VecEnv:
    vec = VecEnv(2, "small", seed=seed)
    obs, _ = vec.reset()
    policy = FighterPolicy(vec.layout, seed=seed)
    for _ in range(ticks):
        obs, *_ = vec.step(policy.act(obs))
    return vec


@cache
def good_save(tmp: str) -> bytes:
    """The bytes of a VecEnv save (made once per session)."""
    path = Path(tmp) / "good.save"
    stepped_env().save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def save_bytes(tmp_path_factory) -> bytes:
    return good_save(str(tmp_path_factory.mktemp("saves")))


@pytest.fixture(scope="module")
def target() -> VecEnv:
    """The env bad files are restored into (it must never change)."""
    return stepped_env(ticks=25, seed=8)


def fingerprint(vec: VecEnv) -> str:
    h = hashlib.sha256()
    for world in vec.worlds:
        h.update(world.state_hash().encode())
        h.update(world.events.table.tobytes())
    for name, array in sorted(vec.snapshot()[1].items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(repr(vec.snapshot()[0]).encode())
    return h.hexdigest()


def assert_refused(vec: VecEnv, path: Path, match: str | None = None) -> None:
    before = fingerprint(vec)
    with pytest.raises(SaveError, match=match):
        vec.restore(path)
    assert fingerprint(vec) == before


def raw_save(manifest: bytes, data: bytes, version: int = FORMAT_VERSION, magic: bytes = MAGIC) -> bytes:
    """A file with a valid header and checksum around any manifest and data."""
    digest = hashlib.sha256(manifest + data).digest()
    head = struct.pack("<8sIIQQ32s", magic, version, 0, len(manifest), len(data), digest)
    return head + struct.pack("<I", zlib.crc32(head)) + manifest + data


def split(blob: bytes) -> tuple[dict, bytes]:
    """(manifest, data) of a save's bytes."""
    manifest_len, data_len = struct.unpack("<QQ", blob[16:32])
    return json.loads(blob[HEADER_SIZE : HEADER_SIZE + manifest_len]), blob[HEADER_SIZE + manifest_len :]


# ---------------------------------------------------------------------- what a world save holds


def test_world_save_holds_every_state_and_tick_array_declared_and_restores_them(tmp_path):
    vec = stepped_env()
    world = vec.worlds[0]
    path = tmp_path / "world.save"
    world.save(path)
    save = read_save(path)
    declared = {f"world.{name}" for name, _ in world.arrays(Role.STATE, Role.TICK)}
    assert save.kind == "world" and set(save.arrays) == declared
    assert not {name for name, _ in world.arrays(Role.WORK, Role.CONST)} & {n[6:] for n in save.arrays}
    assert save.config == world.config
    saved_hash = world.state_hash()
    events = world.events.table[: world.events.counts[0]].copy()
    assert len(events) > 0
    vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    assert world.state_hash() != saved_hash
    world.restore(path)
    assert world.state_hash() == saved_hash
    np.testing.assert_array_equal(world.events.table[: world.events.counts[0]], events)
    loaded = WorldState.from_save(path)
    assert loaded.state_hash() == saved_hash and loaded.config == world.config
    for (name, a), (_, b) in zip(loaded.arrays(Role.STATE, Role.TICK), world.arrays(Role.STATE, Role.TICK)):
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_world_restore_refuses_another_config_and_leaves_the_world_alone(tmp_path):
    path = tmp_path / "world.save"
    stepped_env().worlds[0].save(path)
    other = WorldState.allocate(Config.preset("small").override({"spawn.n_agents": 16}))
    before = other.state_hash()
    with pytest.raises(SaveError, match="spawn.n_agents"):
        other.restore(path)
    assert other.state_hash() == before


def test_restore_of_another_preset_is_refused_but_from_save_builds_the_files_env(tmp_path, target):
    path = tmp_path / "medium.save"
    medium = VecEnv(2, "medium", seed=1, horizon=64)
    medium.reset()
    medium.save(path)
    assert_refused(target, path, "another config")
    rebuilt = VecEnv.from_save(path)
    assert rebuilt.config == medium.config
    assert [w.state_hash() for w in rebuilt.worlds] == [w.state_hash() for w in medium.worlds]


def test_restore_refuses_another_world_count_and_another_kind(tmp_path, target):
    one = VecEnv(1, "small", seed=3)
    one.reset()
    one.save(tmp_path / "one.save")
    assert_refused(target, tmp_path / "one.save", "1 worlds")
    one.worlds[0].save(tmp_path / "world.save")
    assert_refused(target, tmp_path / "world.save", "'world' save")


# ---------------------------------------------------------------------- corrupt files


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_byte_anywhere_is_refused_and_changes_nothing(save_bytes, target, tmp_path, data):
    position = data.draw(st.integers(0, len(save_bytes) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    blob = bytearray(save_bytes)
    blob[position] ^= mask
    path = tmp_path / "flipped.save"
    path.write_bytes(bytes(blob))
    assert_refused(target, path)


def test_a_truncated_save_is_refused_at_every_kind_of_cut(save_bytes, target, tmp_path):
    manifest_len = struct.unpack("<Q", save_bytes[16:24])[0]
    cuts = {0, 1, 7, 8, 12, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 1, HEADER_SIZE + manifest_len - 1,
            HEADER_SIZE + manifest_len, HEADER_SIZE + manifest_len + 1, len(save_bytes) - 1}  # fmt: skip
    cuts |= set(np.random.default_rng(0).integers(0, len(save_bytes), 30).tolist())
    path = tmp_path / "cut.save"
    for cut in sorted(cuts):
        path.write_bytes(save_bytes[:cut])
        assert_refused(target, path)


def test_wrong_magic_version_and_header_checksum_are_refused_with_what_is_wrong(save_bytes, target, tmp_path):
    manifest, data = split(save_bytes)
    text = json.dumps(manifest).encode()
    path = tmp_path / "bad.save"
    path.write_bytes(raw_save(text, data, magic=b"NOTASAVE"))
    assert_refused(target, path, "not a Neural MMO save")
    path.write_bytes(raw_save(text, data, version=FORMAT_VERSION + 1))
    assert_refused(target, path, f"version {FORMAT_VERSION + 1}")
    blob = bytearray(raw_save(text, data))
    blob[HEADER_SIZE - 1] ^= 1
    path.write_bytes(bytes(blob))
    assert_refused(target, path, "header")
    path.write_bytes(raw_save(text, data))  # the control: the same content, well framed, loads
    target_copy = stepped_env(ticks=1)
    target_copy.restore(path)


def test_a_header_claiming_huge_sizes_in_a_small_file_is_refused_at_once(target, tmp_path):
    path = tmp_path / "huge.save"
    for manifest_len, data_len in ((2**40, 0), (10, 2**62), (2**63, 2**63)):
        head = struct.pack("<8sIIQQ32s", MAGIC, FORMAT_VERSION, 0, manifest_len, data_len, bytes(32))
        path.write_bytes(head + struct.pack("<I", zlib.crc32(head)) + bytes(100))
        assert_refused(target, path, "truncated or corrupt")


def test_a_sparse_file_matching_its_huge_header_is_checked_in_bounded_memory(target, tmp_path):
    path = tmp_path / "sparse.save"
    data_len = 256 * 2**20
    head = struct.pack("<8sIIQQ32s", MAGIC, FORMAT_VERSION, 0, 2, data_len, bytes(32))
    with open(path, "wb") as f:
        f.write(head + struct.pack("<I", zlib.crc32(head)) + b"{}")
        f.truncate(HEADER_SIZE + 2 + data_len)
    tracemalloc.start()
    try:
        assert_refused(target, path, "SHA-256")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20


def test_a_fifo_is_refused_without_blocking(target, tmp_path):
    fifo = tmp_path / "pipe.save"
    os.mkfifo(fifo)
    errors: list[Exception] = []

    def restore() -> None:
        try:
            target.restore(fifo)
        except Exception as err:  # noqa: BLE001 - handed to the test thread
            errors.append(err)

    thread = threading.Thread(target=restore, daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("restore() blocked on a FIFO")
    assert len(errors) == 1 and isinstance(errors[0], SaveError) and "regular file" in str(errors[0])


def test_a_missing_file_and_a_folder_are_refused(target, tmp_path):
    assert_refused(target, tmp_path / "absent.save", "cannot open")
    assert_refused(target, tmp_path, "regular file")


REASONS = {
    "not json": "manifest",
    "a list": "manifest",
    "deep nesting": "manifest",
    "object dtype": "manifest",
    "negative shape": "bad entry 'vec.idle'",
    "overlapping offsets": "'vec.idle' does not fit",
    "data left over": "cover the data",
    "bad config": "spawn.n_agents: -5",
    "missing array": r"missing \['world1.agents.food'\]",
    "wrong dtype": r"world0.agents.food is uint16\[64\] in the save, int16\[64\] here",
    "wrong shape": r"int16\[8, 8\] in the save",
    "occupant out of range": "world1.occupant holds values outside",
    "event count beyond the table": "world0.events.counts claims",
    "bookkeeping": "seed must be a non-negative int",
}


@pytest.mark.parametrize("change", list(REASONS))
def test_a_well_framed_save_with_bad_contents_is_refused(change, save_bytes, target, tmp_path):
    manifest, data = split(save_bytes)
    entries = {e["name"]: e for e in manifest["arrays"]}
    text = None
    if change == "not json":
        text = b"\xff{not json"
    elif change == "a list":
        text = b"[1, 2]"
    elif change == "deep nesting":
        text = b"[" * 100_000 + b"]" * 100_000
    elif change == "object dtype":
        entries["vec.idle"]["dtype"] = "|O"
    elif change == "negative shape":
        entries["vec.idle"]["shape"] = [-2]
    elif change == "overlapping offsets":
        entries["vec.idle"]["offset"] -= 1
    elif change == "data left over":
        data += b"\0" * 8
    elif change == "bad config":
        manifest["config"] = manifest["config"].replace("n_agents = 64", "n_agents = -5")
    elif change == "missing array":
        manifest["arrays"] = [e for e in manifest["arrays"] if e["name"] != "world1.agents.food"]
        e = entries["world1.agents.food"]
        data = data[: e["offset"]] + data[e["offset"] + e["nbytes"] :]
        shift = e["nbytes"]
        for other in manifest["arrays"]:
            if other["offset"] > e["offset"]:
                other["offset"] -= shift
    elif change == "wrong dtype":
        entries["world0.agents.food"]["dtype"] = "<u2"
    elif change == "wrong shape":
        entries["world0.agents.food"]["shape"] = [8, 8]
    elif change in ("occupant out of range", "event count beyond the table"):
        save = read_save(_write(tmp_path, save_bytes))
        if change == "occupant out of range":
            save.arrays["world1.occupant"][10, 10] = 10**6
        else:
            save.arrays["world0.events.counts"][0] = 10**9
        write_save(tmp_path / "bad.save", save.kind, save.config, save.arrays, save.meta)
        assert_refused(target, tmp_path / "bad.save", REASONS[change])
        return
    elif change == "bookkeeping":
        manifest["meta"]["seed"] = -1
    path = tmp_path / "bad.save"
    path.write_bytes(raw_save(text if text is not None else json.dumps(manifest).encode(), data))
    assert_refused(target, path, REASONS[change])


def _write(tmp_path: Path, blob: bytes) -> Path:
    path = tmp_path / "copy.save"
    path.write_bytes(blob)
    return path


# ---------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_write_failing_half_way_keeps_the_last_good_save(failure, tmp_path, monkeypatch):
    vec = stepped_env(ticks=10)
    path = tmp_path / "world.save"
    vec.save(path)
    good = path.read_bytes()
    saved = [w.state_hash() for w in vec.worlds]
    vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))

    def write_half(f, chunks):
        chunks = list(chunks)
        for chunk in chunks[: len(chunks) // 2]:
            f.write(chunk)
        raise failure

    monkeypatch.setattr(snapshot, "_write_chunks", write_half)
    with pytest.raises(SaveError if isinstance(failure, OSError) else KeyboardInterrupt):
        vec.save(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world.save"]  # no temporary file left
    monkeypatch.undo()
    vec.restore(path)
    assert [w.state_hash() for w in vec.worlds] == saved


def test_a_save_into_a_missing_folder_is_a_save_error(tmp_path):
    with pytest.raises(SaveError, match="cannot write"):
        stepped_env(ticks=1).save(tmp_path / "no" / "such" / "folder.save")


def test_a_world_with_an_empty_table_round_trips(tmp_path):
    vec = VecEnv(1, "small", seed=2, npc__n_npcs=0)
    vec.reset()
    vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    vec.save(tmp_path / "no-npcs.save")
    assert read_save(tmp_path / "no-npcs.save").arrays["world0.npcs.alive"].shape == (0,)
    again = VecEnv.from_save(tmp_path / "no-npcs.save")
    assert again.worlds[0].state_hash() == vec.worlds[0].state_hash()


def _world_with_items() -> WorldState:
    from neural_mmo.world.items import ItemType, create_item, equip

    state = WorldState.allocate(Config.preset("small").override({"item.enabled": True, "item.capacity": 8}))
    for agent, type_ in ((0, ItemType.SPEAR), (0, ItemType.RATION), (3, ItemType.HAT)):
        create_item(
            state.items, state.holdings, state.item_ids, agent, type_, 2, 1, state.config.item.max_stack
        )
    assert equip(state.items, state.holdings, 0, 0)  # the spear
    state.agents.alive[[0, 3]] = True  # the holders (the dead hold nothing)
    return state


def test_a_world_with_items_round_trips(tmp_path):
    state = _world_with_items()
    state.save(tmp_path / "items.save")
    again = WorldState.from_save(tmp_path / "items.save")
    assert (
        again.state_hash() == state.state_hash()
        and again.state_hash() != WorldState.allocate(again.config).state_hash()
    )
    assert again.holdings.equipment[0].tolist() == state.holdings.equipment[0].tolist()


@pytest.mark.parametrize(
    "damage, reason",
    [
        (
            lambda s: s.holdings.inventory.__setitem__((1, 0), 0),
            "inventory.1, 0. names row 0",
        ),  # a second holder
        (
            lambda s: s.items.slot.__setitem__(1, 11),
            "inventory.0, 1. names row 1",
        ),  # a slot past the inventory
        (
            lambda s: s.holdings.inventory.__setitem__((0, 1), -1),
            "held by agent 0 but not named",
        ),  # a lost row
        (lambda s: s.items.owner.__setitem__(1, 64), "items.owner holds values outside"),
        (lambda s: s.holdings.inventory.__setitem__((2, 0), 8), "holdings.inventory holds values outside"),
        (lambda s: s.items.quantity.__setitem__(0, 2), "outside 1 .. 1"),  # a stack of spears
        (lambda s: s.agents.alive.__setitem__(3, False), "agent slots with no living agent"),  # a dead holder
    ],
)
def test_a_save_whose_items_a_world_cannot_hold_is_refused(damage, reason, tmp_path):
    state = _world_with_items()
    damage(state)
    state.save(tmp_path / "bad.save")
    with pytest.raises(SaveError, match=reason):
        WorldState.from_save(tmp_path / "bad.save")


def _world_with_a_listing() -> WorldState:
    from neural_mmo.world.items import ItemType, create_item, list_item

    config = Config.preset("small").override(
        {"item.enabled": True, "item.capacity": 8, "exchange.enabled": True}
    )
    state = WorldState.allocate(config)
    state.agents.alive[2] = True
    create_item(state.items, state.holdings, state.item_ids, 2, ItemType.ARROW, 3, 5, config.item.max_stack)
    assert list_item(state.items, state.holdings, state.item_ids, 2, 0, 40, 0) >= 0  # one arrow at 40 gold
    state.market.listed[2] = 1
    state.market.last_price[7] = 12
    return state


def test_a_world_with_listings_round_trips(tmp_path):
    state = _world_with_a_listing()
    state.save(tmp_path / "market.save")
    again = WorldState.from_save(tmp_path / "market.save")
    assert again.state_hash() == state.state_hash()
    assert again.market.listed.tolist() == state.market.listed.tolist()


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda s: s.items.price.__setitem__(1, 0), "is listed as"),  # a listing for nothing
        (lambda s: s.market.listed.__setitem__(2, 0), "listings per agent"),  # a count that disagrees
        (lambda s: s.market.listed.__setitem__(5, -3), "market.listed holds values outside"),
        (lambda s: s.market.last_price.__setitem__(0, -1), "market.last_price holds values outside"),
        (lambda s: s.agents.alive.__setitem__(2, False), "agent slots with no living agent"),  # a dead seller
    ],
)
def test_a_save_whose_listings_are_damaged_is_refused(damage, reason, tmp_path):
    state = _world_with_a_listing()
    damage(state)
    state.save(tmp_path / "bad.save")
    with pytest.raises(SaveError, match=reason):
        WorldState.from_save(tmp_path / "bad.save")
