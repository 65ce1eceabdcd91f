"""The ordered tick: reset semantics and the order in which systems see each other's effects."""

from __future__ import annotations

import numpy as np
import pytest
from _support import PyStream

from neural_mmo.config import Config
from neural_mmo.testing import check_invariants
from neural_mmo.world.commands import NO_COMMAND, Command
from neural_mmo.world.events import DeathCause
from neural_mmo.world.materials import Material
from neural_mmo.world.rng import Stream, episode_seed, system_streams, terrain_generator
from neural_mmo.world.rules import make_rules
from neural_mmo.world.state import Clock, WorldState
from neural_mmo.world.step import commands_for, reset, step, tick
from neural_mmo.world.terrain import generate_terrain
from neural_mmo.world.vocabulary import Direction


def world(size=8, n_agents=4, n_npcs=0, **overrides):
    """A small world; without NPCs unless ``n_npcs`` says (most rules here are about agents alone)."""
    base = {"map.size": size, "spawn.n_agents": n_agents, "spawn.mode": "concurrent", "npc.n_npcs": n_npcs}
    cfg = Config.preset("small").override({**base, **overrides})
    return WorldState.allocate(cfg)


def blank(state, inner=Material.GRASS):
    cfg = state.config
    b, n = cfg.map.border, cfg.map.size
    material = np.full((cfg.grid_side, cfg.grid_side), Material.LAVA, np.uint8)
    material[b : b + n, b : b + n] = inner
    return material


def actions(state, moves=None):
    """No-op commands, with ``moves`` ({slot: Direction}) in the move column."""
    a = commands_for(state)
    for slot, d in (moves or {}).items():
        a[slot, Command.MOVE] = d
    return a


def random_commands(state, rng):
    """Random moves and random attacks (any style, any entity number or none)."""
    n = state.agents.capacity
    a = commands_for(state, rng.integers(0, 5, size=n))
    a[:, Command.STYLE] = rng.integers(0, 4, size=n)
    a[:, Command.TARGET] = rng.integers(-1, n + state.npcs.capacity, size=n)
    return a


def test_reset_generates_the_terrain_of_the_seed_and_clears_the_previous_episode():
    state = world(size=16, n_agents=6, n_npcs=5, **{"spawn.mode": "concurrent"})
    seq = episode_seed(3, 0, 0)
    reset(state, seq)
    assert (state.material == generate_terrain(state.config, terrain_generator(seq))).all()
    assert state.tick == 0 and state.n_alive == 6 and state.next_agent_id == 6
    n_npcs = int(np.count_nonzero(state.npcs.alive))
    assert n_npcs == 5 and state.clock[Clock.NEXT_NPC_ID] == 5  # 4 n_npcs attempts on a 16x16 map
    assert [e["kind"] for e in state.events.rows()] == ["SPAWN"] * 6 + ["NPC_SPAWN"] * 5  # agents first
    rng = np.random.default_rng(0)
    for _ in range(5):
        step(state, random_commands(state, rng))
    reset(state, episode_seed(4, 0, 0))
    assert state.tick == 0 and state.next_agent_id == 6 and state.n_alive == 6
    assert state.clock[Clock.NEXT_NPC_ID] == np.count_nonzero(state.npcs.alive) == 5
    assert (state.agents.death_tick == -1).all() and (state.npcs.death_tick == -1).all()
    assert np.count_nonzero(state.occupant >= 0) == 6 + 5
    assert sorted(state.occupant[state.occupant >= 0].tolist()) == list(range(6 + 5))
    check_invariants(state)


def test_reset_with_placements_and_material():
    state = world()
    b = state.config.map.border
    placements = np.array([[b, b], [b + 3, b + 4]])
    reset(state, episode_seed(0, 0, 0), blank(state), placements)
    assert state.n_alive == 2 and state.next_agent_id == 2
    assert state.occupant[b, b] == 0 and state.occupant[b + 3, b + 4] == 1
    assert (state.material == blank(state)).all()


def test_continuous_reset_spawns_at_tick_zero():
    state = world(
        size=16,
        n_agents=10,
        **{"spawn.mode": "continuous", "spawn.attempts_per_tick": 3, "spawn.min_alive": 2},
    )
    reset(state, episode_seed(0, 0, 0), blank(state))
    assert 2 <= state.n_alive <= 3
    assert (state.agents.spawn_tick[state.agents.alive] == 0).all()


