"""Params: the runtime rule numbers, flattened from :class:`~neural_mmo.config.Config` into one
NamedTuple that numba kernels take as a single argument (``p.food_decay``).

Built once per world; a new rule adds a field here and reads it in its kernel, and no call site
in :mod:`neural_mmo.world.step` changes.
"""

from __future__ import annotations

from typing import NamedTuple

from neural_mmo.config import Config


class Params(NamedTuple):
    border: int  # width of the lava border
    immortal: bool
    max_health: int
    max_food: int
    max_water: int
    food_decay: int
    water_decay: int
    starvation_damage: int
    dehydration_damage: int
    food_regen_above: float  # regeneration needs food strictly above this
    water_regen_above: float  # ... and water strictly above this
    regen_amount: int
    food_restore: int
    water_restore: int
    food_regrow_prob: float
    continuous_spawn: bool
    last_tick: int  # the horizon (no spawns on it: nobody would live a tick); -1 when persistent
    spawn_attempts: int
    min_alive: int
    n_agents: int
    n_populations: int
    # combat
    style_range: tuple[int, int, int]  # reach of melee, range, mage
    style_damage: tuple[float, float, float]  # damage base of each style
    style_damage_per_99: tuple[float, float, float]  # damage added at level 99
    defence_reduction: float
    roll_bonus: int
    weakness_multiplier: float
    freeze_ticks: int
    spawn_immunity: int
    status_ticks: int
    regen_in_combat: bool
    # progression
    max_level: int
    xp_scale: float
    xp_per_damage: float
    constitution_xp_per_damage: float
    defence_xp_per_damage: float
    forage_xp: float
    health_per_level: int
    restore_per_level: float
    # NPCs
    npc_spawn_attempts: int
    npc_passive_below: float
    npc_neutral_below: float
    npc_edge_level: int
    npc_centre_level: int
    npc_sight: int
    npc_wander_prob: float
    npc_leash: int

    @staticmethod
    def from_config(cfg: Config) -> Params:
        v, res, s = cfg.vitals, cfg.resources, cfg.spawn
        cb, pr, npc = cfg.combat, cfg.progression, cfg.npc
        return Params(
            border=cfg.map.border,
            immortal=v.immortal,
            max_health=v.max_health,
            max_food=v.max_food,
            max_water=v.max_water,
            food_decay=v.food_decay,
            water_decay=v.water_decay,
            starvation_damage=v.starvation_damage,
            dehydration_damage=v.dehydration_damage,
            food_regen_above=v.regen_threshold * v.max_food,
            water_regen_above=v.regen_threshold * v.max_water,
            regen_amount=cfg.regen_amount,
            food_restore=res.food_restore,
            water_restore=res.water_restore,
            food_regrow_prob=res.food_regrow_prob,
            continuous_spawn=s.mode == "continuous",
            last_tick=-1 if cfg.episode.persistent else cfg.episode.horizon,
            spawn_attempts=s.attempts_per_tick,
            min_alive=s.min_alive,
            n_agents=s.n_agents,
            n_populations=s.n_populations,
            style_range=(cb.melee_range, cb.range_range, cb.mage_range),
            style_damage=(cb.melee_damage, cb.range_damage, cb.mage_damage),
            style_damage_per_99=(cb.melee_damage_per_99, cb.range_damage_per_99, cb.mage_damage_per_99),
            defence_reduction=cb.defence_reduction,
            roll_bonus=cb.roll_bonus,
            weakness_multiplier=cb.weakness_multiplier,
            freeze_ticks=cb.freeze_ticks,
            spawn_immunity=cb.spawn_immunity,
            status_ticks=cb.status_ticks,
            regen_in_combat=cb.regen_in_combat,
            max_level=pr.max_level,
            xp_scale=pr.xp_scale,
            xp_per_damage=pr.xp_per_damage,
            constitution_xp_per_damage=pr.constitution_xp_per_damage,
            defence_xp_per_damage=pr.defence_xp_per_damage,
            forage_xp=pr.forage_xp,
            health_per_level=pr.health_per_level,
            restore_per_level=pr.restore_per_level,
            npc_spawn_attempts=npc.spawn_attempts,
            npc_passive_below=npc.passive_below,
            npc_neutral_below=npc.neutral_below,
            npc_edge_level=npc.edge_level,
            npc_centre_level=npc.centre_level,
            npc_sight=npc.sight,
            npc_wander_prob=npc.wander_prob,
            npc_leash=npc.leash,
        )
