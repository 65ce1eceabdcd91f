// Neural MMO viewer client: a websocket to /ws, a 2D canvas with a cached tile layer, agents,
// NPCs, attacks, loot markers and an optional heatmap overlay; the selected agent's panel (with its
// gold and items when the world has them) and the exchange's market panel. Message format:
// docs/viewer.md.
import { MATERIAL_RGB, HEAT_LUT, STYLE_CSS, AREA_CSS, AREA_DEFAULT_CSS, LOOT_CSS, populationCss, npcCss } from "./colours.js";

const $ = (id) => document.getElementById(id);
const canvas = $("world");
const ctx = canvas.getContext("2d");

// Offscreen layers, one pixel per tile: the map (redrawn only where tiles change) and the overlay.
const tileCanvas = document.createElement("canvas");
const tileCtx = tileCanvas.getContext("2d");
const overlayCanvas = document.createElement("canvas");
const overlayCtx = overlayCanvas.getContext("2d");
const MATERIAL_CSS = MATERIAL_RGB.map(([r, g, b]) => `rgb(${r},${g},${b})`);

const state = {
  socket: null,
  connected: false,
  connections: 0, // sockets opened so far (more than one: reconnected)
  retryMs: 0, // wait before the next connection attempt; doubles while the server is away
  source: null, // "live" | "replay"
  ticks: null, // [first, last] for replays
  overlays: [],
  skills: [],
  itemNames: [], // item type names by ItemType value (hello.items)
  equipSlots: [], // equipment slot names by EquipSlot value (hello.equip_slots)
  market: null, // the latest frame's market rows as objects; null: the world has no exchange
  marketOpen: false,
  loot: [], // {r, c, kind, agent, a, b, tick}: loot markers of the last LOOT_TICKS ticks
  rows: 0,
  cols: 0,
  material: null, // Uint8Array row-major
  frame: null, // the latest frame message
  agents: [], // frozen objects of the latest frame
  byId: new Map(),
  npcs: [],
  tick: null,
  frames: 0,
  playing: true,
  speed: 1,
  selected: null, // agent id
  selectedAgent: null, // its last known values
  following: false,
  chosenOverlay: null, // {name, skill} the user picked
  overlay: null, // {name, min, max} of the layer drawn
  attacks: [], // {fr, fc, tr, tc, style, until}
  cam: { x: 0, y: 0, scale: 8 },
  fitted: false,
  dirty: true,
  drawn: 0,
  drawnTick: null,
  drawnOverlay: null, // overlay name in the last drawing
  scrubbing: false,
  error: null,
};

const ATTACK_MS = 450;
const LOOT_TICKS = 5; // a loot marker shows for this many ticks from the tick of its event
const lootRadius = (scale) => Math.max(scale * 0.5 + 6, scale * 1.1); // CSS pixels from the tile centre

// ---------------------------------------------------------------- debug hook (read only)

function freezeCopy(obj) {
  return obj === null || obj === undefined ? null : Object.freeze({ ...obj });
}

window.viewer = Object.freeze({
  get tick() { return state.tick; },
  get grid() { return [state.rows, state.cols]; },
  get agents() { return state.agents; },
  get npcs() { return state.npcs; },
  get selected() { return state.selected; },
  get selectedAgent() { return state.selectedAgent; },
  get following() { return state.following; },
  get source() { return state.source; },
  get ticks() { return state.ticks ? [...state.ticks] : null; },
  get playing() { return state.playing; },
  get speed() { return state.speed; },
  get overlay() { return freezeCopy(state.overlay); },
  get overlays() { return [...state.overlays]; },
  get camera() { return freezeCopy(state.cam); },
  get connected() { return state.connected; },
  get connections() { return state.connections; },
  get frames() { return state.frames; },
  get drawn() { return state.drawn; },
  get drawnTick() { return state.drawnTick; },
  get drawnOverlay() { return state.drawnOverlay; },
  get error() { return state.error; },
  get itemNames() { return [...state.itemNames]; },
  get equipSlots() { return [...state.equipSlots]; },
  // {type, name, level, cheapest, count, last} per market row (null: no exchange)
  get market() { return state.market ? [...state.market] : null; },
  get marketOpen() { return state.marketOpen; },
  get loot() { return state.loot.map((m) => Object.freeze({ ...m })); },
  // Page (client) coordinates of the centre of tile (r, c) as drawn now.
  screenOf(r, c) {
    const box = canvas.getBoundingClientRect();
    return { x: box.left + (c + 0.5 - state.cam.x) * state.cam.scale, y: box.top + (r + 0.5 - state.cam.y) * state.cam.scale };
  },
});

