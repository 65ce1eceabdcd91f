"""RLlib: the MultiAgentEnv's agents come and go as RLlib expects (PPO training on it is the docs
example, tests/integrations/test_docs_examples.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.rllib")
torch = pytest.importorskip("torch")

from ray.rllib.utils.pre_checks.env import check_multiagent_environments  # noqa: E402

from neural_mmo.integrations.rllib import (  # noqa: E402
    NeuralMMOEnvRunner,
    NeuralMMOMultiAgentEnv,
    NeuralMMOVecEnvRunner,
)


@pytest.fixture(autouse=True, scope="module")
def _no_ray_left_running():
    """Building algorithms starts Ray in this process; stop it after this module's tests, so that
    a later ray.init() (the docs' examples) starts afresh."""
    yield
    if ray.is_initialized():
        ray.shutdown()


def random_actions(env: NeuralMMOMultiAgentEnv, obs: dict, rng: np.random.Generator) -> dict:
    """An allowed value of each head for each agent shown, from the mask in its observation."""
    mask_part = env.flat_observation.slices["action_mask"]
    sizes = env.get_action_space(None).nvec
    out = {}
    for name, vector in obs.items():
        mask = vector[mask_part].astype(bool)
        heads = np.split(mask, np.cumsum(sizes)[:-1])
        out[name] = np.array([rng.choice(np.flatnonzero(h)) for h in heads], np.int64)
    return out


def test_agents_die_spawn_and_reuse_slot_ids_the_way_rllib_accepts():
    check_multiagent_environments(NeuralMMOMultiAgentEnv({"preset": "small"}))  # RLlib's own checks
    env = NeuralMMOMultiAgentEnv({"preset": "small", "seed": 3, "horizon": 120})
    rng = np.random.default_rng(0)
    obs, infos = env.reset(seed=3)
    assert set(obs) == set(env.agents) and set(obs) <= set(env.possible_agents)
    assert len(env.possible_agents) == env.env.config.spawn.n_agents
    assert all(env.get_observation_space(k).contains(v) for k, v in obs.items())
    dead: set[str] = set()
    seen = set(obs)
    deaths = reborn = 0
    for _ in range(120):
        obs, rewards, terms, truncs, infos = env.step(random_actions(env, obs, rng))
        assert set(obs) == set(rewards) == set(infos) == set(env.agents)
        assert set(obs) <= set(env.possible_agents)
        for name in dead & set(obs):  # a slot shown again after a death: a newborn
            if not (terms["__all__"] or truncs["__all__"]):
                assert infos[name]["spawned"] and infos[name]["alive"]
                reborn += 1
        dead -= set(obs)
        for name, info in infos.items():
            if info["died"]:
                deaths += 1
                assert rewards[name] == -1.0 and not terms[name]
                dead.add(name)
        if terms["__all__"] or truncs["__all__"]:
            break
        seen |= set(obs)
    assert truncs["__all__"] and not terms["__all__"], "the episode ended at the horizon"
    assert set(obs) >= seen, "every agent RLlib met gets a last step"
    assert all(truncs[k] for k in obs)
    assert deaths > 0 and reborn > 0 and env.deaths == deaths
    with pytest.raises(ValueError, match="fixes"):
        NeuralMMOMultiAgentEnv({"preset": "small", "agent_names": "unique"})


def test_the_env_runner_reports_the_step_counts_of_rllibs_own():
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    config = (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": "small", "seed": 1, "horizon": 30})
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared")
        .env_runners(num_env_runners=0, num_envs_per_env_runner=2)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16]))
        .debugging(seed=0)
    )
    runs = []
    for runner_cls in (MultiAgentEnvRunner, NeuralMMOEnvRunner):  # each seeds torch when made
        runner = runner_cls(config=config)
        episodes = runner.sample(num_timesteps=80) + runner.sample(num_timesteps=10)  # an episode ends
        metrics = runner.get_metrics()
        counts = {
            key: {k: float(v.peek()) for k, v in metrics[key].items()}
            for key in ("num_agent_steps_sampled", "num_agent_steps_sampled_lifetime",
                        "num_module_steps_sampled", "num_module_steps_sampled_lifetime")
        }  # fmt: skip
        totals = {key: float(metrics[key].peek()) for key in ("num_env_steps_sampled", "num_episodes")}
        actions = [a.tolist() for e in episodes for sa in e.agent_episodes.values() for a in sa.get_actions()]
        runs.append((counts, totals, actions))
        runner.stop()
    (counts, totals, actions), (counts_2, totals_2, actions_2) = runs
    assert actions == actions_2, "both runners sampled the same steps"
    assert totals == totals_2 and totals["num_env_steps_sampled"] == 90 and totals["num_episodes"] >= 2
    assert counts == counts_2
    per_agent = counts["num_agent_steps_sampled"]
    assert len(per_agent) > 10 and max(per_agent.values()) == 90
    assert sum(per_agent.values()) == counts["num_module_steps_sampled"]["shared"]


