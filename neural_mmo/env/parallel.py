"""The PettingZoo ParallelEnv: dicts keyed by agent name over one world of a :class:`VecEnv`."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
from pettingzoo import ParallelEnv as _ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from neural_mmo.config import Config
from neural_mmo.env.actions import agent_action_row
from neural_mmo.env.vector import VecEnv
from neural_mmo.tasks.rewards import RewardFn

RENDER_MODES = (None, "rgb_array")


class AgentNames(Sequence[str]):
    """``player_0, player_1, ...``: the fixed pool of ids, computed on demand (it may be huge)."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [f"player_{k}" for k in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return f"player_{i}"

    def __iter__(self) -> Iterator[str]:
        return (f"player_{k}" for k in range(self.n))

    def __contains__(self, name: object) -> bool:
        k = agent_number(name)
        return k is not None and k < self.n

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sequence) and len(other) == self.n and all(a == b for a, b in zip(self, other))
        )

    def __repr__(self) -> str:
        return f"AgentNames(player_0 .. player_{self.n - 1})"


def agent_number(name: object) -> int | None:
    """``"player_17"`` -> 17; anything else -> None."""
    if not isinstance(name, str) or not name.startswith("player_"):
        return None
    digits = name[7:]
    return int(digits) if digits.isdigit() and (digits == "0" or digits[0] != "0") else None