// ---------------------------------------------------------------- map and overlay layers

function decode(b64) {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function applyMap(map) {
  if (map.full !== undefined) {
    state.rows = map.rows;
    state.cols = map.cols;
    state.material = decode(map.full);
    tileCanvas.width = map.cols;
    tileCanvas.height = map.rows;
    const image = tileCtx.createImageData(map.cols, map.rows);
    const px = image.data;
    for (let i = 0; i < state.material.length; i++) {
      const rgb = MATERIAL_RGB[state.material[i]] ?? [0, 0, 0];
      px[i * 4] = rgb[0];
      px[i * 4 + 1] = rgb[1];
      px[i * 4 + 2] = rgb[2];
      px[i * 4 + 3] = 255;
    }
    tileCtx.putImageData(image, 0, 0);
    if (!state.fitted) fitView();
  } else if (map.tiles !== undefined && state.material) {
    for (const [r, c, m] of map.tiles) {
      state.material[r * state.cols + c] = m;
      tileCtx.fillStyle = MATERIAL_CSS[m] ?? "#000";
      tileCtx.fillRect(c, r, 1, 1);
    }
  }
}

function applyOverlay(layer) {
  if (!layer || !state.chosenOverlay) {
    state.overlay = null;
    return;
  }
  const bytes = decode(layer.data);
  if (overlayCanvas.width !== layer.cols || overlayCanvas.height !== layer.rows) {
    overlayCanvas.width = layer.cols;
    overlayCanvas.height = layer.rows;
  }
  const image = overlayCtx.createImageData(layer.cols, layer.rows);
  const px = image.data;
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes[i] * 4;
    px[i * 4] = HEAT_LUT[v];
    px[i * 4 + 1] = HEAT_LUT[v + 1];
    px[i * 4 + 2] = HEAT_LUT[v + 2];
    px[i * 4 + 3] = HEAT_LUT[v + 3];
  }
  overlayCtx.putImageData(image, 0, 0);
  state.overlay = { name: layer.name, min: layer.min, max: layer.max };
  $("legend").classList.add("visible");
  $("legend-name").textContent = layer.name;
  $("legend-min").textContent = formatNumber(layer.min);
  $("legend-max").textContent = formatNumber(layer.max);
}

function clearOverlay() {
  state.overlay = null;
  $("legend").classList.remove("visible");
  state.dirty = true;
}

function formatNumber(x) {
  return Number.isInteger(x) ? String(x) : Number(x).toPrecision(4);
}

function drawLegendBar() {
  const bar = $("legend-bar").getContext("2d");
  const image = bar.createImageData(256, 1);
  for (let v = 0; v < 256; v++) {
    image.data.set([HEAT_LUT[v * 4], HEAT_LUT[v * 4 + 1], HEAT_LUT[v * 4 + 2], 255], v * 4);
  }
  bar.putImageData(image, 0, 0);
}

// ---------------------------------------------------------------- frames

function columnsToObjects(cols) {
  const names = Object.keys(cols);
  const n = cols.id ? cols.id.length : 0;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const obj = {};
    for (const name of names) obj[name] = cols[name][i];
    out[i] = Object.freeze(obj);
  }
  return Object.freeze(out);
}

