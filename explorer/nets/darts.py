"""The DARTS-style network (``NetworkCIFAR`` of Liu et al., ICLR 2019, ``cnn/model.py``).

Stem (3×3 conv to 3C + BN), then ``layers`` cells; each takes the outputs of the previous two
cells, preprocessed to C channels (a factorized reduce for the one before a reduction, else a 1×1
ReLU-Conv-BN). Cells at 1/3 and 2/3 depth are reduction cells (stride 2 on edges out of the
inputs, channels doubled). Each cell concatenates its ``concat`` nodes. Global pool, linear head.
Works for any number of intermediate nodes (4 in DARTS, 5 in NASNet/AmoebaNet/ENAS).

DARTS' evaluation extras: an optional auxiliary head (``AuxiliaryHeadCIFAR``) on the output of
the cell at 2/3 depth, run only in training and only when asked for (``net(x, auxiliary=True)``
returns the pair); and drop-path with probability ``drop_path_prob`` on the cells' non-identity
ops in training. A plain ``net(x)`` returns the logits in every mode, so analyses that call the
network see one tensor whatever it was trained with.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from explorer.cell.model import Cell
from explorer.core.errors import CellError
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

    def forward(self, s0: Tensor, s1: Tensor, drop_path_prob: float = 0.0) -> Tensor:
        return self.ops([self.preprocess0(s0), self.preprocess1(s1)], drop_path_prob)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS' auxiliary classifier: ReLU, 5×5 average pool with stride 3 (8×8 → 2×2), 1×1 conv to
    128 + BN + ReLU, 2×2 conv to 768 + BN + ReLU, linear. DARTS assumes an 8×8 map (32×32 inputs);
    any other size is average-pooled to the same 2×2 adaptively (no parameters change)."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)  # DARTS' in-place ReLU would also rectify the cell's output
        self.features = nn.Sequential(
            nn.Conv2d(c_in, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        if x.shape[-2:] == (8, 8):
            x = F.avg_pool2d(x, 5, stride=3, padding=0, count_include_pad=False)
        else:
            x = F.adaptive_avg_pool2d(x, 2)
        return self.classifier(self.features(x).flatten(1))


class DartsNetwork(nn.Module):
    def __init__(self, normal: Cell, reduce: Cell | None = None, channels: int = 16, layers: int = 8,
                 num_classes: int = 10, in_channels: int = 3, *, auxiliary: bool = False) -> None:
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
        self.auxiliary_index = 2 * layers // 3  # the auxiliary head reads this cell's output (DARTS)
        c_auxiliary = c_prev
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DartsCell(self.reduce if reduction else self.normal, c_prev_prev, c_prev, c_curr,
                             reduction=reduction, reduction_prev=reduction_prev)
            cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels
            if i == self.auxiliary_index:
                c_auxiliary = c_prev
        self.cells = nn.ModuleList(cells)
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_auxiliary, num_classes) if auxiliary else None
        self.drop_path_prob = 0.0  # set per epoch by the trainer; only used in training
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: Tensor, *, auxiliary: bool = False) -> Tensor | tuple[Tensor, Tensor | None]:
        """The logits; with ``auxiliary=True`` the pair (logits, auxiliary logits), the latter
        ``None`` outside training or without a head (DARTS' ``NetworkCIFAR.forward``)."""
        logits_aux: Tensor | None = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if auxiliary and i == self.auxiliary_index and self.training and self.auxiliary_head is not None:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return (logits, logits_aux) if auxiliary else logits
