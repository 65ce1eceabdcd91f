"""Combat: three attack styles, an accuracy roll and level-scaled damage.

An attack names a style and a target. It happens only if the target is alive, within the
style's reach (Chebyshev distance: melee 1, range 3, mage 4 by default) and, for an agent
attacked by another agent, past its ``spawn_immunity`` ticks. Agents attack first, all from
where they stood at the start of the tick, and simultaneously: every roll uses the levels and
styles everyone had at the start of the tick, and an agent killed by an attack resolved before
its own still lands it. The random order of resolution decides only who gets the killing blow
(a blow deals at most the health left), which attacks find their target already dead, and,
when several agents hit one NPC, which of them it fights back (the last). NPCs act after them
(see the NPC rules).

With ``A`` the attacker's level in the style's skill and ``D`` the defender's defence level:

* accuracy: ``a = A + roll_bonus``, ``d = D + roll_bonus``; the hit chance is
  ``1 - (d + 2) / (2 (a + 1))`` when ``a > d``, else ``a / (2 (d + 1))`` (two uniform integer
  rolls, attack above defence); one uniform draw decides;
* damage on a hit: ``max(1, floor((base + per_99 * A / 99) * w * (1 - defence_reduction * D / 99)))``
  (in floating point, with ``1e-9`` added before the floor so exact products are not rounded down)
  with ``base``, ``per_99`` the style's numbers (melee 7 + 63 A / 99, range 5 + 55 A / 99,
  mage 3 + 47 A / 99) and ``w = weakness_multiplier`` when the style beats the defender's (melee
  beats range, range beats mage, mage beats melee; an entity's style is the one it last attacked
  with, an NPC's is fixed), else 1;
* with ``item.enabled``, a hit deals ``max(1, that + bonus - block)`` instead: ``bonus`` is
  ``item.weapon_damage`` x the level of the attacker's weapon if it serves the style (spear melee,
  bow range, wand mage) plus ``item.ammo_damage`` x the level of its ammunition of the style
  (whetstones, arrows, runes; one is used up by every attack that happens, hit or miss), and
  ``block`` is ``item.armour_block`` x the summed levels of the hat, top and bottom an agent
  defender wears (NPCs wear nothing and carry no weapon);
* a mage hit freezes the target: it cannot move this tick and the next ``freeze_ticks - 1``;
* attacker and defender are *in combat* on this tick and the next ``status_ticks - 1`` (no
  health regeneration then, unless ``regen_in_combat``);
* a defender brought to 0 health is killed (cause COMBAT, killer recorded; immortal agents stay
  at 1). Attacks on it later in the same tick do nothing.

After all attacks, each attacker that is still alive gains experience for the damage it dealt
(see the skills rules) and each surviving agent defender for the damage it took; the dead gain
nothing. Every attack logs an ATTACK event (damage, 0 for a miss); a kill logs KILL (killer,
victim, the style of the blow) and the victim's DEATH (agents) names the killer.
"""

from __future__ import annotations

import math

import numpy as np

from neural_mmo.world.commands import Command
from neural_mmo.world.events import DeathCause, EventKind, EventLog, log_pair
from neural_mmo.world.geometry import distance, nearest_first
from neural_mmo.world.items import armour_block, attack_bonus, drop_spent_ammunition
from neural_mmo.world.kernel import kernel
from neural_mmo.world.rng import Stream, uniform
from neural_mmo.world.rules import Rules
from neural_mmo.world.state import Clock, World
from neural_mmo.world.systems.movement import shuffled_alive
from neural_mmo.world.systems.progression import Skill, gain_xp
from neural_mmo.world.tables import Behaviour
from neural_mmo.world.vocabulary import N_STYLES, Style

__all__ = ["BEATS", "N_STYLES", "STYLE_SKILL", "Style", "distance", "hit_chance", "hit_damage",
           "nearest_first", "resolve_attacks"]  # fmt: skip

BEATS = np.array([0, Style.RANGE, Style.MAGE, Style.MELEE], np.uint8)
"""``BEATS[s]``: the style that style ``s`` does extra damage against."""
STYLE_SKILL = np.array([-1, Skill.MELEE, Skill.RANGE, Skill.MAGE], np.int64)
"""The skill that levels (and powers) each style."""


