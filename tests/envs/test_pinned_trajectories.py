"""Pinned trajectories: digests of long runs, recorded once, that every later change must reproduce.

A rule change must update these digests in the same commit and say why; a refactor must leave them
alone. Each digest covers every tick's observation buffers, rewards, terminations, truncations,
infos and the world's event log, and the state hash every ``HASH_EVERY`` ticks, for every world
of a VecEnv driven by seeded scripted policies (fighters in world 0, random actions over the
masks in world 1).

To re-record after an intended rule change: ``python tests/envs/test_pinned_trajectories.py``.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pytest

from neural_mmo.agents import FighterPolicy, RandomPolicy
from neural_mmo.envs.vector import VecEnv

TICKS = 2000
HASH_EVERY = 25

RUNS = {
    "small": {"preset": "small"},
    "medium": {"preset": "medium"},
    "large": {"preset": "large"},
    "small-persistent": {"preset": "small", "episode__persistent": True, "spawn__mode": "continuous"},
}

PINNED = {
    "small": "ec7e01da536bbf0f7c91b76f97ec081d5fa333539f3aa8c1e62a5d6f532b9fcb",
    "medium": "db020e40ddfa1b2ff836468dc3b3cb18c38ad333414b501b2c184a1ec8486cfd",
    "large": "f5d9745dd1dddcf1b4581fed8d46a56f91f7047da17492ff0834fb46d2655ea0",
    "small-persistent": "1ef057a4fec42befb6fd04c465f4d20b1077ba0326dc32bc5ad940920cc92009",
}


def trajectory_digest(name: str, ticks: int = TICKS) -> str:
    """SHA-256 over everything a run of ``ticks`` steps shows, tick by tick."""
    kwargs = dict(RUNS[name])
    preset = kwargs.pop("preset")
    env = VecEnv(2, preset, seed=11, **kwargs)
    S = env.slots_per_world
    policies = [FighterPolicy(env.layout, seed=5), RandomPolicy(env.layout, seed=6)]
    h = hashlib.sha256()
    obs, infos = env.reset()
    actions = np.zeros((env.num_slots, env.n_heads), np.int64)
    for _ in range(ticks):
        for w, policy in enumerate(policies):
            block = slice(w * S, (w + 1) * S)
            actions[block] = policy.act({k: v[block] for k, v in obs.items()})
        obs, rewards, terms, truncs, infos = env.step(actions)
        for key in sorted(obs):
            h.update(obs[key].tobytes())
        for array in (rewards, terms, truncs, *(infos[k] for k in sorted(infos))):
            h.update(np.ascontiguousarray(array).tobytes())
        for world in env.worlds:
            h.update(world.events.table[: world.events.counts[0]].tobytes())
            if world.tick % HASH_EVERY == 0:
                h.update(world.state_hash().encode())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(RUNS))
def test_trajectory_matches_the_pinned_digest(name):
    assert trajectory_digest(name) == PINNED[name]


if __name__ == "__main__":
    for run in sys.argv[1:] or sorted(RUNS):
        print(f'    "{run}": "{trajectory_digest(run)}",')
