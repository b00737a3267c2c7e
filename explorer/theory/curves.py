"""Every NNGP quantity the editor draws as a curve over K0, each labelled with its assumption:
Chen et al.'s Eq. 12 bound, the sum-rule λmin and the exact infinite-width λmin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from explorer.cell.model import Cell
from explorer.theory.dag_kernel import exact_lambda_min
from explorer.theory.nngp import eq12, sum_rule_lambda_min
from explorer.theory.paths import path_histogram
from explorer.theory.relu import FloatArray


@dataclass(frozen=True)
class KernelCurve:
    key: str  # stable id: 'eq12', 'sum_rule', ...
    label: str  # what to print beside the curve, including its assumption
    values: FloatArray


def kernel_curves(cell: Cell, k0: ArrayLike) -> list[KernelCurve]:
    """Every NNGP quantity the editor draws over K0, each labelled with its assumption."""
    k0 = np.asarray(k0, dtype=np.float64)
    return [
        KernelCurve("eq12", "Eq. 12 bound P − Σ_p f^{d_p}(K0) (per-path, Chen et al.)",
                    eq12(path_histogram(cell), k0)),
        KernelCurve("sum_rule", "λmin, sum rule (independent branches, no ReLU means)",
                    sum_rule_lambda_min(cell, k0)),
        KernelCurve("exact_dag", "λmin, exact infinite width (ReLU means and correlated branches; "
                    "centred inputs, independent weights per edge)", exact_lambda_min(cell, k0)),
    ]
