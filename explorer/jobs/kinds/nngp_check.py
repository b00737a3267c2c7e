"""Job kind ``nngp_check``: the empirical NNGP kernel of an MLP-cell network at initialisation,
over widths and seeds, against the exact DAG kernel, the sum rule and Eq. 12
(``explorer.experiments.kernel_check``)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from explorer.cell.model import CellError, parse_cell
from explorer.experiments.kernel_check import MAX_WIDTH, kernel_check
from explorer.jobs.labels import cell_job_title
from explorer.jobs.registry import JobContext, JobKind, register


class NNGPCheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: str = Field(description="the cell in any format (every parameterized edge becomes Linear+ReLU)")
    k0: float = Field(0.5, ge=-1, le=1, description="input correlation K0")
    widths: list[int] = Field([256, 512, 1024], min_length=1, max_length=12)
    seeds: int = Field(8, ge=2, le=1000, description="networks per width")
    base_seed: int = Field(0, ge=0)

    @field_validator("cell")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_cell(value)
        except CellError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("widths")
    @classmethod
    def _widths(cls, value: list[int]) -> list[int]:
        if any(not 2 <= m <= MAX_WIDTH for m in value):
            raise ValueError(f"every width must lie in 2..{MAX_WIDTH}")
        return value


def run(spec: NNGPCheckSpec, ctx: JobContext) -> dict[str, Any]:
    result = kernel_check(parse_cell(spec.cell), spec.k0, spec.widths, spec.seeds, base_seed=spec.base_seed,
                          device=ctx.device, progress=lambda f, msg: ctx.progress(f, msg))
    for w in result.widths:
        ctx.metric("lambda_min", w.lambda_min, step=w.width)
        ctx.metric("rms_error", w.rms_error, step=w.width)
    buf = io.BytesIO()
    np.savez(buf, width=np.array([w.width for w in result.widths]),
             diag=np.array([w.diag for w in result.widths]), diag_se=np.array([w.diag_se for w in result.widths]),
             off=np.array([w.off for w in result.widths]), off_se=np.array([w.off_se for w in result.widths]),
             lambda_min=np.array([w.lambda_min for w in result.widths]),
             lambda_min_se=np.array([w.lambda_min_se for w in result.widths]),
             rms_error=np.array([w.rms_error for w in result.widths]))
    ctx.artifact("nngp_check.npz", buf.getvalue(), "application/x-npz")
    return result.to_dict()


KIND = register(JobKind(
    name="nngp_check",
    spec_model=NNGPCheckSpec,
    run=run,
    description="Empirical 2×2 NNGP kernel of the MLP-cell network at initialisation over widths and seeds, "
                "against the exact infinite-width DAG kernel, Chen et al.'s sum rule and Eq. 12.",
    uses_gpu=True,
    label=cell_job_title("NNGP check"),
))
