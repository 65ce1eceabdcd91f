"""THE observation layout: one spec from which spaces, buffers, docs and model inputs derive.

An observation is a dict of fixed-size arrays:

* ``tiles``        ``uint8 [2R+1, 2R+1, TileChannel]``  the square crop around the agent;
* ``entities``     ``int16 [n_entities, EntityColumn]``   row 0 is the agent itself, then the
  nearest other entities in view, agents and NPCs (nearest first), zero rows after them;
* ``entity_mask``  ``uint8 [n_entities]``                 1 where a row holds an entity;
* ``action_mask``  ``int8 [sum of head sizes]``           the heads' masks, concatenated in
  head order (``ObsLayout.action_offsets``); 1 = allowed;
* a *system view* per system that shows something of its own (:data:`SYSTEM_VIEWS`), only while
  that system is on: ``fog`` ``int16 [2]`` with ``fog.enabled``, moves to the fog (negative in it)
  and ticks until it next advances (``FOG_DOC``); ``professions`` ``int16 [4]`` with
  ``profession.enabled``; ``items`` ``int16 [6 + inventory_slots, ItemView]`` with ``item.enabled``,
  the agent's equipment and inventory as a set of rows.

Nothing else in the project restates these sizes: ask an :class:`ObsLayout`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import numpy as np
from gymnasium import spaces

from neural_mmo.config import Config
from neural_mmo.observe.heads import ActionHead, HeadSpec, action_heads, market_rows
from neural_mmo.world.items import (
    N_EQUIP_SLOTS,
    N_ITEM_TYPES,
    EquipmentView,
    ItemView,
    write_equipment_view,
    write_items_view,
)
from neural_mmo.world.kernel import kernel
from neural_mmo.world.materials import materials_in_play
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.systems.drops import write_gold_view
from neural_mmo.world.systems.exchange import MarketView, write_exchange_masks, write_market
from neural_mmo.world.systems.fog import write_fog_view
from neural_mmo.world.systems.harvest import write_professions_view
from neural_mmo.world.systems.inventory import write_use_mask
from neural_mmo.world.systems.trade import write_trade_masks
from neural_mmo.world.tables import N_PROFESSIONS, Behaviour
from neural_mmo.world.vocabulary import N_STYLES, Style

INT16_MAX = np.iinfo(np.int16).max


class TileChannel(IntEnum):
    """Channels of the ``tiles`` crop."""

    MATERIAL = 0  # Material of the tile
    OCCUPANT = 1  # 0: nobody; 1 + population of an agent; n_populations + Behaviour of an NPC


class EntityKind(IntEnum):
    """Values of the ``kind`` entity column (an NPC's kind is 1 + its Behaviour)."""

    NONE = 0
    PLAYER = 1
    PASSIVE_NPC = 2
    NEUTRAL_NPC = 3
    HOSTILE_NPC = 4


class EntityColumn(IntEnum):
    """Columns of the ``entities`` rows."""

    KIND = 0  # EntityKind
    POPULATION = 1
    ROW = 2  # absolute row (border included)
    COL = 3  # absolute column
    REL_ROW = 4  # row minus the observer's row
    REL_COL = 5
    HEALTH = 6
    MAX_HEALTH = 7
    FOOD = 8
    WATER = 9
    TIME_ALIVE = 10  # ticks since spawn (saturates at 32767)
    LEVEL = 11  # combat level: the highest of the five combat skills
    MELEE = 12  # skill levels, in Skill order
    RANGE = 13
    MAGE = 14
    DEFENCE = 15
    CONSTITUTION = 16
    HUNTING = 17
    FISHING = 18
    STYLE = 19  # Style it last attacked with (an NPC's fixed style)
    FROZEN = 20  # coming ticks it cannot move
    IMMUNE = 21  # coming ticks other agents cannot attack it
    IN_COMBAT = 22  # coming ticks it stays in combat


SKILL_COLUMNS = tuple(range(EntityColumn.MELEE, EntityColumn.FISHING + 1))

TILE_DOCS = {
    TileChannel.MATERIAL: "Material of the tile (see the rules' material table)",
    TileChannel.OCCUPANT: "0: nobody; 1 + population of the agent standing there; n_populations + "
    "Behaviour (1 passive, 2 neutral, 3 hostile) of an NPC",
}

ENTITY_DOCS = {
    EntityColumn.KIND: "EntityKind: 0 empty row, 1 player, 2 passive NPC, 3 neutral NPC, 4 hostile NPC",
    EntityColumn.POPULATION: "population (species) index of an agent; 0 for NPCs",
    EntityColumn.ROW: "absolute row on the stored grid (border included)",
    EntityColumn.COL: "absolute column on the stored grid",
    EntityColumn.REL_ROW: "row relative to the observer (negative: north)",
    EntityColumn.REL_COL: "column relative to the observer (negative: west)",
    EntityColumn.HEALTH: "health",
    EntityColumn.MAX_HEALTH: "max health (grows with constitution)",
    EntityColumn.FOOD: "food (0 for NPCs)",
    EntityColumn.WATER: "water (0 for NPCs)",
    EntityColumn.TIME_ALIVE: "ticks since it spawned (saturates at 32767)",
    EntityColumn.LEVEL: "combat level: highest of melee, range, mage, defence, constitution",
    EntityColumn.MELEE: "melee level",
    EntityColumn.RANGE: "range level",
    EntityColumn.MAGE: "mage level",
    EntityColumn.DEFENCE: "defence level",
    EntityColumn.CONSTITUTION: "constitution level",
    EntityColumn.HUNTING: "hunting level (NPCs: their level)",
    EntityColumn.FISHING: "fishing level (NPCs: their level)",
    EntityColumn.STYLE: "Style it last attacked with (0 none, 1 melee, 2 range, 3 mage); an NPC's own",
    EntityColumn.FROZEN: "coming ticks it cannot move (mage hit)",
    EntityColumn.IMMUNE: "coming ticks other agents cannot attack it (spawn immunity)",
    EntityColumn.IN_COMBAT: "coming ticks it stays in combat (no health regeneration): it attacked or "
    "was attacked within the last status_ticks ticks",
}


class SystemView(NamedTuple):
    """An observation a system writes itself: an ``int16`` array of ``shape(config)`` per agent (a
    vector, or a set of rows as ``entities`` is), present while ``enabled(config)``, within
    ``bounds(config)`` (low, high, each of that shape), written each tick by the system's view
    kernel, which :func:`write_system_views` calls."""

    key: str
    shape: Callable[[Config], tuple[int, ...]]
    enabled: Callable[[Config], bool]
    bounds: Callable[[Config], tuple[np.ndarray, np.ndarray]]
    doc: str
    rows_of: str = ""
    """"entities" when row ``k`` describes what entity row ``k`` shows (more columns of it)."""

    @property
    def ndim(self) -> int:
        """Dimensions of one agent's view (the same for every config)."""
        return len(self.shape(Config()))


FOG_DOC = (
    "only with `fog.enabled`: [0] moves from the agent to the fog (0 on the safe square's outer "
    "ring; negative in the fog: minus the moves back to the safe square), [1] ticks until the fog "
    "next advances (0 once it has stopped)"
)


def _fog_bounds(config: Config) -> tuple[np.ndarray, np.ndarray]:
    side = config.map.size
    return np.array([-min(INT16_MAX, side + 1), 0]), np.array([(side - 1) // 2, INT16_MAX])


PROFESSIONS_DOC = (
    "only with `profession.enabled`: the agent's level in prospecting, carving, alchemy and herbalism "
    "(`Profession` order)"
)


def _professions_bounds(config: Config) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(N_PROFESSIONS), np.full(N_PROFESSIONS, config.progression.max_level)


ITEMS_DOC = (
    "only with `item.enabled`: one row per equipment slot (weapon, tool, head, body, legs, ammo), "
    "then one per inventory position; columns `ItemView`: type (`ItemType`), level, quantity, "
    "equipped; zero rows are empty places"
)


def _items_shape(config: Config) -> tuple[int, int]:
    return (N_EQUIP_SLOTS + config.item.inventory_slots, len(ItemView))


def _items_bounds(config: Config) -> tuple[np.ndarray, np.ndarray]:
    shape = _items_shape(config)
    high = np.empty(shape)
    high[:, ItemView.TYPE] = N_ITEM_TYPES - 1
    high[:, ItemView.LEVEL] = config.item.max_level
    high[:, ItemView.QUANTITY] = min(config.item.max_stack, INT16_MAX)
    high[:, ItemView.EQUIPPED] = 1
    return np.zeros(shape), high


GOLD_DOC = "only with `item.enabled`: the agent's gold (at most 32767)"

EQUIPMENT_DOC = (
    "only with `item.enabled`: per row of `entities`, what that agent visibly wears; columns "
    "`EquipmentView`: weapon (`ItemType`), weapon level, armour level (hat, top and bottom summed); "
    "zero for NPCs and empty rows"
)


def _equipment_shape(config: Config) -> tuple[int, int]:
    return (config.observe.n_entities, len(EquipmentView))


def _equipment_bounds(config: Config) -> tuple[np.ndarray, np.ndarray]:
    shape = _equipment_shape(config)
    high = np.empty(shape)
    high[:, EquipmentView.WEAPON] = N_ITEM_TYPES - 1
    high[:, EquipmentView.WEAPON_LEVEL] = config.item.max_level
    high[:, EquipmentView.ARMOUR_LEVEL] = 3 * config.item.max_level
    return np.zeros(shape), high


MARKET_DOC = (
    "only with `exchange.enabled`, one table per world (not in any agent's observation): one row per "
    "item type and level (row (type - 1) x item.max_level + level - 1); columns `MarketView`: type, "
    "level, cheapest asking price (0: none listed), listings, price of the last sale (0: none); prices "
    "saturate at 32767"
)

SYSTEM_VIEWS: tuple[SystemView, ...] = (
    SystemView("fog", lambda config: (2,), lambda config: config.fog.enabled, _fog_bounds, FOG_DOC),
    SystemView(
        "professions", lambda config: (N_PROFESSIONS,), lambda config: config.profession.enabled,
        _professions_bounds, PROFESSIONS_DOC,
    ),
    SystemView("items", _items_shape, lambda config: config.item.enabled, _items_bounds, ITEMS_DOC),
    SystemView(
        "gold", lambda config: (1,), lambda config: config.item.enabled,
        lambda config: (np.zeros(1), np.full(1, INT16_MAX)), GOLD_DOC,
    ),
    SystemView(
        "equipment", _equipment_shape, lambda config: config.item.enabled, _equipment_bounds, EQUIPMENT_DOC,
        rows_of="entities",
    ),
)  # fmt: skip
"""Every system view, in the order of the observation's keys (after the four above)."""

if TYPE_CHECKING:
    SystemViews: TypeAlias = Any  # a record with one field per key, made from the declarations
else:
    SystemViews = NamedTuple("SystemViews", [(view.key, np.ndarray) for view in SYSTEM_VIEWS])
    """The encoder's buffer of each system view, by key: ``int16 [N, *shape]``, ``[N, 0, ...]``
    while the system is off."""


@kernel(inline=True)
def write_system_views(
    world: World, views: SystemViews, entity_slot: np.ndarray, shown: np.ndarray, held: np.ndarray,
    worn: np.ndarray, touched: np.ndarray, rules: Rules,
) -> None:  # fmt: skip
    """Each system view of an enabled system into its buffer, after the entity rows are chosen
    (``entity_slot``: the entity each row shows; ``shown``: how many rows each slot shows now;
    ``held``: how many rows the views aligned with them held last tick, updated here; ``worn``:
    work space of the equipment view; ``touched``: the slots whose views of their own holdings and
    levels are rewritten, see ``neural_mmo.observe.encode.mark_holdings``)."""
    if rules.fog.enabled:
        write_fog_view(world, views.fog, rules)
    if rules.profession.enabled:
        write_professions_view(world, touched, views.professions)
    if rules.item.enabled:
        agents = world.agents
        tick = world.clock[Clock.TICK]
        write_items_view(
            world.items, world.holdings, agents.alive, agents.death_tick, tick, touched, views.items
        )
        write_gold_view(world, views.gold)
        write_equipment_view(
            world.items, world.holdings.equipment, entity_slot, shown, held, worn, views.equipment
        )
        for i in range(held.shape[0]):
            held[i] = shown[i]


@kernel(inline=True)
def _head(action_mask: np.ndarray, head_offsets: np.ndarray, head_sizes: np.ndarray, head: int) -> np.ndarray:
    o = head_offsets[head]
    return action_mask[:, o : o + head_sizes[head]]


@kernel(inline=True)
def write_system_masks(
    world: World, action_mask: np.ndarray, head_offsets: np.ndarray, head_sizes: np.ndarray,
    entity_slot: np.ndarray, market: np.ndarray, best: np.ndarray, offered: np.ndarray, touched: np.ndarray,
    rules: Rules,
) -> None:  # fmt: skip
    """The action-mask part of each head an enabled system adds (after the encoder's move and
    attack parts), for every agent slot shown this tick (the use head's for the ``touched`` slots:
    it depends only on the slot's holdings and levels); with the exchange, first the world's
    market table (``market``) and its best offers (``best``: :func:`write_market`; ``offered`` is
    work space for the masks)."""
    if rules.item.enabled:
        write_use_mask(world, touched, _head(action_mask, head_offsets, head_sizes, ActionHead.USE))
        write_trade_masks(
            world, entity_slot, _head(action_mask, head_offsets, head_sizes, ActionHead.DESTROY),
            _head(action_mask, head_offsets, head_sizes, ActionHead.GIVE),
            _head(action_mask, head_offsets, head_sizes, ActionHead.GIVE_TO),
            _head(action_mask, head_offsets, head_sizes, ActionHead.GIVE_GOLD),
            _head(action_mask, head_offsets, head_sizes, ActionHead.GIVE_GOLD_TO), rules.item.give_reach,
        )  # fmt: skip
    if rules.exchange.enabled:
        full = write_market(world, market, best, rules.item.max_level)
        write_exchange_masks(
            world, best, full, _head(action_mask, head_offsets, head_sizes, ActionHead.SELL),
            _head(action_mask, head_offsets, head_sizes, ActionHead.SELL_PRICE),
            _head(action_mask, head_offsets, head_sizes, ActionHead.BUY), rules.exchange.max_listings,
            offered,
        )  # fmt: skip


def heads_of(config: Config) -> tuple[HeadSpec, ...]:
    """The world's action heads; with ``combat.auto_target`` the ``attack`` head names a style only
    (the world picks the target: ``neural_mmo.world.systems.targeting``)."""
    heads = action_heads(config)
    if not config.combat.auto_target:
        return heads
    styles = tuple(Style(s).name.lower() for s in range(1, N_STYLES + 1))
    attack = HeadSpec(
        "attack",
        1 + N_STYLES,
        "0: no attack; 1 melee, 2 range, 3 mage: attack the attackable entity of lowest health in "
        "that style's reach (automatic targeting)",
        ("none", *styles),
    )
    return tuple(attack if h.name == "attack" else h for h in heads)


@dataclass(frozen=True)
class ObsField:
    """One array of the observation."""

    key: str
    dtype: np.dtype
    shape: tuple[int, ...]
    low: np.ndarray
    high: np.ndarray
    doc: str
    rows_of: str = ""
    """"entities" when its rows extend the entity rows (``SystemView.rows_of``)."""

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


class ObsLayout:
    """Everything shape-related about observations and actions for one :class:`Config`."""

    def __init__(self, config: Config):
        self.config = config
        self.radius = config.observe.vision_radius
        self.window = 2 * self.radius + 1
        self.n_entities = config.observe.n_entities
        self.heads: tuple[HeadSpec, ...] = heads_of(config)
        sizes = [h.size for h in self.heads]
        self.action_offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.action_sizes = np.array(sizes, np.int64)
        self.n_actions = int(sum(sizes))
        self.fields: tuple[ObsField, ...] = (
            self._tiles(),
            self._entities(),
            ObsField("entity_mask", np.dtype(np.uint8), (self.n_entities,), np.zeros(self.n_entities),
                     np.ones(self.n_entities), "1 where the entities row holds an entity"),
            ObsField("action_mask", np.dtype(np.int8), (self.n_actions,), np.zeros(self.n_actions),
                     np.ones(self.n_actions), "1 where an action value is allowed, heads concatenated"),
        )  # fmt: skip
        for view in SYSTEM_VIEWS:
            if view.enabled(config):
                low, high = view.bounds(config)
                self.fields += (
                    ObsField(
                        view.key, np.dtype(np.int16), view.shape(config), low, high, view.doc, view.rows_of
                    ),
                )
        self.world_fields: tuple[ObsField, ...] = ()
        """Tables published once per world, the same for every agent (``market``)."""
        if config.exchange.enabled:
            self.world_fields = (self._market(),)

    # ------------------------------------------------------------------ fields

    def _tiles(self) -> ObsField:
        shape = (self.window, self.window, len(TileChannel))
        high = np.empty(shape)
        high[..., TileChannel.MATERIAL] = materials_in_play(self.config.profession.enabled) - 1
        high[..., TileChannel.OCCUPANT] = self.config.spawn.n_populations + max(Behaviour)
        return ObsField("tiles", np.dtype(np.uint8), shape, np.zeros(shape), high,
                        "square crop centred on the agent; channels: TileChannel")  # fmt: skip

    def _entities(self) -> ObsField:
        cfg = self.config
        top_health = min(
            INT16_MAX,
            cfg.vitals.max_health + cfg.progression.health_per_level * (cfg.progression.max_level - 1),
        )
        level = (0, cfg.progression.max_level)
        bounds = {
            EntityColumn.KIND: (0, max(EntityKind)),
            EntityColumn.POPULATION: (0, cfg.spawn.n_populations - 1),
            EntityColumn.ROW: (0, cfg.grid_side - 1),
            EntityColumn.COL: (0, cfg.grid_side - 1),
            EntityColumn.REL_ROW: (-self.radius, self.radius),
            EntityColumn.REL_COL: (-self.radius, self.radius),
            EntityColumn.HEALTH: (0, top_health),
            EntityColumn.MAX_HEALTH: (0, top_health),
            EntityColumn.FOOD: (0, cfg.vitals.max_food),
            EntityColumn.WATER: (0, cfg.vitals.max_water),
            EntityColumn.TIME_ALIVE: (0, INT16_MAX),
            EntityColumn.LEVEL: level,
            **{EntityColumn(col): level for col in SKILL_COLUMNS},
            EntityColumn.STYLE: (0, max(Style)),
            EntityColumn.FROZEN: (0, INT16_MAX),
            EntityColumn.IMMUNE: (0, INT16_MAX),
            EntityColumn.IN_COMBAT: (0, min(INT16_MAX, max(0, cfg.combat.status_ticks - 1))),
        }
        shape = (self.n_entities, len(EntityColumn))
        low = np.empty(shape)
        high = np.empty(shape)
        for column, (lo, hi) in bounds.items():
            low[:, column] = lo
            high[:, column] = hi
        return ObsField("entities", np.dtype(np.int16), shape, low, high,
                        "row 0: the agent itself; then the nearest visible entities; "
                        "columns: EntityColumn")  # fmt: skip

    def _market(self) -> ObsField:
        rows = market_rows(self.config)
        shape = (rows, len(MarketView))
        high = np.full(shape, INT16_MAX, np.float64)
        high[:, MarketView.TYPE] = N_ITEM_TYPES - 1
        high[:, MarketView.LEVEL] = self.config.item.max_level
        return ObsField("market", np.dtype(np.int16), shape, np.zeros(shape), high, MARKET_DOC)

    def market_space(self) -> spaces.Box | None:
        """Space of one world's market table (None without the exchange)."""
        if not self.world_fields:
            return None
        f = self.world_fields[0]
        return spaces.Box(
            low=f.low.astype(f.dtype), high=f.high.astype(f.dtype), shape=f.shape, dtype=f.dtype.type
        )

    # ------------------------------------------------------------------ derived things

    @property
    def bytes_per_agent(self) -> int:
        return sum(f.nbytes for f in self.fields)

    def observation_space(self) -> spaces.Dict:
        return spaces.Dict(
            {
                f.key: spaces.Box(
                    low=f.low.astype(f.dtype), high=f.high.astype(f.dtype), shape=f.shape, dtype=f.dtype.type
                )
                for f in self.fields
            }
        )

    def action_space(self) -> ActionSpace:
        return ActionSpace(self)

    def allocate(self, n: int) -> dict[str, np.ndarray]:
        """Zeroed buffers for ``n`` agents: ``{key: array [n, *shape]}``."""
        return {f.key: np.zeros((n, *f.shape), f.dtype) for f in self.fields}

    def markdown(self) -> str:
        """The observation and action tables of the docs."""
        lines = ["| key | dtype | shape | content |", "|---|---|---|---|"]
        for f in self.fields:
            lines.append(f"| `{f.key}` | {f.dtype} | {f.shape} | {f.doc} |")
        off = [view for view in SYSTEM_VIEWS if not view.enabled(self.config)]
        lines += [f"| `{view.key}` | int16 | {view.shape(self.config)} | {view.doc} |" for view in off]
        if self.world_fields:
            lines += [
                f"| `{f.key}` (per world) | {f.dtype} | {f.shape} | {f.doc} |" for f in self.world_fields
            ]
        else:
            shape = (market_rows(self.config), len(MarketView))
            lines.append(f"| `market` (per world) | int16 | {shape} | {MARKET_DOC} |")
        without = f" (without {', '.join(f'`{view.key}`' for view in off)})" if off else ""
        lines += ["", f"Bytes per agent: **{self.bytes_per_agent}**{without}.", "", "Tile channels:", ""]
        lines += ["| channel | name | content |", "|---|---|---|"]
        lines += [f"| {c.value} | `{c.name.lower()}` | {TILE_DOCS[c]} |" for c in TileChannel]
        lines += [
            "",
            "Entity columns:",
            "",
            "| column | name | low | high | content |",
            "|---|---|---|---|---|",
        ]
        entities = self.fields[1]
        for col in EntityColumn:
            lines.append(
                f"| {col.value} | `{col.name.lower()}` "
                f"| {entities.low[0, col]:g} | {entities.high[0, col]:g} | {ENTITY_DOCS[col]} |"
            )
        lines += ["", "Action heads (`action_mask` holds them concatenated in this order; value 0 of",
                  "every head is the no-op, always allowed). A move is masked out toward water, stone,",
                  "a tile occupied when the observation was made, or past the first ring of the lava",
                  "border, and every move but stay while frozen; **lava itself is allowed, and kills**:",
                  "avoiding it is for the agent to learn. An attack value is allowed when its row holds",
                  "another entity within that style's reach that may be attacked (not spawn-immune); the",
                  "attack part of the mask reshapes to `[1 + 3 x n_entities]` = no-op, then one block of",
                  "rows per style. With `combat.auto_target` the attack head takes a style only (4 values:",
                  "none, melee, range, mage; a style is allowed when something attackable is in its reach)",
                  "and the world picks the target of lowest health; with `combat.enabled = false` only the",
                  "attack no-op is allowed.",
                  "",
                  "| column | head | size | values | meaning |", "|---|---|---|---|---|"]  # fmt: skip
        for k, h in enumerate(self.heads):
            lines.append(f"| {k} | `{h.name}` | {h.size} | {', '.join(h.values)} | {h.doc} |")
        economy = heads_of(self.config.override({"item.enabled": True, "exchange.enabled": True}))
        for k, h in enumerate(economy[len(self.heads) :], start=len(self.heads)):
            switch = "exchange.enabled" if k >= ActionHead.SELL else "item.enabled"
            values = ", ".join(h.values)
            lines.append(f"| {k} | `{h.name}` (with `{switch}`) | {h.size} | {values} | {h.doc} |")
        lines += ["", "An action with two arguments has a head for each (`give` + `give_to`, `give_gold`",
                  "+ `give_gold_to`, `sell` + `sell_price`): it happens when both are nonzero; either",
                  "alone does nothing (and is not counted invalid). Each of the two masks allows a value",
                  "only when some allowed value of the other completes it, so any two allowed nonzero",
                  "values make an action that happens."]  # fmt: skip
        return "\n".join(lines)


class ActionSpace(spaces.Dict):
    """``Dict({head: Discrete(size)})`` whose ``sample(mask)`` also takes the flat ``action_mask``."""

    def __init__(self, layout: ObsLayout):
        # a list of pairs keeps the heads in column order (a plain dict would be sorted by name)
        super().__init__([(h.name, spaces.Discrete(h.size)) for h in layout.heads])
        self._split = [(h.name, int(o), h.size) for h, o in zip(layout.heads, layout.action_offsets)]

    def sample(self, mask=None, probability=None):  # type: ignore[override]
        if isinstance(mask, np.ndarray):
            mask = {name: mask[o : o + n].astype(np.int8) for name, o, n in self._split}
        return super().sample(mask=mask, probability=probability)