function onFrame(frame) {
  if (frame.map) applyMap(frame.map);
  if (!state.material) return;
  state.frame = frame;
  state.tick = frame.tick;
  state.frames += 1;
  state.agents = columnsToObjects(frame.agents);
  state.npcs = columnsToObjects(frame.npcs);
  state.byId = new Map(state.agents.map((a) => [a.id, a]));
  const now = performance.now();
  for (const [fr, fc, tr, tc, style] of frame.attacks) state.attacks.push({ fr, fc, tr, tc, style, until: now + ATTACK_MS });
  // loot markers: kept LOOT_TICKS ticks (paused: kept); a jump back in time (a seek) drops later ones
  state.loot = state.loot.filter((m) => m.tick <= frame.tick && frame.tick < m.tick + LOOT_TICKS);
  for (const [r, c, kind, agent, a, b] of frame.loot ?? []) {
    if (!state.loot.some((m) => m.tick === frame.tick && m.r === r && m.c === c && m.kind === kind && m.agent === agent)) {
      state.loot.push({ r, c, kind, agent, a, b, tick: frame.tick });
    }
  }
  updateMarket(frame.market);
  if (frame.overlay) applyOverlay(frame.overlay);
  else if (state.overlay) clearOverlay();
  if (state.selected !== null) {
    const agent = state.byId.get(state.selected);
    if (agent) state.selectedAgent = agent;
    if (agent && state.following) centreOn(agent.r, agent.c);
    updatePanel(agent);
  }
  $("tick").textContent = frame.tick;
  $("agents").textContent = state.agents.length;
  $("npcs").textContent = state.npcs.length;
  if (state.source === "replay" && !state.scrubbing) {
    $("scrub").value = frame.tick;
    $("scrub-label").textContent = `${frame.tick} / ${state.ticks[1]}`;
  }
  state.dirty = true;
}

// ---------------------------------------------------------------- drawing

function resize() {
  const dpr = window.devicePixelRatio || 1;
  const box = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round(box.width * dpr));
  const h = Math.max(1, Math.round(box.height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    state.dirty = true;
  }
}

function viewSize() {
  const box = canvas.getBoundingClientRect();
  return [box.width, box.height];
}

function fitView() {
  const [w, h] = viewSize();
  const scale = Math.max(0.25, Math.min(w / state.cols, h / state.rows));
  state.cam = { scale, x: (state.cols - w / scale) / 2, y: (state.rows - h / scale) / 2 };
  state.fitted = true;
  state.dirty = true;
}

function centreOn(r, c) {
  const [w, h] = viewSize();
  state.cam.x = c + 0.5 - w / state.cam.scale / 2;
  state.cam.y = r + 0.5 - h / state.cam.scale / 2;
  state.dirty = true;
}

