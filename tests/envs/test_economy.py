"""The economy systems in whole worlds: determinism, conservation of items, fuzzed actions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_mmo.agents.random import RandomPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.observe.heads import ActionHead
from neural_mmo.world.events import EventKind
from neural_mmo.world.items import STACKS, check_items

ECONOMY = {"item.enabled": True, "profession.enabled": True}


def economy(preset: str = "small", **overrides: object) -> Config:
    return Config.preset(preset).override({**ECONOMY, **overrides})


def run(vec: VecEnv, ticks: int, seed: int) -> list[tuple]:
    """Random (masked) actions for ``ticks``; per tick: hashes, observations' digest, events."""
    policy = RandomPolicy(vec.layout, seed)
    trace = []
    for _ in range(ticks):
        vec.step(policy.act(vec.observations))
        obs = b"".join(np.ascontiguousarray(a).tobytes() for a in vec.observations.values())
        events = [w.events.table[: w.events.n].tobytes() for w in vec.worlds]
        trace.append(([w.state_hash() for w in vec.worlds], hash(obs), events, vec.rewards.tobytes()))
    return trace


def test_the_economy_is_deterministic_and_really_happens():
    first = VecEnv(2, config=economy(), seed=4)
    second = VecEnv(2, config=economy(), seed=4)
    first.reset()
    second.reset()
    assert run(first, 300, 1) == run(second, 300, 1)
    seen = set()
    vec = VecEnv(2, config=economy(), seed=5)
    vec.reset()
    policy = RandomPolicy(vec.layout, 2)
    for _ in range(400):
        vec.step(policy.act(vec.observations))
        seen |= {e["kind"] for w in vec.worlds for e in w.events.rows()}
    assert {"HARVEST", "EQUIP", "UNEQUIP", "CONSUME", "LOOT"} <= seen, seen


def quantity(vec: VecEnv) -> int:
    return sum(int(w.items.quantity[w.items.alive].sum()) for w in vec.worlds)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), invalid=st.floats(0.0, 0.5))
def test_random_and_invalid_actions_conserve_items_where_nobody_dies(seed, invalid):
    """Immortal agents, no combat: items appear only by harvests and leave only by consumption;
    any action value (masked, out of range, absurd) keeps the table and the holdings agreeing."""
    cfg = economy(immortal=True, n_npcs=0, **{"combat.enabled": False, "item.inventory_slots": 4})
    vec = VecEnv(2, config=cfg, seed=seed % 1000)
    vec.reset()
    rng = np.random.default_rng(seed)
    policy = RandomPolicy(vec.layout, seed)
    size = vec.layout.action_sizes[ActionHead.USE]
    before = quantity(vec)
    for _ in range(200):
        actions = policy.act(vec.observations).astype(np.int64)
        bad = rng.random(vec.num_slots) < invalid
        actions[bad, ActionHead.USE] = rng.choice([-5, size, size + 7, 2**40, 1, 7], int(bad.sum()))
        vec.step(actions)
        harvested = consumed = 0
        for w in vec.worlds:
            assert check_items(w.items, w.holdings, cfg.item.max_stack) == []
            kinds = w.events.kind
            harvested += int((kinds == EventKind.HARVEST).sum()) * cfg.profession.amount
            consumed += int((kinds == EventKind.CONSUME).sum())
            inventory_rows = w.holdings.inventory[w.holdings.inventory >= 0]
            assert (w.items.quantity[inventory_rows] >= 1).all()
            assert (w.items.quantity[~STACKS[w.items.type] & w.items.alive] == 1).all()
        after = quantity(vec)
        assert after == before + harvested - consumed
        before = after


@pytest.mark.parametrize("loot", [True, False])
def test_deaths_only_ever_remove_or_hand_over_items(loot):
    cfg = economy(**{"item.loot": loot})
    vec = VecEnv(2, config=cfg, seed=9)
    vec.reset()
    policy = RandomPolicy(vec.layout, 9)
    deaths = 0
    for _ in range(300):
        before = quantity(vec)
        vec.step(policy.act(vec.observations))
        harvested = sum(int((w.events.kind == EventKind.HARVEST).sum()) for w in vec.worlds)
        dropped = sum(int((w.events.kind == EventKind.DROP).sum()) for w in vec.worlds)  # NPC drops
        assert quantity(vec) <= before + harvested * cfg.profession.amount + dropped  # nothing duplicated
        for w in vec.worlds:
            assert check_items(w.items, w.holdings, cfg.item.max_stack) == []
            dead = ~w.agents.alive
            assert (w.holdings.inventory[dead] < 0).all() and (w.holdings.equipment[dead] < 0).all()
            held = w.items.owner[w.items.alive]
            assert w.agents.alive[held].all()  # every item has a living owner
            deaths += int((w.events.kind == EventKind.DEATH).sum())
    assert deaths > 0
