"""Rules: the config's numbers as one record that numba kernels read (``rules.vitals.food_decay``).

Nothing here restates a rule number. The record types are generated from the config's own
dataclasses: each config group (``vitals``, ``combat`` ...) becomes a NamedTuple with one field per
numeric or boolean config field, same name, typed by the field's annotation (so an int given to a
float field is stored as a float, and the compiled kernels see one type whatever the TOML said).
Numbers *derived* from several fields (thresholds times maxima, the horizon as a last tick, per
style tuples) are computed in one place, :func:`derive`, and live in ``rules.derived``.

A new config field is readable in kernels as ``rules.<group>.<field>`` with no other change; a
new config group needs one line in :data:`neural_mmo.config._GROUPS`, nothing here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, NamedTuple

from neural_mmo.config import _GROUPS, Config

_KINDS: dict[str, type] = {"int": int, "float": float, "bool": bool}
"""Config field annotations that kernels can read, and the Python type each value is cast to."""


def _group_record(name: str, cls: type) -> type:
    fields = [(f.name, _KINDS[str(f.type)]) for f in dataclasses.fields(cls) if str(f.type) in _KINDS]
    record: type = NamedTuple(f"{name.title()}Rules", fields)  # type: ignore[misc]
    return record


GROUP_RULES: dict[str, type] = {name: _group_record(name, cls) for name, cls in _GROUPS.items()}
"""Config group name -> its generated record type (numeric and boolean fields only)."""
globals().update({record.__name__: record for record in GROUP_RULES.values()})
# Each record is also a module attribute (``VitalsRules`` ...), so it pickles by reference: numba's
# on-disk cache stores a kernel's signature pickled, and a record it cannot find again by name makes
# every new process compile every kernel anew.


class Derived(NamedTuple):
    """Numbers the kernels need that combine several config fields (see :func:`derive`)."""

    continuous_spawn: bool  # spawn.mode == "continuous"
    last_tick: int  # the horizon (no spawns on it: nobody would live a tick); -1 when persistent
    food_regen_above: float  # regeneration needs food strictly above this ...
    water_regen_above: float  # ... and water strictly above this
    regen_amount: int  # health regenerated per tick while fed and watered
    style_range: tuple[int, int, int]  # reach of melee, range, mage
    style_damage: tuple[float, float, float]  # damage base of each style
    style_damage_per_99: tuple[float, float, float]  # damage added at level 99


def derive(cfg: Config) -> Derived:
    """The one place where rule numbers are combined."""
    v, cb = cfg.vitals, cfg.combat
    return Derived(
        continuous_spawn=cfg.spawn.mode == "continuous",
        last_tick=-1 if cfg.episode.persistent else cfg.episode.horizon,
        food_regen_above=v.regen_threshold * v.max_food,
        water_regen_above=v.regen_threshold * v.max_water,
        regen_amount=cfg.regen_amount,
        style_range=(cb.melee_range, cb.range_range, cb.mage_range),
        style_damage=(float(cb.melee_damage), float(cb.range_damage), float(cb.mage_damage)),
        style_damage_per_99=(
            float(cb.melee_damage_per_99),
            float(cb.range_damage_per_99),
            float(cb.mage_damage_per_99),
        ),
    )


if TYPE_CHECKING:
    Rules = Any  # generated from the config at import time: to a type checker, any record
else:
    Rules = NamedTuple(
        "Rules", [(name, record) for name, record in GROUP_RULES.items()] + [("derived", Derived)]
    )
"""The record kernels take: one generated field per config group, plus ``derived``."""


def make_rules(cfg: Config) -> Any:
    """The :data:`Rules` of ``cfg`` (every value cast to its field's declared type)."""
    groups = {}
    for name, record in GROUP_RULES.items():
        group = getattr(cfg, name)
        groups[name] = record(**{f: kind(getattr(group, f)) for f, kind in record.__annotations__.items()})
    return Rules(**groups, derived=derive(cfg))


def replace_rules(rules: Any, **values: Any) -> Any:
    """``rules`` with ``group__field=value`` entries replaced, unvalidated (for tests that probe a
    kernel outside the config's bounds); e.g. ``replace_rules(r, map__border=1)``."""
    groups = rules._asdict()
    for key, value in values.items():
        group, _, name = key.partition("__")
        if group not in groups or name not in groups[group]._fields:
            raise KeyError(f"{key}: not a rules field (use group__field, e.g. vitals__food_decay)")
        kind = type(getattr(groups[group], name))
        groups[group] = groups[group]._replace(**{name: kind(value) if kind in (int, float, bool) else value})
    return Rules(**groups)
