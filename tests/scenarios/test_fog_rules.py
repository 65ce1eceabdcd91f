"""The death fog on drawn maps: where it stands each tick, damage, FOG deaths, no spawns in it,
determinism, invariants, and nothing changes while it is off."""

from __future__ import annotations

import hashlib

import numpy as np
from _support import make_scenario

from neural_mmo.agents import RandomPolicy
from neural_mmo.config import Config
from neural_mmo.envs.vector import VecEnv
from neural_mmo.testing import check_invariants
from neural_mmo.testing.scenario import remove_all_npcs
from neural_mmo.viewer.frames import encode_body
from neural_mmo.world.events import DeathCause, EventKind
from neural_mmo.world.state import Clock
from neural_mmo.world.systems.fog import close_fog, in_fog, safe_bounds
from neural_mmo.world.systems.npc import spawn_npcs

MAP = """
0.......
...1....
........
...2....
........
........
........
........
"""

STILL = {"vitals__regen_fraction": 0.0, "vitals__food_decay": 0, "vitals__water_decay": 0}
"""No hunger, thirst or healing: health changes only by the fog."""


def fog(**values):
    return {"fog__enabled": True, **{f"fog__{k}": v for k, v in values.items()}, **STILL}


def health(sc):
    return [int(h) for h in sc.state.agents.health]


def test_the_fog_closes_ring_by_ring_and_hurts_who_stands_in_it():
    sc = make_scenario(MAP, **fog(start_tick=1, speed=1.0, damage=30, min_safe=2))
    seen = []
    for _ in range(4):
        sc.step()
        seen.append((sc.state.tick, health(sc), sc.vec.observations["fog"].tolist()))
    assert seen == [
        (1, [100, 100, 100], [[0, 1], [1, 1], [3, 1]]),  # depth 0; the first ring comes next tick
        (2, [70, 100, 100], [[-2, 1], [0, 1], [2, 1]]),  # ring 0 fogged: slot 0 in it, 2 moves out
        (3, [40, 70, 100], [[-4, 1], [-1, 1], [1, 1]]),  # ring 1 fogged
        (4, [10, 40, 100], [[-6, 0], [-2, 0], [0, 0]]),  # ring 2: the safe square is 2 x 2, final
    ]
    sc.step()
    deaths = sc.events(EventKind.DEATH)
    assert [(e["slot"], e["value"], e["other"]) for e in deaths] == [(0, DeathCause.FOG, -1)]
    assert sc.agent(0)["death_cause"] == DeathCause.FOG and not sc.agent(0)["alive"]
    assert sc.vec.terminations.tolist() == [True, False, False]
    assert sc.vec.death_causes[0, DeathCause.FOG] == 1
    assert health(sc) == [0, 10, 100]


def test_a_fractional_speed_fogs_a_ring_every_few_ticks():
    sc = make_scenario(MAP, **fog(start_tick=0, speed=0.5, damage=5, min_safe=2))
    timeline = []
    for _ in range(7):
        sc.step()
        timeline.append(health(sc)[:2])
    # depth floor(t / 2): ring 0 from tick 2, ring 1 from tick 4
    assert timeline == [[100, 100], [95, 100], [90, 100], [85, 95], [80, 90], [75, 85], [70, 80]]


def test_immortal_agents_stay_at_one_health_in_the_fog():
    sc = make_scenario(MAP, immortal=True, **fog(start_tick=0, speed=1.0, damage=40, min_safe=2))
    sc.run(6)
    assert health(sc) == [1, 1, 100]
    assert sc.state.agents.alive.all() and not sc.vec.death_causes.any()


def test_fog_off_changes_nothing_on_a_drawn_map():
    off = make_scenario(MAP, **STILL, fog__start_tick=0, fog__speed=3.0, fog__damage=90)
    off.run(5)
    assert health(off) == [100, 100, 100]
    assert "fog" not in off.vec.observations


