"""RayVecEnv: the VecEnv API with worlds stepped by Ray actors, anywhere on a Ray cluster.

``num_workers`` actors each own a contiguous group of worlds and an in-process
:class:`~neural_mmo.envs.vector.VecEnv` over them, whose every buffer is a view of one flat
block. The learner (the process that made the RayVecEnv) holds flat buffers that look exactly like
a :class:`VecEnv`'s, so the trainer, its metrics and PPO run unchanged on any of the three
environments (in-process, worker processes, Ray actors). How a block reaches the learner:

* **shared memory**, for actors on the learner's node: the learner's buffers are one
  shared-memory block and each such actor's VecEnv writes straight into its part of it (actions
  are read from there too), so a step is one short call per actor and nothing is copied;
* **object store**, for actors on other nodes: a step sends the actor its slots' actions (a small
  array inside the call) and returns its own block, which Ray carries through its object store;
  the learner copies the block's arrays into its buffers.

``transport="auto"`` (the default) picks per actor; ``"object_store"`` ships every actor's block
through the object store (BENCHMARKS.md compares them: on one node the object store took twice
the shared memory's step time).

World ``w`` uses the seed of world ``w`` of an in-process VecEnv with the same ``seed`` (each
actor's VecEnv is told its first world's global index), so all of them give the same
trajectories for the same actions, and the same training for the same seeds.

Ray is imported when a RayVecEnv is made (extra ``[ray]``). If Ray is not running in this process
yet, :class:`RayVecEnv` starts or joins one with ``ray.init(address=...)`` and shuts it down again
in :meth:`~RayVecEnv.close`; a Ray the caller started is left running. Actors are owned by the
learner: Ray stops them when it exits, however it ends.
"""

from __future__ import annotations

import weakref
from multiprocessing import resource_tracker, shared_memory
from typing import Any

import numpy as np

from neural_mmo.config import Config, make_config
from neural_mmo.envs.memory import check_memory
from neural_mmo.envs.multiprocess import PER_WORLD, WorkerError, WorkerGroups, _layout_of, _slice, _views
from neural_mmo.envs.vector import VecEnv, buffer_specs
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.tasks.rewards import RewardFn
from neural_mmo.world.rng import check_seed

START_TIMEOUT = 300.0
"""Seconds to wait for every actor to be placed and built before giving up with an error."""

TRANSPORTS = ("auto", "object_store")

Specs = dict[str, tuple[tuple[int, ...], np.dtype]]


def shipped_specs(layout: ObsLayout, num_worlds: int) -> Specs:
    """The buffers an actor ships through the object store: all of a VecEnv's but the actions."""
    specs = buffer_specs(layout, num_worlds)
    specs.pop("action_buffer")
    return specs


