"""NNGP values: κ, Chen et al.'s Eq. 12 in closed form, and the sum rule with its diagonal scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.cell.model import Cell, Edge
from explorer.cell.presets import get_preset
from explorer.theory import nngp, relu
from explorer.theory.curves import kernel_curves
from explorer.theory.metrics import metrics
from explorer.theory.paths import path_histogram

DAG1, DAG2, DAG3 = (get_preset(n).cell for n in ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)"))
K0S = (-0.9, -0.5, 0.0, 0.3, 0.5, 0.8, 0.99)


def kappa(rho: float) -> float:
    """κ written out by hand, in plain floats."""
    return (math.sqrt(1 - rho * rho) + (math.pi - math.acos(rho)) * rho) / math.pi


def test_kappa_values():
    assert float(relu.kappa(1.0)) == 1.0
    assert float(relu.kappa(-1.0)) == pytest.approx(0.0, abs=1e-15)
    assert float(relu.kappa(0.0)) == pytest.approx(1 / math.pi)
    assert float(relu.kappa(0.5)) == pytest.approx((math.sqrt(3) / 2 + math.pi / 3) / math.pi)  # ≈ 0.6090
    assert float(relu.kappa(0.5)) == pytest.approx(0.60899, abs=1e-5)
    rho = np.linspace(-1, 1, 201)
    k = relu.kappa(rho)
    assert np.all(np.diff(k) > 0)  # increasing
    assert np.all(k >= rho - 1e-15) and np.all(k >= 0)  # a ReLU never decorrelates below ρ, never below 0
    assert np.allclose(k, [kappa(r) for r in rho])
    # rounding just outside [-1, 1] is clipped, not NaN
    assert float(relu.kappa(1 + 1e-12)) == 1.0


def test_kappa_power():
    assert float(relu.kappa_power(0.3, 0)) == 0.3  # f^0 is the identity
    assert float(relu.kappa_power(0.3, 3)) == pytest.approx(kappa(kappa(kappa(0.3))))
    assert float(relu.kappa_power(1.0, 7)) == 1.0


@pytest.mark.parametrize("k0", K0S)
def test_eq12_closed_forms_for_chen_dags(k0):
    k1 = kappa(k0)
    k2 = kappa(k1)
    k3 = kappa(k2)
    # DAG#1: one path through 3 linear layers. DAG#2: 3 paths of depth 1.
    # DAG#3: paths of depth 0 (f^0 = identity, so K0 itself), 1, 2, 2.
    expected = {DAG1: 1 - k3, DAG2: 3 - 3 * k1, DAG3: 4 - (k0 + k1 + 2 * k2)}
    for cell, value in expected.items():
        assert float(nngp.eq12(path_histogram(cell), k0)) == pytest.approx(value, abs=1e-12)
        assert metrics(cell, k0).nngp_eq12 == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("k0", K0S)
def test_sum_rule_for_chen_dags(k0):
    k1, k2 = kappa(k0), kappa(kappa(k0))
    # every node sums its incoming kernels; no node with paths of unequal depth feeds a linear
    # layer here, so the sum rule agrees with Eq. 12 on these three DAGs
    expected = {DAG1: (1, kappa(k2)), DAG2: (3, 3 * k1), DAG3: (4, k0 + k1 + 2 * k2)}
    for cell, (diag, off) in expected.items():
        d, c = nngp.sum_rule_kernel(cell, k0)
        assert (float(d), float(c)) == pytest.approx((diag, off), abs=1e-12)
        assert float(nngp.sum_rule_lambda_min(cell, k0)) == pytest.approx(diag - abs(off), abs=1e-12)


def test_sum_rule_scales_with_the_diagonal():
    """Two parallel linear edges 0 ⇒ 1, then 1 → 2 linear. Node 1 is [[2, 2κ(ρ)], [2κ(ρ), 2]];
    the ReLU map of that kernel is 2·[[1, κ(κ(ρ))], ...] = f(2f(K0)), not κ(2κ(ρ))."""
    rho = 0.5
    cell = Cell(("input", "intermediate", "output"),
                (Edge(0, 1, "linear"), Edge(0, 1, "linear"), Edge(1, 2, "linear")))
    d, c = nngp.sum_rule_kernel(cell, rho)
    by_hand = 2 * kappa(kappa(rho))  # = 2 · 0.68391 ≈ 1.36781
    assert (float(d), float(c)) == pytest.approx((2.0, by_hand), abs=1e-12)
    assert float(c) == pytest.approx(1.36781, abs=1e-5)
    # the unscaled rule would apply κ to 2κ(ρ) = 1.218 > 1: out of κ's domain (clipped to 1)
    assert 2 * kappa(rho) > 1
    assert float(relu.kappa(2 * kappa(rho))) == 1.0 != pytest.approx(float(c))
    assert float(nngp.sum_rule_lambda_min(cell, rho)) == pytest.approx(2 - by_hand, abs=1e-12)


def test_sum_rule_differs_from_eq12_where_unequal_depths_meet_before_a_linear_layer():
    """0 → 1 by a linear edge and a skip in parallel, then 1 → 2 linear. Node 1 carries
    [[2, ρ + κ(ρ)], ...]; the linear layer maps it to 2·κ((ρ + κ(ρ))/2), whereas Eq. 12 sums
    the paths separately: κ(κ(ρ)) + κ(ρ). κ is convex, so the sum rule's λmin is the larger."""
    cell = Cell(("input", "intermediate", "output"),
                (Edge(0, 1, "linear"), Edge(0, 1, "skip_connect"), Edge(1, 2, "linear")))
    for rho in K0S[:-1]:
        k1 = kappa(rho)
        sum_rule = 2 - 2 * kappa((rho + k1) / 2)
        eq12 = 2 - (kappa(k1) + k1)
        assert float(nngp.sum_rule_lambda_min(cell, rho)) == pytest.approx(sum_rule, abs=1e-12)
        assert float(nngp.eq12(path_histogram(cell), rho)) == pytest.approx(eq12, abs=1e-12)
        assert sum_rule > eq12 + 1e-6
        m = metrics(cell, rho)
        assert (m.nngp_lambda_min, m.nngp_eq12) == pytest.approx((sum_rule, eq12), abs=1e-12)


