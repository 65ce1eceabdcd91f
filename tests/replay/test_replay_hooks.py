"""Recording from the APIs people use: ``parallel_env(record=...)`` and ``neural-mmo run --record``."""

from __future__ import annotations

import numpy as np
import pytest

import neural_mmo
from neural_mmo.agents import FighterPolicy
from neural_mmo.cli import main
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.replay import ReplayReader, episode_path

SMALL = {"map__size": 24, "spawn__n_agents": 12, "npc__n_npcs": 6, "horizon": 30}


def _play(env, seed=None, steps=None):
    """Run one episode with no-op actions; the env's hash after reset and after every tick."""
    env.reset(seed=seed)
    hashes = [env.state_hash()]
    for _ in range(10**9 if steps is None else steps):
        if not env.agents:
            break
        env.step({a: 0 for a in env.agents})
        hashes.append(env.state_hash())
    return hashes


def test_parallel_env_records_each_episode_to_its_own_file(tmp_path):
    path = tmp_path / "run.replay"
    env = neural_mmo.parallel_env(record=str(path), seed=4, **SMALL)
    first = _play(env)
    second = _play(env, steps=12)
    third = _play(env, seed=9, steps=5)
    env.close()
    assert env.recorder.paths == [path, tmp_path / "run-1.replay", tmp_path / "run-2.replay"]
    for k, (hashes, seed, episode) in enumerate([(first, 4, 0), (second, 4, 1), (third, 9, 0)]):
        reader = ReplayReader(episode_path(path, k))
        assert reader.complete
        assert (reader.seed, reader.episode, reader.n_ticks) == (seed, episode, len(hashes))
        assert [s.state_hash() for s in reader] == hashes
    assert len(first) == 31  # the horizon: tick 0 and 30 ticks


def test_parallel_env_without_record_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = neural_mmo.parallel_env(seed=0, **SMALL)
    _play(env, steps=3)
    assert env.recorder is None
    assert list(tmp_path.iterdir()) == []


def test_cli_run_records_world_zero_and_matches_the_same_simulation(tmp_path, capsys):
    path = tmp_path / "cli.replay"
    argv = ["run", "--preset", "small", "--set", "map.size=24", "--set", "spawn.n_agents=12",
            "--set", "npc.n_npcs=6", "--set", "episode.horizon=30", "--ticks", "45", "--worlds", "2",
            "--seed", "5", "--record", str(path), "--quiet", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert "replay:" in capsys.readouterr().err
    first, second = ReplayReader(path), ReplayReader(tmp_path / "cli-1.replay")
    assert (first.n_ticks, first.complete, first.episode, first.seed) == (31, True, 0, 5)
    assert (second.n_ticks, second.complete, second.episode) == (15, True, 1)  # reset on step 31
    assert not (tmp_path / "cli-2.replay").exists()

    cfg = Config.preset("small").override(
        {"map.size": 24, "spawn.n_agents": 12, "npc.n_npcs": 6, "episode.horizon": 30}
    )
    assert first.config == cfg
    vec = VecEnv(2, config=cfg, seed=5)
    policy = FighterPolicy(vec.layout, seed=5)
    obs, _ = vec.reset()
    hashes = [vec.worlds[0].state_hash()]
    for _ in range(45):
        obs, *_ = vec.step(policy.act(obs))
        hashes.append(vec.worlds[0].state_hash())
    assert [s.state_hash() for s in first] == hashes[:31]
    assert [s.state_hash() for s in second] == hashes[31:]


def test_cli_run_record_into_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "run.replay"
    argv = ["run", "--preset", "small", "--ticks", "2", "--record", str(target), "--quiet", "--json"]
    assert main(argv) == 2
    assert "--record" in capsys.readouterr().err


def test_parallel_env_record_into_a_missing_folder_fails_when_made(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        neural_mmo.parallel_env(record=str(tmp_path / "missing" / "run.replay"), **SMALL)


def test_episode_paths_number_later_episodes():
    assert str(episode_path("out/run.replay", 0)) == "out/run.replay"
    assert str(episode_path("out/run.replay", 3)) == "out/run-3.replay"
    assert str(episode_path("plain", 1)) == "plain-1"


@pytest.mark.parametrize("n_steps", [0, 3])
def test_a_recorder_finished_mid_episode_leaves_a_complete_file(tmp_path, n_steps):
    env = neural_mmo.parallel_env(record=str(tmp_path / "r.replay"), seed=1, **SMALL)
    hashes = _play(env, steps=n_steps)
    env.close()
    reader = ReplayReader(tmp_path / "r.replay")
    assert (reader.n_ticks, reader.complete) == (n_steps + 1, True)
    np.testing.assert_array_equal([s.state_hash() for s in reader], hashes)
