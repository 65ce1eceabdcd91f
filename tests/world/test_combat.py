"""Combat kernels against plain-Python references of the documented formulas.

The references are written from the rules, not from the kernels: the hit chance is counted
exactly by enumerating the two uniform integer rolls ("attack above defence"), and the damage is
evaluated with exact fractions.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from _support import damage_reference, rules

from neural_mmo.config import Config
from neural_mmo.world import geometry
from neural_mmo.world.systems import combat
from neural_mmo.world.systems.combat import (
    BEATS,
    STYLE_SKILL,
    Style,
    combat_level,
    distance,
    hit_chance,
    hit_damage,
    nearest_first,
)
from neural_mmo.world.systems.progression import Skill

LEVELS = (1, 2, 10, 50, 98, 99)

STYLE_NUMBERS = {
    # style: (config field of the base, config field of the level-99 addition)
    Style.MELEE: ("melee_damage", "melee_damage_per_99"),
    Style.RANGE: ("range_damage", "range_damage_per_99"),
    Style.MAGE: ("mage_damage", "mage_damage_per_99"),
}


def chance_by_counting(attack_level: int, defence_level: int, roll_bonus: int) -> Fraction:
    """P(attack roll > defence roll), rolls uniform on 0..a and 0..d, counted exactly."""
    a = attack_level + roll_bonus
    d = defence_level + roll_bonus
    wins = sum(min(x, d + 1) for x in range(a + 1))  # defence rolls strictly below x
    return Fraction(wins, (a + 1) * (d + 1))


# ---------------------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("roll_bonus", [0, 1, 8, 20])
def test_hit_chance_is_the_probability_that_the_attack_roll_beats_the_defence_roll(roll_bonus):
    for attack in LEVELS:
        for defence in LEVELS:
            expected = float(chance_by_counting(attack, defence, roll_bonus))
            assert hit_chance(attack, defence, roll_bonus) == pytest.approx(expected, abs=1e-12), (
                attack,
                defence,
                roll_bonus,
            )


def test_hit_chance_at_named_levels_with_the_default_bonus():
    bonus = Config().combat.roll_bonus
    # equal levels: a <= d branch, a / (2 (d + 1))
    a = 1 + bonus
    assert hit_chance(1, 1, bonus) == pytest.approx(a / (2 * (a + 1)))
    # level 99 against level 1: a > d branch, 1 - (d + 2) / (2 (a + 1))
    a, d = 99 + bonus, 1 + bonus
    assert hit_chance(99, 1, bonus) == pytest.approx(1 - (d + 2) / (2 * (a + 1)))
    # level 1 against level 99
    a, d = 1 + bonus, 99 + bonus
    assert hit_chance(1, 99, bonus) == pytest.approx(a / (2 * (d + 1)))


def test_hit_chance_rises_with_attack_and_falls_with_defence():
    bonus = Config().combat.roll_bonus
    for d in LEVELS:
        chances = [hit_chance(a, d, bonus) for a in range(1, 100)]
        assert all(x < y for x, y in zip(chances, chances[1:])), d
    for a in LEVELS:
        chances = [hit_chance(a, d, bonus) for d in range(1, 100)]
        assert all(x > y for x, y in zip(chances, chances[1:])), a
    assert all(0.0 < hit_chance(a, d, bonus) < 1.0 for a in LEVELS for d in LEVELS)


def test_a_zero_attack_roll_never_hits():
    assert hit_chance(0, 5, 0) == 0.0


# ------------------------------------------------------------------------------------------ damage


@pytest.mark.parametrize("style", [Style.MELEE, Style.RANGE, Style.MAGE])
@pytest.mark.parametrize("weak", [False, True])
def test_hit_damage_matches_the_formula_at_many_levels(style, weak):
    cfg = Config()
    p = rules()
    for attack in LEVELS:
        for defence in LEVELS:
            expected = damage_reference(cfg, style, attack, defence, weak)
            assert hit_damage(int(style), attack, defence, weak, p) == expected, (attack, defence)


def test_hit_damage_at_named_points():
    p = rules()
    # melee 7 + 63 A / 99: level 99 against defence 1, no weakness -> floor(70 (1 - 0.3 / 99))
    assert hit_damage(Style.MELEE, 99, 1, False, p) == math.floor(70 * (1 - 0.3 / 99))
    # mage at level 1 against defence 99: floor((3 + 47 / 99) * 0.7) = floor(2.432...) = 2
    assert hit_damage(Style.MAGE, 1, 99, False, p) == 2
    # range at level 99, weak, defence 99: floor(60 * 1.5 * 0.7) = 63
    assert hit_damage(Style.RANGE, 99, 99, True, p) == 63


@pytest.mark.parametrize(
    "fields",
    [
        {"defence_reduction": 0.0, "weakness_multiplier": 1.0},
        {"defence_reduction": 1.0, "weakness_multiplier": 2.0},
        {"defence_reduction": 0.5, "weakness_multiplier": 3.0},
    ],
)
def test_hit_damage_follows_the_configured_reduction_and_multiplier(fields):
    cfg = Config().override({f"combat.{k}": v for k, v in fields.items()})
    p = rules(**{f"combat__{k}": v for k, v in fields.items()})
    for style in (Style.MELEE, Style.RANGE, Style.MAGE):
        for attack in LEVELS:
            for defence in LEVELS:
                for weak in (False, True):
                    expected = damage_reference(cfg, style, attack, defence, weak)
                    assert hit_damage(int(style), attack, defence, weak, p) == expected


def test_a_hit_does_at_least_one_damage():
    p = rules(derived__style_damage=(0.0, 0.0, 0.0), derived__style_damage_per_99=(0.0, 0.0, 0.0))
    for style in (Style.MELEE, Style.RANGE, Style.MAGE):
        assert hit_damage(int(style), 1, 99, False, p) == 1
    full = rules(combat__defence_reduction=1.0)  # a level-99 defender absorbs everything
    assert hit_damage(Style.MELEE, 99, 99, False, full) == 1


def test_higher_defence_means_less_damage():
    p = rules()
    for style in (Style.MELEE, Style.RANGE, Style.MAGE):
        for attack in (50, 99):
            damage = [hit_damage(int(style), attack, d, False, p) for d in (1, 25, 50, 75, 99)]
            assert all(x >= y for x, y in zip(damage, damage[1:])), damage
            assert damage[0] > damage[-1], damage


def test_higher_attack_level_means_more_damage():
    p = rules()
    for style in (Style.MELEE, Style.RANGE, Style.MAGE):
        damage = [hit_damage(int(style), a, 1, False, p) for a in (1, 25, 50, 75, 99)]
        assert all(x < y for x, y in zip(damage, damage[1:])), damage


def test_melee_hits_hardest_and_mage_softest_at_equal_levels():
    p = rules()
    for attack in (1, 50, 99):
        melee, rng, mage = (
            hit_damage(int(s), attack, 1, False, p) for s in (Style.MELEE, Style.RANGE, Style.MAGE)
        )
        assert melee > rng > mage


# ------------------------------------------------------------------------------- style triangle


def test_the_style_triangle():
    assert BEATS[Style.MELEE] == Style.RANGE
    assert BEATS[Style.RANGE] == Style.MAGE
    assert BEATS[Style.MAGE] == Style.MELEE
    # every style beats exactly one other and is beaten by exactly one
    beaten = sorted(int(BEATS[s]) for s in (Style.MELEE, Style.RANGE, Style.MAGE))
    assert beaten == [Style.MELEE, Style.RANGE, Style.MAGE]
    assert all(BEATS[s] != s for s in (Style.MELEE, Style.RANGE, Style.MAGE))


def test_weakness_multiplies_the_damage_before_flooring():
    p = rules()
    w = Config().combat.weakness_multiplier
    for style in (Style.MELEE, Style.RANGE, Style.MAGE):
        for attack in (1, 50, 99):
            plain = hit_damage(int(style), attack, 1, False, p)
            weak = hit_damage(int(style), attack, 1, True, p)
            assert weak > plain
            assert weak == damage_reference(Config(), style, attack, 1, True)
            assert weak <= math.floor((plain + 1) * w)


def test_each_style_is_powered_by_its_own_skill():
    assert STYLE_SKILL[Style.MELEE] == Skill.MELEE
    assert STYLE_SKILL[Style.RANGE] == Skill.RANGE
    assert STYLE_SKILL[Style.MAGE] == Skill.MAGE


# ----------------------------------------------------------------------------- small helpers


def test_the_grid_helpers_live_in_geometry_and_combat_re_exports_them():
    assert combat.distance is geometry.distance and combat.nearest_first is geometry.nearest_first
    assert {"distance", "nearest_first"} <= set(combat.__all__)


def test_distance_is_chebyshev():
    assert distance(5, 5, 5, 5) == 0
    assert distance(5, 5, 6, 6) == 1
    assert distance(5, 5, 2, 9) == 4
    assert distance(0, 0, 3, 1) == 3


def test_combat_level_is_the_highest_of_the_five_combat_skills():
    level = np.ones((3, 7), np.int16)
    level[0, Skill.DEFENCE] = 40
    level[0, Skill.MAGE] = 12
    level[1, Skill.HUNTING] = 90  # not a combat skill
    level[1, Skill.FISHING] = 80
    level[2, Skill.CONSTITUTION] = 77
    assert combat_level(level, 0) == 40
    assert combat_level(level, 1) == 1
    assert combat_level(level, 2) == 77


def test_nearest_first_orders_the_square_by_chebyshev_then_euclid():
    offsets = nearest_first(3)
    assert offsets.shape == (49, 2)
    assert tuple(offsets[0]) == (0, 0)
    assert {tuple(o) for o in offsets.tolist()} == {(r, c) for r in range(-3, 4) for c in range(-3, 4)}
    keys = [(max(abs(r), abs(c)), r * r + c * c, r, c) for r, c in offsets.tolist()]
    assert keys == sorted(keys)
    assert [tuple(o) for o in offsets[1:5].tolist()] == [(-1, 0), (0, -1), (0, 1), (1, 0)]
