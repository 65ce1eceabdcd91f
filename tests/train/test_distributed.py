"""The ray backend on a local Ray cluster (two CPUs): RayVecEnv steps like a VecEnv with either
transport, ``neural-mmo train --backend ray`` learns exactly what the local backend learns, and
bad settings and dead actors give clear errors."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

from neural_mmo.cli import main  # noqa: E402
from neural_mmo.config import ConfigError, make_config  # noqa: E402
from neural_mmo.envs.multiprocess import WorkerError  # noqa: E402
from neural_mmo.envs.vector import VecEnv  # noqa: E402
from neural_mmo.train.checkpoint import read_checkpoint  # noqa: E402
from neural_mmo.train.config import TrainConfig  # noqa: E402
from neural_mmo.train.distributed import RayVecEnv  # noqa: E402
from neural_mmo.train.trainer import Trainer  # noqa: E402

TINY_GAME = {"map.size": 32, "spawn.n_agents": 16, "npc.n_npcs": 4, "episode.horizon": 30}
BUFFERS = ("rewards", "terminations", "truncations", "alive", "agent_id", "spawned", "invalid_actions",
           "episode_done", "event_counts", "death_causes")  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of two CPUs for this module (RayVecEnv leaves a Ray it did not start
    running)."""
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


def tiny_config():
    return make_config("small", **{k.replace(".", "__"): v for k, v in TINY_GAME.items()})


def test_ray_env_through_the_object_store_steps_like_an_in_process_env(cluster):
    """Every buffer, every tick, through the object store (the shared-memory transport, the
    default on one node, is checked by the training test below)."""
    config = tiny_config()
    env = RayVecEnv(3, config=config, seed=11, num_workers=2, transport="object_store")
    try:
        assert [list(g) for g in env.groups] == [[0, 1], [2]]
        assert env.local_workers == 2 and env.shared == [False, False]
        ref = VecEnv(3, config=config, seed=11)
        rng = np.random.default_rng(5)
        env.reset()
        ref.reset()
        deaths = resets = 0
        for _ in range(70):  # past the horizon: worlds end and reset
            actions = np.stack([rng.integers(0, h.size, env.num_slots) for h in env.layout.heads], 1)
            env.step(actions)
            ref.step(actions)
            for key in ref.observations:
                assert np.array_equal(env.observations[key], ref.observations[key]), key
            for key in BUFFERS:
                assert np.array_equal(getattr(env, key), getattr(ref, key)), key
            deaths += int(env.terminations.sum())
            resets += int(env.episode_done.sum())
        assert deaths > 0 and resets >= 3, "agents died and every world reached its horizon"
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(env)
        with pytest.raises(TypeError, match="cannot be pickled"):
            copy.deepcopy(env)
        with pytest.raises(ValueError, match="actions"):
            env.step(np.zeros((env.num_slots, 7), np.int64))
        ray.kill(env._actors[1])
        with pytest.raises(WorkerError, match="environment actor died"):
            for _ in range(50):  # the kill lands asynchronously
                env.step_buffered()
        with pytest.raises(RuntimeError, match="closed"):
            env.step_buffered()
    finally:
        env.close()
    assert ray.is_initialized(), "a Ray the caller started keeps running"


def test_the_ray_backend_trains_exactly_like_the_local_backend(cluster, tmp_path, capsys):
    """Same seeds, same worlds, same sampling on the learner: the same losses and weights."""
    settings = dict(total_steps=700, worlds=3, horizon=16, minibatch=128, epochs=2, hidden=16, threads=1)
    game = [f"--set=game.{k}={v}" for k, v in TINY_GAME.items()]
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    ray_out = tmp_path / "ray"
    argv = [
        "train",
        *flags,
        *game,
        "--backend",
        "ray",
        "--env-workers",
        "2",
        "--out",
        str(ray_out),
        "--quiet",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "worlds on 2 Ray actor(s), 2 on this node (shared memory)" in err

    local = Trainer(TrainConfig(**settings, game=dict(TINY_GAME), out=str(tmp_path / "local")))
    try:
        local.train(progress=False)
    finally:
        local.close()
    ray_rows = [json.loads(line) for line in (ray_out / "metrics.jsonl").read_text().splitlines()]
    local_rows = [
        json.loads(line) for line in (tmp_path / "local" / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(ray_rows) == len(local_rows) >= 2
    for a, b in zip(ray_rows, local_rows):
        for key in a:
            if key.startswith(("loss/", "env/", "deaths/", "events/", "train/agent_steps")):
                assert a[key] == b[key] or (a[key] != a[key] and b[key] != b[key]), key
    ray_weights = read_checkpoint(ray_out / "checkpoints" / "latest.pt")["models"][0]
    local_weights = read_checkpoint(tmp_path / "local" / "checkpoints" / "latest.pt")["models"][0]
    assert all(torch.equal(ray_weights[k], local_weights[k]) for k in local_weights)
    assert json.loads((ray_out / "config.json").read_text())["backend"] == "ray"


def test_bad_ray_settings_are_refused(cluster, tmp_path, capsys):
    base = ["train", "--total-steps", "100", "--worlds", "4", "--threads", "1", "--quiet",
            "--out", str(tmp_path / "r")]  # fmt: skip
    assert main([*base, "--backend", "ray", "--env-workers", "3"]) == 2
    err = capsys.readouterr().err
    assert "3 environment actor(s) need one CPU each; the Ray cluster has 2 CPU(s)" in err
    assert "Traceback" not in err
    assert main([*base, "--backend", "ray", "--env-workers", "5"]) == 2
    assert "num_workers must be in 1..num_worlds=4, got 5" in capsys.readouterr().err
    assert main([*base, "--env-workers", "2"]) == 2
    assert "env_workers is a setting of the ray backend" in capsys.readouterr().err
    assert main([*base, "--backend", "mpi"]) == 2
    assert "backend: 'mpi' is not one of local, ray" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="workers sets the local backend's processes"):
        TrainConfig(backend="ray", workers=2)
    with pytest.raises(ValueError, match="transport must be one of auto, object_store"):
        RayVecEnv(2, config=tiny_config(), transport="tcp")
