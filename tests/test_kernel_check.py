"""Monte Carlo against the exact DAG kernel: MLPCellNet at initialisation, small widths, fixed seeds.

The 2048–8192 sweep is bench/nngp_mc.py (numbers in docs/benchmarks.md, "Exact DAG kernel").
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from explorer.cell.presets import PRESETS, get_preset
from explorer.experiments.kernel_bias import bias_test
from explorer.experiments.kernel_check import (
    centred_pair,
    fit_error_trend,
    kernel_check,
    node_moments,
)
from explorer.theory.dag_kernel import dag_kernel

WIDTHS = (64, 256, 1024)
SEEDS = 16
REQUIRED = ["DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)",
            *(p.name for p in PRESETS if p.space == "nb201")]
DARTS = [p.name for p in PRESETS if p.space == "darts"]


@pytest.fixture(scope="module")
def checks() -> dict:
    return {name: kernel_check(get_preset(name).cell, 0.5, WIDTHS, SEEDS) for name in REQUIRED + DARTS}


def test_centred_pair_is_exact() -> None:
    h = centred_pair(0.3, 500, torch.Generator().manual_seed(1))
    gram = (h @ h.T / 500).numpy()
    np.testing.assert_allclose(gram, [[1.0, 0.3], [0.3, 1.0]], atol=1e-12)
    np.testing.assert_allclose(h.mean(dim=1).numpy(), 0.0, atol=1e-12)


@pytest.mark.parametrize("name", REQUIRED + DARTS)
def test_empirical_kernel_within_sampling_error_of_exact(checks: dict, name: str) -> None:
    r = checks[name]
    for w in r.widths:
        assert w.consistent, f"{name} width {w.width}: z = {w.z_diag}, {w.z_off} (exact {r.exact})"


@pytest.mark.parametrize("name", [n for n in REQUIRED + DARTS if n != "NB201 all-skip"])
def test_error_shrinks_like_one_over_sqrt_width(checks: dict, name: str) -> None:
    r = checks[name]
    errors = [w.rms_error for w in r.widths]
    assert errors[-1] < errors[0]
    assert r.error_slope is not None and -0.75 <= r.error_slope <= -0.25, r.error_slope
    for w in r.widths:  # each width on the fitted C/√m line within a factor 1.6
        assert 1 / 1.6 <= w.rms_error * math.sqrt(w.width) / r.error_c <= 1.6


def test_parameter_free_cell_is_exact_at_every_width(checks: dict) -> None:
    r = checks["NB201 all-skip"]
    for w in r.widths:
        assert w.diag == pytest.approx(16.0, rel=1e-5) and w.off == pytest.approx(8.0, rel=1e-5)
        assert w.lambda_min == pytest.approx(8.0, rel=1e-5) and w.z_diag is None
    assert r.error_slope is None and r.sum_rule.lambda_min == 2.0 and r.exact.lambda_min == 8.0


@pytest.mark.parametrize("name", ["DAG#2 (parallel)", "DAG#3 (mixed)", "NB201 all-conv", "DARTS-V2 normal cell"])
def test_the_check_rejects_the_sum_rule_where_it_is_wrong(checks: dict, name: str) -> None:
    # The tolerance is not vacuous: the sum rule's entries lie many standard errors away.
    w = checks[name].widths[-1]
    rule = checks[name].sum_rule
    assert abs(w.diag - rule.diag) > 10 * w.diag_se and abs(w.off - rule.off) > 10 * w.off_se


@pytest.mark.parametrize("name", ["DAG#3 (mixed)", "NB201 all-conv", "AmoebaNet-A normal cell"])
def test_every_node_pair_and_mean(name: str) -> None:
    cell = get_preset(name).cell
    exact = dag_kernel(cell, 0.5)
    runs = [node_moments(cell, 0.5, 512, seed) for seed in range(12)]
    for key in ("same", "cross", "mean"):
        values = np.stack([getattr(r, key) for r in runs])
        target = getattr(exact, key)
        mean, se = values.mean(axis=0), values.std(axis=0, ddof=1) / math.sqrt(len(runs))
        np.testing.assert_array_equal(np.isnan(mean), np.isnan(target))  # concat output pairs
        ok = ~np.isnan(target)
        dev = np.abs(mean - target)[ok]
        assert np.all((dev <= 5 * se[ok]) | (dev <= 1e-5 * np.maximum(1, np.abs(target[ok])))), (key, dev, se[ok])


def test_result_is_json_and_reproducible() -> None:
    cell = get_preset("DAG#2 (parallel)").cell
    seen = []
    a = kernel_check(cell, 0.2, (32, 64), 3, progress=lambda f, msg: seen.append(f))
    b = kernel_check(cell, 0.2, (32, 64), 3)
    assert a == b and seen == [0.5, 1.0]
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert {"cell", "k0", "exact", "sum_rule", "eq12", "widths", "error_slope", "error_c", "consistent"} <= set(d)
    assert d["eq12"]["diag"] is None and d["widths"][0]["width"] == 32
    state = torch.get_rng_state()
    node_moments(cell, 0.2, 16, 0)
    assert torch.equal(state, torch.get_rng_state())  # the caller's RNG is left alone


@pytest.mark.parametrize("kwargs", [{"k0": 1.5}, {"widths": ()}, {"widths": (1,)}, {"widths": (10**6,)}, {"seeds": 1}])
def test_bad_arguments(kwargs: dict) -> None:
    args = {"k0": 0.5, "widths": (16,), "seeds": 2} | kwargs
    with pytest.raises(ValueError):
        kernel_check(get_preset("DAG#1 (sequential)").cell, **args)


def test_fit_error_trend() -> None:
    widths = [100, 400, 1600]
    slope, c = fit_error_trend(widths, [3 / math.sqrt(m) for m in widths])
    assert slope == pytest.approx(-0.5) and c == pytest.approx(3.0)
    assert fit_error_trend(widths, [0.0, 0.0, 0.0]) == (None, None)


# --- a bias shared by the widths (synthetic per-width estimates) ------------------------------------

WIDTHS_BIAS = [64, 256, 1024, 4096]


def test_every_width_on_one_side_is_a_systematic_bias() -> None:
    # Each width alone is within its t-limit (|z| ≤ 3.8), but all four sit above, shrinking like 1/m.
    means = [1 + 20 / m for m in WIDTHS_BIAS]
    ses = [(20 / m) / 1.5 for m in WIDTHS_BIAS]  # every deviation 1.5 SE: one width alone says nothing
    b = bias_test("diag", WIDTHS_BIAS, means, ses, 1.0, n_seeds=16)
    assert (b.positive, b.negative) == (4, 0) and b.same_side and b.bars_one_side
    assert b.combined_z is not None and b.combined_z > 2.5 and b.combined_p is not None and b.combined_p < 0.01
    assert b.systematic
    assert b.slope == pytest.approx(20.0, rel=1e-6) and b.intercept == pytest.approx(0.0, abs=1e-9)


def test_balanced_deviations_are_no_bias() -> None:
    means = [1.02, 0.98, 1.01, 0.99]
    ses = [0.02, 0.02, 0.01, 0.01]
    b = bias_test("diag", WIDTHS_BIAS, means, ses, 1.0, n_seeds=16)
    assert (b.positive, b.negative) == (2, 2) and not b.same_side and not b.bars_one_side
    assert b.sign_p == 1.0 and abs(b.combined_z) < 1e-9 and not b.systematic


def test_the_verdict_names_a_shared_bias() -> None:
    from explorer.experiments.kernel_check import Analytic, KernelCheckResult, WidthEstimate

    def result(means: list[float], ses: list[float]) -> KernelCheckResult:
        widths = [WidthEstimate(m, 16, d, s, 0.5, 0.01, 0.5, 0.01, s, (d - 1) / s, 0.0, 3.8, True)
                  for m, d, s in zip(WIDTHS_BIAS, means, ses, strict=True)]
        bias = [bias_test("diag", WIDTHS_BIAS, means, ses, 1.0, 16), bias_test("off", WIDTHS_BIAS, [0.5] * 4,
                                                                                 [0.01] * 4, 0.5, 16)]
        exact = Analytic(1.0, 0.5, 0.5)
        return KernelCheckResult("c", 0.5, exact, exact, exact, widths, None, None, bias)

    one_side = result([1 + 20 / m for m in WIDTHS_BIAS], [(20 / m) / 1.5 for m in WIDTHS_BIAS])
    assert one_side.consistent and one_side.systematic
    assert "within sampling error at every width taken alone" in one_side.verdict
    assert "systematic (finite-width) bias" in one_side.verdict and "above the exact value at all 4" in one_side.verdict
    assert "shrinks like 1/width" in one_side.verdict
    balanced = result([1.02, 0.98, 1.01, 0.99], [0.02, 0.02, 0.01, 0.01])
    assert not balanced.systematic and "no systematic bias detected" in balanced.verdict
    d = json.loads(json.dumps(one_side.to_dict(), allow_nan=False))
    assert d["systematic"] is True and d["bias"][0]["same_side"] is True and d["verdict"] == one_side.verdict


def test_the_job_caption_is_the_verdict() -> None:
    from types import SimpleNamespace

    from explorer.jobs.kinds.nngp_check import read_check

    r = kernel_check(get_preset("DAG#2 (parallel)").cell, 0.2, (32, 64, 128), 3)
    caption = read_check(None, SimpleNamespace(result=r.to_dict())).caption  # type: ignore[arg-type]
    assert r.verdict in caption and ("systematic" in caption)
    old = read_check(None, SimpleNamespace(result={"k0": 0.5, "consistent": True})).caption  # type: ignore[arg-type]
    assert "no test for a bias" in old
