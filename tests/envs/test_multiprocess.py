"""MultiprocessVecEnv: same trajectories as the in-process VecEnv, zero-copy shared buffers,
asynchronous groups, clean failure (no hang, no leaked shared memory), and workers that die with
their trainer whatever kills it."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import neural_mmo
from neural_mmo.agents import RandomPolicy
from neural_mmo.envs.multiprocess import MultiprocessVecEnv, WorkerError, process_stat


@pytest.fixture
def no_leak(monkeypatch):
    """Every shared-memory block a MultiprocessVecEnv makes in the test is gone afterwards (its
    own names are checked: other tests may hold blocks at the same time)."""
    made = []
    original = MultiprocessVecEnv.__init__

    def recording_init(self, *args, **kwargs):
        try:
            original(self, *args, **kwargs)
        finally:
            if hasattr(self, "_shm"):
                made.append(self._shm.name)

    monkeypatch.setattr(MultiprocessVecEnv, "__init__", recording_init)
    yield made
    leaked = [name for name in made if os.path.exists(f"/dev/shm/{name.lstrip('/')}")]
    assert not leaked, f"shared memory blocks left behind: {leaked}"


def assert_same(a: dict, b: dict) -> None:
    for key in b:
        assert np.array_equal(a[key], b[key]), key


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_same_trajectories_as_the_in_process_vecenv(workers, no_leak):
    kwargs = {"preset": "small", "seed": 5, "horizon": 40, "map__size": 24, "spawn__n_agents": 12}
    ref = neural_mmo.VecEnv(3, **kwargs)
    with MultiprocessVecEnv(3, num_workers=workers, **kwargs) as env:
        policy = RandomPolicy(ref.layout, seed=1)
        obs_ref, _ = ref.reset()
        obs, _ = env.reset()
        assert_same(obs, obs_ref)
        attacks = 0
        for _ in range(90):  # crosses two autoresets
            actions = policy.act(obs_ref)
            attacks += int((actions[:, 1] > 0).sum())
            out_ref = ref.step(actions)
            out = env.step(actions)
            assert_same(out[0], out_ref[0])
            for got, want in zip(out[1:4], out_ref[1:4]):
                assert np.array_equal(got, want)
            assert_same(out[4], out_ref[4])
        assert attacks > 100 and env.episode_done.dtype == np.bool_
        assert len(no_leak) == 1
        env.reset(seed=9)
        ref.reset(seed=9)
        assert_same(env.observations, ref.observations)


def test_buffers_are_shared_not_copied(no_leak):
    with MultiprocessVecEnv(2, "small", seed=0, num_workers=2, map__size=16, spawn__n_agents=4) as env:
        obs, _ = env.reset()
        tiles = obs["tiles"]
        out = env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
        assert out[0]["tiles"] is tiles  # the same arrays every call, written by the workers
        assert not tiles.flags.owndata and tiles.base is not None


def test_asynchronous_groups_step_independently_and_match_the_reference(no_leak):
    kwargs = {"preset": "small", "seed": 2, "map__size": 20, "spawn__n_agents": 8}
    ref = neural_mmo.VecEnv(4, **kwargs)
    ref.reset()
    with MultiprocessVecEnv(4, num_workers=2, **kwargs) as env:
        env.reset()
        rng = np.random.default_rng(0)
        pending = {}
        for g in range(2):
            block = env.group_slots(g)
            pending[g] = rng.integers(0, 5, size=(block.stop - block.start, env.n_heads))
            pending[g][:, 1] = 0
            env.send(pending[g], g)
        with pytest.raises(RuntimeError, match="still stepping"):
            env.send(pending[0], 0)
        seen = []
        for _ in range(2):
            g, obs, rewards, terms, truncs, infos = env.recv()
            seen.append(g)
            block = env.group_slots(g)
            assert obs["tiles"].shape[0] == block.stop - block.start == rewards.shape[0]
            assert infos["episode_done"].shape == (len(env.groups[g]),)
        assert sorted(seen) == [0, 1]
        with pytest.raises(RuntimeError, match="send"):
            env.recv()
        actions = np.concatenate([pending[0], pending[1]])
        ref.step(actions)
        assert_same(env.observations, ref.observations)
        assert np.array_equal(env.rewards, ref.rewards)


def test_a_killed_worker_gives_a_clear_error_and_frees_the_memory(no_leak):
    """(A hang would stall this test: the step must come back with an error.)"""
    env = MultiprocessVecEnv(2, "small", seed=0, num_workers=2, map__size=16, spawn__n_agents=4)
    env.reset()
    env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
    os.kill(env._processes[1].pid, signal.SIGKILL)
    env._processes[1].join(timeout=30)
    with pytest.raises(WorkerError, match=r"worker 1 .*exit code -9"):
        env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()
    assert not any(p.is_alive() for p in env._processes)


def test_bad_input_raises_in_the_trainer_and_the_env_goes_on(no_leak):
    with MultiprocessVecEnv(2, "small", seed=0, num_workers=2, map__size=16, spawn__n_agents=4) as env:
        env.reset()
        before = env.observations["tiles"].copy()
        with pytest.raises(ValueError, match="material must be"):
            env.load(1, np.zeros((3, 3), np.uint8))
        with pytest.raises(ValueError, match="shape"):
            env.step(np.zeros((3, 2), np.int64))
        with pytest.raises(TypeError):
            env.step({"player_0": 1})
        with pytest.raises(ValueError, match="world"):
            env.unload(7)
        assert np.array_equal(env.observations["tiles"], before)
        env.step(np.zeros((env.num_slots, env.n_heads), np.int64))  # still alive
        assert env.alive.any()


def test_constructor_checks_and_close_twice(no_leak):
    """(``no_leak`` also sees the blocks of constructors that fail after allocating.)"""
    with pytest.raises(ValueError, match="num_workers"):
        MultiprocessVecEnv(2, "small", num_workers=3)
    with pytest.raises(ValueError, match="num_worlds"):
        MultiprocessVecEnv(0, "small")
    env = MultiprocessVecEnv(2, "small", map__size=16, spawn__n_agents=4)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
    env.close()
    env.close()


def shm_path(name: str) -> str:
    return f"/dev/shm/{name.lstrip('/')}"


def test_no_worker_holds_a_trainer_end_of_a_pipe_and_the_block_has_no_name(no_leak):
    """With ``fork`` each worker inherits the trainer's end of its own pipe and of the pipes of the
    workers made before it; holding one, it would never read end-of-file when the trainer dies."""
    with MultiprocessVecEnv(3, "small", seed=0, num_workers=3, start_method="fork",
                            map__size=16, spawn__n_agents=4) as env:  # fmt: skip
        ours = {f"socket:[{os.fstat(conn.fileno()).st_ino}]" for conn in env._conns}
        assert len(ours) == 3
        for process in env._processes:
            fd_dir = f"/proc/{process.pid}/fd"
            held = {os.readlink(f"{fd_dir}/{fd}") for fd in os.listdir(fd_dir)}
            assert not held & ours, f"worker {process.pid} holds {sorted(held & ours)}"
        assert not os.path.exists(shm_path(env._shm.name))  # unlinked once every worker attached
        env.reset()
        out = env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
        assert out[4]["alive"].sum() == 12  # the mapping still works without the name


def test_an_env_made_in_a_thread_that_ends_keeps_its_workers(no_leak):
    """The parent-death signal follows the creating thread: it must not be armed there."""
    made = []
    thread = threading.Thread(target=lambda: made.append(
        MultiprocessVecEnv(2, "small", seed=0, num_workers=2, map__size=16, spawn__n_agents=4)))  # fmt: skip
    thread.start()
    thread.join()
    with made[0] as env:
        time.sleep(0.5)  # a death signal would have killed the workers by now
        env.reset()
        out = env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
        assert out[4]["alive"].sum() == 8 and all(p.is_alive() for p in env._processes)


PARENT = """
import json, sys, time
import numpy as np
from neural_mmo.envs.multiprocess import MultiprocessVecEnv
env = MultiprocessVecEnv(2, "small", seed=0, num_workers=2, start_method=sys.argv[1], map__size=16,
                         spawn__n_agents=4)
