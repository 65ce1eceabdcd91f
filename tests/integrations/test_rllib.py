"""RLlib: the MultiAgentEnv's agents come and go as RLlib expects (PPO training on it is the docs
example, tests/integrations/test_docs_examples.py)."""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.rllib")
torch = pytest.importorskip("torch")

from ray.rllib.utils.pre_checks.env import check_multiagent_environments  # noqa: E402

from neural_mmo.integrations.rllib import NeuralMMOEnvRunner, NeuralMMOMultiAgentEnv  # noqa: E402


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