# ---------------------------------------------------------------- NeuralMMOVecEnvRunner


def vec_config(horizon: int = 40, worlds: int = 2, **training: Any) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (
        PPOConfig()
        .environment(NeuralMMOMultiAgentEnv, env_config={"preset": "small", "seed": 5, "horizon": horizon})
        .env_runners(num_env_runners=0, env_runner_cls=NeuralMMOVecEnvRunner, num_envs_per_env_runner=worlds)
        .training(**training)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16]))
        .debugging(seed=0)
    )


def lives_of(episodes: list) -> dict[str, dict[str, Any]]:
    """The episode chunks of each life joined in order (checking that each chunk continues the
    last: same id, t_started, the first observation the last one's final observation)."""
    lives: dict[str, dict[str, Any]] = {}
    for e in episodes:
        obs, n = e.get_observations(), len(e)
        assert obs.shape == (n + 1, e.observation_space.shape[0]) and n > 0
        life = lives.get(e.id_)
        if life is None:
            assert e.t_started == 0
            life = lives[e.id_] = {"obs": [obs[:1]], "actions": [], "rewards": [], "logp": [], "chunks": 0,
                                   "custom": dict(e.custom_data)}  # fmt: skip
        else:
            assert not (life["terminated"] or life["truncated"]), "a chunk after the life's end"
            assert e.t_started == sum(len(a) for a in life["actions"]), "the chunk continues the life"
            np.testing.assert_array_equal(obs[0], life["obs"][-1][-1])
            assert e.custom_data == life["custom"]
        life["obs"].append(obs[1:])
        life["actions"].append(e.get_actions())
        life["rewards"].append(e.get_rewards())
        life["logp"].append(e.get_extra_model_outputs("action_logp"))
        life["terminated"], life["truncated"] = e.is_terminated, e.is_truncated
        life["chunks"] += 1
    for life in lives.values():
        for key in ("obs", "actions", "rewards", "logp"):
            life[key] = np.concatenate(life[key])
    return lives


