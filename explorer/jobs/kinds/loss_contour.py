"""Job kind ``loss_contour``: loss and accuracy on a filter-normalised random plane around a train
job's weights (Li et al., 2018), and on the init → final line."""

from __future__ import annotations

from collections.abc import Callable

from db.store import Job
from explorer.core.settings import Settings
from explorer.experiments.context import ArtifactReader
from explorer.experiments.landscape import (
    CONTOUR_CSV,
    CONTOUR_NPZ,
    GridSpec,
    LossContourSpec,
    run_loss_contour,
)
from explorer.jobs.kind import Download, JobKind, over_limit, register
from explorer.jobs.label_parts import analysis_title
from explorer.jobs.results import PlaneResult, evaluation_caption, read_arrays


def grid_limits(kind: str) -> Callable[[GridSpec, Settings], None]:
    """The grid-size limit (``limits.grid_steps``) for a kind whose spec is a ``GridSpec``."""
    def check(spec: GridSpec, settings: Settings) -> None:
        over_limit(kind, "steps", spec.steps, settings.max_grid_steps, "limits.grid_steps", " grid points per axis")
    return check


def read_contour(reader: ArtifactReader, job: Job) -> PlaneResult:
    arrays = read_arrays(reader, job.id, CONTOUR_NPZ)
    return PlaneResult(
        arrays["alpha"], arrays["beta"], {"loss": arrays["loss"], "acc": arrays["acc"]},
        {"loss": "loss", "acc": "accuracy"}, Download(CONTOUR_CSV, "text/csv"),
        Download(CONTOUR_NPZ, "application/x-npz"),
        arrays["interp_t"], {"loss": arrays["interp_loss"], "acc": arrays["interp_acc"]},
        evaluation_caption(job.spec, job.result))


KIND = register(JobKind(
    name="loss_contour",
    spec_model=LossContourSpec,
    run=run_loss_contour,
    description="Loss and accuracy of a trained network on a 2-D grid of filter-normalised random directions "
                "(default 21×21 over [-1, 1]²), plus the 1-D interpolation from initial to final weights.",
    uses_gpu=True,
    label=analysis_title("loss landscape"),
    check_limits=grid_limits("loss_contour"),
    read_result=read_contour,
    title="Loss landscape (21×21 over [-1, 1]², 1,000 samples)",
    analyses="train",
))
