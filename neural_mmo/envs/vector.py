"""VecEnv: N worlds stepped together into preallocated flat buffers (the trainers' fast path).

Every world has the same fixed number of agent slots (``spawn.n_agents``); flat index
``w * slots_per_world + i`` is slot ``i`` of world ``w``. All outputs are numpy arrays allocated
once and overwritten in place by every call (copy what you keep; never write into them: the encoder
rewrites only the entity rows that changed). No per-agent Python runs here.

Slot semantics, per step:

* ``alive[k]``: slot ``k`` holds a living agent after this step; ``agent_id[k]`` says which (-1
  when empty). In continuous and persistent modes slots are reused by new agents; ``spawned[k]``
  marks a slot whose agent appeared this step (reset recurrent state there).
* ``terminations[k]``: the slot's agent died this step (its last observation is in the buffers).
* ``truncations[k]``: the episode hit its horizon with this agent alive.
* ``rewards[k]``: the reward of the slot's agent this step (0 for empty slots).
* ``invalid_actions[k]``: action heads of this slot rejected this step (became no-ops).

Experiment settings (``neural_mmo.envs.settings``): with ``map.fixed_seed`` or ``map.file`` every
episode of every world plays one map; with ``spawn.sample_cap`` each world draws its own population
cap at every episode (``spawn_caps[w]``).

Per world, running totals since construction (for training logs; never reset, take differences):
``event_counts[w, kind]`` counts the world's events by ``EventKind`` value, and
``death_causes[w, cause]`` its agents' deaths by ``DeathCause``.

Episode ends set ``episode_done[w]``: the horizon (unless persistent), or nobody alive after the
tick's spawns (concurrent mode once everyone died; continuous mode only when every agent died on
one tick with no slot or edge tile free for a newcomer, since ``min_alive`` respawns otherwise). With
``autoreset=True`` (the default) the *next* ``step`` resets that world instead of stepping it
(its actions are ignored) and returns the new episode's first observations, with ``spawned`` set,
so the final observation of an episode is always seen, which bootstrapping on truncation needs.
"""

from __future__ import annotations

import copy
import os
from typing import Any, NamedTuple

import numba
import numba.typed
import numpy as np

from neural_mmo.config import Config, make_config
from neural_mmo.envs.actions import as_action_array, sanitize_actions
from neural_mmo.envs.memory import check_memory
from neural_mmo.envs.settings import fixed_material, room_of, rules_with_cap, sampled_cap
from neural_mmo.observe.encode import REBUILT, Encoding, Observer, ObserverArrays, write_all
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.tasks.rewards import RewardFn, SurvivalReward, apply_death_penalty
from neural_mmo.world.commands import NO_COMMAND
from neural_mmo.world.events import DeathCause, EventColumn, EventKind
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import SPAWNABLE, materials_in_play
from neural_mmo.world.rng import check_seed, episode_seed
from neural_mmo.world.rules import Rules
from neural_mmo.world.snapshot import (
    SaveError,
    SaveFile,
    check_arrays,
    check_config,
    check_world_values,
    copy_arrays,
    read_save,
    world_arrays,
    write_save,
)
from neural_mmo.world.state import Clock, World, WorldState
from neural_mmo.world.step import reset as reset_world
from neural_mmo.world.step import tick


class Slots(NamedTuple):
    """One world's block of the per-slot buffers (views of the flat arrays), its running totals
    and its decoded commands: what one world's step reads and writes besides the world itself."""

    actions: np.ndarray  # int64 [S, n_heads]  raw actions staged for the step
    commands: np.ndarray  # int32 [S, len(Command)]  the decoded actions the world runs
    invalid: np.ndarray  # int32 [S]  action heads rejected this step
    alive: np.ndarray  # bool [S]
    agent_id: np.ndarray  # int64 [S]
    spawned: np.ndarray  # bool [S]
    terminations: np.ndarray  # bool [S]
    truncations: np.ndarray  # bool [S]
    rewards: np.ndarray  # float32 [S]
    event_counts: np.ndarray  # int64 [max(EventKind) + 1]  running totals of the world's events
    death_causes: np.ndarray  # int64 [len(DeathCause)]  running totals of its deaths by cause


class WorldIo(NamedTuple):
    """Everything one world's step touches, by name (one entry per world of a VecEnv)."""

    world: World
    observer: ObserverArrays
    slots: Slots
    rules: Rules
    encoding: Encoding


