"""Checkpoints are read as tensors and plain data only: a file that would run code is refused by
every command that loads one, and a damaged file gives a CheckpointError naming what is wrong."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from neural_mmo.cli import main  # noqa: E402
from neural_mmo.train.checkpoint import (  # noqa: E402
    FORMAT,
    PRETRAINED,
    CheckpointError,
    TrainedPolicy,
    load_models,
    read_checkpoint,
)
from neural_mmo.train.trainer import Trainer  # noqa: E402

TINY_GAME = {"map.size": 32, "spawn.n_agents": 16, "npc.n_npcs": 4, "episode.horizon": 40}


class CreatesFile:
    """Unpickled without ``weights_only``, this object opens (so creates) ``path``: a stand-in
    for any command a hostile checkpoint could run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A real checkpoint after one training step (Adam's moments are there)."""
    from neural_mmo.train.config import TrainConfig

    tmp = tmp_path_factory.mktemp("good")
    config = TrainConfig(game=dict(TINY_GAME), worlds=1, horizon=8, minibatch=64, hidden=16,
                         total_steps=1_000, threads=1, out=str(tmp / "run"))  # fmt: skip
    trainer = Trainer(config)
    trainer.step()
    path = trainer.save(tmp / "good.pt")
    trainer.close()
    return path


def _malicious(good, tmp_path, marker):
    """A checkpoint that is right in every entry but also holds an object that creates ``marker``."""
    payload = torch.load(good, weights_only=True)
    payload["notes"] = CreatesFile(marker)
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    return path


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(good, tmp_path):
    marker = tmp_path / "created-by-the-checkpoint"
    evil = _malicious(good, tmp_path, marker)
    for load in (read_checkpoint, load_models, TrainedPolicy, Trainer.resume):
        with pytest.raises(CheckpointError, match="something other than tensors and plain data") as err:
            load(evil)
        assert "GLOBAL io.open" in str(err.value) and "refused" in str(err.value)
        assert not marker.exists(), f"{load.__qualname__} ran the checkpoint's code"
    # the same refusal for a plain pickle and for a lone object
    import pickle

    lone = tmp_path / "lone.pt"
    torch.save(CreatesFile(marker), lone)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"format": FORMAT, "version": 1, "x": CreatesFile(marker)}))
    for path in (lone, raw):
        with pytest.raises(CheckpointError, match="refused"):
            read_checkpoint(path)
    assert not marker.exists()
    # control: the file really is hostile when loaded the unsafe way
    torch.load(evil, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "{path}", "--worlds", "1", "--baselines", "random"],
        ["train", "--resume", "{path}", "--quiet", "--out", "{out}"],
        ["run", "--policy", "{path}", "--ticks", "2"],
        ["serve", "--policy", "{path}", "--port", "0"],
    ],
    ids=["eval", "train-resume", "run-policy", "serve-policy"],
)
def test_every_command_refuses_a_checkpoint_that_would_run_code(good, tmp_path, capsys, argv):
    marker = tmp_path / "created-by-the-checkpoint"
    payload = {"format": FORMAT, "version": 1, "train_config": CreatesFile(marker)}
    evil = tmp_path / "evil.pt"
    torch.save(payload, evil)
    argv = [a.format(path=evil, out=tmp_path / "out") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "refused" in err and str(evil) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not marker.exists()


def _damage(good, tmp_path, change):
    payload = torch.load(good, weights_only=True)
    change(payload)
    path = tmp_path / "damaged.pt"
    torch.save(payload, path)
    return path


def _model(p):
    return p["models"][0]


def _adam(p):
    return p["optimizers"][0]


DAMAGED = {
    "missing key": (lambda p: p.pop("models"), "missing models"),
    "models not a list": (lambda p: p.update(models={"a": 1}), "models must be a list"),
    "models empty": (lambda p: p.update(models=[]), "0 weight tables in models for 1 population"),
    "models of strings": (
        lambda p: p.update(models=["abc"]),
        r"models\[0\] must be a table of named tensors",
    ),
    "a weight missing": (lambda p: _model(p).pop("output.value.bias"), "missing output.value.bias"),
    "an extra weight": (lambda p: _model(p).update(extra=torch.zeros(2)), "unexpected extra"),
    "a weight not a tensor": (
        lambda p: _model(p).update({"output.value.bias": [0.0]}),
        "must be a dense tensor",
    ),
    "a wrong shape": (
        lambda p: _model(p).update({"output.value.weight": torch.zeros(1, 3)}),
        r"output.value.weight has shape \(1, 3\), the model's is \(1, 16\)",
    ),
    "a wrong dtype": (
        lambda p: _model(p).update({"output.value.bias": torch.zeros(1, dtype=torch.float64)}),
        "output.value.bias has dtype torch.float64, the model's is torch.float32",
    ),
    "non-finite weights": (
        lambda p: _model(p)["output.value.bias"].fill_(float("nan")),
        "output.value.bias holds non-finite values",
    ),
    "a wrong state dict": (
        lambda p: p.update(models=[_adam(p)]),
        "the weights do not fit a Simple model: missing",
    ),
    "wrong version": (lambda p: p.update(version=2), "checkpoint version 2, this reads 1"),
    "wrong format": (lambda p: p.update(format="other"), "not a neural-mmo-checkpoint file"),
    "train config wrong": (lambda p: p["train_config"].update(hidden="wide"), "train_config: .*hidden"),
    "train config unknown field": (
        lambda p: p["train_config"].update(colour=1),
        "train_config: unknown field",
    ),
    "game config not TOML": (lambda p: p.update(game_config="[[["), "game_config"),
    "game config invalid": (lambda p: p.update(game_config="[map]\nsize = -4\n"), "game_config: .*map.size"),
    "negative counter": (lambda p: p.update(iteration=-1), "iteration must be an int >= 0"),
    "counter a string": (lambda p: p.update(agent_steps="9"), "agent_steps must be an int >= 0"),
    "optimizers wrong count": (lambda p: p.update(optimizers=[]), "0 optimizer states for 1 models"),
}

RESUME_ONLY = {
    "optimizer moment of the wrong shape": (
        lambda p: next(iter(_adam(p)["state"].values())).update(exp_avg=torch.zeros(7, 7)),
        r"optimizers\[0\]: state\[0\].exp_avg is a tensor of shape \(7, 7\)",
    ),
    "optimizer for other parameters": (
        lambda p: _adam(p)["param_groups"][0].update(params=[0, 1]),
        r"optimizers\[0\]: param_groups\[0\] does not hold the model's",
    ),
    "optimizer not a state": (lambda p: p.update(optimizers=[[1, 2]]), r"optimizers\[0\]: must be a table"),
    "optimizer setting of the wrong kind": (
        lambda p: _adam(p)["param_groups"][0].update(betas="fast"),
        r"param_groups\[0\].betas is",
    ),
    "torch random state cut short": (
        lambda p: p.update(torch_rng=torch.zeros(3, dtype=torch.uint8)),
        "torch_rng",
    ),
    "numpy random state wrong": (
        lambda p: p.update(numpy_rng={"bit_generator": "MT19937", "state": {}}),
        "numpy_rng",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_checkpoint_is_a_checkpoint_error_naming_the_problem(good, tmp_path, capsys, case):
    change, message = DAMAGED[case]
    path = _damage(good, tmp_path, change)
    with pytest.raises(CheckpointError, match=message):
        load_models(path)
    with pytest.raises(CheckpointError, match=message):
        Trainer.resume(path, out=str(tmp_path / "out"))
    assert main(["eval", str(path), "--worlds", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neural-mmo: error: ") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("case", sorted(RESUME_ONLY))
def test_a_damaged_training_state_is_a_checkpoint_error_naming_the_problem(good, tmp_path, capsys, case):
    change, message = RESUME_ONLY[case]
    path = _damage(good, tmp_path, change)
    with pytest.raises(CheckpointError, match=message):
        Trainer.resume(path, out=str(tmp_path / "out"))
    before = torch.get_rng_state()
    assert main(["train", "--resume", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neural-mmo: error: ") and len(err.strip().splitlines()) == 1, err
    assert torch.equal(torch.get_rng_state(), before), "a refused checkpoint changes no random state"


def test_a_resume_whose_overrides_change_the_model_names_the_misfit(good, tmp_path):
    with pytest.raises(CheckpointError, match="has shape"):
        Trainer.resume(good, hidden=32, out=str(tmp_path / "out"))
    with pytest.raises(CheckpointError, match="1 weight tables for 2 population"):
        Trainer.resume(good, populations=2, out=str(tmp_path / "out"))


def test_a_non_regular_file_is_refused_without_waiting(tmp_path):
    import os

    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_checkpoint(fifo)


def test_checkpoints_written_before_hold_plain_data_and_load(good):
    """The shipped checkpoint (written before the loader was restricted) and a full training
    checkpoint load as they are; their weights are the file's, bit for bit."""
    models, config, _ = load_models("pretrained")
    raw = torch.load(PRETRAINED, weights_only=True)
    for name, tensor in models[0].state_dict().items():
        assert torch.equal(tensor, raw["models"][0][name]), name
    assert config.preset == "small"
    payload = read_checkpoint(good)
    assert payload["numpy_rng"]["bit_generator"] == "PCG64"
    assert isinstance(payload["numpy_rng"]["state"]["state"], int)
    assert copy.deepcopy(payload)["iteration"] == 1
