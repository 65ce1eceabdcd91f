// Colours shared with neural_mmo/render.py (PALETTE, POPULATION_COLOURS, NPC_COLOURS): keep in step.

// Material index -> [r, g, b]: 0 lava, 1 water, 2 grass, 3 scrub, 4 forest, 5 stone; with
// professions: 6 ore, 7 slag, 8 tree, 9 stump, 10 crystal, 11 rubble, 12 herb, 13 weeds, 14 fish,
// 15 fished water.
export const MATERIAL_RGB = [
  [207, 74, 35],
  [56, 110, 190],
  [118, 170, 72],
  [160, 150, 86],
  [38, 100, 48],
  [128, 128, 128],
  [176, 112, 84],
  [110, 98, 92],
  [16, 72, 36],
  [128, 96, 58],
  [150, 226, 244],
  [176, 176, 188],
  [206, 122, 206],
  [146, 156, 96],
  [28, 78, 162],
  [84, 132, 200],
];

// Cycled over populations.
export const POPULATION_RGB = [
  [250, 220, 40],
  [240, 60, 200],
  [40, 230, 230],
  [255, 255, 255],
  [250, 130, 30],
  [150, 90, 240],
];

// Behaviour value -> colour: 1 passive, 2 neutral, 3 hostile.
export const NPC_RGB = { 1: [200, 235, 200], 2: [130, 90, 50], 3: [150, 0, 0] };

// Attack style -> line colour: 1 melee, 2 range, 3 mage (0: unknown).
export const STYLE_CSS = ["#ffffff", "#ff3b3b", "#3bff6a", "#5aa8ff"];
export const STYLE_NAMES = ["none", "melee", "range", "mage"];

// Areas a system shades (a frame's "areas", by system): the death fog over the playable area
// outside the safe square. A name without a colour here is drawn in AREA_DEFAULT_CSS.
export const AREA_CSS = { fog: "rgba(150, 60, 200, 0.45)" };
export const AREA_DEFAULT_CSS = "rgba(255, 255, 255, 0.3)";

// Loot markers (a frame's "loot" rows, by kind): items taken from a killed agent ("loot") and an
// item an NPC dropped to its killer ("drop"), drawn as a ring round the receiver's tile.
export const LOOT_CSS = { loot: "#ffc61a", drop: "#3ee0ff" };

export const css = ([r, g, b]) => `rgb(${r},${g},${b})`;

export function populationCss(population) {
  return css(POPULATION_RGB[((population % POPULATION_RGB.length) + POPULATION_RGB.length) % POPULATION_RGB.length]);
}

export function npcCss(behaviour) {
  return css(NPC_RGB[behaviour] ?? [0, 0, 0]);
}

// Heatmap colour ramp (black-red-yellow-white), 256 entries of [r, g, b, a] for overlay bytes 0..255.
export const HEAT_LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let v = 0; v < 256; v++) {
    const t = v / 255;
    lut[v * 4] = Math.min(255, t * 3 * 255);
    lut[v * 4 + 1] = Math.min(255, Math.max(0, (t * 3 - 1) * 255));
    lut[v * 4 + 2] = Math.min(255, Math.max(0, (t * 3 - 2) * 255));
    lut[v * 4 + 3] = v === 0 ? 90 : 150 + Math.round(t * 90);
  }
  return lut;
})();
