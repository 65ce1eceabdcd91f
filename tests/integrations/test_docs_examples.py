"""Every Python block of docs/integrations.md runs as written, section by section, and does what
the page says: RLlib's PPO trains two iterations on the small preset while agents die and are
born (on the MultiAgentEnv and on the fast path), TorchRL rolls out with masks,
Stable-Baselines3's PPO learns on the vector env."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

PAGE = Path(__file__).parents[2] / "docs" / "integrations.md"


def section_blocks(title: str) -> list[str]:
    """The Python blocks under the ``## title`` heading of the page."""
    text = PAGE.read_text()
    parts = re.split(r"^## ", text, flags=re.M)
    body = next(p for p in parts if p.startswith(title + "\n"))
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def run(title: str) -> dict:
    namespace: dict = {}
    blocks = section_blocks(title)
    assert blocks, f"no example under {title}"
    for block in blocks:
        exec(compile(block, f"docs/integrations.md ({title})", "exec"), namespace)
    return namespace


def test_every_library_has_a_section_with_examples():
    for title in ("RLlib", "TorchRL", "SuperSuit and Stable-Baselines3"):
        assert section_blocks(title)


def test_rllib_example_trains_two_iterations_while_agents_die_and_are_born(capsys):
    pytest.importorskip("ray.rllib")
    threads = torch.get_num_threads()
    try:
        ns = run("RLlib")
    finally:
        torch.set_num_threads(threads)  # the example sets one thread for this process
    results, deaths, births = ns["results"], ns["deaths"], ns["births"]
    assert len(results) == 2 and len(ns["worlds"]) == 2
    assert results[-1]["env_runners"]["num_env_steps_sampled_lifetime"] == 256
    learner = results[-1]["learners"]["shared"]
    assert np.isfinite(learner["policy_loss"]) and np.isfinite(learner["vf_loss"])
    assert learner["num_module_steps_trained"] > 1_000, "every living agent's steps were trained on"
    assert deaths > 0 and births > 0
    out = capsys.readouterr().out
    assert f"{deaths} deaths, {births} births" in out
    # the fast path: single-agent RLlib, one episode per agent life
    fast = ns["fast_results"]
    assert len(fast) == 2
    sampled = [r["env_runners"]["num_env_steps_sampled"] for r in fast]
    assert all(n >= 4096 for n in sampled)
    assert fast[-1]["env_runners"]["num_env_steps_sampled_lifetime"] == sum(sampled)
    last = fast[-1]["env_runners"]
    assert last["agent_deaths"] > 0 and last["agent_births"] > 0
    assert f"{last['num_env_steps_sampled']} agent-steps, {last['agent_deaths']} deaths" in out
    learner = fast[-1]["learners"]["default_policy"]
    assert np.isfinite(learner["policy_loss"]) and np.isfinite(learner["vf_loss"])


def test_torchrl_examples_check_specs_and_roll_out_with_masks():
    pytest.importorskip("torchrl")
    ns = run("TorchRL")
    rollout, trajectory, sizes = ns["rollout"], ns["trajectory"], ns["sizes"]
    for td in (rollout, trajectory):
        mask, action = td["player", "action_mask"], td["player", "action"]
        assert bool(mask[..., : sizes[0]].gather(-1, action[..., :1]).all())
        assert bool(mask[..., sizes[0] :].gather(-1, action[..., 1:]).all())
    assert rollout.batch_size == torch.Size([50]) and trajectory["player", "action"].shape == (20, 64, 2)


def test_sb3_example_learns():
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("supersuit")
    ns = run("SuperSuit and Stable-Baselines3")
    model = ns["model"]
    assert model.num_timesteps == 4096
    logged = model.logger.name_to_value
    assert np.isfinite(logged["train/value_loss"]) and logged["train/approx_kl"] > 0
    assert logged["train/n_updates"] == 4, "two rollouts, two epochs each"
