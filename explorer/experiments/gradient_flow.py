"""Gradient flow: per-layer gradient norms of a network, at initialisation and during training.

"Layer" = one parameter tensor that is a weight matrix or kernel (``dim() ≥ 2``), in the order the
model registers them, so the first is nearest the input and the last is the head. Biases and norm
scales are left out: their gradients say little about how the signal reaches a layer.

The attenuation ``log10(‖g_first‖ / ‖g_last‖)`` summarises a profile in one number: near 0 when the
gradient reaches the first layer as strongly as the last, very negative when it vanishes on the way
(the plain deep chain), positive when it grows.

``epoch_columns`` is what the training loop adds to an epoch's row (``curves.csv``) to record the
flow during training: the norms left by the epoch's last batch.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

PROBE_BATCH = 256


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The model's weight matrices and kernels, input side first."""
    return [(name, p) for name, p in model.named_parameters() if p.dim() >= 2 and p.requires_grad]


def layer_gradient_norms(model: nn.Module) -> list[tuple[str, float]]:
    """(name, ‖grad‖₂) of every weight layer from the gradients the last backward pass left (0 where none)."""
    return [(name, float(p.grad.norm()) if p.grad is not None else 0.0) for name, p in weight_layers(model)]


def attenuation(norms: list[tuple[str, float]]) -> float:
    """log10(first / last) of a profile; NaN when it has under two layers or a zero or non-finite end."""
    if len(norms) < 2:
        return math.nan
    first, last = norms[0][1], norms[-1][1]
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return math.nan
    return math.log10(first / last)


def probe(model: nn.Module, x: Tensor, y: Tensor) -> list[tuple[str, float]]:
    """Per-layer gradient norms of the mean cross-entropy on (x, y) at the model's current weights."""
    model.train()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x).float(), y).backward()
    norms = layer_gradient_norms(model)
    model.zero_grad(set_to_none=True)
    return norms


def epoch_columns(model: nn.Module) -> dict[str, float]:
    """Columns for an epoch's row: the first and last weight layers' gradient norms after the epoch's
    last step, and their attenuation (what ``grad_attenuation_final`` reads)."""
    norms = layer_gradient_norms(model)
    if not norms:
        return {}
    return {"grad_norm_first": norms[0][1], "grad_norm_last": norms[-1][1], "grad_attenuation": attenuation(norms)}
