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

What a finished run stores, and how it is loaded again, is ``explorer.experiments.checkpoints``;
the named sets of runs (presets) are ``explorer.experiments.presets``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from explorer.core.errors import UserError
from explorer.experiments.context import RunContext
from explorer.experiments.datasets import Dataset, DataSpec, load_dataset
from explorer.experiments.gradient_flow import epoch_columns
from explorer.nets import parameter_count
from explorer.nets.spec import NetworkSpec
from explorer.nets.weights import save_weights

EVAL_BATCH = 1024
Device = Literal["auto", "cpu", "cuda"]


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
    device: Device = Field("auto", description="auto: the worker's device")
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


def resolve_device(requested: Device, ctx: RunContext | None = None) -> torch.device:
    """``auto``: the context's device (a job's worker decides), else CUDA when present."""
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


def _autocast(
    device: torch.device, amp: bool
) -> tuple[contextlib.AbstractContextManager[Any], torch.amp.GradScaler | None]:
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


def train(spec: TrainSpec, ctx: RunContext | None = None, *, data: Dataset | None = None) -> TrainResult:
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
        row |= epoch_columns(model)  # the last batch's gradient flow (the labs' grad_attenuation_final)
        for k, v in row.items():
            epochs.setdefault(k, []).append(v)
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