function draw(now) {
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!state.material) return;
  const { x, y, scale } = state.cam;
  const [w, h] = viewSize();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.imageSmoothingEnabled = false;

  // Visible tile window, so a zoomed-in view of a big map copies only what shows.
  const c0 = Math.max(0, Math.floor(x));
  const r0 = Math.max(0, Math.floor(y));
  const c1 = Math.min(state.cols, Math.ceil(x + w / scale));
  const r1 = Math.min(state.rows, Math.ceil(y + h / scale));
  if (c1 > c0 && r1 > r0) {
    const dx = (c0 - x) * scale;
    const dy = (r0 - y) * scale;
    ctx.drawImage(tileCanvas, c0, r0, c1 - c0, r1 - r0, dx, dy, (c1 - c0) * scale, (r1 - r0) * scale);
    if (state.overlay) ctx.drawImage(overlayCanvas, c0, r0, c1 - c0, r1 - r0, dx, dy, (c1 - c0) * scale, (r1 - r0) * scale);
  }
  // Areas systems shade ({system: [[row, col, rows, cols], ...]}), each in its system's colour.
  const areas = (state.frame && state.frame.areas) || {};
  for (const [name, rects] of Object.entries(areas)) {
    ctx.fillStyle = Object.hasOwn(AREA_CSS, name) ? AREA_CSS[name] : AREA_DEFAULT_CSS;
    for (const [r, c, rows, cols] of rects) ctx.fillRect((c - x) * scale, (r - y) * scale, cols * scale, rows * scale);
  }

  const visible = (r, c) => r >= r0 - 1 && r < r1 + 1 && c >= c0 - 1 && c < c1 + 1;
  const cell = Math.max(scale, 2);
  const pad = scale >= 4 ? scale * 0.15 : 0;

  for (const n of state.npcs) {
    if (!visible(n.r, n.c)) continue;
    const sx = (n.c - x) * scale;
    const sy = (n.r - y) * scale;
    ctx.fillStyle = npcCss(n.behaviour);
    if (scale >= 6) {
      // a diamond, to tell NPCs from agents
      ctx.beginPath();
      ctx.moveTo(sx + scale / 2, sy + pad);
      ctx.lineTo(sx + scale - pad, sy + scale / 2);
      ctx.lineTo(sx + scale / 2, sy + scale - pad);
      ctx.lineTo(sx + pad, sy + scale / 2);
      ctx.closePath();
      ctx.fill();
    } else {
      ctx.fillRect(sx, sy, cell, cell);
    }
  }

  for (const a of state.agents) {
    if (!visible(a.r, a.c)) continue;
    const sx = (a.c - x) * scale;
    const sy = (a.r - y) * scale;
    if (scale >= 4) {
      ctx.fillStyle = "#000";
      ctx.fillRect(sx, sy, scale, scale);
    }
    ctx.fillStyle = populationCss(a.population);
    ctx.fillRect(sx + pad, sy + pad, cell - 2 * pad, cell - 2 * pad);
    if (scale >= 6) {
      const frac = a.max_health > 0 ? Math.max(0, Math.min(1, a.health / a.max_health)) : 0;
      const bh = Math.max(2, scale * 0.12);
      ctx.fillStyle = "#400";
      ctx.fillRect(sx, sy - bh - 1, scale, bh);
      ctx.fillStyle = frac > 0.5 ? "#3d3" : frac > 0.25 ? "#dd3" : "#d33";
      ctx.fillRect(sx, sy - bh - 1, scale * frac, bh);
    }
  }

  // loot markers: a ring round the tile of the agent that received items (outside the selection
  // box), fading over LOOT_TICKS
  ctx.lineWidth = Math.max(2, scale * 0.15);
  for (const m of state.loot) {
    if (!visible(m.r, m.c)) continue;
    ctx.globalAlpha = Math.max(0.3, 1 - (state.tick - m.tick) / LOOT_TICKS);
    ctx.strokeStyle = LOOT_CSS[m.kind] ?? LOOT_CSS.loot;
    ctx.beginPath();
    ctx.arc((m.c + 0.5 - x) * scale, (m.r + 0.5 - y) * scale, lootRadius(scale), 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;

  if (state.selected !== null && state.selectedAgent) {
    const a = state.selectedAgent;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    const m = Math.max(3, scale * 0.3);
    ctx.strokeRect((a.c - x) * scale - m, (a.r - y) * scale - m, scale + 2 * m, scale + 2 * m);
  }

  state.attacks = state.attacks.filter((atk) => atk.until > now);
  ctx.lineWidth = Math.max(1.5, scale * 0.15);
  for (const atk of state.attacks) {
    ctx.globalAlpha = Math.max(0.15, (atk.until - now) / ATTACK_MS);
    ctx.strokeStyle = STYLE_CSS[atk.style] ?? STYLE_CSS[0];
    ctx.beginPath();
    ctx.moveTo((atk.fc + 0.5 - x) * scale, (atk.fr + 0.5 - y) * scale);
    ctx.lineTo((atk.tc + 0.5 - x) * scale, (atk.tr + 0.5 - y) * scale);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
}

function loop(now) {
  resize();
  if (state.dirty || state.attacks.length) {
    draw(now);
    state.dirty = false;
    state.drawn += 1;
    state.drawnTick = state.tick;
    state.drawnOverlay = state.overlay ? state.overlay.name : null;
  }
  requestAnimationFrame(loop);
}

// ---------------------------------------------------------------- selection panel

function updatePanel(agent) {
  const a = agent ?? state.selectedAgent;
  if (!a) return;
  $("panel-id").textContent = a.id;
  $("panel-population").textContent = a.population;
  $("panel-health").textContent = `${a.health} / ${a.max_health}`;
  $("panel-health-bar").style.width = `${a.max_health > 0 ? (100 * a.health) / a.max_health : 0}%`;
  $("panel-food").textContent = a.food;
  $("panel-water").textContent = a.water;
  $("panel-lifetime").textContent = a.spawn_tick !== undefined && state.tick !== null ? `${state.tick - a.spawn_tick} ticks` : "-";
  $("panel-position").textContent = `(${a.r}, ${a.c})`;
  $("panel-state").textContent = agent ? "alive" : "gone (dead or out of frame)";
  const rows = (a.levels ?? []).map((lv, i) => `<tr><td>${state.skills[i] ?? `skill ${i}`}</td><td data-skill="${state.skills[i] ?? i}">${lv}</td></tr>`);
  $("panel-skills").innerHTML = rows.join("");
  updateEconomy(a);
  $("follow").textContent = state.following ? "Unfollow" : "Follow";
}

function itemName(type) {
  return state.itemNames[type] ?? `item ${type}`;
}

function cell(text, attrs = {}) {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [k, v] of Object.entries(attrs)) td.dataset[k] = v;
  return td;
}

function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
}

