"""Pictures: one colour per material, agents on top, PNG output."""

from __future__ import annotations

import numpy as np
from PIL import Image

from neural_mmo.envs.vector import VecEnv
from neural_mmo.render import NPC_COLOURS, PALETTE, POPULATION_COLOURS, material_rgb, render_rgb, save_png
from neural_mmo.testing import Scenario
from neural_mmo.world.materials import Material
from neural_mmo.world.tables import Behaviour


def test_material_colours_and_scale():
    material = np.array([[m.value for m in Material]], np.uint8)
    image = material_rgb(material)
    assert image.shape == (1, len(Material), 3) and image.dtype == np.uint8
    for m in Material:
        assert tuple(image[0, m]) == PALETTE[m]
    big = material_rgb(material, scale=3)
    assert big.shape == (3, 3 * len(Material), 3)
    assert (big[:3, :3] == image[0, 0]).all()
    assert len(set(PALETTE.values())) == len(Material)


def test_agents_are_drawn_in_their_population_colour(tmp_path):
    vec = VecEnv(
        1, "small", seed=0, map__size=16, spawn__n_agents=6, spawn__mode="concurrent", n_populations=3
    )
    vec.reset()
    state = vec.worlds[0]
    image = render_rgb(state, scale=4)
    g = vec.config.grid_side
    assert image.shape == (4 * g, 4 * g, 3)
    for i in np.flatnonzero(state.agents.alive):
        r, c = int(state.agents.r[i]) * 4, int(state.agents.c[i]) * 4
        assert tuple(image[r + 2, c + 2]) == tuple(POPULATION_COLOURS[state.agents.population[i]])
        assert tuple(image[r, c]) == (0, 0, 0) and tuple(image[r + 3, c + 3]) == (0, 0, 0)  # outline
    path = save_png(image, tmp_path / "a" / "b.png")
    assert (np.asarray(Image.open(path)) == image).all()


def test_npcs_are_drawn_in_their_behaviour_colour_with_a_white_outline():
    sc = Scenario("0.p\n...\nn.h")
    image = render_rgb(sc.state, scale=4)
    assert len(set(NPC_COLOURS.values())) == len(Behaviour)
    npcs = sc.state.npcs
    assert np.count_nonzero(npcs.alive) == 3
    for j in np.flatnonzero(npcs.alive):
        r, c = int(npcs.r[j]) * 4, int(npcs.c[j]) * 4
        assert tuple(image[r + 2, c + 2]) == NPC_COLOURS[Behaviour(int(npcs.behaviour[j]))]
        assert tuple(image[r, c]) == (255, 255, 255) and tuple(image[r + 3, c + 3]) == (255, 255, 255)
    r, c = int(sc.state.agents.r[0]) * 4, int(sc.state.agents.c[0]) * 4
    assert tuple(image[r + 2, c + 2]) == tuple(POPULATION_COLOURS[0])
    free = (sc.border + 1) * 4 + 2  # playable (1, 1): grass, nobody there
    assert tuple(image[free, free]) == PALETTE[Material.GRASS]


def test_the_viewer_colours_materials_as_the_pictures_do():
    import re
    from pathlib import Path

    import neural_mmo

    js = (Path(neural_mmo.__file__).parent / "viewer" / "web" / "colours.js").read_text()
    block = js[js.index("export const MATERIAL_RGB") :]
    block = block[: block.index("];")]
    rows = [tuple(int(x) for x in row) for row in re.findall(r"\[(\d+), (\d+), (\d+)\]", block)]
    assert rows == [PALETTE[m] for m in Material]
