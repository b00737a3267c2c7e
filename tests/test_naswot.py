"""The naswot job kind: both scores against their definitions, determinism, placement among warehouse scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.experiments.naswot import JACOBIAN_K, hamming_kernel, jacobian_score, score_batch
from explorer.jobs.local_context import LocalContext
from explorer.jobs.registry import get_kind
from explorer.labs.search_sim import score_percentile

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def test_jacobian_score_is_the_2020_formula():
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(16, 3, 4, 4))
    eig = np.linalg.eig(np.corrcoef(jac.reshape(16, -1)))[0].real  # as in the paper's code
    assert jacobian_score(jac) == pytest.approx(-np.sum(np.log(eig + JACOBIAN_K) + 1 / (eig + JACOBIAN_K)))


def test_hamming_kernel_counts_agreements():
    codes = [torch.tensor([[1, 0, 1], [1, 1, 0]]), torch.tensor([[0], [0]])]
    assert hamming_kernel(codes).tolist() == [[4.0, 2.0], [2.0, 4.0]]


def test_hamming_score_on_a_known_network():
    # One ReLU on 2 units: codes (1,0) and (0,1) disagree everywhere -> K = [[2, 0], [0, 2]], log det = log 4.
    model = nn.Sequential(nn.Identity(), nn.ReLU())
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    assert score_batch(model, x, "hamming") == pytest.approx(np.log(4.0))


def test_kind_runs_on_an_nb201_network():
    kind = get_kind("naswot")
    spec = kind.validate({"network": {"cell": CELL, "channels": 4, "cells_per_stage": 1}, "data": {"name": "synthetic"},
                          "batch_size": 16, "score": "jacobian", "batches": 2})
    ctx = LocalContext()
    out = kind.run(spec, ctx)
    assert out["network"] == "nb201" and len(out["scores"]) == 2 and np.isfinite(out["score"])
    assert out["score"] == pytest.approx(np.mean(out["scores"])) and ctx.series("naswot_score") == out["scores"]
    assert not out["comparable_with_warehouse"] and not out["notes"]  # 16 input values ≥ 16 samples
    assert kind.run(spec, LocalContext())["scores"] == out["scores"]  # seeded: identical
    other = kind.run(kind.validate({**spec.model_dump(), "seed": 1}), LocalContext())
    assert other["scores"] != out["scores"]
    big = kind.run(kind.validate({**spec.model_dump(), "batch_size": 32, "batches": 1}), LocalContext())
    assert big["notes"] and "rank-deficient" in big["notes"][0]
    ham = kind.run(kind.validate({**spec.model_dump(), "score": "hamming"}), LocalContext())
    assert np.isfinite(ham["score"]) and ham["kind"] == "hamming"


def test_score_percentile():
    scores = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert score_percentile(2.5, scores) == 0.5
    assert score_percentile(0.0, scores) == 0.0 and score_percentile(9.0, scores) == 1.0