def test_eating_comes_before_decay_and_regrowth_after_eating():
    state = world(**{"resources.food_regrow_prob": 1.0, "resources.food_restore": 7, "vitals.food_decay": 3})
    b = state.config.map.border
    material = blank(state)
    material[b, b + 1] = Material.FOREST
    reset(state, episode_seed(0, 0, 0), material, np.array([[b, b]]))
    v = state.config.vitals
    restore, decay = state.config.resources.food_restore, v.food_decay
    state.agents.food[0] = v.max_food - 4  # 4 below the cap: the order of eating and decay shows
    step(state, actions(state, {0: Direction.EAST}))
    after_meal = min(v.max_food, v.max_food - 4 + restore) - decay  # eat (capped), then decay
    assert after_meal != min(v.max_food, v.max_food - 4 - decay + restore)  # the other order differs
    assert state.agents.food[0] == after_meal
    assert state.material[b, b + 1] == Material.SCRUB
    step(state, actions(state))
    assert state.material[b, b + 1] == Material.FOREST
    assert state.agents.food[0] == after_meal - decay  # standing on scrub at the start of the tick: no meal


def test_an_agent_killed_by_lava_neither_drinks_nor_decays():
    state = world()
    b = state.config.map.border
    material = blank(state)
    material[b + 2, b + 3] = Material.LAVA
    material[b + 1, b + 3] = Material.WATER
    reset(state, episode_seed(0, 0, 0), material, np.array([[b + 2, b + 2]]))
    state.agents.water[0] = 20
    step(state, actions(state, {0: Direction.EAST}))
    assert not state.agents.alive[0]
    assert state.agents.water[0] == 20 and state.agents.food[0] == state.config.vitals.max_food
    assert [e["kind"] for e in state.events.rows()] == ["MOVE", "DEATH"]
    assert state.agents.death_cause[0] == DeathCause.LAVA and state.agents.death_tick[0] == 1


def test_a_slot_freed_this_tick_is_not_refilled_this_tick():
    state = world(
        n_agents=2, **{"spawn.mode": "continuous", "spawn.attempts_per_tick": 0, "spawn.min_alive": 2}
    )
    b = state.config.map.border
    material = blank(state)
    reset(state, episode_seed(0, 0, 0), material)
    assert state.n_alive == 2
    victim = int(np.flatnonzero(state.agents.alive)[0])
    state.material[state.agents.r[victim], state.agents.c[victim] + 1] = Material.LAVA
    state.material[b + 3, b + 3] = Material.GRASS
    step(state, actions(state, {victim: Direction.EAST}))
    assert not state.agents.alive[victim] and state.n_alive == 1
    step(state, actions(state))
    assert state.agents.alive[victim] and state.n_alive == 2
    assert state.agents.agent_id[victim] == 2 and state.agents.spawn_tick[victim] == 2


@pytest.mark.parametrize("mode", ["continuous", "concurrent"])
def test_same_seed_and_actions_give_the_same_world(mode):
    def run(seed):
        state = world(size=16, n_agents=12, n_npcs=8, **{"spawn.mode": mode, "combat.spawn_immunity": 0})
        reset(state, episode_seed(seed, 0, 0))
        rng = np.random.default_rng(0)
        hashes = []
        for _ in range(60):
            step(state, random_commands(state, rng))
            check_invariants(state)
            hashes.append(state.state_hash())
        return hashes

    assert run(1) == run(1)
    assert run(1)[-1] != run(2)[-1]


def test_step_is_one_call_of_the_tick_kernel_over_the_state_arrays():
    overrides = {"spawn.mode": "continuous", "vitals.food_decay": 30, "combat.spawn_immunity": 0}
    a = world(size=16, n_agents=8, n_npcs=6, **overrides)
    b = world(size=16, n_agents=8, n_npcs=6, **overrides)
    reset(a, episode_seed(2, 0, 0))
    reset(b, episode_seed(2, 0, 0))
    assert a.rules == b.rules == make_rules(a.config)
    rng = np.random.default_rng(2)
    kinds = set()
    for t in range(1, 41):
        commands = random_commands(a, rng)
        step(a, commands)
        tick(b.world, commands, b.rules)
        assert a.state_hash() == b.state_hash()
        assert a.events.rows() == b.events.rows()
        assert a.clock[Clock.TICK] == a.tick == t
        kinds |= {e["kind"] for e in a.events.rows()}
    assert {"ATTACK", "MOVE", "DEATH", "SPAWN"} <= kinds  # the commands were fought and walked
    assert a.next_agent_id > 8  # agents starved and new ones spawned through the clock


def test_eating_draws_regrowth_from_the_regrowth_stream_and_moves_from_the_movement_stream():
    p = 0.3
    state = world(n_agents=2, **{"resources.food_regrow_prob": p})
    b = state.config.map.border
    material = blank(state)
    material[b, b + 1] = Material.FOREST
    seq = episode_seed(2, 0, 0)
    reset(state, seq, material, np.array([[b, b], [b + 4, b + 4]]))
    fresh = system_streams(seq)
    assert (state.streams == fresh).all()  # no scrub at reset, nothing placed by the spawn rules
    step(state, actions(state, {0: Direction.EAST}))
    combat = PyStream(fresh[Stream.COMBAT])
    combat.below(2)  # the attack order of two agents (nobody attacks: no hit roll)
    movement = PyStream(fresh[Stream.MOVEMENT])
    movement.below(2)  # the move order of two agents: one draw
    assert state.streams[Stream.COMBAT].tolist() == combat.state()
    assert state.streams[Stream.NPC].tolist() == fresh[Stream.NPC].tolist()  # no NPCs in this world
    regrowth = PyStream(fresh[Stream.REGROWTH])
    wait = regrowth.geometric(p)  # the eaten forest's regrowth wait
    assert state.streams[Stream.MOVEMENT].tolist() == movement.state()
    assert state.streams[Stream.REGROWTH].tolist() == regrowth.state()
    assert state.streams[Stream.SPAWN].tolist() == fresh[Stream.SPAWN].tolist()
    assert state.regrowth.due[b * state.config.grid_side + b + 1] == 1 + wait


