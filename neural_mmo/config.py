"""Game configuration: frozen dataclasses grouped by system, presets, validation and overrides.

Every number of the game lives here. Each field carries metadata: a one-line ``doc``, bounds
(``min``/``max``) or ``choices`` used by :meth:`Config.validate`, and ``static=True`` when the field
defines the shape of buffers (changing it needs a new environment, not just a reset).

Example::

    cfg = Config.preset("small").override({"resources.food_regrow_prob": 0.05})
    cfg = Config.from_toml("my_run.toml", base=cfg)
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """A configuration value is invalid: the message names the key, the value and what is allowed."""


def _f(default: Any, doc: str, *, static: bool = False, **rules: Any) -> Any:
    return field(default=default, metadata={"doc": doc, "static": static, **rules})


@dataclass(frozen=True)
class MapConfig:
    """Size of the world."""

    size: int = _f(128, "side of the playable square, in tiles", static=True, min=1, max=4096)
    border: int = _f(
        8,
        "width of the lava border around the playable area (at least the vision radius + 1)",
        static=True,
        min=2,
        max=64,
    )
    fixed_seed: int = _f(
        -1,
        "-1: every episode generates its own map; a seed >= 0: every episode of every world plays the "
        "one map of that seed (the map `neural-mmo map --seed` draws)",
        min=-1,
        max=2**63 - 1,
    )
    file: str = _f(
        "",
        "empty: generated maps; a path: every episode of every world plays the map in this .npy file "
        "(uint8 materials, the playable square or the whole grid with its border)",
    )


@dataclass(frozen=True)
class TerrainConfig:
    """Procedural generation: blended simplex octaves thresholded into materials.

    Heights are ranks over the playable area (see ``neural_mmo.world.terrain``), so each threshold
    is the fraction of playable tiles below it: the defaults give about 1.5% lava, 15.5% water,
    38% grass, 5% scrub, 30% forest and 10% stone on every map.
    """

    tiles_per_octave: int = _f(
        8, "map tiles per octave in the noise bank (128 tiles -> 16 octaves)", min=1, max=1024
    )
    min_octaves: int = _f(4, "fewest octaves in the bank, for small maps", min=1, max=256)
    min_wavelength: float = _f(
        6.0, "wavelength in tiles of the finest octave of the bank (the centre's detail)", min=1.0, max=1e6
    )
    max_wavelength: float = _f(
        64.0,
        "wavelength in tiles of the coarsest octave of the bank (the edges' lakes and woods)",
        min=1.0,
        max=1e6,
    )
    local_octaves: int = _f(3, "octaves of the local-frequency noise map", min=1, max=16)
    local_wavelength: float = _f(
        96.0, "wavelength in tiles of the local-frequency noise map", min=1.0, max=1e6
    )
    centre_bias: float = _f(
        1.0,
        "pull of coarse octaves to the edges and fine octaves to the centre: mixing weight b/(1+b) "
        "against the local frequency (0: uniform map, 1: edges use the coarse half of the bank, "
        "the centre the fine half)",
        min=0.0,
        max=4.0,
    )
    smoothness: float = _f(
        1.0,
        "width (standard deviation) of each tile's Gaussian over the octave bank, in eighths of the "
        "bank (larger: more octaves blended, softer contrast between coarse and fine regions)",
        min=0.05,
        max=100.0,
    )
    edge_calm: float = _f(
        0.4,
        "how much height variation is damped towards the edge ring where agents spawn "
        "(0: none, 1: flat edge): fewer lava, water and stone tiles there",
        min=0.0,
        max=1.0,
    )
    lava_below: float = _f(
        0.015,
        "heights below this become lava; heights are ranks in [0, 1] over the playable area, so each "
        "threshold minus the one before is exactly that material's share of the map",
        min=0.0,
        max=1.0,
    )
    water_below: float = _f(0.17, "heights below this become water", min=0.0, max=1.0)
    grass_below: float = _f(0.55, "heights below this become grass", min=0.0, max=1.0)
    scrub_below: float = _f(0.60, "heights below this become scrub", min=0.0, max=1.0)
    forest_below: float = _f(0.90, "heights below this become forest; above is stone", min=0.0, max=1.0)


@dataclass(frozen=True)
class VitalsConfig:
    """Health, food and water."""

    max_health: int = _f(100, "maximum (and starting) health", min=1, max=10_000)
    max_food: int = _f(100, "maximum (and starting) food", min=1, max=10_000)
    max_water: int = _f(100, "maximum (and starting) water", min=1, max=10_000)
    food_decay: int = _f(5, "food lost per tick", min=0, max=10_000)
    water_decay: int = _f(5, "water lost per tick", min=0, max=10_000)
    starvation_damage: int = _f(10, "damage per tick while food is 0", min=0, max=10_000)
    dehydration_damage: int = _f(10, "damage per tick while water is 0", min=0, max=10_000)
    regen_fraction: float = _f(
        0.1, "fraction of max health regenerated per tick while fed and watered", min=0.0, max=1.0
    )
    regen_threshold: float = _f(
        0.5,
        "health regenerates only while food and water are both above this fraction of their max",
        min=0.0,
        max=1.0,
    )
    immortal: bool = _f(False, "agents never die (benchmarks and debugging)")


@dataclass(frozen=True)
class ResourcesConfig:
    """Foraging: food from forest, water next to water tiles."""

    food_restore: int = _f(100, "food restored by eating on a forest tile", min=0, max=10_000)
    water_restore: int = _f(100, "water restored by standing next to water", min=0, max=10_000)
    food_regrow_prob: float = _f(
        0.025, "probability per tick that a scrub tile regrows into forest", min=0.0, max=1.0
    )


@dataclass(frozen=True)
class SpawnConfig:
    """Who enters the world, where and when."""

    mode: str = _f(
        "continuous",
        "continuous: spawn attempts every tick at random edge tiles; "
        "concurrent: everyone at tick 0, evenly spaced along the edges",
        choices=("continuous", "concurrent"),
    )
    n_agents: int = _f(128, "population cap (= agent slots per world)", static=True, min=1, max=65_536)
    n_populations: int = _f(
        1,
        "number of populations (species) agents are split into (at most 252: the uint8 tile channel "
        "also codes the three NPC behaviours)",
        min=1,
        max=252,
    )
    attempts_per_tick: int = _f(
        3, "continuous mode: spawn attempts per tick at random edge tiles", min=0, max=65_536
    )
    min_alive: int = _f(
        1, "continuous mode: keep trying edge tiles until at least this many agents live", min=0, max=65_536
    )
    cap: int = _f(
        0,
        "most agents alive at once in a world, below the slots (0: n_agents); concurrent mode "
        "spawns this many",
        min=0,
        max=65_536,
    )
    sample_cap: bool = _f(
        False,
        "each world draws its cap uniformly from 1..cap (1..n_agents when cap is 0) at every "
        "episode: worlds of one run hold populations of many sizes",
    )


@dataclass(frozen=True)
class EpisodeConfig:
    """When an episode ends."""

    horizon: int = _f(1024, "ticks per episode (truncation); ignored when persistent", min=1, max=2**31 - 1)
    persistent: bool = _f(False, "no horizon: the world runs forever and agents keep spawning")


@dataclass(frozen=True)
class ObserveConfig:
    """What each agent sees."""

    vision_radius: int = _f(7, "tiles seen in each direction (7 -> a 15x15 crop)", static=True, min=1, max=32)
    n_entities: int = _f(
        32,
        "rows of the entity observation (the agent itself, then the nearest visible)",
        static=True,
        min=1,
        max=1024,
    )


@dataclass(frozen=True)
class CombatConfig:
    """Attacks: three styles with ranges, damage, accuracy, and the status they leave behind.

    Style-indexed numbers are given per style (melee, range, mage). Formulas: see
    ``neural_mmo.world.systems.combat`` and the rules page.
    """

    melee_range: int = _f(1, "melee reach, in tiles (Chebyshev distance)", min=1, max=32)
    range_range: int = _f(3, "range (bow) reach, in tiles", min=1, max=32)
    mage_range: int = _f(4, "mage reach, in tiles", min=1, max=32)
    melee_damage: float = _f(
        7.0, "melee damage base: damage = base + per_99 x level / 99, before defence", min=0.0, max=10_000.0
    )
    range_damage: float = _f(5.0, "range damage base", min=0.0, max=10_000.0)
    mage_damage: float = _f(3.0, "mage damage base", min=0.0, max=10_000.0)
    melee_damage_per_99: float = _f(
        63.0, "melee damage added at offensive level 99 (linear in level)", min=0.0, max=10_000.0
    )
    range_damage_per_99: float = _f(55.0, "range damage added at level 99", min=0.0, max=10_000.0)
    mage_damage_per_99: float = _f(47.0, "mage damage added at level 99", min=0.0, max=10_000.0)
    defence_reduction: float = _f(
        0.3, "fraction of damage a level-99 defender absorbs (linear in defence level)", min=0.0, max=1.0
    )
    roll_bonus: int = _f(8, "added to attack and defence levels before the accuracy rolls", min=0, max=1000)
    weakness_multiplier: float = _f(
        1.5,
        "damage multiplier of the style triangle (melee beats range, range beats mage, mage beats "
        "melee; the defender's style is the one it last attacked with); 1 turns it off",
        min=1.0,
        max=10.0,
    )
    freeze_ticks: int = _f(3, "ticks a mage hit stops the target from moving", min=0, max=1000)
    spawn_immunity: int = _f(
        20, "ticks after spawning during which other agents cannot attack an agent", min=0, max=100_000
    )
    status_ticks: int = _f(
        5, "ticks an entity stays 'in combat' after attacking or being attacked", min=0, max=100_000
    )
    regen_in_combat: bool = _f(False, "whether health regenerates while in combat")
    enabled: bool = _f(
        True,
        "False: foraging only: no attack happens and the attack head allows only its no-op "
        "(npc.n_npcs must be 0, since NPCs fight)",
    )
    auto_target: bool = _f(
        False,
        "True: the attack head takes only a style (0 none, 1 melee, 2 range, 3 mage) and the target "
        "is the attackable entity of lowest health within that style's reach (ties: the nearest, "
        "then the lowest entity number); False: the head names an entity row (learned targeting)",
        static=True,
    )


@dataclass(frozen=True)
class ProgressionConfig:
    """Skills and experience: a RuneScape-style table, levels 1 to ``max_level``."""

    max_level: int = _f(99, "highest level of every skill", min=1, max=99)
    xp_scale: float = _f(1.0, "multiplier on every experience gain", min=0.0, max=1e6)
    xp_per_damage: float = _f(
        4.0, "experience to the attack style used, per point of damage dealt", min=0.0, max=1e6
    )
    constitution_xp_per_damage: float = _f(
        1.33, "experience to constitution, per point of damage dealt", min=0.0, max=1e6
    )
    defence_xp_per_damage: float = _f(
        2.0, "experience to defence, per point of damage taken", min=0.0, max=1e6
    )
    forage_xp: float = _f(
        10.0,
        "experience to hunting per meal and to fishing per drink (when something was restored)",
        min=0.0,
        max=1e6,
    )
    health_per_level: int = _f(2, "max health gained per constitution level above 1", min=0, max=10_000)
    restore_per_level: float = _f(
        0.5,
        "food (water) restored per meal (drink) gained per hunting (fishing) level above 1",
        min=0.0,
        max=10_000.0,
    )


@dataclass(frozen=True)
class NpcConfig:
    """Scripted mobs. Danger is 0 on the playable area's edge ring and 1 at its centre."""

    n_npcs: int = _f(0, "NPC cap (= NPC slots per world); 0: no NPCs", static=True, min=0, max=65_536)
    spawn_attempts: int = _f(
        4, "respawn attempts per tick at random tiles while below the cap", min=0, max=65_536
    )
    passive_below: float = _f(0.35, "danger below which a new NPC is passive (wanders)", min=0.0, max=1.0)
    neutral_below: float = _f(
        0.7, "danger below which it is neutral (fights back); hostile above (hunts players)", min=0.0, max=1.0
    )
    edge_level: int = _f(1, "level of an NPC at danger 0 (the edge)", min=1, max=99)
    centre_level: int = _f(30, "level of an NPC at danger 1 (the centre; linear in between)", min=1, max=99)
    sight: int = _f(
        5, "how far an NPC sees players and searches paths (its search box is 2r+1 square)", min=1, max=16
    )
    wander_prob: float = _f(
        0.5, "probability per tick that an idle NPC takes a random step", min=0.0, max=1.0
    )
    leash: int = _f(8, "an idle NPC farther than this from its spawn tile walks back", min=1, max=4096)


