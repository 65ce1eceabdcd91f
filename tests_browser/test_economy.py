"""The economy in the browser client: an agent's gold and items in its panel, the exchange's market
panel, loot markers on the map; and none of it for a world without items."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
from conftest import canvas_png, open_viewer, pause, save_artifact
from PIL import Image

from neural_mmo.config import Config
from neural_mmo.viewer.server import LiveSource, ViewerServer
from neural_mmo.world.events import EventColumn, EventKind
from neural_mmo.world.items import EquipSlot, ItemType, Place, create_item, equip, list_item

ECONOMY = {"item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
DROP_RGB = (0x3E, 0xE0, 0xFF)  # LOOT_CSS.drop in web/colours.js


def _give(state) -> int:
    """Items and gold for every living agent (each its own), two listings of level-2 arrows, a last
    sale of level-1 bows, and a DROP event on the first agent's tile. Returns that agent's slot."""
    items, holdings, ids = state.items, state.holdings, state.item_ids
    max_stack = state.config.item.max_stack
    slots = [int(s) for s in np.flatnonzero(state.agents.alive)]
    assert len(slots) >= 2
    for n, slot in enumerate(slots):
        assert create_item(items, holdings, ids, slot, ItemType.SPEAR, 1 + n % 3, 1, max_stack) >= 0
        assert equip(items, holdings, slot, int(np.flatnonzero(holdings.inventory[slot] >= 0)[-1]))
        assert create_item(items, holdings, ids, slot, ItemType.RATION, 1, 2 + n, max_stack) >= 0
        assert create_item(items, holdings, ids, slot, ItemType.POTION, 2, 1, max_stack) >= 0
        state.gold[slot] = 10 + n
    for slot, price in ((slots[0], 7), (slots[1], 4)):
        s = create_item(items, holdings, ids, slot, ItemType.ARROW, 2, 1, max_stack)
        assert list_item(items, holdings, ids, slot, int(items.slot[s]), price, state.tick) == s
        state.market.listed[slot] += 1
    max_level = state.config.item.max_level
    state.market.last_price[(ItemType.BOW - 1) * max_level] = 9  # level 1
    ev, k, first = state.events, state.events.n, slots[0]
    row = np.zeros(len(EventColumn), np.int64)
    row[[EventColumn.KIND, EventColumn.SLOT, EventColumn.AGENT_ID, EventColumn.R, EventColumn.C]] = (
        EventKind.DROP, first, state.agents.agent_id[first], state.agents.r[first], state.agents.c[first]
    )  # fmt: skip
    row[[EventColumn.VALUE, EventColumn.OTHER, EventColumn.OTHER_ID, EventColumn.DETAIL]] = (
        1, state.agents.alive.shape[0], -1, ItemType.HAT
    )  # fmt: skip
    ev.table[k] = row
    ev.counts[0] = k + 1
    return first


@pytest.fixture
def economy():
    source = LiveSource(Config.preset("small").override(ECONOMY), seed=1)
    first = _give(source.state)
    server = ViewerServer(source, port=0, fps=20)
    server.playing = False  # the stream shows the world as given, from its first frame on
    server.start_in_thread()
    server.marked = first  # type: ignore[attr-defined]
    yield server
    server.stop()
    server.source.close()


def _clickable_agent(page):
    """An agent alone on its tile whose tile centre is on the map as seen (under no panel)."""
    agents = page.evaluate("window.viewer.agents")
    tiles = Counter((a["r"], a["c"]) for a in agents)
    return next(
        (a, p)
        for a in agents
        if tiles[(a["r"], a["c"])] == 1
        for p in [page.evaluate("([r, c]) => window.viewer.screenOf(r, c)", [a["r"], a["c"]])]
        if page.evaluate("p => document.elementFromPoint(p.x, p.y)?.id === 'world'", p)
    )


def test_panel_shows_items_and_market_lists_them(page, economy):
    open_viewer(page, economy)
    state = economy.source.state  # paused from the start: the world the page shows
    names = page.evaluate("window.viewer.itemNames")
    assert names[ItemType.SPEAR] == "spear" and names[ItemType.RATION] == "ration"

    agent, point = _clickable_agent(page)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("id => window.viewer.selected === id", arg=agent["id"])
    page.locator("#panel-economy").wait_for(state="visible")
    slot = int(np.flatnonzero(state.agents.agent_id == agent["id"])[0])
    items, holdings = state.items, state.holdings
    assert page.text_content("#panel-gold") == str(int(state.gold[slot]))
    assert page.text_content("#panel-listings") == str(int(state.market.listed[slot]))
    weapon = holdings.equipment[slot, EquipSlot.WEAPON]
    assert items.type[weapon] == ItemType.SPEAR
    assert page.text_content("#panel-equipment td[data-slot='weapon']") == f"spear lv {items.level[weapon]}"
    assert page.text_content("#panel-equipment td[data-slot='head']") == "-"
    shown = [
        [cell.strip() for cell in row.split("\t")]
        for row in page.locator("#panel-inventory tr").evaluate_all("rows => rows.map(r => r.innerText)")
    ]
    expected = [
        [ItemType(int(items.type[k])).name.lower(), f"lv {items.level[k]}", f"x{items.quantity[k]}"]
        for k in holdings.inventory[slot]
        if k >= 0
    ]
    assert {"ration", "potion"} <= {row[0] for row in expected}
    assert shown == expected
    save_artifact(page, "economy_panel.png")

    # the market: hidden until asked for
    assert not page.locator("#market").is_visible()
    page.click("#market-toggle")
    page.locator("#market").wait_for(state="visible")
    assert page.evaluate("window.viewer.marketOpen") is True
    listed = items.alive & (items.place == Place.LISTED)
    assert listed.sum() == 2
    rows = page.locator("#market-rows tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(td => td.textContent))"
    )
    assert rows == [["bow", "1", "-", "0", "9"], ["arrow", "2", "4", "2", "-"]]
    market = page.evaluate("window.viewer.market")
    arrows = {"type": ItemType.ARROW, "name": "arrow", "level": 2, "cheapest": 4, "count": 2, "last": 0}
    assert market[1] == arrows
    save_artifact(page, "economy_market.png")
    page.click("#market-close")
    page.locator("#market").wait_for(state="hidden")


def test_loot_marker_rings_the_receiver(page, economy):
    open_viewer(page, economy)
    state = economy.source.state
    first = economy.marked
    r, c = int(state.agents.r[first]), int(state.agents.c[first])
    loot = page.evaluate("window.viewer.loot")
    assert [(m["r"], m["c"], m["kind"], m["agent"], m["a"], m["b"]) for m in loot] == [
        (r, c, "drop", int(state.agents.agent_id[first]), ItemType.HAT, 1)
    ]
    page.wait_for_function("t => window.viewer.drawnTick === t", arg=state.tick)
    image = np.asarray(Image.open(io.BytesIO(canvas_png(page))).convert("RGB"), dtype=np.int16)
    box = page.locator("#world").bounding_box()
    centre = page.evaluate("([r, c]) => window.viewer.screenOf(r, c)", [r, c])
    scale = page.evaluate("window.viewer.camera.scale")
    radius = max(scale * 0.5 + 6, scale * 1.1)  # lootRadius in web/main.js
    on_ring = 0
    for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        x = int(round(centre["x"] - box["x"] + radius * np.cos(angle)))
        y = int(round(centre["y"] - box["y"] + radius * np.sin(angle)))
        window = image[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3].reshape(-1, 3)
        on_ring += bool((np.abs(window - DROP_RGB).max(axis=1) <= 40).any())
    assert on_ring >= 9, f"only {on_ring} of 12 points of the ring are in the drop colour"
    save_artifact(page, "economy_loot.png")


def test_world_without_items_shows_no_economy(page, live):
    open_viewer(page, live)
    page.wait_for_function("() => window.viewer.frames > 2")
    pause(page, live)  # agents stay where they are drawn
    assert page.evaluate("window.viewer.market") is None
    assert not page.locator("#market-toggle").is_visible()
    assert page.evaluate("window.viewer.loot") == []
    agent, point = _clickable_agent(page)
    assert "gold" not in agent and "items" not in agent
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("id => window.viewer.selected === id", arg=agent["id"])
    page.locator("#panel").wait_for(state="visible")
    assert not page.locator("#panel-economy").is_visible()
