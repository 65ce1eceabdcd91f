"""check_env: passes on good configs and catches nondeterminism."""

from __future__ import annotations

import pytest

from neural_mmo.env import vector as vector_module
from neural_mmo.testing import EnvCheckError, check_env


@pytest.mark.parametrize("overrides", [{}, {"spawn__mode": "concurrent", "n_populations": 3}])
def test_check_env_reports_on_a_good_config(overrides):
    report = check_env("small", ticks=40, **overrides)
    assert report["ticks"] >= 2
    assert report["agent_steps"] > 0
    assert report["invalid_actions"] > 0  # it feeds malformed actions on purpose
    assert report["ignored_actions"] > 0
    assert len(report["final_state_hash"]) == 64


def test_check_env_catches_nondeterminism(monkeypatch):
    real_step = vector_module.step_world
    calls = {"n": 0}

    def leaky_step(state, actions):
        calls["n"] += 1
        real_step(state, actions)
        state.rng["movement"][0] ^= calls["n"] % 7 + 1  # a hidden global counter leaks into the world

    monkeypatch.setattr(vector_module, "step_world", leaky_step)
    with pytest.raises(EnvCheckError, match="determinism"):
        check_env("small", ticks=40)
