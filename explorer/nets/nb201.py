"""The NAS-Bench-201 network (``TinyNetwork`` of Dong & Yang, ICLR 2020).

Stem (3×3 conv + BN) → N cells at C channels → residual reduction block → N cells at 2C →
residual reduction block → N cells at 4C → BN-ReLU → global average pool → linear head.
The benchmark uses C = 16, N = 5; with a 10-class head the parameter count equals NB201's
``params`` to the parameter (e.g. 559,386 for the ResNet cell).
"""

from __future__ import annotations

from torch import Tensor, nn

from explorer.cell.model import Cell
from explorer.core.errors import CellError
from explorer.nets.dag import DagCell
from explorer.nets.layers import ReLUConvBN, nb201_layer


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block: two ReLU-Conv3×3-BN plus a pooled 1×1 conv shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = None

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


def nb201_cell(cell: Cell, channels: int) -> DagCell:
    """One NB201-style cell at ``channels`` in and out (any one-input cell of NB201 ops)."""
    if len(cell.inputs) != 1:
        raise CellError(f"an NB201 network needs a cell with one input node, this one has {len(cell.inputs)}")
    if any(e.op == "concat" for e in cell.edges):
        raise CellError("an NB201 network sums at the output; this cell concatenates (use the DARTS network)")
    return DagCell(cell, lambda op, stride: nb201_layer(op, channels, channels, stride))


class NB201Network(nn.Module):
    def __init__(self, cell: Cell, channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        if channels < 1 or cells_per_stage < 0:
            raise CellError(f"channels must be ≥ 1 and cells per stage ≥ 0, got {channels}, {cells_per_stage}")
        self.cell = cell
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        blocks: list[nn.Module] = []
        c_prev = c
        for stage, c_stage in enumerate((c, 2 * c, 4 * c)):
            if stage:
                blocks.append(ResNetBasicBlock(c_prev, c_stage, 2))
            blocks.extend(nb201_cell(cell, c_stage) for _ in range(cells_per_stage))
            c_prev = c_stage
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(x)
        for block in self.cells:
            h = block([h]) if isinstance(block, DagCell) else block(h)
        h = self.global_pooling(self.lastact(h))
        return self.classifier(h.flatten(1))
