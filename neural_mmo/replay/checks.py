"""The values of a decoded state are ones a world can hold: :func:`check_state`.

Checksums catch damage, not intent: a file written to be hostile has valid checksums around
values no world produces (an NPC behaviour of 99, a row or column off the grid, an entity number
past the tables). Viewers, videos and overlays index arrays with these values, so every state a
reader hands out is checked first and a bad one is a :class:`ReplayError` naming the record, the
array and the value, instead of an ``IndexError`` deep inside a consumer.
"""

from __future__ import annotations

import numpy as np

from neural_mmo.replay.format import ReplayError
from neural_mmo.world.events import DeathCause, EventColumn, EventKind, GoldSource
from neural_mmo.world.items import N_ITEM_TYPES
from neural_mmo.world.materials import materials_in_play
from neural_mmo.world.state import Clock, WorldState
from neural_mmo.world.tables import N_PROFESSIONS, N_SKILLS, Behaviour
from neural_mmo.world.vocabulary import Style


def _in(where: str, name: str, values: np.ndarray, lo: int, hi: int) -> None:
    """Every value of ``values`` in ``lo <= v <= hi``, else a ReplayError naming the first outlier."""
    if values.size == 0:
        return
    bad = np.flatnonzero((values < lo) | (values > hi))
    if bad.size:
        k = int(bad[0])
        raise ReplayError(
            f"{where}: {name}[{k}] is {values.reshape(-1)[k]}, outside {lo}..{hi} "
            f"({bad.size} such value(s)): not a state a world can hold"
        )


def _check_entities(where: str, state: WorldState) -> None:
    cfg = state.config
    side = state.material.shape[0]
    entities = cfg.spawn.n_agents + cfg.npc.n_npcs
    for name, table in (("agents", state.agents), ("npcs", state.npcs)):
        _in(where, f"{name}.alive", table.alive.view(np.uint8), 0, 1)
        living = np.flatnonzero(table.alive)
        for column in ("r", "c"):
            _in(where, f"{name}.{column} of a living row", getattr(table, column)[living], 0, side - 1)
        health, max_health = table.health[living], table.max_health[living]
        _in(where, f"{name}.health of a living row", health, 1, np.iinfo(np.int16).max)
        over = np.flatnonzero(health > max_health)
        if over.size:
            k = int(over[0])
            raise ReplayError(
                f"{where}: {name}.health of slot {living[k]} is {health[k]}, above its max_health "
                f"{max_health[k]}: not a state a world can hold"
            )
        _in(where, f"{name}.level of a living row", table.level[living], 1, cfg.progression.max_level)
        _in(where, f"{name}.style", table.style, 0, max(Style))
        _in(where, f"{name}.death_cause", table.death_cause, 0, max(DeathCause))
        _in(where, f"{name}.killer", table.killer, -1, entities - 1)
    a = state.agents
    living = np.flatnonzero(a.alive)
    _in(where, "agents.population of a living row", a.population[living], 0, cfg.spawn.n_populations - 1)
    _in(where, "agents.food of a living row", a.food[living], 0, cfg.vitals.max_food)
    _in(where, "agents.water of a living row", a.water[living], 0, cfg.vitals.max_water)
    _in(where, "agents.xp of a living row", a.xp[living], 0, np.iinfo(np.int32).max)
    _in(where, "agents.agent_id of a living row", a.agent_id[living], 0, int(state.clock[Clock.NEXT_ID]) - 1)
    n = state.npcs
    living = np.flatnonzero(n.alive)
    _in(where, "npcs.behaviour of a living row", n.behaviour[living], min(Behaviour), max(Behaviour))
    for column in ("home_r", "home_c"):
        _in(where, f"npcs.{column} of a living row", getattr(n, column)[living], 0, side - 1)
    _in(where, "npcs.target", n.target, -1, cfg.spawn.n_agents - 1)
    _in(where, "npcs.npc_id of a living row", n.npc_id[living], 0, int(state.clock[Clock.NEXT_NPC_ID]) - 1)


_DETAIL = {
    EventKind.ATTACK: max(Style),
    EventKind.KILL: max(Style),
    EventKind.LEVEL_UP: N_SKILLS + N_PROFESSIONS - 1,
    EventKind.HARVEST: N_ITEM_TYPES - 1,
    EventKind.EQUIP: N_ITEM_TYPES - 1,
    EventKind.UNEQUIP: N_ITEM_TYPES - 1,
    EventKind.CONSUME: N_ITEM_TYPES - 1,
    EventKind.GOLD: max(GoldSource),
    EventKind.DROP: N_ITEM_TYPES - 1,
}
"""Largest ``detail`` of the events whose detail indexes something (a Style, a skill code, an ItemType)."""


def _check_events(where: str, state: WorldState) -> None:
    cfg = state.config
    side = state.material.shape[0]
    entities = cfg.spawn.n_agents + cfg.npc.n_npcs
    _in(where, "events.counts (rows)", state.events.counts[:1], 0, state.events.table.shape[0])
    _in(where, "events.counts (dropped)", state.events.counts[1:], 0, np.iinfo(np.int64).max)
    rows = state.events.table[: state.events.n]
    kind = rows[:, EventColumn.KIND]
    _in(where, "events.kind", kind, min(EventKind), max(EventKind))
    _in(where, "events.slot", rows[:, EventColumn.SLOT], 0, entities - 1)
    _in(where, "events.r", rows[:, EventColumn.R], 0, side - 1)
    _in(where, "events.c", rows[:, EventColumn.C], 0, side - 1)
    _in(where, "events.other", rows[:, EventColumn.OTHER], -1, entities - 1)
    pairs = (kind == EventKind.ATTACK) | (kind == EventKind.KILL)
    _in(where, "events.other of an attack or kill", rows[pairs, EventColumn.OTHER], 0, entities - 1)
    for event, top in _DETAIL.items():
        _in(where, f"events.detail of a {event.name} event", rows[kind == event, EventColumn.DETAIL], 0, top)
    death = kind == EventKind.DEATH
    _in(where, "events.value of a DEATH event", rows[death, EventColumn.VALUE], 0, max(DeathCause))
    behaviour = rows[kind == EventKind.NPC_SPAWN, EventColumn.VALUE]
    _in(where, "events.value of an NPC_SPAWN event", behaviour, min(Behaviour), max(Behaviour))


def check_state(state: WorldState, where: str) -> None:
    """Raise :class:`ReplayError` (naming ``where``, the array and the value) unless every value a
    consumer indexes with, or relies on being in range, is one a world of ``state.config`` can hold:
    materials, positions, entity numbers, behaviours, styles, populations, levels and vitals of
    living rows, the regrowth queue's links and the event rows."""
    clock = state.clock
    _in(where, "clock", clock, 0, np.iinfo(np.int64).max)
    _in(where, "material", state.material, 0, materials_in_play(state.config.profession.enabled) - 1)
    cells = state.material.size
    entities = state.config.spawn.n_agents + state.config.npc.n_npcs
    _in(where, "occupant", state.occupant, -1, entities - 1)
    _check_entities(where, state)
    q = state.regrowth
    _in(where, "regrowth.head", q.head, -1, cells - 1)
    _in(where, "regrowth.next_tile", q.next_tile, -1, cells - 1)
    _in(where, "regrowth.due", q.due, -1, np.iinfo(np.int64).max)
    _check_events(where, state)
