"""2D simplex noise: numba kernels for terrain generation, each with a plain numpy reference.

The lattice gradients come from an integer hash of the lattice vertex and a per-octave ``seed``
(not from a permutation table), so the noise never repeats, whatever the map size. Callers draw
seeds and offsets from their own ``numpy.random.Generator``; nothing here holds random state.

Kernels:

* :func:`simplex2` / :func:`simplex_points` -- one octave at given points
  (reference: :func:`simplex_points_reference`).
* :func:`fbm_grid` -- a few octaves with halving amplitude, scaled to unit standard deviation.
* :func:`blend_bank` -- per-tile Gaussian blend over a bank of octaves, scaled to unit standard
  deviation (reference: :func:`blend_bank_reference`).
* :func:`normal_cdf` -- maps unit-variance noise to about uniform [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from neural_mmo.world.kernel import kernel

_F2 = 0.5 * (math.sqrt(3.0) - 1.0)
"""Skew factor: maps the plane onto the square lattice of the simplex grid."""
_G2 = (3.0 - math.sqrt(3.0)) / 6.0
"""Unskew factor: maps lattice coordinates back onto the plane."""
_MASK = 0xFFFFFFFF
_N_GRADIENTS = 16
_GRAD_X = np.cos(2.0 * np.pi * np.arange(_N_GRADIENTS) / _N_GRADIENTS)
_GRAD_Y = np.sin(2.0 * np.pi * np.arange(_N_GRADIENTS) / _N_GRADIENTS)
_SCALE = 99.0
"""Brings the raw kernel sum to about [-1, 1]."""

SIMPLEX_STD = 0.538
"""Standard deviation of :func:`simplex2` over the plane (measured on 10^6 points, any seed).

Blends divide by it so that every output has unit standard deviation without a pass over the map:
that keeps thresholds meaningful on maps of any size, even tiny ones.
"""

GAUSS_CUTOFF = 3.0
"""Octaves further than this many standard deviations from a point's mean octave get no weight."""


# ---------------------------------------------------------------------------- one octave


@kernel(inline=True)
def _hash(i: int, j: int, seed: int) -> int:
    """32-bit hash of lattice vertex ``(i, j)``; every product stays below 2**63 in int64."""
    h = (seed ^ ((i * 0x27D4EB2D) & _MASK) ^ ((j * 0x165667B1) & _MASK)) & _MASK
    h = (((h >> 16) ^ h) * 0x45D9F3B) & _MASK
    h = (((h >> 16) ^ h) * 0x45D9F3B) & _MASK
    return (h >> 16) ^ h


@kernel(inline=True)
def _corner(dx: float, dy: float, i: int, j: int, seed: int) -> float:
    """Contribution of one simplex corner: a radial falloff times a hashed gradient ramp."""
    t = 0.5 - dx * dx - dy * dy
    if t <= 0.0:
        return 0.0
    g = _hash(i, j, seed) & (_N_GRADIENTS - 1)
    t *= t
    return t * t * (_GRAD_X[g] * dx + _GRAD_Y[g] * dy)


@kernel
def simplex2(x: float, y: float, seed: int) -> float:
    """Simplex noise at ``(x, y)``: smooth, zero mean, about [-1, 1], features about 1 unit wide."""
    s = (x + y) * _F2
    i = math.floor(x + s)
    j = math.floor(y + s)
    t = (i + j) * _G2
    x0 = x - (i - t)
    y0 = y - (j - t)
    if x0 > y0:
        i1, j1 = 1, 0
    else:
        i1, j1 = 0, 1
    total = _corner(x0, y0, i, j, seed)
    total += _corner(x0 - i1 + _G2, y0 - j1 + _G2, i + i1, j + j1, seed)
    total += _corner(x0 - 1.0 + 2.0 * _G2, y0 - 1.0 + 2.0 * _G2, i + 1, j + 1, seed)
    return _SCALE * total


