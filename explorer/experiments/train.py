"""Training a cell's network: the ``train`` job kind's work, usable on its own.

The whole set lives on the device (``explorer.experiments.datasets``); an epoch is a seeded permutation sliced
into batches, so there is no loader in the way and CPU runs are deterministic for a seed. Loss
and accuracy are accumulated on the device and read back every ``log_every`` steps only (each
read is a device sync on CUDA). Optional AMP on CUDA (bfloat16 where supported, else float16
with loss scaling).

DARTS' evaluation protocol (Liu et al., ICLR 2019, ``cnn/train.py``): an auxiliary head in the
network (``network.auxiliary``) adds ``auxiliary_weight`` × its cross-entropy to the training
loss; ``drop_path`` is the final drop-path probability, ramped linearly per epoch
(``drop_path_schedule``); cutout is part of the data spec.

Artifacts (names other kinds rely on): ``weights.safetensors`` (final), ``weights_init.safetensors``
(at initialisation, for the init → final interpolation), ``train_spec.json`` (to rebuild the
network and data), ``curves.csv`` / ``curves.npz`` (per-epoch and per-step curves).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from explorer.core.errors import UserError
from explorer.experiments.datasets import Dataset, DataSpec, load_dataset
from explorer.jobs.registry import JobContext, validate_model
from explorer.nets import parameter_count
from explorer.nets.spec import NetworkSpec
from explorer.nets.weights import WEIGHTS_MEDIA_TYPE, load_weights, save_weights

WEIGHTS = "weights.safetensors"
WEIGHTS_INIT = "weights_init.safetensors"
TRAIN_SPEC = "train_spec.json"
EVAL_BATCH = 1024


class TrainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    network: NetworkSpec
    data: DataSpec = DataSpec()
    # Labels only (explorer.cell.naming): never part of what is trained.
    name: str | None = Field(None, max_length=80, description="what labels and legends call this run's cell "
                             "(e.g. DAG#3); empty: the preset's name, else the cell's P/d̄/m̄")
    experiment: str | None = Field(None, max_length=120, description="the experiment this run belongs to (e.g. "
                                   "a preset); Experiment results groups runs by it")
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.05, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0, le=1)
    schedule: Literal["constant", "cosine"] = "constant"
    batch_size: int = Field(128, ge=1, le=65536)
    epochs: int = Field(10, ge=1, le=10000)
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: the worker's device")
    amp: bool = Field(False, description="mixed precision on CUDA (ignored on CPU)")
    grad_clip: float | None = Field(None, gt=0, description="clip the gradient norm (DARTS uses 5)")
    log_every: int = Field(10, ge=1, description="report the train loss every k steps")
    auxiliary_weight: float = Field(0.0, ge=0, le=10, description="weight of the auxiliary head's loss (DARTS: "
                                    "0.4); > 0 exactly when network.auxiliary is on")
    drop_path: float = Field(0.0, ge=0, lt=1, description="drop-path probability reached at the end, ramped "
                             "linearly from 0 over the epochs (DARTS: 0.2); darts networks only")

    @model_validator(mode="after")
    def _darts_protocol(self) -> TrainSpec:
        if self.network.auxiliary and self.auxiliary_weight <= 0:
            raise ValueError("network.auxiliary adds DARTS' auxiliary head: give auxiliary_weight > 0 (DARTS: 0.4)")
        if self.auxiliary_weight > 0 and not self.network.auxiliary:
            raise ValueError("auxiliary_weight weighs the auxiliary head's loss: turn on network.auxiliary "
                             "(darts networks) or set auxiliary_weight to 0")
        if self.drop_path > 0 and self.network.kind() != "darts":
            raise ValueError(f"drop_path is DARTS' drop-path; it needs a darts network, this one is "
                             f"{self.network.kind()}")
        return self


@dataclass
class TrainResult:
    model: nn.Module
    data: Dataset
    summary: dict[str, Any]
    epochs: dict[str, list[float]] = field(default_factory=dict)  # per-epoch curves
    steps: dict[str, list[float]] = field(default_factory=dict)  # step, train_loss every log_every steps
    weights_init: bytes = b""


def resolve_device(requested: str, ctx: JobContext | None = None) -> torch.device:
    if requested == "auto":
        return torch.device(ctx.device if ctx is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' was asked for but this machine has no CUDA device; use 'auto' or 'cpu'")
    return torch.device(requested)


def build_model(spec: TrainSpec, data: Dataset) -> nn.Module:
    """The network of ``spec`` for ``data``'s inputs, initialised from the spec's seed."""
    torch.manual_seed(spec.seed)
    return spec.network.build(data.input_shape, data.num_classes)


def drop_path_schedule(final: float, epoch: int, epochs: int) -> float:
    """Drop-path probability during ``epoch`` (counted from 0) of ``epochs``: ``final`` × epoch /
    epochs, as DARTS sets it (0 in the first epoch, just under ``final`` in the last)."""
    return final * epoch / epochs


def make_optimizer(spec: TrainSpec, model: nn.Module) -> torch.optim.Optimizer:
    if spec.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum, nesterov=spec.nesterov and
                           spec.momentum > 0, weight_decay=spec.weight_decay)


def batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[Tensor]:
    """Index batches of one epoch: a seeded permutation (drawn on the CPU, so CPU and CUDA runs
    see the same order), moved to the device once per epoch."""
    order = torch.randperm(n, generator=generator).to(device)
    yield from order.split(batch_size)


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = EVAL_BATCH) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (in its current mode) on (x, y)."""
    if len(y) == 0:
        return math.nan, math.nan
    loss = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    for i in range(0, len(y), batch_size):
        out = model(x[i : i + batch_size]).float()
        loss += nn.functional.cross_entropy(out, y[i : i + batch_size], reduction="sum").double()
        correct += (out.argmax(1) == y[i : i + batch_size]).sum()
    return float(loss) / len(y), float(correct) / len(y)


