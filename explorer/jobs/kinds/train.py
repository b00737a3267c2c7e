"""Job kind ``train``: train a cell's network on a dataset; stores weights, curves and its spec."""

from __future__ import annotations

from typing import Any

from explorer.jobs.registry import JobContext, JobKind, register
from explorer.train import TrainSpec, store_result, train


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
))
