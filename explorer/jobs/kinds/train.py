"""Job kind ``train``: train a cell's network on a dataset; stores weights, curves and its spec."""

from __future__ import annotations

from typing import Any

# Imported here so a worker's fork server loads them once instead of every job process paying for
# them: torch.optim imports torch._dynamo at the first optimizer, the digits come through sklearn.
import sklearn.datasets  # noqa: F401
import torch._dynamo  # noqa: F401

from explorer.core.settings import Settings
from explorer.experiments.checkpoints import store_result
from explorer.experiments.train import TrainSpec, train
from explorer.jobs.kind import JobContext, JobKind, over_limit, register
from explorer.jobs.label_parts import train_title

# The curves train jobs stream (explorer.experiments.train.train) that views plot.
CURVE_METRICS = {
    "test_acc": "test accuracy", "test_loss": "test loss", "epoch_train_loss": "training loss (epoch mean)",
    "epoch_train_acc": "training accuracy (epoch mean)", "train_loss": "training loss (every k steps)",
}


def run(spec: TrainSpec, ctx: JobContext) -> dict[str, Any]:
    result = train(spec, ctx)
    store_result(spec, result, ctx)
    return result.summary


def check_limits(spec: TrainSpec, settings: Settings) -> None:
    over_limit("train", "epochs", spec.epochs, settings.max_epochs, "limits.epochs")


KIND = register(JobKind(
    name="train",
    spec_model=TrainSpec,
    run=run,
    description="Train the network a cell defines (MLP-cell, NB201 or DARTS) with SGD or Adam; "
                "streams losses and accuracies, stores the final weights (safetensors) and the curves.",
    uses_gpu=True,
    label=lambda spec, lookup: train_title(spec),
    check_limits=check_limits,
    on_success="explorer.jobs.user_results:export_after_train",
    metric_labels=CURVE_METRICS,
))
