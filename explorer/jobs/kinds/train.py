"""Job kind ``train``: train a cell's network on a dataset; stores weights, curves and its spec."""

from __future__ import annotations

from typing import Any

# Imported here so a worker's fork server loads them once instead of every job process paying for
# them: torch.optim imports torch._dynamo at the first optimizer, the digits come through sklearn.
import sklearn.datasets  # noqa: F401
import torch._dynamo  # noqa: F401

from explorer.experiments.checkpoints import store_result
from explorer.experiments.train import TrainSpec, train
from explorer.jobs.labels import train_title
from explorer.jobs.registry import JobContext, JobKind, register


def run(spec: TrainSpec, ctx: JobContext) -> dict[str, Any]:
    result = train(spec, ctx)
    store_result(spec, result, ctx)
    return result.summary


KIND = register(JobKind(
    name="train",
    spec_model=TrainSpec,
    run=run,
    description="Train the network a cell defines (MLP-cell, NB201 or DARTS) with SGD or Adam; "
                "streams losses and accuracies, stores the final weights (safetensors) and the curves.",
    uses_gpu=True,
    label=lambda spec, lookup: train_title(spec),
))
