"""The ReLU NNGP (arc-cosine) maps with c_σ = 2, and the 2×2 kernel algebra built on them.

Every kernel module (``nngp``: Eq. 12 and the sum rule; ``dag_kernel``: the exact infinite-width
kernel) uses these; they import nothing else of the library.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def kappa(rho: ArrayLike) -> FloatArray:
    """ReLU NNGP correlation map with c_σ = 2: κ(ρ) = (√(1−ρ²) + (π − arccos ρ)·ρ) / π."""
    rho = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    return (np.sqrt(1.0 - rho * rho) + (np.pi - np.arccos(rho)) * rho) / np.pi


def kappa_power(rho: ArrayLike, depth: int) -> FloatArray:
    """f^depth(ρ): κ applied ``depth`` times (f^0 is the identity)."""
    out = np.asarray(rho, dtype=np.float64)
    for _ in range(depth):
        out = kappa(out)
    return out


def relu_mean(q: ArrayLike) -> FloatArray:
    """μ = E[√2·ReLU(g)] for g ~ N(0, q): √(q/π)."""
    return np.sqrt(np.maximum(np.asarray(q, dtype=np.float64), 0.0) / np.pi)


def relu_cross(q: ArrayLike, c: ArrayLike) -> FloatArray:
    """E[2·ReLU(g)·ReLU(g')] for (g, g') ~ N(0, [[q, c], [c, q]]): q·κ(c/q) (0 when q = 0)."""
    q = np.asarray(q, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    safe = np.where(q > 0, q, 1.0)
    return np.where(q > 0, q * kappa(c / safe), 0.0)


def lambda_min_2x2(diag: ArrayLike, off: ArrayLike) -> FloatArray:
    """Smallest eigenvalue of [[a, c], [c, a]]: a − |c|."""
    return np.asarray(diag, dtype=np.float64) - np.abs(np.asarray(off, dtype=np.float64))