def test_vec_runner_episodes_are_agent_lives_that_replay_in_the_worlds():
    """Every agent life sampled (over two sample() calls, across a horizon) is one episode whose
    observations, actions and rewards are the ones a fresh VecEnv plays with those actions."""
    from neural_mmo.envs.formats import FlatObservation
    from neural_mmo.envs.vector import VecEnv

    runner = NeuralMMOVecEnvRunner(config=vec_config(horizon=30))
    first = runner.sample(num_timesteps=900)
    second = runner.sample(num_timesteps=700)
    metrics = runner.get_metrics()
    lives = lives_of(first + second)
    assert sum(len(e) for e in first) >= 900 and sum(len(e) for e in second) >= 700
    assert any(life["chunks"] == 2 for life in lives.values()), "some lives go on across sample() calls"
    ticks = int(metrics["world_ticks_sampled"].peek()) // 2
    assert ticks > 31, "the sampling crossed the horizon"

    vec = VecEnv(2, "small", seed=5, horizon=30)
    flat = FlatObservation(vec.layout)
    S = vec.slots_per_world
    queues: dict[int, list] = {}
    for name in sorted(lives, key=lambda n: int(n.rsplit("-", 1)[1])):  # lives in order of birth
        life = lives[name]
        queues.setdefault(life["custom"]["world"] * S + life["custom"]["slot"], []).append(life)
    current: dict[int, list] = {}

    def born(slots: np.ndarray, last: bool) -> None:
        for k in slots.tolist():
            if not queues.get(k):
                assert last, "a life born before the last tick was not returned"
                continue
            life = queues[k].pop(0)
            assert life["custom"]["agent_id"] == vec.agent_id[k]
            np.testing.assert_array_equal(
                life["obs"][0], flat.flatten({p: v[k] for p, v in vec.observations.items()})
            )
            current[k] = [life, 0]

    vec.reset()
    born(np.flatnonzero(vec.alive), False)
    counts = {"terminated": 0, "truncated": 0, "births": 0}
    for t in range(ticks):
        acting = np.flatnonzero(vec.alive & ~vec.episode_done[np.arange(vec.num_slots) // S])
        actions = np.zeros((vec.num_slots, vec.n_heads), np.int64)
        for k in acting.tolist():
            life, i = current[k]
            actions[k] = life["actions"][i]
        reset = vec.episode_done.copy()
        vec.step(actions)
        for k in acting.tolist():
            life, i = current[k]
            assert life["rewards"][i] == vec.rewards[k]
            np.testing.assert_array_equal(
                life["obs"][i + 1], flat.flatten({p: v[k] for p, v in vec.observations.items()})
            )
            if vec.terminations[k] or vec.truncations[k]:
                assert i + 1 == len(life["actions"]), "a life ends with its episode"
                assert (life["terminated"], life["truncated"]) == (
                    bool(vec.terminations[k]),
                    bool(vec.truncations[k]),
                )
                counts["terminated" if vec.terminations[k] else "truncated"] += 1
                if vec.terminations[k]:
                    assert life["rewards"][-1] == -1.0, "a death ends the life with the death reward"
                del current[k]
            else:
                current[k][1] += 1
        spawned = np.flatnonzero(vec.spawned)
        counts["births"] += int((~reset[spawned // S]).sum())
        born(spawned, t == ticks - 1)
    for life, i in current.values():  # still alive: every step taken was returned, the life goes on
        assert i == len(life["actions"]) and not (life["terminated"] or life["truncated"])
    assert not any(queues.values()), "every life returned was replayed"
    assert counts["terminated"] > 0 and counts["truncated"] > 0 and counts["births"] > 0

    # the log-probabilities stored are RLlib's distribution's, for the actions taken
    dist_cls = runner.module.get_exploration_action_dist_cls()
    for e in first[:50]:
        inputs = torch.from_numpy(e.get_extra_model_outputs("action_dist_inputs"))
        logp = dist_cls.from_logits(inputs).logp(torch.from_numpy(e.get_actions()))
        np.testing.assert_allclose(
            e.get_extra_model_outputs("action_logp"), logp.numpy(), rtol=1e-5, atol=1e-5
        )

    # RLlib's counts: every agent-step is an env step of single-agent RLlib
    steps = sum(len(e) for e in first + second)
    for key in ("num_env_steps_sampled", "num_env_steps_sampled_lifetime"):
        assert metrics[key].peek() == steps
    assert metrics["num_agent_steps_sampled"]["default_agent"].peek() == steps
    assert metrics["num_module_steps_sampled"]["default_policy"].peek() == steps
    assert metrics["agent_deaths"].peek() == counts["terminated"]
    assert metrics["agent_births"].peek() == counts["births"]
    assert metrics["num_episodes"].peek() == counts["terminated"] + counts["truncated"]
    ended = [life for life in lives.values() if life["terminated"] or life["truncated"]]
    assert len(ended) == counts["terminated"] + counts["truncated"]
    lengths = [len(life["actions"]) for life in ended]
    assert metrics["episode_len_max"].peek() == max(lengths[-100:]) or len(ended) > 100
    if len(ended) <= 100:  # the smoothing window holds every life that ended
        assert metrics["episode_len_mean"].peek() == pytest.approx(np.mean(lengths))
        returns = [float(life["rewards"].sum()) for life in ended]
        assert metrics["episode_return_mean"].peek() == pytest.approx(np.mean(returns))
    runner.stop()


def test_fast_episodes_equal_rllibs_constructor():
    from gymnasium import spaces

    from neural_mmo.integrations.rllib import _EPISODE_SLOTS, _episode_maker

    obs_space, act_space = spaces.Box(0, 1, (5,), np.float32), spaces.MultiDiscrete([2, 3])
    obs = np.random.default_rng(0).random((4, 5), np.float32)
    args = ("id", obs, np.ones((3, 2), np.int64), np.ones(3, np.float32),
            {"action_logp": np.zeros(3, np.float32)}, True, False, 7, {"world": 1})  # fmt: skip
    slow, fast = (_episode_maker(obs_space, act_space, fast=f)(*args) for f in (False, True))
    for name in _EPISODE_SLOTS:
        a, b = getattr(slow, name), getattr(fast, name)
        if name in ("observations", "infos", "actions", "rewards"):
            a, b = vars(a), vars(b)
        elif name == "extra_model_outputs":
            a, b = {k: vars(v) for k, v in a.items()}, {k: vars(v) for k, v in b.items()}
        assert repr(a) == repr(b), name
    assert len(fast) == 3 and fast.t == 10 and fast.get_return() == 3.0 and fast.is_numpy


def test_ppo_trains_on_agent_lives_with_the_bulk_learner():
    """Two PPO iterations on the small preset: agents die and are born, the learner trains on
    exactly the agent-steps sampled, the loss is finite and the weights change."""
    from ray.rllib.core.columns import Columns

    from neural_mmo.integrations.rllib import NeuralMMOPPOLearner

    trained: list[int] = []

    class CountingLearner(NeuralMMOPPOLearner):
        def _make_batch_if_necessary(self, training_data: Any) -> Any:
            batch = super()._make_batch_if_necessary(training_data)
            trained.append(int(batch.policy_batches["default_policy"][Columns.LOSS_MASK].sum()))
            return batch

    config = vec_config(
        horizon=30, train_batch_size_per_learner=600, minibatch_size=256, num_epochs=2
    ).learners(learner_class=CountingLearner)
    algo = config.build_algo()
    before = [p.detach().clone() for p in algo.env_runner.module.parameters()]
    results = [algo.train() for _ in range(2)]
    after = list(algo.env_runner.module.parameters())
    sampled = [int(r["env_runners"]["num_env_steps_sampled"]) for r in results]
    assert trained == sampled and all(n >= 600 for n in sampled)
    assert sum(r["env_runners"]["agent_deaths"] for r in results) > 0
    assert sum(r["env_runners"]["agent_births"] for r in results) > 0
    learner = results[-1]["learners"]["default_policy"]
    assert np.isfinite(learner["total_loss"]) and np.isfinite(learner["policy_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, after)), "the sampling module got new weights"
    algo.stop()


def test_bulk_learner_batch_and_minibatches_are_rllibs():
    """LivesToPPOBatch builds the batch RLlib's default PPO learner pipeline builds (less the rows
    that pipeline masks out of the loss), and the minibatches drawn by index are RLlib's cyclic
    ones (unshuffled, to compare)."""
    import copy

    from ray.rllib.utils.minibatch_utils import MiniBatchCyclicIterator

    from neural_mmo.integrations.rllib import LivesToPPOBatch, _minibatches

    config = vec_config(horizon=25, train_batch_size_per_learner=300, minibatch_size=128)
    algo = config.build_algo()
    episodes = algo.env_runner.sample(num_timesteps=500)
    learner = algo.learner_group._learner
    default = learner._learner_connector(rl_module=learner.module, batch={}, episodes=copy.deepcopy(episodes),
                                         shared_data={}, metrics=None)["default_policy"]  # fmt: skip
    bulk = LivesToPPOBatch(gamma=config.gamma, lambda_=config.lambda_)(
        rl_module=learner.module, batch={}, episodes=episodes
    )["default_policy"]
    assert set(bulk) == set(default)
    kept = default["loss_mask"]  # the bulk batch leaves out the masked bootstrap rows
    assert 0 < int((~kept).sum()) == len(default["obs"]) - len(bulk["obs"])
    for key, value in default.items():
        torch.testing.assert_close(bulk[key], value[kept], msg=key)
    from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

    batch = MultiAgentBatch({"default_policy": SampleBatch(dict(bulk))}, 500)
    ours = list(_minibatches(batch, 128, 3, False, 0))
    theirs = list(
        MiniBatchCyclicIterator(batch, num_epochs=3, minibatch_size=128, shuffle_batch_per_epoch=False)
    )
    assert len(ours) == len(theirs) > 3
    for a, b in zip(ours, theirs):
        for key in bulk:
            torch.testing.assert_close(a["default_policy"][key], b["default_policy"][key])
    shuffled = list(_minibatches(batch, 128, 2, True, 0))
    seen = torch.cat([m["default_policy"]["obs"] for m in shuffled])
    assert seen.shape[0] == 128 * len(shuffled) >= 2 * len(bulk["obs"])
    assert int(bulk["loss_mask"].sum()) == sum(len(e) for e in episodes), "every agent-step sampled"
    algo.stop()


def test_vec_runner_and_learner_refuse_what_they_cannot_run():
    from neural_mmo.integrations.rllib import LivesToPPOBatch, NeuralMMOPPOLearner

    with pytest.raises(ValueError, match="plays Neural MMO worlds"):
        NeuralMMOVecEnvRunner(config=vec_config().environment("CartPole-v1"))
    multi = vec_config().multi_agent(
        policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kw: "shared"
    )
    with pytest.raises(ValueError, match="leave out config.multi_agent"):
        NeuralMMOVecEnvRunner(config=multi)
    for bad in ({"agent_names": "unique"}, {"record": "x.nmmo"}):
        with pytest.raises(ValueError, match="fixes|does not take"):
            NeuralMMOVecEnvRunner(config=vec_config().environment(env_config={"preset": "small", **bad}))
    with pytest.raises(ValueError, match="custom env_to_module_connector"):
        NeuralMMOVecEnvRunner(
            config=vec_config().env_runners(env_to_module_connector=lambda env, spaces, device: [])
        )
    with pytest.raises(ValueError, match="truncate_episodes"):
        NeuralMMOVecEnvRunner(config=vec_config().env_runners(batch_mode="complete_episodes"))
    runner = NeuralMMOVecEnvRunner(config=vec_config())
    with pytest.raises(ValueError, match="num_timesteps"):
        runner.sample(num_episodes=1)
    with pytest.raises(ValueError, match="random_actions"):
        runner.sample(num_timesteps=10, random_actions=True)
    multi_episodes = NeuralMMOEnvRunner(config=multi.env_runners(env_runner_cls=NeuralMMOEnvRunner)).sample(
        num_timesteps=5
    )
    with pytest.raises(TypeError, match="single-agent episodes"):
        LivesToPPOBatch(gamma=0.99, lambda_=0.95)(rl_module=runner.module.as_multi_rl_module(), batch={},
                                                  episodes=multi_episodes)  # fmt: skip
    slots = multi.env_runners(env_runner_cls=NeuralMMOEnvRunner).learners(learner_class=NeuralMMOPPOLearner)
    with pytest.raises(ValueError, match="trains single-agent configs"):
        slots.build_algo()
    custom = (
        vec_config()
        .training(learner_connector=lambda *spaces: [])
        .learners(learner_class=NeuralMMOPPOLearner)
    )
    with pytest.raises(ValueError, match="leave out learner_connector"):
        custom.build_algo()
    runner.stop()


def test_vec_runner_draws_actions_from_the_policys_distribution():
    from neural_mmo.integrations.rllib import _categorical_heads

    runner = NeuralMMOVecEnvRunner(config=vec_config())
    heads = _categorical_heads(runner.module)
    assert heads == list(runner.env.single_action_space.nvec)
    obs = np.repeat(runner.sample(num_timesteps=10)[0].get_observations()[:1], 40_000, axis=0)
    torch.manual_seed(0)
    chosen, logp, inputs = runner._act(runner.module, obs, True, 0, heads)
    first_head = torch.softmax(torch.from_numpy(inputs[0, : heads[0]]), -1).numpy()
    counts = np.bincount(chosen[:, 0], minlength=heads[0]) / len(chosen)
    np.testing.assert_allclose(counts, first_head, atol=0.01)  # ~5 standard errors
    assert (chosen[:, 1] < heads[1]).all() and len(np.unique(chosen[:, 1])) > 10
    generic, _, _ = runner._act(runner.module, obs[:5], True, 0, None)  # RLlib's own draw
    assert generic.shape == (5, 2)
    runner.stop()
