"""Which BatchNorm statistics an analysis of a trained network evaluates with.

``running``: the trained running statistics (eval mode), as Li et al.'s loss-landscape code and
Shu et al. after it. Away from the trained weights they no longer match the activations, so a
short run's landscape looks sharper than the network is (an NB201 net after 2 epochs: loss 27.2
at (1, 1) with running statistics, 2.7 with batch statistics).
``batch``: the statistics of the evaluated samples at each point, as the network would see in
training. The loss landscape and the Hessian use the batch's own statistics (the Hessian then
includes their dependence on the weights, as training does); the gradient variance recomputes
the statistics over the whole evaluation subset at each point and holds them fixed, because a
per-sample gradient is undefined when a sample's normalisation depends on the rest of its batch.
Networks without BatchNorm (the MLP-cell net) give the same numbers either way.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

BNStats = Literal["running", "batch"]
BN_STATS_LABELS = {"running": "running statistics (eval mode, as Li et al.)",
                   "batch": "batch statistics of the evaluated samples"}
_BN = nn.modules.batchnorm._BatchNorm


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, _BN) for m in model.modules())


def use_batch_statistics_(model: nn.Module) -> nn.Module:
    """Make every BatchNorm of ``model`` (in place) normalise with its input batch's statistics in
    eval mode too, and never update running ones: with no running buffers, PyTorch's batch norm
    uses the batch (what ``torch.func.replace_all_batch_norm_modules_`` does, so vmap works)."""
    for m in model.modules():
        if isinstance(m, _BN):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return model


@torch.no_grad()
def recalibrate_(model: nn.Module, x: Tensor, chunk: int = 1024) -> None:
    """Set every BatchNorm's running statistics (in place) to those of ``x`` at the current
    weights (a cumulative average over chunks); the model is left in eval mode."""
    bns = [m for m in model.modules() if isinstance(m, _BN)]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # None: the cumulative average over the chunks, not an exponential one
        m.train()
    try:
        for i in range(0, len(x), chunk):
            model(x[i : i + chunk])
    finally:
        for m, momentum in zip(bns, momenta, strict=True):
            m.momentum = momentum
            m.eval()
