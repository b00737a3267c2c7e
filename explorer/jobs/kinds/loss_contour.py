"""Job kind ``loss_contour``: loss and accuracy on a filter-normalised random plane around a train
job's weights (Li et al., 2018), and on the init → final line."""

from __future__ import annotations

from explorer.experiments.landscape import LossContourSpec, run_loss_contour
from explorer.jobs.labels import analysis_title
from explorer.jobs.registry import JobKind, register

KIND = register(JobKind(
    name="loss_contour",
    spec_model=LossContourSpec,
    run=run_loss_contour,
    description="Loss and accuracy of a trained network on a 2-D grid of filter-normalised random directions "
                "(default 21×21 over [-1, 1]²), plus the 1-D interpolation from initial to final weights.",
    uses_gpu=True,
    label=analysis_title("loss landscape"),
))
