"""PPO: GAE by hand (deaths, truncation, slot reuse, rollout end), rollouts over real worlds with
spawns, deaths and resets, and the update on a fixed batch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neural_mmo.config import make_config  # noqa: E402
from neural_mmo.envs.vector import VecEnv  # noqa: E402
from neural_mmo.train import ppo  # noqa: E402
from neural_mmo.train.models import Base, Simple  # noqa: E402

GAMMA, LAM = 0.9, 0.8


def test_gae_by_hand():
    """Three slots over four ticks, every case written out with scalars.

    slot 0: one agent alive throughout; the rollout ends with it alive (bootstrap from values[4]).
    slot 1: its agent dies on tick 1; a new agent spawns there and lives on ticks 2-3.
    slot 2: the horizon truncates its agent after tick 1 (alive: bootstrap from the final
            observation's value); tick 2 is its world's reset (no sample); a new agent at tick 3.
    """
    r = np.array([[1.0, 0.5, 0.2], [2.0, -1.0, 0.3], [0.0, 0.1, 0.0], [3.0, 0.2, 0.4]], np.float32)
    v = np.array([[0.5, 0.4, 0.1], [0.6, 0.3, 0.2], [0.7, 0.2, 0.9], [0.8, 0.1, 0.5], [0.9, 0.6, 0.3]],
                 np.float32)  # fmt: skip
    valid = np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 1]], bool)
    died = np.zeros((4, 3), bool)
    died[1, 1] = True
    same = np.ones((4, 3), bool)
    same[1, 1] = False  # died
    same[2, 2] = False  # after the reset tick, a new agent
    adv, ret = ppo.gae(r, v, valid, died, same, GAMMA, LAM)

    g, gl = GAMMA, GAMMA * LAM
    # slot 0: ordinary GAE with the bootstrap at the end
    d = [r[t, 0] + g * v[t + 1, 0] - v[t, 0] for t in range(4)]
    a3 = d[3]
    a2 = d[2] + gl * a3
    a1 = d[1] + gl * a2
    a0 = d[0] + gl * a1
    np.testing.assert_allclose(adv[:, 0], [a0, a1, a2, a3], rtol=1e-6)
    # slot 1: tick 1 is a death (no bootstrap, nothing carried in from the next agent)
    b1 = r[1, 1] - v[1, 1]
    b0 = (r[0, 1] + g * v[1, 1] - v[0, 1]) + gl * b1
    b3 = r[3, 1] + g * v[4, 1] - v[3, 1]
    b2 = (r[2, 1] + g * v[3, 1] - v[2, 1]) + gl * b3
    np.testing.assert_allclose(adv[:, 1], [b0, b1, b2, b3], rtol=1e-6)
    # slot 2: truncation after tick 1: bootstrap from v[2] (the final observation) but no carry
    c1 = r[1, 2] + g * v[2, 2] - v[1, 2]
    c0 = (r[0, 2] + g * v[1, 2] - v[0, 2]) + gl * c1
    c3 = r[3, 2] + g * v[4, 2] - v[3, 2]
    np.testing.assert_allclose(adv[[0, 1, 3], 2], [c0, c1, c3], rtol=1e-6)
    assert adv[2, 2] == 0
    np.testing.assert_allclose(ret, adv + v[:-1], rtol=1e-6)


def test_gae_lambda_one_is_the_discounted_return_minus_value():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(6, 1)).astype(np.float32)
    v = rng.normal(size=(7, 1)).astype(np.float32)
    ones = np.ones((6, 1), bool)
    adv, ret = ppo.gae(r, v, ones, ~ones, ones, GAMMA, 1.0)
    expected = [sum(GAMMA**k * r[t + k, 0] for k in range(6 - t)) + GAMMA ** (6 - t) * v[6, 0]
                for t in range(6)]  # fmt: skip
    np.testing.assert_allclose(ret[:, 0], expected, rtol=1e-5)


def _gae(rollout, rewards=None):
    rewards = rollout.rewards if rewards is None else rewards
    return ppo.gae(rewards, rollout.values, rollout.valid, rollout.died, rollout.same_next, 0.99, 0.95)


def _tiny(**overrides):
    base = dict(map__size=32, spawn__n_agents=16, npc__n_npcs=4, episode__horizon=12)
    return make_config("small", **{**base, **overrides})


def test_rollout_flags_follow_the_agents_in_the_slots():
    """A rollout across deaths, respawns in reused slots and two episode resets: a slot's sample
    continues exactly when the same agent id is in it on the next tick, resetting worlds give no
    samples, and the truncated agents bootstrap from their final observation."""
    torch.manual_seed(0)
    env = VecEnv(2, config=_tiny(), seed=3)
    env.reset()
    model = Simple(env.layout, hidden=16)
    T = 30
    rollout = ppo.Rollout(env.layout, T, env.num_slots)
    ids, done_before = [], []

    def on_tick(env, alive_before):
        ids.append(env.agent_id.copy())

    original = env.step_buffered

    def step_buffered():
        done_before.append(env.episode_done.copy())
        ids_before.append(env.agent_id.copy())
        return original()

    ids_before: list[np.ndarray] = []
    env.step_buffered = step_buffered
    ppo.collect(env, [model], rollout, [None], on_tick)
    S = env.slots_per_world
    truncated = 0
    for t in range(T):
        stepping = ~np.repeat(done_before[t], S)
        np.testing.assert_array_equal(rollout.valid[t], rollout.alive[t] & stepping)
        for k in range(env.num_slots):
            if not rollout.alive[t, k]:
                continue
            # ids restart with every episode: a resetting world's slots hold new agents
            alive_next = rollout.alive[t + 1, k] if t + 1 < T else env.alive[k]
            same_agent = stepping[k] and ids[t][k] == ids_before[t][k] and alive_next
            assert rollout.same_next[t, k] == (same_agent and not rollout.died[t, k]), (t, k)
        if t + 1 < T:  # truncation: alive after the step, and the world resets on the next one
            at_horizon = np.repeat(done_before[t + 1], S)
            truncated += int((rollout.same_next[t] & rollout.valid[t] & at_horizon).sum())
    assert rollout.died.sum() > 5, "the rollout must include deaths"
    assert (~rollout.valid & rollout.alive[:-1]).sum() > 0, "the rollout must include episode resets"
    assert truncated > 0, "some agents must be alive at the horizon"
    reused = [(t, k) for t in range(1, T) for k in range(env.num_slots)
              if rollout.starts[t, k] and ids_before[t - 1][k] >= 0]  # fmt: skip
    assert reused, "some slot must be reused by a new agent"
    # values at reset ticks are the final observations' values: nonzero for living agents
    resets = rollout.alive[:-1] & ~rollout.valid
    assert np.all(rollout.values[:-1][resets] != 0)


def test_advantages_never_cross_agents():
    """The advantage of a dying agent's last sample ignores everything after it, whatever the
    next agent in the slot gets."""
    env = VecEnv(1, config=_tiny(), seed=5)
    env.reset()
    model = Simple(env.layout, hidden=16)
    rollout = ppo.Rollout(env.layout, 25, env.num_slots)
    ppo.collect(env, [model], rollout, [None])
    adv, _ = _gae(rollout)
    t, k = np.argwhere(rollout.died & rollout.valid)[0]
    assert adv[t, k] == pytest.approx(rollout.rewards[t, k] - rollout.values[t, k], abs=1e-6)
    rewards = rollout.rewards.copy()
    rewards[t + 1 :, k] += 100.0
    adv2, _ = _gae(rollout, rewards)
    np.testing.assert_array_equal(adv2[: t + 1, k], adv[: t + 1, k])


def _fixed_batch(model: Base, seed=0):
    env = VecEnv(2, config=_tiny(), seed=seed)
    env.reset()
    rollout = ppo.Rollout(env.layout, 16, env.num_slots)
    ppo.collect(env, [model], rollout, [None])
    adv, ret = _gae(rollout)
    return rollout, adv, ret


def full_batch_loss(model, rollout, adv, ret):
    index = np.flatnonzero(rollout.valid.reshape(-1))
    T, N = rollout.valid.shape
    obs = {k: torch.from_numpy(v.reshape(T * N, *v.shape[2:])[index]) for k, v in rollout.obs.items()}
    batch = {
        "actions": torch.from_numpy(rollout.actions.reshape(T * N, -1)[index]),
        "log_probs": torch.from_numpy(rollout.log_probs.reshape(-1)[index]),
        "values": torch.from_numpy(rollout.values[:-1].reshape(-1)[index]),
        "advantages": torch.from_numpy(adv.reshape(-1)[index]),
        "returns": torch.from_numpy(ret.reshape(-1)[index]),
    }
    with torch.no_grad():
        logits, value, _ = model(obs)
        loss, info = ppo.ppo_loss(model, batch, logits, value, 0.2, 0.5, 0.0)
    return loss.item(), info


def test_update_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    env_layout = VecEnv(1, config=_tiny()).layout
    model = Simple(env_layout, hidden=32)
    rollout, adv, ret = _fixed_batch(model)
    before, info0 = full_batch_loss(model, rollout, adv, ret)
    assert info0["approx_kl"] == pytest.approx(0.0, abs=1e-6), "same weights: ratio 1"
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    stats = ppo.update(model, optimizer, rollout, adv, ret, 0, 8, 64, 0.2, 0.5, 0.0, 0.5,
                       np.random.default_rng(0))  # fmt: skip
    after, info1 = full_batch_loss(model, rollout, adv, ret)
    assert after < before - 0.05 * abs(before)
    assert info1["value_loss"] < info0["value_loss"]
    assert stats.samples == int(rollout.valid.sum()) and stats.approx_kl > 0


def test_recurrent_update_replays_whole_slots():
    from neural_mmo.train.models import Recurrent

    torch.manual_seed(0)
    env = VecEnv(1, config=_tiny(), seed=2)
    env.reset()
    model = Recurrent(env.layout, hidden=16)
    states = [model.initial_state(env.num_slots)]
    rollout = ppo.Rollout(env.layout, 12, env.num_slots)
    ppo.collect(env, [model], rollout, states)
    adv, ret = _gae(rollout)
    # replaying the sequence from the stored state reproduces the collected values
    with torch.no_grad():
        obs = {k: torch.from_numpy(v) for k, v in rollout.obs.items()}
        _, values = model.forward_sequence(obs, rollout.state0[0], torch.from_numpy(rollout.starts))
    alive = rollout.alive[:-1].reshape(-1)
    np.testing.assert_allclose(values.numpy()[alive], rollout.values[:-1].reshape(-1)[alive], atol=1e-5)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    stats = ppo.update(model, optimizer, rollout, adv, ret, 0, 2, 64, 0.2, 0.5, 0.01, 0.5, rng)
    assert stats.samples == int(rollout.valid.sum()) and np.isfinite(stats.policy_loss)


def test_persistent_worlds_reuse_slots_without_resets():
    """Persistent mode: no horizon, no resets; dead agents' slots are taken by newcomers and every
    living slot is a sample; a sample continues exactly when the same agent id stays."""
    env = VecEnv(1, config=_tiny(episode__persistent=True, episode__horizon=8), seed=1)
    env.reset()
    model = Simple(env.layout, hidden=16)
    T = 40
    rollout = ppo.Rollout(env.layout, T, env.num_slots)
    ids = []
    ppo.collect(env, [model], rollout, [None], lambda env, alive: ids.append(env.agent_id.copy()))
    np.testing.assert_array_equal(rollout.valid, rollout.alive[:-1])  # never a reset
    for t in range(1, T - 1):
        for k in np.flatnonzero(rollout.valid[t]):
            same = rollout.alive[t + 1, k] and not rollout.starts[t + 1, k] and not rollout.died[t, k]
            assert rollout.same_next[t, k] == same
            # ids[t]: who holds each slot after step t (observed at t + 1); ids[t - 1]: at t
            assert same == (rollout.alive[t + 1, k] and ids[t][k] == ids[t - 1][k])
    held_before = np.logical_or.accumulate(rollout.alive[:-1], axis=0)
    reused = int((rollout.starts[1:] & held_before[:-1]).sum())  # a newcomer in a slot used before
    assert rollout.died.sum() > 0
    assert reused > 0, "a newcomer takes the slot of an agent that died"