def test_the_viewer_frame_shades_the_fogged_bands_only_with_the_fog_on():
    sc = make_scenario(MAP, **fog(start_tick=0, speed=1.0, damage=1, min_safe=2))
    assert "areas" not in encode_body(sc.state)  # tick 0: the fog has not started
    sc.run(2)
    b = sc.border  # playable rows and columns b .. b + 7; safe square b + 2 .. b + 5
    bands = [[b, b, 2, 8], [b + 6, b, 2, 8], [b + 2, b, 4, 2], [b + 2, b + 6, 4, 2]]
    assert encode_body(sc.state)["areas"] == {"fog": bands}
    covered = np.zeros((b + 8, b + 8), bool)
    for r, c, rows, cols in bands:
        assert not covered[r : r + rows, c : c + cols].any()  # the bands do not overlap ...
        covered[r : r + rows, c : c + cols] = True
    assert covered.sum() == 8 * 8 - 4 * 4  # ... and cover exactly the playable area outside the square
    assert not covered[b + 2 : b + 6, b + 2 : b + 6].any()
    assert "areas" not in encode_body(make_scenario(MAP).state)


def continuous(seed=0, **fog_values):
    cfg = Config.preset("small").override(
        {"map.size": 16, "spawn.n_agents": 24, "spawn.mode": "continuous", "spawn.min_alive": 4,
         "npc.n_npcs": 6, "episode.horizon": 10_000, "fog.enabled": True,
         **{f"fog.{k}": v for k, v in fog_values.items()}}
    )  # fmt: skip
    return VecEnv(1, config=cfg, seed=seed)


def test_nobody_spawns_in_the_fog_in_continuous_mode():
    vec = continuous(start_tick=30, speed=0.25, damage=25, min_safe=4)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=1)
    state = vec.worlds[0]
    spawned_before = spawned_after = 0
    space = vec.observation_space["fog"]
    for _ in range(120):
        obs, *_ = vec.step(policy.act(obs))
        check_invariants(state)
        assert all(space.contains(row) for row in obs["fog"])
        lo, hi = safe_bounds(state.tick, state.rules)
        for e in state.events.rows():
            if e["kind"] in ("SPAWN", "NPC_SPAWN"):
                assert not in_fog(e["r"], e["c"], lo, hi), (state.tick, e)
            if e["kind"] == "SPAWN":
                if lo == state.config.map.border:
                    spawned_before += 1
                else:
                    spawned_after += 1
    assert spawned_before > 4  # the test saw spawns before the fog came ...
    assert spawned_after == 0  # ... and none once it covered the edge ring, min_alive or not
    assert vec.death_causes[0, DeathCause.FOG] > 0


def test_npcs_respawn_only_inside_the_safe_square():
    vec = continuous(start_tick=0, speed=1.0, damage=1, min_safe=6)
    vec.reset()
    state = vec.worlds[0]
    remove_all_npcs(state)
    state.clock[Clock.TICK] = 3  # three rings fogged
    close_fog(state.world, state.rules)  # as in the tick: the fog closes its rings to spawning
    assert state.closed_rings[0] == 3
    spawn_npcs(state.world, 400, state.rules)
    lo, hi = safe_bounds(3, state.rules)
    npcs = state.npcs
    placed = np.flatnonzero(npcs.alive)
    assert len(placed) == npcs.capacity
    assert all(lo <= npcs.r[j] <= hi and lo <= npcs.c[j] <= hi for j in placed)


def digest(seed, ticks=150, **overrides):
    vec = VecEnv(1, "small", seed=seed, **overrides)
    obs, _ = vec.reset()
    policy = RandomPolicy(vec.layout, seed=3)
    h = hashlib.sha256()
    for _ in range(ticks):
        obs, rewards, *_ = vec.step(policy.act(obs))
        for key in sorted(obs):
            h.update(obs[key].tobytes())
        h.update(rewards.tobytes())
        h.update(vec.worlds[0].state_hash().encode())
    return h.hexdigest(), vec.death_causes[0].tolist()


FOG_ON = {"fog__enabled": True, "fog__start_tick": 20, "fog__speed": 0.3, "fog__damage": 15,
          "fog__min_safe": 6}  # fmt: skip


def test_fog_runs_are_deterministic_and_follow_the_seed():
    first, causes = digest(4, **FOG_ON)
    again, _ = digest(4, **FOG_ON)
    other, _ = digest(5, **FOG_ON)
    assert first == again
    assert first != other
    assert causes[DeathCause.FOG] > 0  # the fog did its work in this run


def test_settings_of_a_disabled_fog_leave_the_world_as_without_it():
    plain = digest(4, ticks=60)
    disabled = digest(4, ticks=60, fog__start_tick=0, fog__speed=7.0, fog__damage=99, fog__min_safe=2)
    assert plain == disabled
    assert plain[1][DeathCause.FOG] == 0
