"""The training device: ``--device auto|cpu|cuda|cuda:N`` chosen, validated and honoured."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from neural_mmo.cli import main  # noqa: E402
from neural_mmo.config import ConfigError  # noqa: E402
from neural_mmo.train.checkpoint import load_models, read_checkpoint  # noqa: E402
from neural_mmo.train.config import TrainConfig  # noqa: E402
from neural_mmo.train.trainer import Trainer, choose_device  # noqa: E402

TINY_GAME = {"map.size": 32, "spawn.n_agents": 16, "npc.n_npcs": 4, "episode.horizon": 40}
CUDA = torch.cuda.is_available()


def tiny(tmp_path, **overrides) -> TrainConfig:
    values = dict(game=dict(TINY_GAME), worlds=2, horizon=16, minibatch=128, epochs=2, hidden=16,
                  total_steps=1_000, threads=1, out=str(tmp_path / "run"), checkpoint_every=1000)  # fmt: skip
    return TrainConfig(**{**values, **overrides})


@pytest.fixture
def gpus(monkeypatch):
    """Pretend PyTorch sees ``n`` GPUs (``gpus(n)``); nothing runs on them."""

    def pretend(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return pretend


def test_auto_is_cuda_exactly_when_pytorch_sees_a_gpu(gpus):
    gpus(0)
    assert choose_device("auto") == torch.device("cpu")
    gpus(2)
    assert choose_device("auto") == torch.device("cuda")
    assert choose_device("cuda") == torch.device("cuda")
    assert choose_device("cuda:1") == torch.device("cuda", 1)
    assert choose_device("cpu") == torch.device("cpu")


def test_a_gpu_that_is_not_there_is_refused_with_the_reason(gpus):
    gpus(0)
    with pytest.raises(ValueError, match="'cuda': CUDA is not available.*--device cpu"):
        choose_device("cuda")
    gpus(1)
    with pytest.raises(ValueError, match=r"'cuda:3': this machine has 1 CUDA device\(s\), cuda:0..cuda:0"):
        choose_device("cuda:3")


@pytest.mark.parametrize("name", ["gpu", "CUDA", "cuda:", "cuda:x", "mps", "", "cpu:0"])
def test_unknown_device_names_are_config_errors(name):
    with pytest.raises(ConfigError, match=f"device: {name!r} is not one of auto, cpu, cuda or cuda:N"):
        TrainConfig(device=name)
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N"):
        choose_device(name)


def test_the_cpu_setting_is_honoured_even_with_a_gpu_in_sight(tmp_path, gpus):
    gpus(1)  # auto would pick CUDA; cpu must not
    seen: set[torch.device] = set()

    def recording(layout):
        from neural_mmo.train.models import Simple

        class Recording(Simple):
            def forward(self, obs, state=None):
                seen.update(v.device for v in obs.values())
                return super().forward(obs, state)

        return Recording(layout, hidden=16)

    trainer = Trainer(tiny(tmp_path, device="cpu"), model_factory=recording)
    try:
        assert trainer.device == torch.device("cpu")
        assert {p.device for m in trainer.models for p in m.parameters()} == {torch.device("cpu")}
        metrics = trainer.step()
        assert metrics["perf/samples"] > 0
    finally:
        trainer.close()
    assert seen == {torch.device("cpu")}, "acting and updating fed the model on its device"


def test_auto_trains_on_the_cpu_without_a_gpu(tmp_path, gpus):
    gpus(0)
    trainer = Trainer(tiny(tmp_path))
    try:
        assert trainer.config.device == "auto" and trainer.device == torch.device("cpu")
    finally:
        trainer.close()


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
def test_the_command_refuses_cuda_without_a_gpu_and_unknown_names(tmp_path, capsys):
    base = ["train", "--total-steps", "100", "--threads", "1", "--out", str(tmp_path / "r"), "--quiet"]
    assert main([*base, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "device 'cuda': CUDA is not available" in err
    assert main([*base, "--device", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "device: 'gpu' is not one of auto, cpu, cuda or cuda:N" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_the_command_trains_on_the_device_it_is_given(tmp_path, capsys):
    out = tmp_path / "cli"
    game = [f"--set=game.{k}={v}" for k, v in TINY_GAME.items()]
    argv = ["train", "--total-steps", "200", "--worlds", "1", "--horizon", "16", "--minibatch", "64",
            "--hidden", "16", "--threads", "1", "--out", str(out), "--quiet", "--device", "cpu",
            *game]  # fmt: skip
    assert main(argv) == 0
    assert "on cpu with 1 torch threads" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["device"] == "cpu"


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_training_on_cuda_keeps_everything_there_and_checkpoints_load_on_cpu(tmp_path):
    trainer = Trainer(tiny(tmp_path, device="cuda", model="recurrent"))
    try:
        assert trainer.device.type == "cuda"
        for _ in range(2):
            metrics = trainer.step()
        assert metrics["perf/samples"] > 0 and metrics["loss/value_loss"] == metrics["loss/value_loss"]
        assert {p.device.type for m in trainer.models for p in m.parameters()} == {"cuda"}
        assert all(s.device.type == "cuda" for s in trainer.states[0])
        path = trainer.save(tmp_path / "gpu.pt")
    finally:
        trainer.close()
    payload = read_checkpoint(path)
    assert all(t.device.type == "cpu" for t in payload["models"][0].values())
    models, _, _ = load_models(path)
    assert next(models[0].parameters()).device.type == "cpu"
    resumed = Trainer.resume(path, device="cpu")
    try:
        assert resumed.step()["perf/samples"] > 0
    finally:
        resumed.close()