@kernel(allocates=True)
def simplex_points(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """:func:`simplex2` at every point of the 1-D float64 arrays ``x``, ``y`` (same length)."""
    out = np.empty(x.shape[0], dtype=np.float64)
    for k in range(x.shape[0]):
        out[k] = simplex2(x[k], y[k], seed)
    return out


def _hash_reference(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    h = (seed ^ ((i * 0x27D4EB2D) & _MASK) ^ ((j * 0x165667B1) & _MASK)) & _MASK
    h = (((h >> 16) ^ h) * 0x45D9F3B) & _MASK
    h = (((h >> 16) ^ h) * 0x45D9F3B) & _MASK
    return (h >> 16) ^ h


def simplex_points_reference(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Plain numpy :func:`simplex_points`, vectorised over the points (slow; for tests)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = (x + y) * _F2
    i = np.floor(x + s)
    j = np.floor(y + s)
    t = (i + j) * _G2
    x0 = x - (i - t)
    y0 = y - (j - t)
    lower = x0 > y0
    i1 = lower.astype(np.int64)
    j1 = 1 - i1
    ii, jj = i.astype(np.int64), j.astype(np.int64)
    corners = [
        (x0, y0, ii, jj),
        (x0 - i1 + _G2, y0 - j1 + _G2, ii + i1, jj + j1),
        (x0 - 1.0 + 2.0 * _G2, y0 - 1.0 + 2.0 * _G2, ii + 1, jj + 1),
    ]
    total = np.zeros_like(x)
    for dx, dy, ci, cj in corners:
        falloff = np.maximum(0.5 - dx * dx - dy * dy, 0.0)
        g = _hash_reference(ci, cj, seed) & (_N_GRADIENTS - 1)
        total += falloff**4 * (_GRAD_X[g] * dx + _GRAD_Y[g] * dy)
    return _SCALE * total


# ---------------------------------------------------------------------------- several octaves


@kernel(allocates=True)
def fbm_grid(rows: int, cols: int, wavelength: float, seeds: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Fractal noise on a ``rows x cols`` grid of tiles, scaled to unit standard deviation.

    Octave ``k`` has wavelength ``wavelength / 2**k``, amplitude ``2**-k``, gradient seed ``seeds[k]``
    and lattice offset ``offsets[k] = (dx, dy)``.
    """
    out = np.zeros((rows, cols), dtype=np.float64)
    norm = 0.0
    for k in range(seeds.shape[0]):
        freq = (2.0**k) / wavelength
        amp = 0.5**k
        norm += amp * amp
        for r in range(rows):
            for c in range(cols):
                out[r, c] += amp * simplex2(c * freq + offsets[k, 0], r * freq + offsets[k, 1], seeds[k])
    out /= math.sqrt(norm) * SIMPLEX_STD
    return out


@kernel(allocates=True)
def blend_bank(
    mean: np.ndarray,
    sigma: float,
    stride: int,
    freqs: np.ndarray,
    seeds: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """Per-tile Gaussian blend of a bank of octaves, scaled to unit standard deviation.

    At tile ``(r, c)`` octave ``k`` (frequency ``freqs[k]`` in cycles per tile; only every
    ``stride``-th octave is used) gets the weight ``gauss((k - mean[r, c]) / sigma)``, where
    ``gauss(z) = exp(-z**2 / 2) - exp(-CUTOFF**2 / 2)`` for ``|z| < CUTOFF`` and 0 beyond: octaves
    out of reach cost nothing, and weights fade to zero continuously (no seams where an octave
    drops out). The sum is divided by the root of the summed squared weights (octaves are
    independent), so the local spread of the output does not depend on how many octaves a tile
    blends: thresholds mean the same everywhere.
    """
    rows, cols = mean.shape
    n = freqs.shape[0]
    out = np.empty((rows, cols), dtype=np.float64)
    reach = GAUSS_CUTOFF * sigma
    floor_w = math.exp(-0.5 * GAUSS_CUTOFF * GAUSS_CUTOFF)
    step_ratio = math.exp(-(stride * stride) / (sigma * sigma))
    for r in range(rows):
        for c in range(cols):
            mu = mean[r, c]
            lo = max(0, int(math.ceil((mu - reach) / stride))) * stride
            hi = min(n - 1, int(math.floor(mu + reach)))
            # Gaussian by recurrence: g(k + s) = g(k) * ratio(k), ratio(k + s) = ratio(k) * step_ratio.
            z = (lo - mu) / sigma
            g = math.exp(-0.5 * z * z)
            ratio = math.exp(-(2.0 * stride * (lo - mu) + stride * stride) / (2.0 * sigma * sigma))
            total = 0.0
            wsq = 0.0
            for k in range(lo, hi + 1, stride):
                w = g - floor_w
                if w > 0.0:
                    f = freqs[k]
                    total += w * simplex2(c * f + offsets[k, 0], r * f + offsets[k, 1], seeds[k])
                    wsq += w * w
                g *= ratio
                ratio *= step_ratio
            out[r, c] = total / (math.sqrt(wsq) * SIMPLEX_STD) if wsq > 0.0 else 0.0
    return out


def blend_bank_reference(
    mean: np.ndarray,
    sigma: float,
    stride: int,
    freqs: np.ndarray,
    seeds: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """Plain numpy :func:`blend_bank`: every used octave over the whole grid, then masked weights."""
    rows, cols = mean.shape
    r, c = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64), indexing="ij")
    total = np.zeros((rows, cols))
    wsq = np.zeros((rows, cols))
    for k in range(0, len(freqs), stride):
        f = freqs[k]
        z = (k - mean) / sigma
        w = np.maximum(np.exp(-0.5 * z * z) - np.exp(-0.5 * GAUSS_CUTOFF**2), 0.0)
        x, y = c * f + offsets[k, 0], r * f + offsets[k, 1]
        total += w * simplex_points_reference(x.ravel(), y.ravel(), seeds[k]).reshape(rows, cols)
        wsq += w * w
    safe = np.where(wsq > 0.0, wsq, 1.0)
    return np.where(wsq > 0.0, total / (np.sqrt(safe) * SIMPLEX_STD), 0.0)


@kernel(allocates=True)
def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF of each element of a 2-D float64 array (unit-variance noise -> about uniform)."""
    out = np.empty_like(z)
    rows, cols = z.shape
    for r in range(rows):
        for c in range(cols):
            out[r, c] = 0.5 * (1.0 + math.erf(z[r, c] / math.sqrt(2.0)))
    return out