def test_each_system_draws_from_its_own_stream():
    state = world(size=16, n_agents=6, n_npcs=4, **{"spawn.mode": "continuous", "spawn.attempts_per_tick": 3})
    seq = episode_seed(1, 0, 0)
    reset(state, seq, blank(state))  # all grass: nothing to regrow
    fresh = system_streams(seq)
    assert state.n_alive >= 2 and state.npcs.alive.any()
    assert (state.streams[Stream.SPAWN] != fresh[Stream.SPAWN]).any()  # the first spawns drew
    assert (state.streams[Stream.NPC] != fresh[Stream.NPC]).any()  # so did the NPC spawns
    assert (state.streams[Stream.MOVEMENT] == fresh[Stream.MOVEMENT]).all()  # nobody moved yet
    assert (state.streams[Stream.COMBAT] == fresh[Stream.COMBAT]).all()  # nobody fought yet
    assert (state.streams[Stream.REGROWTH] == fresh[Stream.REGROWTH]).all()
    step(state, actions(state))
    assert (state.streams[Stream.MOVEMENT] != fresh[Stream.MOVEMENT]).any()  # the move order shuffle
    assert (state.streams[Stream.COMBAT] != fresh[Stream.COMBAT]).any()  # the attack order shuffle
    assert (state.streams[Stream.REGROWTH] == fresh[Stream.REGROWTH]).all()  # no forest eaten


def test_initial_regrowth_waits_come_from_the_regrowth_stream():
    p = 0.2
    state = world(n_agents=2, **{"resources.food_regrow_prob": p})
    b, side = state.config.map.border, state.config.grid_side
    material = blank(state)
    scrub = [(b + 2, b + 3), (b + 5, b + 1)]
    for r, c in scrub:
        material[r, c] = Material.SCRUB
    seq = episode_seed(4, 0, 0)
    reset(state, seq, material, np.array([[b, b]]))
    fresh = system_streams(seq)
    regrowth = PyStream(fresh[Stream.REGROWTH])
    waits = [regrowth.geometric(p) for _ in scrub]  # row-major scan order of the map
    assert state.streams[Stream.REGROWTH].tolist() == regrowth.state()
    assert (state.streams[Stream.SPAWN] == fresh[Stream.SPAWN]).all()
    assert [state.regrowth.due[r * side + c] for r, c in scrub] == waits


def test_commands_for_builds_no_op_rows():
    state = world(n_agents=3)
    commands = commands_for(state)
    assert commands.dtype == np.int32 and commands.shape == (3, len(Command))
    assert (commands[:, [Command.MOVE, Command.STYLE]] == 0).all()
    assert commands[:, Command.TARGET].tolist() == [-1, -1, -1]  # entity 0 is an agent: -1 is "nobody"
    assert commands[:, Command.USE].tolist() == [-1, -1, -1]  # row 0 is the weapon: -1 is "nothing"
    moved = commands_for(state, np.array([Direction.EAST, 0, Direction.WEST]))
    assert moved[:, Command.MOVE].tolist() == [Direction.EAST, 0, Direction.WEST]
    assert moved[:, Command.TARGET].tolist() == [-1, -1, -1]
    assert [(c.name, c.value) for c in Command][:4] == [("MOVE", 0), ("STYLE", 1), ("TARGET", 2), ("USE", 3)]
    assert commands[:, Command.USE :].tolist() == [list(NO_COMMAND[Command.USE :])] * 3
    assert len(NO_COMMAND) == len(Command)


def test_every_system_in_the_step_order_takes_the_named_world():
    """The tick hands each system the world record (and the rules, and the commands where it reads
    them), never positional columns: ``move_agents(world, commands, rules)``."""
    import ast
    import inspect

    from neural_mmo.world import step as step_module

    tree = ast.parse(inspect.getsource(step_module.tick.py_func))
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    systems = [getattr(step_module, name) for name in calls if hasattr(getattr(step_module, name), "py_func")]
    assert len(systems) >= 10
    for system in systems:
        params = list(inspect.signature(system.py_func).parameters)
        assert params[0] == "world", (system.__name__, params)
        assert set(params[1:]) <= {"commands", "rules", "attempts"}, (system.__name__, params)
        assert system.targetoptions.get("inline") == "always", f"{system.__name__} is not inlined"
