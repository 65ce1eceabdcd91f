"""A policy playing a batched env: the one loop behind ``neural-mmo run``, the viewer's live world,
evaluation, scripted replays and the benchmark.

:class:`Player` holds the env, the policy and the latest step's outputs. Each tick the policy acts
on the env's flat observation buffers and the env steps; after every reset and step the policy's
:meth:`~neural_mmo.agents.base.Policy.restart` is given the rows where ``infos["spawned"]`` (new
agents in reused slots), and a :class:`~neural_mmo.stats.RunStats`, if given, records the tick and
closes the episodes that ended. :meth:`Player.run` is a generator of ticks, so a caller adds its
own work per tick (a replay, a progress bar) in a plain ``for`` loop; the viewer calls
:meth:`Player.step` once per frame; the benchmark times :meth:`Player.apply` alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neural_mmo.agents.base import Policy
from neural_mmo.envs.vector import with_tables
from neural_mmo.stats import RunStats

if TYPE_CHECKING:
    from neural_mmo.config import Config
    from neural_mmo.envs.vector import VecEnv


class Player:
    """``policy`` playing every world of ``env`` (a :class:`~neural_mmo.envs.vector.VecEnv` or a
    :class:`~neural_mmo.envs.multiprocess.MultiprocessVecEnv`; ``stats`` needs the former, which
    holds its worlds in this process).

    Call :meth:`reset` first, then :meth:`step` (or iterate :meth:`run`), then :meth:`finish` to
    close the episodes still running in ``stats``. The latest outputs are attributes:
    ``observations``, ``rewards``, ``terminations``, ``truncations``, ``infos`` (the env's buffers,
    overwritten by the next step).
    """

    def __init__(self, env: VecEnv | Any, policy: Policy, stats: RunStats | None = None):
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a neural_mmo.agents.Policy, got {type(policy).__name__}")
        if stats is not None and not hasattr(env, "worlds"):
            raise TypeError(f"stats read the worlds' states, which a {type(env).__name__} does not hold here")
        self.env = env
        self.policy = policy
        self.stats = stats
        self.observations: dict[str, np.ndarray] | None = None
        self.infos: dict[str, np.ndarray] | None = None
        self.rewards: np.ndarray | None = None
        self.terminations: np.ndarray | None = None
        self.truncations: np.ndarray | None = None
        self._tells = getattr(policy.restart, "__func__", None) is not Policy.restart
        """Whether the policy has a restart of its own: the base one does nothing, so a scripted
        policy's steps skip looking for spawned rows (the benchmark times this path)."""
        self._open = np.zeros(0, np.bool_)  # per world: an episode runs that stats has not closed

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode in every world (``seed``: see ``VecEnv.reset``)."""
        self.observations, self.infos = self.env.reset(seed=seed)
        self._open = np.ones(len(self.env.episode_done), np.bool_)
        self._restart()
        if self.stats is not None:
            self.stats.record(self.env.worlds, stepped=False)

    def act(self) -> np.ndarray:
        """The policy's actions for the current observations."""
        if self.observations is None:
            raise RuntimeError("call reset() before playing")
        if self.policy.reads_tables:
            return self.policy.act(with_tables(self.env, self.observations))
        return self.policy.act(self.observations)

    def apply(self, actions: Any) -> None:
        """Step the env with ``actions`` (usually :meth:`act`'s), then restart spawned rows and
        record the tick."""
        self.observations, self.rewards, self.terminations, self.truncations, self.infos = self.env.step(
            actions
        )
        self._restart()
        if self.stats is not None:
            self._record()

    def step(self) -> None:
        """One tick: the policy acts, the env steps."""
        self.apply(self.act())

    def run(self, ticks: int, *, until_done: bool = False) -> Iterator[int]:
        """Play ``ticks`` ticks, yielding after each (the count of ticks played so far, from 1);
        with ``until_done``, stop early once every world's episode has ended."""
        if isinstance(ticks, bool) or not isinstance(ticks, (int, np.integer)) or ticks < 0:
            raise ValueError(f"ticks must be a non-negative int, got {ticks!r}")
        for played in range(1, int(ticks) + 1):
            if until_done and self.env.episode_done.all():
                return
            self.step()
            yield played

    def finish(self) -> None:
        """Close, in ``stats``, the episodes still running (their living agents' lifetimes are
        counted up to now); call once at the end of a run."""
        if self.stats is not None:
            self.stats.finish([self.env.worlds[w] for w in np.flatnonzero(self._open)])
        self._open[:] = False

    # ------------------------------------------------------------------ internals

    def _restart(self) -> None:
        if not self._tells:
            return
        spawned = self.infos["spawned"]  # type: ignore[index]
        if spawned.any():
            self.policy.restart(np.flatnonzero(spawned))

    def _record(self) -> None:
        """Add the tick to ``stats`` and close the episodes that ended on it. A world whose episode
        ended stays closed until a step (an autoreset) or :meth:`reset` starts its next one."""
        worlds = self.env.worlds
        self.stats.record(worlds)  # type: ignore[union-attr]
        done = self.env.episode_done
        ended = np.flatnonzero(done & self._open)
        if ended.size:
            self.stats.finish([worlds[w] for w in ended])  # type: ignore[union-attr]
        np.logical_not(done, out=self._open)


def play(
    env: VecEnv | Any, policy: Policy, ticks: int, *, until_done: bool = False, stats: RunStats | None = None,
    seed: int | None = None,
) -> RunStats:  # fmt: skip
    """Reset ``env`` (with ``seed``), play ``ticks`` ticks (fewer with ``until_done``: see
    :meth:`Player.run`) and close the episodes; returns the run's statistics (added to ``stats``
    when given, so several runs can share one)."""
    player = Player(env, policy, RunStats() if stats is None else stats)
    player.reset(seed)
    for _ in player.run(ticks, until_done=until_done):
        pass
    player.finish()
    return player.stats  # type: ignore[return-value]


def record_scripted_run(
    path: str | os.PathLike[str], config: Config, seed: int, ticks: int, policy: str = "fighter"
) -> Path:
    """Record one world played by a scripted ``policy`` for ``ticks`` ticks (or until its episode
    ends) to ``path``; returns the path. Demos, viewer checks and tests."""
    from neural_mmo.agents.base import make_policy
    from neural_mmo.envs.vector import VecEnv
    from neural_mmo.replay import ReplayWriter

    vec = VecEnv(1, config=config, seed=seed, autoreset=False)
    player = Player(vec, make_policy(policy, vec.layout, seed))
    player.reset()
    with ReplayWriter(path, config, seed) as writer:
        writer.record(vec.worlds[0])
        for _ in player.run(ticks, until_done=True):
            writer.record(vec.worlds[0])
    return Path(path)
