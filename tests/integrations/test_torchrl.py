"""TorchRL: the env passes TorchRL's own spec check, and a rollout with a masked policy takes only
allowed actions."""

from __future__ import annotations

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
