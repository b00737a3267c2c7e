"""Job kind ``hessian_top``: the largest Hessian eigenvalues at a train job's weights."""

from __future__ import annotations

from explorer.experiments.hessian import HessianSpec, run_hessian_top
from explorer.jobs.labels import analysis_title
from explorer.jobs.registry import JobKind, register

KIND = register(JobKind(
    name="hessian_top",
    spec_model=HessianSpec,
    run=run_hessian_top,
    description="Top Hessian eigenvalues of the training loss at the trained weights, by power iteration "
                "on Hessian-vector products (with deflation).",
    uses_gpu=True,
    label=analysis_title("Hessian spectrum"),
))