@kernel
def hit_chance(attack_level: int, defence_level: int, roll_bonus: int) -> float:
    """Probability that an attack at ``attack_level`` hits a defender at ``defence_level``."""
    a = attack_level + roll_bonus
    d = defence_level + roll_bonus
    if a > d:
        return 1.0 - (d + 2.0) / (2.0 * (a + 1.0))
    return a / (2.0 * (d + 1.0))


@kernel
def hit_damage(style: int, attack_level: int, defence_level: int, weak: bool, rules: Rules) -> int:
    """Damage of a hit (see module docs)."""
    s = style - 1
    raw = rules.derived.style_damage[s] + rules.derived.style_damage_per_99[s] * attack_level / 99.0
    if weak:
        raw *= rules.combat.weakness_multiplier
    raw *= 1.0 - rules.combat.defence_reduction * defence_level / 99.0
    return max(1, int(math.floor(raw + 1e-9)))


@kernel
def combat_level(level: np.ndarray, i: int) -> int:
    """The highest of an entity's five combat skills (melee .. constitution)."""
    best = 0
    for k in range(Skill.CONSTITUTION + 1):
        best = max(best, int(level[i, k]))
    return best


@kernel
def roll_damage(
    style: int, attack_level: int, defence_level: int, defender_style: int, health: int, can_die: bool,
    bonus: int, block: int, rng: np.ndarray, rules: Rules,
) -> int:  # fmt: skip
    """The damage one attack deals: 0 on a miss, else the formula plus the attacker's equipment
    ``bonus`` less the defender's armour ``block`` (at least 1), capped by ``health`` (minus one
    when the defender cannot die)."""
    if uniform(rng) >= hit_chance(attack_level, defence_level, rules.combat.roll_bonus):
        return 0
    damage = max(1, hit_damage(style, attack_level, defence_level, BEATS[style] == defender_style, rules)
                 + bonus - block)  # fmt: skip
    return max(0, min(damage, health - (0 if can_die else 1)))


@kernel
def take_hit(
    health: np.ndarray, freeze_until: np.ndarray, combat_tick: np.ndarray, death_cause: np.ndarray,
    killer: np.ndarray, d: int, damage: int, style: int, attacker: int, now: int, rules: Rules,
) -> bool:  # fmt: skip
    """Row ``d`` of a table (the columns of either kind) takes an attack; True if it was killed.

    Columns, not tables, are passed: numba reference-counts every array of a table handed to a
    function, which on this per-attack path would cost more than the rule.
    """
    combat_tick[d] = now
    if damage > 0 and style == Style.MAGE and rules.combat.freeze_ticks > 0:
        freeze_until[d] = max(freeze_until[d], now + rules.combat.freeze_ticks - 1)
    health[d] -= damage
    if health[d] > 0:
        return False
    death_cause[d] = DeathCause.COMBAT
    killer[d] = attacker
    return True


@kernel
def log_attack(
    events: EventLog, attacker: int, attacker_id: int, r: int, c: int, damage: int, defender: int,
    defender_id: int, style: int, killed: bool, victim_level: int,
) -> None:  # fmt: skip
    """The ATTACK event, and the KILL event when the attack killed."""
    log_pair(events, EventKind.ATTACK, attacker, attacker_id, r, c, damage, defender, defender_id, style)
    if killed:
        log_pair(
            events, EventKind.KILL, attacker, attacker_id, r, c, victim_level, defender, defender_id, style
        )


@kernel
def in_combat(now: int, combat_tick: int, status_ticks: int) -> bool:
    """Whether an entity that last fought at ``combat_tick`` is in combat at tick ``now``."""
    return now - combat_tick < status_ticks


