"""The Fighter: forages like the Forager, and fights whenever a fight looks worth it.

Per agent, per tick:

* **attack**: among the entities the attack mask allows, it picks the one with the least health
  (ties: the nearest row), skipping entities whose combat level exceeds its own by more than
  ``level_margin`` unless both it and they are in combat (then it fights back); it uses the allowed
  style in which it has the highest level (ties: melee, then range, then mage, the order of
  their damage).
  Under automatic targeting (``combat.auto_target``: the world picks the target) it names the
  style alone, whenever one is allowed, and moves as the Forager does.
* **move**: while food and water are both above ``hunt_above`` of their max and an attackable
  entity of no higher combat level is in view but out of reach, it steps toward it (never onto
  lava); otherwise it moves as the Forager does.
"""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.agents.forager import ForagerPolicy
from neural_mmo.observe.heads import ActionHead, attack_value_of
from neural_mmo.observe.layout import EntityColumn as E
from neural_mmo.observe.layout import EntityKind, TileChannel
from neural_mmo.world.materials import DEADLY
from neural_mmo.world.systems.combat import N_STYLES
from neural_mmo.world.systems.movement import DC, DR, N_DIRECTIONS


@numba.njit(cache=True)
def fight_actions(
    tiles: np.ndarray,
    entities: np.ndarray,
    entity_mask: np.ndarray,
    action_mask: np.ndarray,
    move_offset: int,
    attack_offset: int,
    max_food: float,
    max_water: float,
    hunt_above: float,
    level_margin: int,
    out: np.ndarray,
) -> None:
    """Write the attack head of ``out``, and overwrite its move head when hunting (module docs)."""
    n_rows = entities.shape[1]
    centre = tiles.shape[1] // 2
    for i in range(entities.shape[0]):
        out[i, ActionHead.ATTACK] = 0
        if entities[i, 0, E.KIND] != EntityKind.PLAYER:
            continue
        own_level = entities[i, 0, E.LEVEL]
        best_row = -1
        best_health = 1 << 30
        for k in range(1, n_rows):
            if entity_mask[i, k] == 0:
                continue
            reachable = False
            for s in range(N_STYLES):
                reachable = (
                    reachable or action_mask[i, attack_offset + attack_value_of(s + 1, k, n_rows)] != 0
                )
            if not reachable:
                continue
            too_strong = entities[i, k, E.LEVEL] > own_level + level_margin
            if too_strong and not (entities[i, k, E.IN_COMBAT] and entities[i, 0, E.IN_COMBAT]):
                continue
            if entities[i, k, E.HEALTH] < best_health:
                best_health = entities[i, k, E.HEALTH]
                best_row = k
        if best_row >= 0:
            best_style = -1
            for s in range(N_STYLES):
                if action_mask[i, attack_offset + attack_value_of(s + 1, best_row, n_rows)] == 0:
                    continue
                if best_style < 0 or entities[i, 0, E.MELEE + s] > entities[i, 0, E.MELEE + best_style]:
                    best_style = s
            out[i, ActionHead.ATTACK] = attack_value_of(best_style + 1, best_row, n_rows)
            continue
        fed = (
            entities[i, 0, E.FOOD] > hunt_above * max_food
            and entities[i, 0, E.WATER] > hunt_above * max_water
        )
        if not fed:
            continue
        prey = -1
        for k in range(1, n_rows):
            if entity_mask[i, k] == 0 or entities[i, k, E.IMMUNE] > 0:
                continue
            if entities[i, k, E.LEVEL] <= own_level:
                prey = k
                break
        if prey < 0:
            continue
        dr = entities[i, prey, E.REL_ROW]
        dc = entities[i, prey, E.REL_COL]
        best_move = 0
        best_gap = max(abs(dr), abs(dc))
        for d in range(1, N_DIRECTIONS):
            if action_mask[i, move_offset + d] == 0:
                continue
            if DEADLY[tiles[i, centre + DR[d], centre + DC[d], TileChannel.MATERIAL]]:
                continue
            gap = max(abs(dr - DR[d]), abs(dc - DC[d]))
            if gap < best_gap:
                best_gap = gap
                best_move = d
        if best_move > 0:
            out[i, ActionHead.MOVE] = best_move


@numba.njit(cache=True)
def style_actions(entities: np.ndarray, action_mask: np.ndarray, attack_offset: int, out: np.ndarray) -> None:
    """The attack head of ``out`` under automatic targeting (a style-only head; the world picks the
    target): the allowed style in which the agent has the highest level (ties: melee, range, mage)."""
    for i in range(entities.shape[0]):
        out[i, ActionHead.ATTACK] = 0
        if entities[i, 0, E.KIND] != EntityKind.PLAYER:
            continue
        best_style = -1
        for s in range(N_STYLES):
            if action_mask[i, attack_offset + 1 + s] == 0:
                continue
            if best_style < 0 or entities[i, 0, E.MELEE + s] > entities[i, 0, E.MELEE + best_style]:
                best_style = s
        out[i, ActionHead.ATTACK] = best_style + 1


class FighterPolicy(ForagerPolicy):
    """Forages, attacks the weakest entity in reach, and hunts weaker ones when fed."""

    name = "fighter"

    def __init__(self, layout, seed: int = 0, hunt_above: float = 0.6, level_margin: int = 3):
        super().__init__(layout, seed)
        self.hunt_above = hunt_above
        self.level_margin = level_margin

    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        out = super().act(observations)
        v = self.layout.config.vitals
        offsets = self.layout.action_offsets
        if self.layout.config.combat.auto_target:
            style_actions(observations["entities"], observations["action_mask"],
                          int(offsets[ActionHead.ATTACK]), out)  # fmt: skip
            return out
        fight_actions(
            observations["tiles"], observations["entities"], observations["entity_mask"],
            observations["action_mask"], int(offsets[ActionHead.MOVE]), int(offsets[ActionHead.ATTACK]),
            float(v.max_food), float(v.max_water), self.hunt_above, self.level_margin, out,
        )  # fmt: skip
        return out
