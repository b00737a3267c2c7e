"""The train kind: deterministic on CPU, learns, streams metrics, stores weights and curves."""

from __future__ import annotations

import io
import math
import pickle

import numpy as np
import pytest
import torch

from explorer.cell.presets import get_preset
from explorer.core.errors import SpecError, UserError
from explorer.experiments.checkpoints import TRAIN_SPEC, WEIGHTS, WEIGHTS_INIT, load_trained, store_result
from explorer.experiments.datasets import load_dataset
from explorer.experiments.presets import DARTS_V2_GENOTYPE, experiment_presets, preset_specs
from explorer.experiments.train import TrainSpec, build_model, drop_path_schedule, evaluate, train
from explorer.jobs.local_context import LocalContext
from explorer.jobs.registry import get_kind
from explorer.nets import parameter_count
from explorer.nets.weights import load_weights


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


# --- DARTS' evaluation protocol: auxiliary head, drop-path, cutout ------------------------------------


def _write_tiny_cifar10(folder, n: int = 8) -> None:
    """CIFAR-10 python batches of n images each, in the real format (as tests/test_data.py writes them)."""
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for f in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        batch = {b"batch_label": b"x", b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        (folder / f).write_bytes(pickle.dumps(batch, protocol=2))


def _darts_spec(folder, **over) -> TrainSpec:
    base = {"network": {"cell": DARTS_V2_GENOTYPE, "channels": 4, "layers": 3, "auxiliary": True},
            "data": {"name": "cifar10", "path": str(folder), "augment": True, "cutout": 16},
            "epochs": 2, "batch_size": 20, "log_every": 1, "auxiliary_weight": 0.4, "drop_path": 0.2, "grad_clip": 5.0}
    base.update(over)
    return get_kind("train").validate(base)  # type: ignore[return-value]


def test_drop_path_schedule_ramps_linearly_from_zero() -> None:
    # DARTS: model.drop_path_prob = drop_path_prob * epoch / epochs, epoch counted from 0.
    assert [drop_path_schedule(0.2, e, 4) for e in range(4)] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert drop_path_schedule(0.0, 3, 4) == 0.0


def test_first_step_loss_is_main_plus_weighted_auxiliary(tmp_path) -> None:
    _write_tiny_cifar10(tmp_path / "c10")
    spec = _darts_spec(tmp_path / "c10", epochs=1, batch_size=40, data={
        "name": "cifar10", "path": str(tmp_path / "c10"), "augment": True, "cutout": 16, "train_limit": 40})
    result = train(spec)
    # Rebuild what the first (only) step saw: the initial network, the seeded batch and augmentation;
    # drop-path is 0 in the first epoch.
    data = load_dataset(spec.data)
    model = build_model(spec, data).train()
    idx = torch.randperm(40, generator=torch.Generator().manual_seed(spec.seed))
    x = data.augment_batch(data.x_train[idx], torch.Generator().manual_seed(spec.seed + 1))
    y = data.y_train[idx]
    with torch.no_grad():
        logits, aux = model(x, auxiliary=True)
        main = torch.nn.functional.cross_entropy(logits, y)
        expected = main + 0.4 * torch.nn.functional.cross_entropy(aux, y)
    assert result.steps["train_loss"][0] == pytest.approx(float(expected), rel=1e-5)
    assert result.steps["train_loss"][0] != pytest.approx(float(main), rel=1e-3)


def test_tiny_darts_run_with_the_full_protocol_and_analyses(tmp_path) -> None:
    _write_tiny_cifar10(tmp_path / "c10")
    shared: dict = {}
    ctx = LocalContext(job_id=1, artifacts=shared)
    spec = _darts_spec(tmp_path / "c10")
    result = train(spec, ctx)
    store_result(spec, result, ctx)  # what the train job kind does
    summary = result.summary
    assert result.model.drop_path_prob == pytest.approx(0.1)  # epoch 2 of 2: 0.2 · 1/2
    again = train(spec)  # drop-path masks and cutout squares are seeded: CPU runs repeat exactly
    assert again.epochs["train_loss"] == result.epochs["train_loss"]
    assert all(torch.equal(p, q) for p, q in zip(again.model.parameters(), result.model.parameters(), strict=True))
    assert summary["epochs_run"] == 2 and all(np.isfinite(ctx.series("epoch_train_loss")))
    assert np.isfinite(summary["final_test_loss"]) and 0 <= summary["final_test_acc"] <= 1
    trained = load_trained(ctx, 1, torch.device("cpu"))
    model = trained.model
    # Reported size: without the head (as DARTS reports it); with it, separately.
    assert summary["parameters"] == parameter_count(model) < summary["parameters_with_auxiliary"]
    assert summary["parameters_with_auxiliary"] == sum(p.numel() for p in model.parameters())
    loss, acc = evaluate(model, trained.data.x_test, trained.data.y_test)
    assert loss == pytest.approx(summary["final_test_loss"], rel=1e-6) and acc == summary["final_test_acc"]
    # The analyses load the same network and see plain logits in eval mode.
    for job_id, (kind, params) in enumerate([
        ("loss_contour", {"steps": 3, "samples": 8, "interpolation_steps": 3}),
        ("grad_variance", {"steps": 2, "samples": 8}),
        ("hessian_top", {"top_k": 1, "max_iterations": 3, "samples": 8}),
    ], start=2):
        k = get_kind(kind)
        out = k.run(k.validate({"train_job": 1, **params}), LocalContext(job_id=job_id, artifacts=shared))
        assert out, kind
    centre = np.load(io.BytesIO(shared[(2, "contour.npz")]))["loss"][1, 1]
    x, y = trained.data.x_train[:8], trained.data.y_train[:8]
    assert centre == pytest.approx(evaluate(model, x, y)[0], rel=1e-4)


def test_darts_protocol_spec_errors_and_old_specs() -> None:
    darts = {"cell": DARTS_V2_GENOTYPE, "channels": 4, "layers": 3}
    data = {"name": "synthetic"}
    with pytest.raises(SpecError, match="auxiliary_weight > 0"):
        _spec(network={**darts, "auxiliary": True}, data=data)
    with pytest.raises(SpecError, match="turn on network.auxiliary"):
        _spec(network=darts, data=data, auxiliary_weight=0.4)
    with pytest.raises(SpecError, match="drop_path.*darts network"):
        _spec(drop_path=0.2)  # the MLP cell
    with pytest.raises(SpecError, match="drop_path"):
        _spec(network=darts, data=data, drop_path=1.0)
    with pytest.raises(SpecError, match="auxiliary"):
        _spec(network={"cell": get_preset("NB201 ResNet cell").cell.to_text(), "auxiliary": True},
              data=data, auxiliary_weight=0.4)
    old = _spec()  # a spec stored before these fields existed: defaults are the old behaviour
    assert old.auxiliary_weight == 0 and old.drop_path == 0 and not old.network.auxiliary and old.data.cutout == 0


def test_paper_darts_preset_uses_the_full_protocol() -> None:
    preset = next(p for p in experiment_presets() if p.name == "DARTS-V2 on CIFAR-10 (paper size)")
    (spec,) = preset_specs(preset, "/data/cifar10")
    assert spec.network.auxiliary and spec.auxiliary_weight == 0.4 and spec.drop_path == 0.2
    assert spec.data.augment and spec.data.cutout == 16
    with torch.device("meta"):
        net = spec.network.build((3, 32, 32), 10)
    assert parameter_count(net) == 3_349_342  # DARTS-V2 (its own reduce cell), C=36, 20 cells
    assert "not implemented" not in preset.description and "no cutout" not in preset.description
