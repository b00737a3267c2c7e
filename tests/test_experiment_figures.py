"""The Experiments page's figures, built from arrays and summaries without Streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field
from io import StringIO

import numpy as np
import pandas as pd

from explorer.experiments.checkpoints import curve_band
from explorer.figures.experiments import (
    bands_csv,
    hessian_figures,
    interpolation_figure,
    nngp_check_figure,
    seed_groups,
    surface_figures,
    training_curves_figure,
    variance_heatmap,
)


@dataclass
class FakeJob:
    id: int
    spec: dict = field(default_factory=dict)


def _stream(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(1, len(values) + 1), "value": values})


def test_seeds_of_one_setting_are_pooled_and_other_settings_kept_apart() -> None:
    jobs = [FakeJob(1, {"lr": 0.1, "seed": 0}), FakeJob(2, {"lr": 0.2, "seed": 0}), FakeJob(3, {"lr": 0.1, "seed": 1})]
    assert [[j.id for j in g] for g in seed_groups(jobs, pooled=True)] == [[1, 3], [2]]
    assert [[j.id for j in g] for g in seed_groups(jobs, pooled=False)] == [[1], [2], [3]]


def test_training_curves_shade_mean_plus_minus_std_only_for_pooled_runs() -> None:
    pooled = curve_band([_stream([0.5, 0.7]), _stream([0.7, 0.9])])
    single = curve_band([_stream([0.2, 0.4])])
    fig = training_curves_figure([("two seeds", pooled), ("one run", single), ("empty", curve_band([]))],
                                 "epoch", "test accuracy")
    assert [t.name for t in fig.data] == [None, "two seeds", "one run"]  # the band, then the two means
    np.testing.assert_allclose(fig.data[1].y, [0.6, 0.8])
    np.testing.assert_allclose(fig.data[0].y, [0.6 + 0.1414, 0.8 + 0.1414, 0.8 - 0.1414, 0.6 - 0.1414], atol=1e-4)
    table = pd.read_csv(StringIO(bands_csv([("a, quoted", pooled), ("one run", single)], "epoch").decode()))
    assert list(table.columns) == ["curve", "epoch", "mean", "std", "n"]
    assert table["curve"].tolist() == ["a, quoted", "a, quoted", "one run", "one run"]
    assert table["n"].tolist() == [2, 2, 1, 1]


def test_plane_figures_carry_their_arrays() -> None:
    axis = np.linspace(-1, 1, 5)
    z = np.add.outer(axis, axis) ** 2
    contour, surface = surface_figures(axis, axis, z, "loss")
    np.testing.assert_array_equal(contour.data[0].z, z)
    np.testing.assert_array_equal(surface.data[0].z, z)
    assert variance_heatmap(axis, axis, z).data[0].type == "heatmap"
    line = interpolation_figure(np.linspace(-0.5, 1.5, 9), np.arange(9.0), "loss")
    assert line.layout.yaxis.title.text == "loss" and len(line.layout.shapes) == 2


def test_hessian_figures_drop_the_nan_padding_of_converged_traces() -> None:
    traces = np.array([[1.0, 2.0, 2.5, np.nan], [0.5, 0.6, 0.61, 0.61]])
    bars, lines = hessian_figures(np.array([2.5, 0.61]), traces)
    assert list(bars.data[0].x) == ["λ1", "λ2"]
    assert [len(t.y) for t in lines.data] == [3, 4]


def test_nngp_check_figure_draws_the_points_and_each_analytic_value() -> None:
    result = {"widths": [{"width": 64, "lambda_min": 0.9, "lambda_min_se": 0.05},
                         {"width": 1024, "lambda_min": 1.01, "lambda_min_se": 0.01}],
              "exact": {"lambda_min": 1.0}, "sum_rule": {"lambda_min": 1.0}, "eq12": {"lambda_min": 1.3}}
    fig = nngp_check_figure(result)
    assert [t.name for t in fig.data] == ["empirical λmin (± SE over seeds)", "exact DAG kernel",
                                          "sum rule (Chen et al.)", "Eq. 12 bound"]
    assert nngp_check_figure({"widths": []}) is None
