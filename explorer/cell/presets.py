"""Preset cells, as data, each with the source it comes from."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.cell.model import Cell, Edge


@dataclass(frozen=True)
class Preset:
    name: str
    cell: Cell
    source: str
    description: str
    space: str  # 'mlp', 'nb201' or 'darts': which editor space it opens in


def _mlp_dag(edges: list[tuple[int, int, str]]) -> Cell:
    roles = ("input", "intermediate", "intermediate", "output")
    return Cell(roles, tuple(Edge(s, d, op) for s, d, op in edges))


_CHEN = "Chen et al., NeurIPS 2022, Figure 2 (MLP-cell DAGs)"

# Normal cells (reduce cells are not included); (op, input) pairs, two per intermediate node.
_GENOTYPES: dict[str, tuple[list[tuple[str, int]], list[int], str]] = {
    "NASNet-A": (
        [("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 0), ("sep_conv_3x3", 0),
         ("avg_pool_3x3", 1), ("skip_connect", 0), ("avg_pool_3x3", 0), ("avg_pool_3x3", 0),
         ("sep_conv_3x3", 1), ("skip_connect", 1)],
        [2, 3, 4, 5, 6],
        "Zoph et al., CVPR 2018; as listed in the DARTS repository's cnn/genotypes.py (NASNet)",
    ),
    "AmoebaNet-A": (
        [("avg_pool_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 2),
         ("sep_conv_3x3", 0), ("avg_pool_3x3", 3), ("sep_conv_3x3", 1), ("skip_connect", 1),
         ("skip_connect", 0), ("avg_pool_3x3", 1)],
        [4, 5, 6],
        "Real et al., AAAI 2019; as listed in the DARTS repository's cnn/genotypes.py (AmoebaNet)",
    ),
    "ENAS": (
        [("sep_conv_3x3", 1), ("skip_connect", 1), ("sep_conv_5x5", 1), ("skip_connect", 0),
         ("avg_pool_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("avg_pool_3x3", 1),
         ("sep_conv_5x5", 1), ("avg_pool_3x3", 0)],
        [2, 3, 4, 5, 6],
        "Pham et al., ICML 2018, Figure 4 normal cell written as a DARTS-style genotype",
    ),
    "DARTS-V2": (
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
         ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
        [2, 3, 4, 5],
        "Liu et al., ICLR 2019; DARTS repository cnn/genotypes.py (DARTS_V2)",
    ),
    "SNAS-mild": (
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("dil_conv_3x3", 1),
         ("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("sep_conv_3x3", 1)],
        [2, 3, 4, 5],
        "Xie et al., ICLR 2019; SNAS-Series repository SNAS/genotypes.py (SNAS_mild)",
    ),
}

PRESETS: tuple[Preset, ...] = (
    Preset("DAG#1 (sequential)", _mlp_dag([(0, 1, "linear"), (1, 2, "linear"), (2, 3, "linear")]),
           _CHEN, "Three linear layers in a chain: one path, d̄ = 3, m̄ = 1/3.", "mlp"),
    Preset("DAG#2 (parallel)", _mlp_dag([(0, 1, "skip_connect"), (0, 3, "linear"), (1, 2, "skip_connect"),
                                         (1, 3, "linear"), (2, 3, "linear")]),
           _CHEN, "Three linear branches into the output, fed through skips: wide and shallow.", "mlp"),
    Preset("DAG#3 (mixed)", _mlp_dag([(0, 1, "linear"), (0, 2, "linear"), (0, 3, "skip_connect"),
                                      (1, 2, "skip_connect"), (1, 3, "skip_connect"), (2, 3, "linear")]),
           _CHEN, "Linear layers mixed with skips; converges fastest of the three in Chen et al.", "mlp"),
    Preset("NB201 ResNet cell",
           Cell.from_nb201("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"),
           "Dong & Yang, ICLR 2020 (NAS-Bench-201 index 11472)",
           "Two 3x3 convs with a residual skip: NB201's ResNet block.", "nb201"),
    Preset("NB201 all-conv",
           Cell.from_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"),
           "NAS-Bench-201 space (Dong & Yang, ICLR 2020)", "Every edge a 3x3 conv: deepest NB201 cell.", "nb201"),
    Preset("NB201 all-skip",
           Cell.from_nb201("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"),
           "NAS-Bench-201 space (Dong & Yang, ICLR 2020)",
           "Every edge a skip: no parameterized path, so d̄ and m̄ are undefined.", "nb201"),
    *(
        Preset(f"{name} normal cell", Cell.from_genotype_pairs(pairs, concat), source,
               f"The normal cell of {name} as a DARTS-style genotype.", "darts")
        for name, (pairs, concat, source) in _GENOTYPES.items()
    ),
)

# The teaching tour of the editor, in order.
TOUR: tuple[str, ...] = (
    "DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)", "NB201 ResNet cell", "DARTS-V2 normal cell",
)


def get_preset(name: str) -> Preset:
    for p in PRESETS:
        if p.name == name:
            return p
    raise KeyError(f"no preset named {name!r}; presets: {', '.join(p.name for p in PRESETS)}")
