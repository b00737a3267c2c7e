"""Connectivity metrics of a cell: ``CellMetrics``, every number the editor's live panel shows —
paths, d̄, m̄ and Shu's width/depth from ``paths`` (definitions there), the NNGP values from ``nngp``
and ``dag_kernel``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from explorer.cell.model import Cell
from explorer.theory import dag_kernel, nngp
from explorer.theory.paths import cell_depth, cell_width, effective_depth_width, path_histogram
from explorer.theory.relu import lambda_min_2x2

MAX_LISTED_DEPTHS = 10_000  # path_depths lists at most this many d_p values
DEFAULT_K0 = 0.5


@dataclass(frozen=True)
class CellMetrics:
    """Every number the live panel shows; ``to_dict`` is the CLI's JSON."""

    paths: int
    path_depths: list[int]  # sorted d_p, at most MAX_LISTED_DEPTHS of them
    path_depths_truncated: bool
    path_histogram: list[int]
    effective_depth: float | None
    effective_width: float | None
    undefined_reason: str | None
    cell_width: float
    cell_depth: int | None
    n_parameterized_ops: int
    k0: float
    nngp_eq12: float
    nngp_lambda_min: float
    nngp_exact_dag: float  # λmin of the exact infinite-width output kernel (dag_kernel)
    warnings: list[str]

    def to_dict(self) -> dict:
        d = asdict(self)
        # JSON has no NaN/inf; paths can exceed 2^53, keep them as exact integers.
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def metrics(cell: Cell, k0: float = DEFAULT_K0) -> CellMetrics:
    hist = path_histogram(cell)
    dw = effective_depth_width(hist)
    depths: list[int] = []
    for d, n in enumerate(hist):
        take = min(n, MAX_LISTED_DEPTHS - len(depths))
        depths.extend([d] * take)
    diag, off = nngp.sum_rule_kernel(cell, k0)
    return CellMetrics(
        paths=sum(hist),
        path_depths=depths,
        path_depths_truncated=sum(hist) > len(depths),
        path_histogram=list(hist),
        effective_depth=dw.effective_depth,
        effective_width=dw.effective_width,
        undefined_reason=dw.reason,
        cell_width=cell_width(cell),
        cell_depth=cell_depth(cell),
        n_parameterized_ops=sum(e.parameterized for e in cell.live_edges),
        k0=float(k0),
        nngp_eq12=float(nngp.eq12(hist, k0)),
        nngp_lambda_min=float(lambda_min_2x2(diag, off)),
        nngp_exact_dag=float(dag_kernel.exact_lambda_min(cell, k0)),
        warnings=list(cell.warnings),
    )