def _autocast(device: torch.device, amp: bool) -> tuple[contextlib.AbstractContextManager[Any], torch.amp.GradScaler | None]:
    if not (amp and device.type == "cuda"):
        return contextlib.nullcontext(), None
    if torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16), None
    return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")


def training_loss(model: nn.Module, x: Tensor, y: Tensor, auxiliary_weight: float = 0.0) -> tuple[Tensor, Tensor]:
    """(loss, logits) of one training batch: the cross-entropy, plus ``auxiliary_weight`` × the
    auxiliary head's cross-entropy when it is > 0 (DARTS: loss + 0.4 · loss_aux)."""
    if auxiliary_weight <= 0:
        out = model(x)
        return nn.functional.cross_entropy(out.float(), y), out
    out, aux = model(x, auxiliary=True)
    loss = nn.functional.cross_entropy(out.float(), y)
    if aux is not None:  # None in eval mode: the head runs in training only
        loss = loss + auxiliary_weight * nn.functional.cross_entropy(aux.float(), y)
    return loss, out


def train(spec: TrainSpec, ctx: JobContext | None = None, *, data: Dataset | None = None) -> TrainResult:
    """Train the network ``spec`` describes; streams metrics to ``ctx`` when given.

    Metrics: ``train_loss`` (step), and per epoch ``epoch_train_loss``, ``epoch_train_acc`` (running
    means over the epoch, as the model changed), ``test_loss``, ``test_acc``, ``lr``. With an
    auxiliary head the train loss is the optimised one (main + weighted auxiliary, as DARTS logs
    it); the accuracy is always the main head's."""
    device = resolve_device(spec.device, ctx)
    data = (data if data is not None else load_dataset(spec.data)).to(device)
    model = build_model(spec, data).to(device)
    weights_init = save_weights(model)
    optimizer = make_optimizer(spec, model)
    steps_per_epoch = math.ceil(len(data.y_train) / spec.batch_size)
    total_steps = steps_per_epoch * spec.epochs
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec.epochs)
                 if spec.schedule == "cosine" else None)  # per epoch, as DARTS and NB201 anneal
    autocast, scaler = _autocast(device, spec.amp)
    generator = torch.Generator().manual_seed(spec.seed)
    aug_generator = torch.Generator().manual_seed(spec.seed + 1)
    epochs: dict[str, list[float]] = {k: [] for k in (
        "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")}
    steps: dict[str, list[float]] = {"step": [], "train_loss": []}
    start = time.perf_counter()
    step = 0
    stopped = False
    x_train, y_train = data.x_train, data.y_train
    for epoch in range(1, spec.epochs + 1):
        model.train()
        if spec.drop_path > 0:
            model.drop_path_prob = drop_path_schedule(spec.drop_path, epoch - 1, spec.epochs)
        lr = optimizer.param_groups[0]["lr"]
        epoch_loss = torch.zeros((), device=device)
        epoch_correct = torch.zeros((), device=device, dtype=torch.int64)
        window_loss = torch.zeros((), device=device)
        window_n = 0
        for idx in batches(len(y_train), spec.batch_size, generator, device):
            x, y = data.augment_batch(x_train[idx], aug_generator), y_train[idx]
            with autocast:
                loss, out = training_loss(model, x, y, spec.auxiliary_weight)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if spec.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            step += 1
            detached = loss.detach()
            epoch_loss += detached * len(y)
            epoch_correct += (out.detach().argmax(1) == y).sum()
            window_loss += detached
            window_n += 1
            if step % spec.log_every == 0:
                value = float(window_loss) / window_n
                window_loss.zero_()
                window_n = 0
                steps["step"].append(step)
                steps["train_loss"].append(value)
                if ctx is not None:
                    ctx.metric("train_loss", value, step=step, epoch=epoch)
                    ctx.progress(step / total_steps, f"epoch {epoch}/{spec.epochs}")
                    if ctx.should_stop():
                        stopped = True
                        break
        if stopped:
            break
        if scheduler is not None:
            scheduler.step()
        model.eval()
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
        row = {"epoch": epoch, "train_loss": float(epoch_loss) / len(y_train),
               "train_acc": float(epoch_correct) / len(y_train), "test_loss": test_loss, "test_acc": test_acc,
               "lr": lr, "seconds": time.perf_counter() - start}
        for k, v in row.items():
            epochs[k].append(v)
        if ctx is not None:
            for k in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
                ctx.metric(f"epoch_{k}" if k.startswith("train") else k, row[k], step=step, epoch=epoch)
            ctx.progress(epoch / spec.epochs, f"epoch {epoch}/{spec.epochs}: test acc {test_acc:.3f}")
    model.eval()
    summary = {
        "network": spec.network.kind(), "dataset": data.name, "parameters": parameter_count(model),
        **({"parameters_with_auxiliary": parameter_count(model, auxiliary=True)} if spec.network.auxiliary else {}),
        "epochs_run": len(epochs["epoch"]), "steps": step, "stopped": stopped,
        "final_train_loss": epochs["train_loss"][-1] if epochs["epoch"] else None,
        "final_test_loss": epochs["test_loss"][-1] if epochs["epoch"] else None,
        "final_test_acc": epochs["test_acc"][-1] if epochs["epoch"] else None,
        "best_test_acc": max(epochs["test_acc"]) if epochs["epoch"] else None,
        "seconds": time.perf_counter() - start, "device": str(device), "seed": spec.seed,
    }
    return TrainResult(model, data, summary, epochs, steps, weights_init)


