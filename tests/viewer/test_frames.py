"""Frames carry the tables' numbers; overlays accumulate and validate."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from neural_mmo.agents import FighterPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.viewer import OverlayError, register_overlay
from neural_mmo.viewer.frames import FrameEncoder, frame_text, map_part
from neural_mmo.viewer.overlays import RESOURCE_KINDS, OverlayTracker, compute_overlay, quantise
from neural_mmo.world.events import EventKind
from neural_mmo.world.items import EquipSlot, ItemType, Place, create_item, equip, list_item
from neural_mmo.world.materials import Material
from neural_mmo.world.tables import Skill


def _run(ticks: int):
    vec = VecEnv(1, config=Config.preset("small"), seed=3, autoreset=False)
    policy = FighterPolicy(vec.layout, seed=3)
    obs, _ = vec.reset()
    yield vec.worlds[0]
    for _ in range(ticks):
        obs, *_ = vec.step(policy.act(obs))
        yield vec.worlds[0]


def test_frame_matches_tables():
    encoder = FrameEncoder()
    attacks_seen = 0
    for state in _run(40):
        frame = encoder.encode(state)
        body = frame.body
        a = state.agents
        slots = np.flatnonzero(a.alive)
        assert body["tick"] == state.tick
        assert body["agents"]["slot"] == slots.tolist()
        assert body["agents"]["id"] == a.agent_id[slots].tolist()
        for col in ("r", "c", "population", "health", "max_health", "food", "water", "style"):
            assert body["agents"][col] == getattr(a, col)[slots].tolist(), col
        assert body["agents"]["levels"] == a.level[slots].tolist()
        assert body["agents"]["alive"] == [True] * len(slots)
        npcs = np.flatnonzero(state.npcs.alive)
        assert body["npcs"]["id"] == state.npcs.npc_id[npcs].tolist()
        assert body["npcs"]["r"] == state.npcs.r[npcs].tolist()
        assert body["npcs"]["level"] == state.npcs.level[npcs, 0].tolist()
        rows = [k for k in range(state.events.n) if state.events.kind[k] == EventKind.ATTACK]
        assert len(body["attacks"]) == len(rows)
        for (fr, fc, tr, tc, style), k in zip(body["attacks"], rows):
            assert (fr, fc, style) == (state.events.r[k], state.events.c[k], state.events.detail[k])
            other = int(state.events.other[k])
            table, i = (a, other) if other < a.capacity else (state.npcs, other - a.capacity)
            assert (tr, tc) == (table.r[i], table.c[i])
        attacks_seen += len(rows)
    assert attacks_seen > 0, "the run must contain attacks for this test to mean anything"


def test_attack_targets_without_npcs():
    """Entity numbers index the agent columns then the (here empty) NPC columns."""
    cfg = Config.preset("small").override(
        {"npc.n_npcs": 0, "spawn.mode": "concurrent", "combat.spawn_immunity": 0}
    )
    vec = VecEnv(1, config=cfg, seed=0)
    policy = FighterPolicy(vec.layout, seed=0)
    obs, _ = vec.reset()
    attacks = 0
    for _ in range(30):
        obs, *_ = vec.step(policy.act(obs))
        state = vec.worlds[0]
        body = FrameEncoder().encode(state).body
        for (_, _, tr, tc, _), other in zip(
            body["attacks"], state.events.other[state.events.kind == EventKind.ATTACK].tolist()
        ):
            assert (tr, tc) == (state.agents.r[other], state.agents.c[other])
            attacks += 1
    assert attacks > 0


def test_map_full_then_changed_tiles_only():
    state = next(_run(0))
    frame = FrameEncoder().encode(state)
    full = map_part(frame.material, None)
    grid = np.frombuffer(base64.b64decode(full["full"]), np.uint8).reshape(full["rows"], full["cols"])
    assert np.array_equal(grid, state.material)
    assert map_part(frame.material, frame.material) is None
    changed = frame.material.copy()
    changed[10, 11] = (changed[10, 11] + 1) % 6
    assert map_part(changed, frame.material) == {"tiles": [[10, 11, int(changed[10, 11])]]}
    assert '"map"' not in frame_text(frame, frame.material)
    assert '"map"' in frame_text(frame, None)


def test_counts_accumulate_and_population_remembers():
    tracker = OverlayTracker()
    expected = None
    for state in _run(15):
        a = state.agents
        here = np.zeros(state.material.shape, np.int64)
        here[a.r[a.alive], a.c[a.alive]] = 1
        expected = here if expected is None else expected + here
        tracker.observe(state)
        view = tracker.view(state, Skill.HUNTING)
        assert np.array_equal(compute_overlay("counts", view), expected)
        pop = compute_overlay("population", view)
        assert np.array_equal(pop[a.r[a.alive], a.c[a.alive]], a.population[a.alive] + 1)
        skills = compute_overlay("skills", view)
        assert np.array_equal(skills[a.r[a.alive], a.c[a.alive]], a.level[a.alive, Skill.HUNTING])
    assert expected.sum() > expected.max()  # several agent-ticks counted
    tracker.observe(state)  # the same tick again is not counted twice
    assert np.array_equal(tracker.visits, expected)


def test_register_overlay_validation():
    state = next(_run(0))
    view = OverlayTracker().view(state)
    with pytest.raises(OverlayError, match="name"):
        register_overlay("../bad", lambda v: v.visits)
    with pytest.raises(OverlayError, match="callable"):
        register_overlay("notfn", 3)
    register_overlay("t_wrong_shape", lambda v: np.zeros((3, 3)))
    with pytest.raises(OverlayError, match="shape"):
        compute_overlay("t_wrong_shape", view)
    register_overlay("t_nan", lambda v: np.full(v.state.material.shape, np.nan))
    with pytest.raises(OverlayError, match="NaN"):
        compute_overlay("t_nan", view)
    register_overlay("t_text", lambda v: np.full(v.state.material.shape, "x"))
    with pytest.raises(OverlayError, match="dtype"):
        compute_overlay("t_text", view)
    register_overlay("t_raises", lambda v: 1 / 0)
    with pytest.raises(OverlayError, match="ZeroDivisionError"):
        compute_overlay("t_raises", view)
    register_overlay("t_ok", lambda v: v.state.material.astype(float))
    assert np.array_equal(compute_overlay("t_ok", view), state.material)


def test_quantise_spans_0_to_255():
    layer = quantise(np.array([[0.0, 5.0], [10.0, 2.5]]))
    data = np.frombuffer(base64.b64decode(layer["data"]), np.uint8)
    assert data.tolist() == [0, 128, 255, 64]
    assert (layer["min"], layer["max"]) == (0.0, 10.0)
    flat = quantise(np.full((2, 2), 7.0))
    assert np.frombuffer(base64.b64decode(flat["data"]), np.uint8).tolist() == [0, 0, 0, 0]


# ---------------------------------------------------------------------- the economy

ECONOMY = {"item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
ECONOMY_KEYS = ("gold", "items", "listings")


def _economy_vec(seed: int = 0) -> VecEnv:
    return VecEnv(1, config=Config.preset("small").override(ECONOMY), seed=seed)


def _held(state, slot: int) -> list[list[int]]:
    """What the frame should say agent ``slot`` holds, read from the holdings one entry at a time."""
    items, out = state.items, []
    for k in [*state.holdings.equipment[slot], *state.holdings.inventory[slot]]:
        if k >= 0:
            out.append([int(items.type[k]), int(items.level[k]), int(items.quantity[k]), int(items.place[k]),
                        int(items.slot[k])])  # fmt: skip
    return out


def test_frames_without_items_have_no_economy_parts():
    state = next(_run(0))
    body = FrameEncoder().encode(state).body
    assert not set(ECONOMY_KEYS) & set(body["agents"])
    assert "loot" not in body and "market" not in body
    # items without an exchange: holdings and gold, but no market
    vec = VecEnv(1, config=Config.preset("small").override({"item.enabled": True}), seed=0)
    vec.reset()
    body = FrameEncoder().encode(vec.worlds[0]).body
    assert {"gold", "items"} <= set(body["agents"]) and "listings" not in body["agents"]
    assert body["loot"] == [] and "market" not in body


def test_frame_shows_gold_holdings_and_market():
    vec = _economy_vec()
    vec.reset()
    state = vec.worlds[0]
    items, holdings, ids, max_stack = state.items, state.holdings, state.item_ids, state.config.item.max_stack
    slots = np.flatnonzero(state.agents.alive)
    assert len(slots) >= 3
    fighter, seller, other = (int(s) for s in slots[:3])
    assert (holdings.inventory[slots] < 0).all() and (holdings.equipment[slots] < 0).all()

    spear = create_item(items, holdings, ids, fighter, ItemType.SPEAR, 3, 1, max_stack)
    assert spear >= 0 and equip(items, holdings, fighter, 0)
    assert create_item(items, holdings, ids, fighter, ItemType.RATION, 1, 5, max_stack) >= 0
    assert create_item(items, holdings, ids, fighter, ItemType.POTION, 2, 2, max_stack) >= 0
    state.gold[fighter] = 42
    # two listings of level-2 arrows (one split off a stack of 3), and a sold-out row with a last price
    assert create_item(items, holdings, ids, seller, ItemType.ARROW, 2, 3, max_stack) >= 0
    assert list_item(items, holdings, ids, seller, 0, 7, state.tick) >= 0
    assert create_item(items, holdings, ids, other, ItemType.ARROW, 2, 1, max_stack) >= 0
    assert list_item(items, holdings, ids, other, 0, 4, state.tick) >= 0
    state.market.listed[[seller, other]] = 1
    max_level = state.config.item.max_level
    state.market.last_price[(ItemType.BOW - 1) * max_level + 1 - 1] = 9

    body = FrameEncoder().encode(state).body
    agents = body["agents"]
    at = {slot: i for i, slot in enumerate(agents["slot"])}
    assert agents["items"][at[fighter]] == [
        [ItemType.SPEAR, 3, 1, Place.EQUIPPED, EquipSlot.WEAPON],
        [ItemType.RATION, 1, 5, Place.INVENTORY, 0],
        [ItemType.POTION, 2, 2, Place.INVENTORY, 1],
    ]
    assert agents["items"][at[seller]] == [[ItemType.ARROW, 2, 2, Place.INVENTORY, 0]]  # one piece listed
    assert agents["items"][at[other]] == []  # its only arrow is on the market
    assert agents["gold"][at[fighter]] == 42
    assert agents["gold"] == state.gold[agents["slot"]].tolist()
    assert [agents["listings"][at[s]] for s in (fighter, seller, other)] == [0, 1, 1]
    for slot in agents["slot"]:
        assert agents["items"][at[slot]] == _held(state, slot)
    # [type, level, cheapest, listings, last price]: rows with listings or a last sale, in row order
    assert body["market"] == [[ItemType.BOW, 1, 0, 0, 9], [ItemType.ARROW, 2, 4, 2, 0]]
    assert body["loot"] == []
    text = FrameEncoder().encode(state).text  # JSON-ready
    assert '"market":[[2,1,0,0,9],[13,2,4,2,0]]' in text


def test_loot_markers_follow_loot_and_drop_events():
    """A scripted run: every LOOT and DROP event of a tick is a marker at the receiver's tile, and
    every agent's items are its holdings, tick after tick."""
    vec = _economy_vec()
    policy = FighterPolicy(vec.layout, seed=0)
    obs, _ = vec.reset()
    encoder = FrameEncoder()
    seen: set[str] = set()
    for _ in range(300):
        obs, *_ = vec.step(policy.act(obs))
        state = vec.worlds[0]
        body = encoder.encode(state).body
        ev = state.events
        expected = []
        for k in range(ev.n):
            kind = int(ev.kind[k])
            if kind not in (EventKind.LOOT, EventKind.DROP):
                continue
            slot = int(ev.slot[k])
            # the marker is where the receiver (the killer) stands
            assert (int(ev.r[k]), int(ev.c[k])) == (int(state.agents.r[slot]), int(state.agents.c[slot]))
            if kind == EventKind.LOOT:  # items taken, items that vanished
                expected.append([int(ev.r[k]), int(ev.c[k]), "loot", int(ev.agent_id[k]), int(ev.value[k]),
                                 int(ev.detail[k])])  # fmt: skip
                assert int(ev.value[k]) + int(ev.detail[k]) > 0
            else:  # the dropped item's type and level
                expected.append([int(ev.r[k]), int(ev.c[k]), "drop", int(ev.agent_id[k]), int(ev.detail[k]),
                                 int(ev.value[k])])  # fmt: skip
                assert 1 <= int(ev.detail[k]) <= ItemType.BOTTOM
        assert body["loot"] == expected
        seen |= {row[2] for row in expected}
        agents = body["agents"]
        for i, slot in enumerate(agents["slot"]):
            assert agents["items"][i] == _held(state, slot)
        if seen == {"loot", "drop"}:
            break
    assert seen == {"loot", "drop"}, f"the run must show both kinds of marker; saw {seen}"


