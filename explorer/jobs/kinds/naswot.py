"""Job kind ``naswot``: the NASWOT score of a cell's untrained network (``explorer.experiments.naswot``)."""

from __future__ import annotations

from explorer.experiments.naswot import NaswotSpec, run_naswot
from explorer.jobs.kind import JobKind, register
from explorer.jobs.label_parts import cell_job_title

KIND = register(JobKind(
    name="naswot",
    spec_model=NaswotSpec,
    run=run_naswot,
    description="NASWOT score of a cell's untrained network on a mini-batch (Jacobian 2020 version or "
                "ReLU-code Hamming 2021 version); compare with the warehouse's naswot_v1 scores.",
    uses_gpu=True,
    label=cell_job_title("NASWOT"),
))
