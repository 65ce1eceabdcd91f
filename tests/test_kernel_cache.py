"""The compiled-kernel cache is keyed by the package sources, so an edit never runs stale code."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import neural_mmo
from neural_mmo._kernel_cache import sources_digest

PACKAGE = Path(neural_mmo.__file__).resolve().parent


def test_digest_changes_when_any_source_changes(tmp_path):
    copy = tmp_path / "neural_mmo"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = sources_digest(copy)
    assert before == sources_digest(PACKAGE)
    movement = copy / "world" / "systems" / "movement.py"
    movement.write_text(movement.read_text() + "\n# edited\n")
    assert sources_digest(copy) != before


def test_the_cache_folder_is_named_after_the_digest():
    assert neural_mmo.KERNEL_CACHE is not None
    assert neural_mmo.KERNEL_CACHE.name == f"kernels-{sources_digest(PACKAGE)}"


def test_an_edited_callee_takes_effect_in_the_tick(tmp_path):
    """Numba alone would serve the cached tick, which compiled the old movement rule into itself."""
    copy = tmp_path / "pkg" / "neural_mmo"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(
        """
        import numpy as np
        from neural_mmo.testing import Scenario
        sc = Scenario('''
            0...
            ....
            ....
            ....
        ''')
        import neural_mmo
        assert neural_mmo.__file__.startswith({root!r}), neural_mmo.__file__
        sc.step({0: 3})  # east
        print(sc.pos(0))
        """
    ).replace("{root!r}", repr(str(copy)))
    env = {
        "PYTHONPATH": str(copy.parent),
        "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
    }

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
        )

    assert run().stdout.strip() == "(0, 1)"
    movement = copy / "world" / "systems" / "movement.py"
    rule = "if d <= 0 or d >= N_DIRECTIONS"  # the test that skips a no-op move
    source = movement.read_text()
    assert source.count(rule) == 1, "the movement kernel's skip test moved; update this test"
    movement.write_text(source.replace(rule, "if True or " + rule[3:]))
    assert run().stdout.strip() == "(0, 0)"  # the edit is honoured: nobody moves any more
