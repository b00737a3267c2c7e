"""NNGP kernels of ReLU cells (c_σ = 2), for two inputs with correlation K0 and unit norm.

Two quantities, both functions of K0 so the UI can draw curves:

- ``eq12``: Chen et al. (NeurIPS 2022) Eq. 12, the per-path bound
  λmin(K_H) ≤ P − Σ_p f^{d_p}(K0), with f the ReLU correlation map κ and f^0(K0) = K0.
- ``sum_rule_kernel``: the 2×2 kernel propagated through the DAG with their sum rule: incoming
  kernels add at a node, a non-parameterized edge passes its source's kernel through, a
  parameterized edge applies the ReLU NNGP map. The map acts on the whole 2×2 kernel, so it
  scales with the diagonal: on [[q, c], [c, q]] it gives [[q, q·κ(c/q)], ...], not κ(c).
  The rule treats branches as independent and drops ReLU means (their Remark 3.3); ``dag_kernel``
  computes the exact infinite-width kernel without those assumptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from explorer.cell.model import Cell
from explorer.theory.relu import kappa, lambda_min_2x2, relu_cross

FloatArray = NDArray[np.float64]


def eq12(histogram: Sequence[int], k0: ArrayLike) -> FloatArray:
    """P − Σ_p f^{d_p}(K0) from the path-depth histogram (histogram[d] = paths with d_p = d)."""
    k0 = np.asarray(k0, dtype=np.float64)
    total = np.zeros_like(k0)
    level = k0
    for count in histogram:
        total = total + float(count) * level
        level = kappa(level)
    return float(sum(histogram)) - total


def sum_rule_kernel(cell: Cell, k0: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The output kernel under the sum rule as (diagonal, off-diagonal), vectorised over K0.

    Every input node starts at [[1, K0], [K0, 1]]; the diagonal is the same for both inputs.
    """
    k0 = np.asarray(k0, dtype=np.float64)
    diag: dict[int, FloatArray] = {}
    off: dict[int, FloatArray] = {}
    incoming: dict[int, list] = {}
    for e in cell.live_edges:
        incoming.setdefault(e.dst, []).append(e)
    for v in cell.topological_order:
        if cell.roles[v] == "input":
            diag[v], off[v] = np.ones_like(k0), k0.copy()
            continue
        d, c = np.zeros_like(k0), np.zeros_like(k0)
        for e in incoming.get(v, ()):
            if e.parameterized:  # the ReLU map scales with the diagonal (see the module docstring)
                d = d + diag[e.src]
                c = c + relu_cross(diag[e.src], off[e.src])
            else:
                d, c = d + diag[e.src], c + off[e.src]
        diag[v], off[v] = d, c
    return diag[cell.output], off[cell.output]


def sum_rule_lambda_min(cell: Cell, k0: ArrayLike) -> FloatArray:
    return lambda_min_2x2(*sum_rule_kernel(cell, k0))
