"""Job kind ``grad_variance``: per-sample gradient variance on the loss plane (Shu et al., 2020)."""

from __future__ import annotations

from db.store import Job
from explorer.experiments.context import ArtifactReader
from explorer.experiments.gradvar import (
    GRAD_VARIANCE_CSV,
    GRAD_VARIANCE_NPZ,
    GradVarianceSpec,
    run_grad_variance,
)
from explorer.jobs.kind import Download, JobKind, register
from explorer.jobs.kinds.loss_contour import grid_limits
from explorer.jobs.label_parts import analysis_title
from explorer.jobs.results import PlaneResult, evaluation_caption, read_arrays


def read_grad_variance(reader: ArtifactReader, job: Job) -> PlaneResult:
    arrays = read_arrays(reader, job.id, GRAD_VARIANCE_NPZ)
    return PlaneResult(arrays["alpha"], arrays["beta"], {"√g": arrays["sqrt_g"]}, {"√g": "√g"},
                       Download(GRAD_VARIANCE_CSV, "text/csv"), Download(GRAD_VARIANCE_NPZ, "application/x-npz"),
                       setting=evaluation_caption(job.spec, job.result))


KIND = register(JobKind(
    name="grad_variance",
    spec_model=GradVarianceSpec,
    run=run_grad_variance,
    description="Per-sample gradient variance g = mean‖∇f_i‖² − ‖mean ∇f_i‖² (shown as √g) on the same grid "
                "as loss_contour, with BackPACK, on the test split by default (Shu et al.'s setting); BatchNorm "
                "in eval mode with the running statistics or those of the evaluated samples (bn_stats).",
    uses_gpu=True,
    label=analysis_title("gradient variance"),
    check_limits=grid_limits("grad_variance"),
    read_result=read_grad_variance,
    title="Gradient variance (21×21, 1,000 samples)",
    analyses="train",
))
