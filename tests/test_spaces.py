"""Whole spaces: NB201 against Chen et al.'s box and the benchmark data, DARTS wirings and
multiplicities, and the vectorised class table against ``metrics()`` on concrete cells."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from explorer.cell.model import Cell
from explorer.cell.spaces import SPACES
from explorer.theory.metrics import metrics
from explorer.theory.paths import effective_depth_width, path_histogram
from explorer.theory.spaces import (
    ABSENT,
    PARAM,
    PLAIN,
    class_counts,
    class_table,
    edge_targets,
    nb201_arch_strings,
    space_box,
    space_summary,
    space_table,
    wiring_cell,
    wirings,
)

CLASS_OF = {"none": ABSENT, "skip_connect": PLAIN, "avg_pool_3x3": PLAIN, "nor_conv_1x1": PARAM, "nor_conv_3x3": PARAM}


@pytest.fixture(scope="module")
def nb201_table() -> pd.DataFrame:
    return space_table("nb201")


def _same(a: float | None, b: float) -> bool:
    return (a is None and math.isnan(b)) or (a is not None and a == pytest.approx(b, rel=1e-12))


# --- NAS-Bench-201 -----------------------------------------------------------------------------


def test_nb201_box_reproduces_chen_et_al():
    box = space_box("nb201")
    # Chen et al. Sec. 5.3: centre (1.6, 2.2), half-radius (0.7, 0.9), after rounding
    assert (round(box.center_depth, 1), round(box.center_width, 1)) == (1.6, 2.2)
    assert (round(box.radius_depth / 2, 1), round(box.radius_width / 2, 1)) == (0.7, 0.9)
    # exactly: d̄ ∈ [1/4, 3] (three skips and one conv path / the all-conv chain), m̄ ∈ [1/3, 4]
    assert (box.center_depth, box.radius_depth) == pytest.approx(((0.25 + 3) / 2, (3 - 0.25) / 2))
    assert (box.center_width, box.radius_width) == pytest.approx(((1 / 3 + 4) / 2, (4 - 1 / 3) / 2))
    assert box.to_dict()["half_radius_depth"] == pytest.approx(0.6875)


def test_nb201_counts():
    s = space_summary("nb201")
    assert (s["cells"], s["wirings"], s["class_rows"]) == (15_625, 1, 3**6)
    assert (s["undefined_cells"], s["no_path_cells"], s["defined_cells"]) == (1_983, 341, 15_625 - 1_983)
    assert 0 < s["cells_in_box"] < s["defined_cells"]
    assert s["share_in_box"] == pytest.approx(s["cells_in_box"] / 15_625)


def test_nb201_table_columns_and_rows(nb201_table, nb201_dir):
    assert list(nb201_table.columns) == [
        "arch_str", "paths", "path_depths", "path_depths_truncated", "effective_depth", "effective_width",
        "cell_width", "cell_depth", "n_parameterized_ops", "nngp_eq12", "nngp_lambda_min", "nngp_exact_dag",
    ]
    assert len(nb201_table) == 15_625 and nb201_table["arch_str"].is_unique
    assert nb201_table["arch_str"].tolist() == nb201_arch_strings()
    assert not nb201_table["path_depths_truncated"].any()
    assert (nb201_table["paths"] == 0).sum() == 341
    assert nb201_table["effective_depth"].isna().sum() == 1_983
    # every benchmark cell is in the table: arch_str is the join key
    bench = pd.read_parquet(nb201_dir / "nb201_main.parquet", columns=["arch_str"])
    assert set(bench["arch_str"]) == set(nb201_table["arch_str"])


def test_nb201_class_table_equals_path_metrics_on_every_cell():
    """Every one of the 15,625 cells, through the functions ``metrics()`` uses for P, d̄, m̄."""
    t = class_table("nb201")
    row_of = {tuple(int(c) for c in classes): i for i, classes in enumerate(t.classes)}
    assert len(row_of) == len(t.classes) == 729
    counts = np.zeros(len(t.classes))
    for arch in nb201_arch_strings():
        cell = Cell.from_nb201(arch)
        i = row_of[tuple(CLASS_OF[e.op] for e in cell.edges)]
        counts[i] += 1
        hist = path_histogram(cell)
        dw = effective_depth_width(hist)
        assert t.paths[i] == sum(hist)
        assert _same(dw.effective_depth, t.effective_depth[i]) and _same(dw.effective_width, t.effective_width[i])
    assert np.array_equal(counts, t.multiplicity)  # the multiplicity is the number of cells in the class


def test_nb201_table_rows_are_metrics(nb201_table):
    rng = np.random.default_rng(1)
    for i in rng.choice(len(nb201_table), 300, replace=False):
        row = nb201_table.iloc[i]
        m = metrics(Cell.from_nb201(row["arch_str"]))
        assert m.paths == row["paths"] and m.path_depths == list(row["path_depths"])
        assert _same(m.effective_depth, row["effective_depth"]) and _same(m.effective_width, row["effective_width"])
        assert m.cell_width == row["cell_width"] and _same(m.cell_depth, row["cell_depth"])
        assert m.nngp_eq12 == row["nngp_eq12"] and m.nngp_lambda_min == row["nngp_lambda_min"]


def test_nb201_distribution_matches_the_cells(nb201_table):
    s = space_summary("nb201")
    d = nb201_table["effective_depth"].dropna().to_numpy()
    assert s["effective_depth"]["mean"] == pytest.approx(d.mean())
    assert s["effective_depth"]["std"] == pytest.approx(d.std())
    for q, value in s["effective_depth"]["quantiles"].items():
        assert value == pytest.approx(np.quantile(d, float(q), method="inverted_cdf")), q


def test_box_contains():
    box = space_box("nb201")
    c, r = (box.center_depth, box.center_width), (box.radius_depth, box.radius_width)
    assert box.contains(*c) and box.contains(c[0] + r[0] / 2, c[1] - r[1] / 2)
    assert not box.contains(c[0] + 0.51 * r[0], c[1])
    assert box.contains(c[0] + 0.9 * r[0], c[1], f=1.0)
    assert not box.contains(float("nan"), c[1])
    assert box.contains(np.array([c[0], np.nan]), np.array([c[1], c[1]])).tolist() == [True, False]


# --- DARTS spaces ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, n_wirings, n_edges", [("darts4", 180, 8), ("darts5", 2_700, 10)])
def test_darts_wirings_and_multiplicities(name, n_wirings, n_edges):
    w = wirings(name)
    assert w.shape == (n_wirings, n_edges)
    dst = edge_targets(name)
    assert all(0 <= s < d for row in w for s, d in zip(row, dst, strict=True))
    pairs = {tuple(map(tuple, row.reshape(-1, 2))) for row in w}
    assert len(pairs) == n_wirings  # all distinct, each node's two inputs distinct and unordered
    assert all(a < b for row in w for a, b in row.reshape(-1, 2))
    t = class_table(name)
    assert len(t.multiplicity) == n_wirings * 2**n_edges  # no `none`: two classes per edge
    assert t.n_cells == n_wirings * 7**n_edges
    assert int(t.multiplicity.sum()) == n_wirings * 7**n_edges
    n_param = (t.classes == PARAM).sum(axis=1)
    assert np.array_equal(t.multiplicity, 4.0**n_param * 3.0 ** (n_edges - n_param))  # 4 convs, 3 pools/skip
    s = space_summary(name)
    # every edge lies on a path (all intermediate nodes are concatenated), so d̄ = 0 only when all
    # edges are pools or skips, and every cell has a path
    assert (s["undefined_cells"], s["no_path_cells"]) == (n_wirings * 3**n_edges, 0)


def test_darts_space_sizes():
    assert class_table("darts4").n_cells == 1_037_664_180
    assert class_table("darts5").n_cells == 762_683_172_300
    assert class_counts(SPACES["darts5"]) == {ABSENT: 0, PLAIN: 3, PARAM: 4}


@pytest.mark.parametrize("name", ["darts4", "darts5"])
def test_darts_class_table_equals_metrics_on_sampled_rows(name):
    t = class_table(name)
    rng = np.random.default_rng(7)
    defined = np.flatnonzero(t.defined)
    rows = list(rng.choice(len(t.paths), 250, replace=False))
    # and the rows that set the box: its extremes must be real cells
    for x in (t.effective_depth, t.effective_width):
        rows += [defined[np.argmin(x[defined])], defined[np.argmax(x[defined])]]
    for i in rows:
        cell = wiring_cell(name, int(t.wiring[i]), t.classes[i])
        assert cell.kind == "darts"
        assert [e.src for e in cell.edges if e.op != "concat"] == list(wirings(name)[t.wiring[i]])
        m = metrics(cell)
        assert m.paths == t.paths[i]
        assert sum(d * n for d, n in enumerate(m.path_histogram)) == t.depth_sum[i]
        assert _same(m.effective_depth, t.effective_depth[i]) and _same(m.effective_width, t.effective_width[i])


def test_darts_boxes_as_computed():
    """Our DARTS boxes (docs/spaces.md explains why they differ from Chen et al.'s (1.5, 10.5) ± (0.7, 4.8))."""
    b4, b5 = space_box("darts4"), space_box("darts5")
    assert (b4.center_depth, b4.center_width) == pytest.approx((1.2535, 11.9333), abs=1e-4)
    assert (b4.radius_depth / 2, b4.radius_width / 2) == pytest.approx((0.5955, 3.0333), abs=1e-4)
    assert (b5.center_depth, b5.center_width) == pytest.approx((1.5346, 18.9667), abs=1e-4)
    assert (b5.radius_depth / 2, b5.radius_width / 2) == pytest.approx((0.7488, 6.0167), abs=1e-4)
    # m̄'s maximum is every path with exactly one conv: P = 2+3+5+8(+13) paths at most
    assert b4.center_width + b4.radius_width == pytest.approx(18)
    assert b5.center_width + b5.radius_width == pytest.approx(31)


def test_darts_space_table():
    df = space_table("darts4")
    assert list(df.columns) == ["wiring", "classes", "multiplicity", "paths", "effective_depth", "effective_width"]
    assert len(df) == 180 * 256 and df["multiplicity"].sum() == 180 * 7**8
    assert set(df["classes"].str.len()) == {8} and set("".join(df["classes"].head(300))) <= {"n", "p"}


def test_wiring_cell_default_is_all_parameterized():
    cell = wiring_cell("darts5", 0)
    assert all(e.parameterized for e in cell.edges if e.op != "concat")
    assert len(cell.edges) == 10 + 5
    with pytest.raises(KeyError, match="unknown space"):
        class_table("darts6")
