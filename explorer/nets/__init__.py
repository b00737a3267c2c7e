"""Networks built from cells: the MLP-cell net (Chen et al.), the NB201 net, the DARTS net.

``build_network(cell, kind, ...)`` is the one way to realise a cell; ``cell_parameter_count``
gives the parameters of one cell's ops at C channels as the realised network has them (the
number the editor shows). ``network_kind(cell)`` says which network a cell naturally belongs to.
``parameter_count`` leaves out DARTS' auxiliary head, as DARTS reports its networks' sizes.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from explorer.cell.model import Cell, Genotype
from explorer.core.errors import CellError
from explorer.nets.darts import AuxiliaryHeadCIFAR, DartsNetwork, darts_cell
from explorer.nets.mlp import MLP_STEMS, MLPCellNet, MLPStem
from explorer.nets.nb201 import NB201Network, nb201_cell

NetworkKind = Literal["mlp", "nb201", "darts"]
NETWORK_KINDS: tuple[str, ...] = ("mlp", "nb201", "darts")

__all__ = [
    "MLP_STEMS", "NETWORK_KINDS", "AuxiliaryHeadCIFAR", "DartsNetwork", "MLPCellNet", "MLPStem", "NB201Network",
    "NetworkKind", "build_network",
    "cell_parameter_count", "network_kind", "parameter_count",
]


def network_kind(cell: Cell) -> NetworkKind:
    """The network a cell belongs to: MLP cells (``linear`` ops, or no conv at all in a free DAG),
    NB201 cells, DARTS-style cells; a free DAG with conv ops goes by its number of inputs."""
    ops = {e.op for e in cell.live_edges}
    if "linear" in ops:
        return "mlp"
    if cell.kind in ("nb201", "darts"):
        return cell.kind  # type: ignore[return-value]
    if not any(e.parameterized for e in cell.live_edges):
        return "mlp"
    return "darts" if len(cell.inputs) == 2 else "nb201"


def build_network(
    cell: Cell | Genotype,
    kind: str | None = None,
    *,
    input_shape: tuple[int, ...] = (3, 32, 32),
    num_classes: int = 10,
    width: int = 1024,
    channels: int = 16,
    cells_per_stage: int = 5,
    layers: int = 8,
    reduce_cell: Cell | None = None,
    auxiliary: bool = False,
    mlp_stem: MLPStem = "chen",
    mlp_branch_scale: float = 1.0,
) -> nn.Module:
    """Realise ``cell`` as a network of ``kind`` ('mlp', 'nb201', 'darts'; default: ``network_kind``).

    ``input_shape`` is one sample's shape: (C, H, W) for the conv nets; the MLP flattens it.
    Sizes: ``width`` (MLP), ``channels`` and ``cells_per_stage`` (NB201: C, N), ``channels`` and
    ``layers`` (DARTS). A ``Genotype`` brings its reduce cell; a DARTS net without one reuses the
    normal cell for the reductions. ``auxiliary`` adds DARTS' auxiliary head (DARTS networks only).
    ``mlp_stem`` picks the MLP network's stem and initialisation (``explorer.nets.mlp``): "chen" as
    Chen et al., "linear" as this project had it before; ``mlp_branch_scale`` its residual branches' α.
    """
    if isinstance(cell, Genotype):
        reduce_cell = reduce_cell if reduce_cell is not None else cell.reduce
        cell = cell.normal
    kind = kind or network_kind(cell)
    if kind not in NETWORK_KINDS:
        raise CellError(f"network kind must be one of {', '.join(NETWORK_KINDS)}, got {kind!r}")
    if num_classes < 1:
        raise CellError(f"num_classes must be ≥ 1, got {num_classes}")
    if auxiliary and kind != "darts":
        raise CellError(f"the auxiliary head is DARTS' (a darts network); this is a {kind} network")
    if kind == "mlp":
        in_features = 1
        for d in input_shape:
            in_features *= d
        return MLPCellNet(cell, in_features, width, num_classes, stem=mlp_stem, branch_scale=mlp_branch_scale)
    if len(input_shape) != 3:
        raise CellError(f"the {kind} network takes images (channels, height, width), got input shape {input_shape}")
    if kind == "nb201":
        return NB201Network(cell, channels, cells_per_stage, num_classes, in_channels=input_shape[0])
    return DartsNetwork(cell, reduce_cell, channels, layers, num_classes, in_channels=input_shape[0],
                        auxiliary=auxiliary)


def parameter_count(module: nn.Module, *, auxiliary: bool = False) -> int:
    """Parameters of ``module``; those of DARTS auxiliary heads only with ``auxiliary=True`` (the
    head exists for training only, and DARTS' reported sizes leave it out)."""
    skip = set() if auxiliary else {
        id(p) for m in module.modules() if isinstance(m, AuxiliaryHeadCIFAR) for p in m.parameters()}
    return sum(p.numel() for p in module.parameters() if id(p) not in skip)


def cell_parameter_count(cell: Cell, channels: int, kind: str | None = None) -> int:
    """Parameters of one cell's edge ops at ``channels`` in the realised network: NB201 layers for
    NB201 cells, DARTS layers for DARTS cells (a normal cell; the two 1×1 input preprocessing
    layers every DARTS cell has are not counted), Linear(C, C) with bias per parameterized edge for
    MLP cells. ``kind`` overrides ``network_kind(cell)``."""
    if channels < 1:
        raise CellError(f"channels must be ≥ 1, got {channels}")
    kind = kind or network_kind(cell)
    if kind == "mlp":
        return sum(channels * channels + channels for e in cell.live_edges if e.parameterized)
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        if kind == "nb201":
            return parameter_count(nb201_cell(cell, channels))
        if kind == "darts":
            return parameter_count(darts_cell(cell, channels))
    raise CellError(f"network kind must be one of {', '.join(NETWORK_KINDS)}, got {kind!r}")