// The panel's gold, equipment and inventory; hidden for worlds without items (no gold column).
function updateEconomy(a) {
  const section = $("panel-economy");
  if (a.gold === undefined) {
    section.classList.remove("visible");
    return;
  }
  section.classList.add("visible");
  $("panel-gold").textContent = a.gold;
  $("panel-listings-row").style.display = a.listings === undefined ? "none" : "";
  $("panel-listings").textContent = a.listings ?? "-";
  const held = a.items ?? [];
  const worn = new Map(held.filter((it) => it[3] === 2).map((it) => [it[4], it]));
  const equipment = state.equipSlots.map((slot, e) => {
    const it = worn.get(e);
    return row(cell(slot), cell(it ? `${itemName(it[0])} lv ${it[1]}${it[2] > 1 ? ` x${it[2]}` : ""}` : "-", { slot }));
  });
  $("panel-equipment").replaceChildren(...equipment);
  const inventory = held
    .filter((it) => it[3] === 1)
    .map(([type, level, quantity, , slot]) =>
      row(cell(itemName(type), { item: itemName(type), position: slot }), cell(`lv ${level}`), cell(`x${quantity}`)),
    );
  if (!inventory.length) inventory.push(row(cell("empty")));
  $("panel-inventory").replaceChildren(...inventory);
}

// ---------------------------------------------------------------- market panel

function updateMarket(rows) {
  const had = state.market !== null;
  state.market = rows
    ? Object.freeze(rows.map(([type, level, cheapest, count, last]) =>
        Object.freeze({ type, name: itemName(type), level, cheapest, count, last })))
    : null;
  const has = state.market !== null;
  if (has !== had) {
    $("market-toggle").classList.toggle("visible", has);
    if (!has) showMarket(false);
  }
  if (state.marketOpen) renderMarket();
}

function renderMarket() {
  const rows = (state.market ?? []).map((m) =>
    row(
      cell(m.name, { type: m.type, level: m.level }),
      cell(m.level),
      cell(m.count ? m.cheapest : "-", { col: "cheapest" }),
      cell(m.count, { col: "count" }),
      cell(m.last ? m.last : "-", { col: "last" }),
    ),
  );
  $("market-rows").replaceChildren(...rows);
  $("market-empty").style.display = rows.length ? "none" : "";
}