def test_sum_rule_two_inputs_and_dead_branches():
    # a DARTS-style cell: both inputs start at [[1, K0], [K0, 1]]; concat adds kernels
    cell = Cell(("input", "input", "intermediate", "output"),
                (Edge(0, 2, "sep_conv_3x3"), Edge(1, 2, "skip_connect"), Edge(2, 3, "concat")))
    d, c = nngp.sum_rule_kernel(cell, 0.2)
    assert (float(d), float(c)) == pytest.approx((2.0, kappa(0.2) + 0.2))
    # no path: the output kernel is zero, and so is λmin (never NaN)
    none = Cell.from_nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert float(nngp.sum_rule_lambda_min(none, 0.5)) == 0.0
    assert float(nngp.eq12(path_histogram(none), 0.5)) == 0.0


def test_vectorised_over_k0_and_curves():
    k0 = np.linspace(-0.99, 0.99, 41)
    for cell in (DAG1, DAG2, DAG3, get_preset("DARTS-V2 normal cell").cell):
        eq = nngp.eq12(path_histogram(cell), k0)
        lam = nngp.sum_rule_lambda_min(cell, k0)
        assert eq.shape == lam.shape == k0.shape
        assert np.allclose(eq, [float(nngp.eq12(path_histogram(cell), x)) for x in k0])
        assert np.allclose(lam, [float(nngp.sum_rule_lambda_min(cell, x)) for x in k0])
        # at K0 = 1 the two inputs are the same, so every value is 0
        assert float(nngp.eq12(path_histogram(cell), 1.0)) == pytest.approx(0.0, abs=1e-12)
        assert float(nngp.sum_rule_lambda_min(cell, 1.0)) == pytest.approx(0.0, abs=1e-12)
        curves = {c.key: c for c in kernel_curves(cell, k0)}
        assert {"eq12", "sum_rule"} <= set(curves)
        assert np.array_equal(curves["eq12"].values, eq) and np.array_equal(curves["sum_rule"].values, lam)
        assert "Eq. 12" in curves["eq12"].label and "sum rule" in curves["sum_rule"].label


def test_lambda_min_2x2():
    assert float(relu.lambda_min_2x2(3.0, -1.0)) == 2.0
    assert float(min(np.linalg.eigvalsh([[3.0, 1.2], [1.2, 3.0]]))) == pytest.approx(
        float(relu.lambda_min_2x2(3.0, 1.2)))
