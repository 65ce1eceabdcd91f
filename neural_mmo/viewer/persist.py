"""Persistent live worlds: saving and restoring a :class:`~neural_mmo.viewer.server.LiveSource`.

A live save is a VecEnv save (``docs/saves.md``) of kind ``live`` plus the state of a scripted
policy (its name, its numpy random state and its array attributes, such as a forager's per-slot
heading), so a resumed world with the same scripted agents continues bit-identically. A trained
policy's recurrent state is not saved: after a restore it restarts in every slot.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from neural_mmo.world.snapshot import SaveError, SaveFile, read_save, write_save


def save_live(source: Any, path: str | os.PathLike[str]) -> None:
    """Save ``source``'s world, env bookkeeping and scripted policy state to ``path``, atomically."""
    meta, arrays = source.vec.snapshot()
    state = policy_state(source.policy)
    if state is not None:
        meta["policy"] = state[0]
        arrays.update({f"policy.{name}": array for name, array in state[1].items()})
    write_save(path, "live", source.vec.config, arrays, meta)


def restore_live(source: Any, path: str | os.PathLike[str] | SaveFile) -> None:
    """Continue ``source`` from a live save (or a one-world VecEnv save) of its config; a scripted
    policy of the saved name takes its saved state, any other policy restarts in every slot.
    Raises :class:`SaveError` and changes nothing when the file is bad."""
    save = path if isinstance(path, SaveFile) else read_save(path, ("live", "vec"))
    if isinstance(path, SaveFile):
        path = "save"
    meta = save.meta.pop("policy", None)
    arrays = {k[len("policy.") :]: save.arrays.pop(k) for k in list(save.arrays) if k.startswith("policy.")}
    commit = checked_policy_state(source.policy, meta, arrays, path)
    source.vec.restore_snapshot(save, path)
    if commit is not None:
        commit()
        return
    restart = getattr(source.policy, "restart", None)
    if restart is not None:
        restart(np.arange(source.vec.num_slots))


def policy_state(policy: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """``(meta, arrays)`` of a scripted policy: its name, its numpy random state and its array
    attributes; None for any other policy."""
    from neural_mmo.agents import POLICIES

    if type(policy) not in POLICIES.values():
        return None
    arrays = {k: v for k, v in vars(policy).items() if isinstance(v, np.ndarray)}
    return {"name": policy.name, "rng": policy.rng.bit_generator.state}, arrays


def checked_policy_state(
    policy: Any, meta: Any, arrays: dict[str, np.ndarray], path: Any
) -> Callable[[], None] | None:
    """A function that puts a saved scripted-policy state into ``policy`` (checked here, so it
    cannot fail), or None when the save holds no state for this policy."""
    mine = policy_state(policy)
    if mine is None or not isinstance(meta, dict) or meta.get("name") != policy.name:
        return None
    stream = type(policy.rng.bit_generator)()
    try:
        stream.state = meta["rng"]
    except (KeyError, TypeError, ValueError) as err:
        raise SaveError(f"{path}: corrupt save (the policy's random state: {err})") from None
    if set(arrays) != set(mine[1]):
        raise SaveError(f"{path}: corrupt save (policy arrays {sorted(arrays)}, expected {sorted(mine[1])})")
    for name, live in mine[1].items():
        saved = arrays[name]
        if saved.dtype != live.dtype or saved.ndim != live.ndim:
            raise SaveError(f"{path}: corrupt save (the policy's {name} is {saved.dtype}{list(saved.shape)})")

    def commit() -> None:
        policy.rng.bit_generator.state = stream.state
        for name in mine[1]:
            setattr(policy, name, arrays[name])

    return commit
