"""VecEnv: N worlds stepped together into preallocated flat buffers (the trainers' fast path).

Every world has the same fixed number of agent slots (``spawn.n_agents``); flat index
``w * slots_per_world + i`` is slot ``i`` of world ``w``. All outputs are numpy arrays allocated
once and overwritten in place by every call (copy what you keep). No per-agent Python runs here.

Slot semantics, per step:

* ``alive[k]``: slot ``k`` holds a living agent after this step; ``agent_id[k]`` says which (-1
  when empty). In continuous and persistent modes slots are reused by new agents; ``spawned[k]``
  marks a slot whose agent appeared this step (reset recurrent state there).
* ``terminations[k]``: the slot's agent died this step (its last observation is in the buffers).
* ``truncations[k]``: the episode hit its horizon with this agent alive.
* ``rewards[k]``: the reward of the slot's agent this step (0 for empty slots).
* ``invalid_actions[k]``: action heads of this slot rejected this step (became no-ops).

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

from typing import Any

import numba
import numpy as np

from neural_mmo.config import Config, ConfigError, resolve_key
from neural_mmo.envs.actions import as_action_array, sanitize_actions
from neural_mmo.observe.encode import Observer, write_all
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.tasks.rewards import RewardFn, SurvivalReward, apply_death_penalty
from neural_mmo.world.actions import Command
from neural_mmo.world.events import DeathCause, EventColumn, EventKind
from neural_mmo.world.materials import N_MATERIALS, SPAWNABLE
from neural_mmo.world.rng import check_seed, episode_seed
from neural_mmo.world.state import Clock, WorldState
from neural_mmo.world.step import reset as reset_world
from neural_mmo.world.step import tick_args, tick_packed, unpack_tick_args
from neural_mmo.world.tables import AgentTable


def make_config(preset: str | None = None, config: Config | None = None, **overrides: Any) -> Config:
    """A validated config from a preset (default ``medium``) or a full ``config``, plus keyword
    overrides: bare field names (``horizon=64``) or ``group__field`` (``spawn__n_agents=16``)."""
    if preset is not None and config is not None:
        raise ConfigError(f"preset: got preset={preset!r} and a config; give one or the other")
    if config is not None and not isinstance(config, Config):
        raise TypeError(f"config must be a neural_mmo.Config, got {type(config).__name__}")
    base = config if config is not None else Config.preset(preset or "medium")
    return base.override({resolve_key(k): v for k, v in overrides.items()}) if overrides else base


@numba.njit(cache=True)
def _publish(
    agents: AgentTable, tick: int, truncate: bool, alive: np.ndarray, agent_id: np.ndarray,
    spawned: np.ndarray, terminations: np.ndarray, truncations: np.ndarray, rewards: np.ndarray,
) -> int:  # fmt: skip
    """Copy one world's per-slot flags into the flat buffers, zero the rewards of empty slots;
    return the number of living agents."""
    n = 0
    for i in range(agents.alive.shape[0]):
        a = agents.alive[i]
        died = not a and agents.death_tick[i] == tick and tick > 0
        alive[i] = a
        agent_id[i] = agents.agent_id[i] if a or died else -1
        spawned[i] = a and agents.spawn_tick[i] == tick
        terminations[i] = died
        truncations[i] = a and truncate
        if not (a or died):
            rewards[i] = 0.0
        n += a
    return n


@numba.njit(cache=True)
def _count_events(table: np.ndarray, counts: np.ndarray, kinds: np.ndarray, causes: np.ndarray) -> None:
    """Add one tick's events to a world's running totals by kind and deaths by cause."""
    for k in range(counts[0]):
        kind = table[k, EventColumn.KIND]
        kinds[kind] += 1
        if kind == EventKind.DEATH:
            causes[table[k, EventColumn.VALUE]] += 1


@numba.njit(cache=True)
def _step_world(args: tuple, penalty: float, survival: bool) -> tuple[int, bool]:
    """One world's whole step in one call from Python: decode its actions, tick, write its
    observations and, with the default reward (``survival``), its rewards and per-slot flags.

    ``args`` is built by ``VecEnv._reset_world``. Returns (living agents, horizon reached); living
    agents is -1 when the rewards and flags are left to the caller (any other reward function).
    """
    world, observer, slots, (n_populations, border, persistent, horizon) = args
    raw, action_mask, action_offsets, action_sizes, alive, entity_slot, commands, invalid = slots[:8]
    agent_id, spawned, terminations, truncations, rewards = slots[8:13]
    sanitize_actions(raw, action_mask, action_offsets, action_sizes, alive, entity_slot, commands, invalid)
    tick_packed(world, commands)
    w = unpack_tick_args(world)
    _count_events(w.events.table, w.events.counts, slots[13], slots[14])
    now = w.clock[Clock.TICK]
    write_all(w.agents, w.npcs, w.material, w.occupant, now, n_populations, border, observer)
    at_horizon = not persistent and now >= horizon
    if not survival:
        return -1, at_horizon
    apply_death_penalty(w.events, penalty, rewards)
    n_alive = _publish(
        w.agents, now, at_horizon, alive, agent_id, spawned, terminations, truncations, rewards
    )
    return n_alive, at_horizon


@numba.njit(cache=True)
def _publish_world(args: tuple, truncate: bool) -> int:
    """:func:`_publish` for the world and slots of ``_step_world``'s ``args``."""
    world, slots = args[0], args[2]
    alive, (agent_id, spawned, terminations, truncations, rewards) = slots[4], slots[8:13]
    w = unpack_tick_args(world)
    return _publish(w.agents, w.clock[Clock.TICK], truncate, alive, agent_id, spawned, terminations,
                    truncations, rewards)  # fmt: skip


