"""Per-sample gradient variance over the loss plane (Shu et al., ICLR 2020, Sec. 4.2.2).

g(w) = Var_i(∇f_i(w)) = mean_i ‖∇f_i(w)‖² − ‖mean_i ∇f_i(w)‖², summed over all parameters,
shown as √g as in the paper. BackPACK's ``SumGradSquared`` gives Σ_i (∇f_i)² per parameter in
the same backward pass as Σ_i ∇f_i (the loss is a sum, so BackPACK's per-sample terms are the
plain per-sample gradients). BatchNorm runs in eval mode: in train mode a sample's gradient
depends on the rest of its batch, so per-sample gradients are not defined. Its statistics are the
trained running ones (``bn_stats="running"``) or, with ``"batch"``, those of the evaluation subset
recomputed at every grid point and then held fixed.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from backpack import backpack, extend
from backpack.extensions import SumGradSquared
from pydantic import Field
from torch import Tensor, nn

from explorer.experiments.batchnorm import BNStats, recalibrate_
from explorer.experiments.checkpoints import Split, start_analysis
from explorer.experiments.context import RunContext
from explorer.experiments.landscape import (
    Directions,
    GridSpec,
    directions,
    evaluation_setting,
    grid_csv,
    npz_bytes,
)
from explorer.experiments.train import EVAL_BATCH

PARAMETERIZED = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)
GRAD_VARIANCE_NPZ = "grad_variance.npz"  # alpha, beta, g, sqrt_g
GRAD_VARIANCE_CSV = "grad_variance.csv"


class GradVarianceSpec(GridSpec):
    # Shu et al.'s quantity, so Shu's setting by default: their maps are on the CIFAR-10 test set.
    split: Split = Field("test", description="which split the evaluation subset comes from (Shu et al.: test)")


def extend_for_backpack(model: nn.Module) -> nn.Module:
    """Hook BackPACK onto every parameterized layer (only those: the cells' Python control flow,
    sums and concatenations, need nothing from it for first-order quantities). Eval mode."""
    for module in model.modules():
        if isinstance(module, PARAMETERIZED):
            extend(module)
        elif not list(module.children()) and any(True for _ in module.parameters(recurse=False)):
            raise TypeError(f"BackPACK cannot give per-sample gradients of {type(module).__name__}")
    return model.eval()


@contextlib.contextmanager
def _quiet_hooks() -> Iterator[None]:
    # The input needs no gradient, so BackPACK's hook on the first layer fires on its output: expected.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        yield


def gradient_variance(model: nn.Module, x: Tensor, y: Tensor, chunk: int = EVAL_BATCH) -> float:
    """g = mean_i ‖∇f_i‖² − ‖mean_i ∇f_i‖² of the cross-entropy over (x, y), at the model's
    current weights. ``model`` must have gone through ``extend_for_backpack``."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = None
    sum_sq = torch.zeros((), dtype=torch.float64, device=x.device)
    total: list[Tensor] = [torch.zeros_like(p) for p in params]
    for i in range(0, len(y), chunk):
        with backpack(SumGradSquared()), _quiet_hooks():
            loss = nn.functional.cross_entropy(model(x[i : i + chunk]), y[i : i + chunk], reduction="sum")
            loss.backward()
        for p, t in zip(params, total, strict=True):
            # A parameter outside the loss's graph (a dead edge's layer) has no gradient: it adds 0.
            if p.grad is not None:
                sum_sq += p.sum_grad_squared.double().sum()
                t += p.grad
                p.grad = None
            if hasattr(p, "sum_grad_squared"):
                del p.sum_grad_squared
    n = len(y)
    mean_sq = sum(float(t.double().square().sum()) for t in total) / (n * n)
    return max(0.0, float(sum_sq) / n - mean_sq)  # clamp the float rounding of a near-zero difference


def gradient_variance_loop(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """The same quantity one sample at a time (the reference the tests and bench compare with)."""
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    sum_sq = 0.0
    total = [torch.zeros_like(p, dtype=torch.float64) for p in params]
    for i in range(len(y)):
        with _quiet_hooks():
            loss = nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1], reduction="sum")
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        for g, t in zip(grads, total, strict=True):
            if g is not None:
                sum_sq += float(g.double().square().sum())
                t += g.double()
    n = len(y)
    return max(0.0, sum_sq / n - sum(float(t.square().sum()) for t in total) / (n * n))


@torch.no_grad()
def _set(params: dict[str, nn.Parameter], base: dict[str, Tensor], d1: Directions, d2: Directions,
         alpha: float, beta: float) -> None:
    for k, p in params.items():
        p.copy_(base[k] + alpha * d1[k] + beta * d2[k])


def variance_grid(model: nn.Module, x: Tensor, y: Tensor, d1: Directions, d2: Directions, xs: np.ndarray,
                  ys: np.ndarray, *, ctx: RunContext | None = None, bn_stats: BNStats = "running") -> np.ndarray:
    """g on the grid xs × ys (rows are ys) around the model's weights; the weights (and BatchNorm's
    running statistics) are restored."""
    params = dict(model.named_parameters())
    base = {k: p.detach().clone() for k, p in params.items()}
    buffers = {k: b.detach().clone() for k, b in model.named_buffers()}
    extend_for_backpack(model)
    out = np.full((len(ys), len(xs)), np.nan)
    try:
        for j, b in enumerate(ys):
            for i, a in enumerate(xs):
                _set(params, base, d1, d2, float(a), float(b))
                if bn_stats == "batch":
                    recalibrate_(model, x)
                out[j, i] = gradient_variance(model, x, y)
            if ctx is not None:
                ctx.progress((j + 1) / len(ys), "gradient variance")
                if ctx.should_stop():
                    break
    finally:
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(base[k])
            for k, buf in model.named_buffers():
                buf.copy_(buffers[k])
    return out


def run_grad_variance(spec: GradVarianceSpec, ctx: RunContext) -> dict[str, Any]:
    analysis = start_analysis(ctx, spec.train_job, spec.split, spec.samples)
    x, y = analysis.x, analysis.y
    d1, d2 = directions(analysis.trained.model, spec.seed, spec.ignore_bias_bn)
    axis = spec.axis()
    setting = evaluation_setting(spec.split, spec.bn_stats, analysis.trained.model)  # before the grid moves it
    g = variance_grid(analysis.trained.model, x, y, d1, d2, axis, axis, ctx=ctx, bn_stats=spec.bn_stats)
    seconds = analysis.seconds()
    sqrt_g = np.sqrt(g)
    ctx.artifact(GRAD_VARIANCE_NPZ, npz_bytes(alpha=axis, beta=axis, g=g, sqrt_g=sqrt_g), "application/x-npz")
    ctx.artifact(GRAD_VARIANCE_CSV, grid_csv(axis, axis, g=g, sqrt_g=sqrt_g), "text/csv")
    centre = (spec.steps // 2, spec.steps // 2) if spec.steps % 2 else None
    return {
        "train_job": spec.train_job, "points": int(np.isfinite(g).sum()), "seconds": seconds, "samples": len(y),
        "centre_sqrt_g": float(sqrt_g[centre]) if centre else None,
        "min_sqrt_g": float(np.nanmin(sqrt_g)), "max_sqrt_g": float(np.nanmax(sqrt_g)), **setting,
    }
