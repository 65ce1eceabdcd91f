"""The code in docs/api.md and in the package docstring runs as written."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import neural_mmo
from neural_mmo.agents import ForagerPolicy, act_dict
from neural_mmo.world.events import EventKind

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def guide_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_the_guide_has_examples():
    assert len(guide_blocks()) >= 4


def test_every_guide_example_runs_in_order():
    namespace: dict = {}
    for block in guide_blocks():
        exec(compile(block, str(GUIDE), "exec"), namespace)
    assert "report" in namespace and namespace["report"]["ticks"] > 0
    assert namespace["sc"].material_at(1, 3).name == "SCRUB"
    env = namespace["env"]  # the guide's last env: the one with the `meals` reward function
    policy = ForagerPolicy(env.layout, seed=0)
    obs, _ = env.reset(seed=0)
    rewarded = 0
    for _ in range(30):
        obs, rewards, _, _, infos = env.step(act_dict(policy, {a: obs[a] for a in env.agents}))
        ate = {int(s) for s in env.world.events.slot[env.world.events.of_kind(EventKind.EAT)]}
        for name, reward in rewards.items():
            slot = env._slot_of.get(name)
            if slot is not None and infos[name]["alive"]:
                assert reward == pytest.approx(0.1 if slot in ate else 0.0)
                rewarded += slot in ate
    assert rewarded > 0


def test_package_docstring_quick_start_runs():
    code = re.search(r"Quick start::\n\n(.*?)\n\"\"\"|Quick start::\n\n(.*)", neural_mmo.__doc__, flags=re.S)
    assert code is not None
    text = "\n".join(line[4:] for line in (code.group(1) or code.group(2)).splitlines())
    text = text.replace('parallel_env("small")', 'parallel_env("small", horizon=50)')
    namespace: dict = {}
    exec(compile(text, "neural_mmo.__doc__", "exec"), namespace)
    assert namespace["env"].agents == []


@pytest.mark.parametrize("module", ["neural_mmo.testing.scenario"])
def test_module_docstring_examples_run(module):
    doc = importlib.import_module(module).__doc__
    block = doc.split("Example::", 1)[1].split("\n\n", 2)[1]
    text = "\n".join(line[4:] for line in block.splitlines())
    namespace: dict = {}
    header = (
        "from neural_mmo.testing import Scenario\nfrom neural_mmo.world.vocabulary import Direction\n"
    )
    exec(header + text, namespace)
    assert namespace["sc"].pos(0) == (1, 2)