@kernel(inline=True)
def resolve_attacks(world: World, commands: np.ndarray, rules: Rules) -> None:
    """Every living agent ``i`` with a style in its command attacks its target entity (see module
    docs). ``world.scratch`` holds the attack order and the damage each attacker dealt.

    Two passes keep the attacks simultaneous: the first rolls every attack against the levels and
    styles everyone had at the start of the tick; the second records every attacker's style and
    combat tick, and grants the experience to the agents that survived the attacks.
    """
    agents, npcs, events = world.agents, world.npcs, world.events
    styles = commands[:, Command.STYLE]
    targets = commands[:, Command.TARGET]
    rng = world.streams[Stream.COMBAT]
    now = world.clock[Clock.TICK]
    order = world.scratch[0]
    dealt = world.scratch[1]
    n = agents.alive.shape[0]
    m = npcs.alive.shape[0]
    item_type, item_level, quantity = world.items.type, world.items.level, world.items.quantity
    equipment = world.holdings.equipment
    weapon, ammo = rules.item.weapon_damage, rules.item.ammo_damage
    count = shuffled_alive(agents.alive, order, rng)
    for k in range(count):
        i = order[k]
        dealt[i] = -1
        style = styles[i]
        target = targets[i]
        if style <= 0 or style > N_STYLES or target < 0 or target == i or target >= n + m:
            continue
        reach = rules.derived.style_range[style - 1]
        attack_level = agents.level[i, STYLE_SKILL[style]]
        r = agents.r[i]
        c = agents.c[i]
        if target < n:
            t = target
            if (
                not agents.alive[t]
                or agents.health[t] <= 0
                or now - agents.spawn_tick[t] <= rules.combat.spawn_immunity
                or distance(r, c, agents.r[t], agents.c[t]) > reach
            ):
                continue
            bonus = block = 0
            if rules.item.enabled:  # the attack happens: equipment counts, ammunition is used
                bonus = attack_bonus(item_type, item_level, quantity, equipment, i, style, weapon, ammo)
                block = armour_block(item_level, equipment, t, rules.item.armour_block)
            damage = roll_damage(style, attack_level, agents.level[t, Skill.DEFENCE], agents.style[t],
                                 agents.health[t], not rules.vitals.immortal, bonus, block, rng,
                                 rules)  # fmt: skip
            killed = take_hit(agents.health, agents.freeze_until, agents.combat_tick, agents.death_cause,
                              agents.killer, t, damage, style, i, now, rules)  # fmt: skip
            log_attack(events, i, agents.agent_id[i], r, c, damage, t, agents.agent_id[t], style, killed,
                       combat_level(agents.level, t))  # fmt: skip
        else:
            j = target - n
            if not npcs.alive[j] or npcs.health[j] <= 0 or distance(r, c, npcs.r[j], npcs.c[j]) > reach:
                continue
            bonus = 0
            if rules.item.enabled:
                bonus = attack_bonus(item_type, item_level, quantity, equipment, i, style, weapon, ammo)
            damage = roll_damage(style, attack_level, npcs.level[j, Skill.DEFENCE], npcs.style[j],
                                 npcs.health[j], True, bonus, 0, rng, rules)  # fmt: skip
            killed = take_hit(npcs.health, npcs.freeze_until, npcs.combat_tick, npcs.death_cause,
                              npcs.killer, j, damage, style, i, now, rules)  # fmt: skip
            log_attack(events, i, agents.agent_id[i], r, c, damage, target, npcs.npc_id[j], style, killed,
                       combat_level(npcs.level, j))  # fmt: skip
            if npcs.behaviour[j] != Behaviour.PASSIVE:
                npcs.target[j] = i
                npcs.target_id[j] = agents.agent_id[i]
        dealt[i] = damage
    if rules.item.enabled:
        drop_spent_ammunition(world.items, world.holdings)
    for k in range(count):
        i = order[k]
        damage = dealt[i]
        if damage < 0:
            continue
        style = styles[i]
        agents.style[i] = style
        agents.combat_tick[i] = now
        r = agents.r[i]
        c = agents.c[i]
        if agents.death_cause[i] == 0:
            aid = agents.agent_id[i]
            gain_xp(
                agents.xp,
                agents.level,
                agents.max_health,
                i,
                STYLE_SKILL[style],
                rules.progression.xp_per_damage,
                damage,
                aid,
                r,
                c,
                events,
                rules,
            )
            gain_xp(
                agents.xp,
                agents.level,
                agents.max_health,
                i,
                Skill.CONSTITUTION,
                rules.progression.constitution_xp_per_damage,
                damage,
                aid,
                r,
                c,
                events,
                rules,
            )
        t = targets[i]
        if t < n and agents.death_cause[t] == 0:
            gain_xp(
                agents.xp,
                agents.level,
                agents.max_health,
                t,
                Skill.DEFENCE,
                rules.progression.defence_xp_per_damage,
                damage,
                agents.agent_id[t],
                agents.r[t],
                agents.c[t],
                events,
                rules,
            )