@dataclass(frozen=True)
class FogConfig:
    """A death fog that closes in from the playable area's edges (``neural_mmo.world.systems.fog``).

    ``depth`` fogged rings at tick ``t``: 0 until ``start_tick``, then
    ``min((size - min_safe) // 2, floor((t - start_tick) x speed))``; the safe square is what the
    fog leaves, a square of side ``size - 2 depth`` (never below ``min_safe``).
    """

    enabled: bool = _f(False, "whether the fog closes in (off: the world is exactly as without it)")
    start_tick: int = _f(256, "tick after which the fog starts to close in", min=0, max=2**31 - 1)
    speed: float = _f(
        0.05,
        "tiles per tick the fog advances from every side (fractional: 0.1 is one ring every 10 "
        "ticks); counted in millionths of a tile, so 1e-6 is the slowest",
        min=1e-6,
        max=1024.0,
    )
    damage: int = _f(10, "damage per tick to an agent standing in the fog", min=0, max=10_000)
    min_safe: int = _f(
        8, "side of the smallest safe square the fog leaves (at most map.size when enabled)", min=1, max=4096
    )


@dataclass(frozen=True)
class ItemConfig:
    """Items, inventories and equipment (``neural_mmo.world.items``)."""

    enabled: bool = _f(False, "whether the world has items (off: no item table, no inventory)", static=True)
    capacity: int = _f(
        4096, "rows of a world's item table (every item in the world, held, listed or on the ground)",
        static=True, min=1, max=2**24,
    )  # fmt: skip
    inventory_slots: int = _f(12, "inventory positions per agent", static=True, min=1, max=64)
    max_stack: int = _f(
        100,
        "most ammunition or consumables of one type and level in one inventory position",
        min=1,
        max=2**20,
    )
    max_level: int = _f(
        10, "highest item level (the exchange's market has a row per item type and level)", static=True,
        min=1, max=99,
    )  # fmt: skip
    ration_restore: int = _f(
        20, "food and water a level-1 ration restores (never above the maxima)", min=0, max=10_000
    )
    potion_restore: int = _f(
        30, "health a level-1 potion restores (never above max health)", min=0, max=10_000
    )
    restore_per_item_level: int = _f(
        5, "more food and water (ration) or health (potion) per item level above 1", min=0, max=10_000
    )
    weapon_damage: int = _f(
        2, "damage a worn weapon adds to hits of its style, per item level", min=0, max=10_000
    )
    ammo_damage: int = _f(
        1, "damage worn ammunition adds to hits of its style, per item level (one used per attack)",
        min=0, max=10_000,
    )  # fmt: skip
    armour_block: int = _f(
        1, "damage each hit on an agent loses per level of the armour it wears (hat, top, bottom summed)",
        min=0, max=10_000,
    )  # fmt: skip
    npc_gold: int = _f(1, "gold an agent earns by killing an NPC, per level of the NPC", min=0, max=1_000_000)
    drop_chance: float = _f(
        0.3,
        "chance that a killed NPC also leaves its killer a weapon, tool or piece of armour",
        min=0.0,
        max=1.0,
    )
    drop_levels: int = _f(
        3, "NPC levels per level of the item an NPC drops (level 1 + (NPC level - 1) // this)", min=1, max=99
    )
    loot: bool = _f(
        True,
        "an agent killed by another agent leaves its items and gold to the killer (the items that fit its "
        "inventory; the rest vanish); False: the items and gold of the dead always vanish",
    )
    give_reach: int = _f(
        1,
        "farthest an agent may give items or gold: Chebyshev distance in tiles (1: adjacent)",
        min=0,
        max=64,
    )
    gold_buckets: int = _f(
        8, "amounts the give-gold head offers: 1, 2, 4 .. 2 ** (gold_buckets - 1)", static=True, min=1, max=30
    )


