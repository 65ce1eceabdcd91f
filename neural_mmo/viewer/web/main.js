// Minimal viewer client: connects to /ws, keeps the map, draws tiles, agents and NPCs each frame.
const MATERIAL_RGB = ["#c83c14", "#2860c8", "#5aa03c", "#a0a050", "#1e6428", "#6e6e6e"]; // lava water grass scrub forest stone
const POPULATION_RGB = ["#ffffff", "#ffd23c", "#ff50c8", "#50ffff", "#ff8c28", "#b482ff", "#8cff50", "#ff5050"];
const canvas = document.getElementById("world");
const ctx = canvas.getContext("2d");
const mapCanvas = document.createElement("canvas");
const mapCtx = mapCanvas.getContext("2d");
let material = null; // Uint8Array, row-major
let size = 0;
let playing = true;

function drawTile(r, c) {
  mapCtx.fillStyle = MATERIAL_RGB[material[r * size + c]] ?? "#000";
  mapCtx.fillRect(c, r, 1, 1);
}

function applyMap(map) {
  if (map.full !== undefined) {
    size = map.rows;
    material = Uint8Array.from(atob(map.full), (ch) => ch.charCodeAt(0));
    mapCanvas.width = map.cols;
    mapCanvas.height = map.rows;
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) drawTile(r, c);
  } else if (map.tiles !== undefined && material) {
    for (const [r, c, m] of map.tiles) {
      material[r * size + c] = m;
      drawTile(r, c);
    }
  }
}

function draw(frame) {
  const scale = Math.max(1, Math.floor(Math.min(window.innerWidth, window.innerHeight - 40) / size));
  canvas.width = canvas.height = size * scale;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(mapCanvas, 0, 0, size * scale, size * scale);
  const a = frame.agents;
  for (let i = 0; i < a.id.length; i++) {
    ctx.fillStyle = POPULATION_RGB[a.population[i] % POPULATION_RGB.length];
    ctx.fillRect(a.c[i] * scale, a.r[i] * scale, scale, scale);
  }
  const n = frame.npcs;
  ctx.fillStyle = "#000";
  for (let i = 0; i < n.id.length; i++) {
    ctx.fillRect(n.c[i] * scale + scale / 4, n.r[i] * scale + scale / 4, scale / 2, scale / 2);
  }
  ctx.strokeStyle = "#ff0";
  for (const [fr, fc, tr, tc] of frame.attacks) {
    ctx.beginPath();
    ctx.moveTo((fc + 0.5) * scale, (fr + 0.5) * scale);
    ctx.lineTo((tc + 0.5) * scale, (tr + 0.5) * scale);
    ctx.stroke();
  }
  document.getElementById("tick").textContent = frame.tick;
  document.getElementById("agents").textContent = a.id.length;
}

const url = new URL("ws", window.location.href);
url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(url);
const status = document.getElementById("status");
socket.addEventListener("open", () => (status.textContent = "connected"));
socket.addEventListener("close", () => (status.textContent = "disconnected"));
socket.addEventListener("message", (event) => {
  const msg = JSON.parse(event.data);
  if (msg.type === "frame") {
    if (msg.map) applyMap(msg.map);
    if (material) draw(msg);
  } else if (msg.type === "error") {
    status.textContent = `error: ${msg.error}`;
  }
});
document.getElementById("play").addEventListener("click", (event) => {
  playing = !playing;
  socket.send(JSON.stringify({ cmd: playing ? "play" : "pause" }));
  event.target.textContent = playing ? "pause" : "play";
});
