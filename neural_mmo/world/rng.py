"""Randomness: one SeedSequence per episode spawns one Generator per system.

Each system's stream is keyed by the system's *name* (a stable CRC of it), so adding a system
never changes the numbers any other system draws. There is no global RNG anywhere in the project.
"""

from __future__ import annotations

import zlib

import numpy as np

SYSTEMS = ("terrain", "spawn", "movement", "regrowth")
"""Systems that draw random numbers. Later systems append their names here."""


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int, or raise a clear error (None is handled by the callers)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return int(seed)


def episode_seed(seed: int, world_index: int, episode: int) -> np.random.SeedSequence:
    """The seed of one episode of one world: distinct for every (seed, world, episode)."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(world_index, episode))


def system_rngs(seq: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One independent PCG64 Generator per entry of :data:`SYSTEMS`."""
    return {
        name: np.random.Generator(
            np.random.PCG64(
                np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, zlib.crc32(name.encode())))
            )
        )
        for name in SYSTEMS
    }