@dataclass(frozen=True)
class ExchangeConfig:
    """The global exchange (``neural_mmo.world.systems.exchange``): sell lists one item at a price,
    buy takes the cheapest listing of an item type and level. Needs ``item.enabled``."""

    enabled: bool = _f(False, "whether the exchange exists (needs item.enabled)", static=True)
    listing_ticks: int = _f(
        100, "ticks a listing stays on the market before the item returns to its seller", min=1, max=2**30
    )
    max_listings: int = _f(4, "most listings one agent may have at once", min=1, max=64)
    price_buckets: int = _f(
        8, "prices the sell head offers: price_unit x 1, 2, 4 .. 2 ** (price_buckets - 1)", static=True,
        min=1, max=24,
    )  # fmt: skip
    price_unit: int = _f(1, "the lowest asking price, in gold", min=1, max=2**20)


@dataclass(frozen=True)
class ProfessionConfig:
    """Gathering professions and the resource tiles they harvest (``neural_mmo.world.systems.harvest``).

    Needs ``item.enabled``: a harvest puts an item in the agent's inventory. Each density is the
    fraction of a resource's candidate tiles the terrain generator turns into it (see
    ``neural_mmo.world.terrain.place_resources``).
    """

    enabled: bool = _f(
        False, "whether resource tiles and the four gathering professions exist (needs item.enabled)",
        static=True,
    )  # fmt: skip
    ore_density: float = _f(0.15, "fraction of grass tiles next to stone that hold ore", min=0.0, max=1.0)
    tree_density: float = _f(0.1, "fraction of grass tiles next to forest that hold a tree", min=0.0, max=1.0)
    crystal_density: float = _f(
        0.04, "fraction of grass tiles in the inner half of the map that hold crystal", min=0.0, max=1.0
    )
    herb_density: float = _f(0.03, "fraction of grass tiles that hold herbs", min=0.0, max=1.0)
    fish_density: float = _f(0.2, "fraction of water tiles next to land that hold fish", min=0.0, max=1.0)
    regrow_prob: float = _f(
        0.02, "per-tick chance that a harvested resource tile regrows (geometric wait)", min=0.0, max=1.0
    )
    harvest_xp: float = _f(
        10.0, "XP per harvest in the gathering skill (times progression.xp_scale)", min=0.0, max=1e6
    )
    amount: int = _f(1, "items one harvest gives", min=1, max=2**20)


