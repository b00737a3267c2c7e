"""NASWOT: score a cell's untrained network on a mini-batch (Mellor et al., "Neural
Architecture Search without Training").

Two scores, both on the network in training mode (batch-norm uses the batch, as in the paper's code):

- ``jacobian`` (the 2020 version, the one the warehouse's ``naswot_v1`` holds): J = ∂Σy/∂x per sample,
  Σ = corrcoef(J), score = −Σ_i [log(λ_i + k) + 1/(λ_i + k)] over Σ's eigenvalues, k = 1e-5.
- ``hamming`` (the ICML 2021 version): binary codes c of every ReLU's output per sample,
  K_ij = Σ_ReLU (N_A − Hamming(c_i, c_j)), score = log|det K|.

Both are higher-is-better. A score is comparable with the warehouse's NB201 scores only for the same
data (CIFAR-10), batch size (128) and network (NB201, C = 16, N = 5); other settings rank cells among
themselves.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from explorer.core.errors import UserError
from explorer.experiments.context import RunContext
from explorer.experiments.datasets import DataSpec, load_dataset
from explorer.nets import parameter_count
from explorer.nets.spec import NetworkSpec

JACOBIAN_K = 1e-5
Score = Literal["jacobian", "hamming"]


class NaswotSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    network: NetworkSpec = Field(description="the cell and its network (NB201 network by default for NB201 cells)")
    data: DataSpec = DataSpec()
    batch_size: int = Field(128, ge=2, le=4096, description="mini-batch size (the paper and the warehouse: 128)")
    score: Score = "jacobian"
    batches: int = Field(1, ge=1, le=100, description="score this many mini-batches (fresh init each) and average")
    seed: int = Field(0, ge=0, description="seed of the initialisation and of the mini-batch draw")


def jacobian_score(jacobian: np.ndarray) -> float:
    """NASWOT 2020: −Σ log(λ + k) + 1/(λ + k) over the eigenvalues of the per-sample Jacobians' correlations."""
    corr = np.corrcoef(jacobian.reshape(jacobian.shape[0], -1))
    eig = np.linalg.eigvalsh(np.nan_to_num(corr))  # symmetric: real eigenvalues
    return float(-np.sum(np.log(eig + JACOBIAN_K) + 1.0 / (eig + JACOBIAN_K)))


def hamming_kernel(codes: list[torch.Tensor]) -> torch.Tensor:
    """K_ij = Σ over layers of the number of units on which samples i and j agree (both on or both off)."""
    n = codes[0].shape[0]
    k = torch.zeros(n, n, dtype=torch.float64)
    for c in codes:
        c = c.reshape(n, -1).double()
        k += c @ c.T + (1 - c) @ (1 - c).T
    return k


def score_batch(model: nn.Module, x: torch.Tensor, kind: Score) -> float:
    model.train()
    if kind == "jacobian":
        model.zero_grad(set_to_none=True)
        x = x.clone().requires_grad_(True)
        y = model(x)
        y.backward(torch.ones_like(y))
        assert x.grad is not None
        return jacobian_score(x.grad.detach().cpu().numpy())
    codes: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: codes.append((out > 0).detach().cpu()))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    if not codes:
        return float("nan")  # no ReLU: no activation pattern to score
    return float(torch.linalg.slogdet(hamming_kernel(codes))[1])


def run_naswot(spec: NaswotSpec, ctx: RunContext) -> dict[str, Any]:
    device = torch.device(ctx.device)
    data = load_dataset(spec.data)
    n = len(data.y_train)
    if n < spec.batch_size:
        raise UserError(f"{data.name} has {n} training samples, fewer than the batch size {spec.batch_size}")
    generator = torch.Generator().manual_seed(spec.seed)
    scores = []
    for b in range(spec.batches):
        torch.manual_seed(spec.seed + b)
        model = spec.network.build(data.input_shape, data.num_classes).to(device)
        idx = torch.randperm(n, generator=generator)[: spec.batch_size]
        scores.append(score_batch(model, data.x_train[idx].to(device), spec.score))
        ctx.metric("naswot_score", scores[-1], step=b + 1)
        ctx.progress((b + 1) / spec.batches, f"batch {b + 1}/{spec.batches}: {scores[-1]:.4g}")
        if ctx.should_stop():
            break
    notes = []
    inputs = int(np.prod(data.input_shape))
    if spec.score == "jacobian" and inputs < spec.batch_size:
        # corrcoef of batch_size Jacobians of dimension `inputs` has rank ≤ inputs: the zero eigenvalues
        # each add 1/k = 1e5, which swamps the score.
        notes.append(f"the input has {inputs} values, fewer than the batch size {spec.batch_size}: the Jacobian "
                     "correlation matrix is rank-deficient and the score is dominated by that; use a batch of at "
                     f"most {inputs} or the hamming score")
    return {
        "score": float(np.mean(scores)),
        "scores": scores,
        "notes": notes,
        "kind": spec.score,
        "network": spec.network.kind(),
        "dataset": data.name,
        "batch_size": spec.batch_size,
        "parameters": parameter_count(model),
        "comparable_with_warehouse": spec.score == "jacobian"
        and data.name == "cifar10"
        and spec.batch_size == 128
        and spec.network.kind() == "nb201"
        and spec.network.channels == 16
        and spec.network.cells_per_stage == 5,
    }
