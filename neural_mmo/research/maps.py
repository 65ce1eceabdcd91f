"""The paper's analysis maps: exploration, niche formation, agent-agent dependency and attacks.

* **Exploration** (Fig. 4): how often agents stood on each tile over an evaluation (one count per
  living agent per tick, after each step), the *coverage* (the share of passable playable tiles
  visited at least once, per world, averaged over worlds) and the mean over agents of the
  greatest (Euclidean) distance from their spawn tile that each reached.
* **Niche formation** (Fig. 5): the same counts per population, one colour per population in one
  picture, and the *specialisation*: the mean Jensen-Shannon divergence (base 2, so in [0, 1])
  between every two populations' visitation distributions. 0 when every population visits the
  tiles in the same proportions; 1 when no tile is visited by both of a pair.
* **Agent-agent dependency** (Fig. 7): :func:`dependency_map`.
* **Attacks**: where agents attacked from, by style (one count per attack, at the attacker's tile).

Counting runs on the VecEnv's flat buffers and each world's event log (:class:`MapRecorder`), once
per tick, with no per-agent Python. Counts of several worlds add up tile by tile, so the pictures
mean something on one fixed map (``map.fixed_seed``), which the paper's experiments used.
"""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.encode import Observer
from neural_mmo.observe.layout import EntityColumn, ObsLayout
from neural_mmo.render import POPULATION_COLOURS, material_rgb, save_png
from neural_mmo.world.events import EventColumn, EventKind
from neural_mmo.world.materials import PASSABLE, SPAWNABLE, Material
from neural_mmo.world.state import Clock, WorldState
from neural_mmo.world.step import reset as reset_world
from neural_mmo.world.vocabulary import N_STYLES

STYLE_COLOURS = np.array([(255, 59, 59), (59, 255, 106), (90, 168, 255)], np.uint8)
"""Melee, range and mage, as the viewer draws attacks."""


