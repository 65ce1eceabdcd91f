"""Heatmap layers computed on the server: ``register_overlay(name, fn)``.

``fn(view) -> 2D array`` of the grid's shape, where ``view`` is a :class:`WorldView`: the tick's
``WorldState`` (read it, never write it) plus what the viewer has accumulated since the stream
started (or the replay was last sought, or a new episode began). Built-ins:

* ``counts``: visits of each tile by agents (one per living agent per tick it stands there);
* ``skills``: the level of the chosen skill (``view.skill``) where each living agent stands;
* ``population``: the population (1-based; 0: never visited) of the last agent seen on each tile;
* ``attacks``: the style of the last attack an agent made from each tile (1 melee, 2 range,
  3 mage; 0: none), splatted as they happen;
* ``resources``: the resource on each tile (:data:`RESOURCE_KINDS`: 1 ore, 2 tree, 3 crystal,
  4 herb, 5 fish; 0: none), a depleted tile (slag, stump, rubble, weeds, fished water) counting
  as the resource it regrows into; all 0 in a world without professions.

``counts`` is the exploration map of the research tools (``neural-mmo analyze``) as it grows.

Layers are sent quantised to ``uint8`` (base64, row-major) with their min and max for the legend.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neural_mmo.world.events import EventColumn, EventKind
from neural_mmo.world.materials import N_MATERIALS, Material
from neural_mmo.world.state import WorldState
from neural_mmo.world.tables import Skill

NAME_MAX = 32


class OverlayError(ValueError):
    """An overlay that cannot be registered, or whose function returned something unusable."""


@dataclass
class WorldView:
    """What an overlay function sees."""

    state: WorldState
    visits: np.ndarray  # int64 [G, G]  agent-ticks spent on each tile
    last_population: np.ndarray  # int16 [G, G]  population + 1 of the last agent seen there; 0 never
    skill: Skill = Skill.MELEE  # the skill chosen by the client (``skills`` overlay)
    last_attack: np.ndarray | None = None  # int8 [G, G]  Style of the last attack made from the tile

    @property
    def tick(self) -> int:
        return self.state.tick


OverlayFn = Callable[[WorldView], np.ndarray]
_REGISTRY: dict[str, OverlayFn] = {}


def register_overlay(name: str, fn: OverlayFn) -> None:
    """Add (or replace) the overlay ``name``; every viewer started afterwards in this process offers it."""
    if not isinstance(name, str) or not name or len(name) > NAME_MAX or not name.replace("_", "").isalnum():
        raise OverlayError(f"overlay name {name!r}: expected 1-{NAME_MAX} letters, digits or '_'")
    if not callable(fn):
        raise OverlayError(f"overlay {name!r}: fn must be callable as fn(world_view) -> 2D array")
    _REGISTRY[name] = fn


def overlay_names() -> list[str]:
    return sorted(_REGISTRY)


def compute_overlay(name: str, view: WorldView) -> np.ndarray:
    """Run overlay ``name`` and check what it returned: a finite numeric array of the grid's shape."""
    if name not in _REGISTRY:
        raise OverlayError(f"unknown overlay {name!r}; known: {', '.join(overlay_names())}")
    try:
        result = _REGISTRY[name](view)
    except Exception as err:  # a user's function: report it, never take the server down
        raise OverlayError(f"overlay {name!r} raised {type(err).__name__}: {err}") from err
    array = np.asarray(result)
    shape = view.state.material.shape
    if array.shape != shape:
        raise OverlayError(f"overlay {name!r} returned shape {array.shape}; expected the grid's {shape}")
    if array.dtype.kind not in "biuf":
        raise OverlayError(f"overlay {name!r} returned dtype {array.dtype}; expected bool, int or float")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise OverlayError(f"overlay {name!r} returned NaN or infinite values")
    return array


