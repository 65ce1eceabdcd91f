"""Uniformly random actions among those the action mask allows."""

from __future__ import annotations

import numba
import numpy as np

from neural_mmo.agents.base import Policy


@numba.njit(cache=True)
def sample_masked(
    action_mask: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, rng: np.random.Generator, out: np.ndarray
) -> None:
    """``out[i, h]``: a uniform choice among the allowed values of head ``h`` (0 if none is)."""
    for i in range(action_mask.shape[0]):
        for h in range(offsets.shape[0]):
            allowed = 0
            for v in range(sizes[h]):
                allowed += action_mask[i, offsets[h] + v] != 0
            out[i, h] = 0
            if allowed == 0:
                continue
            pick = rng.integers(0, allowed)
            for v in range(sizes[h]):
                if action_mask[i, offsets[h] + v] != 0:
                    if pick == 0:
                        out[i, h] = v
                        break
                    pick -= 1


class RandomPolicy(Policy):
    """Every head uniform over its allowed values (lava is allowed: random agents walk into it)."""

    name = "random"

    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        mask = observations["action_mask"]
        out = np.zeros((mask.shape[0], len(self.layout.heads)), np.int32)
        sample_masked(mask, self.layout.action_offsets, self.layout.action_sizes, self.rng, out)
        return out
