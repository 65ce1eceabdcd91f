"""Pictures of a world: one RGB colour per material, agents and NPCs drawn on top (maps, rgb_array)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neural_mmo.world.materials import Material
from neural_mmo.world.state import WorldState
from neural_mmo.world.tables import Behaviour

PALETTE = {
    Material.LAVA: (207, 74, 35),
    Material.WATER: (56, 110, 190),
    Material.GRASS: (118, 170, 72),
    Material.SCRUB: (160, 150, 86),
    Material.FOREST: (38, 100, 48),
    Material.STONE: (128, 128, 128),
    Material.ORE: (176, 112, 84),
    Material.SLAG: (110, 98, 92),
    Material.TREE: (16, 72, 36),
    Material.STUMP: (128, 96, 58),
    Material.CRYSTAL: (150, 226, 244),
    Material.RUBBLE: (176, 176, 188),
    Material.HERB: (206, 122, 206),
    Material.WEEDS: (146, 156, 96),
    Material.FISH: (28, 78, 162),
    Material.FISHED: (84, 132, 200),
}
"""Colour of each material."""

POPULATION_COLOURS = np.array(
    [(250, 220, 40), (240, 60, 200), (40, 230, 230), (255, 255, 255), (250, 130, 30), (150, 90, 240)],
    np.uint8,
)
"""Agent colours, cycled over populations."""

NPC_COLOURS = {
    Behaviour.PASSIVE: (200, 235, 200),
    Behaviour.NEUTRAL: (130, 90, 50),
    Behaviour.HOSTILE: (150, 0, 0),
}
"""NPC colours by behaviour (drawn as a diamond-ish inner square without outline)."""

_LUT = np.zeros((256, 3), np.uint8)
for _m, _rgb in PALETTE.items():
    _LUT[_m] = _rgb


def material_rgb(material: np.ndarray, scale: int = 1) -> np.ndarray:
    """``uint8 [H*scale, W*scale, 3]`` picture of a material grid."""
    image = _LUT[material]
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    return image


def render_rgb(state: WorldState, scale: int = 4) -> np.ndarray:
    """The world with each agent as a population-coloured tile outlined in black, and each NPC as
    a behaviour-coloured tile outlined in white: ``uint8 [G*scale, G*scale, 3]``."""
    image = material_rgb(state.material, scale)
    npcs = state.npcs
    edge = 1 if scale >= 3 else 0
    for j in np.flatnonzero(npcs.alive):
        r, c = int(npcs.r[j]) * scale, int(npcs.c[j]) * scale
        image[r : r + scale, c : c + scale] = 255
        image[r + edge : r + scale - edge, c + edge : c + scale - edge] = NPC_COLOURS[
            Behaviour(int(npcs.behaviour[j]))
        ]
    agents = state.agents
    for i in np.flatnonzero(agents.alive):
        r, c = int(agents.r[i]) * scale, int(agents.c[i]) * scale
        colour = POPULATION_COLOURS[int(agents.population[i]) % len(POPULATION_COLOURS)]
        image[r : r + scale, c : c + scale] = 0
        image[r + edge : r + scale - edge, c + edge : c + scale - edge] = colour
    return image


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB array to a PNG file (Pillow)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path
