"""World state -> the viewer's frame: a compact, JSON-ready dict per tick.

A :class:`Frame` holds the tick's body (agents, NPCs, attacks; with ``item.enabled`` each agent's
gold and items, loot markers and the exchange's market) as columns built from the state's arrays,
plus a copy of the ``material`` grid. The map is not part of the body: each client has
seen its own version of it (a client may join late, or have frames dropped), so
:func:`frame_text` adds either the whole map or the tiles that changed since that client's
version when the frame is sent. Message format: ``docs/viewer.md``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

from neural_mmo.world.events import EventColumn, EventKind
from neural_mmo.world.items import N_ITEM_TYPES, EquipSlot, ItemType, Place
from neural_mmo.world.state import WorldState
from neural_mmo.world.systems import shaded_areas

FULL_MAP_SHARE = 0.25
"""When more than this share of tiles changed (a new episode), the whole map is sent instead."""

ITEM_NAMES = [t.name.lower() for t in ItemType]
"""Item type names by ``ItemType`` value (0: ``"none"``), as the server's hello message sends them."""
EQUIP_SLOT_NAMES = [s.name.lower() for s in EquipSlot]
"""Equipment slot names by ``EquipSlot`` value (weapon, tool, head, body, legs, ammo)."""
LOOT_KINDS = {EventKind.LOOT: "loot", EventKind.DROP: "drop"}
"""Events shown as loot markers, and their names in a frame's ``loot`` rows."""


@dataclass
class Frame:
    """One tick, encoded once and shared by every client."""

    tick: int
    body: dict  # JSON-ready: tick, agents, npcs, attacks (areas, loot, market)
    material: np.ndarray  # uint8 [G, G], never written after the frame is made
    text: str = ""  # json.dumps(body), made once
    overlays: dict[str, str] = field(default_factory=dict)  # overlay key -> JSON text of its layer

    def __post_init__(self) -> None:
        if not self.text:
            self.text = json.dumps(self.body, separators=(",", ":"))


def _columns(**columns: np.ndarray) -> dict[str, list]:
    return {name: values.tolist() for name, values in columns.items()}


def encode_body(state: WorldState) -> dict:
    """The tick's agents, NPCs and attacks as columns of plain lists (the map is left out); with
    items, the agents' ``gold``, ``items`` (and ``listings``), ``loot`` and ``market``."""
    agents, npcs = state.agents, state.npcs
    a = np.flatnonzero(agents.alive)
    n = np.flatnonzero(npcs.alive)
    ev = state.events.table[: state.events.n]
    attacks = ev[ev[:, EventColumn.KIND] == EventKind.ATTACK]
    # entity numbers (agent slots, then n_agents + NPC slot) index the agent columns followed by
    # the NPC columns
    target = attacks[:, EventColumn.OTHER]
    target_r = np.concatenate([agents.r, npcs.r]).astype(np.int64)[target]
    target_c = np.concatenate([agents.c, npcs.c]).astype(np.int64)[target]
    attack_rows = np.stack(
        [
            attacks[:, EventColumn.R],
            attacks[:, EventColumn.C],
            target_r,
            target_c,
            attacks[:, EventColumn.DETAIL],
        ],
        axis=1,
    )
    body = {
        "type": "frame",
        "tick": state.tick,
        "grid": int(state.material.shape[0]),
        "agents": {
            **_columns(
                id=agents.agent_id[a],
                slot=a,
                r=agents.r[a],
                c=agents.c[a],
                population=agents.population[a],
                health=agents.health[a],
                max_health=agents.max_health[a],
                food=agents.food[a],
                water=agents.water[a],
                levels=agents.level[a],
                style=agents.style[a],
                spawn_tick=agents.spawn_tick[a],
            ),
            "alive": [True] * len(a),
        },
        "npcs": _columns(
            id=npcs.npc_id[n],
            r=npcs.r[n],
            c=npcs.c[n],
            behaviour=npcs.behaviour[n],
            level=npcs.level[n, 0],  # every skill of an NPC is at its level
            health=npcs.health[n],
        ),
        "attacks": attack_rows.tolist(),  # [from_r, from_c, to_r, to_c, style]
    }
    areas = shaded_areas(state)  # what systems mark on the map this tick
    if areas:
        body["areas"] = areas
    if state.items.alive.shape[0] > 0:  # item.enabled: gold, holdings, loot (and the market)
        _add_economy(state, body, a, ev)
    return body


