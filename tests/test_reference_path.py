"""The compiled path and the reference path (the same code interpreted, NUMBA_DISABLE_JIT=1)
give identical worlds: same state hash, same observations, rewards and events, tick by tick.
(Their speed ratio is checked by ``make bench-check``, never here.)"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_check.py"


def load_check():
    spec = importlib.util.spec_from_file_location("bench_check", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("preset", ["small"])
def test_compiled_and_interpreted_paths_agree(preset):
    check = load_check()
    compiled = check.run(preset, 12, 3, jit=True)
    interpreted = check.run(preset, 12, 3, jit=False)
    assert compiled["state_hash"] == interpreted["state_hash"]
    assert compiled["stream"] == interpreted["stream"]


def test_a_different_seed_gives_a_different_world():
    """Negative control: the digests do tell worlds apart."""
    check = load_check()
    script = check.RUN.replace("seed=7)", "seed=8)")
    command = [sys.executable, "-W", "ignore", "-c", script, "small", "12", "3"]
    out = subprocess.run(
        command, env=dict(os.environ), cwd=CHECK.parent, capture_output=True, text=True, check=True
    )
    other = json.loads(out.stdout.strip().splitlines()[-1])
    assert other["state_hash"] != check.run("small", 12, 3, jit=True)["state_hash"]
