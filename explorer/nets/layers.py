"""The concrete layer behind each edge op, as NAS-Bench-201 and DARTS define them.

NB201 ops follow ``xautodl/models/cell_operations.py`` (ReLU-Conv-BN, 3×3 average pooling with
``count_include_pad=False``, identity), DARTS ops follow ``cnn/operations.py`` of the DARTS
repository (separable convs applied twice, dilated convs, pools, factorized reduce on stride-2
skips). Keeping the same layers and order means the parameter counts match the benchmarks to the
parameter. ``none`` edges get no module at all: they contribute nothing to a node's sum.
``drop_path`` is DARTS' regulariser on an op's output (``cnn/utils.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer.core.errors import CellError

NB201_LAYER_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
DARTS_LAYER_OPS = (
    "skip_connect", "avg_pool_3x3", "max_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
    "dil_conv_3x3", "dil_conv_5x5",
)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )


class DilConv(nn.Sequential):
    """ReLU, depthwise (dilated) conv, pointwise conv, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )


class SepConv(nn.Sequential):
    """DARTS' separable conv: a stride-s DilConv(dilation 1) followed by a stride-1 one."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1),
            DilConv(c_in, c_out, kernel, 1, padding, 1),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1×1 convs, concatenated (DARTS/NB201)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise CellError(f"factorized reduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        # The shifted path is padded back to the input size so odd sizes work too; on even sizes the
        # padded row/column is never sampled by the stride, so this equals DARTS' x[:, :, 1:, 1:].
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Pool(nn.Module):
    """3×3 pooling, after a 1×1 ReLU-Conv-BN when the channel count changes (NB201's POOLING)."""

    def __init__(self, mode: str, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.preprocess = ReLUConvBN(c_in, c_out, 1, 1, 0) if c_in != c_out else None
        if mode == "avg":
            self.pool: nn.Module = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)


def drop_path(x: Tensor, p: float) -> Tensor:
    """Zero whole samples of an op's output with probability ``p`` and scale the kept ones by
    1/(1−p), so the expectation is unchanged (DARTS' ``drop_path``). Out of place; the mask is
    drawn from the global generator on ``x``'s device."""
    if p <= 0.0:
        return x
    keep = 1.0 - p
    mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


def nb201_layer(op: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """The module NAS-Bench-201 puts on an edge carrying ``op`` (never called for ``none``)."""
    if op == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1)
    if op == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    if op == "avg_pool_3x3":
        return Pool("avg", c_in, c_out, stride)
    if op == "skip_connect":
        return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out)
    raise CellError(f"op {op!r} has no NAS-Bench-201 layer; NB201 networks take {', '.join(NB201_LAYER_OPS)}"
                    " and none")


def darts_layer(op: str, channels: int, stride: int) -> nn.Module:
    """The module DARTS puts on an edge carrying ``op`` (never called for ``none``)."""
    c = channels
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if op == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if op in ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"):
        k = int(op[-1])
        return SepConv(c, c, k, stride, k // 2)
    if op in ("dil_conv_3x3", "dil_conv_5x5"):
        k = int(op[-1])
        return DilConv(c, c, k, stride, 2 * (k // 2), 2)
    raise CellError(f"op {op!r} has no DARTS layer; DARTS networks take {', '.join(DARTS_LAYER_OPS)} and none")