def quantise(array: np.ndarray) -> dict:
    """``{"data": base64 uint8, "min", "max", "rows", "cols"}``: 0 is the minimum, 255 the maximum."""
    lo, hi = float(array.min()), float(array.max())
    if hi > lo:
        q = np.rint((array - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    else:
        q = np.zeros(array.shape, np.uint8)
    rows, cols = array.shape
    return {
        "data": base64.b64encode(q.tobytes()).decode("ascii"),
        "min": lo,
        "max": hi,
        "rows": rows,
        "cols": cols,
    }


class OverlayTracker:
    """The accumulated arrays of one stream, updated once per tick whether or not anyone watches."""

    def __init__(self) -> None:
        self.visits: np.ndarray | None = None
        self.last_population: np.ndarray | None = None
        self.last_attack: np.ndarray | None = None
        self._tick: int | None = None

    def reset(self) -> None:
        self.visits = self.last_population = self.last_attack = None
        self._tick = None

    def observe(self, state: WorldState) -> None:
        """Count this tick's agents; a tick that is not the next one (seek, new episode) starts over."""
        shape = state.material.shape
        if self._tick is not None and state.tick == self._tick and self.visits is not None:
            return  # the same tick again (a paused replay re-sent): already counted
        if (
            self.visits is None
            or self.visits.shape != shape
            or self._tick is None
            or state.tick != self._tick + 1
        ):
            self.visits = np.zeros(shape, np.int64)
            self.last_population = np.zeros(shape, np.int16)
            self.last_attack = np.zeros(shape, np.int8)
        assert self.last_population is not None and self.last_attack is not None
        agents = state.agents
        alive = agents.alive
        r, c = agents.r[alive].astype(np.intp), agents.c[alive].astype(np.intp)
        np.add.at(self.visits, (r, c), 1)
        self.last_population[r, c] = agents.population[alive] + 1
        events = state.events.table[: state.events.counts[0]]
        attack = (events[:, EventColumn.KIND] == EventKind.ATTACK) & (
            events[:, EventColumn.SLOT] < len(alive)
        )
        self.last_attack[events[attack, EventColumn.R], events[attack, EventColumn.C]] = events[
            attack, EventColumn.DETAIL
        ]
        self._tick = state.tick

    def view(self, state: WorldState, skill: Skill = Skill.MELEE) -> WorldView:
        if self.visits is None or self.last_population is None:
            self.observe(state)
        assert self.visits is not None and self.last_population is not None
        return WorldView(state, self.visits, self.last_population, skill, self.last_attack)


def _counts(view: WorldView) -> np.ndarray:
    return view.visits


def _skills(view: WorldView) -> np.ndarray:
    agents = view.state.agents
    out = np.zeros(view.state.material.shape, np.float64)
    alive = agents.alive
    out[agents.r[alive], agents.c[alive]] = agents.level[alive, int(view.skill)]
    return out


def _population(view: WorldView) -> np.ndarray:
    return view.last_population


def _attacks(view: WorldView) -> np.ndarray:
    if view.last_attack is None:
        return np.zeros(view.state.material.shape, np.int8)
    return view.last_attack


RESOURCE_KINDS = ("ore", "tree", "crystal", "herb", "fish")
"""Values 1 .. 5 of the ``resources`` overlay (0: no resource)."""
RESOURCE_OF = np.zeros(N_MATERIALS, np.uint8)
"""``RESOURCE_OF[material]``: its value in the ``resources`` overlay; a depleted form has its resource's."""
for _kind, (_full, _depleted) in enumerate(
    [
        (Material.ORE, Material.SLAG),
        (Material.TREE, Material.STUMP),
        (Material.CRYSTAL, Material.RUBBLE),
        (Material.HERB, Material.WEEDS),
        (Material.FISH, Material.FISHED),
    ],
    start=1,
):
    RESOURCE_OF[_full] = RESOURCE_OF[_depleted] = _kind
del _kind, _full, _depleted
RESOURCE_OF.flags.writeable = False


def _resources(view: WorldView) -> np.ndarray:
    return RESOURCE_OF[view.state.material]


register_overlay("counts", _counts)
register_overlay("skills", _skills)
register_overlay("population", _population)
register_overlay("attacks", _attacks)
register_overlay("resources", _resources)
