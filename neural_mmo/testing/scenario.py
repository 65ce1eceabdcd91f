"""Tiny hand-drawn worlds for rule tests: an ASCII map becomes a one-world VecEnv.

Legend (playable area only; the lava border is added around it)::

    .  grass      ,  scrub      T  forest      #  stone      ~  water      L  lava
    o  ore        t  tree       c  crystal     *  herb       f  fish   (need profession.enabled)
    0-9  agent in that slot, standing on grass
    p n h  a passive, neutral or hostile NPC on grass (NPC slots in reading order)

NPCs drawn on the map replace the ones the spawn rules would place (the world gets as many NPC
slots as are drawn unless ``npc__n_npcs`` says more, and no respawns unless
``npc__spawn_attempts`` says so); they get level ``npc_level`` and style ``npc_style``. A
scenario is one episode: a reset would place NPCs by the spawn rules again.

Example::

    sc = Scenario('''
        ~....
        .0.T.
        .....
        ..1..
        .....
    ''', immortal=True)
    sc.step({0: Direction.EAST})
    assert sc.pos(0) == (1, 2)

Positions from :meth:`Scenario.pos` and :meth:`Scenario.material_at` are in playable
coordinates (row 0 is the top row of the drawing).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from neural_mmo.config import make_config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead, attack_value
from neural_mmo.world.events import EventKind
from neural_mmo.world.materials import Material
from neural_mmo.world.state import Clock, WorldState
from neural_mmo.world.systems.npc import put_npc
from neural_mmo.world.tables import Behaviour
from neural_mmo.world.vocabulary import Style

LEGEND = {
    ".": Material.GRASS,
    ",": Material.SCRUB,
    "T": Material.FOREST,
    "#": Material.STONE,
    "~": Material.WATER,
    "L": Material.LAVA,
    "o": Material.ORE,
    "t": Material.TREE,
    "c": Material.CRYSTAL,
    "*": Material.HERB,
    "f": Material.FISH,
}


NPC_LEGEND = {"p": Behaviour.PASSIVE, "n": Behaviour.NEUTRAL, "h": Behaviour.HOSTILE}


def parse_map(text: str) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
    """``(material [n, n] without border, {slot: (r, c)})`` from an ASCII drawing (NPC letters
    become grass; :func:`parse_npcs` lists them)."""
    lines = [line.strip() for line in textwrap.dedent(text).strip().splitlines() if line.strip()]
    side = len(lines)
    if any(len(line) != side for line in lines):
        raise ValueError(
            f"scenario maps must be square; got {side} rows of lengths {[len(x) for x in lines]}"
        )
    material = np.empty((side, side), np.uint8)
    agents: dict[int, tuple[int, int]] = {}
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch.isdigit():
                if int(ch) in agents:
                    raise ValueError(f"agent {ch} is drawn twice: at {agents[int(ch)]} and ({r}, {c})")
                agents[int(ch)] = (r, c)
                material[r, c] = Material.GRASS
            elif ch in NPC_LEGEND:
                material[r, c] = Material.GRASS
            elif ch in LEGEND:
                material[r, c] = LEGEND[ch]
            else:
                raise ValueError(
                    f"unknown map character {ch!r} at ({r}, {c}); legend: {''.join(LEGEND)} 0-9 "
                    f"{''.join(NPC_LEGEND)}"
                )
    if sorted(agents) != list(range(len(agents))):
        raise ValueError(f"agents must be numbered 0..k-1 without gaps, got {sorted(agents)}")
    return material, agents


def parse_npcs(text: str) -> list[tuple[int, int, Behaviour]]:
    """``[(r, c, Behaviour)]`` of the NPC letters of a drawing, in reading order."""
    lines = [line.strip() for line in textwrap.dedent(text).strip().splitlines() if line.strip()]
    return [
        (r, c, NPC_LEGEND[ch])
        for r, line in enumerate(lines)
        for c, ch in enumerate(line)
        if ch in NPC_LEGEND
    ]


def remove_all_npcs(state: WorldState) -> None:
    """Take every NPC off the map as if none had spawned this tick (a scenario places its own):
    their NPC_SPAWN events are dropped and NPC ids start again at 0."""
    npcs = state.npcs
    for j in np.flatnonzero(npcs.alive):
        state.occupant[npcs.r[j], npcs.c[j]] = -1
    npcs.clear()
    state.clock[Clock.NEXT_NPC_ID] = 0
    events = state.events
    keep = events.table[: events.n][events.kind != EventKind.NPC_SPAWN]
    events.table[: len(keep)] = keep
    events.counts[0] = len(keep)


class Scenario:
    """A one-world :class:`VecEnv` on a drawn map. ``**overrides`` are config fields."""

    def __init__(
        self, drawing: str, seed: int = 0, npc_level: int = 1, npc_style: int = Style.MELEE, **overrides: Any
    ):
        inner, agents = parse_map(drawing)
        npcs = parse_npcs(drawing)
        defaults: dict[str, Any] = {
            "map__size": inner.shape[0],
            "spawn__n_agents": max(len(agents), 1),
            "spawn__mode": "concurrent",
            "episode__horizon": 100_000,
            "npc__n_npcs": len(npcs),
            "npc__spawn_attempts": 0,
        }
        config = make_config("small", **{**defaults, **overrides})
        self.border = config.map.border
        material = np.full((config.grid_side, config.grid_side), Material.LAVA, np.uint8)
        b, n = self.border, inner.shape[0]
        material[b : b + n, b : b + n] = inner
        placements = np.array([agents[k] for k in range(len(agents))], np.int64).reshape(-1, 2) + b
        self.vec = VecEnv(1, config=config, seed=seed)
        self.vec.load(0, material, placements)
        if npcs:
            remove_all_npcs(self.state)
            for r, c, behaviour in npcs:
                put_npc(self.state, r + b, c + b, behaviour, npc_level, npc_style)
            self.refresh()

    def refresh(self) -> None:
        """Rewrite the observations after the state was edited by hand."""
        self.vec._observers[0].write(self.state)

    @property
    def config(self):
        return self.vec.config

    @property
    def state(self) -> WorldState:
        return self.vec.worlds[0]

    def step(
        self,
        moves: dict[int, int] | None = None,
        attacks: dict[int, tuple[int, int]] | None = None,
        heads: np.ndarray | None = None,
        act: dict[int, dict[str, int]] | None = None,
    ) -> None:
        """One tick; ``moves`` maps slot -> Direction (others stay); ``attacks`` maps slot ->
        ``(Style, entity number)`` (the entity must be in that agent's view); ``act`` maps slot ->
        ``{head name: value}``; or give full ``heads`` rows."""
        if heads is None:
            actions = np.zeros((self.vec.num_slots, self.vec.n_heads), np.int64)
        else:
            actions = np.array(heads)  # a copy: the caller's array is left alone
        for slot, direction in (moves or {}).items():
            actions[slot, ActionHead.MOVE] = int(direction)
        for slot, (style, entity) in (attacks or {}).items():
            actions[slot, ActionHead.ATTACK] = self.attack_value(slot, style, entity)
        column = {h.name: k for k, h in enumerate(self.vec.layout.heads)}
        for slot, values in (act or {}).items():
            for name, value in values.items():
                actions[slot, column[name]] = value
        self.vec.step(actions)

    def row_of(self, slot: int, entity: int) -> int:
        """The entity-observation row in which agent ``slot`` sees ``entity`` (ValueError if none)."""
        rows = np.flatnonzero(self.vec._entity_slot[slot] == entity)
        if rows.size == 0:
            raise ValueError(f"agent {slot} does not see entity {entity}")
        return int(rows[0])

    def attack_value(self, slot: int, style: int, entity: int) -> int:
        """The attack head value for agent ``slot`` attacking ``entity`` with ``style``."""
        return attack_value(int(style), self.row_of(slot, entity), self.config.observe.n_entities)

    def mask(self, slot: int, head: str) -> np.ndarray:
        """Agent ``slot``'s action mask of the head named ``head``."""
        layout = self.vec.layout
        k = [h.name for h in layout.heads].index(head)
        o = layout.action_offsets[k]
        return self.obs(slot)["action_mask"][o : o + layout.action_sizes[k]]

    def npc_entity(self, j: int) -> int:
        """Entity number of NPC slot ``j``."""
        return self.config.spawn.n_agents + j

    def npc(self, j: int) -> dict[str, Any]:
        return self.state.npcs.row(j)

    def npc_pos(self, j: int) -> tuple[int, int]:
        n = self.state.npcs
        return int(n.r[j]) - self.border, int(n.c[j]) - self.border

    def attack_mask(self, slot: int) -> np.ndarray:
        """``int8 [3, n_entities]``: the attack part of agent ``slot``'s mask, one row per style."""
        layout = self.vec.layout
        o = int(layout.action_offsets[ActionHead.ATTACK])
        rows = layout.n_entities
        return self.vec.observations["action_mask"][slot, o + 1 : o + 1 + 3 * rows].reshape(3, rows)

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.step()

    def pos(self, slot: int) -> tuple[int, int]:
        a = self.state.agents
        return int(a.r[slot]) - self.border, int(a.c[slot]) - self.border

    def agent(self, slot: int) -> dict[str, Any]:
        return self.state.agents.row(slot)

    def material_at(self, r: int, c: int) -> Material:
        return Material(int(self.state.material[r + self.border, c + self.border]))

    def events(self, kind: Any = None) -> list[dict[str, int]]:
        rows = self.state.events.rows()
        return rows if kind is None else [e for e in rows if e["kind"] == kind.name]

    def obs(self, slot: int) -> dict[str, np.ndarray]:
        return {k: v[slot] for k, v in self.vec.observations.items()}
