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

    @staticmethod
    def from_config(cfg: Config) -> Params:
        v, res, s = cfg.vitals, cfg.resources, cfg.spawn
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
        )