class EnvWorker:
    """The body of one environment actor (``ray.remote(EnvWorker)``): a VecEnv over worlds
    ``first .. first + count - 1``, built by :meth:`attach` (into the learner's shared memory) or
    :meth:`allocate` (into a block of its own, shipped by :meth:`step`)."""

    def __init__(self, config: Config, seed: int, first: int, count: int, reward_fn: RewardFn | None,
                 autoreset: bool) -> None:  # fmt: skip
        self.args: dict[str, Any] = dict(
            config=config, seed=seed, reward_fn=reward_fn, autoreset=autoreset, first_world=first
        )
        self.config, self.first, self.count = config, first, count
        self.vec: VecEnv | None = None
        self.block: np.ndarray | None = None
        self.shm: shared_memory.SharedMemory | None = None

    def node(self) -> str:
        """The id of the Ray node this actor runs on."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def attach(self, name: str, specs: Specs) -> None:
        """Build the VecEnv over this actor's part of the learner's shared block ``name``."""
        self.shm = shared_memory.SharedMemory(name=name)
        # the learner owns the block and removes its name: this process's tracker must not
        resource_tracker.unregister(self.shm._name, "shared_memory")  # type: ignore[attr-defined]
        offsets, _ = _layout_of(specs)
        slots = self.config.spawn.n_agents
        first, stop = self.first, self.first + self.count
        views = _slice(
            _views(self.shm.buf, specs, offsets), slice(first, stop), slice(first * slots, stop * slots)
        )
        self.vec = VecEnv(self.count, buffers=views, **self.args)

    def allocate(self, memory_limit: float | None) -> None:
        """Build the VecEnv over a block of this actor's own (checked against its node's memory)."""
        check_memory(self.config, self.count, memory_limit)
        layout = ObsLayout(self.config)
        specs = shipped_specs(layout, self.count)
        offsets, size = _layout_of(specs)
        self.block = np.zeros(size, np.uint8)
        views = _views(self.block, specs, offsets)
        views["action_buffer"] = np.zeros(
            (self.count * self.config.spawn.n_agents, len(layout.heads)), np.int64
        )
        self.vec = VecEnv(self.count, buffers=views, **self.args)

    def reset(self, seed: int | None) -> np.ndarray | None:
        assert self.vec is not None
        self.vec.reset(seed)
        return self.block

    def step(self, actions: np.ndarray | None = None) -> np.ndarray | None:
        """One tick: with ``actions`` for this actor's slots (object store), or with those the
        learner wrote into the shared block (``None``). Returns the own block, or None."""
        assert self.vec is not None
        if actions is not None:
            self.vec.action_buffer[:] = actions
        self.vec.step_buffered()
        return self.block


def _release(actors: list[Any], owns_ray: bool, shm: shared_memory.SharedMemory | None) -> None:
    """Stop the actors (and the Ray this env started), free the shared block: close, finaliser,
    or interpreter exit."""
    try:
        import ray

        if ray.is_initialized():
            for actor in actors:
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001 - an actor already gone is what we want
                    pass
            if owns_ray:
                ray.shutdown()
    except ImportError:
        pass
    actors.clear()
    if shm is not None:
        try:
            shm.close()
        except BufferError:
            pass  # a caller still holds views: freed with them
        try:
            shm.unlink()
        except FileNotFoundError:
            pass


class RayVecEnv(WorkerGroups):
    """:class:`~neural_mmo.envs.vector.VecEnv` over Ray actors (see the module docs).

    Arguments: those of :class:`VecEnv`, plus

    * ``num_workers``: actors, one CPU each (default: one per world, up to the cluster's CPUs);
      worlds are split into contiguous groups as evenly as possible, group ``g`` holding worlds
      ``groups[g]``; actors are spread over the cluster's nodes;
    * ``address``: the cluster to join when Ray is not running in this process yet (``"auto"``,
      ``"host:port"``, or None: Ray's default, which starts one on this machine if none runs);
    * ``transport``: ``"auto"`` or ``"object_store"`` (see the module docs);
    * ``memory_limit``: checked on the learner for the whole run, and on each other node for the
      worlds of its actors.

    A RayVecEnv cannot be pickled (it is a handle on running actors): :class:`TypeError`.
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
        address: str | None = None,
        transport: str = "auto",
        memory_limit: float | None = None,
        **overrides: Any,
    ):
        if isinstance(num_worlds, bool) or not isinstance(num_worlds, (int, np.integer)) or num_worlds < 1:
            raise ValueError(f"num_worlds must be a positive int, got {num_worlds!r}")
        if num_workers is not None and (
            isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer))
        ):
            raise ValueError(f"num_workers must be an int, got {num_workers!r}")
        if num_workers is not None and not 1 <= num_workers <= num_worlds:
            raise ValueError(f"num_workers must be in 1..num_worlds={num_worlds}, got {num_workers}")
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        self.config = make_config(preset, config, **overrides)
        self.layout = ObsLayout(self.config)
        self.num_worlds = int(num_worlds)
        self.slots_per_world = self.config.spawn.n_agents
        self.num_slots = self.num_worlds * self.slots_per_world
        self.n_heads = len(self.layout.heads)
        self.seed = check_seed(seed)
        self.transport = transport
        self.observation_space = self.layout.observation_space()
        self.action_space = self.layout.action_space()
        check_memory(self.config, self.num_worlds, memory_limit)
        try:
            import ray
        except ImportError as err:
            raise ImportError(f"the ray backend needs pip install 'neural-mmo[ray]' ({err})") from None

        specs = buffer_specs(self.layout, self.num_worlds)
        offsets, size = _layout_of(specs)
        self._specs = specs
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self._buffers = b = _views(self._shm.buf, specs, offsets)
        b["agent_id"].fill(-1)
        self.observations = {f.key: b[f.key] for f in self.layout.fields}
        self.rewards, self.terminations, self.truncations = b["rewards"], b["terminations"], b["truncations"]
        self.alive, self.agent_id, self.spawned = b["alive"], b["agent_id"], b["spawned"]
        self.invalid_actions, self.episode_done = b["invalid_actions"], b["episode_done"]
        self.event_counts, self.death_causes = b["event_counts"], b["death_causes"]
        self.action_buffer = b["action_buffer"]
        self.infos = {"alive": self.alive, "agent_id": self.agent_id, "spawned": self.spawned,
                      "invalid_actions": self.invalid_actions, "episode_done": self.episode_done}  # fmt: skip

        self._owns_ray = not ray.is_initialized()
        self._actors: list[Any] = []
        self._finalizer = weakref.finalize(self, _release, self._actors, self._owns_ray, self._shm)
        self._started = self._closed = False
        try:
            if self._owns_ray:
                try:
                    ray.init(address=address, include_dashboard=False, configure_logging=False)
                except ConnectionError as err:
                    raise ConnectionError(f"cannot join the Ray cluster at {address!r}: {err}") from None
            self._start(ray, num_workers, reward_fn, autoreset, memory_limit)
        except BaseException:
            self.close()
            raise

    def _start(self, ray: Any, num_workers: int | None, reward_fn: RewardFn | None, autoreset: bool,
               memory_limit: float | None) -> None:  # fmt: skip
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if num_workers is None:
            num_workers = max(1, min(self.num_worlds, cpus))
        if num_workers > cpus:
            raise ValueError(f"{num_workers} environment actor(s) need one CPU each; the Ray cluster has "
                             f"{cpus} CPU(s)")  # fmt: skip
        self.num_workers = int(num_workers)
        bounds = np.linspace(0, self.num_worlds, self.num_workers + 1).round().astype(int)
        self.groups = [range(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

        remote = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(EnvWorker)
        for group in self.groups:
            self._actors.append(
                remote.remote(self.config, self.seed, group.start, len(group), reward_fn, autoreset)
            )
        refs = [actor.node.remote() for actor in self._actors]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=START_TIMEOUT)
        if len(ready) < len(refs):
            free = ray.available_resources().get("CPU", 0)
            raise WorkerError(f"{len(refs) - len(ready)} of {len(refs)} environment actor(s) did not start "
                              f"within {START_TIMEOUT:g} s ({free:g} of the cluster's {cpus} CPU(s) are "
                              "free; other tasks may hold the rest)")  # fmt: skip
        self.nodes: list[str] = self._get(refs)
        """The Ray node id of each actor."""
        here = ray.get_runtime_context().get_node_id()
        self.local_workers = sum(node == here for node in self.nodes)
        """Actors on the learner's node (they share its CPUs)."""
        self.shared = [node == here and self.transport == "auto" for node in self.nodes]
        """Whether each actor writes into the learner's shared memory (else: the object store)."""
        name = self._shm.name
        self._get([
            actor.attach.remote(name, self._specs) if shared else actor.allocate.remote(memory_limit)
            for actor, shared in zip(self._actors, self.shared)
        ])  # fmt: skip
        # where each shipped block's arrays lie, and where they go here
        self._copies: list[list[tuple[np.ndarray, int, int, np.dtype, tuple[int, ...]]]] = []
        for g in range(self.num_workers):
            group_specs = shipped_specs(self.layout, len(self.groups[g]))
            offsets, _ = _layout_of(group_specs)
            worlds, slots = slice(self.groups[g].start, self.groups[g].stop), self.group_slots(g)
            b = self._buffers
            self._copies.append([
                (b[name][worlds] if name in PER_WORLD else b[name][slots], offsets[name],
                 int(np.prod(shape)), np.dtype(dtype), shape)
                for name, (shape, dtype) in group_specs.items()
            ])  # fmt: skip
        try:  # every local actor has the block mapped: no name needs to stay behind
            self._shm.unlink()
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------------ API

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Start a new episode in every world (see :meth:`VecEnv.reset`)."""
        self._check_open()
        if seed is not None:
            self.seed = check_seed(seed)
        self._gather([actor.reset.remote(seed) for actor in self._actors])
        self._started = True
        return self.observations, self.infos

    def step_buffered(
        self,
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """:meth:`step` with the actions already written into ``action_buffer``."""
        self._check_started()
        refs = [
            actor.step.remote(None if shared else self.action_buffer[self.group_slots(g)])
            for g, (actor, shared) in enumerate(zip(self._actors, self.shared))
        ]
        self._gather(refs)
        return self.observations, self.rewards, self.terminations, self.truncations, self.infos

    def close(self) -> None:
        """Stop the actors (and the Ray this env started) and free the buffers (safe to call
        twice). Arrays obtained from this env must not be used afterwards."""
        if self._closed:
            return
        self._closed = True
        for name in list(self.__dict__):
            if name in ("observations", "_buffers", "infos", "_copies") or isinstance(
                self.__dict__[name], np.ndarray
            ):
                self.__dict__[name] = None  # drop our views so the block can be closed
        self._finalizer()

    def __enter__(self) -> RayVecEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError(
            "a RayVecEnv cannot be pickled or copied: it is a handle on running Ray actors; "
            "make a new one with the same arguments instead"
        )

    # ------------------------------------------------------------------ internals

    def _gather(self, refs: list[Any]) -> None:
        """Wait for every actor; copy the blocks shipped through the object store."""
        for copies, block in zip(self._copies, self._get(refs)):
            if block is not None:
                for target, offset, count, dtype, shape in copies:
                    target[...] = np.frombuffer(block, dtype, count, offset).reshape(shape)

    def _get(self, refs: list[Any]) -> list[Any]:
        import ray

        try:
            return ray.get(refs)
        except ray.exceptions.RayActorError as err:
            self.close()
            raise WorkerError(f"an environment actor died: {err}") from None
        except ray.exceptions.RayTaskError as err:
            if isinstance(err.cause, (ValueError, TypeError)):
                raise err.cause from None  # bad input, refused before any change
            self.close()
            raise WorkerError(f"an environment actor failed: {err}") from None


__all__ = ["TRANSPORTS", "EnvWorker", "RayVecEnv", "shipped_specs"]
