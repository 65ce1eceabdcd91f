"""Randomness: one SeedSequence per episode, one independent stream per system.

Systems that run every tick draw from a *stream*: a ``uint64 [4]`` xoshiro256** state that numba
kernels advance in place (``uniform(stream)``, ``below(stream, n)``, ``geometric(stream, p)``).
A numpy ``Generator`` would do the same job, but numba needs about 5 us to unbox one on every
kernel call, against 0.1 us for an array; with several systems per tick that alone would cost
more than the rules. Map generation, which runs once per episode and is vectorised, takes a numpy
``Generator`` (:func:`terrain_generator`).

Each stream is keyed by its system's *name* (a CRC of it), so adding a system never changes the
numbers any other system draws. There is no global RNG and no time-based seed anywhere.
"""

from __future__ import annotations

import math
import zlib
from enum import IntEnum

import numpy as np

from neural_mmo.world.kernel import kernel


class Stream(IntEnum):
    """Row of each system's stream in the ``streams`` array. Later systems append rows."""

    SPAWN = 0
    MOVEMENT = 1
    REGROWTH = 2
    COMBAT = 3
    NPC = 4


_U11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


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


def _child(seq: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, zlib.crc32(name.encode())))


def system_streams(seq: np.random.SeedSequence) -> np.ndarray:
    """``uint64 [len(Stream), 4]``: row ``Stream.X`` is system X's xoshiro256** state (never all 0)."""
    streams = np.zeros((len(Stream), 4), np.uint64)
    for stream in Stream:
        streams[stream] = _child(seq, stream.name.lower()).generate_state(4, np.uint64)
        if not streams[stream].any():
            streams[stream, 0] = 1
    return streams


def terrain_generator(seq: np.random.SeedSequence) -> np.random.Generator:
    """The numpy Generator of map generation for this episode."""
    return np.random.default_rng(_child(seq, "terrain"))


@kernel
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@kernel
def next_u64(s: np.ndarray) -> np.uint64:
    """Advance the stream; return 64 random bits (xoshiro256**)."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@kernel
def uniform(s: np.ndarray) -> float:
    """A float uniform in [0, 1) with 53 random bits."""
    return float(next_u64(s) >> _U11) * _TO_UNIT


@kernel
def below(s: np.ndarray, n: int) -> int:
    """An int uniform in [0, n) (n >= 1; bias below n / 2**53)."""
    return min(int(uniform(s) * n), n - 1)


@kernel
def geometric(s: np.ndarray, p: float) -> int:
    """Trials up to and including the first success of Bernoulli(p) trials (>= 1), 0 < p < 1."""
    trials = math.log1p(-uniform(s)) / math.log1p(-p)
    if trials >= 4.0e18:  # tiny p: cap in floating point, before converting to int64
        return 4_000_000_000_000_000_000
    return 1 + int(math.floor(trials))