def curves_csv(result: TrainResult) -> bytes:
    keys = list(result.epochs)
    lines = [",".join(keys)]
    lines += [",".join(repr(float(result.epochs[k][i])) for k in keys) for i in range(len(result.epochs["epoch"]))]
    return ("\n".join(lines) + "\n").encode()


def curves_npz(result: TrainResult) -> bytes:
    buf = io.BytesIO()
    arrays = {f"epoch_{k}" if k != "epoch" else "epoch": np.asarray(v, dtype=np.float64) for k, v in result.epochs.items()}
    arrays.update({f"step_{k}" if k != "step" else "step": np.asarray(v, dtype=np.float64) for k, v in result.steps.items()})
    np.savez(buf, **arrays)
    return buf.getvalue()


def store_result(spec: TrainSpec, result: TrainResult, ctx: JobContext) -> None:
    """Write the artifacts other kinds and the views read (names at the top of this module)."""
    ctx.artifact(TRAIN_SPEC, spec.model_dump_json().encode(), "application/json")
    ctx.artifact(WEIGHTS_INIT, result.weights_init, WEIGHTS_MEDIA_TYPE)
    ctx.artifact(WEIGHTS, save_weights(result.model, {"summary": json.dumps(result.summary)}), WEIGHTS_MEDIA_TYPE)
    ctx.artifact("curves.csv", curves_csv(result), "text/csv")
    ctx.artifact("curves.npz", curves_npz(result), "application/x-npz")