function showMarket(open) {
  state.marketOpen = open && state.market !== null;
  $("market").classList.toggle("visible", state.marketOpen);
  $("market-toggle").textContent = state.marketOpen ? "hide market" : "market";
  if (state.marketOpen) renderMarket();
}

function select(agent) {
  const before = state.selected;
  if (!agent) {
    state.selected = null;
    state.selectedAgent = null;
    state.following = false;
    $("panel").classList.remove("visible");
  } else {
    state.selected = agent.id;
    state.selectedAgent = agent;
    if (state.following) centreOn(agent.r, agent.c);
    $("panel").classList.add("visible");
    updatePanel(agent);
  }
  if (state.selected !== before && state.chosenOverlay?.name === "attention") {
    chooseOverlay("attention");
  }
  state.dirty = true;
}

function agentAt(px, py) {
  const { x, y, scale } = state.cam;
  const c = x + px / scale;
  const r = y + py / scale;
  const reach = Math.max(0.75, 6 / scale); // tiles: small tiles get a few pixels of slack
  let best = null;
  let bestD = Infinity;
  for (const a of state.agents) {
    const d = Math.max(Math.abs(a.c + 0.5 - c), Math.abs(a.r + 0.5 - r));
    if (d < bestD && d <= reach) {
      best = a;
      bestD = d;
    }
  }
  return best;
}

// ---------------------------------------------------------------- input

let drag = null;
canvas.addEventListener("pointerdown", (e) => {
  drag = { x0: e.clientX, y0: e.clientY, camX: state.cam.x, camY: state.cam.y, moved: false };
  canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x0;
  const dy = e.clientY - drag.y0;
  if (!drag.moved && Math.hypot(dx, dy) < 4) return;
  if (!drag.moved) {
    drag.moved = true;
    state.following = false;
    canvas.classList.add("dragging");
    if (state.selected !== null) updatePanel(state.byId.get(state.selected));
  }
  state.cam.x = drag.camX - dx / state.cam.scale;
  state.cam.y = drag.camY - dy / state.cam.scale;
  state.dirty = true;
});
canvas.addEventListener("pointerup", (e) => {
  if (drag && !drag.moved) {
    const box = canvas.getBoundingClientRect();
    select(agentAt(e.clientX - box.left, e.clientY - box.top));
  }
  drag = null;
  canvas.classList.remove("dragging");
});
canvas.addEventListener(
  "wheel",
  (e) => {
    e.preventDefault();
    const box = canvas.getBoundingClientRect();
    const px = e.clientX - box.left;
    const py = e.clientY - box.top;
    const { x, y, scale } = state.cam;
    const next = Math.min(64, Math.max(0.25, scale * Math.exp(-e.deltaY * 0.0015)));
    // keep the world point under the cursor fixed
    state.cam = { scale: next, x: x + px / scale - px / next, y: y + py / scale - py / next };
    if (state.following && state.selectedAgent) centreOn(state.selectedAgent.r, state.selectedAgent.c);
    state.dirty = true;
  },
  { passive: false },
);

$("panel-close").addEventListener("click", () => select(null));
$("market-toggle").addEventListener("click", () => showMarket(!state.marketOpen));
$("market-close").addEventListener("click", () => showMarket(false));
$("follow").addEventListener("click", () => {
  state.following = !state.following;
  if (state.following && state.selectedAgent) centreOn(state.selectedAgent.r, state.selectedAgent.c);
  updatePanel(state.byId.get(state.selected));
});

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(msg));
}

$("play").addEventListener("click", () => {
  state.playing = !state.playing;
  send({ cmd: state.playing ? "play" : "pause" });
  $("play").textContent = state.playing ? "pause" : "play";
});
$("speed").addEventListener("change", (e) => {
  state.speed = Number(e.target.value);
  send({ cmd: "speed", value: state.speed });
});
const scrub = $("scrub");
scrub.addEventListener("pointerdown", () => (state.scrubbing = true));
scrub.addEventListener("input", () => {
  state.scrubbing = true;
  $("scrub-label").textContent = `${scrub.value} / ${state.ticks ? state.ticks[1] : "-"}`;
});
scrub.addEventListener("change", () => {
  state.scrubbing = false;
  send({ cmd: "seek", tick: Number(scrub.value) });
});