def _holdings(state: WorldState, a: np.ndarray) -> list[list[list[int]]]:
    """Per agent slot of ``a``: ``[type, level, quantity, place, slot]`` of each item it holds,
    equipment (EquipSlot order) then inventory (position order); ``place`` is 2 (equipped) or 1
    (inventory), ``slot`` the EquipSlot or inventory position."""
    items, holdings = state.items, state.holdings
    held = np.concatenate([holdings.equipment[a], holdings.inventory[a]], axis=1)  # [n, 6 + S]
    who, _ = np.nonzero(held >= 0)  # row-major: by agent, equipment first
    rows = held[held >= 0]
    if len(rows) == 0:
        return [[] for _ in range(len(a))]
    columns = [items.type, items.level, items.quantity, items.place, items.slot]
    table = np.stack([column[rows] for column in columns], axis=1).astype(np.int64).tolist()
    ends = np.cumsum(np.bincount(who, minlength=len(a))).tolist()
    return [table[start:end] for start, end in zip([0, *ends[:-1]], ends)]


def _market(state: WorldState) -> list[list[int]]:
    """The exchange's rows that have listings or a last sale: ``[type, level, cheapest price (0:
    none listed), listings, last price (0: no sale yet)]``, by type then level."""
    items, last_price = state.items, state.market.last_price
    max_level = last_price.shape[0] // (N_ITEM_TYPES - 1)
    listed = np.flatnonzero(items.alive & (items.place == Place.LISTED))
    m = (items.type[listed].astype(np.int64) - 1) * max_level + items.level[listed] - 1
    count = np.bincount(m, minlength=last_price.shape[0])
    cheapest = np.full(last_price.shape[0], np.iinfo(np.int64).max, np.int64)
    np.minimum.at(cheapest, m, items.price[listed].astype(np.int64))
    cheapest[count == 0] = 0
    rows = np.flatnonzero((count > 0) | (last_price > 0))
    return np.stack(
        [1 + rows // max_level, 1 + rows % max_level, cheapest[rows], count[rows], last_price[rows]], axis=1
    ).tolist()


def _add_economy(state: WorldState, body: dict, a: np.ndarray, ev: np.ndarray) -> None:
    """The item columns of ``body["agents"]``, the ``loot`` markers and the ``market``."""
    agents = body["agents"]
    agents["gold"] = state.gold[a].tolist()
    agents["items"] = _holdings(state, a)
    if state.market.listed.shape[0] > 0:  # exchange.enabled
        agents["listings"] = state.market.listed[a].tolist()
    loot = []
    for row in ev[np.isin(ev[:, EventColumn.KIND], list(LOOT_KINDS))].tolist():
        kind = EventKind(row[EventColumn.KIND])
        # LOOT: items taken and items that vanished; DROP: the item's type and level
        a_, b_ = (
            (row[EventColumn.VALUE], row[EventColumn.DETAIL])
            if kind == EventKind.LOOT
            else (row[EventColumn.DETAIL], row[EventColumn.VALUE])
        )
        receiver = row[EventColumn.AGENT_ID]
        loot.append([row[EventColumn.R], row[EventColumn.C], LOOT_KINDS[kind], receiver, a_, b_])
    body["loot"] = loot  # [r, c, "loot" | "drop", receiver's agent id, a, b]
    if state.market.last_price.shape[0] > 0:
        body["market"] = _market(state)


class FrameEncoder:
    """Turns successive states into frames; the material copy is shared while the map is unchanged,
    so comparing a client's version with a frame's is an identity check on most ticks."""

    def __init__(self) -> None:
        self._material: np.ndarray | None = None

    def encode(self, state: WorldState) -> Frame:
        material = state.material
        if self._material is None or not np.array_equal(self._material, material):
            self._material = material.copy()
            self._material.flags.writeable = False
        return Frame(state.tick, encode_body(state), self._material)


def map_part(material: np.ndarray, known: np.ndarray | None) -> dict | None:
    """What a client that has map ``known`` needs to have ``material``: None when nothing changed,
    ``{"full": base64, "rows", "cols"}`` for a whole map, ``{"tiles": [[r, c, m], ...]}`` for a few."""
    if known is material:
        return None
    if known is not None and known.shape == material.shape:
        r, c = np.nonzero(known != material)
        if len(r) == 0:
            return None
        if len(r) <= FULL_MAP_SHARE * material.size:
            return {"tiles": np.stack([r, c, material[r, c]], axis=1).tolist()}
    rows, cols = material.shape
    data = base64.b64encode(np.ascontiguousarray(material, np.uint8).tobytes()).decode("ascii")
    return {"full": data, "rows": int(rows), "cols": int(cols)}


def frame_text(frame: Frame, known: np.ndarray | None, overlay: str | None = None) -> str:
    """The JSON text sent to one client: the shared body, plus its map update and overlay layer."""
    extra = []
    part = map_part(frame.material, known)
    if part is not None:
        extra.append('"map":' + json.dumps(part, separators=(",", ":")))
    if overlay is not None and overlay in frame.overlays:
        extra.append('"overlay":' + frame.overlays[overlay])
    if not extra:
        return frame.text
    return frame.text[:-1] + "," + ",".join(extra) + "}"