env.reset()
env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
print(json.dumps({"workers": [p.pid for p in env._processes], "shm": env._shm.name}), flush=True)
time.sleep(600)
"""


def first_line(process: subprocess.Popen, timeout: float) -> str:
    """The process's first line of output, waiting at most ``timeout`` seconds."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the parent did not start its workers in time"
    line = process.stdout.readline()
    assert line, f"the parent exited: {process.stderr.read()}"
    return line


@pytest.mark.parametrize(
    "method, sig",
    [("fork", signal.SIGTERM), ("fork", signal.SIGKILL), ("spawn", signal.SIGKILL),
     ("forkserver", signal.SIGTERM)],
)  # fmt: skip
def test_workers_die_with_a_killed_parent_and_leave_no_shared_memory(method, sig):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, method], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    workers: dict[int, int] = {}
    try:
        started = json.loads(first_line(parent, timeout=600))  # a cold numba cache on a busy machine
        for pid in started["workers"]:
            stat = process_stat(pid)
            assert stat is not None and stat[0] not in "ZX"
            workers[pid] = stat[1]  # its start time: a reused pid is another process

        def alive() -> list[int]:
            out = []
            for pid, start in workers.items():
                stat = process_stat(pid)
                if stat is not None and stat[1] == start and stat[0] not in "ZX":
                    out.append(pid)
            return out

        os.kill(parent.pid, sig)
        assert parent.wait(timeout=30) == -sig
        deadline = time.monotonic() + 5.0
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive() == [], f"workers still running 5 s after the parent's {sig.name}"
        assert not os.path.exists(shm_path(started["shm"]))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid, start in workers.items():  # never leave a failing test's workers running
            stat = process_stat(pid)
            if stat is not None and stat[1] == start and stat[0] not in "ZX":
                os.kill(pid, signal.SIGKILL)
        parent.stdout.close()
        parent.stderr.close()
