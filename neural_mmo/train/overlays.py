"""What a trained model thinks, painted over the map: overlays for the viewer.

:func:`register_model_overlays` adds three layers through the viewer's overlay API
(:func:`neural_mmo.viewer.overlays.register_overlay`):

* ``values``: the value ``V(obs)`` of the living agents, painted on the tiles as agents walk over
  them: each tile shows the mean of the values agents had on it over the ticks the overlay was
  computed (since it was first shown, a new episode or a seek). Each agent is evaluated by the
  model of its population, on the observation the project's encoder writes for it from the
  tick's world state. A recurrent model uses the policy's own state of the agent's
  slot when it is given a :class:`~neural_mmo.train.checkpoint.TrainedPolicy` that plays this
  world (``neural-mmo serve --policy``), a fresh state otherwise.
* ``attention``: the attention weights of the selected agent (``view.agent``, an agent id sent by
  the client; the lowest living id when none is chosen), for models that keep them
  (:attr:`~neural_mmo.train.models.Simple.attention`). Each 3x3 patch's weight is painted on the
  tiles of that patch around the agent; the weight of each other entity in view is added on the
  tile where it stands. Painted weights add up to 1 (less what padding patches hold).
* ``global_values``: the value of a lone agent, freshly spawned with full vitals, with no other
  agents on the map and all resources present (every scrub tile, eaten forest or not yet grown,
  counted as forest: :func:`all_resources`), on every passable tile of the playable area. The
  observations come from the project's reset and encoder on a scratch world
  (:func:`lone_agent_observations`) and are evaluated in batches. The grid is computed once per
  map and cached; when tiles of the map change, only the tiles that see a changed tile are
  evaluated again (with all resources present, meals and regrowth change nothing), and a new
  map (a new episode) is evaluated in full.

Tiles with nothing to show hold the *empty marker* (:func:`fill_empty`): 0 when every shown value
is positive (as the built-in overlays mark empty tiles), otherwise one quantisation step below the
lowest value, so empty tiles draw as the bottom of the colour ramp and every shown tile above it.
Overlay functions run in the viewer's loop, between ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from neural_mmo.config import Config
from neural_mmo.observe.encode import Observer
from neural_mmo.observe.layout import EntityColumn, ObsLayout
from neural_mmo.train.io import to_tensors
from neural_mmo.train.models import Base, Simple
from neural_mmo.world.materials import PASSABLE, REGROWS_TO
from neural_mmo.world.state import WorldState
from neural_mmo.world.step import reset as reset_world

__all__ = [
    "ModelOverlays",
    "all_resources",
    "fill_empty",
    "lone_agent_observations",
    "register_model_overlays",
]

OVERLAYS = ("values", "attention", "global_values")
BATCH = 4096
"""Lone-agent observations per forward pass of ``global_values``."""


def fill_empty(grid: np.ndarray) -> np.ndarray:
    """``grid`` (float, NaN where there is nothing to show) with its NaN tiles set to the empty
    marker (see the module docs); an all-NaN grid becomes all zeros."""
    out = np.array(grid, np.float64)
    empty = np.isnan(out)
    if not empty.any():
        return out
    if empty.all():
        out.fill(0.0)
        return out
    lo, hi = float(np.nanmin(out)), float(np.nanmax(out))
    if lo > 0:
        marker = 0.0
    else:
        gap = (hi - lo) / 254 if hi > lo else max(abs(lo), 1.0) * 1e-3
        marker = lo - gap
    out[empty] = marker
    return out


# ---------------------------------------------------------------------------------- lone agents


def all_resources(material: np.ndarray) -> np.ndarray:
    """``material`` with every resource present: each tile that regrows into something else (an
    eaten forest, scrub) is what it regrows into."""
    return np.asarray(REGROWS_TO[np.asarray(material)], np.uint8)


def lone_agent_observations(
    layout: ObsLayout, material: np.ndarray, rows: np.ndarray, cols: np.ndarray, population: int = 0
) -> dict[str, np.ndarray]:
    """The observations of a lone agent of ``population`` standing on each tile ``(rows[k],
    cols[k])`` of ``material`` (border included), just spawned (tick 0) with full vitals, with no
    other agent or NPC in the world.

    Written by the project's own reset and encoder: a scratch world without NPCs is reset onto
    ``material`` with agents placed on a group of the tiles at a time, every two of them at least
    a crop apart (the same residue of row and column modulo the crop's width), so none sees
    another; then :class:`~neural_mmo.observe.encode.Observer` writes their observations."""
    config: Config = layout.config.override({"npc.n_npcs": 0})
    state = WorldState.allocate(config)
    capacity = state.agents.capacity
    observer = Observer(layout, layout.allocate(capacity))
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    out = {f.key: np.zeros((len(rows), *f.shape), f.dtype) for f in layout.fields}
    w = layout.window
    group_of = (rows % w) * w + cols % w
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    for group in np.split(order, bounds):
        for part in np.array_split(group, -(-len(group) // capacity)):
            reset_world(state, np.random.SeedSequence(0), material, np.stack([rows[part], cols[part]], 1))
            state.agents.population[: len(part)] = population  # placed agents take ids 0, 1, ...
            observer.clear()
            observer.write(state)
            for key, array in observer.buffers.items():
                out[key][part] = array[: len(part)]
    return out


def _near(mask: np.ndarray, distance: int) -> np.ndarray:
    """Tiles within Chebyshev ``distance`` of a True tile of ``mask``."""
    k = 2 * distance + 1
    padded = np.pad(mask, distance)
    rows = sliding_window_view(padded, k, axis=0).any(axis=-1)
    return np.asarray(sliding_window_view(rows, k, axis=1).any(axis=-1))


# ---------------------------------------------------------------------------------- overlays


def _models_of(policy_or_models: Any) -> tuple[list[Base], Any]:
    """(models, the policy when one was given)."""
    if isinstance(policy_or_models, Base):
        return [policy_or_models], None
    models = getattr(policy_or_models, "models", None)
    if models is not None:
        return list(models), policy_or_models
    if isinstance(policy_or_models, Sequence) and policy_or_models:
        models = list(policy_or_models)
        if all(isinstance(m, Base) for m in models):
            return models, None
    raise TypeError(
        "expected a policy with .models (TrainedPolicy), a model or a list of models, "
        f"got {type(policy_or_models).__name__}"
    )


def _take_rows(state: Any, rows: torch.Tensor, n: int) -> Any:
    """The rows of a per-slot recurrent state over ``n`` slots, or None when it is not one."""
    if isinstance(state, torch.Tensor):
        return state[rows] if state.shape[0] == n else None
    if isinstance(state, tuple) and state:
        parts = [_take_rows(s, rows, n) for s in state]
        return None if any(p is None for p in parts) else tuple(parts)
    return None


class ModelOverlays:
    """The model overlays of one policy (or list of models, one per population).

    ``population``: the population of the lone agent of ``global_values`` (its model too).
    ``computed`` counts the lone-agent observations evaluated so far (the cache's misses).
    """

    def __init__(self, policy_or_models: Any, population: int = 0, batch: int = BATCH):
        self.models, self.policy = _models_of(policy_or_models)
        self.population = int(population)
        self.batch = int(batch)
        self.computed = 0
        self._observer: Observer | None = None
        self._observer_config: Config | None = None
        self._grid: np.ndarray | None = None
        self._grid_material: np.ndarray | None = None
        self._grid_config: Config | None = None
        self._trail: tuple[np.ndarray, np.ndarray] | None = None  # values summed per tile, counts
        self._trail_key: tuple[int, int] | None = None  # (state id, tick) last added

    def functions(self) -> dict[str, Callable[[Any], np.ndarray]]:
        """``{name: fn(view) -> grid}``: ``attention`` only when every model keeps its weights."""
        fns: dict[str, Callable[[Any], np.ndarray]] = {"values": self.values_overlay}
        if all(hasattr(m, "keep_attention") for m in self.models):
            fns["attention"] = self.attention_overlay
        fns["global_values"] = self.global_values_overlay
        return fns

    # ------------------------------------------------------------------ observations

    def observations(self, state: WorldState) -> dict[str, np.ndarray]:
        """Every agent slot's observation of ``state``, written by the encoder (rows of living
        agents hold their observations; read them before the next call)."""
        if self._observer is None or self._observer_config != state.config:
            layout = ObsLayout(state.config)
            n = state.config.spawn.n_agents
            buffers = {f.key: np.zeros((n, *f.shape), f.dtype) for f in layout.fields}
            self._observer = Observer(layout, buffers)
            self._observer_config = state.config
        self._observer.write(state)
        return self._observer.buffers

    def _model_rows(self, obs: dict[str, np.ndarray], rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """``(model index, the rows it evaluates)`` by the agents' population."""
        population = obs["entities"][rows, 0, EntityColumn.POPULATION].astype(np.int64) % len(self.models)
        return [(p, rows[population == p]) for p in range(len(self.models)) if (population == p).any()]

    @torch.no_grad()
    def agent_values(self, state: WorldState) -> tuple[np.ndarray, np.ndarray]:
        """``(slots, values)``: ``V(obs)`` of each living agent of ``state`` (see ``values``)."""
        slots = np.flatnonzero(state.agents.alive)
        values = np.zeros(len(slots), np.float32)
        if slots.size == 0:
            return slots, values
        obs = self.observations(state)
        n = state.agents.alive.shape[0]
        states = getattr(self.policy, "states", None)
        for p, rows in self._model_rows(obs, slots):
            model = self.models[p]
            hidden = None
            if model.recurrent and states is not None and states[p] is not None:
                hidden = _take_rows(states[p], torch.from_numpy(rows), n)
            batch = to_tensors({k: v[rows] for k, v in obs.items()})
            _, value, _ = model(batch, hidden)
            values[np.searchsorted(slots, rows)] = value.numpy()
        return slots, values

    def values(self, state: WorldState) -> np.ndarray:
        """The ``values`` grid: NaN where no agent stands."""
        grid = np.full(state.material.shape, np.nan)
        slots, values = self.agent_values(state)
        grid[state.agents.r[slots], state.agents.c[slots]] = values
        return grid

    @staticmethod
    def selected_slot(state: WorldState, agent: int | None) -> int | None:
        """The slot of living agent ``agent`` (None: the lowest living id); None when not alive."""
        agents = state.agents
        alive = np.flatnonzero(agents.alive)
        if alive.size == 0:
            return None
        if agent is None:
            return int(alive[np.argmin(agents.agent_id[alive])])
        match = alive[agents.agent_id[alive] == agent]
        return int(match[0]) if match.size else None

    def _attending(self, population: int) -> Simple:
        """The model of ``population``: the attention overlay reads the attention weights and the
        patch grid of :class:`~neural_mmo.train.models.Simple` (or a model with the same attributes)."""
        return cast(Simple, self.models[population % len(self.models)])

    @torch.no_grad()
    def attention_weights(self, state: WorldState, slot: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The attention weights ``[n_patches + n_entities - 1]`` of the agent in ``slot`` and its
        observation (one row)."""
        obs = self.observations(state)
        one = {k: v[slot : slot + 1].copy() for k, v in obs.items()}
        model = self._attending(int(one["entities"][0, 0, EntityColumn.POPULATION]))
        keep = model.keep_attention
        model.keep_attention = True
        try:
            model(to_tensors(one))
            assert model.attention is not None
            weights = model.attention[0].numpy().astype(np.float64)
        finally:
            model.keep_attention = keep
        return weights, {k: v[0] for k, v in one.items()}

    def attention(self, state: WorldState, agent: int | None = None) -> np.ndarray:
        """The ``attention`` grid of ``agent`` (see the module docs): NaN outside its crop."""
        grid: np.ndarray = np.full(state.material.shape, np.nan)
        slot = self.selected_slot(state, agent)
        if slot is None:
            return grid
        weights, obs = self.attention_weights(state, slot)
        model = self._attending(int(obs["entities"][0, EntityColumn.POPULATION]))
        r0, c0 = int(state.agents.r[slot]), int(state.agents.c[slot])
        layout = model.layout
        R, W, k, g = layout.radius, layout.window, model.patch, model.grid
        pad = model.pad[0]
        side = grid.shape[0]
        for index in range(g * g):
            pr, pc = divmod(index, g)
            r_lo, c_lo = max(0, pr * k - pad), max(0, pc * k - pad)  # crop coordinates
            r_hi, c_hi = min(W, pr * k - pad + k), min(W, pc * k - pad + k)
            if r_lo >= r_hi or c_lo >= c_hi:
                continue  # all padding
            rs = slice(max(0, r0 - R + r_lo), min(side, r0 - R + r_hi))
            cs = slice(max(0, c0 - R + c_lo), min(grid.shape[1], c0 - R + c_hi))
            grid[rs, cs] = weights[index]
        entities = obs["entities"]
        for row in np.flatnonzero(obs["entity_mask"][1:]) + 1:
            r = r0 + int(entities[row, EntityColumn.REL_ROW])
            c = c0 + int(entities[row, EntityColumn.REL_COL])
            if 0 <= r < side and 0 <= c < grid.shape[1]:
                base = 0.0 if np.isnan(grid[r, c]) else grid[r, c]
                grid[r, c] = base + weights[g * g + row - 1]
        return grid

    @torch.no_grad()
    def global_values(self, material: np.ndarray, config: Config) -> np.ndarray:
        """The ``global_values`` grid of ``material`` (NaN where no agent can stand), cached: a
        second call with the same map evaluates nothing (see the module docs)."""
        material = np.asarray(material)
        R = config.observe.vision_radius
        if (
            self._grid is not None
            and self._grid_material is not None
            and self._grid_config == config
            and self._grid_material.shape == material.shape
        ):
            changed = self._grid_material != material
            if not changed.any():
                return self._grid
            todo = _near(changed, R)  # the tiles whose crop (and moves) see a changed tile
            grid = self._grid.copy()
        else:
            todo = np.ones(material.shape, np.bool_)
            grid = np.full(material.shape, np.nan)
        b, n = config.map.border, config.map.size
        playable = np.zeros(material.shape, np.bool_)
        playable[b : b + n, b : b + n] = True
        standing = playable & PASSABLE[material]
        grid[todo & ~standing] = np.nan
        rows, cols = np.nonzero(todo & standing)
        model = self.models[self.population % len(self.models)]
        layout = ObsLayout(config)
        for start in range(0, len(rows), self.batch):
            r, c = rows[start : start + self.batch], cols[start : start + self.batch]
            obs = lone_agent_observations(layout, material, r, c, self.population)
            _, value, _ = model(to_tensors(obs))
            grid[r, c] = value.numpy()
            self.computed += len(r)
        self._grid = grid
        self._grid_material = material.copy()
        self._grid_config = config
        return grid

    # ------------------------------------------------------------------ the viewer's functions

    def value_trail(self, state: WorldState) -> np.ndarray:
        """The ``values`` overlay's grid: each tile's mean value of the agents that stood on it
        over the ticks this was called (NaN where none did). A tick before the last one seen, or
        another world, starts a new trail; a tick seen already adds nothing."""
        key = (id(state), state.tick)
        last = self._trail_key
        if self._trail is None or last is None or last[0] != key[0] or key[1] < last[1] or (
            self._trail[0].shape != state.material.shape
        ):  # fmt: skip
            self._trail = (np.zeros(state.material.shape), np.zeros(state.material.shape, np.int64))
            last = None
        total, count = self._trail
        if last is None or key[1] > last[1]:
            slots, values = self.agent_values(state)
            r, c = state.agents.r[slots].astype(np.intp), state.agents.c[slots].astype(np.intp)
            np.add.at(total, (r, c), values)
            np.add.at(count, (r, c), 1)
        self._trail_key = key
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def values_overlay(self, view: Any) -> np.ndarray:
        return fill_empty(self.value_trail(view.state))

    def attention_overlay(self, view: Any) -> np.ndarray:
        return fill_empty(self.attention(view.state, getattr(view, "agent", None)))

    def global_values_overlay(self, view: Any) -> np.ndarray:
        return fill_empty(self.global_values(all_resources(view.state.material), view.state.config))


def register_model_overlays(policy_or_models: Any, population: int = 0) -> ModelOverlays:
    """Register ``values``, ``attention`` (models that keep their attention weights) and
    ``global_values`` for ``policy_or_models`` (a TrainedPolicy, a model or a list of models, one
    per population); every viewer started afterwards in this process offers them. Returns the
    :class:`ModelOverlays` behind them."""
    from neural_mmo.viewer.overlays import register_overlay

    overlays = ModelOverlays(policy_or_models, population=population)
    for name, fn in overlays.functions().items():
        register_overlay(name, fn)
    return overlays
