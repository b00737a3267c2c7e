"""The operation registry: what each edge label means for connectivity.

Only the class of an op matters to the connectivity metrics: parameterized (any conv or linear)
counts towards a path's depth d_p, non-parameterized (skip, pooling) passes signal through
without adding depth, and ``none`` means the edge is absent. The networks in ``nets`` give each
op its concrete layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OpClass(StrEnum):
    PARAMETERIZED = "parameterized"
    NON_PARAMETERIZED = "non_parameterized"
    NONE = "none"


@dataclass(frozen=True)
class Op:
    name: str
    op_class: OpClass
    family: str  # conv, linear, skip, pool, none, concat
    description: str

    @property
    def parameterized(self) -> bool:
        return self.op_class is OpClass.PARAMETERIZED

    @property
    def absent(self) -> bool:
        return self.op_class is OpClass.NONE


def _ops(*rows: tuple[str, OpClass, str, str]) -> dict[str, Op]:
    return {name: Op(name, cls, family, desc) for name, cls, family, desc in rows}


P, N, Z = OpClass.PARAMETERIZED, OpClass.NON_PARAMETERIZED, OpClass.NONE

# NAS-Bench-201, DARTS (PRIMITIVES) and the NDS/pycls op sets, plus the MLP-cell ops.
OPS: dict[str, Op] = _ops(
    ("none", Z, "none", "zero: the edge is absent"),
    ("skip_connect", N, "skip", "identity (factorized reduce on a stride-2 edge in DARTS nets)"),
    ("nor_conv_1x1", P, "conv", "ReLU-Conv1x1-BN (NAS-Bench-201)"),
    ("nor_conv_3x3", P, "conv", "ReLU-Conv3x3-BN (NAS-Bench-201)"),
    ("avg_pool_3x3", N, "pool", "3x3 average pooling"),
    ("max_pool_3x3", N, "pool", "3x3 max pooling"),
    ("avg_pool_2x2", N, "pool", "2x2 average pooling (NDS)"),
    ("avg_pool_5x5", N, "pool", "5x5 average pooling (NDS)"),
    ("max_pool_2x2", N, "pool", "2x2 max pooling (NDS)"),
    ("max_pool_5x5", N, "pool", "5x5 max pooling (NDS)"),
    ("max_pool_7x7", N, "pool", "7x7 max pooling (NDS)"),
    ("sep_conv_3x3", P, "conv", "separable conv 3x3 (applied twice, DARTS)"),
    ("sep_conv_5x5", P, "conv", "separable conv 5x5"),
    ("sep_conv_7x7", P, "conv", "separable conv 7x7"),
    ("dil_conv_3x3", P, "conv", "dilated separable conv 3x3"),
    ("dil_conv_5x5", P, "conv", "dilated separable conv 5x5"),
    ("dil_sep_conv_3x3", P, "conv", "dilated separable conv 3x3 (NDS)"),
    ("conv_1x1", P, "conv", "ReLU-Conv1x1-BN"),
    ("conv_3x3", P, "conv", "ReLU-Conv3x3-BN"),
    ("conv_3x1_1x3", P, "conv", "3x1 then 1x3 conv"),
    ("conv_7x1_1x7", P, "conv", "7x1 then 1x7 conv"),
    ("linear", P, "linear", "linear layer + ReLU (MLP-cell networks)"),
    ("concat", N, "concat", "a node's output joins the cell output by concatenation (DARTS/NDS)"),
)

NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
DARTS_OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
# Ops a user can put on an edge in the free-DAG editor (``concat`` is structural only).
EDGE_OPS: tuple[str, ...] = tuple(name for name in OPS if name != "concat")
