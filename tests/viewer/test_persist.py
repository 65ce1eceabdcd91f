"""Persistent live worlds: ``serve --persistent --save-every N --resume FILE`` and the LiveSource
saves under it continue a world bit-identically across restarts, scripted policy included."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("websockets")

from neural_mmo.cli import main  # noqa: E402
from neural_mmo.config import Config  # noqa: E402
from neural_mmo.viewer.server import LiveSource  # noqa: E402
from neural_mmo.world.snapshot import SaveError, read_save, write_save  # noqa: E402


def persistent_small() -> Config:
    return Config.preset("small").override({"episode.persistent": True})


@pytest.mark.parametrize("agents", ["fighter", "forager", "random"])
def test_a_live_world_saved_every_n_ticks_resumes_bit_identically(agents, tmp_path):
    path = tmp_path / "live.save"
    original = LiveSource(persistent_small(), agents=agents, seed=3)
    original.enable_saving(path, every=25)
    for _ in range(30):
        original.advance()
    assert read_save(path).arrays["world0.clock"][0] == 25  # saved at tick 25, not since
    resumed = LiveSource(persistent_small(), agents=agents, seed=3)
    resumed.restore(path)
    assert resumed.state.tick == 25
    reference = LiveSource(persistent_small(), agents=agents, seed=3)  # never stopped
    for _ in range(25):
        reference.advance()
    deaths, spawns = reference.vec.death_causes.sum(), 0
    for _ in range(300):
        reference.advance()
        resumed.advance()
        assert resumed.state.state_hash() == reference.state.state_hash()
        for key in reference.player.observations:
            assert np.array_equal(resumed.player.observations[key], reference.player.observations[key])
        spawns += int(reference.player.infos["spawned"].sum())
    if agents != "forager":
        assert reference.vec.death_causes.sum() > deaths and spawns > 0


def test_a_restore_with_another_scripted_policy_starts_that_policy_fresh(tmp_path):
    path = tmp_path / "live.save"
    fighter = LiveSource(persistent_small(), agents="fighter", seed=3)
    for _ in range(10):
        fighter.advance()
    fighter.save(path)
    forager = LiveSource(persistent_small(), agents="forager", seed=3)
    before = forager.policy.rng.bit_generator.state
    forager.restore(path)
    assert forager.state.state_hash() == fighter.state.state_hash()
    assert forager.policy.rng.bit_generator.state == before


def test_a_bad_live_save_changes_neither_the_world_nor_the_policy(tmp_path):
    path = tmp_path / "live.save"
    source = LiveSource(persistent_small(), agents="random", seed=3)
    source.advance()
    source.save(path)
    save = read_save(path)
    save.meta["policy"]["rng"] = {"bit_generator": "PCG64", "state": "nonsense"}
    write_save(path, save.kind, save.config, save.arrays, save.meta)
    target = LiveSource(persistent_small(), agents="random", seed=5)
    target.advance()
    world, rng = target.state.state_hash(), target.policy.rng.bit_generator.state
    with pytest.raises(SaveError, match="random state"):
        target.restore(path)
    assert target.state.state_hash() == world and target.policy.rng.bit_generator.state == rng


def test_serve_persistent_saves_every_n_ticks_and_resumes_from_the_file(tmp_path, capsys):
    path = tmp_path / "world.save"
    common = ["serve", "--preset", "small", "--port", "0", "--fps", "100", "--persistent"]
    common += ["--save-every", "5"]
    assert main([*common, "--save", str(path), "--seconds", "1.5"]) == 0
    first = read_save(path)
    tick = int(first.arrays["world0.clock"][0])
    assert first.kind == "live" and first.config.episode.persistent and tick >= 5 and tick % 5 == 0
    capsys.readouterr()
    assert main([*common, "--resume", str(path), "--seconds", "1.5"]) == 0
    assert f"resumed {path} at tick {tick}" in capsys.readouterr().err
    assert int(read_save(path).arrays["world0.clock"][0]) > tick  # the same world, further on


@pytest.mark.parametrize(
    "args, message",
    [
        (["--save-every", "5"], "--save-every needs --save FILE or --resume FILE"),
        (["--resume", "{missing}"], "--resume: .*cannot open"),
        (["--resume", "{corrupt}"], "--resume: .*not a Neural MMO save"),
    ],
)
def test_serve_persistence_errors_exit_2_with_a_message(args, message, tmp_path, capsys):
    (tmp_path / "corrupt.save").write_bytes(b"garbage" * 20)
    paths = {"missing": tmp_path / "absent.save", "corrupt": tmp_path / "corrupt.save"}
    args = [a.format(**paths) for a in args]
    assert main(["serve", "--preset", "small", "--port", "0", "--seconds", "0.1", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err), err
