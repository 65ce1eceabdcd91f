"""The one observation layout: shapes, dtypes, bounds, bytes, spaces and the action space."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from neural_mmo.config import PRESETS, Config
from neural_mmo.observe.heads import ActionHead, attack_value
from neural_mmo.observe.layout import EntityColumn, EntityKind, ObsLayout, TileChannel
from neural_mmo.world.materials import BASE_MATERIALS, N_MATERIALS
from neural_mmo.world.tables import Behaviour
from neural_mmo.world.vocabulary import Direction, Style


@pytest.mark.parametrize("name", list(PRESETS))
def test_bytes_per_agent_within_budget(name):
    layout = ObsLayout(Config.preset(name))
    w = 2 * layout.radius + 1
    expected = w * w * len(TileChannel) + layout.n_entities * len(EntityColumn) * 2 + layout.n_entities
    expected += len(Direction) + 1 + 3 * layout.n_entities  # action mask: move, then attack
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
    n_actions = 5 + 1 + 3 * n_entities
    assert fields["action_mask"].shape == (n_actions,) and fields["action_mask"].dtype == np.int8
    assert (fields["tiles"].high[..., TileChannel.MATERIAL] == BASE_MATERIALS - 1).all()
    assert (fields["tiles"].high[..., TileChannel.OCCUPANT] == n_pop + max(Behaviour)).all()
    ent = fields["entities"]
    assert (ent.low[:, EntityColumn.REL_ROW] == -radius).all() and (
        ent.high[:, EntityColumn.REL_COL] == radius
    ).all()
    assert (ent.high[:, EntityColumn.POPULATION] == n_pop - 1).all()
    assert (ent.high[:, EntityColumn.ROW] == cfg.grid_side - 1).all()
    p = cfg.progression
    top_health = cfg.vitals.max_health + p.health_per_level * (p.max_level - 1)  # max constitution
    assert (ent.high[:, EntityColumn.HEALTH] == top_health).all()
    assert (ent.high[:, EntityColumn.MAX_HEALTH] == top_health).all()
    assert max(EntityKind) == EntityKind.HOSTILE_NPC
    assert (ent.high[:, EntityColumn.KIND] == EntityKind.HOSTILE_NPC).all()
    assert (ent.high[:, EntityColumn.FOOD] == cfg.vitals.max_food).all()
    for col in (EntityColumn.LEVEL, *range(EntityColumn.MELEE, EntityColumn.FISHING + 1)):
        assert (ent.high[:, col] == p.max_level).all() and (ent.low[:, col] == 0).all()
    assert (ent.high[:, EntityColumn.STYLE] == Style.MAGE).all()
    assert cfg.combat.status_ticks == 5  # the preset's; the countdown shows at most 4 coming ticks
    assert (ent.high[:, EntityColumn.IN_COMBAT] == 4).all()
    assert (ent.low[:, EntityColumn.IN_COMBAT] == 0).all()
    assert layout.action_offsets.tolist() == [0, 5]
    assert layout.action_sizes.tolist() == [5, 1 + 3 * n_entities]
    assert layout.n_actions == n_actions
    assert [h.name for h in layout.heads] == ["move", "attack"]


def test_the_entity_columns_are_the_documented_23():
    assert len(EntityColumn) == 23
    names = [c.name for c in EntityColumn]
    assert names[:12] == ["KIND", "POPULATION", "ROW", "COL", "REL_ROW", "REL_COL", "HEALTH", "MAX_HEALTH",
                          "FOOD", "WATER", "TIME_ALIVE", "LEVEL"]  # fmt: skip
    assert names[12:] == ["MELEE", "RANGE", "MAGE", "DEFENCE", "CONSTITUTION", "HUNTING", "FISHING", "STYLE",
                          "FROZEN", "IMMUNE", "IN_COMBAT"]  # fmt: skip
    assert [int(k) for k in EntityKind] == [0, 1, 2, 3, 4]
    assert [EntityKind(1 + b) for b in Behaviour] == [
        EntityKind.PASSIVE_NPC, EntityKind.NEUTRAL_NPC, EntityKind.HOSTILE_NPC,
    ]  # fmt: skip


def test_entity_health_bound_saturates_at_int16():
    cfg = Config.preset("small").override(
        {"vitals.max_health": 10_000, "progression.health_per_level": 10_000}
    )
    ent = {f.key: f for f in ObsLayout(cfg).fields}["entities"]
    assert (ent.high[:, EntityColumn.HEALTH] == np.iinfo(np.int16).max).all()


@pytest.mark.parametrize("status,top", [(0, 0), (1, 0), (2, 1), (9, 8), (40_000, 32767)])
def test_the_in_combat_countdown_bound_follows_status_ticks(status, top):
    """IN_COMBAT counts the coming ticks in combat: at most status_ticks - 1 (the tick of the
    fight itself is past when it is observed), saturating at the int16 top."""
    cfg = Config.preset("small").override({"combat.status_ticks": status})
    ent = {f.key: f for f in ObsLayout(cfg).fields}["entities"]
    assert (ent.high[:, EntityColumn.IN_COMBAT] == top).all()
    assert (ent.low[:, EntityColumn.IN_COMBAT] == 0).all()


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
    bad["tiles"][0, 0, 0] = BASE_MATERIALS  # a resource tile, in a world without them
    assert not space.contains(bad)


def test_resource_materials_and_the_economy_views_come_with_their_systems():
    cfg = Config.preset("small").override({"item.enabled": True, "profession.enabled": True,
                                           "item.inventory_slots": 5})  # fmt: skip
    layout = ObsLayout(cfg)
    fields = {f.key: f for f in layout.fields}
    assert (fields["tiles"].high[..., TileChannel.MATERIAL] == N_MATERIALS - 1).all()
    assert fields["professions"].shape == (4,) and fields["professions"].dtype == np.int16
    assert fields["professions"].high.tolist() == [cfg.progression.max_level] * 4
    items = fields["items"]
    assert items.shape == (6 + 5, 4) and items.dtype == np.int16
    assert items.high[0].tolist() == [16, cfg.item.max_level, cfg.item.max_stack, 1]
    only_items = ObsLayout(Config.preset("small").override({"item.enabled": True}))
    assert [f.key for f in only_items.fields][-3:] == ["items", "gold", "equipment"]
    assert "professions" not in {f.key for f in only_items.fields}
    assert (
        fields["equipment"].shape == (cfg.observe.n_entities, 3) and fields["equipment"].rows_of == "entities"
    )
    n_rows, buckets = cfg.observe.n_entities, cfg.item.gold_buckets
    # the masks: use (nothing, or one of the 11 item rows), destroy and give (the 5 inventory
    # positions), give_to (an entity row), give_gold (an amount bucket), give_gold_to (an entity row)
    masks = (1 + 11) + (1 + 5) + (1 + 5) + (1 + n_rows) + (1 + buckets) + (1 + n_rows)
    views = 2 * (4 + 11 * 4 + 1 + n_rows * 3)
    assert layout.bytes_per_agent == ObsLayout(Config.preset("small")).bytes_per_agent + views + masks
    names = ["move", "attack", "use", "destroy", "give", "give_to", "give_gold", "give_gold_to"]
    assert [h.name for h in layout.heads] == names
    assert layout.heads[2].rows_of == "items" and layout.heads[3].row_offset == 6
    assert layout.world_fields == ()  # the market comes with the exchange
    trading = ObsLayout(cfg.override({"exchange.enabled": True}))
    assert [h.name for h in trading.heads][-3:] == ["sell", "sell_price", "buy"]
    assert [f.key for f in trading.world_fields] == ["market"]
    assert trading.world_fields[0].shape == (16 * cfg.item.max_level, 5)


def test_action_space_sample_respects_the_flat_mask():
    layout = ObsLayout(Config.preset("small"))
    space = layout.action_space()
    n_rows = layout.n_entities
    assert set(space.spaces) == {"move", "attack"}  # gymnasium sorts a Dict's keys; heads keep their order
    assert space["move"].n == 5 and space["attack"].n == 1 + 3 * n_rows
    space.seed(0)
    mask = np.zeros(layout.n_actions, np.int8)
    mask[[0, 3]] = 1  # stay, east
    o = int(layout.action_offsets[ActionHead.ATTACK])
    allowed_attacks = {0, attack_value(Style.MELEE, 1, n_rows), attack_value(Style.MAGE, 4, n_rows)}
    mask[[o + v for v in allowed_attacks]] = 1
    samples = [space.sample(mask) for _ in range(300)]
    assert {int(s["move"]) for s in samples} == {0, 3}
    assert {int(s["attack"]) for s in samples} == allowed_attacks
    free = [space.sample() for _ in range(2000)]
    assert {int(s["move"]) for s in free} == set(range(5))
    assert len({int(s["attack"]) for s in free}) > 3 * n_rows * 0.8


def test_markdown_lists_every_field_and_the_byte_count():
    layout = ObsLayout(Config.preset("medium"))
    text = layout.markdown()
    for f in layout.fields:
        assert f"`{f.key}`" in text
    for col in EntityColumn:
        assert f"`{col.name.lower()}`" in text
    assert f"**{layout.bytes_per_agent}**" in text
    assert "`move`" in text and "`attack`" in text
    assert f"| 1 | `attack` | {1 + 3 * layout.n_entities} |" in text