// ---------------------------------------------------------------- console (~)

function buildConsole() {
  const list = $("console-overlays");
  list.innerHTML = "";
  for (const name of [null, ...state.overlays]) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "overlay";
    input.value = name ?? "";
    input.id = `overlay-${name ?? "none"}`;
    input.checked = (state.chosenOverlay?.name ?? null) === name;
    input.addEventListener("change", () => chooseOverlay(name));
    label.append(input, ` ${name ?? "none"}`);
    list.append(label);
  }
  const skill = $("console-skill");
  skill.innerHTML = state.skills.map((s) => `<option value="${s}">${s}</option>`).join("");
}

function chooseOverlay(name) {
  $("console-error").textContent = "";
  if (name === null) {
    state.chosenOverlay = null;
    send({ cmd: "overlay", name: null });
    clearOverlay();
    return;
  }
  state.chosenOverlay = { name, skill: $("console-skill").value || "melee" };
  const request = { cmd: "overlay", name, skill: state.chosenOverlay.skill };
  // per-agent overlays (a model's attention) follow the selected agent
  if (name === "attention" && state.selected !== null) request.agent = state.selected;
  send(request);
}

$("console-skill").addEventListener("change", () => {
  if (state.chosenOverlay) chooseOverlay(state.chosenOverlay.name);
});

document.addEventListener("keydown", (e) => {
  if (e.code === "Backquote" || e.key === "~" || e.key === "`") {
    e.preventDefault();
    $("console").classList.toggle("visible");
  } else if (e.key === "Escape") {
    select(null);
  }
});

// ---------------------------------------------------------------- connection

function onHello(hello) {
  state.source = hello.source;
  state.overlays = hello.overlays ?? [];
  state.skills = hello.skills ?? [];
  state.itemNames = hello.items ?? [];
  state.equipSlots = hello.equip_slots ?? [];
  state.ticks = hello.ticks ?? null;
  buildConsole();
  $("replay-controls").classList.toggle("visible", hello.source === "replay");
  if (hello.source === "replay") {
    scrub.min = hello.ticks[0];
    scrub.max = hello.ticks[1];
  }
  if (state.connections > 1) {
    // after a reconnect (perhaps to a restarted server): ask again for what this client chose
    if (!state.playing) send({ cmd: "pause" });
    if (state.speed !== 1) send({ cmd: "speed", value: state.speed });
    if (state.chosenOverlay) chooseOverlay(state.chosenOverlay.name);
  }
}

const RETRY_MS = [250, 5000]; // first and longest wait between connection attempts

function connect() {
  const url = new URL("ws", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(url);
  state.socket = socket;
  const status = $("status");
  socket.addEventListener("open", () => {
    state.connected = true;
    state.connections += 1;
    state.retryMs = 0;
    status.textContent = "connected";
  });
  socket.addEventListener("close", () => {
    state.connected = false;
    state.retryMs = Math.min(RETRY_MS[1], state.retryMs ? state.retryMs * 2 : RETRY_MS[0]);
    status.textContent = `disconnected; retrying in ${(state.retryMs / 1000).toFixed(1)} s...`;
    setTimeout(connect, state.retryMs);
  });
  socket.addEventListener("message", (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "frame") onFrame(msg);
    else if (msg.type === "hello") onHello(msg);
    else if (msg.type === "error") {
      state.error = msg.error;
      status.textContent = `error: ${msg.error}`;
      if (msg.error.startsWith("overlay")) {
        $("console-error").textContent = msg.error;
        state.chosenOverlay = null;
        clearOverlay();
        buildConsole();
      }
    }
  });
}

window.addEventListener("resize", () => (state.dirty = true));
drawLegendBar();
connect();
requestAnimationFrame(loop);
