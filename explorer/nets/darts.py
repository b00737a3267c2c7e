"""The DARTS-style network (``NetworkCIFAR`` of Liu et al., ICLR 2019, without the auxiliary head).

Stem (3×3 conv to 3C + BN), then ``layers`` cells; each takes the outputs of the previous two
cells, preprocessed to C channels (a factorized reduce for the one before a reduction, else a 1×1
ReLU-Conv-BN). Cells at 1/3 and 2/3 depth are reduction cells (stride 2 on edges out of the
inputs, channels doubled). Each cell concatenates its ``concat`` nodes. Global pool, linear head.
Works for any number of intermediate nodes (4 in DARTS, 5 in NASNet/AmoebaNet/ENAS).
"""

from __future__ import annotations

from torch import Tensor, nn

from explorer.cells import Cell, CellError
from explorer.nets.dag import DagCell
from explorer.nets.layers import FactorizedReduce, ReLUConvBN, darts_layer

STEM_MULTIPLIER = 3


def darts_cell(cell: Cell, channels: int, *, reduction: bool = False) -> DagCell:
    """One DARTS-style cell's ops at ``channels`` (inputs already preprocessed to ``channels``)."""
    if len(cell.inputs) != 2:
        raise CellError(f"a DARTS network needs a cell with two input nodes, this one has {len(cell.inputs)}")
    return DagCell(cell, lambda op, stride: darts_layer(op, channels, stride), reduction=reduction)


class DartsCell(nn.Module):
    def __init__(self, cell: Cell, c_prev_prev: int, c_prev: int, channels: int, *, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0: nn.Module = (
            FactorizedReduce(c_prev_prev, channels) if reduction_prev else ReLUConvBN(c_prev_prev, channels, 1, 1, 0)
        )
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        self.ops = darts_cell(cell, channels, reduction=reduction)
        self.out_channels = channels * self.ops.multiplier

    def forward(self, s0: Tensor, s1: Tensor) -> Tensor:
        return self.ops([self.preprocess0(s0), self.preprocess1(s1)])


class DartsNetwork(nn.Module):
    def __init__(self, normal: Cell, reduce: Cell | None = None, channels: int = 16, layers: int = 8,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if channels < 1 or channels % 2 or layers < 1:
            raise CellError(f"channels must be even and ≥ 2 and layers ≥ 1, got {channels}, {layers}")
        self.normal = normal
        self.reduce = reduce if reduce is not None else normal  # DARTS' own fallback for one-cell genotypes
        c_curr = STEM_MULTIPLIER * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, channels
        cells = []
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DartsCell(self.reduce if reduction else self.normal, c_prev_prev, c_prev, c_curr,
                             reduction=reduction, reduction_prev=reduction_prev)
            cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels
        self.cells = nn.ModuleList(cells)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))
