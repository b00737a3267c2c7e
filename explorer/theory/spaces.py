"""Whole search spaces: every cell's metrics, and the space's d̄/m̄ box (Chen et al. Sec. 5.3).

Only the class of each op (absent, non-parameterized, parameterized) changes the path metrics, so a
space is enumerated as wirings × op-class assignments, each row carrying its multiplicity (how many
concrete cells share it). That gives exact distributions over billions of cells. Per row the path
statistics come from a dynamic programme over the DAG vectorised across all rows at once:

    n_v = Σ_{u→v} n_u                      paths from the inputs to v
    s_v = Σ_{u→v} s_u + c_e · n_u          their summed depth Σ d_p   (c_e = 1 if parameterized)
    z_v = Σ_{u→v} (1 − c_e) · z_u          those with d_p = 0

and d̄ = s/n, m̄ = (n − z)/d̄ at the output; the same quantities ``metrics.path_histogram`` gives.

Spaces: NB201 (one wiring of 6 edges; ops none, skip, conv 1×1, conv 3×3, avg-pool: 15,625 cells),
DARTS with 4 intermediate nodes (180 wirings × 7 ops on 8 edges) and with 5 (2,700 wirings × 7 ops on
10 edges), ops from the DARTS set without ``none``, output = concat of all intermediate nodes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from explorer.cell.model import Cell, Edge
from explorer.cell.ops import NB201_OPS, OPS, OpClass
from explorer.cell.spaces import Space, get_space

ABSENT, PLAIN, PARAM = 0, 1, 2  # op classes as stored in a ClassTable

def class_counts(space: Space) -> dict[int, int]:
    """How many ops of the space fall in each class (the multiplicity of one edge's class)."""
    counts = {ABSENT: 0, PLAIN: 0, PARAM: 0}
    for op in space.ops:
        cls = OPS[op].op_class
        counts[ABSENT if cls is OpClass.NONE else PARAM if cls is OpClass.PARAMETERIZED else PLAIN] += 1
    return counts


# --- wirings -----------------------------------------------------------------------------------


@cache
def wirings(name: str) -> NDArray[np.int64]:
    """Source node of every edge, one row per wiring (edge j enters node ``edge_targets(name)[j]``)."""
    space = get_space(name)
    if name == "nb201":
        return np.array([[0, 0, 1, 0, 1, 2]], dtype=np.int64)  # arch-string order e01 e02 e12 e03 e13 e23
    # DARTS: node k ≥ 2 picks two distinct earlier nodes (unordered), as in the DARTS search space.
    per_node = [list(itertools.combinations(range(k), 2)) for k in range(2, 2 + space.n_intermediate)]
    rows = [sum(choice, ()) for choice in itertools.product(*per_node)]
    return np.array(rows, dtype=np.int64)


def edge_targets(name: str) -> tuple[int, ...]:
    if name == "nb201":
        return (1, 2, 2, 3, 3, 3)
    n_mid = get_space(name).n_intermediate
    return tuple(2 + j // 2 for j in range(2 * n_mid))


def _layout(name: str) -> tuple[int, tuple[int, ...], int, tuple[int, ...]]:
    """(number of nodes, input nodes, output node, nodes concatenated into the output)."""
    if name == "nb201":
        return 4, (0,), 3, ()
    n_mid = get_space(name).n_intermediate
    return 2 + n_mid + 1, (0, 1), 2 + n_mid, tuple(range(2, 2 + n_mid))


def wiring_cell(name: str, wiring: int, classes: NDArray[np.integer] | None = None) -> Cell:
    """A concrete representative cell for a wiring (and op classes, default all parameterized)."""
    space = get_space(name)
    src = wirings(name)[wiring]
    dst = edge_targets(name)
    pick = {ABSENT: "none", PLAIN: next(o for o in space.ops if OPS[o].op_class is OpClass.NON_PARAMETERIZED),
            PARAM: next(o for o in space.ops if OPS[o].parameterized)}
    cls = np.full(len(dst), PARAM) if classes is None else classes
    edges = [Edge(int(s), int(d), pick[int(c)]) for s, d, c in zip(src, dst, cls, strict=True)]
    n_nodes, inputs, out, concat = _layout(name)
    edges += [Edge(v, out, "concat") for v in concat]
    roles = tuple("input" if v in inputs else "output" if v == out else "intermediate" for v in range(n_nodes))
    return Cell(roles, tuple(edges))


# --- the class table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassTable:
    """One row per (wiring, op-class assignment), with exact path statistics and multiplicity."""

    space: str
    wiring: NDArray[np.int64]  # (R,) row → wiring index
    classes: NDArray[np.int8]  # (R, E) ABSENT / PLAIN / PARAM per edge
    multiplicity: NDArray[np.float64]  # (R,) concrete cells per row (exact: < 2^53)
    paths: NDArray[np.int64]
    depth_sum: NDArray[np.int64]
    zero_depth_paths: NDArray[np.int64]

    @cached_property
    def effective_depth(self) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            d = self.depth_sum / self.paths
        return np.where(self.depth_sum > 0, d, np.nan)

    @cached_property
    def effective_width(self) -> NDArray[np.float64]:
        d = self.effective_depth
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.paths - self.zero_depth_paths) / d

    @property
    def defined(self) -> NDArray[np.bool_]:
        return self.depth_sum > 0

    @property
    def n_cells(self) -> int:
        return int(self.multiplicity.sum())


def _class_assignments(n_edges: int, classes: tuple[int, ...]) -> NDArray[np.int8]:
    grids = np.meshgrid(*([np.array(classes, dtype=np.int8)] * n_edges), indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)


def path_stats(
    n_nodes: int, inputs: tuple[int, ...], output: int, concat: tuple[int, ...],
    src: NDArray[np.int64], dst: tuple[int, ...], classes: NDArray[np.int8],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(n, s, z) at the output for every wiring × class assignment, shape (W, A).

    ``src`` (W, E): each wiring's edge sources; ``classes`` (A, E): op-class assignments; edge j
    enters node ``dst[j]`` in every wiring. Arrays are laid out (node, wiring, assignment) so the
    gather of a source node is a contiguous row per wiring.
    """
    n_w, n_a = src.shape[0], classes.shape[0]
    # int32: path counts in these spaces are tiny, and halving the bytes halves the time.
    n = np.zeros((n_nodes, n_w, n_a), dtype=np.int32)
    s = np.zeros_like(n)
    z = np.zeros_like(n)
    n[list(inputs)] = 1
    z[list(inputs)] = 1
    w_idx = np.arange(n_w)
    for j in np.argsort(dst, kind="stable"):  # targets are numbered topologically
        u, v = src[:, j], dst[j]
        cls = classes[:, j]
        live = (cls != ABSENT).astype(np.int32)
        param = (cls == PARAM).astype(np.int32)
        plain = (cls == PLAIN).astype(np.int32)
        nu = n[u, w_idx]  # (W, A)
        if live.all():  # DARTS spaces have no `none`: skip the masking
            n[v] += nu
            s[v] += s[u, w_idx]
        else:
            n[v] += nu * live
            s[v] += s[u, w_idx] * live
        s[v] += nu * param
        z[v] += z[u, w_idx] * plain
    for v in concat:  # concat edges are identities into the output
        n[output] += n[v]
        s[output] += s[v]
        z[output] += z[v]
    return n[output].astype(np.int64), s[output].astype(np.int64), z[output].astype(np.int64)


@cache
def class_table(name: str) -> ClassTable:
    space = get_space(name)
    w = wirings(name)
    dst = edge_targets(name)
    counts = class_counts(space)
    present = tuple(c for c in (ABSENT, PLAIN, PARAM) if counts[c])
    assign = _class_assignments(len(dst), present)  # (A, E)
    n_w, n_a = len(w), len(assign)
    wiring = np.repeat(np.arange(n_w), n_a)
    classes = np.tile(assign, (n_w, 1))
    n_nodes, inputs, out, concat = _layout(name)
    paths, depth_sum, zero = (a.ravel() for a in path_stats(n_nodes, inputs, out, concat, w, dst, assign))
    mult_per_class = np.array([counts[ABSENT], counts[PLAIN], counts[PARAM]], dtype=np.float64)
    multiplicity = np.prod(mult_per_class[assign], axis=1)
    return ClassTable(name, wiring, classes, np.tile(multiplicity, n_w), paths, depth_sum, zero)


# --- box and distribution ----------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """Chen et al.'s d̄/m̄ box: centre = (max + min)/2, radius = (max − min)/2 over defined cells."""

    space: str
    center_depth: float
    center_width: float
    radius_depth: float
    radius_width: float

    def contains(self, depth: float | NDArray, width: float | NDArray, f: float = 0.5) -> NDArray[np.bool_]:
        """Inside the box shrunk to ``f`` × radius (the paper filters at f = ½). NaN is outside."""
        depth, width = np.asarray(depth, dtype=float), np.asarray(width, dtype=float)
        return (np.abs(depth - self.center_depth) <= f * self.radius_depth) & (
            np.abs(width - self.center_width) <= f * self.radius_width
        )

    @classmethod
    def from_extent(cls, space: str, depth: NDArray, width: NDArray) -> Box:
        """The box of cells with these d̄ and m̄ (NaN = undefined, left out); ``ValueError`` if none is defined."""
        ok = np.isfinite(depth) & np.isfinite(width)
        if not ok.any():
            raise ValueError(f"space {space!r}: no cell has a defined d̄/m̄, so there is no box")
        d, m = depth[ok], width[ok]
        return cls(space, float(d.max() + d.min()) / 2, float(m.max() + m.min()) / 2,
                   float(d.max() - d.min()) / 2, float(m.max() - m.min()) / 2)

    def to_dict(self, f: float = 0.5) -> dict[str, float]:
        return {
            "space": self.space, "center_depth": self.center_depth, "center_width": self.center_width,
            "radius_depth": self.radius_depth, "radius_width": self.radius_width, "f": f,
            "half_radius_depth": f * self.radius_depth, "half_radius_width": f * self.radius_width,
        }


@cache
def space_box(name: str) -> Box:
    t = class_table(name)
    return Box.from_extent(name, np.where(t.defined, t.effective_depth, np.nan),
                           np.where(t.defined, t.effective_width, np.nan))


def weighted_quantiles(values: NDArray, weights: NDArray, qs: tuple[float, ...]) -> list[float]:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    return [float(v[min(np.searchsorted(cum, q, side="left"), len(v) - 1)]) for q in qs]


def _distinct_path_stats(t: ClassTable) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                                                  NDArray[np.float64]]:
    """The distinct (P, Σ d_p, Z) triples of a class table with their summed multiplicity.

    d̄ and m̄ depend on nothing else and there are only hundreds of distinct triples, so the
    distribution is computed on them (one O(rows) pass) instead of sorting millions of rows.
    """
    dims = (int(t.paths.max()) + 1, int(t.depth_sum.max()) + 1, int(t.zero_depth_paths.max()) + 1)
    if np.prod(dims, dtype=np.float64) <= 5e7:
        key = np.ravel_multi_index((t.paths, t.depth_sum, t.zero_depth_paths), dims)
        weight = np.bincount(key, weights=t.multiplicity)
        present = np.flatnonzero(weight)
        weight = weight[present]
    else:  # huge counts: fall back to sorting
        stacked = np.stack([t.paths, t.depth_sum, t.zero_depth_paths], axis=1)
        triples, inverse = np.unique(stacked, axis=0, return_inverse=True)
        present = np.ravel_multi_index(tuple(triples.T), dims)
        weight = np.bincount(inverse.ravel(), weights=t.multiplicity)
    paths, depth_sum, zero = (a.astype(np.int64) for a in np.unravel_index(present, dims))
    return paths, depth_sum, zero, weight


def space_summary(name: str, f: float = 0.5) -> dict:
    """The box, and the exact d̄/m̄ distribution over every concrete cell of the space."""
    t = class_table(name)
    box = space_box(name)
    paths, depth_sum, zero, w = _distinct_path_stats(t)
    ok = depth_sum > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(ok, depth_sum / paths, np.nan)
        m = (paths - zero) / d
    qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
    inside = box.contains(d, m, f) & ok

    def dist(x: NDArray) -> dict:
        xs, ws = x[ok], w[ok]
        mean = float(np.average(xs, weights=ws))
        return {
            "mean": mean,
            "std": float(np.sqrt(np.average((xs - mean) ** 2, weights=ws))),
            "quantiles": dict(zip([str(q) for q in qs], weighted_quantiles(xs, ws, qs), strict=True)),
        }

    return {
        "space": name,
        "description": get_space(name).description,
        "cells": int(w.sum()),
        "wirings": int(len(wirings(name))),
        "class_rows": int(len(t.paths)),
        "defined_cells": int(w[ok].sum()),
        "undefined_cells": int(w[~ok].sum()),
        "no_path_cells": int(w[paths == 0].sum()),
        "box": box.to_dict(f),
        "cells_in_box": int(w[inside].sum()),
        "share_in_box": float(w[inside].sum() / w.sum()),
        "effective_depth": dist(d),
        "effective_width": dist(m),
    }


# --- per-cell tables ---------------------------------------------------------------------------


def nb201_arch_strings() -> list[str]:
    """All 15,625 NB201 arch strings (product order over edges e01 e02 e12 e03 e13 e23)."""
    out = []
    for ops in itertools.product(NB201_OPS, repeat=6):
        a, b, c, d, e, f = ops
        out.append(f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|")
    return out


# The `explorer metrics --json` keys, as columns of the per-cell NB201 table.
NB201_TABLE_COLUMNS: tuple[str, ...] = (
    "paths", "path_depths", "path_depths_truncated", "effective_depth", "effective_width",
    "cell_width", "cell_depth", "n_parameterized_ops", "nngp_eq12", "nngp_lambda_min", "nngp_exact_dag",
)


def space_table(name: str = "nb201", k0: float = 0.5, progress: bool = False) -> pd.DataFrame:
    """NB201: one row per cell with ``arch_str`` and the ``explorer metrics --json`` columns.
    DARTS spaces: one row per (wiring, op-class assignment) with its multiplicity."""
    if name == "nb201":
        from explorer.theory.metrics import metrics

        archs = nb201_arch_strings()
        if progress:
            from tqdm import tqdm

            archs = tqdm(archs, desc="NB201 cells", unit="cell")
        rows = []
        by_classes: dict[tuple[OpClass, ...], dict] = {}
        for arch in archs:
            cell = Cell.from_nb201(arch)
            # The metrics see a cell only through its op classes: compute them once per class
            # pattern (3^6 = 729 of them) instead of once per cell (15,625).
            key = tuple(OPS[e.op].op_class for e in cell.edges)
            if key not in by_classes:
                by_classes[key] = metrics(cell, k0).to_dict()
            m = by_classes[key]
            rows.append({"arch_str": arch, **{k: m[k] for k in NB201_TABLE_COLUMNS}})
        df = pd.DataFrame(rows)
        df["effective_depth"] = df["effective_depth"].astype(float)
        df["effective_width"] = df["effective_width"].astype(float)
        return df
    t = class_table(name)
    return pd.DataFrame({
        "wiring": t.wiring,
        "classes": ["".join("-np"[c] for c in row) for row in t.classes],
        "multiplicity": t.multiplicity,
        "paths": t.paths,
        "effective_depth": t.effective_depth,
        "effective_width": t.effective_width,
    })