@dataclass
class TrainedModel:
    spec: TrainSpec
    model: nn.Module
    data: Dataset
    weights_init: bytes


class ArtifactReader(Protocol):
    """Anything that reads job artifacts: a running job's context, or the job store itself."""

    def read_artifact(self, job_id: int, name: str) -> bytes: ...


def load_trained(reader: ArtifactReader, job_id: int, device: torch.device) -> TrainedModel:
    """A finished ``train`` job's network with its final weights, and its dataset, on ``device``."""
    try:
        spec_json = reader.read_artifact(job_id, TRAIN_SPEC)
        weights = reader.read_artifact(job_id, WEIGHTS)
        weights_init = reader.read_artifact(job_id, WEIGHTS_INIT)
    except Exception as exc:
        raise UserError(f"job {job_id} is not a finished train job with stored weights ({exc})") from None
    spec = validate_model(TrainSpec, spec_json.decode(), f"train job {job_id}'s")
    data = load_dataset(spec.data).to(device)
    model = build_model(spec, data)
    load_weights(model, weights, what=f"job {job_id}'s weights")
    return TrainedModel(spec, model.to(device).eval(), data, weights_init)


# --- views' helpers -------------------------------------------------------------------------------


def curve_band(frames: list[Any], x: Literal["epoch", "step"] = "epoch") -> Any:
    """Mean ± std over runs (seeds) of one metric: each frame has columns ``x`` and ``value`` (a
    job's metric stream for one name); runs are aligned on ``x``. Returns a DataFrame with
    columns x, mean, std, n (std 0 for a single run)."""
    import pandas as pd

    parts = [f[[x, "value"]].dropna().groupby(x, as_index=False)["value"].last() for f in frames if len(f)]
    if not parts:
        return pd.DataFrame(columns=[x, "mean", "std", "n"])
    stacked = pd.concat(parts, ignore_index=True)
    band = stacked.groupby(x)["value"].agg(["mean", "std", "count"]).reset_index()
    band = band.rename(columns={"count": "n"})
    band["std"] = band["std"].fillna(0.0)
    return band


@dataclass(frozen=True)
class ExperimentPreset:
    """A named set of ``train`` specs (cells × seeds), quick on a CPU or at the papers' size."""

    name: str
    size: Literal["quick", "paper"]
    description: str
    specs: tuple[dict[str, Any], ...]
    needs_path: str | None = None  # a dataset read from local files: the folder is asked for


def _mlp_runs(dataset: str, width: int, epochs: int, seeds: int, lr: float) -> tuple[dict[str, Any], ...]:
    from explorer.cell.naming import short_name
    from explorer.cell.presets import get_preset

    return tuple(
        {"network": {"cell": get_preset(dag).cell.to_text(), "network": "mlp", "width": width},
         "data": {"name": dataset}, "name": short_name(dag), "optimizer": "sgd", "lr": lr, "momentum": 0.0,
         "batch_size": 128, "epochs": epochs, "seed": seed}
        for dag in ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)") for seed in range(seeds)
    )


