"""Connectivity metrics of a whole residual / plain network, seen as one DAG (NDS ResNet, ResNeXt, Vanilla).

The DAG (docs/warehouse.md, "Network-level metrics"): one input node (the stem's output) and, per
block, a **body** path of ``body`` parameterized ops in series (2 for a basic block, 3 for a
bottleneck) in parallel with a **shortcut**: ``"identity"`` (a parameter-free edge), ``"projection"``
(one parameterized op: pycls adds a 1×1 conv when the stride or the width changes) or ``None`` (plain
blocks have no shortcut). Blocks are in series; the last block's output is the DAG's output. Stem and
classifier are outside it, as a cell's are.

Series–parallel structure makes the cell DP (``explorer.theory.paths``, ``nngp``, ``dag_kernel``)
collapse to one step per block: the path histogram is the product of the blocks' polynomials
(x^body + x^shortcut), kept in exact integers (P = 2^residual blocks), and the NNGP kernels carry
(second moment, cross moment, mean) from block to block. ``tests/test_nds_network.py`` checks every
number against ``explorer.theory.metrics.metrics`` of the same DAG written as a ``Cell``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from explorer.theory.metrics import DEFAULT_K0, MAX_LISTED_DEPTHS, CellMetrics
from explorer.theory.nngp import eq12
from explorer.theory.paths import effective_depth_width
from explorer.theory.relu import lambda_min_2x2, relu_cross, relu_mean

Shortcut = Literal["identity", "projection"] | None


@dataclass(frozen=True)
class Block:
    body: int  # parameterized ops on the body path (≥ 1)
    shortcut: Shortcut


def path_histogram(blocks: Sequence[Block]) -> tuple[int, ...]:
    """histogram[d] = input → output paths with d parameterized ops (exact integers)."""
    hist = [1]
    for b in blocks:
        terms = [b.body] + ([] if b.shortcut is None else [0 if b.shortcut == "identity" else 1])
        out = [0] * (len(hist) + max(terms))
        for shift in terms:
            for d, n in enumerate(hist):
                out[d + shift] += n
        hist = out
    while hist and hist[-1] == 0:
        hist.pop()
    return tuple(hist)


def _kernels(blocks: Sequence[Block], k0: float) -> tuple[float, float, float, float]:
    """(sum-rule diagonal, sum-rule off-diagonal, exact diagonal, exact off-diagonal) at the output."""
    rule_q, rule_c = 1.0, k0  # Chen et al.'s sum rule: branches add, no means
    q, c, mean = 1.0, k0, 0.0  # exact: the stem output is centred (dag_kernel's model)
    for b in blocks:
        # Body: each op keeps the second moment q and maps the cross moment c → q·κ(c/q).
        body_rule_c, body_c = rule_c, c
        for _ in range(b.body):
            body_rule_c = float(relu_cross(rule_q, body_rule_c))
            body_c = float(relu_cross(q, body_c))
        body_mean = float(relu_mean(q))
        if b.shortcut is None:
            rule_c, c, mean = body_rule_c, body_c, body_mean
            continue
        if b.shortcut == "identity":
            s_rule_c, s_c, s_mean = rule_c, c, mean
        else:
            s_rule_c, s_c, s_mean = float(relu_cross(rule_q, rule_c)), float(relu_cross(q, c)), float(relu_mean(q))
        # The body's last op has fresh weights, so body·shortcut → (its ReLU mean)·(shortcut's mean).
        both = 2.0 * body_mean * s_mean
        rule_q, rule_c = 2.0 * rule_q, body_rule_c + s_rule_c
        q, c, mean = 2.0 * q + both, body_c + s_c + both, body_mean + s_mean
    return rule_q, rule_c, q, c


def network_metrics(blocks: Sequence[Block], k0: float = DEFAULT_K0) -> CellMetrics:
    """The same numbers ``metrics(cell)`` gives a cell, for the network DAG of ``blocks``.

    Shu et al.'s width and depth are taken literally on this DAG: depth = ops on the longest path
    (Σ body), width = the share of incoming edges from the input summed over the intermediate nodes.
    ``ValueError`` for an empty network."""
    if not blocks:
        raise ValueError("a network needs at least one block")
    hist = path_histogram(blocks)
    dw = effective_depth_width(hist)
    depths: list[int] = []
    for d, n in enumerate(hist):
        depths.extend([d] * min(n, MAX_LISTED_DEPTHS - len(depths)))
    rule_q, rule_c, q, c = _kernels(blocks, k0)
    first = blocks[0]
    # Only the first block's nodes have edges from the input: its first body node (all of its one
    # edge, when the body has ≥ 2 ops) and its output node (an intermediate unless it is the last).
    width = 1.0 if first.body >= 2 else 0.0
    if len(blocks) > 1:
        n_into = 1 + (first.shortcut is not None)
        width += ((first.body == 1) + (first.shortcut is not None)) / n_into
    paths = sum(hist)
    return CellMetrics(
        paths=paths, path_depths=depths, path_depths_truncated=paths > len(depths), path_histogram=list(hist),
        effective_depth=dw.effective_depth, effective_width=dw.effective_width, undefined_reason=dw.reason,
        cell_width=width, cell_depth=sum(b.body for b in blocks),
        n_parameterized_ops=sum(b.body + (b.shortcut == "projection") for b in blocks),
        k0=float(k0), nngp_eq12=float(eq12(hist, k0)),
        nngp_lambda_min=float(lambda_min_2x2(rule_q, rule_c)), nngp_exact_dag=float(lambda_min_2x2(q, c)),
        warnings=[],
    )


def log2_paths(paths: int) -> float:
    """log2 P without overflow (P = 2^blocks for residual networks exceeds 64-bit integers past 63 blocks)."""
    return math.log2(paths) if paths > 0 else -math.inf


BLOCK_BODY = {"res_basic_block": 2, "res_bottleneck_block": 3, "double_plain_block": 2, "vanilla_block": 2}
RESIDUAL = {"res_basic_block": True, "res_bottleneck_block": True, "double_plain_block": False, "vanilla_block": False}
DEFAULT_STEM_WIDTH = 32  # pycls's ANYNET.STEM_W, used when an entry does not name its stem width


def anynet_blocks(block_type: str, depths: Sequence[int], widths: Sequence[int], strides: Sequence[int],
                  stem_width: int | None = None) -> list[Block]:
    """The blocks of a pycls AnyNet: stage i has depths[i] blocks of width widths[i]; its first block
    has stride strides[i] and takes the previous stage's width. A residual block's shortcut is a
    projection when the stride or the width changes, else the identity."""
    body = BLOCK_BODY[block_type]
    residual = RESIDUAL[block_type]
    w_in = DEFAULT_STEM_WIDTH if stem_width is None else stem_width
    blocks = []
    for d, w, s in zip(depths, widths, strides, strict=True):
        for k in range(d):
            stride = s if k == 0 else 1
            short: Shortcut = None
            if residual:
                short = "projection" if (w_in != w or stride != 1) else "identity"
            blocks.append(Block(body, short))
            w_in = w
    return blocks
