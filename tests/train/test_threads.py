"""The trainer's torch thread count: from the CPUs the process may use, less its environment
workers; an explicit value wins; idle torch threads sleep instead of spinning."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import neural_mmo.train  # noqa: E402
from neural_mmo.cli import main  # noqa: E402
from neural_mmo.train import trainer as trainer_module  # noqa: E402
from neural_mmo.train.config import TrainConfig  # noqa: E402
from neural_mmo.train.trainer import Trainer, choose_threads, idle_cpus  # noqa: E402


@pytest.fixture
def cpus(monkeypatch):
    """Set the affinity mask the trainer sees; idle threads sleep (as under ``neural-mmo train``)."""
    monkeypatch.setattr(neural_mmo.train, "PASSIVE_WAIT", True)

    def set_mask(mask):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(mask), raising=False)

    return set_mask


@pytest.mark.parametrize(
    "mask, workers, expected",
    [
        ({0}, 0, 1),
        ({0, 1, 2, 3}, 0, 4),
        ({0}, 2, 1),
        ({0, 1, 2, 3}, 1, 3),
        ({0, 1, 2, 3}, 2, 2),
        ({5, 7}, 4, 1),
    ],
)
def test_auto_threads_are_the_allowed_cpus_less_the_workers(cpus, mask, workers, expected):
    cpus(mask)
    assert choose_threads("auto", workers) == expected
    assert choose_threads(3, workers) == 3, "an explicit count wins"


def test_the_trainer_takes_its_threads_from_the_affinity_mask(cpus, tmp_path):
    game = {"map.size": 32, "spawn.n_agents": 8, "npc.n_npcs": 0, "episode.horizon": 20}
    before = torch.get_num_threads()
    try:
        for mask, threads, expected in (({0}, "auto", 1), ({0, 1, 2, 3}, 0, 4), ({0, 1, 2, 3}, 2, 2)):
            cpus(mask)
            config = TrainConfig(game=game, worlds=1, hidden=8, threads=threads, out=str(tmp_path))
            trainer = Trainer(config)
            trainer.close()
            assert trainer.threads == expected and torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)


def test_without_an_affinity_mask_all_cpus_count(monkeypatch):
    monkeypatch.setattr(neural_mmo.train, "PASSIVE_WAIT", True)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert choose_threads("auto", 1) == 5


def test_spinning_threads_are_also_held_to_the_cpus_idle_now(monkeypatch):
    """Where torch loaded before ``neural_mmo.train`` could ask its threads to sleep, a busy CPU
    is left alone."""
    monkeypatch.setattr(neural_mmo.train, "PASSIVE_WAIT", False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(trainer_module, "idle_cpus", lambda cpus: 1.1)  # one of two busy
    assert choose_threads("auto") == 1
    monkeypatch.setattr(trainer_module, "idle_cpus", lambda cpus: 1.8)
    assert choose_threads("auto") == 2
    monkeypatch.setattr(trainer_module, "idle_cpus", lambda cpus: None)  # unknown: the mask alone
    assert choose_threads("auto") == 2
    assert choose_threads(2) == 2


def test_idle_cpus_reads_a_share_of_each_cpu():
    mask = trainer_module.allowed_cpus()
    idle = idle_cpus(mask, seconds=0.05)
    assert idle is None or 0.0 <= idle <= len(mask)


@pytest.mark.parametrize("value", [-1, 1.5, "many", True, None, [2]])
def test_invalid_thread_counts_are_refused(value):
    with pytest.raises(ValueError, match="threads must be 'auto', 0 \\(auto\\) or a positive int"):
        TrainConfig(threads=value)
    with pytest.raises(ValueError, match="threads must be"):
        choose_threads(value)


def test_thread_settings_from_the_command_line(capsys):
    assert TrainConfig().threads == "auto"
    assert TrainConfig(threads=0).threads == "auto"
    assert TrainConfig().override({"threads": "auto"}).threads == "auto"
    assert TrainConfig().override({"threads": "3"}).threads == 3
    assert main(["train", "--threads", "many", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "threads must be 'auto', 0 (auto) or a positive int, got 'many'" in err and "Traceback" not in err


def test_torch_threads_sleep_when_idle_unless_the_user_chose():
    """``neural_mmo.train`` asks OpenMP for sleeping idle threads before torch loads (so in every
    command); a value the user set is kept."""
    code = "import neural_mmo.train as t, torch, os; print(os.environ['OMP_WAIT_POLICY'], t.PASSIVE_WAIT)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PASSIVE", "True"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ACTIVE", "False"]
