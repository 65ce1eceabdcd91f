"""What a scripted policy is, and the adapter from PettingZoo dicts to batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from neural_mmo.observe.layout import ObsLayout


class Policy(ABC):
    """A batched policy: ``act(observations) -> int32 [n, n_heads]`` (row ``k`` for agent ``k``).

    Rows are agent slots, and slots are reused: :meth:`restart` says which rows hold new agents
    (the play loop, :class:`~neural_mmo.agents.play.Player`, calls it where ``infos["spawned"]``)."""

    name = "policy"
    reads_tables = False
    """Whether :meth:`act` wants the world tables (``market``) beside the per-agent observations:
    the play loop then passes them, ``[num_worlds, ...]``, with ``world_index`` (each row's world;
    ``neural_mmo.envs.vector.with_tables``)."""

    def __init__(self, layout: ObsLayout, seed: int = 0):
        self.layout = layout
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """Actions for a batch of observations (``{key: [n, ...]}``)."""

    def restart(self, rows: np.ndarray) -> None:  # noqa: B027 (a documented no-op, not abstract)
        """The agents in batch ``rows`` (int indices) are new: forget what was kept about the
        agents that had those rows before. A no-op here: the scripted policies keep nothing per
        agent that outlives it (they see a new agent's time alive of 0 in its observation); a
        policy with memory, such as a recurrent model's state, overrides it."""


def act_dict(policy: Policy, obs: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, int]]:
    """Run a batched policy on PettingZoo observations; return ``{agent: {head: value}}``."""
    if not obs:
        return {}
    agents = list(obs)
    keys = obs[agents[0]].keys()
    batch = {k: np.stack([obs[a][k] for a in agents]) for k in keys}
    actions = policy.act(batch)
    names = [h.name for h in policy.layout.heads]
    return {a: dict(zip(names, row)) for a, row in zip(agents, actions.tolist())}


def make_policy(name: str, layout: ObsLayout, seed: int = 0) -> Any:
    """A scripted policy by name (``random``, ``forager``, ``fighter``)."""
    from neural_mmo.agents import POLICIES

    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return POLICIES[name](layout, seed)
