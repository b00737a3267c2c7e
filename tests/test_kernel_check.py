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
from explorer.experiments.kernel_check import centred_pair, fit_error_trend, kernel_check, node_moments
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