# DARTS_V2 of the DARTS repository's cnn/genotypes.py: normal and reduce cell.
DARTS_V2_GENOTYPE = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def experiment_presets() -> tuple[ExperimentPreset, ...]:
    from explorer.cell.presets import get_preset

    def cell(name: str) -> str:
        return get_preset(name).cell.to_text()

    nb201_paper = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
                   "schedule": "cosine", "batch_size": 256, "epochs": 200}
    return (
        ExperimentPreset(
            "Chen et al. Fig. 4, digits (quick)", "quick",
            "DAG#1/2/3 MLP-cell networks, width 256, plain SGD (lr 0.01, batch 128), 5 epochs, 3 seeds: "
            "does DAG#3 train fastest? About a minute on a laptop CPU.",
            _mlp_runs("digits", 256, 5, 3, 0.01)),
        ExperimentPreset(
            "Chen et al. Fig. 4, MNIST-1D (quick)", "quick",
            "The same three DAGs on MNIST-1D (4,000 signals of length 40), width 256, 10 epochs, one seed.",
            _mlp_runs("mnist1d", 256, 10, 1, 0.01)),
        ExperimentPreset(
            "NB201 cells on synthetic data (seconds)", "quick",
            "The NB201 ResNet cell against the all-conv cell in a tiny NB201 network (C=8, N=1), 5 epochs.",
            tuple({"network": {"cell": cell(name), "channels": 8, "cells_per_stage": 1},
                   "data": {"name": "synthetic"}, "name": name, "optimizer": "sgd", "lr": 0.05, "epochs": 5}
                  for name in ("NB201 ResNet cell", "NB201 all-conv"))),
        ExperimentPreset(
            "DARTS-V2 vs NASNet-A normal cells on digits (quick)", "quick",
            "4- and 5-node DARTS-style cells in a 3-cell DARTS network (C=8) on 8×8 digits, 3 epochs.",
            tuple({"network": {"cell": cell(name), "channels": 8, "layers": 3}, "data": {"name": "digits"},
                   "name": name.removesuffix(" normal cell"),
                   "optimizer": "sgd", "lr": 0.05, "epochs": 3}
                  for name in ("DARTS-V2 normal cell", "NASNet-A normal cell"))),
        ExperimentPreset(
            "Chen et al. Fig. 4, MNIST-1D (paper size)", "paper",
            "Width 1024 as in the paper, plain SGD lr 0.01, batch 128, 100 epochs, 3 seeds per DAG (GPU).",
            _mlp_runs("mnist1d", 1024, 100, 3, 0.01)),
        ExperimentPreset(
            "NB201 ResNet cell on CIFAR-10 (paper size)", "paper",
            "NAS-Bench-201's network (C=16, N=5) and schedule: SGD 0.1, Nesterov momentum 0.9, weight decay "
            "5e-4, cosine, batch 256, 200 epochs. Compare with the benchmark's 93.91 % (GPU; CIFAR-10 from a "
            "local folder).",
            ({"network": {"cell": cell("NB201 ResNet cell"), "channels": 16, "cells_per_stage": 5},
              "data": {"name": "cifar10"}, "name": "NB201 ResNet cell", **nb201_paper},), needs_path="cifar10"),
        ExperimentPreset(
            "DARTS-V2 on CIFAR-10 (paper size)", "paper",
            "DARTS' evaluation protocol (Liu et al., ICLR 2019): the DARTS-V2 genotype (its normal and reduce "
            "cells) at C=36, 20 cells (3.35M parameters without the auxiliary head), SGD 0.025, momentum 0.9, "
            "weight decay 3e-4, cosine, batch 96, gradient clip 5, 600 epochs, crop+flip+cutout 16, drop-path "
            "0.2 (ramped linearly), auxiliary head with weight 0.4. DARTS reports 2.76 ± 0.09 % test error "
            "(GPU; CIFAR-10 from a local folder).",
            ({"network": {"cell": DARTS_V2_GENOTYPE, "channels": 36, "layers": 20, "auxiliary": True},
              "name": "DARTS-V2",
              "data": {"name": "cifar10", "augment": True, "cutout": 16}, "optimizer": "sgd", "lr": 0.025,
              "momentum": 0.9, "weight_decay": 3e-4, "schedule": "cosine", "batch_size": 96, "grad_clip": 5.0,
              "epochs": 600, "auxiliary_weight": 0.4, "drop_path": 0.2},),
            needs_path="cifar10"),
    )


def preset_specs(preset: ExperimentPreset, data_path: str | None = None) -> list[TrainSpec]:
    """The preset's train specs, validated (``SpecError`` names the problem), tagged with the
    preset's name as their experiment, with ``data_path`` filled in for presets that read local files."""
    specs = []
    for raw in preset.specs:
        spec = {"experiment": preset.name, **raw}  # groups the runs on Experiment results
        if preset.needs_path:
            if not data_path:
                raise UserError(f"'{preset.name}' reads {preset.needs_path} from local files: give the folder")
            spec["data"] = {**spec["data"], "path": data_path}
        specs.append(validate_model(TrainSpec, spec, "train"))
    return specs
