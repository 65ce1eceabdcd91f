"""MultiprocessVecEnv: the VecEnv API with worlds stepped by worker processes into shared memory.

``num_workers`` processes each own a contiguous group of worlds and an in-process
:class:`~neural_mmo.envs.vector.VecEnv` over them whose every buffer (observations, rewards,
flags, actions) is a view of one shared-memory block. The trainer reads the same block: no copy
crosses a process boundary, only one short message per worker per step.

Two ways to step:

* **synchronous**, like :class:`VecEnv`: ``step(actions)`` steps every world and returns the
  full buffers;
* **asynchronous**: ``send(actions, group)`` starts one worker group, ``recv()`` returns the next
  group that finished (its block of the buffers and its index). With more groups than the policy
  processes at once, worlds step while the policy runs.

World ``w`` uses the seed of world ``w`` of an in-process VecEnv with the same ``seed``, so both
give the same trajectories for the same actions. A worker that dies raises :class:`WorkerError`
in the trainer instead of hanging it.

Workers never outlive the trainer, whatever kills it (``SIGTERM``, ``SIGKILL``, the
out-of-memory killer), and the shared block never outlives its users:

* a worker holds no copy of any trainer end of a pipe (with ``fork`` it closes those it
  inherited, its own and other workers'), so its pipe reads end-of-file when the trainer dies;
* on Linux a worker asks for ``SIGKILL`` when its parent dies (``PR_SET_PDEATHSIG``; not when
  the env is made outside the main thread, since that signal follows the creating thread), and a
  watchdog thread checks every :data:`WATCH_PERIOD` seconds that the trainer process is still the
  one that started it (for ``forkserver``, whose workers are the fork server's children);
* the block's name is unlinked as soon as every worker has attached: the mapping lives on in the
  processes that hold it and the kernel frees it with the last of them, so nothing is left in
  ``/dev/shm`` however they end. (A trainer killed while its workers start leaves the name to
  multiprocessing's resource tracker, which unlinks it once they are gone.)

The trainer installs no signal handler: killed by a signal it releases nothing itself, and needs
not, since its workers exit by themselves and the block has no name left. :meth:`close` (also at
garbage collection and interpreter exit) stops the workers at once.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import shared_memory
from multiprocessing.connection import Connection, wait
from typing import Any, NoReturn

import numpy as np

from neural_mmo.config import Config, make_config
from neural_mmo.envs.actions import as_action_array
from neural_mmo.envs.memory import check_memory
from neural_mmo.envs.vector import PER_WORLD, VecEnv, buffer_specs, world_index
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.tasks.rewards import RewardFn
from neural_mmo.world.rng import check_seed

ALIGN = 64
"""Byte alignment of each array in the shared block (a cache line)."""

Specs = dict[str, tuple[tuple[int, ...], np.dtype]]


class WorkerError(RuntimeError):
    """A worker process failed or died; the message says which and why."""


def _layout_of(specs: Specs) -> tuple[dict[str, int], int]:
    """Byte offset of each array in the block, and the block's size."""
    offsets, size = {}, 0
    for name, (shape, dtype) in specs.items():
        offsets[name] = size
        size += -(-int(np.prod(shape)) * np.dtype(dtype).itemsize // ALIGN) * ALIGN
    return offsets, max(size, ALIGN)


def _views(buf: Any, specs: Specs, offsets: dict[str, int]) -> dict[str, np.ndarray]:
    return {
        name: np.ndarray(shape, dtype, buffer=buf, offset=offsets[name])
        for name, (shape, dtype) in specs.items()
    }


def _slice(views: dict[str, np.ndarray], worlds: slice, slots: slice) -> dict[str, np.ndarray]:
    """The block of every buffer that belongs to one group of worlds."""
    return {name: (a[worlds] if name in PER_WORLD else a[slots]) for name, a in views.items()}


STEP, OK = b"s", b"k"
"""The two messages of a step, sent as raw bytes: no pickling on the hot path."""


def _message(kind: str, payload: Any = None) -> bytes:
    return pickle.dumps((kind, payload))


# ---------------------------------------------------------------------- workers die with the trainer

WATCH_PERIOD = 0.25
"""Seconds between a worker's checks that the trainer is alive."""

PR_SET_PDEATHSIG = 1


def process_stat(pid: int) -> tuple[str, int] | None:
    """State letter (``R``, ``S``, ``Z`` for a zombie, ...) and start time (clock ticks after boot)
    of process ``pid`` from ``/proc``; None when there is no such process or no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


@dataclass(frozen=True)
class Trainer:
    """What a worker knows of the process that made it, to tell when that process is gone."""

    pid: int
    started: int | None  # start time from /proc (None without /proc): a reused pid is not the trainer
    direct: bool  # the worker is the trainer's own child (fork, spawn), not the fork server's
    death_signal: bool  # ask the kernel for SIGKILL when the worker's parent (thread) ends

    @classmethod
    def this(cls, start_method: str) -> Trainer:
        stat = process_stat(os.getpid())
        in_main = threading.current_thread() is threading.main_thread()
        return cls(os.getpid(), None if stat is None else stat[1], start_method != "forkserver",
                   in_main or start_method == "forkserver")  # fmt: skip

    def alive(self) -> bool:
        if self.direct and os.getppid() != self.pid:
            return False  # reparented: the trainer has exited (a zombie or gone)
        if self.started is None:
            return True  # no /proc: the pipe's end-of-file is the signal
        stat = process_stat(self.pid)
        return stat is not None and stat[0] not in "ZX" and stat[1] == self.started


def _set_death_signal() -> None:
    """Linux: the kernel sends this process SIGKILL when its parent ends (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the watchdog and the pipe still stop the worker


def _watch(trainer: Trainer) -> None:
    while trainer.alive():
        time.sleep(WATCH_PERIOD)
    os._exit(1)  # the trainer is gone: nobody waits for this worker's results


def _guard(trainer: Trainer, inherited: list[Connection]) -> None:
    """Make sure this worker ends when the trainer does, however the trainer ends."""
    for conn in inherited:  # fork: the trainer's ends of every pipe so far, ours included
        conn.close()
    if trainer.death_signal:
        _set_death_signal()
    if not trainer.alive():  # it died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(trainer,), name="trainer-watchdog", daemon=True).start()


def _worker(
    conn: Connection, shm_name: str, specs: Specs, group: tuple[int, int], config: Config, seed: int,
    reward_fn: RewardFn | None, autoreset: bool, trainer: Trainer, inherited: list[Connection],
) -> None:  # fmt: skip
    """Worker main loop: step the worlds ``group = (first, stop)`` on command."""
    _guard(trainer, inherited)
    shm = shared_memory.SharedMemory(name=shm_name)
    vec = views = None
    try:
        offsets, _ = _layout_of(specs)
        first, stop = group
        slots = config.spawn.n_agents
        views = _slice(
            _views(shm.buf, specs, offsets), slice(first, stop), slice(first * slots, stop * slots)
        )
        vec = VecEnv(stop - first, config=config, seed=seed, reward_fn=reward_fn, autoreset=autoreset,
                     buffers=views, first_world=first)  # fmt: skip
        conn.send_bytes(_message("ready"))
        while True:
            raw = conn.recv_bytes()
            if raw == STEP:
                try:
                    vec.step_buffered()
                except (ValueError, TypeError) as err:
                    conn.send_bytes(_message("invalid", (type(err).__name__, str(err))))
                    continue
                conn.send_bytes(OK)
                continue
            command, arg = pickle.loads(raw)
            if command == "close":
                conn.send_bytes(OK)
                break
            try:
                if command == "reset":
                    vec.reset(arg)
                elif command == "load":
                    vec.load(*arg)
                elif command == "unload":
                    vec.unload(arg)
            except (ValueError, TypeError) as err:  # bad input, checked before any change: go on
                conn.send_bytes(_message("invalid", (type(err).__name__, str(err))))
                continue
            conn.send_bytes(OK)
    except (EOFError, KeyboardInterrupt):
        pass
    except BaseException:
        try:
            conn.send_bytes(_message("error", traceback.format_exc()))
        except OSError:
            pass
    finally:
        del vec, views  # drop the views before closing the block they live in
        shm.close()


def _unlink(shm: shared_memory.SharedMemory, linked: list[bool]) -> None:
    """Remove the block's name (once: a later block may reuse it); the mappings stay valid."""
    if linked[0]:
        linked[0] = False
        try:
            shm.unlink()
        except FileNotFoundError:
            pass


def _release(shm: shared_memory.SharedMemory, linked: list[bool], processes: list, conns: list) -> None:
    """Stop the workers and free the shared block (close, finaliser, or interpreter exit)."""
    for conn in conns:
        try:
            conn.send_bytes(_message("close"))
        except OSError:
            pass
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
    for conn in conns:
        conn.close()
    try:
        shm.close()
    except BufferError:
        pass  # a caller still holds views: the segment is unlinked anyway and freed with them
    _unlink(shm, linked)


StepResult = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]
"""What ``step`` returns: observations, rewards, terminations, truncations, infos."""


class WorkerGroups:
    """What the env handles over groups of worlds in workers share (:class:`MultiprocessVecEnv`,
    ``train.distributed.RayVecEnv``): the slots of a group, the open and started checks, and
    :meth:`step` as "write the actions, then :meth:`step_buffered`"."""

    groups: list[range]
    slots_per_world: int
    num_worlds: int
    num_slots: int
    n_heads: int
    action_buffer: np.ndarray
    _closed: bool
    _started: bool
    step_buffered: Callable[[], StepResult]
    """Each env steps its workers its own way."""

    def step(self, actions: Any) -> StepResult:
        """Advance every world one tick with ``int [num_slots, n_heads]`` actions."""
        self._check_started()
        as_action_array(actions, self.num_worlds, self.num_slots, self.n_heads, self.action_buffer)
        return self.step_buffered()

    def group_slots(self, group: int) -> slice:
        """Flat slots of worker group ``group``."""
        worlds = self.groups[group]
        return slice(worlds.start * self.slots_per_world, worlds.stop * self.slots_per_world)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed")

    def _check_started(self) -> None:
        self._check_open()
        if not self._started:
            raise RuntimeError("call reset() before step()")


class MultiprocessVecEnv(WorkerGroups):
    """:class:`VecEnv` over worker processes and shared memory (see the module docs).

    Arguments: those of :class:`VecEnv`, plus ``num_workers`` (processes; default: one per world
    up to the number of CPUs) and ``start_method`` (``fork``, ``forkserver`` or ``spawn``;
    default: the platform's). Worlds are split into ``num_workers`` contiguous groups as evenly
    as possible; group ``g`` holds worlds ``groups[g]``.
    """

    def __init__(
        self,
        num_worlds: int = 2,
        preset: str | None = None,
        *,
        config: Config | None = None,
        seed: int = 0,
        reward_fn: RewardFn | None = None,
        autoreset: bool = True,
        num_workers: int | None = None,
        start_method: str | None = None,
        memory_limit: float | None = None,
        **overrides: Any,
    ):
        if isinstance(num_worlds, bool) or not isinstance(num_worlds, (int, np.integer)) or num_worlds < 1:
            raise ValueError(f"num_worlds must be a positive int, got {num_worlds!r}")
        cpus = mp.cpu_count()
        num_workers = min(num_worlds, cpus) if num_workers is None else num_workers
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)):
            raise ValueError(f"num_workers must be an int, got {num_workers!r}")
        if not 1 <= num_workers <= num_worlds:
            raise ValueError(f"num_workers must be in 1..num_worlds={num_worlds}, got {num_workers}")
        self.config = make_config(preset, config, **overrides)
        self.layout = ObsLayout(self.config)
        self.num_worlds = int(num_worlds)
        self.num_workers = int(num_workers)
        self.slots_per_world = self.config.spawn.n_agents
        self.num_slots = self.num_worlds * self.slots_per_world
        self.n_heads = len(self.layout.heads)
        self.seed = check_seed(seed)
        self.observation_space = self.layout.observation_space()
        self.action_space = self.layout.action_space()
        bounds = np.linspace(0, self.num_worlds, self.num_workers + 1).round().astype(int)
        self.groups = [range(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

        check_memory(self.config, self.num_worlds, memory_limit)
        specs = buffer_specs(self.layout, self.num_worlds)
        offsets, size = _layout_of(specs)
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self._buffers = _views(self._shm.buf, specs, offsets)
        self._buffers["agent_id"].fill(-1)
        b = self._buffers
        self.observations = {f.key: b[f.key] for f in self.layout.fields}
        self.market: np.ndarray | None = b["market"] if self.layout.world_fields else None
        """Each world's market table, as :attr:`VecEnv.market`."""
        self.rewards, self.terminations, self.truncations = b["rewards"], b["terminations"], b["truncations"]
        self.alive, self.agent_id, self.spawned = b["alive"], b["agent_id"], b["spawned"]
        self.invalid_actions, self.episode_done = b["invalid_actions"], b["episode_done"]
        self.event_counts, self.death_causes = b["event_counts"], b["death_causes"]
        self.action_buffer = b["action_buffer"]
        self.infos = {"alive": self.alive, "agent_id": self.agent_id, "spawned": self.spawned,
                      "invalid_actions": self.invalid_actions, "episode_done": self.episode_done}  # fmt: skip

        self._pending = [False] * self.num_workers
        self._started = False
        self._closed = False
        context: Any = mp.get_context(start_method)
        method = context.get_start_method()
        trainer = Trainer.this(method)
        self._linked = [True]
        self._conns: list[Connection] = []
        self._processes: list[Any] = []
        self._finalizer = weakref.finalize(
            self, _release, self._shm, self._linked, self._processes, self._conns
        )
        for g in self.groups:
            parent, child = context.Pipe()
            inherited = [*self._conns, parent] if method == "fork" else []
            process = context.Process(
                target=_worker,
                args=(
                    child,
                    self._shm.name,
                    specs,
                    (g.start, g.stop),
                    self.config,
                    self.seed,
                    reward_fn,
                    autoreset,
                    trainer,
                    inherited,
                ),
                daemon=True,
            )
            process.start()
            child.close()  # so the trainer sees EOF if the worker dies
            self._conns.append(parent)
            self._processes.append(process)
        for k in range(self.num_workers):
            self._expect(k, "ready")
        _unlink(self._shm, self._linked)  # every worker has it mapped: no name needs to stay behind

    # ------------------------------------------------------------------ synchronous API

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Start a new episode in every world (see :meth:`VecEnv.reset`)."""
        self._check_open()
        if seed is not None:
            self.seed = check_seed(seed)
        self._drain()
        self._broadcast("reset", seed)
        self._started = True
        return self.observations, self.infos

    def step_buffered(
        self,
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """:meth:`step` with the actions already written into ``action_buffer``."""
        self._check_started()
        self._drain()
        self._broadcast("step", None)
        return self.observations, self.rewards, self.terminations, self.truncations, self.infos

    def load(self, world: int, material: np.ndarray, placements: np.ndarray | None = None) -> None:
        """Play ``world`` on a given map (see :meth:`VecEnv.load`)."""
        g = self._group_of(world)
        self._drain()
        self._send(g, "load", (world - self.groups[g].start, np.asarray(material), placements))
        self._expect(g, "ok")
        self._started = True

    def unload(self, world: int) -> None:
        g = self._group_of(world)
        self._drain()
        self._send(g, "unload", world - self.groups[g].start)
        self._expect(g, "ok")

    # ------------------------------------------------------------------ asynchronous API

    def send(self, actions: Any, group: int) -> None:
        """Start stepping worker group ``group`` with actions for its slots
        (``int [len(groups[group]) * slots_per_world, n_heads]``)."""
        self._check_started()
        if self._pending[group]:
            raise RuntimeError(f"group {group} is still stepping: recv() it before sending again")
        block = self.group_slots(group)
        n = block.stop - block.start
        as_action_array(actions, len(self.groups[group]), n, self.n_heads, self.action_buffer[block])
        self._send(group, "step", None)
        self._pending[group] = True

    def recv(
        self,
    ) -> tuple[int, dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Wait for the next group that finished stepping; return ``(group, observations, rewards,
        terminations, truncations, infos)`` as views of that group's block of the buffers."""
        pending = [self._conns[g] for g in range(self.num_workers) if self._pending[g]]
        if not pending:
            raise RuntimeError("no group is stepping: send() actions first")
        ready = wait(pending)
        g = next(k for k, conn in enumerate(self._conns) if conn is ready[0])
        self._expect(g, "ok")
        self._pending[g] = False
        views = _slice(self._buffers, slice(self.groups[g].start, self.groups[g].stop), self.group_slots(g))
        obs = {f.key: views[f.key] for f in self.layout.fields}
        infos = {k: views[k] for k in ("alive", "agent_id", "spawned", "invalid_actions", "episode_done")}
        return g, obs, views["rewards"], views["terminations"], views["truncations"], infos

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Stop the workers and release the shared memory (safe to call twice). Arrays obtained
        from this env must not be used afterwards."""
        if self._closed:
            return
        self._closed = True
        for name in list(self.__dict__):
            if name in ("observations", "_buffers", "infos") or isinstance(self.__dict__[name], np.ndarray):
                self.__dict__[name] = None  # drop our views so the block can be closed
        self._finalizer()

    def __enter__(self) -> MultiprocessVecEnv:
        return self

    def __getstate__(self) -> NoReturn:
        """Refused: this object is a handle on worker processes and a shared-memory block, which a
        copy could neither share (two trainers driving one set of workers) nor own."""
        raise TypeError(
            "a MultiprocessVecEnv cannot be pickled or copied: it is a handle on worker processes and "
            "shared memory. Build one from the same arguments in the process that needs it, or copy a "
            "VecEnv (pickle and copy.deepcopy work on it)"
        )

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _group_of(self, world: int) -> int:
        world = world_index(world, self.num_worlds)
        return next(g for g, r in enumerate(self.groups) if world in r)

    def _send(self, g: int, command: str, arg: Any) -> None:
        try:
            self._conns[g].send_bytes(STEP if command == "step" else _message(command, arg))
        except (BrokenPipeError, OSError):
            self._fail(g, "its pipe is closed")

    def _expect(self, g: int, status: str) -> None:
        try:
            raw = self._conns[g].recv_bytes()
            kind: str
            detail: Any
            kind, detail = ("ok", None) if raw == OK else pickle.loads(raw)
        except (EOFError, OSError):
            self._fail(g, "it exited without answering")
        if kind == "invalid":
            name, message = detail
            raise (TypeError if name == "TypeError" else ValueError)(message)
        if kind == "error":
            self._fail(g, f"it raised:\n{detail}")
        if kind != status:
            self._fail(g, f"expected {status!r}, got {kind!r}")

    def _broadcast(self, command: str, arg: Any) -> None:
        for g in range(self.num_workers):
            self._send(g, command, arg)
        for g in range(self.num_workers):
            self._expect(g, "ok")

    def _drain(self) -> None:
        """Finish any asynchronous steps in flight before a synchronous call."""
        for g in range(self.num_workers):
            if self._pending[g]:
                self._expect(g, "ok")
                self._pending[g] = False

    def _fail(self, g: int, why: str) -> NoReturn:
        process = self._processes[g]
        process.join(timeout=1)
        code = process.exitcode
        self.close()
        raise WorkerError(f"worker {g} (worlds {self.groups[g].start}..{self.groups[g].stop - 1}) failed: "
                          f"{why} (exit code {code})")  # fmt: skip
