"""The one observation layout: shapes, dtypes, bounds, bytes, spaces and the action space."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from neural_mmo.config import PRESETS, Config
from neural_mmo.observe.layout import EntityColumn, EntityKind, ObsLayout, TileChannel
from neural_mmo.world.materials import N_MATERIALS
from neural_mmo.world.systems.movement import Direction


@pytest.mark.parametrize("name", list(PRESETS))
def test_bytes_per_agent_within_budget(name):
    layout = ObsLayout(Config.preset(name))
    w = 2 * layout.radius + 1
    expected = w * w * len(TileChannel) + layout.n_entities * len(EntityColumn) * 2 + layout.n_entities
    expected += len(Direction)
    assert layout.bytes_per_agent == expected
    assert layout.bytes_per_agent <= 4096


@pytest.mark.parametrize("radius,n_entities,n_pop", [(7, 32, 1), (1, 1, 3), (3, 5, 8)])
def test_fields_follow_the_config(radius, n_entities, n_pop):
    cfg = Config.preset("small").override(
        {
            "observe.vision_radius": radius,
            "map.border": radius + 1,
            "observe.n_entities": n_entities,
            "spawn.n_populations": n_pop,
        }
    )
    layout = ObsLayout(cfg)
    fields = {f.key: f for f in layout.fields}
    assert list(fields) == ["tiles", "entities", "entity_mask", "action_mask"]
    w = 2 * radius + 1
    assert fields["tiles"].shape == (w, w, 2) and fields["tiles"].dtype == np.uint8
    assert (
        fields["entities"].shape == (n_entities, len(EntityColumn)) and fields["entities"].dtype == np.int16
    )
    assert fields["entity_mask"].shape == (n_entities,) and fields["entity_mask"].dtype == np.uint8
    assert fields["action_mask"].shape == (5,) and fields["action_mask"].dtype == np.int8
    assert (fields["tiles"].high[..., TileChannel.MATERIAL] == N_MATERIALS - 1).all()
    assert (fields["tiles"].high[..., TileChannel.OCCUPANT] == n_pop).all()
    ent = fields["entities"]
    assert (ent.low[:, EntityColumn.REL_ROW] == -radius).all() and (
        ent.high[:, EntityColumn.REL_COL] == radius
    ).all()
    assert (ent.high[:, EntityColumn.POPULATION] == n_pop - 1).all()
    assert (ent.high[:, EntityColumn.ROW] == cfg.grid_side - 1).all()
    assert (ent.high[:, EntityColumn.HEALTH] == cfg.vitals.max_health).all()
    assert (ent.high[:, EntityColumn.KIND] == max(EntityKind)).all()
    assert layout.action_offsets.tolist() == [0] and layout.action_sizes.tolist() == [5]
    assert layout.n_actions == 5


def test_spaces_and_buffers_agree():
    layout = ObsLayout(Config.preset("small"))
    space = layout.observation_space()
    assert isinstance(space, spaces.Dict)
    buffers = layout.allocate(3)
    for f in layout.fields:
        box = space[f.key]
        assert box.shape == f.shape and box.dtype == f.dtype
        assert buffers[f.key].shape == (3, *f.shape) and buffers[f.key].dtype == f.dtype
        assert not buffers[f.key].any()
    assert space.contains({k: v[0] for k, v in buffers.items()})
    bad = {k: v[0].copy() for k, v in buffers.items()}
    bad["tiles"][0, 0, 0] = N_MATERIALS
    assert not space.contains(bad)


def test_action_space_sample_respects_the_flat_mask():
    layout = ObsLayout(Config.preset("small"))
    space = layout.action_space()
    assert set(space.spaces) == {"move"} and space["move"].n == 5
    space.seed(0)
    mask = np.array([1, 0, 0, 1, 0], np.int8)
    seen = {int(space.sample(mask)["move"]) for _ in range(200)}
    assert seen == {0, 3}
    assert {int(space.sample()["move"]) for _ in range(300)} == set(range(5))


def test_markdown_lists_every_field_and_the_byte_count():
    layout = ObsLayout(Config.preset("medium"))
    text = layout.markdown()
    for f in layout.fields:
        assert f"`{f.key}`" in text
    for col in EntityColumn:
        assert f"`{col.name.lower()}`" in text
    assert f"**{layout.bytes_per_agent}**" in text
    assert "`move`" in text