class MapRecorder:
    """Accumulates the exploration, niche and attack counts of a VecEnv's play.

    Call :meth:`start` after a reset, :meth:`tick` after every step and :meth:`finish` at the end.

    * ``visits`` int64 ``[n_populations, G, G]``: agent-ticks per population and tile;
    * ``visited`` bool ``[n_worlds, G, G]``: tiles each world's agents stood on;
    * ``attacks`` int64 ``[3, G, G]``: attacks made from each tile, per style (melee, range, mage);
    * ``distances``: per agent, the greatest distance from its spawn tile it reached.
    """

    def __init__(self, env: VecEnv):
        cfg = env.config
        G, P, W = cfg.grid_side, cfg.spawn.n_populations, env.num_worlds
        self.env = env
        self.visits = np.zeros((P, G, G), np.int64)
        self.visited = np.zeros((W, G, G), np.bool_)
        self.attacks = np.zeros((N_STYLES, G, G), np.int64)
        self.ticks = 0
        self._spawn = np.zeros((env.num_slots, 2), np.float64)
        self._far = np.zeros(env.num_slots, np.float64)
        self._distances: list[np.ndarray] = []

    @property
    def distances(self) -> np.ndarray:
        return np.concatenate(self._distances) if self._distances else np.zeros(0)

    def _rows(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        me = self.env.observations["entities"][slots, 0]
        return (me[:, EntityColumn.ROW].astype(np.int64), me[:, EntityColumn.COL].astype(np.int64),
                me[:, EntityColumn.POPULATION].astype(np.int64))  # fmt: skip

    def start(self) -> None:
        """Note where the agents of a freshly reset env stand."""
        slots = np.flatnonzero(self.env.alive)
        r, c, _ = self._rows(slots)
        self._spawn[slots] = np.stack([r, c], 1)
        self._far[:] = 0.0

    def tick(self) -> None:
        env = self.env
        G = env.config.grid_side
        S = env.slots_per_world
        alive = env.alive
        new = np.flatnonzero(env.spawned)
        if new.size:
            r, c, _ = self._rows(new)
            self._spawn[new] = np.stack([r, c], 1)
            self._far[new] = 0.0
        shown = np.flatnonzero(alive | env.terminations)  # the dead show where they died
        r, c, _ = self._rows(shown)
        far = np.hypot(r - self._spawn[shown, 0], c - self._spawn[shown, 1])
        self._far[shown] = np.maximum(self._far[shown], far)
        died = np.flatnonzero(env.terminations)
        if died.size:
            self._distances.append(self._far[died].copy())
        slots = np.flatnonzero(alive)
        r, c, p = self._rows(slots)
        self.visits.reshape(-1)[:] += np.bincount((p * G + r) * G + c, minlength=self.visits.size)
        self.visited[slots // S, r, c] = True
        for state in env.worlds:
            events = state.events.table[: state.events.counts[0]]
            hit = (events[:, EventColumn.KIND] == EventKind.ATTACK) & (events[:, EventColumn.SLOT] < S)
            if hit.any():
                style = events[hit, EventColumn.DETAIL] - 1
                np.add.at(self.attacks, (style, events[hit, EventColumn.R], events[hit, EventColumn.C]), 1)
        self.ticks += 1

    def finish(self) -> None:
        """Count the distances of the agents still alive."""
        living = np.flatnonzero(self.env.alive)
        if living.size:
            self._distances.append(self._far[living].copy())


# ---------------------------------------------------------------------------------- numbers


def coverage(visited: np.ndarray, materials: list[np.ndarray], config: Config) -> float:
    """The share of passable playable tiles visited, per world (``visited[w]`` on
    ``materials[w]``), averaged over worlds."""
    b, n = config.map.border, config.map.size
    shares = []
    for w in range(visited.shape[0]):
        material = materials[w]
        passable = PASSABLE[np.asarray(material)[b : b + n, b : b + n]]
        seen = visited[w, b : b + n, b : b + n] & passable
        shares.append(seen.sum() / max(1, passable.sum()))
    return float(np.mean(shares)) if shares else math.nan


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2) of two distributions given as non-negative counts."""
    p = np.asarray(p, np.float64).ravel()
    q = np.asarray(q, np.float64).ravel()
    if p.sum() <= 0 or q.sum() <= 0:
        return math.nan
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        keep = a > 0
        return float(np.sum(a[keep] * np.log2(a[keep] / m[keep])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def specialisation(visits: np.ndarray) -> float:
    """Mean Jensen-Shannon divergence over every pair of populations that visited anything
    (``visits [P, ...]``); NaN with fewer than two such populations."""
    present = [p for p in range(visits.shape[0]) if visits[p].sum() > 0]
    pairs = list(combinations(present, 2))
    if not pairs:
        return math.nan
    return float(np.mean([jensen_shannon(visits[a], visits[b]) for a, b in pairs]))


# ---------------------------------------------------------------------------------- pictures


def heat_colours(t: np.ndarray) -> np.ndarray:
    """``uint8 [..., 3]``: black-red-yellow-white for ``t`` in [0, 1] (the viewer's heat ramp)."""
    t = np.clip(np.asarray(t, np.float64), 0.0, 1.0)
    r = np.clip(3 * t, 0, 1)
    g = np.clip(3 * t - 1, 0, 1)
    b = np.clip(3 * t - 2, 0, 1)
    return (np.stack([r, g, b], -1) * 255).astype(np.uint8)


def _background(material: np.ndarray, scale: int) -> np.ndarray:
    return (material_rgb(material, scale).astype(np.float64) * 0.3).astype(np.uint8)


def _up(image: np.ndarray, scale: int) -> np.ndarray:
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def exploration_image(visits: np.ndarray, material: np.ndarray, scale: int = 4) -> np.ndarray:
    """RGB picture: visit counts (all populations, log scale) over the darkened map."""
    total = visits.sum(axis=0) if visits.ndim == 3 else visits
    image = _background(material, scale)
    if total.max() > 0:
        t = np.log1p(total) / np.log1p(total.max())
        heat = _up(heat_colours(0.15 + 0.85 * t), scale)
        seen = _up(total > 0, scale)
        image[seen] = heat[seen]
    return image


def mixed_image(counts: np.ndarray, colours: np.ndarray, material: np.ndarray, scale: int = 4) -> np.ndarray:
    """RGB picture of ``counts [K, G, G]``: each visited tile in the mix of the K colours weighted
    by its counts, brighter where there are more (log scale), over the darkened map."""
    total = counts.sum(axis=0)
    image = _background(material, scale)
    if total.max() <= 0:
        return image
    share = counts / np.maximum(total, 1)
    mix = np.tensordot(share, np.asarray(colours[: len(counts)], np.float64), axes=(0, 0))  # [G, G, 3]
    light = 0.35 + 0.65 * np.log1p(total) / np.log1p(total.max())
    tiles = (mix * light[..., None]).astype(np.uint8)
    seen = _up(total > 0, scale)
    image[seen] = _up(tiles, scale)[seen]
    return image


def niche_image(visits: np.ndarray, material: np.ndarray, scale: int = 4) -> np.ndarray:
    """RGB picture: one colour per population (the viewer's population colours)."""
    colours = POPULATION_COLOURS[np.arange(len(visits)) % len(POPULATION_COLOURS)]
    return mixed_image(visits, colours, material, scale)


def attack_image(attacks: np.ndarray, material: np.ndarray, scale: int = 4) -> np.ndarray:
    """RGB picture: attacks splatted by style colour (melee red, range green, mage blue)."""
    return mixed_image(attacks, STYLE_COLOURS, material, scale)


def crop(image: np.ndarray, config: Config, scale: int) -> np.ndarray:
    """The playable area of a picture of the whole grid."""
    b, n = config.map.border * scale, config.map.size * scale
    return image[b : b + n, b : b + n]


# ---------------------------------------------------------------------------------- dependency


def grass_scene(config: Config) -> tuple[np.ndarray, tuple[int, int]]:
    """A hypothetical map: grass everywhere on the playable area (lava border), the centre tile."""
    side, b, n = config.grid_side, config.map.border, config.map.size
    material = np.full((side, side), Material.LAVA, np.uint8)
    material[b : b + n, b : b + n] = Material.GRASS
    return material, (b + n // 2, b + n // 2)


def dependency_observations(
    config: Config, material: np.ndarray, centre: tuple[int, int], populations: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """``(alone, pairs, offsets)``: the observations the project's encoder writes for an agent at
    ``centre`` of ``material``, alone (``[P, ...]``, one per population of the agent) and with a
    second agent at each offset of ``offsets`` (``[P, P, K, ...]``: agent's population, the
    other's, offset). Both agents have full vitals and are past their spawn immunity (the world's
    clock is set just past it); the world holds no NPCs. Offsets whose tile no agent could spawn
    on are left out."""
    R = config.observe.vision_radius
    scratch = config.override({"npc.n_npcs": 0, "spawn.n_agents": max(2, populations), "spawn.cap": 0,
                               "spawn.sample_cap": False, "map.fixed_seed": -1, "map.file": ""})  # fmt: skip
    layout = ObsLayout(scratch)
    state = WorldState.allocate(scratch)
    observer = Observer(layout, layout.allocate(scratch.spawn.n_agents))
    r0, c0 = centre
    if not SPAWNABLE[material[r0, c0]]:
        raise ValueError(f"the centre tile {centre} is not a tile an agent can stand on")
    offsets = np.array(
        [(dr, dc) for dr in range(-R, R + 1) for dc in range(-R, R + 1)
         if (dr, dc) != (0, 0) and 0 <= r0 + dr < material.shape[0] and 0 <= c0 + dc < material.shape[1]
         and SPAWNABLE[material[r0 + dr, c0 + dc]]],
        np.int64,
    ).reshape(-1, 2)  # fmt: skip
    P, K = populations, len(offsets)
    alone = {f.key: np.zeros((P, *f.shape), f.dtype) for f in layout.fields}
    pairs = {f.key: np.zeros((P, P, K, *f.shape), f.dtype) for f in layout.fields}
    past_immunity = config.combat.spawn_immunity + 1
    seed = np.random.SeedSequence(0)

    def write(a: int, b: int | None) -> dict[str, np.ndarray]:
        state.agents.population[0] = a
        if b is not None:
            state.agents.population[1] = b
        observer.clear()
        observer.write(state)
        return observer.buffers

    reset_world(state, seed, material, np.array([[r0, c0]], np.int64))
    state.clock[Clock.TICK] = past_immunity
    for a in range(P):
        for key, array in write(a, None).items():
            alone[key][a] = array[0]
    for k, (dr, dc) in enumerate(offsets.tolist()):
        reset_world(state, seed, material, np.array([[r0, c0], [r0 + dr, c0 + dc]], np.int64))
        state.clock[Clock.TICK] = past_immunity
        for a in range(P):
            for b in range(P):
                for key, array in write(a, b).items():
                    pairs[key][a, b, k] = array[0]
    return alone, pairs, offsets


def dependency_map(
    models: list[Any],
    config: Config,
    material: np.ndarray | None = None,
    centre: tuple[int, int] | None = None,
    batch: int = 4096,
) -> np.ndarray:
    """Agent-agent dependency: ``float [P, P, 2R+1, 2R+1]``; entry ``[a, b, R + dr, R + dc]`` is
    the value (model ``a``'s) of an agent of population ``a`` at the centre of the crop with a
    second agent of population ``b`` at offset ``(dr, dc)``, minus its value alone. NaN at the
    centre and where no agent can stand. The scene is ``material`` around ``centre``, by default
    a grass field (:func:`grass_scene`). Observations come from the project's encoder
    (:func:`dependency_observations`); values from batched forward passes."""
    import torch

    from neural_mmo.train.io import to_tensors

    if material is None or centre is None:
        material, centre = grass_scene(config)
    P = len(models)
    R = config.observe.vision_radius
    alone, pairs, offsets = dependency_observations(config, material, centre, P)
    K = len(offsets)
    out = np.full((P, P, 2 * R + 1, 2 * R + 1), np.nan)
    with torch.no_grad():
        for a, model in enumerate(models):
            base = float(model(to_tensors({k: v[a : a + 1] for k, v in alone.items()}))[1][0])
            flat = {k: v[a].reshape(P * K, *v.shape[3:]) for k, v in pairs.items()}
            values = np.zeros(P * K)
            for start in range(0, P * K, batch):
                chunk = {k: v[start : start + batch] for k, v in flat.items()}
                values[start : start + batch] = model(to_tensors(chunk))[1].numpy()
            values = values.reshape(P, K) - base
            for b in range(P):
                out[a, b][offsets[:, 0] + R, offsets[:, 1] + R] = values[b]
    return out


# ---------------------------------------------------------------------------------- files


def save_maps(recorder: MapRecorder, out: str | Path, scale: int = 4) -> dict[str, Any]:
    """Write the exploration, niche and attack pictures (playable area) and arrays to ``out``;
    return the numbers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = recorder.env
    cfg = env.config
    material = env.worlds[0].material
    materials = [w.material for w in env.worlds]
    np.savez_compressed(out / "maps.npz", visits=recorder.visits, visited=recorder.visited,
                        attacks=recorder.attacks, material=material,
                        distances=recorder.distances)  # fmt: skip
    save_png(crop(exploration_image(recorder.visits, material, scale), cfg, scale), out / "exploration.png")
    save_png(crop(niche_image(recorder.visits, material, scale), cfg, scale), out / "niche.png")
    save_png(crop(attack_image(recorder.attacks, material, scale), cfg, scale), out / "attacks.png")
    distances = recorder.distances
    return {
        "ticks": recorder.ticks,
        "coverage": coverage(recorder.visited, materials, cfg),
        "distance_from_spawn_mean": float(distances.mean()) if distances.size else math.nan,
        "specialisation": specialisation(recorder.visits),
        "visits_per_population": recorder.visits.reshape(len(recorder.visits), -1).sum(1).tolist(),
        "attacks_per_style": {
            s: int(recorder.attacks[k].sum()) for k, s in enumerate(("melee", "range", "mage"))
        },
    }
