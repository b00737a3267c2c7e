"""Job kind ``nngp_check``: the empirical NNGP kernel of an MLP-cell network at initialisation,
over widths and seeds, against the exact DAG kernel, the sum rule and Eq. 12
(``explorer.experiments.kernel_check``)."""

from __future__ import annotations

from explorer.experiments.kernel_check import NNGPCheckSpec, run_nngp_check
from explorer.jobs.labels import cell_job_title
from explorer.jobs.registry import JobKind, register

KIND = register(JobKind(
    name="nngp_check",
    spec_model=NNGPCheckSpec,
    run=run_nngp_check,
    description="Empirical 2×2 NNGP kernel of the MLP-cell network at initialisation over widths and seeds, "
                "against the exact infinite-width DAG kernel, Chen et al.'s sum rule and Eq. 12.",
    uses_gpu=True,
    label=cell_job_title("NNGP check"),
))
