"""The MLP-cell network of Chen et al. (NeurIPS 2022, Sec. 5.1).

A stem to width m, then the cell: every parameterized edge is Linear(m, m) + ReLU with
Kaiming-normal weights (so at initialisation an edge computes √2·ReLU(W x) with W ~ N(0, 1/m),
the c_σ = 2 scaling of the NNGP), every non-parameterized edge is the identity (pooling has no
meaning on a feature vector), ``none`` edges do not exist, and incoming edges are summed at a
node. A concat output concatenates its nodes (DARTS-style cells); every input node of the cell
receives the stem output. A linear head maps the output to the classes.

Two stems (``stem``): ``"chen"`` is the network exactly as Chen et al. describe and release it —
a Linear+ReLU stem, Kaiming-normal weights (and zero biases) on every layer, stem and readout
included; ``"linear"`` is this project's earlier network — a stem without ReLU, stem and head
with PyTorch's default (Kaiming-uniform, a = √5) initialisation. Both have the same parameters
under the same names, so weights load into either; only the function they compute differs.

``branch_scale`` α scales the parameterized edges into a node that also has a parameter-free edge,
so a residual node computes x + α·f(x); nodes without an identity edge (a plain chain's) are
unchanged. With α = 1 (the cell as drawn) an unnormalised residual chain's second moment grows
about 2.8× per layer at initialisation: f preserves it (Kaiming normal), the identity adds it again,
and since f ends in a ReLU, x and f(x) are both non-negative and the cross term 2α·E[x·f(x)] adds
about α more. So 1/√L, the bound for branches that end in a linear layer (Hanin & Rolnick, NeurIPS
2018), is not enough here (×390 at 32 layers); α = 1/L keeps it near e (×2.3; tests/test_nets.py).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from explorer.cell.model import Cell

MLPStem = Literal["chen", "linear"]
MLP_STEMS: tuple[str, ...] = ("chen", "linear")


def kaiming_normal_linear_(layer: nn.Linear) -> None:
    """Chen et al.'s initialisation: W ~ N(0, 2/fan_in) (c_σ = 2), bias 0."""
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class LinearReLU(nn.Module):
    def __init__(self, width: int, bias: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(width, width, bias=bias)
        kaiming_normal_linear_(self.linear)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.linear(x))


class MLPCellNet(nn.Module):
    def __init__(self, cell: Cell, in_features: int, width: int = 1024, num_classes: int = 10,
                 bias: bool = True, stem: MLPStem = "chen", branch_scale: float = 1.0) -> None:
        super().__init__()
        if stem not in MLP_STEMS:
            raise ValueError(f"stem must be one of {', '.join(MLP_STEMS)}, got {stem!r}")
        self.cell = cell
        self.width = width
        self.stem_kind = stem
        self.branch_scale = branch_scale
        # A bare Linear (not Sequential(Linear, ReLU)) keeps the state-dict names of both stems equal.
        self.stem = nn.Linear(in_features, width, bias=bias)
        # One module per live parameterized edge, keyed by the edge's index in cell.edges.
        self.edge_ops = nn.ModuleDict({
            str(i): LinearReLU(width, bias) for i, e in enumerate(cell.edges) if not e.absent and e.parameterized
        })
        self._incoming = {
            v: [(i, e) for i, e in enumerate(cell.edges) if e.dst == v and not e.absent]
            for v in range(cell.n_nodes)
        }
        # Nodes where a parameterized edge meets an identity: their parameterized inputs get branch_scale.
        self._residual = {v for v, inc in self._incoming.items()
                          if any(e.parameterized for _, e in inc) and any(not e.parameterized for _, e in inc)}
        concat = [e for e in cell.edges if e.op == "concat"]
        out_width = width * len(concat) if concat else width
        self.head = nn.Linear(out_width, num_classes, bias=bias)
        if stem == "chen":
            kaiming_normal_linear_(self.stem)
            kaiming_normal_linear_(self.head)

    def node_features(self, h: Tensor) -> dict[int, Tensor]:
        """Features of every node reached from the inputs, given the stem output ``h``."""
        feats: dict[int, Tensor] = {v: h for v in self.cell.inputs}
        for v in self.cell.topological_order:
            if v in feats:
                continue
            concat = any(e.op == "concat" for _, e in self._incoming[v])
            scale = self.branch_scale if v in self._residual else 1.0
            parts = []
            for i, e in self._incoming[v]:
                if e.src not in feats:
                    if concat:  # keep the concat width fixed: an unreachable node contributes zeros
                        parts.append(torch.zeros_like(h))
                    continue
                x = feats[e.src]
                if not e.parameterized:
                    parts.append(x)
                else:
                    y = self.edge_ops[str(i)](x)
                    parts.append(y if scale == 1.0 else scale * y)
            if not parts or (concat and all(e.src not in feats for _, e in self._incoming[v])):
                continue
            if concat:
                feats[v] = torch.cat(parts, dim=-1)
            else:
                total = parts[0]
                for p in parts[1:]:
                    total = total + p
                feats[v] = total
        return feats

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(x.flatten(1))
        if self.stem_kind == "chen":
            h = torch.relu(h)
        out = self.node_features(h).get(self.cell.output)
        if out is None:  # no path to the output: the network sees nothing of its input
            out = torch.zeros(h.shape[0], self.head.in_features, dtype=h.dtype, device=h.device)
        return self.head(out)
