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
from neural_mmo.observe.encode import Observer
from neural_mmo.observe.layout import ObsLayout
from neural_mmo.tasks.rewards import RewardFn, SurvivalReward
from neural_mmo.world.actions import Command
from neural_mmo.world.materials import N_MATERIALS, SPAWNABLE
from neural_mmo.world.rng import check_seed, episode_seed
from neural_mmo.world.state import WorldState
from neural_mmo.world.step import reset as reset_world
from neural_mmo.world.step import step as step_world
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

        n, S = self.num_slots, self.slots_per_world
        self.observations = self.layout.allocate(n)
        self.rewards = np.zeros(n, np.float32)
        self.terminations = np.zeros(n, np.bool_)
        self.truncations = np.zeros(n, np.bool_)
        self.alive = np.zeros(n, np.bool_)
        self.agent_id = np.full(n, -1, np.int64)
        self.spawned = np.zeros(n, np.bool_)
        self.invalid_actions = np.zeros(n, np.int32)
        self.episode_done = np.zeros(self.num_worlds, np.bool_)
        self.infos: dict[str, np.ndarray] = {
            "alive": self.alive,
            "agent_id": self.agent_id,
            "spawned": self.spawned,
            "invalid_actions": self.invalid_actions,
            "episode_done": self.episode_done,
        }
        self.action_buffer = np.zeros((n, self.n_heads), np.int64)
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

    def unload(self, world: int) -> None:
        """Go back to generated maps for ``world`` from its next episode on."""
        self._maps[world] = None

    def close(self) -> None:
        """Nothing to release in-process; here for API symmetry."""

    # ------------------------------------------------------------------ internals

    def _advance(self) -> None:
        sanitize_actions(
            self.action_buffer, self.observations["action_mask"], self.layout.action_offsets,
            self.layout.action_sizes, self.alive, self._entity_slot, self._commands, self.invalid_actions,
        )  # fmt: skip
        S = self.slots_per_world
        for w, state in enumerate(self.worlds):
            block = slice(w * S, (w + 1) * S)
            if self.episode_done[w]:
                if not self.autoreset:
                    self._publish_idle(w)
                    continue
                self._episodes[w] += 1
                self._reset_world(w)
                self.episode_done[w] = False
                continue
            step_world(state, self._commands[block])
            self._observers[w].write(state)
            self.rewards[block] = _checked_rewards(self.reward_fn(state, state.events), self.slots_per_world)
            self._finish(w, state, block)

    def _finish(self, w: int, state: WorldState, block: slice) -> None:
        episode = self.config.episode
        at_horizon = not episode.persistent and state.tick >= episode.horizon
        n_alive = _publish(
            state.agents, state.tick, at_horizon, self.alive[block], self.agent_id[block],
            self.spawned[block], self.terminations[block], self.truncations[block], self.rewards[block],
        )  # fmt: skip
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
        reset_world(state, episode_seed(self.seed, w, int(self._episodes[w])), material, placements)
        self._idle[w] = False
        self._observers[w].clear()
        self._observers[w].write(state)
        block = slice(w * self.slots_per_world, (w + 1) * self.slots_per_world)
        self.rewards[block] = 0.0
        self.invalid_actions[block] = 0
        _publish(
            state.agents, state.tick, False, self.alive[block], self.agent_id[block],
            self.spawned[block], self.terminations[block], self.truncations[block], self.rewards[block],
        )  # fmt: skip
