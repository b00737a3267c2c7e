"""The train kind: deterministic on CPU, learns, streams metrics, stores weights and curves."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from explorer.errors import SpecError, UserError
from explorer.jobs.local_context import LocalContext
from explorer.jobs.registry import get_kind
from explorer.nets.weights import load_weights
from explorer.presets import get_preset
from explorer.train import TRAIN_SPEC, WEIGHTS, WEIGHTS_INIT, TrainSpec, evaluate, load_trained, train


def _spec(**over) -> TrainSpec:
    base = {"network": {"cell": get_preset("DAG#3 (mixed)").cell.to_text(), "width": 32},
            "data": {"name": "digits", "train_limit": 512}, "epochs": 2, "batch_size": 64, "log_every": 2}
    base.update(over)
    return get_kind("train").validate(base)  # type: ignore[return-value]


def test_cpu_training_is_deterministic_for_a_seed() -> None:
    a, b = train(_spec()), train(_spec())
    assert a.epochs["train_loss"] == b.epochs["train_loss"] and a.epochs["test_loss"] == b.epochs["test_loss"]
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))
    c = train(_spec(seed=1))
    assert c.epochs["train_loss"] != a.epochs["train_loss"]


def test_train_job_learns_streams_and_stores(tmp_path) -> None:
    ctx = LocalContext(job_id=7)
    kind = get_kind("train")
    spec = _spec(epochs=3, data={"name": "digits"})
    summary = kind.run(spec, ctx)
    assert summary["final_test_acc"] > 0.85  # a width-32 MLP cell on digits, 3 epochs
    assert summary["epochs_run"] == 3 and not summary["stopped"]
    steps_per_epoch = math.ceil(1438 / 64)
    assert len(ctx.series("train_loss")) == (3 * steps_per_epoch) // 2
    for name in ("epoch_train_loss", "epoch_train_acc", "test_loss", "test_acc", "lr"):
        assert len(ctx.series(name)) == 3, name
    assert ctx.series("test_acc")[-1] == summary["final_test_acc"]
    names = {n for _, n in ctx.artifacts}
    assert {WEIGHTS, WEIGHTS_INIT, TRAIN_SPEC, "curves.csv", "curves.npz"} <= names
    curves = np.load(io.BytesIO(ctx.artifacts[(7, "curves.npz")]))
    assert curves["epoch_test_acc"].tolist() == ctx.series("test_acc")
    assert ctx.artifacts[(7, "curves.csv")].decode().splitlines()[0].startswith("epoch,train_loss")
    # The stored weights rebuild the trained network: the same test loss.
    trained = load_trained(ctx, 7, torch.device("cpu"))
    loss, acc = evaluate(trained.model, trained.data.x_test, trained.data.y_test)
    assert loss == pytest.approx(summary["final_test_loss"], rel=1e-6) and acc == summary["final_test_acc"]
    init = trained.spec.network.build(trained.data.input_shape, trained.data.num_classes)
    load_weights(init, ctx.artifacts[(7, WEIGHTS_INIT)])
    torch.manual_seed(spec.seed)
    fresh = trained.spec.network.build(trained.data.input_shape, trained.data.num_classes)
    assert all(torch.equal(p, q) for p, q in zip(init.parameters(), fresh.parameters(), strict=True))


def test_cosine_schedule_adam_and_conv_networks() -> None:
    spec = _spec(epochs=4, schedule="cosine", lr=0.1)
    lrs = train(spec).epochs["lr"]
    assert lrs == pytest.approx([0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])
    nb201 = _spec(network={"cell": get_preset("NB201 ResNet cell").cell.to_text(), "channels": 4,
                           "cells_per_stage": 1}, data={"name": "synthetic"}, optimizer="adam", lr=0.01, epochs=1,
                  weight_decay=1e-4, grad_clip=5.0)
    result = train(nb201)
    assert result.summary["network"] == "nb201" and np.isfinite(result.epochs["test_loss"][0])
    darts = _spec(network={"cell": get_preset("DARTS-V2 normal cell").cell.to_text(), "channels": 4, "layers": 2},
                  data={"name": "synthetic", "train_limit": 64}, epochs=1, amp=True)  # AMP: CUDA only, ignored here
    assert train(darts).summary["network"] == "darts"


def test_stop_request_ends_the_run_early() -> None:
    ctx = LocalContext(stop_requested=True)
    result = train(_spec(epochs=5), ctx)
    assert result.summary["stopped"] and result.summary["steps"] == 2 and result.summary["epochs_run"] == 0


def test_bad_specs_and_devices() -> None:
    with pytest.raises(SpecError, match="epochs"):
        _spec(epochs=0)
    with pytest.raises(SpecError, match="network.cell"):
        _spec(network={"cell": "|nope~0|"})
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            train(_spec(device="cuda"))