@kernel
def _publish(io: WorldIo, truncate: bool) -> int:
    """Copy one world's per-slot flags into its slots, zero the rewards of empty slots; return the
    number of living agents. (A :func:`~neural_mmo.world.kernel.kernel`, as the functions below
    that take a ``WorldIo``: a call that counted references would count each of its hundred
    arrays, about 2 µs per world-step.)"""
    agents, out = io.world.agents, io.slots
    tick = io.world.clock[Clock.TICK]
    n = 0
    for i in range(agents.alive.shape[0]):
        a = agents.alive[i]
        died = not a and agents.death_tick[i] == tick and tick > 0
        out.alive[i] = a
        out.agent_id[i] = agents.agent_id[i] if a or died else -1
        out.spawned[i] = a and agents.spawn_tick[i] == tick
        out.terminations[i] = died
        out.truncations[i] = a and truncate
        if not (a or died):
            out.rewards[i] = 0.0
        n += a
    return n


@numba.njit(cache=True)
def _new_io_list(first: WorldIo) -> Any:
    """A typed list holding ``first``. Built, grown and written only inside compiled (and so
    cached) functions: a typed list's own methods called from Python compile anew in every
    process, seconds for a record this large."""
    worlds = numba.typed.List()
    worlds.append(first)
    return worlds


@numba.njit(cache=True)
def _append_io(worlds: Any, io: WorldIo) -> None:
    worlds.append(io)


@numba.njit(cache=True)
def _set_io(worlds: Any, w: int, io: WorldIo) -> None:
    worlds[w] = io


@kernel
def _count_events(io: WorldIo) -> None:
    """Add the world's events of this tick to its running totals by kind and deaths by cause."""
    events, out = io.world.events, io.slots
    for k in range(events.counts[0]):
        kind = events.table[k, EventColumn.KIND]
        out.event_counts[kind] += 1
        if kind == EventKind.DEATH:
            out.death_causes[events.table[k, EventColumn.VALUE]] += 1


@numba.njit(cache=True)
def _step_worlds(
    worlds: Any, todo: np.ndarray, penalty: float, survival: bool, ends_when_empty: bool, n_alive: np.ndarray,
    at_horizon: np.ndarray, episode_done: np.ndarray,
) -> None:  # fmt: skip
    """Every world ``w`` with ``todo[w]`` in one call: decode its actions, tick, count its events,
    write its observations and, with the default reward (``survival``), its rewards, per-slot
    flags and ``episode_done[w]`` (else the caller finishes the step with :func:`_publish_worlds`)."""
    for w in range(len(worlds)):
        if not todo[w]:
            continue
        io = worlds[w]
        world, out, rules = io.world, io.slots, io.rules
        sanitize_actions(
            out.actions,
            io.observer.action_mask,
            io.encoding.head_offsets,
            io.encoding.head_sizes,
            out.alive,
            io.observer.entity_slot,
            out.commands,
            out.invalid,
            rules.combat.auto_target,
            rules.exchange.price_unit,
        )
        tick(world, out.commands, rules)
        _count_events(io)
        write_all(world, io.observer, io.encoding, rules)
        now = world.clock[Clock.TICK]
        at_horizon[w] = not rules.episode.persistent and now >= rules.episode.horizon
        n_alive[w] = -1
        if survival:
            apply_death_penalty(world.events, penalty, out.rewards)
            _finish(io, w, ends_when_empty, n_alive, at_horizon, episode_done)


@kernel
def _finish(
    io: WorldIo, w: int, ends_when_empty: bool, n_alive: np.ndarray, at_horizon: np.ndarray,
    episode_done: np.ndarray,
) -> None:  # fmt: skip
    """Publish world ``w``'s (``io``) per-slot flags; its episode is done at the horizon, or when
    nobody is left and no one will spawn (``ends_when_empty``)."""
    n_alive[w] = _publish(io, at_horizon[w])
    episode_done[w] = at_horizon[w] or (n_alive[w] == 0 and ends_when_empty)


@numba.njit(cache=True)
def _publish_worlds(
    worlds: Any, todo: np.ndarray, ends_when_empty: bool, n_alive: np.ndarray, at_horizon: np.ndarray,
    episode_done: np.ndarray,
) -> None:  # fmt: skip
    """:func:`_finish` every world with ``todo[w]`` (after a custom reward function)."""
    for w in range(len(worlds)):
        if todo[w]:
            _finish(worlds[w], w, ends_when_empty, n_alive, at_horizon, episode_done)