class NeuralMMOParallelEnv(_ParallelEnv):
    """Neural MMO as a PettingZoo ``ParallelEnv``.

    Observation:
        A dict of fixed-size arrays (see ``docs/observation.md``): ``tiles`` (the crop around the
        agent), ``entities`` (itself, then the nearest agents in view), ``entity_mask`` and
        ``action_mask``. The same space object for every agent.

    Action:
        A dict ``{"move": 0..4}`` (stay, north, south, east, west); also accepted: a plain int
        (the move), a sequence of one int per head, or None. Invalid, masked or malformed actions
        become no-ops and are counted in ``infos[agent]["invalid_actions"]``; actions for unknown
        or dead agents are ignored and counted in ``self.ignored_actions``.

    Reward:
        0 per tick and -1 on the death tick by default; pass ``reward_fn`` for your own.

    Episode end:
        A dying agent appears once with ``terminations=True``; at the horizon every agent gets
        ``truncations=True`` and ``agents`` becomes empty. In concurrent spawning the episode also
        ends when everyone is dead. Persistent mode never ends. Spawned agents appear in
        ``agents`` and in every returned dict on the tick they spawn; ids are never reused.

    Arguments:
        preset: ``small``, ``medium`` or ``large``; ``config``: a full Config instead;
        render_mode: None or ``"rgb_array"``; seed: default seed of the first reset;
        reward_fn: ``fn(state, events) -> [slots]``; ``**overrides``: config fields
        (``horizon=256``, ``spawn__mode="concurrent"``).
    """

    metadata = {"name": "neural_mmo_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(
        self,
        preset: str = "medium",
        render_mode: str | None = None,
        *,
        config: Config | None = None,
        seed: int = 0,
        reward_fn: RewardFn | None = None,
        **overrides: Any,
    ):
        if render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")
        self.render_mode = render_mode
        self.vec = VecEnv(
            1, preset, config=config, seed=seed, reward_fn=reward_fn, autoreset=False, **overrides
        )
        self.config = self.vec.config
        self.layout = self.vec.layout
        self.state = self.vec.worlds[0]
        self.possible_agents = AgentNames(_id_pool_size(self.config))
        self.agents: list[str] = []
        self.ignored_actions = 0
        self._space = self.vec.observation_space
        self._action_space = self.vec.action_space
        self._row = np.zeros(self.vec.n_heads, np.int64)
        self._names: dict[int, str] = {}

    # ------------------------------------------------------------------ spaces

    def observation_space(self, agent: str):  # type: ignore[override]
        return self._space

    def action_space(self, agent: str):  # type: ignore[override]
        return self._action_space

    @functools.cached_property
    def observation_spaces(self) -> dict[str, Any]:  # type: ignore[override]
        return _SpaceView(self.possible_agents, self._space)

    @functools.cached_property
    def action_spaces(self) -> dict[str, Any]:  # type: ignore[override]
        return _SpaceView(self.possible_agents, self._action_space)

    # ------------------------------------------------------------------ API

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.vec.reset(seed=seed)
        self.ignored_actions = 0
        slots = np.flatnonzero(self.vec.alive)
        self.agents = [self._name(int(self.vec.agent_id[i])) for i in slots]
        obs = self._observations(slots)
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        if not isinstance(actions, dict):
            raise TypeError(f"actions must be a dict {{agent_name: action}}, got {type(actions).__name__}")
        vec = self.vec
        raw = vec._raw_actions
        raw.fill(0)
        slot_of = self._slot_of
        malformed = {}
        for name, action in actions.items():
            slot = slot_of.get(name)
            if slot is None:
                self.ignored_actions += 1
                continue
            malformed_parts = agent_action_row(action, self.layout, self._row)
            raw[slot] = self._row
            if malformed_parts:
                malformed[slot] = malformed_parts
        if not self.agents:
            return {}, {}, {}, {}, {}
        vec._step_raw()

        ids = vec.agent_id
        terminated = vec.terminations
        truncated = vec.truncations
        slots = np.flatnonzero(ids >= 0)
        obs = self._observations(slots)
        rewards, terms, truncs, infos = {}, {}, {}, {}
        reward_list = vec.rewards.tolist()
        invalid = vec.invalid_actions.tolist()
        for i in slots.tolist():
            name = self._name(int(ids[i]))
            rewards[name] = reward_list[i]
            terms[name] = bool(terminated[i])
            truncs[name] = bool(truncated[i])
            bad = invalid[i] + malformed.get(i, 0)
            infos[name] = {"invalid_actions": bad} if bad else {}
        done = vec.episode_done[0]
        self.agents = [] if done else [self._name(int(ids[i])) for i in np.flatnonzero(vec.alive)]
        self._slot_of_cache = None
        return obs, rewards, terms, truncs, infos

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from neural_mmo.render import render_rgb

        return render_rgb(self.state)

    def close(self) -> None:
        self.vec.close()

    def state_hash(self) -> str:
        return self.state.state_hash()

    # ------------------------------------------------------------------ internals

    _slot_of_cache: dict[str, int] | None = None

    @property
    def _slot_of(self) -> dict[str, int]:
        if self._slot_of_cache is None:
            alive = np.flatnonzero(self.vec.alive)
            self._slot_of_cache = {self._name(int(self.vec.agent_id[i])): int(i) for i in alive}
        return self._slot_of_cache

    def _name(self, agent_id: int) -> str:
        name = self._names.get(agent_id)
        if name is None:
            name = self._names[agent_id] = f"player_{agent_id}"
        return name

    def _observations(self, slots: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        self._slot_of_cache = None
        snapshot = {k: v[slots] for k, v in self.vec.observations.items()}
        keys = list(snapshot)
        ids = self.vec.agent_id
        return {
            self._name(int(ids[i])): {k: snapshot[k][n] for k in keys} for n, i in enumerate(slots.tolist())
        }


class _SpaceView(dict):
    """``observation_spaces[agent]`` for any agent of the (possibly huge) pool, without a huge dict."""

    def __init__(self, names: AgentNames, space: Any):
        super().__init__()
        self._names = names
        self._space = space

    def __missing__(self, key: str) -> Any:
        if key in self._names:
            return self._space
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._names


def _id_pool_size(config: Config) -> int:
    """How many distinct agents one episode can hold: the bound of ``possible_agents``."""
    n = config.spawn.n_agents
    if config.episode.persistent:
        return 2**31 - 1
    if config.spawn.mode == "concurrent":
        return n
    return n + config.episode.horizon * (config.spawn.attempts_per_tick + config.spawn.min_alive)


def parallel_env(
    preset: str = "medium", render_mode: str | None = None, **kwargs: Any
) -> NeuralMMOParallelEnv:
    """A PettingZoo ParallelEnv; see :class:`NeuralMMOParallelEnv` for the arguments."""
    return NeuralMMOParallelEnv(preset, render_mode, **kwargs)


def env(preset: str = "medium", render_mode: str | None = None, **kwargs: Any):
    """The same game as a PettingZoo AEC env (``parallel_to_aec`` over :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(preset, render_mode, **kwargs))
