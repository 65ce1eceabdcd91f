"""TorchRL: the env passes TorchRL's own spec check, and a rollout with a masked policy takes only
allowed actions."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchrl")

from torchrl.envs.utils import check_env_specs  # noqa: E402

from neural_mmo.integrations.torchrl import GROUP, MaskedRandomPolicy, head_sizes, make_env  # noqa: E402


@pytest.mark.parametrize("observation_format", ["dict", "flat"])
def test_specs_pass_and_a_masked_rollout_takes_only_allowed_actions(observation_format):
    env = make_env("small", horizon=40, seed=5, observation_format=observation_format)
    n = env.observation_spec[GROUP].shape[0]
    assert list(env.group_map) == [GROUP] and n == 64
    sizes = head_sizes(env)
    assert sizes == [5, 1 + 3 * env._env.layout.n_entities]
    check_env_specs(env, seed=5)
    rollout = env.rollout(60, policy=MaskedRandomPolicy(env, seed=1), break_when_any_done=True)
    assert rollout.batch_size == torch.Size([40]), "the episode ran to its horizon"
    mask = rollout[GROUP, "action_mask"]
    action = rollout[GROUP, "action"]
    assert mask.shape == (40, n, sum(sizes)) and action.shape == (40, n, 2)
    allowed_move = mask[..., : sizes[0]].gather(-1, action[..., :1])
    allowed_attack = mask[..., sizes[0] :].gather(-1, action[..., 1:])
    assert bool(allowed_move.all()) and bool(allowed_attack.all()), "every action was allowed"
    assert int(action[..., 1].count_nonzero()) > 0, "agents attacked when the mask let them"
    infos = rollout[GROUP, "info"]
    assert int(infos["invalid_actions"].sum()) == 0
    assert int(rollout["next", GROUP, "info", "died"].sum()) > 0, "agents died in the rollout"
    assert bool(rollout["next", GROUP, "truncated"][-1].all())
    with pytest.raises(ValueError, match="needs action_format='multidiscrete'"):
        make_env("small", action_format="dict")


def slot_rewards(state, events):
    """A reward that differs from slot to slot and tick to tick."""
    return np.arange(state.agents.capacity, dtype=np.float32) / 8 + state.tick


@pytest.mark.parametrize("observation_format", ["dict", "flat"])
def test_outputs_equal_those_of_torchrls_own_pettingzoo_wrapper(observation_format):
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    import neural_mmo

    kwargs = {"horizon": 3, "seed": 2, "observation_format": observation_format, "reward_fn": slot_rewards}
    ours = make_env("small", **kwargs)
    theirs = PettingZooWrapper(
        neural_mmo.parallel_env("small", agent_names="slot", action_format="multidiscrete", **kwargs),
        categorical_actions=True, use_mask=False, seed=2, device="cpu",
    )  # fmt: skip
    assert ours.observation_spec == theirs.observation_spec and ours.action_spec == theirs.action_spec
    assert ours.reward_spec == theirs.reward_spec and ours.done_spec == theirs.done_spec
    # 5 steps over a 3-tick horizon: the episode's end and the reset after it included
    a = ours.rollout(5, policy=MaskedRandomPolicy(ours, seed=3), break_when_any_done=False)
    b = theirs.rollout(5, policy=MaskedRandomPolicy(theirs, seed=3), break_when_any_done=False)
    assert a["next", "done"].flatten().tolist() == [False, False, True, False, False]
    observed = [v for k, v in a.items(True, True) if k[:2] == (GROUP, "observation")]
    assert observed and all(bool(v.ne(0).any()) for v in observed), "observations were filled in"
    assert not bool(a[GROUP, "action_mask"].all()), "masks forbid some actions"
    assert len(set(a["next", GROUP, "reward"].flatten().tolist())) > 10, "rewards differ by slot and tick"
    assert set(a.keys(True, True)) == set(b.keys(True, True))
    for key in a.keys(True, True):
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
