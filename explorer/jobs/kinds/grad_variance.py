"""Job kind ``grad_variance``: per-sample gradient variance on the loss plane (Shu et al., 2020)."""

from __future__ import annotations

from explorer.experiments.gradvar import GradVarianceSpec, run_grad_variance
from explorer.jobs.labels import analysis_title
from explorer.jobs.registry import JobKind, register

KIND = register(JobKind(
    name="grad_variance",
    spec_model=GradVarianceSpec,
    run=run_grad_variance,
    description="Per-sample gradient variance g = mean‖∇f_i‖² − ‖mean ∇f_i‖² (shown as √g) on the same grid "
                "as loss_contour, with BackPACK; BatchNorm in eval mode.",
    uses_gpu=True,
    label=analysis_title("gradient variance"),
))
