"""A convolutional cell realised from any ``Cell``: one layer per live edge, sums at nodes.

This is NAS-Bench-201's ``InferCell`` and DARTS' ``Cell`` in one: each node is the sum of its
incoming edges' layers, in topological order, and the output either sums its incoming edges or
(DARTS) concatenates the nodes its ``concat`` edges name. Layers exist for every live edge, even
one whose source no input reaches, exactly as in the reference code, so parameter counts match it.
A node that no live edge enters holds zeros, which is what the references compute through their
``Zero`` ops.

In training, ``drop_path_prob`` > 0 applies DARTS' drop-path to every layer's output except the
identities (stride-1 skips), as DARTS' ``Cell.forward`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from explorer.cell.model import Cell
from explorer.core.errors import CellError
from explorer.nets.layers import drop_path

# make_layer(op, stride) -> module; stride is 2 only for edges out of an input of a reduction cell.
LayerFactory = Callable[[str, int], nn.Module]


class DagCell(nn.Module):
    def __init__(self, cell: Cell, make_layer: LayerFactory, *, reduction: bool = False) -> None:
        super().__init__()
        self.cell = cell
        self.reduction = reduction
        self.layers = nn.ModuleDict()
        for i, e in enumerate(cell.edges):
            if e.absent or e.op == "concat":
                continue
            stride = 2 if reduction and cell.roles[e.src] == "input" else 1
            self.layers[str(i)] = make_layer(e.op, stride)
        self._incoming = {
            v: [(i, e.src) for i, e in enumerate(cell.edges) if e.dst == v and not e.absent and e.op != "concat"]
            for v in range(cell.n_nodes)
        }
        concat = [e for e in cell.edges if e.op == "concat"]
        if concat and any(e.dst == cell.output and e.op != "concat" and not e.absent for e in cell.edges):
            raise CellError("the output node mixes concat edges with op edges; use one or the other")
        self.concat_nodes: tuple[int, ...] = tuple(e.src for e in concat)

    @property
    def multiplier(self) -> int:
        """How many node-widths the output has (1 when the output sums)."""
        return max(1, len(self.concat_nodes))

    def forward(self, inputs: Sequence[Tensor], drop_path_prob: float = 0.0) -> Tensor:
        if len(inputs) != len(self.cell.inputs):
            raise ValueError(f"cell has {len(self.cell.inputs)} inputs, got {len(inputs)} tensors")
        states: dict[int, Tensor] = dict(zip(self.cell.inputs, inputs, strict=True))
        zeros: Tensor | None = None
        drop = drop_path_prob if self.training else 0.0

        def zero_state() -> Tensor:
            nonlocal zeros
            if zeros is None:
                x = inputs[-1]
                zeros = torch.zeros_like(x[:, :, ::2, ::2] if self.reduction else x)
            return zeros

        for v in self.cell.topological_order:
            if v in states or (v == self.cell.output and self.concat_nodes):
                continue
            total: Tensor | None = None
            for i, src in self._incoming[v]:
                layer = self.layers[str(i)]
                y = layer(states[src])
                if drop > 0.0 and not isinstance(layer, nn.Identity):
                    y = drop_path(y, drop)
                total = y if total is None else total + y
            states[v] = total if total is not None else zero_state()
        if self.concat_nodes:
            return torch.cat([states[v] for v in self.concat_nodes], dim=1)
        return states[self.cell.output]
