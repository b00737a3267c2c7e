"""Job kind ``hessian_top``: the largest Hessian eigenvalues at a train job's weights."""

from __future__ import annotations

from db.store import Job
from explorer.experiments.context import ArtifactReader
from explorer.experiments.hessian import HESSIAN_NPZ, HessianSpec, run_hessian_top
from explorer.jobs.kind import Download, JobKind, register
from explorer.jobs.label_parts import analysis_title
from explorer.jobs.results import SpectrumResult, evaluation_caption, read_arrays


def read_hessian(reader: ArtifactReader, job: Job) -> SpectrumResult:
    arrays = read_arrays(reader, job.id, HESSIAN_NPZ)
    return SpectrumResult(arrays["eigenvalues"], arrays["traces"], Download(HESSIAN_NPZ, "application/x-npz"),
                          evaluation_caption(job.spec, job.result))


KIND = register(JobKind(
    name="hessian_top",
    spec_model=HessianSpec,
    run=run_hessian_top,
    description="Top Hessian eigenvalues of the training loss at the trained weights, by power iteration "
                "on Hessian-vector products (with deflation).",
    uses_gpu=True,
    label=analysis_title("Hessian spectrum"),
    read_result=read_hessian,
    title="Hessian top-3 eigenvalues (1,000 samples)",
    analyses="train",
))
