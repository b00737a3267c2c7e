"""Chen et al.'s Figure 5 as the Warehouse page draws it, built without Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from explorer.benchmarks.analysis import ReachableRegion
from explorer.figures.benchmarks import figure5
from explorer.theory.spaces import space_box

GROUPS = pd.DataFrame({"effective_depth": [1.0, 1.5, 2.0], "effective_width": [3.0, 2.0, 1.0], "n": [10, 4, 1],
                       "mean_acc": [92.0, 90.0, 70.0], "std_acc": [0.5, 2.0, None]})


def test_figure5_colours_by_mean_sizes_by_std_and_greys_the_unreachable() -> None:
    region = ReachableRegion(max_paths=6, max_depth=3)
    fig = figure5(GROUPS, region, space_box("nb201"))
    grey_high, grey_low, bubbles = fig.data
    assert grey_high.name.startswith("unreachable") and grey_low.name.startswith("unreachable")
    np.testing.assert_array_equal(bubbles.marker.color, GROUPS["mean_acc"])
    np.testing.assert_allclose(bubbles.marker.size, [18, 48, 8])  # 8 + 40·std/max std; a missing std is 0
    d_max = 3 * 1.08
    assert fig.layout.xaxis.range == (0, d_max)
    # Above m̄ = max_paths/d̄ nothing is reachable: the upper grey area starts on that curve.
    depth = np.asarray(grey_high.x[:200])
    np.testing.assert_allclose(np.asarray(grey_high.y[:200]), np.minimum(6 / depth, 3.0 * 1.15))
    box = next(s for s in fig.layout.shapes if s.type == "rect" and s.line.dash == "dash")
    nb = space_box("nb201")
    assert box.x0 == nb.center_depth - 0.5 * nb.radius_depth and box.y1 == nb.center_width + 0.5 * nb.radius_width


def test_figure5_without_a_box_and_with_deep_cells() -> None:
    fig = figure5(GROUPS, ReachableRegion(max_paths=6, max_depth=1.5))
    assert not [s for s in fig.layout.shapes if s.type == "rect" and s.line.dash == "dash"]
    # d̄ beyond the deepest path is greyed too.
    assert any(s.x0 == 1.5 for s in fig.layout.shapes)


def test_parallel_coordinates_leave_room_for_the_first_axis() -> None:
    from explorer.figures.benchmarks import parallel_coordinates

    sample = pd.DataFrame({"effective_depth": [1.0, 2.0], "effective_width": [2.0, 1.0], "accuracy": [90.0, 80.0]})
    fig = parallel_coordinates(sample, ["effective_depth", "effective_width", "accuracy"])
    assert [d.label for d in fig.data[0].dimensions] == ["d̄", "m̄", "accuracy (%)"]
    assert fig.layout.margin.l >= 60 and fig.layout.margin.r >= 60


def test_naswot_histogram_draws_only_scores_on_the_warehouse_scale() -> None:
    from explorer.figures.benchmarks import naswot_histogram

    scores = pd.DataFrame({"job": [1, 2, 3], "score": [1500.0, 200.0, None], "comparable": [True, False, None]})
    fig = naswot_histogram(np.linspace(1000, 1800, 50), scores, "t")
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.x0 for s in lines] == [1500.0]  # the digits score (job 2) is not drawn on CIFAR-10's histogram
