"""Training runs: save/load/resume, custom models, populations, metrics, commands and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neural_mmo.cli import main  # noqa: E402
from neural_mmo.train.checkpoint import CheckpointError, TrainedPolicy, load_models, read_checkpoint  # noqa: E402
from neural_mmo.train.config import TrainConfig  # noqa: E402
from neural_mmo.train.models import Base  # noqa: E402
from neural_mmo.train.trainer import Trainer  # noqa: E402

TINY_GAME = {"map.size": 32, "spawn.n_agents": 16, "npc.n_npcs": 4, "episode.horizon": 40}


def tiny(tmp_path, **overrides) -> TrainConfig:
    values = dict(game=dict(TINY_GAME), worlds=2, horizon=16, minibatch=128, epochs=2, hidden=16,
                  total_steps=1_000, threads=1, out=str(tmp_path / "run"), checkpoint_every=1000)  # fmt: skip
    return TrainConfig(**{**values, **overrides})


def _same_state(a: dict, b: dict) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


def test_save_load_and_resume_restore_everything(tmp_path):
    trainer = Trainer(tiny(tmp_path))
    for _ in range(2):
        trainer.step()
    path = trainer.save(tmp_path / "ck.pt")
    resumed = Trainer.resume(path)
    assert resumed.iteration == trainer.iteration == 2
    assert resumed.agent_steps == trainer.agent_steps > 0
    for a, b in zip(trainer.models, resumed.models):
        assert _same_state(a.state_dict(), b.state_dict())
    for a, b in zip(trainer.optimizers, resumed.optimizers):
        assert _same_state(a.state_dict(), b.state_dict())
        assert a.state_dict()["state"], "Adam moments were saved"
    assert resumed.generator.bit_generator.state == trainer.generator.bit_generator.state
    assert resumed.config == trainer.config
    # training goes on from there, and resuming with overrides changes run settings only
    resumed.step()
    assert resumed.iteration == 3
    longer = Trainer.resume(path, total_steps=5_000)
    assert longer.config.total_steps == 5_000 and longer.config.lr == trainer.config.lr


def test_a_model_with_attention_over_attributes_trains_saves_and_loads(tmp_path):
    config = tiny(tmp_path, total_steps=300, attributes="attention")
    trainer = Trainer(config)
    before = {k: v.clone() for k, v in trainer.models[0].input.attend_attributes.state_dict().items()}
    trainer.train(progress=False)
    after = trainer.models[0].input.attend_attributes.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the updates reached it
    models, train_config, _ = load_models(trainer.save(tmp_path / "ck.pt"))
    assert train_config.attributes == "attention"
    assert _same_state(models[0].state_dict(), trainer.models[0].state_dict())


def test_train_writes_logs_and_checkpoints(tmp_path):
    config = tiny(tmp_path, total_steps=600, checkpoint_every=1)
    trainer = Trainer(config)
    history = trainer.train(progress=False)
    out = tmp_path / "run"
    assert trainer.agent_steps >= 600 and len(history) == trainer.iteration
    assert (out / "checkpoints" / "latest.pt").is_file()
    assert (out / "checkpoints" / f"iter_{trainer.iteration:06d}.pt").is_file()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == trainer.iteration
    last = lines[-1]
    for key in ("env/lifetime_mean", "env/population_mean", "deaths/lava", "events/eat", "events/attack",
                "loss/policy_loss", "loss/value_loss", "loss/entropy", "loss/approx_kl",
                "loss/explained_variance", "perf/agent_steps_per_s", "perf/env_seconds"):  # fmt: skip
        assert key in last, key
    # the metrics agree with the environment's own totals
    deaths = sum(line["env/deaths"] for line in lines)
    assert deaths == trainer.env.death_causes[:, 1:].sum()
    assert sum(line["events/eat"] for line in lines) == trainer.env.event_counts[:, 3].sum()
    models, train_config, game = load_models(out / "checkpoints" / "latest.pt")
    assert train_config == config and game == trainer.game
    assert _same_state(models[0].state_dict(), trainer.models[0].state_dict())


class MeanOfEntities(Base):
    """A user model: only hidden() is written."""

    def __init__(self, layout, hidden=16):
        super().__init__(layout, hidden)
        self.mix = torch.nn.Linear(self.input.entity_dim, hidden)

    def hidden(self, x, state):
        mask = x.entity_mask.unsqueeze(-1).float()
        mean = (x.entities * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.relu(self.mix(mean + x.me) + x.tiles.mean((2, 3)).sum(1, keepdim=True)), state


def test_a_model_that_overrides_only_hidden_trains(tmp_path):
    from test_ppo import _fixed_batch, full_batch_loss

    from neural_mmo.train import ppo

    torch.manual_seed(0)
    trainer = Trainer(tiny(tmp_path), model_factory=lambda layout: MeanOfEntities(layout))
    before = [p.detach().clone() for p in trainer.models[0].parameters()]
    metrics = trainer.step()
    assert np.isfinite(metrics["loss/policy_loss"])
    changed = [not torch.equal(a, b) for a, b in zip(before, trainer.models[0].parameters())]
    assert all(changed), "every parameter, the tile embedding included, gets gradients"
    model = MeanOfEntities(trainer.layout)
    rollout, adv, ret = _fixed_batch(model)
    loss0, _ = full_batch_loss(model, rollout, adv, ret)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    ppo.update(model, optimizer, rollout, adv, ret, 0, 6, 64, 0.2, 0.5, 0.0, 0.5, np.random.default_rng(0))
    loss1, _ = full_batch_loss(model, rollout, adv, ret)
    assert loss1 < loss0


def test_populations_have_their_own_weights_and_act_for_their_agents(tmp_path):
    from neural_mmo.train import ppo

    trainer = Trainer(tiny(tmp_path, populations=2))
    assert trainer.game.spawn.n_populations == 2
    metrics = trainer.step()
    # lifetimes split by population add up to all of them
    assert metrics["pop0/deaths"] + metrics["pop1/deaths"] == metrics["env/deaths"] > 0
    both = [metrics[f"pop{p}/lifetime_mean"] * metrics[f"pop{p}/deaths"] for p in (0, 1)]
    assert sum(both) == pytest.approx(metrics["env/lifetime_mean"] * metrics["env/deaths"])
    alive = trainer.env.alive  # the spawn rule: population = agent id % populations
    np.testing.assert_array_equal(trainer.metrics.species[alive], trainer.env.agent_id[alive] % 2)
    a, b = (m.state_dict() for m in trainer.models)
    assert not _same_state(a, b)
    # each row acts with its population's model: make model 1 always stay and model 0 always move north
    env = trainer.env
    for p, value in ((0, 1), (1, 0)):
        head = trainer.models[p].output.heads[0]
        torch.nn.init.zeros_(head.weight)
        with torch.no_grad():
            head.bias.fill_(-50.0)
            head.bias[value] = 50.0
    rows = np.flatnonzero(env.alive)
    population = ppo.populations_of(env.observations, rows)
    assert set(population.tolist()) == {0, 1}
    actions, _, _ = ppo.act(trainer.models, env.observations, rows, population)
    north_allowed = env.observations["action_mask"][rows, 1] == 1
    assert (actions[population == 1, 0] == 0).all()
    assert (actions[(population == 0) & north_allowed, 0] == 1).all()


def test_recurrent_runs_train(tmp_path):
    trainer = Trainer(tiny(tmp_path, model="recurrent"))
    metrics = trainer.step()
    assert np.isfinite(metrics["loss/value_loss"])
    assert trainer.states[0][0].abs().sum() > 0, "the slots' state is carried between rollouts"


@pytest.mark.parametrize("model", ["simple", "recurrent"])
def test_training_with_the_exchange_stores_each_worlds_market_once(tmp_path, model):
    """The rollout keeps each tick's market per world (not per slot), the update runs on it, and a
    trained policy played through the play loop gets the tables and acts within the masks."""
    from neural_mmo.agents import Player
    from neural_mmo.envs.vector import VecEnv

    economy = {**TINY_GAME, "item.enabled": True, "profession.enabled": True, "exchange.enabled": True}
    trainer = Trainer(tiny(tmp_path, game=economy, model=model))
    metrics = trainer.step()
    assert np.isfinite(metrics["loss/value_loss"])
    rollout = trainer.rollout
    assert rollout.tables["market"].shape == (rollout.T, 2, *trainer.env.market.shape[1:])
    assert rollout.tables["market"][:, :, :, 0].min() >= 1  # every row names an item type: written
    policy = TrainedPolicy(trainer.save(tmp_path / "ck.pt"))
    assert policy.reads_tables
    env = VecEnv(2, config=trainer.game, seed=3)
    player = Player(env, policy)
    player.reset()
    for _ in range(5):
        player.step()
        assert (env.invalid_actions == 0).all()


def test_each_sample_gets_its_own_ticks_and_worlds_table():
    from neural_mmo.envs.vector import WORLD_INDEX
    from neural_mmo.train.io import tables_for

    T, W = 3, 4
    tables = {"market": torch.arange(T * W * 2 * 5).reshape(T * W, 2, 5)}
    rows = np.array([[5, 5, 11], [0, 7, 5]])
    out = tables_for(tables, rows, torch.device("cpu"))
    assert out["market"].shape[0] == 4  # each table once
    assert out[WORLD_INDEX].shape == rows.shape
    torch.testing.assert_close(out["market"][out[WORLD_INDEX]], tables["market"][torch.from_numpy(rows)])


def test_trained_policy_plays_and_rejects_other_games(tmp_path):
    from neural_mmo.envs.vector import VecEnv

    trainer = Trainer(tiny(tmp_path))
    path = trainer.save(tmp_path / "ck.pt")
    policy = TrainedPolicy(path)
    env = VecEnv(1, config=trainer.game, seed=9)
    obs, _ = env.reset()
    for _ in range(5):
        actions = policy.act(obs)
        assert actions.shape == (env.num_slots, env.n_heads)
        obs, _, _, _, infos = env.step(actions)
        assert (infos["invalid_actions"] == 0).all(), "sampled actions respect the masks"
    from neural_mmo.observe.layout import ObsLayout

    other = ObsLayout(trainer.game.override({"observe.n_entities": 5}))
    with pytest.raises(ValueError, match="different observations"):
        TrainedPolicy(path, layout=other)


def test_bad_checkpoints_are_reported(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        read_checkpoint(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": 1}, foreign)
    with pytest.raises(CheckpointError, match="not a neural-mmo-checkpoint"):
        read_checkpoint(foreign)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"worlds": 0}, "worlds must be a positive int"),
        ({"gamma": 1.5}, "gamma must be in"),
        ({"lr": -1.0}, "lr must be > 0"),
        ({"workers": -1}, "workers must be an int >= 0"),
    ],
)
def test_config_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**overrides)


def test_config_overrides_and_toml(tmp_path):
    config = TrainConfig().override({"lr": "1e-3", "anneal_lr": "false", "preset": "medium", "epochs": "3",
                                     "game.resources.food_regrow_prob": "0.05"})  # fmt: skip
    assert (config.lr, config.anneal_lr, config.preset, config.epochs) == (1e-3, False, "medium", 3)
    assert config.game == {"resources.food_regrow_prob": 0.05}
    toml = tmp_path / "t.toml"
    toml.write_text('worlds = 3\nmodel = "recurrent"\n[game]\nresources.food_regrow_prob = 0.05\n')
    config = TrainConfig.from_toml(toml)
    assert config.worlds == 3 and config.model == "recurrent"
    assert config.game == {"resources.food_regrow_prob": 0.05}
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig().override({"learning_rate": "1"})
    toml.write_text("wrlds = 3\n")
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_toml(toml)
    assert set(TrainConfig.docs()) == set(TrainConfig.defaults()) and all(TrainConfig.docs().values())


def test_train_and_eval_commands(tmp_path, capsys):
    out = tmp_path / "cli"
    game = [f"--set=game.{k}={v}" for k, v in TINY_GAME.items()]
    argv = ["train", "--total-steps", "300", "--worlds", "1", "--horizon", "16", "--minibatch", "64",
            "--hidden", "16", "--threads", "1", "--out", str(out), "--quiet", *game]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["perf/agent_steps_per_s"] > 0
    checkpoint = out / "checkpoints" / "latest.pt"
    assert main(["eval", str(checkpoint), "--worlds", "1", "--baselines", "random", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"trained", "random"}
    assert results["trained"]["ticks"] == TINY_GAME["episode.horizon"]
    assert main(["train", "--resume", str(checkpoint), "--total-steps", "600", "--quiet"]) == 0
    assert read_checkpoint(checkpoint)["agent_steps"] >= 600
    assert main(["eval", str(tmp_path / "nothing.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    assert main(["train", "--worlds", "0", "--quiet"]) == 2
    assert "worlds must be a positive int" in capsys.readouterr().err


def test_exported_weights_act_the_same_and_plot(tmp_path):
    from PIL import Image

    from neural_mmo.train.checkpoint import export_weights
    from neural_mmo.train.plot import compare, plot

    trainer = Trainer(tiny(tmp_path, total_steps=400))
    trainer.train(progress=False)
    full = tmp_path / "run" / "checkpoints" / "latest.pt"
    small = export_weights(full, tmp_path / "weights.pt")
    assert small.stat().st_size < full.stat().st_size
    payload = read_checkpoint(small)
    assert payload["optimizers"] is None
    a, _, _ = load_models(full)
    b, _, _ = load_models(small)
    assert _same_state(a[0].state_dict(), b[0].state_dict())
    png = plot(tmp_path / "run", tmp_path / "curve.png", baseline_lifetime=10.0, baseline_lava=0.8)
    assert Image.open(png).size[0] > 300
    runs = {"one": tmp_path / "run", "same": tmp_path / "run" / "metrics.jsonl"}
    both = compare(runs, tmp_path / "both.png")
    assert Image.open(both).size[0] > Image.open(png).size[0]  # two panels side by side
    with pytest.raises(ValueError, match="no metrics"):
        (tmp_path / "empty.jsonl").write_text("")
        compare({"empty": tmp_path / "empty.jsonl"}, tmp_path / "none.png")


def test_the_settings_table_in_the_docs_is_current():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`").replace(",", "")
    defaults = TrainConfig.defaults()
    assert set(rows) == set(defaults)
    for name, value in defaults.items():
        if name == "game":
            continue
        shown = rows[name]
        if isinstance(value, bool):
            assert shown == str(value).lower(), name
        elif isinstance(value, (int, float)):
            assert float(shown) == value, name
        else:
            assert shown == value, name


def test_the_examples_in_the_training_docs_run(tmp_path, monkeypatch):
    """Every Python block of docs/training.md runs as written, on a tiny game and a few steps."""
    import re
    from pathlib import Path

    import neural_mmo.train.config as config_module

    real = config_module.TrainConfig

    def tiny_config(**kwargs):
        return real(**{**kwargs, "game": dict(TINY_GAME), "total_steps": 200, "worlds": 1, "horizon": 8,
                       "minibatch": 64, "threads": 1, "out": str(tmp_path / "doc-run")})  # fmt: skip

    monkeypatch.setattr(config_module, "TrainConfig", tiny_config)
    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).parents[2] / "docs" / "training.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "docs/training.md", "exec"), namespace)
    assert (tmp_path / "doc-run" / "checkpoints" / "latest.pt").is_file()


def test_training_on_worker_processes(tmp_path):
    """--workers: the environment runs in a MultiprocessVecEnv; metrics come from its shared buffers."""
    trainer = Trainer(tiny(tmp_path, workers=1))
    try:
        from neural_mmo.envs.multiprocess import MultiprocessVecEnv

        assert isinstance(trainer.env, MultiprocessVecEnv)
        metrics = trainer.step()
        assert metrics["perf/samples"] > 0 and np.isfinite(metrics["loss/value_loss"])
        assert metrics["env/population_mean"] > 0
        assert trainer.env.event_counts.sum() > 0, "the workers' event totals reach the trainer"
    finally:
        trainer.close()


def test_run_command_plays_a_checkpoint_and_records_it(tmp_path, capsys):
    from neural_mmo.replay import ReplayReader

    replay = tmp_path / "trained.replay"
    argv = ["run", "--policy", "pretrained", "--ticks", "30", "--quiet", "--json", "--record", str(replay)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ticks"] == 30 and summary["agent_steps"] > 0
    assert ReplayReader(replay).ticks.stop == 31
    # a config the models cannot see through, a missing file, and both kinds of agents at once
    assert main(["run", "--policy", "pretrained", "--set", "observe.n_entities=8", "--ticks", "2"]) == 2
    assert "different observations or actions" in capsys.readouterr().err
    assert main(["run", "--policy", str(tmp_path / "none.pt")]) == 2
    with pytest.raises(SystemExit):
        main(["run", "--policy", "pretrained", "--agents", "random"])
