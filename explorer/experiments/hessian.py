"""Top Hessian eigenvalues of the training loss at the trained weights, by power iteration.

Hessian-vector products by double backpropagation (Pearlmutter's trick, no Hessian is formed);
power iteration with deflation against the eigenvectors already found, as PyHessian does. Power
iteration converges to the eigenvalue of largest magnitude, which at a trained minimum is the top
(positive) curvature: the smoothness figure Shu et al. tie to the Lipschitz constant. BatchNorm
runs in eval mode with the running statistics by default, so the loss is a fixed function of the
weights; ``bn_stats="batch"`` uses each chunk's statistics instead (``explorer.experiments.batchnorm``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from explorer.experiments.batchnorm import BNStats, use_batch_statistics_
from explorer.experiments.checkpoints import Split, start_analysis
from explorer.experiments.context import RunContext
from explorer.experiments.landscape import evaluation_setting, npz_bytes
from explorer.experiments.train import EVAL_BATCH

HESSIAN_NPZ = "hessian.npz"  # eigenvalues, iterations, traces (Rayleigh quotient per iteration, NaN-padded)


class HessianSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    train_job: int = Field(ge=1, description="id of a finished train job", json_schema_extra={"job_ref": True})
    top_k: int = Field(3, ge=1, le=20, description="how many eigenvalues")
    max_iterations: int = Field(100, ge=1, le=10000, description="power iterations per eigenvalue at most")
    tolerance: float = Field(1e-3, gt=0, le=1, description="stop when the relative change is below this")
    samples: int = Field(1000, ge=1, le=1_000_000, description="size of the fixed evaluation subset")
    split: Split = "train"
    bn_stats: BNStats = Field("running", description="BatchNorm: 'running' = the trained running statistics "
                              "(eval mode); 'batch' = each chunk's own statistics, derivatives through them as "
                              "in training")
    seed: int = Field(0, ge=0, description="seed of the starting vectors")


def hvp(model: nn.Module, x: Tensor, y: Tensor, v: list[Tensor], chunk: int = EVAL_BATCH) -> list[Tensor]:
    """H·v for the mean cross-entropy over (x, y), summed over chunks of the data."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = [torch.zeros_like(p) for p in params]
    n = len(y)
    for i in range(0, n, chunk):
        xb, yb = x[i : i + chunk], y[i : i + chunk]
        loss = nn.functional.cross_entropy(model(xb), yb, reduction="sum") / n
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        used = [(k, g) for k, g in enumerate(grads) if g is not None and g.requires_grad]
        if not used:
            continue
        hv = torch.autograd.grad([g for _, g in used], [params[k] for k, _ in used],
                                 grad_outputs=[v[k] for k, _ in used], allow_unused=True)
        for (k, _), h in zip(used, hv, strict=True):
            if h is not None:
                out[k] += h.detach()
    return out


def _dot(a: list[Tensor], b: list[Tensor]) -> Tensor:
    return sum((x * y).sum() for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _normalise(v: list[Tensor]) -> list[Tensor]:
    norm = torch.sqrt(_dot(v, v)) + 1e-12
    return [t / norm for t in v]


def _orthogonalise(v: list[Tensor], basis: list[list[Tensor]]) -> list[Tensor]:
    for b in basis:
        c = _dot(v, b)
        v = [t - c * u for t, u in zip(v, b, strict=True)]
    return v


@dataclass
class HessianResult:
    eigenvalues: list[float]
    iterations: list[int]
    traces: list[list[float]] = field(default_factory=list)  # the Rayleigh quotient per iteration


def top_eigenvalues(model: nn.Module, x: Tensor, y: Tensor, k: int = 3, *, max_iterations: int = 100,
                    tolerance: float = 1e-3, seed: int = 0,
                    should_stop: Callable[[], bool] | None = None,
                    progress: Callable[[float], None] | None = None,
                    bn_stats: BNStats = "running") -> HessianResult:
    """The ``k`` eigenvalues of largest magnitude of the loss Hessian at the model's weights
    (BatchNorm with its running statistics, or with each chunk's own on a copy: ``bn_stats``)."""
    if bn_stats == "batch":
        model = use_batch_statistics_(copy.deepcopy(model))
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(seed)
    found: list[list[Tensor]] = []
    result = HessianResult([], [], [])
    for j in range(k):
        v = _normalise([torch.randn(p.shape, generator=generator).to(p) for p in params])
        eigenvalue: float | None = None
        trace: list[float] = []
        for _ in range(max_iterations):
            v = _normalise(_orthogonalise(v, found))
            hv = hvp(model, x, y, v)
            new = float(_dot(hv, v))
            trace.append(new)
            v = hv
            if eigenvalue is not None and abs(new - eigenvalue) <= tolerance * (abs(eigenvalue) + 1e-12):
                eigenvalue = new
                break
            eigenvalue = new
            if should_stop is not None and should_stop():
                break
        found.append(_normalise(_orthogonalise(v, found)))
        result.eigenvalues.append(float(eigenvalue if eigenvalue is not None else np.nan))
        result.iterations.append(len(trace))
        result.traces.append(trace)
        if progress is not None:
            progress((j + 1) / k)
        if should_stop is not None and should_stop():
            break
    return result


def run_hessian_top(spec: HessianSpec, ctx: RunContext) -> dict[str, Any]:
    analysis = start_analysis(ctx, spec.train_job, spec.split, spec.samples)
    x, y = analysis.x, analysis.y
    result = top_eigenvalues(analysis.trained.model, x, y, spec.top_k, max_iterations=spec.max_iterations,
                             tolerance=spec.tolerance, seed=spec.seed, should_stop=ctx.should_stop,
                             progress=lambda f: ctx.progress(f, "power iteration"), bn_stats=spec.bn_stats)
    for i, value in enumerate(result.eigenvalues):
        ctx.metric("eigenvalue", value, step=i + 1)
    width = max((len(t) for t in result.traces), default=0)
    traces = np.full((len(result.traces), width), np.nan)
    for i, t in enumerate(result.traces):
        traces[i, : len(t)] = t
    ctx.artifact(HESSIAN_NPZ, npz_bytes(eigenvalues=np.asarray(result.eigenvalues),
                                          iterations=np.asarray(result.iterations), traces=traces),
                 "application/x-npz")
    return {"train_job": spec.train_job, "eigenvalues": result.eigenvalues, "iterations": result.iterations,
            "seconds": analysis.seconds(), "samples": len(y),
            **evaluation_setting(spec.split, spec.bn_stats, analysis.trained.model)}
