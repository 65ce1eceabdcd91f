"""check_env: passes on good configs and catches nondeterminism."""

from __future__ import annotations

import numpy as np
import pytest

from neural_mmo.envs import vector as vector_module
from neural_mmo.testing import EnvCheckError, check_env
from neural_mmo.testing import check as check_module
from neural_mmo.world.rng import Stream


@pytest.mark.parametrize("overrides", [{}, {"spawn__mode": "concurrent", "n_populations": 3}])
def test_check_env_reports_on_a_good_config(overrides):
    report = check_env("small", ticks=40, **overrides)
    if overrides:  # concurrent: the run may end early when everyone is dead
        assert 2 <= report["ticks"] <= 41
    else:  # continuous with min_alive: the full horizon, plus the reset
        assert report["ticks"] == 41
    assert report["agent_steps"] > 0
    assert report["invalid_actions"] > 0  # it feeds malformed actions on purpose
    assert report["ignored_actions"] > 0
    assert len(report["final_state_hash"]) == 64


def test_check_env_catches_nondeterminism(monkeypatch):
    real_advance = vector_module.VecEnv._advance  # steps every world
    calls = {"n": 0}

    def leaky_advance(vec):
        calls["n"] += 1
        real_advance(vec)
        for state in vec.worlds:  # a hidden global counter leaks into the worlds
            state.streams[Stream.MOVEMENT, 0] ^= np.uint64(calls["n"] % 7 + 1)

    monkeypatch.setattr(vector_module.VecEnv, "_advance", leaky_advance)
    with pytest.raises(EnvCheckError, match="determinism"):
        check_env("small", ticks=40)


def test_check_env_on_a_persistent_config_skips_only_the_aec_loop(monkeypatch):
    """A persistent world never ends, so the loop to the episode's end cannot run; PettingZoo's
    API tests do (slot names keep possible_agents bounded)."""
    called: list[str] = []
    for name in ("parallel_api_test", "api_test", "_aec_loop"):
        monkeypatch.setattr(check_module, name, lambda *a, name=name, **k: called.append(name))
    report = check_env("small", ticks=30, persistent=True)
    assert called == ["parallel_api_test", "api_test"]
    assert report["ticks"] == 31 and report["agent_steps"] > 0
    assert report["invalid_actions"] > 0 and report["ignored_actions"] > 0
    called.clear()
    check_env("small", ticks=5)
    assert called == ["parallel_api_test", "api_test", "_aec_loop"]
