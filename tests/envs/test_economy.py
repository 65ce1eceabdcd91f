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
        actions = policy.act(vec.observations)
        actions[:, ActionHead.DESTROY :] = 0  # keep the items in play, so the dead leave loot
        vec.step(actions)
        seen |= {e["kind"] for w in vec.worlds for e in w.events.rows()}
    assert {"HARVEST", "EQUIP", "UNEQUIP", "CONSUME", "LOOT"} <= seen, seen


def quantity(vec: VecEnv) -> int:
    return sum(int(w.items.quantity[w.items.alive].sum()) for w in vec.worlds)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), invalid=st.floats(0.0, 0.5))
def test_random_and_invalid_actions_conserve_items_where_nobody_dies(seed, invalid):
    """Immortal agents, no combat: items appear only by harvests and leave only by consumption and
    destroy;
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
            consumed += int(w.events.value[kinds == EventKind.DESTROY].sum())  # the quantity destroyed
            inventory_rows = w.holdings.inventory[w.holdings.inventory >= 0]
            assert (w.items.quantity[inventory_rows] >= 1).all()
            assert (w.items.quantity[~STACKS[w.items.type] & w.items.alive] == 1).all()
        after = quantity(vec)
        assert after == before + harvested - consumed
        before = after


@pytest.mark.parametrize("loot", [True, False])
def test_deaths_only_ever_remove_or_hand_over_items(loot):
    cfg = economy(**{"item.loot": loot, "exchange.enabled": True})
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
            assert check_items(w.items, w.holdings, cfg.item.max_stack, w.market.listed) == []
            dead = ~w.agents.alive
            assert (w.holdings.inventory[dead] < 0).all() and (w.holdings.equipment[dead] < 0).all()
            held = w.items.owner[w.items.alive]
            assert w.agents.alive[held].all()  # every item has a living owner
            deaths += int((w.events.kind == EventKind.DEATH).sum())
    assert deaths > 0


TRADING = {**ECONOMY, "exchange.enabled": True, "exchange.listing_ticks": 20, "item.give_reach": 3}


def start_with_gold(vec: VecEnv, gold: int) -> None:
    for state in vec.worlds:
        state.gold[:] = gold * state.agents.alive
    vec.rewrite_observations()


def gold_of(vec: VecEnv) -> int:
    return sum(int(w.gold.sum()) for w in vec.worlds)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), invalid=st.floats(0.0, 0.5))
def test_trades_conserve_gold_and_items_under_random_and_invalid_actions(seed, invalid):
    """Immortal agents, no combat, no NPCs: no trade makes or loses gold; items appear only by
    harvests and leave only by consumption and destroy; no item has two owners, no inventory
    overflows, no gold is negative, whatever the actions (masked, out of range, absurd)."""
    check_trades_conserve(seed, invalid, 250)


def test_trades_conserve_gold_and_items_over_thousands_of_ticks():
    check_trades_conserve(seed=12345, invalid=0.2, ticks=2000)


def check_trades_conserve(seed: int, invalid: float, ticks: int) -> None:
    """``ticks`` of random and invalid economy actions in one episode (module docs of the tests above)."""
    overrides = {**TRADING, "combat.enabled": False, "item.inventory_slots": 4, "episode.horizon": ticks + 1}
    cfg = economy(immortal=True, n_npcs=0, **overrides)
    vec = VecEnv(2, config=cfg, seed=seed % 1000)
    vec.reset()
    start_with_gold(vec, 40)
    rng = np.random.default_rng(seed)
    policy = RandomPolicy(vec.layout, seed)
    sizes = vec.layout.action_sizes
    total_gold, before = gold_of(vec), quantity(vec)
    seen = set()
    for _ in range(ticks):
        actions = policy.act(vec.observations).astype(np.int64)
        for head in range(ActionHead.USE, len(sizes)):
            bad = rng.random(vec.num_slots) < invalid
            actions[bad, head] = rng.choice([-5, sizes[head], sizes[head] + 7, 2**40, 1, 7], int(bad.sum()))
        vec.step(actions)
        made = gone = 0
        for w in vec.worlds:
            assert check_items(w.items, w.holdings, cfg.item.max_stack, w.market.listed) == []
            assert (w.gold >= 0).all()
            assert (w.market.listed <= cfg.exchange.max_listings).all()
            rows = w.events.rows()
            seen |= {e["kind"] for e in rows}
            made += sum(cfg.profession.amount for e in rows if e["kind"] == "HARVEST")
            gone += sum(1 for e in rows if e["kind"] == "CONSUME")
            gone += sum(e["value"] for e in rows if e["kind"] == "DESTROY")
            gold_events = [e["value"] for e in rows if e["kind"] == "GOLD"]
            assert sum(gold_events) == 0  # every gold event of a trade has its opposite
        assert gold_of(vec) == total_gold
        after = quantity(vec)
        assert after == before + made - gone
        before = after
    assert {"GIVE", "LIST", "DESTROY"} <= seen, seen


def test_the_exchange_is_deterministic_and_trades_really_happen():
    cfg = economy(**TRADING)
    first, second = VecEnv(2, config=cfg, seed=3), VecEnv(2, config=cfg, seed=3)
    for vec in (first, second):
        vec.reset()
        start_with_gold(vec, 100)
    assert run(first, 300, 7) == run(second, 300, 7)
    assert (first.market == second.market).all()
    totals = first.event_counts.sum(axis=0)
    for kind in (EventKind.LIST, EventKind.BUY, EventKind.SELL, EventKind.GIVE, EventKind.EXPIRE):
        assert totals[kind] > 0, kind.name


def test_pettingzoo_publishes_the_market_once_per_world():
    from neural_mmo.envs.parallel import NeuralMMOParallelEnv
    from neural_mmo.world.systems.exchange import MarketView

    env = NeuralMMOParallelEnv(config=economy(**TRADING))
    obs, _ = env.reset(seed=2)
    agent = env.agents[0]
    assert "market" not in obs[agent] and "market" not in env.observation_space(agent).spaces
    table = env.market()
    assert env.market_space.contains(table)
    assert (table[:, MarketView.TYPE] >= 1).all() and (table[:, MarketView.PRICE] == 0).all()
    for _ in range(60):
        actions = {a: env.action_space(a).sample(obs[a]["action_mask"]) for a in env.agents}
        obs, *_ = env.step(actions)
    table = env.market()
    assert env.market_space.contains(table) and (table == env.vec.market[0]).all()
    table[:] = 0  # a copy: the env's table is untouched
    assert (env.vec.market[0][:, MarketView.TYPE] >= 1).all()
    plain = NeuralMMOParallelEnv(config=economy())
    plain.reset(seed=2)
    assert plain.market() is None and plain.market_space is None


@pytest.mark.parametrize("preset", ["small", "medium", "large"])
def test_an_observation_with_every_system_on_stays_within_4_kb(preset):
    from neural_mmo.observe.layout import ObsLayout

    layout = ObsLayout(economy(preset, **TRADING, **{"fog.enabled": True}))
    assert layout.bytes_per_agent <= 4096, layout.bytes_per_agent
    assert [f.key for f in layout.world_fields] == ["market"]  # outside every agent's observation


def reference_masks(vec: VecEnv, w: int) -> dict[str, np.ndarray]:
    """The destroy, give, give-gold, sell and buy masks of world ``w``, from the rules in plain
    Python (only the no-ops in empty slots and those of agents that died this tick)."""
    from neural_mmo.observe.heads import market_rows
    from neural_mmo.world.items import Place

    state, cfg = vec.worlds[w], vec.config
    S, E = cfg.spawn.n_agents, cfg.observe.n_entities
    slots, buckets, prices = cfg.item.inventory_slots, cfg.item.gold_buckets, cfg.exchange.price_buckets
    entity_slot = vec._entity_slot[w * S : (w + 1) * S]
    agents, inventory, items = state.agents, state.holdings.inventory, state.items
    listed = np.flatnonzero(items.alive & (items.place == Place.LISTED))
    table_full = bool(items.alive.all())
    out = {
        "destroy": np.zeros((S, 1 + slots), np.int8),
        "give": np.zeros((S, 1 + slots), np.int8),
        "give_to": np.zeros((S, 1 + E), np.int8),
        "give_gold": np.zeros((S, 1 + buckets), np.int8),
        "give_gold_to": np.zeros((S, 1 + E), np.int8),
        "sell": np.zeros((S, 1 + slots), np.int8),
        "sell_price": np.zeros((S, 1 + prices), np.int8),
        "buy": np.zeros((S, 1 + market_rows(cfg)), np.int8),
    }
    for mask in out.values():
        mask[:, 0] = 1  # the no-op: always allowed, in empty slots too
    for i in range(S):
        if not agents.alive[i]:
            continue
        # every pair of allowed nonzero values must be an action that happens: list the pairs
        gives, golds, sells = set(), set(), set()
        for row in range(E):
            j = entity_slot[i, row]
            near = (
                0 <= j < S and j != i and agents.alive[j]
                and max(abs(int(agents.r[j]) - int(agents.r[i])), abs(int(agents.c[j]) - int(agents.c[i])))
                <= cfg.item.give_reach
            )  # fmt: skip
            for s in range(slots):
                if near and (inventory[j] < 0).any() and inventory[i, s] >= 0:
                    gives.add((s, row))
            for b in range(buckets):
                if near and state.gold[i] >= 2**b:
                    golds.add((b, row))
        for s in range(slots):
            k = inventory[i, s]
            out["destroy"][i, 1 + s] = k >= 0
            can_list = state.market.listed[i] < cfg.exchange.max_listings
            if can_list and k >= 0 and (items.quantity[k] == 1 or not table_full):
                sells.update((s, b) for b in range(prices))
        for (first, second), pairs in (
            (("give", "give_to"), gives),
            (("give_gold", "give_gold_to"), golds),
            (("sell", "sell_price"), sells),
        ):
            for a, b in pairs:
                out[first][i, 1 + a] = 1
                out[second][i, 1 + b] = 1
            allowed_a = np.flatnonzero(out[first][i, 1:])
            allowed_b = np.flatnonzero(out[second][i, 1:])
            assert len(pairs) == len(allowed_a) * len(allowed_b)  # the pairs are a product: exact heads
        if not (inventory[i] < 0).any():
            continue
        for m in range(market_rows(cfg)):
            t, level = 1 + m // cfg.item.max_level, 1 + m % cfg.item.max_level
            same = [k for k in listed if items.type[k] == t and items.level[k] == level]
            price = min((int(items.price[k]) for k in same if items.owner[k] != i), default=0)
            out["buy"][i, 1 + m] = 0 < price <= state.gold[i]
    return out


def test_the_trade_and_exchange_masks_follow_the_rules():
    cfg = economy(**{**TRADING, "item.give_reach": 2, "exchange.max_listings": 2})
    vec = VecEnv(2, config=cfg, seed=11)
    vec.reset()
    start_with_gold(vec, 30)
    policy = RandomPolicy(vec.layout, 11)
    names = [h.name for h in vec.layout.heads]
    offsets, sizes = vec.layout.action_offsets, vec.layout.action_sizes
    allowed = dict.fromkeys(
        ["destroy", "give", "give_to", "give_gold", "give_gold_to", "sell", "sell_price", "buy"], 0
    )
    for t in range(150):
        vec.step(policy.act(vec.observations))
        if t % 3:
            continue
        S = cfg.spawn.n_agents
        for w in range(2):
            mask = vec.observations["action_mask"][w * S : (w + 1) * S]
            for head, expected in reference_masks(vec, w).items():
                k = names.index(head)
                got = mask[:, offsets[k] : offsets[k] + sizes[k]]
                assert (got == expected).all(), (head, t, w)
                allowed[head] += int(expected[:, 1:].sum())
    assert all(allowed.values()), allowed  # every head had something allowed to check


def test_the_equipment_view_matches_the_entity_rows_every_tick():
    """Each entity row's ``equipment`` is what that agent wears; rows past the entities are zero,
    also after a slot sees fewer entities than the tick before (the view rewrites only the rows
    held then and now)."""
    from neural_mmo.world.items import EquipSlot

    vec = VecEnv(2, config=economy(**{"spawn.n_agents": 24}), seed=5)
    vec.reset()
    policy = RandomPolicy(vec.layout, 5)
    S, fewer, worn = vec.config.spawn.n_agents, 0, 0
    before = None
    for _ in range(120):
        vec.step(policy.act(vec.observations))
        view, slot = vec.observations["equipment"], vec._entity_slot
        rows = (slot >= 0).sum(1)
        if before is not None:
            fewer += int((rows < before).sum())
        before = rows
        worn += int(view.any(-1).sum())
        for w, world in enumerate(vec.worlds):
            items, equipment = world.items, world.holdings.equipment
            for i in range(w * S, (w + 1) * S):
                for row in range(slot.shape[1]):
                    j = slot[i, row]
                    expected = [0, 0, 0]
                    if 0 <= j < S:
                        weapon = equipment[j, EquipSlot.WEAPON]
                        if weapon >= 0:
                            expected[:2] = [items.type[weapon], items.level[weapon]]
                        armour = [equipment[j, e] for e in (EquipSlot.HEAD, EquipSlot.BODY, EquipSlot.LEGS)]
                        expected[2] = sum(int(items.level[k]) for k in armour if k >= 0)
                    assert view[i, row].tolist() == expected, (i, row)
    assert fewer > 0  # slots did see fewer entities than the tick before
    assert worn > 0  # rows showed someone wearing something


def test_holdings_parts_rewritten_from_the_events_equal_a_full_rewrite_every_tick(tmp_path):
    """A VecEnv's observers rewrite a slot's items view, professions view and use mask only after
    events that name it (``mark_holdings``); every tick, each world's whole observation equals
    that of an observer that rewrites everything, through deaths, loot, NPC drops, trades, the
    exchange, level-ups, ammunition running out, and a save restored mid-run."""
    from neural_mmo.observe.encode import Observer
    from neural_mmo.world.items import EquipSlot

    cfg = economy(**{**TRADING, "npc.n_npcs": 12, "exchange.max_listings": 2, "spawn.n_agents": 24})
    vec = VecEnv(2, config=cfg, seed=9)
    vec.reset()
    start_with_gold(vec, 40)
    S = cfg.spawn.n_agents
    full = [Observer(vec.layout, {k: v[:S].copy() for k, v in vec.observations.items()}) for _ in range(2)]
    policy = RandomPolicy(vec.layout, 9)
    kinds, skipped, spent = set(), 0, 0
    for t in range(500):
        ammo_before = [w.holdings.equipment[:, EquipSlot.AMMO] >= 0 for w in vec.worlds]
        actions = policy.act(vec.observations)
        actions[:S, ActionHead.DESTROY] = 0  # world 0 keeps its items in play, so the dead leave loot
        vec.step(actions)
        if t == 250:
            vec.save(tmp_path / "mid.npz")
            vec.restore(tmp_path / "mid.npz")
        for w, state in enumerate(vec.worlds):
            kinds |= {e["kind"] for e in state.events.rows()}
            spent += int((ammo_before[w] & (state.holdings.equipment[:, EquipSlot.AMMO] < 0)).sum())
            own = vec._observers[w].arrays
            skipped += int((~own.touched & own.was_shown).sum())
            full[w].write(state)
            for key, expected in full[w].buffers.items():
                assert (vec.observations[key][w * S : (w + 1) * S] == expected).all(), (key, t, w)
    assert {"HARVEST", "EQUIP", "UNEQUIP", "CONSUME", "LOOT", "DROP", "DESTROY", "GIVE", "LIST", "BUY",
            "SELL", "EXPIRE", "LEVEL_UP", "DEATH", "SPAWN"} <= kinds, kinds  # fmt: skip
    assert spent > 0  # some ammunition ran out (no event says so: the attack marks its owner)
    assert skipped > 0  # and the observers did skip the slots nothing happened to


def test_rewrite_observations_shows_a_world_edited_by_hand():
    vec = VecEnv(2, config=economy(), seed=3)
    vec.reset()
    S = vec.slots_per_world
    i = int(np.flatnonzero(vec.worlds[1].agents.alive)[0])
    vec.worlds[1].professions.level[i] = 7  # an edit no event tells the observers about
    vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    assert (vec.observations["professions"][S + i] == 1).all()  # still the level it had
    vec.rewrite_observations(1)
    assert (vec.observations["professions"][S + i] == 7).all()
    assert (vec.observations["professions"][:S][vec.worlds[0].agents.alive] == 1).all()
    for bad in (2, -1, True, 1.0, "1"):
        with pytest.raises(ValueError, match="world must be an int"):
            vec.rewrite_observations(bad)


def test_saves_leave_out_the_observer_arrays_a_restore_rebuilds(tmp_path):
    from neural_mmo.observe.encode import REBUILT
    from neural_mmo.world.snapshot import read_save

    vec = VecEnv(1, config=economy(), seed=2)
    vec.reset()
    vec.step(np.zeros((vec.num_slots, vec.n_heads), np.int64))
    vec.save(tmp_path / "a.npz")
    names = set(read_save(tmp_path / "a.npz", ("vec",)).arrays)
    assert "observer0.worn" in names  # the observer's other arrays are saved
    assert not {f"observer0.{name}" for name in REBUILT} & names
