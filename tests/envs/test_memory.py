"""The memory a config needs: the estimate is the bytes a VecEnv allocates, and a config over the
allowed share of the machine is refused before anything is allocated, unless the user says so."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neural_mmo.config import Config, ConfigError
from neural_mmo.envs import memory
from neural_mmo.envs.memory import (
    ENV_VAR,
    MemoryLimitError,
    check_memory,
    estimate_memory,
    format_bytes,
    world_bytes,
)
from neural_mmo.envs.multiprocess import MultiprocessVecEnv
from neural_mmo.envs.parallel import parallel_env
from neural_mmo.envs.vector import VecEnv
from neural_mmo.world.state import WorldState

SMALL = Config.preset("small").override({"map.size": 16, "spawn.n_agents": 8, "npc.n_npcs": 4})
OTHER = Config().override(
    {"map.size": 23, "map.border": 9, "observe.vision_radius": 8, "spawn.n_agents": 5, "npc.n_npcs": 0}
)


@pytest.fixture(autouse=True)
def _default_share(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def _nbytes(value) -> int:
    """Bytes of the arrays in ``value``: an array, or a record (tuple) of arrays."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return 0


def _state_nbytes(state: WorldState) -> int:
    """Every array a WorldState holds, found by walking its attributes (``world`` is a second
    view of the same parts, not more memory)."""
    return sum(_nbytes(v) for name, v in vars(state).items() if name not in ("world", "rules", "config"))


def _buffer_nbytes(vec: VecEnv) -> int:
    arrays = [*vec.observations.values(), vec.rewards, vec.terminations, vec.truncations, vec.alive,
              vec.agent_id, vec.spawned, vec.invalid_actions, vec.episode_done, vec.event_counts,
              vec.death_causes, vec.action_buffer]  # fmt: skip
    return sum(a.nbytes for a in arrays)


@pytest.mark.parametrize("config", [SMALL, OTHER], ids=["small", "no-npcs"])
@pytest.mark.parametrize("worlds", [1, 3])
def test_the_estimate_is_the_bytes_a_vecenv_allocates(config, worlds):
    vec = VecEnv(worlds, config=config)
    estimate = estimate_memory(config, worlds)
    assert estimate.num_worlds == worlds
    assert estimate.buffers * worlds == _buffer_nbytes(vec)
    assert estimate.world * worlds == sum(_state_nbytes(w) for w in vec.worlds)
    assert estimate.total == _buffer_nbytes(vec) + sum(_state_nbytes(w) for w in vec.worlds)
    assert estimate.per_world * worlds == estimate.total


@pytest.mark.parametrize("size", [1, 2, 5, 37, 100])
def test_the_world_size_extrapolated_from_small_maps_is_exact(size):
    config = SMALL.override({"map.size": size})
    assert world_bytes(config) == _state_nbytes(WorldState.allocate(config))


def test_rules_tied_to_the_map_size_do_not_stop_the_probes():
    """A fog whose safe square is wider than the 2-4 tile probe maps still gets an exact size."""
    config = SMALL.override({"fog.enabled": True, "fog.min_safe": 12})
    assert world_bytes(config) == _state_nbytes(WorldState.allocate(config))


def test_the_largest_config_is_sized_without_allocating_it():
    largest = Config().override({"map.size": 4096, "map.border": 64, "spawn.n_agents": 65_536,
                                 "npc.n_npcs": 65_536, "observe.vision_radius": 32,
                                 "observe.n_entities": 1024})  # fmt: skip
    estimate = estimate_memory(largest)
    assert estimate.buffers > 3 * 2**30  # the 3.6 GiB of observation buffers per world
    assert estimate.world > largest.grid_side**2 * (1 + 4 + 4 + 8)  # material, occupant, regrowth queue


def test_a_config_over_the_share_is_refused_naming_needed_allowed_and_the_override(monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: 100_000)
    needed = estimate_memory(SMALL, 2).total
    assert needed > 50_000  # half of the pretended machine
    with pytest.raises(MemoryLimitError) as err:
        VecEnv(2, config=SMALL)
    message = str(err.value)
    assert f"{needed:,} bytes" in message and "50,000 bytes" in message
    assert "memory_limit=0.5" in message and ENV_VAR in message and "math.inf" in message
    assert isinstance(err.value, ConfigError)


def test_the_override_lets_it_through(monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: 100_000)
    assert VecEnv(2, config=SMALL, memory_limit=math.inf).num_worlds == 2
    assert VecEnv(2, config=SMALL, memory_limit=1000.0).num_worlds == 2
    monkeypatch.setenv(ENV_VAR, "inf")
    assert VecEnv(2, config=SMALL).num_worlds == 2


def test_a_limit_set_low_refuses_every_entry_point():
    tiny = 1e-9  # of this machine's memory: a few bytes
    with pytest.raises(MemoryLimitError):
        VecEnv(1, config=SMALL, memory_limit=tiny)
    with pytest.raises(MemoryLimitError):
        parallel_env(config=SMALL, memory_limit=tiny)
    with pytest.raises(MemoryLimitError):
        MultiprocessVecEnv(2, config=SMALL, num_workers=1, memory_limit=tiny)
    assert parallel_env(config=SMALL, memory_limit=1.0).config == SMALL


def test_the_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1e-9")
    with pytest.raises(MemoryLimitError, match="memory_limit=1e-09"):
        VecEnv(1, config=SMALL)
    assert VecEnv(1, config=SMALL, memory_limit=1.0).num_worlds == 1  # the keyword wins
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(ConfigError, match=ENV_VAR):
        VecEnv(1, config=SMALL)


@pytest.mark.parametrize("bad", [0, -0.5, True, "0.5", float("nan")])
def test_a_bad_limit_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="memory_limit"):
        check_memory(SMALL, 1, bad)


def test_bytes_read_as_people_say_them():
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30 + 2**29) == "3.5 GiB"
    assert format_bytes(5 * 2**40) == "5 TiB"