@numba.njit(cache=True)
def _start_world(worlds: Any, w: int) -> None:
    """World ``w`` right after its reset: observations, event totals and flags."""
    io = worlds[w]
    write_all(io.world, io.observer, io.encoding, io.rules)
    _count_events(io)
    _publish(io, False)


class Output(NamedTuple):
    """The declaration of one output buffer of a VecEnv: one row per agent slot or per world."""

    per_world: bool  # rows: one per world (else one per agent slot)
    dtype: type
    shape: tuple[int, ...] = ()  # shape of one row
    info: bool = False  # also an entry of ``infos``


OUTPUTS: dict[str, Output] = {
    "rewards": Output(False, np.float32),
    "terminations": Output(False, np.bool_),
    "truncations": Output(False, np.bool_),
    "alive": Output(False, np.bool_, info=True),
    "agent_id": Output(False, np.int64, info=True),
    "spawned": Output(False, np.bool_, info=True),
    "invalid_actions": Output(False, np.int32, info=True),
    "episode_done": Output(True, np.bool_, info=True),
    "event_counts": Output(True, np.int64, (max(EventKind) + 1,)),
    "death_causes": Output(True, np.int64, (len(DeathCause),)),
}
"""Every output buffer of a VecEnv (see the module docs for what each holds), declared once:
:func:`buffer_specs`, the env's attributes, ``infos`` and the multi-process env's shared memory
are derived from it."""

PER_WORLD = frozenset(name for name, out in OUTPUTS.items() if out.per_world) | {"market"}
"""Buffers with one row per world: the per-world outputs and the tables published once per world
(``ObsLayout.world_fields``); the others, the observations and the action buffer have one row per
agent slot."""


WORLD_INDEX = "world_index"
"""Key, beside the world tables, of each agent slot's world (``int64 [num_slots]``): the row of
every world table (``market``) that the slot sees (:func:`with_tables`)."""


def world_index(world: Any, num_worlds: int) -> int:
    """``world`` as the index of one of ``num_worlds`` worlds; ``ValueError`` unless it is one."""
    if isinstance(world, bool) or not isinstance(world, (int, np.integer)) or not 0 <= world < num_worlds:
        raise ValueError(f"world must be an int in 0..{num_worlds - 1}, got {world!r}")
    return int(world)


