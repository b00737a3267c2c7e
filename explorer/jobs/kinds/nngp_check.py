"""Job kind ``nngp_check``: the empirical NNGP kernel of an MLP-cell network at initialisation,
over widths and seeds, against the exact DAG kernel, the sum rule and Eq. 12
(``explorer.experiments.kernel_check``)."""

from __future__ import annotations

from db.store import Job
from explorer.experiments.context import ArtifactReader
from explorer.experiments.kernel_check import NNGPCheckSpec, run_nngp_check
from explorer.jobs.kind import JobKind, register
from explorer.jobs.label_parts import cell_job_title
from explorer.jobs.results import SummaryResult


def read_check(_reader: ArtifactReader, job: Job) -> SummaryResult:
    """The comparison is the job's summary (``KernelCheckResult.to_dict()``), whose verdict also
    says whether the widths share a systematic bias; summaries stored before it had one get the
    per-width reading only."""
    summary = job.result or {}
    verdict = summary.get("verdict") or (
        ("within sampling error at every width taken alone" if summary.get("consistent")
         else "deviates at some width") + " (no test for a bias shared by the widths in this older result).")
    return SummaryResult(summary, f"K0 = {summary.get('k0')}; empirical vs exact: {verdict}")

KIND = register(JobKind(
    name="nngp_check",
    spec_model=NNGPCheckSpec,
    run=run_nngp_check,
    description="Empirical 2×2 NNGP kernel of the MLP-cell network at initialisation over widths and seeds, "
                "against the exact infinite-width DAG kernel, Chen et al.'s sum rule and Eq. 12.",
    uses_gpu=True,
    label=cell_job_title("NNGP check"),
    read_result=read_check,
))