def test_resources_overlay_marks_each_resource_and_its_depleted_form():
    vec = _economy_vec()
    vec.reset()
    state = vec.worlds[0]
    pairs = [(Material.ORE, Material.SLAG), (Material.TREE, Material.STUMP),
             (Material.CRYSTAL, Material.RUBBLE), (Material.HERB, Material.WEEDS),
             (Material.FISH, Material.FISHED)]  # fmt: skip
    for full, _ in pairs:
        assert (state.material == full).any(), f"the map must hold {full.name} for this test to mean anything"
    # deplete one tile of each resource: it still shows where the resource lies
    for full, depleted in pairs:
        r, c = np.argwhere(state.material == full)[0]
        state.material[r, c] = depleted
    layer = compute_overlay("resources", OverlayTracker().view(state))
    expected = np.zeros(state.material.shape)
    for kind, (full, depleted) in enumerate(pairs, start=1):
        expected[(state.material == full) | (state.material == depleted)] = kind
    assert np.array_equal(layer, expected)
    assert RESOURCE_KINDS == ("ore", "tree", "crystal", "herb", "fish")
    assert set(np.unique(layer)) == {0, 1, 2, 3, 4, 5}
    # a world without professions has no resource anywhere
    plain = next(_run(0))
    assert not compute_overlay("resources", OverlayTracker().view(plain)).any()