def buffer_specs(layout: ObsLayout, num_worlds: int) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Name -> (shape, dtype) of every array a VecEnv of ``num_worlds`` worlds reads and writes:
    the observations, the per-slot outputs, the per-world flags and the action buffer."""
    n = num_worlds * layout.config.spawn.n_agents
    specs = {f.key: ((n, *f.shape), f.dtype) for f in layout.fields}
    for name, dtype in (("rewards", np.float32), ("terminations", np.bool_), ("truncations", np.bool_),
                        ("alive", np.bool_), ("agent_id", np.int64), ("spawned", np.bool_),
                        ("invalid_actions", np.int32)):  # fmt: skip
        specs[name] = ((n,), np.dtype(dtype))
    specs["episode_done"] = ((num_worlds,), np.dtype(np.bool_))
    specs["event_counts"] = ((num_worlds, max(EventKind) + 1), np.dtype(np.int64))
    specs["death_causes"] = ((num_worlds, len(DeathCause)), np.dtype(np.int64))
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
        **overrides: config fields, e.g. ``horizon=256`` or ``spawn__n_agents=16``.
    """

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
        n, S = self.num_slots, self.slots_per_world
        b = buffers if buffers is not None else allocate_buffers(buffer_specs(self.layout, self.num_worlds))
        self.observations = {f.key: b[f.key] for f in self.layout.fields}
        self.rewards = b["rewards"]
        self.terminations = b["terminations"]
        self.truncations = b["truncations"]
        self.alive = b["alive"]
        self.agent_id = b["agent_id"]
        self.agent_id.fill(-1)
        self.spawned = b["spawned"]
        self.invalid_actions = b["invalid_actions"]
        self.episode_done = b["episode_done"]
        self.event_counts = b["event_counts"]
        self.death_causes = b["death_causes"]
        self.infos: dict[str, np.ndarray] = {
            "alive": self.alive,
            "agent_id": self.agent_id,
            "spawned": self.spawned,
            "invalid_actions": self.invalid_actions,
            "episode_done": self.episode_done,
        }
        self.action_buffer = b["action_buffer"]
        """Actions staged for :meth:`step_buffered` (any int64 values; they are checked there)."""
        self._commands = np.zeros((n, len(Command)), np.int32)
        self._entity_slot = np.full((n, self.layout.n_entities), -1, np.int32)
        self.worlds = [WorldState.allocate(self.config) for _ in range(self.num_worlds)]
        self._observers = [
            Observer(
                self.layout,
                {k: v[w * S : (w + 1) * S] for k, v in self.observations.items()},
                self._entity_slot[w * S : (w + 1) * S],
            )
            for w in range(self.num_worlds)
        ]
        self._step_args = [self._pack_step(w) for w in range(self.num_worlds)]
        """Per world: every array of one whole step (``_step_world``), packed once: they never move."""
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
        if (
            isinstance(world, bool)
            or not isinstance(world, (int, np.integer))
            or not 0 <= world < self.num_worlds
        ):
            raise ValueError(f"world must be an int in 0..{self.num_worlds - 1}, got {world!r}")
        side = self.config.grid_side
        material = np.asarray(material)
        if material.shape != (side, side) or material.dtype.kind not in "iu":
            raise ValueError(
                f"material must be an integer grid of shape ({side}, {side}), "
                f"got {material.dtype} {material.shape}"
            )
        if material.min() < 0 or material.max() >= N_MATERIALS:
            raise ValueError(
                f"material values must be in [0, {N_MATERIALS}), got {material.min()}..{material.max()}"
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
        self._reset_world(int(world))
        self.episode_done[world] = False

    def episode_index(self, world: int) -> int:
        """Index of ``world``'s current episode since the seed was set (its seeds derive from it)."""
        return int(self._episodes[world])

    def unload(self, world: int) -> None:
        """Go back to generated maps for ``world`` from its next episode on."""
        self._maps[world] = None

    def close(self) -> None:
        """Nothing to release in-process; here for API symmetry."""

    # ------------------------------------------------------------------ internals

    def _advance(self) -> None:
        reward_fn, penalty = self.reward_fn, 0.0
        survival = type(reward_fn) is SurvivalReward  # the default reward: computed in _step_world
        if isinstance(reward_fn, SurvivalReward):
            penalty = reward_fn.death_penalty
        step_args = self._step_args
        S = self.slots_per_world
        for w, state in enumerate(self.worlds):
            if self.episode_done[w]:
                if not self.autoreset:
                    self._publish_idle(w)
                    continue
                self._episodes[w] += 1
                self._reset_world(w)
                self.episode_done[w] = False
                continue
            n_alive, at_horizon = _step_world(step_args[w], penalty, survival)
            if n_alive < 0:
                block = slice(w * S, (w + 1) * S)
                self.rewards[block] = _checked_rewards(reward_fn(state, state.events), S)
                n_alive = _publish_world(step_args[w], at_horizon)
            self._finish(w, n_alive, at_horizon)

    def _finish(self, w: int, n_alive: int, at_horizon: bool) -> None:
        wiped_out = n_alive == 0 and (
            self.config.spawn.mode == "concurrent" or self.config.spawn.min_alive > 0
        )
        self.episode_done[w] = at_horizon or wiped_out

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

    def _reset_world(self, w: int) -> None:
        state = self.worlds[w]
        material, placements = self._maps[w] or (None, None)
        reset_world(
            state, episode_seed(self.seed, self.first_world + w, int(self._episodes[w])), material, placements
        )
        self._idle[w] = False
        self._observers[w].clear()
        self._observers[w].write(state)
        _count_events(state.events.table, state.events.counts, self.event_counts[w], self.death_causes[w])
        block = slice(w * self.slots_per_world, (w + 1) * self.slots_per_world)
        self.rewards[block] = 0.0
        self.invalid_actions[block] = 0
        _publish_world(self._step_args[w], False)

    def _pack_step(self, w: int) -> tuple:
        """World ``w``'s ``_step_world`` arguments as plain tuples (numba reads the types of plain
        tuples far faster than those of NamedTuples). Every array in them is allocated once."""
        cfg = self.config
        block = slice(w * self.slots_per_world, (w + 1) * self.slots_per_world)
        per_slot = (self.action_buffer, self.observations["action_mask"], self.alive, self._entity_slot,
                    self._commands, self.invalid_actions, self.agent_id, self.spawned, self.terminations,
                    self.truncations, self.rewards)  # fmt: skip
        raw, mask, alive, entity_slot, commands, invalid, *flags = (a[block] for a in per_slot)
        heads = (self.layout.action_offsets, self.layout.action_sizes)
        totals = (self.event_counts[w], self.death_causes[w])  # running totals, added to in the kernel
        slots = (raw, mask, *heads, alive, entity_slot, commands, invalid, *flags, *totals)
        rules = (cfg.spawn.n_populations, cfg.map.border, cfg.episode.persistent, cfg.episode.horizon)
        return (tick_args(self.worlds[w]), self._observers[w].args, slots, rules)
