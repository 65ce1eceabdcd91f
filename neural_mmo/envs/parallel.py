"""The PettingZoo ParallelEnv: dicts keyed by agent name over one world of a :class:`VecEnv`."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv as _ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from neural_mmo.config import Config
from neural_mmo.envs.actions import agent_action_row
from neural_mmo.envs.formats import (
    ACTION_FORMATS,
    OBSERVATION_FORMATS,
    FlatObservation,
    MultiDiscreteActions,
    check_format,
)
from neural_mmo.envs.vector import VecEnv
from neural_mmo.tasks.rewards import RewardFn
from neural_mmo.world.snapshot import SaveError, SaveFile, read_save, write_save

RENDER_MODES = (None, "rgb_array", "human")
AGENT_NAMES = ("slot", "unique")


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
        agent), ``entities`` (itself, then the nearest agents and NPCs in view, with levels and
        combat status), ``entity_mask`` and ``action_mask``. The same space object for every agent.

    Action:
        A dict ``{"move": 0..4, "attack": a}``: move is stay, north, south, east or west; attack
        is 0 (none) or ``1 + (style - 1) * n_entities + row``, striking the entity in that row of
        the agent's own ``entities`` with style 1 melee, 2 range or 3 mage. Also accepted: a plain
        int (the move), a sequence of one int per head, or None. Invalid, masked or malformed actions
        become no-ops and are counted in ``infos[agent]["invalid_actions"]``; actions for unknown
        or dead agents are ignored and counted in ``self.ignored_actions``.

    Reward:
        0 per tick and -1 on the death tick by default; pass ``reward_fn`` for your own.

    Agent names (``agent_names``):
        ``"slot"`` (the default, bounded: what RLlib, TorchRL and SuperSuit/Stable-Baselines3
        expect): ``possible_agents`` is ``player_0 .. player_<n_agents - 1>``, one name per agent
        slot, every name is in ``agents`` and in every returned dict from reset until the episode
        ends, and the next agent born in a slot takes over its name. An empty slot shows a zero
        observation whose mask allows only the no-ops, and a reward of 0. A death does not end the
        name: ``infos[name]`` says what happened (``agent_id``: the unique id of the agent shown, -1
        when empty; ``alive``; ``spawned``: a new agent, start its memory afresh; ``died``: this
        is its last observation, with the -1 reward by default). An action for an empty slot is a
        no-op, not counted anywhere.
        ``"unique"``: one name per agent, ``player_<agent id>``, never reused within an episode
        (each reset starts again at ``player_0``); a dying agent appears once with
        ``terminations=True`` and is gone; spawned agents appear in ``agents`` and every returned
        dict on their first tick. ``possible_agents`` bounds every id an episode can hold, a
        lazily computed sequence (effectively unbounded in persistent mode).

    Episode end:
        At the horizon every name gets ``truncations=True`` and ``agents`` becomes empty. The
        episode also ends when nobody is alive after a tick's spawns (concurrent mode once everyone
        died): then every slot name gets ``terminations=True``. Persistent mode has no horizon.

    Market (``exchange.enabled``):
        ``market()`` returns the world's market table (``int16 [rows, MarketView]``: one row per
        item type and level with the cheapest asking price, the number of listings and the last
        sale's price; see ``docs/observation.md``), ``market_space`` its Box (None without the
        exchange). It is the same for every agent, so it is published once per world and is in no
        agent's observation; the ``buy`` head's value ``1 + m`` names its row ``m``.

    State:
        ``state()`` is the global view for centralised critics: ``uint8 [G, G, 2]``, the material
        grid and the occupant channel (0: nobody, 1 + population of an agent, n_populations +
        Behaviour of an NPC), border included.

    Arguments:
        preset: ``small``, ``medium`` (default) or ``large``; ``config``: a full Config instead;
        render_mode: None, ``"rgb_array"`` or ``"human"`` (accepted for tools that ask for it: it
        opens no window, and ``render()`` returns None); seed: default seed of the first reset;
        reward_fn: ``fn(state, events) -> [slots]``; record: a replay file to write, one per
        episode (``run.replay``, then ``run-1.replay``, ...; see ``docs/replay.md``);
        ``memory_limit``: share of the machine's memory it may take (see :class:`VecEnv`);
        observation_format: ``"dict"`` (default) or ``"flat"``: one float32 ``Box`` vector per agent,
        the parts' offsets in ``flat_observation`` (:mod:`neural_mmo.envs.formats`), the action
        mask also in ``infos[agent]["action_mask"]``; action_format: ``"dict"`` (default) or
        ``"multidiscrete"``: ``MultiDiscrete([move, attack])``, masked by ``action_mask`` as it is;
        max_cycles: another name for ``horizon`` (PettingZoo's own tests pass it);
        agent_names: ``"slot"`` (default) or ``"unique"`` (see above);
        ``**overrides``: config fields (``horizon=256``, ``spawn__mode="concurrent"``).
    """

    metadata = {"name": "neural_mmo_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(
        self,
        preset: str | None = None,
        render_mode: str | None = None,
        *,
        config: Config | None = None,
        seed: int = 0,
        reward_fn: RewardFn | None = None,
        record: str | os.PathLike[str] | None = None,
        agent_names: str = "slot",
        observation_format: str = "dict",
        action_format: str = "dict",
        max_cycles: int | None = None,
        **overrides: Any,
    ):
        if render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_format = check_format("observation_format", observation_format, OBSERVATION_FORMATS)
        self.action_format = check_format("action_format", action_format, ACTION_FORMATS)
        if max_cycles is not None:
            given = {k: overrides[k] for k in ("horizon", "episode__horizon") if k in overrides}
            if any(v != max_cycles for v in given.values()):
                raise ValueError(
                    f"max_cycles is another name for the horizon; got max_cycles={max_cycles!r} and "
                    f"{', '.join(f'{k}={v!r}' for k, v in given.items())}: give one of them"
                )
            overrides = {k: v for k, v in overrides.items() if k not in given}
            overrides["horizon"] = max_cycles
        self.vec = VecEnv(
            1, preset, config=config, seed=seed, reward_fn=reward_fn, autoreset=False, **overrides
        )
        self.config = self.vec.config
        self.layout = self.vec.layout
        self.world = self.vec.worlds[0]
        """The live :class:`~neural_mmo.world.state.WorldState` (read it, do not write it)."""
        self.agent_names = check_format("agent_names", agent_names, AGENT_NAMES)
        n = self.vec.num_slots
        self.possible_agents: Sequence[str] = (
            [f"player_{k}" for k in range(n)] if self.agent_names == "slot"
            else AgentNames(_id_pool_size(self.config))
        )  # fmt: skip
        self._all_slots = np.arange(n)
        self._slot_index = {f"player_{k}": k for k in range(n)} if self.agent_names == "slot" else {}
        self.agents: list[str] = []
        self.ignored_actions = 0
        side = self.config.grid_side
        self.state_space = spaces.Box(0, 255, (side, side, 2), np.uint8)
        self.flat_observation = FlatObservation(self.layout)
        """Where each part lies in a flat observation (``slices``, ``shapes``, ``unflatten``)."""
        flat = self.observation_format == "flat"
        self._space = self.flat_observation.space if flat else self.vec.observation_space
        multidiscrete = self.action_format == "multidiscrete"
        self._action_space = MultiDiscreteActions(self.layout) if multidiscrete else self.vec.action_space
        self._warned_human = False
        self._row = np.zeros(self.vec.n_heads, np.int64)
        self._slot_names = [""] * self.vec.num_slots  # name of the agent each slot last held
        self._slot_ids = np.full(self.vec.num_slots, -1, np.int64)
        self._slot_of: dict[str, int] = {}
        self.recorder = None
        """The :class:`~neural_mmo.replay.EpisodeRecorder` writing ``record`` (None without it)."""
        if record is not None:
            from neural_mmo.replay import EpisodeRecorder

            self.recorder = EpisodeRecorder(record, self.config, self.vec.seed)

    # ------------------------------------------------------------------ spaces

    def observation_space(self, agent: str):  # type: ignore[override]
        return self._space

    def action_space(self, agent: str):  # type: ignore[override]
        return self._action_space

    @functools.cached_property
    def observation_spaces(self) -> Mapping[str, Any]:  # type: ignore[override]
        return self._spaces_by_agent(self._space)

    @functools.cached_property
    def action_spaces(self) -> Mapping[str, Any]:  # type: ignore[override]
        return self._spaces_by_agent(self._action_space)

    def _spaces_by_agent(self, space: Any) -> Mapping[str, Any]:
        if isinstance(self.possible_agents, AgentNames):
            return SpacesByAgent(self.possible_agents, space)
        return dict.fromkeys(self.possible_agents, space)

    # ------------------------------------------------------------------ API

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.vec.reset(seed=seed)
        self.ignored_actions = 0
        if self.recorder is not None:
            self.recorder.start(self.world, seed=self.vec.seed, episode=self.vec.episode_index(0))
        slots, names, obs, masks = self._observations()
        return obs, self._infos(slots, names, masks, {})

    def step(self, actions: dict[str, Any]):
        if not isinstance(actions, dict):
            raise TypeError(f"actions must be a dict {{agent_name: action}}, got {type(actions).__name__}")
        vec = self.vec
        if vec.episode_done[0]:
            self.ignored_actions += len(actions)
            return {}, {}, {}, {}, {}
        staged = vec.action_buffer
        staged.fill(0)
        malformed = {}
        by_slot = self.agent_names == "slot"
        for name, action in actions.items():
            slot = self._slot_of.get(name)
            if slot is None:
                self.ignored_actions += 1
                continue
            if by_slot and not vec.alive[slot]:
                continue  # an empty slot: nobody acts there
            malformed_parts = agent_action_row(action, self.layout, self._row)
            staged[slot] = self._row
            if malformed_parts:
                malformed[slot] = malformed_parts
        vec.step_buffered()
        if self.recorder is not None:
            self.recorder.record(self.world)
            if vec.episode_done[0]:
                self.recorder.finish()

        slots, names, obs, masks = self._observations()
        done = bool(vec.episode_done[0])
        rewards = dict(zip(names, vec.rewards[slots].tolist()))
        if by_slot:  # a name ends with the episode only; deaths are in infos
            episode = self.config.episode
            at_horizon = done and not episode.persistent and self.world.tick >= episode.horizon
            terms = dict.fromkeys(names, done and not at_horizon)
            truncs = dict.fromkeys(names, at_horizon)
        else:
            terms = dict(zip(names, vec.terminations[slots].tolist()))
            truncs = dict(zip(names, vec.truncations[slots].tolist()))
        infos = self._infos(slots, names, masks, malformed)
        if done:
            self.agents = []
            self._slot_of = {}
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        """Global view: ``uint8 [G, G, 2]``: material, and the occupant code of the observation's
        OCCUPANT tile channel (0 nobody, 1 + population of an agent, n_populations + Behaviour of
        an NPC)."""
        w = self.world
        agent_codes = w.agents.population.astype(np.int64) + 1
        npc_codes = self.config.spawn.n_populations + w.npcs.behaviour.astype(np.int64)
        codes = np.concatenate([agent_codes, npc_codes])
        out = np.zeros(self.state_space.shape, np.uint8)
        out[..., 0] = w.material
        occupied = w.occupant >= 0
        out[..., 1][occupied] = codes[w.occupant[occupied]]
        return out

    def market(self) -> np.ndarray | None:
        """The world's market table after the last reset or step (a copy; None without the
        exchange): see the class docs."""
        return None if self.vec.market is None else self.vec.market[0].copy()

    @functools.cached_property
    def market_space(self) -> spaces.Box | None:
        """Space of :meth:`market` (None without the exchange)."""
        return self.vec.layout.market_space()

    def render(self) -> np.ndarray | None:
        """``render_mode="rgb_array"``: the whole map as an RGB image (``uint8 [4G, 4G, 3]``).
        ``"human"`` opens no window and returns None (watch runs in the browser viewer instead:
        ``neural-mmo serve``, or a replay with ``neural-mmo view``)."""
        if self.render_mode == "human":
            if not self._warned_human:
                self._warned_human = True
                gymnasium.logger.warn(
                    "render_mode='human' opens no window here and render() returns None; watch a run "
                    "in the browser viewer (neural-mmo serve) or record a replay (record=...)"
                )
            return None
        if self.render_mode != "rgb_array":
            gymnasium.logger.warn(
                "render() needs render_mode='rgb_array' when the env is made, e.g. "
                "neural_mmo.parallel_env('small', render_mode='rgb_array'); returning None"
            )
            return None
        from neural_mmo.render import render_rgb

        return render_rgb(self.world)

    def close(self) -> None:
        self.vec.close()
        if self.recorder is not None:
            self.recorder.finish()

    def state_hash(self) -> str:
        return self.world.state_hash()

    # ------------------------------------------------------------------ saves

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the world and this env's bookkeeping (current agents, their slots) to ``path``,
        atomically; :meth:`restore` then continues bit-identically (``docs/saves.md``)."""
        meta, arrays = self.vec.snapshot()
        slots = np.array([s for s in self._slot_of.values() if self.vec.alive[s]], np.int64)
        arrays["parallel.agent_ids"] = self.vec.agent_id[slots]
        arrays["parallel.agent_slots"] = slots
        meta["ignored_actions"] = int(self.ignored_actions)
        write_save(path, "parallel", self.config, arrays, meta)

    def restore(self, path: str | os.PathLike[str]) -> None:
        """Continue from a :meth:`save` of an env of the same config; raises
        :class:`~neural_mmo.world.snapshot.SaveError` and changes nothing when the file is bad.
        A replay being recorded is finished here (the next reset starts a new one)."""
        self._restore(read_save(path, ("parallel",)), path)

    @classmethod
    def from_save(cls, path: str | os.PathLike[str], **kwargs: Any) -> NeuralMMOParallelEnv:
        """A new env of the saved config, restored from ``path`` (``kwargs``: ``render_mode``,
        ``reward_fn``, ``record``)."""
        save = read_save(path, ("parallel",))
        env = cls(config=save.config, **kwargs)
        env._restore(save, path)
        return env

    def _restore(self, save: SaveFile, path: Any) -> None:
        ids = save.arrays.pop("parallel.agent_ids", None)
        slots = save.arrays.pop("parallel.agent_slots", None)
        held = save.arrays.get("buffer.agent_id")
        ignored = save.meta.get("ignored_actions")
        n = self.vec.num_slots
        if (
            ids is None or slots is None or held is None or held.shape != (n,)
            or ids.dtype != np.int64 or slots.dtype != np.int64 or ids.shape != slots.shape or ids.ndim != 1
            or ((slots < 0) | (slots >= n)).any() or (held[slots] != ids).any() or (ids < 0).any()
            or type(ignored) is not int or ignored < 0
        ):  # fmt: skip
            raise SaveError(f"{path}: corrupt save (the PettingZoo env's agents)")
        self.vec.restore_snapshot(save, path)
        self.ignored_actions = ignored
        if self.agent_names == "slot":  # every slot's name while the episode runs
            running = self.vec._started and not self.vec.episode_done[0]
            self._slot_of = self._slot_index if running else {}
        else:
            self._slot_of = {f"player_{i}": s for i, s in zip(ids.tolist(), slots.tolist())}
        self.agents = list(self._slot_of)
        self._slot_ids.fill(-1)
        if self.recorder is not None:
            self.recorder.finish()

    # ------------------------------------------------------------------ copies

    def __getstate__(self) -> dict[str, Any]:
        """``pickle`` and ``copy`` keep the env's own bookkeeping and its VecEnv (which copies
        its worlds and buffers, see :meth:`VecEnv.__getstate__`); what derives from the VecEnv is
        rebuilt from it. A replay being recorded is not copied: the copy records nothing."""
        state = self.__dict__.copy()
        for derived in ("config", "layout", "world", "recorder"):
            del state[derived]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.config, self.layout, self.world = self.vec.config, self.vec.layout, self.vec.worlds[0]
        self.recorder = None

    # ------------------------------------------------------------------ internals

    def _name(self, slot: int, agent_id: int) -> str:
        """``player_<id>``, cached per slot (bounded memory, however many agents come and go)."""
        if self._slot_ids[slot] != agent_id:
            self._slot_ids[slot] = agent_id
            self._slot_names[slot] = f"player_{agent_id}"
        return self._slot_names[slot]

    def _observations(self) -> tuple[np.ndarray, Sequence[str], dict[str, Any], np.ndarray | None]:
        """The slots shown this tick and their names, their observations as views of one fresh copy
        of the buffers, and with flat observations their ``action_mask`` rows (int8, for
        ``infos``); also refreshes ``agents`` and the name -> slot map. Slot names show every slot;
        unique names the slots holding an agent, living or died this tick."""
        vec = self.vec
        if self.agent_names == "slot":
            slots, names = self._all_slots, self.possible_agents
            self.agents = list(names)
            self._slot_of = self._slot_index
        else:
            ids = vec.agent_id
            slots = np.flatnonzero(ids >= 0)
            names = [self._name(i, int(ids[i])) for i in slots.tolist()]
            alive = vec.alive[slots].tolist()
            self.agents = [name for name, a in zip(names, alive) if a]
            self._slot_of = {name: int(i) for name, i, a in zip(names, slots.tolist(), alive) if a}
        snapshot = {k: v[slots] for k, v in vec.observations.items()}
        if self.observation_format == "flat":
            flat = self.flat_observation.flatten(snapshot)
            return slots, names, dict(zip(names, flat)), snapshot["action_mask"]
        keys = list(snapshot)
        return slots, names, {name: {k: snapshot[k][n] for k in keys} for n, name in enumerate(names)}, None

    def _infos(
        self, slots: np.ndarray, names: Sequence[str], masks: np.ndarray | None, malformed: dict[int, int]
    ) -> dict[str, dict[str, Any]]:
        """Per name: rejected action heads; with slot names the agent the slot shows (``agent_id``,
        -1 when empty) and whether it is ``alive``, ``spawned`` or ``died`` this tick; with flat
        observations its ``action_mask``."""
        vec = self.vec
        invalid = vec.invalid_actions[slots].tolist()
        for n, i in enumerate(slots.tolist() if malformed else ()):
            invalid[n] += malformed.get(i, 0)
        if self.agent_names == "slot":
            columns = zip(invalid, vec.agent_id[slots].tolist(), vec.alive[slots].tolist(),
                          vec.spawned[slots].tolist(), vec.terminations[slots].tolist())  # fmt: skip
            infos = {
                name: {"invalid_actions": k, "agent_id": i, "alive": a, "spawned": s, "died": d}
                for name, (k, i, a, s, d) in zip(names, columns)
            }
        else:
            infos = {name: {"invalid_actions": k} for name, k in zip(names, invalid)}
        if masks is not None:
            for name, mask in zip(names, masks):
                infos[name]["action_mask"] = mask
        return infos


class SpacesByAgent(Mapping[str, Any]):
    """``{agent: space}`` over the whole (possibly huge) name pool, without building a dict."""

    def __init__(self, names: AgentNames, space: Any):
        self._names = names
        self._space = space

    def __getitem__(self, key: str) -> Any:
        if key in self._names:
            return self._space
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names


def _id_pool_size(config: Config) -> int:
    """How many distinct agents one episode can hold: the bound of ``possible_agents``."""
    n = config.spawn.n_agents
    if config.episode.persistent:
        return 2**31 - 1
    if config.spawn.mode == "concurrent":
        return n
    return n + config.episode.horizon * min(n, config.spawn.attempts_per_tick + config.spawn.min_alive)


def parallel_env(
    preset: str | None = None, render_mode: str | None = None, **kwargs: Any
) -> NeuralMMOParallelEnv:
    """A PettingZoo ParallelEnv; see :class:`NeuralMMOParallelEnv` for the arguments."""
    return NeuralMMOParallelEnv(preset, render_mode, **kwargs)


def env(preset: str | None = None, render_mode: str | None = None, **kwargs: Any):
    """The same game as a PettingZoo AEC env (``parallel_to_aec`` over :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(preset, render_mode, **kwargs))
