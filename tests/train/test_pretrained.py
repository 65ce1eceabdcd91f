"""The checkpoint shipped in the package: small, readable, and it plays well on unseen maps."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from neural_mmo.agents import make_policy  # noqa: E402
from neural_mmo.train.checkpoint import PRETRAINED, TrainedPolicy, read_checkpoint  # noqa: E402
from neural_mmo.train.evaluate import HELD_OUT_SEED, run_policy  # noqa: E402


def test_the_shipped_checkpoint_is_a_small_weights_only_file():
    assert PRETRAINED.is_file()
    assert PRETRAINED.stat().st_size < 2_000_000
    payload = read_checkpoint("pretrained")
    assert payload["optimizers"] is None and payload["train_config"]["preset"] == "small"
    assert payload["agent_steps"] >= 1_000_000


def test_the_shipped_agents_outlive_random_ones_and_avoid_lava():
    """One held-out world, one whole episode each (the issue's bar: 3x the random policy's mean
    lifetime and 80% fewer lava deaths per agent; the shipped model clears it by far)."""
    torch.manual_seed(0)
    policy = TrainedPolicy("pretrained", seed=0)
    seed = HELD_OUT_SEED + 11
    trained = run_policy(policy, policy.game_config, seed=seed, worlds=1)
    random = run_policy(make_policy("random", policy.layout, seed=0), policy.game_config, seed=seed, worlds=1)
    assert trained["lifetime_mean"] >= 3 * random["lifetime_mean"]
    assert trained["deaths_per_agent"].get("lava", 0.0) <= 0.2 * random["deaths_per_agent"]["lava"]