def with_tables(env: Any, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``observations`` (``env``'s per-slot buffers) with ``env``'s world tables (``market``, with
    the exchange on: ``[num_worlds, ...]``, published once per world) and :data:`WORLD_INDEX`, for
    policies that read them (``Policy.reads_tables``; the trained models score ``buy`` over the
    market's rows); ``observations`` itself when the env publishes none."""
    market = getattr(env, "market", None)
    if market is None:
        return observations
    index = np.arange(env.num_slots, dtype=np.int64) // env.slots_per_world
    return {**observations, "market": market, WORLD_INDEX: index}


def buffer_specs(layout: ObsLayout, num_worlds: int) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Name -> (shape, dtype) of every array a VecEnv of ``num_worlds`` worlds reads and writes:
    the observations, the :data:`OUTPUTS` and the action buffer."""
    n = num_worlds * layout.config.spawn.n_agents
    specs = {f.key: ((n, *f.shape), f.dtype) for f in layout.fields}
    specs.update({f.key: ((num_worlds, *f.shape), f.dtype) for f in layout.world_fields})
    for name, out in OUTPUTS.items():
        specs[name] = (((num_worlds if out.per_world else n), *out.shape), np.dtype(out.dtype))
    specs["action_buffer"] = ((n, len(layout.heads)), np.dtype(np.int64))
    return specs


def allocate_buffers(specs: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray]:
    """Zeroed arrays for ``buffer_specs``."""
    return {name: np.zeros(shape, dtype) for name, (shape, dtype) in specs.items()}


def _checked_rewards(value: Any, n: int) -> np.ndarray:
    """A reward function's result as an array of ``n`` numbers, or a TypeError saying what is wrong."""
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    if array.shape != (n,) or array.dtype.kind not in "biuf":
        raise TypeError(
            f"reward_fn must return {n} numbers (an array of shape ({n},), one per agent slot), "
            f"got {type(value).__name__} with shape {array.shape} and dtype {array.dtype}"
        )
    return array


class VecEnv:
    """``num_worlds`` worlds with flat buffers. See the module docs for the slot semantics.

    Arguments:
        num_worlds: worlds stepped per call.
        preset: ``small``, ``medium`` (the default) or ``large``.
        config: a full :class:`~neural_mmo.config.Config` instead of a preset.
        seed: base seed; world ``w``'s episode ``e`` uses the seed ``(seed, w, e)``.
        reward_fn: ``fn(state, events) -> [slots]`` rewards (default: -1 on death).
        autoreset: reset finished worlds on the next step (see module docs).
        buffers: arrays to write into instead of allocating (``buffer_specs`` names and shapes
            them); the multi-process VecEnv passes views of shared memory here.
        first_world: global index of this env's first world, for seeds (world ``w`` here is world
            ``first_world + w`` of a larger run split over processes).
        memory_limit: share of the machine's memory the env may take (default 0.5, or
            ``$NEURAL_MMO_MEMORY_LIMIT``; ``math.inf``: no limit): a config needing more is refused
            with a MemoryLimitError before anything is allocated (``neural_mmo.envs.memory``).
            Not checked when ``buffers`` are given (their owner checked).
        **overrides: config fields, e.g. ``horizon=256`` or ``spawn__n_agents=16``.
    """

    # the OUTPUTS buffers, assigned in __init__ from the declarations (names checked by a test)
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    alive: np.ndarray
    agent_id: np.ndarray
    spawned: np.ndarray
    invalid_actions: np.ndarray
    episode_done: np.ndarray
    event_counts: np.ndarray
    death_causes: np.ndarray

    def __init__(
        self,
        num_worlds: int = 1,
        preset: str | None = None,
        *,
        config: Config | None = None,
        seed: int = 0,
        reward_fn: RewardFn | None = None,
        autoreset: bool = True,
        buffers: dict[str, np.ndarray] | None = None,
        first_world: int = 0,
        memory_limit: float | None = None,
        **overrides: Any,
    ):
        if isinstance(num_worlds, bool) or not isinstance(num_worlds, (int, np.integer)) or num_worlds < 1:
            raise ValueError(f"num_worlds must be a positive int, got {num_worlds!r}")
        self.config = make_config(preset, config, **overrides)
        self.layout = ObsLayout(self.config)
        self.num_worlds = int(num_worlds)
        self.slots_per_world = self.config.spawn.n_agents
        self.num_slots = self.num_worlds * self.slots_per_world
        self.n_heads = len(self.layout.heads)
        self.reward_fn: RewardFn = reward_fn if reward_fn is not None else SurvivalReward()
        self.autoreset = autoreset
        self.seed = check_seed(seed)

        self.first_world = int(first_world)
        self._memory_limit = memory_limit
        n, S = self.num_slots, self.slots_per_world
        if buffers is None:
            check_memory(self.config, self.num_worlds, memory_limit)
        b = buffers if buffers is not None else allocate_buffers(buffer_specs(self.layout, self.num_worlds))
        self.observations = {f.key: b[f.key] for f in self.layout.fields}
        self.market: np.ndarray | None = b["market"] if self.layout.world_fields else None
        """Each world's market table (``[num_worlds, rows, MarketView]``, with ``exchange.enabled``;
        else None): published once per world, in no agent's observation (``ObsLayout.world_fields``)."""
        for name in OUTPUTS:  # self.rewards, self.alive, ... (see OUTPUTS)
            setattr(self, name, b[name])
        self.agent_id.fill(-1)
        self.infos: dict[str, np.ndarray] = {name: b[name] for name, out in OUTPUTS.items() if out.info}
        self.action_buffer = b["action_buffer"]
        """Actions staged for :meth:`step_buffered` (any int64 values; they are checked there)."""
        self._commands = np.tile(np.array(NO_COMMAND, np.int32), (n, 1))
        self._entity_slot = np.full((n, self.layout.n_entities), -1, np.int32)
        self.worlds = [WorldState.allocate(self.config) for _ in range(self.num_worlds)]
        self._observers = [
            Observer(
                self.layout,
                {k: v[w * S : (w + 1) * S] for k, v in self.observations.items()}
                | ({} if self.market is None else {"market": self.market[w]}),
                self._entity_slot[w * S : (w + 1) * S],
                incremental=True,  # writes after every tick of its world; rewrite_all after a restore
            )
            for w in range(self.num_worlds)
        ]
        self._rules = self.worlds[0].rules
        self._fixed_map = fixed_material(self.config)
        """The one map every episode plays (``map.fixed_seed``, ``map.file``), or None."""
        self.spawn_caps = np.full(self.num_worlds, room_of(self.config), np.int64)
        """Most agents alive at once in each world this episode (``spawn.cap``; drawn per world
        and episode with ``spawn.sample_cap``)."""
        self._io = _new_io_list(self._world_io(0))
        for w in range(1, self.num_worlds):
            _append_io(self._io, self._world_io(w))
        """Per world: every array of one whole step, by name (:class:`WorldIo`); built once, since
        no array ever moves. A typed list, so one compiled call steps every world."""
        self._todo = np.zeros(self.num_worlds, np.bool_)
        self._every_world = np.ones(self.num_worlds, np.bool_)
        self._ends_when_empty = self.config.spawn.mode == "concurrent" or self.config.spawn.min_alive > 0
        """An episode ends when its last agent dies only if no one will spawn again."""
        self._n_alive = np.zeros(self.num_worlds, np.int64)
        self._at_horizon = np.zeros(self.num_worlds, np.bool_)
        self.observation_space = self.layout.observation_space()
        """Space of ONE slot's observation (a gymnasium Dict)."""
        self.action_space = self.layout.action_space()
        """Space of ONE slot's action (a gymnasium Dict of Discrete heads)."""
        self._episodes = np.zeros(self.num_worlds, np.int64)
        self._idle = np.zeros(self.num_worlds, np.bool_)
        self._maps: list[tuple[np.ndarray, np.ndarray | None] | None] = [None] * self.num_worlds
        self._started = False

    # ------------------------------------------------------------------ API

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Start a new episode in every world. A new ``seed`` restarts the seed sequence."""
        if seed is not None:
            self.seed = check_seed(seed)
            self._episodes.fill(0)
        elif self._started:
            self._episodes += 1
        self._started = True
        for w in range(self.num_worlds):
            self._reset_world(w)
        self.episode_done.fill(False)
        return self.observations, self.infos

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Advance every world one tick with ``int [num_slots, n_heads]`` actions."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        as_action_array(actions, self.num_worlds, self.num_slots, self.n_heads, self.action_buffer)
        return self.step_buffered()

    def step_buffered(
        self,
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """:meth:`step` with the actions already written into ``action_buffer`` (no copy)."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        self._advance()
        return self.observations, self.rewards, self.terminations, self.truncations, self.infos

    def load(self, world: int, material: np.ndarray, placements: np.ndarray | None = None) -> None:
        """Play ``world`` on a given map from now on, instead of generated ones.

        ``material`` is a ``uint8 [G, G]`` grid of Material values (G = ``config.grid_side``,
        border included); ``placements`` (integer ``[k, 2]`` rows ``(r, c)`` inside the playable
        area) puts agents 0..k-1 in slots 0..k-1 there instead of following the spawn rules
        (later spawns follow them). A new episode starts at once (call it between episodes: the
        agents of an interrupted episode just vanish), and every later episode of this world uses
        the same map until :meth:`unload`. Used by scenario tests and for hand-made maps.
        """
        world = world_index(world, self.num_worlds)
        side = self.config.grid_side
        material = np.asarray(material)
        if material.shape != (side, side) or material.dtype.kind not in "iu":
            raise ValueError(
                f"material must be an integer grid of shape ({side}, {side}), "
                f"got {material.dtype} {material.shape}"
            )
        n_materials = materials_in_play(self.config.profession.enabled)
        if material.min() < 0 or material.max() >= n_materials:
            raise ValueError(
                f"material values must be in [0, {n_materials}) (resource tiles need profession.enabled), "
                f"got {material.min()}..{material.max()}"
            )
        if placements is not None:
            placements = np.asarray(placements)
            if placements.dtype.kind not in "iu" or placements.ndim != 2 or placements.shape[1] != 2:
                raise ValueError(
                    f"placements must be integer rows (r, c), got {placements.dtype} {placements.shape}"
                )
            placements = placements.astype(np.int64)
            if len(placements) > self.slots_per_world:
                raise ValueError(f"{len(placements)} placements for {self.slots_per_world} slots")
            lo, hi = self.config.map.border, self.config.map.border + self.config.map.size
            if (placements < lo).any() or (placements >= hi).any():
                raise ValueError(f"placements must lie in the playable area: rows and columns {lo}..{hi - 1}")
            if not SPAWNABLE[material[placements[:, 0], placements[:, 1]]].all():
                raise ValueError("every placement must be a spawnable tile (not lava, water or stone)")
            if len({(int(a), int(b)) for a, b in placements}) != len(placements):
                raise ValueError("two placements on one tile")
        if not self._started:
            self.reset()
        else:
            self._episodes[world] += 1
        self._maps[world] = (material.astype(np.uint8), placements)
        self._reset_world(world)
        self.episode_done[world] = False

    def episode_index(self, world: int) -> int:
        """Index of ``world``'s current episode since the seed was set (its seeds derive from it)."""
        return int(self._episodes[world])

    def unload(self, world: int) -> None:
        """Go back to generated maps for ``world`` from its next episode on."""
        self._maps[world] = None

    def rewrite_observations(self, world: int | None = None) -> None:
        """Write the observations of ``world`` (every world if None) anew from its state, every
        part of every slot: call after editing a world's arrays by hand between steps (the
        encoder otherwise rewrites an agent's holdings parts only after the events that change
        them)."""
        for w in range(self.num_worlds) if world is None else [world_index(world, self.num_worlds)]:
            self._observers[w].rewrite_all()
            self._observers[w].write(self.worlds[w])

    def close(self) -> None:
        """Nothing to release in-process; here for API symmetry."""

    # ------------------------------------------------------------------ internals

    def _advance(self) -> None:
        reward_fn, penalty = self.reward_fn, 0.0
        survival = type(reward_fn) is SurvivalReward  # the default reward: computed in the kernel
        if isinstance(reward_fn, SurvivalReward):
            penalty = reward_fn.death_penalty
        done = self.episode_done
        todo = self._every_world  # the common case: no episode ended on the last step
        if np.count_nonzero(done):  # those worlds restart (or stay idle); not stepped this time
            todo = np.logical_not(done, out=self._todo)
            for w in np.flatnonzero(done).tolist():
                if not self.autoreset:
                    self._publish_idle(w)
                    continue
                self._episodes[w] += 1
                self._reset_world(w)
                done[w] = False
            if not todo.any():
                return
        io, n_alive, at_horizon, ends = self._io, self._n_alive, self._at_horizon, self._ends_when_empty
        _step_worlds(io, todo, penalty, survival, ends, n_alive, at_horizon, done)
        if not survival:
            S = self.slots_per_world
            for w in np.flatnonzero(todo).tolist():
                state = self.worlds[w]
                self.rewards[w * S : (w + 1) * S] = _checked_rewards(reward_fn(state, state.events), S)
            _publish_worlds(io, todo, ends, n_alive, at_horizon, done)

    def _publish_idle(self, w: int) -> None:
        """A finished world without autoreset: empty slots, no events, no stale observations."""
        block = slice(w * self.slots_per_world, (w + 1) * self.slots_per_world)
        for array in (self.rewards, self.terminations, self.truncations, self.spawned, self.alive):
            array[block] = 0
        self.agent_id[block] = -1
        self.invalid_actions[block] = 0
        if not self._idle[w]:
            self._idle[w] = True
            self.worlds[w].events.clear()
            self._observers[w].clear()

    def _draw_cap(self, w: int) -> None:
        """World ``w``'s own population cap for its current episode (``spawn.sample_cap``)."""
        if not self.config.spawn.sample_cap:
            return
        cap = sampled_cap(self.config, self.seed, self.first_world + w, int(self._episodes[w]))
        self.worlds[w].rules = rules_with_cap(self._rules, cap)
        _set_io(self._io, w, self._world_io(w))
        self.spawn_caps[w] = cap

    def _reset_world(self, w: int) -> None:
        state = self.worlds[w]
        material, placements = self._maps[w] or (self._fixed_map, None)
        self._draw_cap(w)
        reset_world(
            state, episode_seed(self.seed, self.first_world + w, int(self._episodes[w])), material, placements
        )
        self._idle[w] = False
        self._observers[w].clear()
        block = slice(w * self.slots_per_world, (w + 1) * self.slots_per_world)
        self.rewards[block] = 0.0
        self.invalid_actions[block] = 0
        _start_world(self._io, w)

    def _world_io(self, w: int) -> WorldIo:
        """World ``w``'s :class:`WorldIo`: its state, and views of its block of every buffer."""
        block = slice(w * self.slots_per_world, (w + 1) * self.slots_per_world)
        slots = Slots(
            actions=self.action_buffer[block],
            commands=self._commands[block],
            invalid=self.invalid_actions[block],
            alive=self.alive[block],
            agent_id=self.agent_id[block],
            spawned=self.spawned[block],
            terminations=self.terminations[block],
            truncations=self.truncations[block],
            rewards=self.rewards[block],
            event_counts=self.event_counts[w],
            death_causes=self.death_causes[w],
        )
        observer = self._observers[w]
        state = self.worlds[w]
        return WorldIo(state.world, observer.arrays, slots, state.rules, observer.encoding)

    # ------------------------------------------------------------------ saves

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save every world and this env's bookkeeping to ``path`` (atomically; ``docs/saves.md``).

        :meth:`restore` (or :meth:`from_save`) and the same actions then give bit-identical outputs
        to never having stopped. The reward function is not saved: the restoring env's is used.
        """
        meta, arrays = self.snapshot()
        write_save(path, "vec", self.config, arrays, meta)

    def restore(self, path: str | os.PathLike[str]) -> None:
        """Continue from a :meth:`save` of an env of the same config and ``num_worlds`` (seed,
        episodes, maps, buffers and worlds all come from the file). Raises
        :class:`~neural_mmo.world.snapshot.SaveError` and changes nothing when the file is bad.
        (``load`` is taken: it plays a world on a given map.)"""
        self.restore_snapshot(read_save(path, ("vec",)), path)

    @classmethod
    def from_save(cls, path: str | os.PathLike[str], reward_fn: RewardFn | None = None) -> VecEnv:
        """A new env built from the config and shape in the save at ``path``, then restored."""
        save = read_save(path, ("vec",))
        vec = cls._for_save(save, path, reward_fn)
        vec.restore_snapshot(save, path)
        return vec

    @classmethod
    def _for_save(cls, save: SaveFile, path: Any, reward_fn: RewardFn | None) -> VecEnv:
        """An env of the save's config and world count (to restore the save into)."""
        num_worlds = save.meta.get("num_worlds")
        if type(num_worlds) is not int or not 1 <= num_worlds <= 2**20:
            raise SaveError(f"{path}: corrupt save (num_worlds {num_worlds!r})")
        return cls(num_worlds, config=save.config, reward_fn=reward_fn)

    def snapshot(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(meta, arrays)``: everything :meth:`save` writes (the arrays are live views, not copies)."""
        maps = [None if m is None else {"placements": m[1] is not None} for m in self._maps]
        meta = {"num_worlds": self.num_worlds, "first_world": self.first_world, "seed": self.seed,
                "autoreset": bool(self.autoreset), "started": bool(self._started), "maps": maps}  # fmt: skip
        arrays = self._saved_arrays()
        for w, m in enumerate(self._maps):
            if m is not None:
                arrays[f"map{w}.material"] = m[0]
                if m[1] is not None:
                    arrays[f"map{w}.placements"] = m[1]
        return meta, arrays

    def restore_snapshot(self, save: SaveFile, path: Any = "save") -> None:
        """Check a read save against this env, then copy it in (all or nothing)."""
        check_config(path, save.config, self.config)
        meta = save.meta
        if meta.get("num_worlds") != self.num_worlds:
            raise SaveError(
                f"{path}: a save of {meta.get('num_worlds')!r} worlds; this env has {self.num_worlds}"
            )
        try:
            seed, first_world = check_seed(meta["seed"]), check_seed(meta["first_world"])
            flags = meta["autoreset"], meta["started"]
            if not all(isinstance(f, bool) for f in flags) or not isinstance(meta["maps"], list):
                raise TypeError("flags")
            maps = [self._saved_map(save, path, w, m) for w, m in enumerate(meta["maps"])]
        except (KeyError, TypeError, ValueError) as err:
            raise SaveError(f"{path}: corrupt save bookkeeping ({err})") from None
        if len(maps) != self.num_worlds:
            raise SaveError(f"{path}: corrupt save ({len(maps)} maps for {self.num_worlds} worlds)")
        live = self._saved_arrays()
        saved = {k: v for k, v in save.arrays.items() if not k.startswith("map")}
        check_arrays(path, saved, live)
        n_entities = self.slots_per_world + self.config.npc.n_npcs
        for w in range(self.num_worlds):
            check_world_values(path, saved, self.config, f"world{w}.")
            slot = saved[f"observer{w}.entity_slot"]
            if slot.size and (slot.min() < -1 or slot.max() >= n_entities):
                raise SaveError(f"{path}: observer{w}.entity_slot holds values outside [-1, {n_entities})")
        if (saved["vec.episodes"] < 0).any():
            raise SaveError(f"{path}: negative episode indices")
        copy_arrays(saved, live)
        for observer in self._observers:
            observer.rewrite_all()
        self.seed, self.first_world = seed, first_world
        self.autoreset, self._started = flags
        self._maps = maps
        for w in range(self.num_worlds):
            self._draw_cap(w)

    def _saved_arrays(self) -> dict[str, np.ndarray]:
        """Name -> live array of everything saved but the maps: every buffer of
        :func:`buffer_specs`, the episode indices and idle flags, each world's state and the
        observers' own arrays (those not views of the buffers, nor rebuilt after a restore)."""
        specs = buffer_specs(self.layout, self.num_worlds)
        buffers = {k: self.observations[k] if k in self.observations else getattr(self, k) for k in specs}
        arrays = {f"buffer.{name}": array for name, array in buffers.items()}
        arrays["vec.episodes"], arrays["vec.idle"] = self._episodes, self._idle
        for w, state in enumerate(self.worlds):
            arrays.update(world_arrays(state, f"world{w}."))
            own = self._observers[w].arrays
            for name, array in own._asdict().items():
                if isinstance(array, tuple) or name in REBUILT:  # the system views (buffers, or empty)
                    continue
                if not any(np.shares_memory(array, b) for b in buffers.values()):
                    arrays[f"observer{w}.{name}"] = array
        return arrays

    # ------------------------------------------------------------------ copies

    def __getstate__(self) -> dict[str, Any]:
        """What ``pickle`` and ``copy`` keep: how to build an env like this one, and its
        :meth:`snapshot` (every world and buffer, as live views that pickling writes out).
        :meth:`__setstate__` builds fresh worlds, buffers and the views between them, then copies
        the snapshot in: a copy shares no array with this env and continues bit-identically.
        Buffers passed in by a caller (``buffers=``) are not kept: a copy owns its own."""
        meta, arrays = self.snapshot()
        return {"config": self.config, "num_worlds": self.num_worlds, "reward_fn": self.reward_fn,
                "memory_limit": self._memory_limit, "meta": meta, "arrays": arrays}  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        VecEnv.__init__(
            self, state["num_worlds"], config=state["config"], reward_fn=state["reward_fn"],
            memory_limit=state["memory_limit"],
        )  # fmt: skip
        self.restore_snapshot(SaveFile("vec", self.config, state["meta"], state["arrays"]), "copy")

    def __deepcopy__(self, memo: dict[int, Any]) -> VecEnv:
        """A copy straight from this env's arrays (no intermediate copy of the snapshot)."""
        state = self.__getstate__()
        state["reward_fn"] = copy.deepcopy(self.reward_fn, memo)
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        clone.__setstate__(state)
        return clone

    def _saved_map(
        self, save: SaveFile, path: Any, w: int, entry: Any
    ) -> tuple[np.ndarray, np.ndarray | None] | None:
        """World ``w``'s loaded map in a save, checked as :meth:`load` checks one (None: generated maps)."""
        if entry is None:
            return None
        side = self.config.grid_side
        material = save.arrays.get(f"map{w}.material")
        if material is None or material.shape != (side, side) or material.dtype != np.uint8:
            raise TypeError(f"map{w}.material missing or not uint8 [{side}, {side}]")
        if material.max() >= materials_in_play(self.config.profession.enabled):
            raise ValueError(f"map{w}.material holds materials this config does not have")
        if not entry["placements"]:
            return material, None
        placements = save.arrays.get(f"map{w}.placements")
        lo, hi = self.config.map.border, self.config.map.border + self.config.map.size
        if placements is None or placements.dtype != np.int64 or placements.shape[1:] != (2,):
            raise TypeError(f"map{w}.placements missing or not int64 [k, 2]")
        if len(placements) > self.slots_per_world or (placements < lo).any() or (placements >= hi).any():
            raise ValueError(f"map{w}.placements outside the playable area or too many")
        return material, placements
