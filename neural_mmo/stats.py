"""Run statistics gathered from the event log, tick by tick (CLI summaries, later training logs)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from neural_mmo.world.events import DeathCause, EventKind, GoldSource
from neural_mmo.world.state import WorldState


@dataclass
class RunStats:
    """Population, lifetimes, deaths by cause, event counts, hits, kills, levels and the economy
    (gold earned, trades, items made, market volume) of one or more worlds."""

    population: list[int] = field(default_factory=list)
    lifetimes: list[int] = field(default_factory=list)
    deaths: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    agent_steps: int = 0
    ticks: int = 0
    episodes: int = 0
    hits: int = 0
    kills_of_agents: int = 0
    kills_of_npcs: int = 0
    top_level: int = 1
    gold_earned: Counter[str] = field(default_factory=Counter)
    """Gold gained by source (GoldSource name: npc, loot, gift, sale)."""
    items_made: Counter[int] = field(default_factory=Counter)
    """Items harvested or dropped by NPCs, by level."""
    market_volume: int = 0
    """Gold paid on the exchange."""

    def record(self, states: list[WorldState], stepped: bool = True) -> None:
        """Add the latest tick of every world: call after each step, and once after the first
        reset with ``stepped=False`` (to count the agents spawned at reset)."""
        alive = 0
        for state in states:
            ev = state.events
            n = ev.n
            kinds = ev.kind[:n]
            alive += state.n_alive
            for kind, count in zip(*np.unique(kinds, return_counts=True)):
                self.events[EventKind(int(kind)).name.lower()] += int(count)
            n_agents = state.agents.capacity
            self.hits += int(np.count_nonzero((kinds == EventKind.ATTACK) & (ev.value > 0)))
            kills = ev.other[kinds == EventKind.KILL]
            self.kills_of_agents += int(np.count_nonzero(kills < n_agents))
            self.kills_of_npcs += int(np.count_nonzero(kills >= n_agents))
            level_ups = ev.value[kinds == EventKind.LEVEL_UP]
            if level_ups.size:
                self.top_level = max(self.top_level, int(level_ups.max()))
            self._record_economy(ev.value[:n], ev.detail[:n], kinds)
            dead = np.flatnonzero(kinds == EventKind.DEATH)
            if dead.size:
                slots = ev.slot[dead]
                self.lifetimes.extend((state.tick - state.agents.spawn_tick[slots]).tolist())
                for cause in ev.value[dead].tolist():
                    self.deaths[DeathCause(cause).name.lower()] += 1
        if stepped:
            self.population.append(alive)
            self.ticks += 1
            self.agent_steps += alive

    def _record_economy(self, value: np.ndarray, detail: np.ndarray, kinds: np.ndarray) -> None:
        gains = (kinds == EventKind.GOLD) & (value > 0)
        for source, amount in zip(detail[gains].tolist(), value[gains].tolist()):
            self.gold_earned[GoldSource(source).name.lower()] += amount
        made = (kinds == EventKind.HARVEST) | (kinds == EventKind.DROP)
        self.items_made.update(value[made].tolist())
        self.market_volume += int(value[kinds == EventKind.BUY].sum())

    def finish(self, states: list[WorldState]) -> None:
        """Close the episodes of ``states``: agents still alive count as lifetimes too (censored
        at the last tick)."""
        for state in states:
            self.episodes += 1
            slots = np.flatnonzero(state.agents.alive)
            self.lifetimes.extend((state.tick - state.agents.spawn_tick[slots]).tolist())

    def summary(self) -> dict[str, object]:
        life = np.array(self.lifetimes or [0])
        pop = np.array(self.population or [0])
        return {
            "ticks": self.ticks,
            "episodes": self.episodes,
            "agent_steps": self.agent_steps,
            "population_mean": float(pop.mean()),
            "population_min": int(pop.min()),
            "population_max": int(pop.max()),
            "population_final": int(pop[-1]),
            "lifetime_mean": float(life.mean()),
            "lifetime_max": int(life.max()),
            "agents_seen": len(self.lifetimes),
            "hits": self.hits,
            "kills_of_agents": self.kills_of_agents,
            "kills_of_npcs": self.kills_of_npcs,
            "top_level": self.top_level,
            "deaths": dict(self.deaths),
            "events": dict(self.events),
            "economy": self._economy_summary(),
        }

    def _economy_summary(self) -> dict[str, object]:
        """Gold earned (by source), trades, items made by level, market volume and mean price."""
        sales = self.events.get("buy", 0)
        return {
            "gold_earned": sum(self.gold_earned.values()),
            "gold_by_source": dict(self.gold_earned),
            "items_made_by_level": dict(sorted(self.items_made.items())),
            "equips": self.events.get("equip", 0),
            "consumed": self.events.get("consume", 0),
            "gifts": self.events.get("give", 0),
            "listings": self.events.get("list", 0),
            "sales": sales,
            "market_volume": self.market_volume,
            "market_price_mean": self.market_volume / sales if sales else 0.0,
        }