_GROUPS: dict[str, type] = {
    "map": MapConfig,
    "terrain": TerrainConfig,
    "vitals": VitalsConfig,
    "resources": ResourcesConfig,
    "spawn": SpawnConfig,
    "episode": EpisodeConfig,
    "observe": ObserveConfig,
    "combat": CombatConfig,
    "progression": ProgressionConfig,
    "npc": NpcConfig,
    "fog": FogConfig,
    "item": ItemConfig,
    "profession": ProfessionConfig,
    "exchange": ExchangeConfig,
}


@dataclass(frozen=True)
class Config:
    """The whole game configuration. Build with :meth:`preset`, then :meth:`override`."""

    map: MapConfig = field(default_factory=MapConfig)
    terrain: TerrainConfig = field(default_factory=TerrainConfig)
    vitals: VitalsConfig = field(default_factory=VitalsConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    spawn: SpawnConfig = field(default_factory=SpawnConfig)
    episode: EpisodeConfig = field(default_factory=EpisodeConfig)
    observe: ObserveConfig = field(default_factory=ObserveConfig)
    combat: CombatConfig = field(default_factory=CombatConfig)
    progression: ProgressionConfig = field(default_factory=ProgressionConfig)
    npc: NpcConfig = field(default_factory=NpcConfig)
    fog: FogConfig = field(default_factory=FogConfig)
    item: ItemConfig = field(default_factory=ItemConfig)
    profession: ProfessionConfig = field(default_factory=ProfessionConfig)
    exchange: ExchangeConfig = field(default_factory=ExchangeConfig)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ construction

    @staticmethod
    def preset(name: str = "medium") -> Config:
        """``small`` (64x64, 64 agents, 32 NPCs), ``medium`` (128x128, 128, 128) or ``large``
        (1024x1024, 1024, 1024)."""
        if not isinstance(name, str) or name not in PRESETS:
            raise ConfigError(f"preset: unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
        return Config().override(PRESETS[name])

    def override(self, overrides: Mapping[str, Any]) -> Config:
        """Return a copy with dotted keys replaced (``{"spawn.n_agents": 16}``), then validated.

        Keys may also be bare field names when unique (``{"horizon": 64}``) or ``group__field``.
        String values (from the CLI) are parsed to the field's type; other values must already
        have it. Unknown keys and bad values raise :class:`ConfigError`.
        """
        groups = {name: getattr(self, name) for name in _GROUPS}
        for key, value in overrides.items():
            group, name = _split_key(resolve_key(key))
            spec = _field(group, name)
            groups[group] = dataclasses.replace(groups[group], **{name: _coerce(key, spec, value)})
        return Config(**groups)

    @staticmethod
    def from_toml(path: str | Path, base: Config | None = None, preset: str | None = None) -> Config:
        """Read overrides from a TOML file (``[group]`` tables; an optional top-level ``preset``).

        The starting point is ``base`` if given, else the preset named by the caller or the file
        (both naming different presets is an error), else the defaults.
        """
        data = read_toml(path, "TOML config")
        file_preset = data.pop("preset", None)
        if file_preset is not None and not isinstance(file_preset, str):
            raise ConfigError(
                f"{path}: preset: {file_preset!r} is {_toml_kind(file_preset)}; expected the name of a "
                f"preset ({', '.join(PRESETS)}), e.g. preset = 'small'"
            )
        if preset is not None and file_preset is not None and preset != file_preset:
            raise ConfigError(f"preset: {path} names {file_preset!r} but {preset!r} was asked for")
        name = preset if preset is not None else file_preset
        if base is None:
            base = Config.preset(name) if name is not None else Config()
        flat: dict[str, Any] = {}
        for group, table in data.items():
            if not isinstance(table, dict):
                try:
                    hint = f"; put it under [{resolve_key(group).split('.')[0]}]"
                except ConfigError:
                    hint = f"; tables are {', '.join(_GROUPS)}"
                raise ConfigError(f"{path}: top-level key {group!r} is not a [table] of a config group{hint}")
            for name, value in table.items():
                flat[f"{group}.{name}"] = value
        return base.override(flat)

    # ------------------------------------------------------------------ inspection

    def items(self) -> Iterator[tuple[str, Any]]:
        """Every ``("group.field", value)`` pair, in declaration order."""
        for group in _GROUPS:
            sub = getattr(self, group)
            for f in dataclasses.fields(sub):
                yield f"{group}.{f.name}", getattr(sub, f.name)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Nested plain dict (JSON/TOML friendly)."""
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        """The whole config as TOML ``[group]`` tables; ``Config.from_toml`` reads it back."""
        lines: list[str] = []
        for group, fields in self.to_dict().items():
            lines += (
                [f"[{group}]"] + [f"{name} = {_toml_value(value)}" for name, value in fields.items()] + [""]
            )
        return "\n".join(lines)

    # ------------------------------------------------------------------ validation

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first invalid value, naming key, value and the rule."""
        for key, value in self.items():
            group, name = key.split(".")
            _check(key, _field(group, name), value)
        m, t, o = self.map, self.terrain, self.observe
        if m.border <= o.vision_radius:
            raise ConfigError(
                f"map.border: {m.border} is not larger than observe.vision_radius={o.vision_radius}; "
                "the border must be at least the vision radius + 1"
            )
        if t.min_wavelength > t.max_wavelength:
            raise ConfigError(
                f"terrain.min_wavelength: {t.min_wavelength} exceeds "
                f"terrain.max_wavelength={t.max_wavelength}"
            )
        levels = ["lava_below", "water_below", "grass_below", "scrub_below", "forest_below"]
        for lo, hi in zip(levels, levels[1:]):
            if getattr(t, lo) > getattr(t, hi):
                raise ConfigError(
                    f"terrain.{hi}: {getattr(t, hi)} is below terrain.{lo}={getattr(t, lo)}; "
                    "thresholds must not decrease from lava to forest"
                )
        if self.spawn.n_populations > self.spawn.n_agents:
            raise ConfigError(
                f"spawn.n_populations: {self.spawn.n_populations} exceeds "
                f"spawn.n_agents={self.spawn.n_agents}"
            )
        if self.episode.persistent and self.spawn.mode != "continuous":
            raise ConfigError(
                f"episode.persistent: True needs spawn.mode='continuous' (got {self.spawn.mode!r}); "
                "a concurrent world never spawns again, so it could not run forever"
            )
        if (
            self.spawn.mode == "continuous"
            and self.spawn.attempts_per_tick == 0
            and self.spawn.min_alive == 0
        ):
            raise ConfigError(
                "spawn.attempts_per_tick: 0 together with spawn.min_alive=0 means nobody ever spawns; "
                "set one of them above 0"
            )
        n = self.npc
        reach = max(self.combat.melee_range, self.combat.range_range, self.combat.mage_range)
        if n.n_npcs > 0 and n.sight < reach:
            raise ConfigError(
                f"npc.sight: {n.sight} is below the longest reach {reach} (combat.*_range); an NPC "
                "attacked from beyond its sight could neither see nor answer its attacker"
            )
        if n.passive_below > n.neutral_below:
            raise ConfigError(
                f"npc.neutral_below: {n.neutral_below} is below npc.passive_below={n.passive_below}"
            )
        for key in ("edge_level", "centre_level"):
            if getattr(n, key) > self.progression.max_level:
                raise ConfigError(
                    f"npc.{key}: {getattr(n, key)} exceeds progression.max_level={self.progression.max_level}"
                )
        if self.fog.enabled and self.fog.min_safe > m.size:
            raise ConfigError(
                f"fog.min_safe: {self.fog.min_safe} exceeds map.size={m.size}; the safe square "
                "cannot be larger than the playable area"
            )
        if self.spawn.cap > self.spawn.n_agents:
            raise ConfigError(
                f"spawn.cap: {self.spawn.cap} exceeds spawn.n_agents={self.spawn.n_agents} "
                "(the slots of a world); raise spawn.n_agents or lower the cap"
            )
        if not self.combat.enabled and n.n_npcs > 0:
            raise ConfigError(
                f"combat.enabled: False (foraging only) with npc.n_npcs={n.n_npcs}; NPCs fight, so "
                "set npc.n_npcs=0 as well"
            )
        if self.spawn.min_alive > self.spawn.n_agents:
            raise ConfigError(
                f"spawn.min_alive: {self.spawn.min_alive} exceeds spawn.n_agents={self.spawn.n_agents}"
            )
        if self.profession.enabled and not self.item.enabled:
            raise ConfigError("profession.enabled: True needs item.enabled=True (a harvest gives an item)")
        if self.exchange.enabled and not self.item.enabled:
            raise ConfigError("exchange.enabled: True needs item.enabled=True (the exchange trades items)")
        if (
            self.exchange.enabled
            and self.exchange.price_unit * 2 ** (self.exchange.price_buckets - 1) > 2**30
        ):
            raise ConfigError(
                f"exchange.price_unit x 2 ** (price_buckets - 1) exceeds 2 ** 30 (price_unit="
                f"{self.exchange.price_unit}, price_buckets={self.exchange.price_buckets})"
            )
        if self.profession.enabled and self.profession.amount > self.item.max_stack:
            raise ConfigError(
                f"profession.amount: {self.profession.amount} exceeds item.max_stack={self.item.max_stack}"
            )

    # ------------------------------------------------------------------ derived numbers

    @property
    def grid_side(self) -> int:
        """Side of the stored grids: playable area plus the border on both sides."""
        return self.map.size + 2 * self.map.border

    @property
    def regen_amount(self) -> int:
        """Health regenerated per tick while fed and watered (whole hit points)."""
        return int(math.floor(self.vitals.max_health * self.vitals.regen_fraction + 1e-9))


PRESETS: dict[str, dict[str, Any]] = {
    "small": {"map.size": 64, "spawn.n_agents": 64, "npc.n_npcs": 32},
    "medium": {"map.size": 128, "spawn.n_agents": 128, "npc.n_npcs": 128},
    "large": {"map.size": 1024, "spawn.n_agents": 1024, "npc.n_npcs": 1024},
}
"""Named starting points; everything not listed keeps the dataclass default."""


def field_docs() -> Iterator[tuple[str, dataclasses.Field[Any]]]:
    """Every ``("group.field", Field)`` of the schema, for docs and the CLI."""
    for group, cls in _GROUPS.items():
        for f in dataclasses.fields(cls):
            yield f"{group}.{f.name}", f


def resolve_key(name: str) -> str:
    """Map a bare field name (``horizon``) or ``group__field`` to its dotted key."""
    if not isinstance(name, str):
        raise ConfigError(f"{name!r}: config keys are strings")
    if "__" in name:
        return name.replace("__", ".", 1)
    if "." in name:
        return name
    owners = [group for group, cls in _GROUPS.items() if name in {f.name for f in dataclasses.fields(cls)}]
    if len(owners) > 1:
        raise ConfigError(f"{name}: ambiguous; say which: {', '.join(f'{g}.{name}' for g in owners)}")
    if not owners:
        known = sorted(k.split(".")[1] for k, _ in field_docs())
        raise ConfigError(
            f"{name}: not a config field{_did_you_mean(name, known)}; known fields: {', '.join(known)}"
        )
    return f"{owners[0]}.{name}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _split_key(key: str) -> tuple[str, str]:
    if not isinstance(key, str):
        raise ConfigError(f"{key!r}: config keys are strings like 'group.field'")
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in _GROUPS:
        raise ConfigError(f"{key}: expected 'group.field' with group one of {', '.join(_GROUPS)}")
    return parts[0], parts[1]


def _field(group: str, name: str) -> dataclasses.Field[Any]:
    for f in dataclasses.fields(_GROUPS[group]):
        if f.name == name:
            return f
    names = [f.name for f in dataclasses.fields(_GROUPS[group])]
    raise ConfigError(
        f"{group}.{name}: unknown field of [{group}]{_did_you_mean(name, names)}; allowed: {', '.join(names)}"
    )


def _type_of(spec: dataclasses.Field[Any]) -> type:
    return type(spec.default)


def _coerce(key: str, spec: dataclasses.Field[Any], value: Any) -> Any:
    kind = _type_of(spec)
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        value = value.item()  # numpy scalars from sweeps count as the Python values they hold
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        try:
            if kind is bool:
                if text not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                return text in ("true", "1", "yes")
            return kind(text)
        except ValueError:
            raise ConfigError(f"{key}: {value!r} is not a valid {kind.__name__}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _check(key: str, spec: dataclasses.Field[Any], value: Any) -> None:
    kind = _type_of(spec)
    ok_type = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok_type:
        raise ConfigError(f"{key}: {value!r} has type {type(value).__name__}; expected {kind.__name__}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{key}: {value!r} is not finite; expected a finite number")
    rules = spec.metadata
    if "choices" in rules and value not in rules["choices"]:
        raise ConfigError(f"{key}: {value!r} is not allowed; expected one of {', '.join(rules['choices'])}")
    lo, hi = rules.get("min"), rules.get("max")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ConfigError(f"{key}: {value!r} is out of range; expected {lo} <= value <= {hi}")


def set_pairs(items: list[str] | None, form: str) -> dict[str, str]:
    """``--set KEY=VALUE`` options as ``{key: value}``; ConfigError names a malformed one (no
    ``=``, an empty key, or a key given twice with different values)."""
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected {form}")
        if key in pairs and pairs[key] != value:
            raise ConfigError(f"--set {key}: given twice ({pairs[key]!r} and {value!r}); give it once")
        pairs[key] = value
    return pairs


# ---------------------------------------------------------------------- TOML files

MAX_TOML_DEPTH = 16
"""Deepest nesting of arrays, inline tables and ``[a.b.c]`` headers a TOML file of settings may
use (configs use two levels); deeper files are refused before they are parsed, so a hostile file
cannot exhaust the parser's recursion."""

MAX_TOML_BYTES = 1 << 20
"""Largest TOML file of settings read (configs are a few KB)."""


def toml_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in TOML ``text`` outside strings and comments: an
    upper bound on how deep a parser recurses into arrays and inline tables."""
    depth = deepest = i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def _data_depth(data: Any) -> int:
    """How deeply tables and arrays nest in parsed TOML (dotted keys such as ``a.b.c = 1`` nest
    tables without brackets); counted without recursion."""
    deepest = 0
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_TOML_DEPTH:
            break
        items = value.values() if isinstance(value, dict) else value
        stack += [(v, depth + 1) for v in items if isinstance(v, (dict, list))]
    return deepest


def _skip_string(text: str, i: int) -> int:
    """Index just past the TOML string starting at ``text[i]`` (basic or literal, one or three quotes)."""
    quote = text[i]
    close = quote * 3 if text.startswith(quote * 3, i) else quote
    i += len(close)
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(close, i):
            return i + len(close)
        if text[i] == "\n" and len(close) == 1:
            return i  # an unterminated one-line string: the parser reports it
        i += 1
    return i


def load_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML ``text`` (from ``where``, named in errors) with bounded nesting; every problem is a
    :class:`ConfigError`."""
    depth = toml_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise ConfigError(
            f"{where}: nested {depth} levels deep, more than the {MAX_TOML_DEPTH} a settings file may use"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: cannot read TOML: {err}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to parse") from None
    if _data_depth(data) > MAX_TOML_DEPTH:
        raise ConfigError(
            f"{where}: tables nested more than the {MAX_TOML_DEPTH} levels a settings file may use"
        )
    return data


def read_toml(path: str | Path, what: str = "TOML file") -> dict[str, Any]:
    """Read and parse a TOML file of settings: a regular file (never a FIFO or a device) of at most
    :data:`MAX_TOML_BYTES`, UTF-8, nesting bounded (see :func:`load_toml`). Errors are ConfigErrors
    naming the file."""
    from neural_mmo.files import read_regular

    try:
        text = read_regular(path, MAX_TOML_BYTES).decode()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read {what}: {err}") from None
    return load_toml(text, str(path))


def _toml_kind(value: Any) -> str:
    """``"a table"``, ``"an array"``, ``"an int"``...: what a parsed TOML value is, for messages."""
    kinds: dict[type, str] = {dict: "table", list: "array"}
    name = kinds.get(type(value), type(value).__name__)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def make_config(preset: str | None = None, config: Config | None = None, **overrides: Any) -> Config:
    """A validated config from a preset (default ``medium``) or a full ``config``, plus keyword
    overrides: bare field names (``horizon=64``) or ``group__field`` (``spawn__n_agents=16``)."""
    if preset is not None and config is not None:
        raise ConfigError(f"preset: got preset={preset!r} and a config; give one or the other")
    if config is not None and not isinstance(config, Config):
        raise TypeError(f"config must be a neural_mmo.Config, got {type(config).__name__}")
    base = config if config is not None else Config.preset(preset or "medium")
    return base.override({resolve_key(k): v for k, v in overrides.items()}) if overrides else base
