"""Helpers shared by the test modules (imported as ``_support``)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.testing import Scenario
from neural_mmo.world.events import EventLog
from neural_mmo.world.geometry import nearest_first
from neural_mmo.world.items import Holdings, ItemTable
from neural_mmo.world.materials import Material
from neural_mmo.world.rng import Stream
from neural_mmo.world.rules import make_rules, replace_rules
from neural_mmo.world.state import Clock, ExchangeWork, Market, Professions, RegrowthQueue, World, ring_tiles
from neural_mmo.world.tables import AgentTable, NpcTable

GRASS_8 = "\n".join(["........"] * 8)


def grass(n: int = 8) -> list[list[str]]:
    """An ``n x n`` grass drawing as a mutable grid of characters."""
    return [["."] * n for _ in range(n)]


def draw(grid: list[list[str]]) -> str:
    return "\n".join("".join(row) for row in grid)


def make_scenario(drawing: str, seed: int = 0, **overrides: Any) -> Scenario:
    """A :class:`Scenario` whose world runs on ``seed`` (the movement order and regrowth draws)."""
    return Scenario(drawing, seed=seed, **overrides)


def rules(**fields: Any) -> Any:
    """Kernel rules: those of the default :class:`Config` with ``group__field`` values replaced
    (unvalidated, so kernels can be probed outside the config's bounds)."""
    return replace_rules(make_rules(Config()), **fields)


def load_world(
    config: Config, inner: np.ndarray, placements: np.ndarray | list, seed: int = 0, autoreset: bool = True
) -> VecEnv:
    """A one-world VecEnv on the playable-area materials ``inner`` with agents at playable ``placements``."""
    vec = VecEnv(1, config=config, seed=seed, autoreset=autoreset)
    b = config.map.border
    material = np.full((config.grid_side, config.grid_side), Material.LAVA, np.uint8)
    n = inner.shape[0]
    material[b : b + n, b : b + n] = inner
    vec.load(0, material, np.asarray(placements, np.int64).reshape(-1, 2) + b)
    return vec


def ring_set(config: Config) -> set[tuple[int, int]]:
    """Grid coordinates of the playable area's outer ring."""
    return {(int(r), int(c)) for r, c in ring_tiles(config.map.border, config.map.size)}


def reach_of(cfg: Config, style: int) -> int:
    """The configured reach of a style (1 melee, 2 range, 3 mage)."""
    name = {1: "melee", 2: "range", 3: "mage"}[int(style)]
    return int(getattr(cfg.combat, f"{name}_range"))


def chance_reference(cfg: Config, attack: int, defence: int) -> float:
    """The documented hit chance: ``1 - (d + 2) / (2 (a + 1))`` if ``a > d``, else ``a / (2 (d + 1))``."""
    a = attack + cfg.combat.roll_bonus
    d = defence + cfg.combat.roll_bonus
    return 1 - (d + 2) / (2 * (a + 1)) if a > d else a / (2 * (d + 1))


def damage_reference(cfg: Config, style: int, attack: int, defence: int, weak: bool) -> int:
    """The documented damage of a hit, in exact arithmetic:
    ``max(1, floor((base + per_99 A / 99) w (1 - defence_reduction D / 99)))``."""
    cb = cfg.combat
    name = {1: "melee", 2: "range", 3: "mage"}[int(style)]
    base = Fraction(str(getattr(cb, f"{name}_damage")))
    per_99 = Fraction(str(getattr(cb, f"{name}_damage_per_99")))
    w = Fraction(str(cb.weakness_multiplier)) if weak else Fraction(1)
    reduction = Fraction(str(cb.defence_reduction))
    raw = (base + per_99 * attack / 99) * w * (1 - reduction * defence / 99)
    return max(1, math.floor(raw))


def binomial_tolerance(n: int, p: float, sigmas: float = 5.0) -> float:
    """Allowed deviation of a binomial count from ``n * p``."""
    return sigmas * math.sqrt(max(n * p * (1 - p), 1e-12)) + 1.0


def events_of(state: Any, kind: str) -> list[dict[str, int]]:
    return [e for e in state.events.rows() if e["kind"] == kind]


M64 = (1 << 64) - 1


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & M64


class PyStream:
    """Plain-Python xoshiro256** with the draws of :mod:`neural_mmo.world.rng` (a reference for kernels)."""

    def __init__(self, state: Any):
        self.s = [int(x) for x in np.asarray(state, np.uint64).tolist()]

    def next_u64(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform(self) -> float:
        return float(self.next_u64() >> 11) * (1.0 / 2**53)

    def below(self, n: int) -> int:
        return min(int(self.uniform() * n), n - 1)

    def geometric(self, p: float) -> int:
        trials = math.log1p(-self.uniform()) / math.log1p(-p)
        return 4 * 10**18 if trials >= 4.0e18 else 1 + math.floor(trials)

    def state(self) -> list[int]:
        return list(self.s)


def stream(seed: int) -> np.ndarray:
    """A fresh kernel stream (``uint64 [4]``, never all zero) from an int."""
    state = np.random.SeedSequence(seed).generate_state(4, np.uint64)
    if not state.any():
        state[0] = 1
    return state


def world_of(
    material: np.ndarray,
    now: int = 0,
    streams: dict[Stream, np.ndarray] | None = None,
    **parts: Any,
) -> World:
    """A :data:`World` record (what systems take) around hand-made parts, the arrays passed in
    themselves (so a test reads back what the system wrote); every part not given is empty.
    ``now`` is the clock's tick unless a ``clock`` is given; ``streams`` seeds the named random
    streams (read them back from ``world.streams[stream]``)."""
    side = material.shape[0]
    agents = parts.get("agents", AgentTable.empty(1))
    clock = np.zeros(len(Clock), np.int64)
    clock[Clock.TICK] = now
    all_streams = np.zeros((len(Stream), 4), np.uint64)
    for stream, state in (streams or {}).items():
        all_streams[stream] = state
    defaults = dict(
        clock=clock,
        streams=all_streams,
        material=material,
        occupant=np.full((side, side), -1, np.int32),
        agents=agents,
        npcs=NpcTable.empty(1),
        items=ItemTable.empty(0),
        holdings=Holdings.empty(agents.capacity, 0, 0),
        item_ids=np.zeros(0, np.int64),
        professions=Professions.empty(agents.capacity, False),
        gold=np.zeros(0, np.int64),
        market=Market(np.zeros(0, np.int32), np.zeros(0, np.int32)),
        exchange_work=ExchangeWork(*(np.zeros(0, np.int32) for _ in ExchangeWork._fields)),
        regrowth=RegrowthQueue.empty(side),
        events=EventLog.empty(16 * agents.capacity + 16),
        closed_rings=np.zeros(1, np.int64),
        edge_tiles=np.zeros((0, 2), np.int16),
        npc_offsets=nearest_first(1),
        scratch=np.zeros((2, agents.capacity), np.int32),
        npc_search=np.zeros((2, 9), np.int32),
    )
    unknown = set(parts) - set(defaults)
    if unknown:
        raise TypeError(f"World has no parts {sorted(unknown)}")
    return World(**{**defaults, **parts})


def commands_of(
    moves: Any = None, styles: Any = None, targets: Any = None, n: int | None = None
) -> np.ndarray:
    """Command rows (``int32 [n, len(Command)]``) from per-slot moves, styles and targets."""
    from neural_mmo.world.commands import NO_COMMAND, Command

    given = [np.asarray(x) for x in (moves, styles, targets) if x is not None]
    n = len(given[0]) if n is None else n
    out = np.tile(np.array(NO_COMMAND, np.int32), (n, 1))
    for column, values in ((Command.MOVE, moves), (Command.STYLE, styles), (Command.TARGET, targets)):
        if values is not None:
            out[:, column] = values
    return out


DUEL = """
.....
.01..
.....
.....
.....
"""
"""Two agents side by side (slots 0 and 1), for rules about one killing the other."""


def kill_agent(sc: Scenario, killer: int, victim: int) -> None:
    """Agent ``killer`` (melee 99) strikes agent ``victim`` (left at 1 health) until it dies."""
    from neural_mmo.world.tables import Skill
    from neural_mmo.world.vocabulary import Style

    sc.state.agents.level[killer, Skill.MELEE] = 99
    sc.state.agents.health[victim] = 1
    for _ in range(100):
        if not sc.state.agents.alive[victim]:
            return
        sc.step(attacks={killer: (Style.MELEE, victim)})
    raise AssertionError("the victim survived 100 attacks")


def give_item(sc: Scenario, slot: int, item: int, level: int, quantity: int = 1) -> int:
    """Put ``quantity`` new items of type ``item`` at ``level`` in agent ``slot``'s inventory (the
    row, which must fit) and rewrite the observations."""
    from neural_mmo.world.items import create_item

    s = sc.state
    k = create_item(s.items, s.holdings, s.item_ids, slot, item, level, quantity, sc.config.item.max_stack)
    assert k >= 0
    sc.refresh()
    return k
