"""Per-sample gradient variance: BackPACK against a naive per-sample loop, and the grid job."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from explorer.cell.presets import get_preset
from explorer.experiments.gradvar import (
    extend_for_backpack,
    gradient_variance,
    gradient_variance_loop,
    variance_grid,
)
from explorer.experiments.landscape import directions
from explorer.jobs.local_context import LocalContext
from explorer.jobs.registry import get_kind
from explorer.nets import build_network


def _naive(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Var_i of the flattened per-sample gradients, from the per-sample gradients themselves."""
    grads = []
    for i in range(len(y)):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        grads.append(torch.cat([p.grad.flatten().double() if p.grad is not None else torch.zeros(p.numel(),
                                dtype=torch.float64) for p in model.parameters()]))
    g = torch.stack(grads)
    return float(((g - g.mean(0)) ** 2).sum(1).mean())


@pytest.mark.parametrize("kind", ["mlp", "nb201"])
def test_backpack_variance_equals_a_per_sample_loop(kind) -> None:
    torch.manual_seed(0)
    preset = "DAG#2 (parallel)" if kind == "mlp" else "NB201 ResNet cell"
    net = build_network(get_preset(preset).cell, kind, input_shape=(1, 6, 6), width=12, channels=4,
                        cells_per_stage=1, num_classes=3)
    x, y = torch.randn(24, 1, 6, 6), torch.randint(0, 3, (24,))
    net.train()
    with torch.no_grad():
        net(x)
    net.eval()  # per-sample gradients need BatchNorm in eval mode
    expected = _naive(net, x, y)
    assert gradient_variance_loop(net, x, y) == pytest.approx(expected, rel=1e-6)
    extend_for_backpack(net)
    assert gradient_variance(net, x, y, chunk=10) == pytest.approx(expected, rel=1e-5)  # chunks add up


def test_variance_grid_restores_weights_and_job_writes_sqrt_g() -> None:
    torch.manual_seed(1)
    net = build_network(get_preset("DAG#1 (sequential)").cell, "mlp", input_shape=(5,), width=8, num_classes=3)
    before = [p.detach().clone() for p in net.parameters()]
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    d1, d2 = directions(net, 0)
    g = variance_grid(net, x, y, d1, d2, np.array([-1.0, 0.0, 1.0]), np.array([0.0, 1.0]))
    assert g.shape == (2, 3) and np.all(g >= 0)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert g[0, 1] == pytest.approx(gradient_variance_loop(net, x, y), rel=1e-5)

    shared: dict = {}
    get_kind("train").run(get_kind("train").validate({
        "network": {"cell": get_preset("DAG#1 (sequential)").cell.to_text(), "width": 16},
        "data": {"name": "synthetic"}, "epochs": 1}), LocalContext(job_id=1, artifacts=shared))
    kind = get_kind("grad_variance")
    summary = kind.run(
        kind.validate({"train_job": 1, "steps": 3, "samples": 64}), LocalContext(job_id=2, artifacts=shared)
    )
    arrays = np.load(io.BytesIO(shared[(2, "grad_variance.npz")]))
    np.testing.assert_allclose(arrays["sqrt_g"], np.sqrt(arrays["g"]))
    assert summary["centre_sqrt_g"] == arrays["sqrt_g"][1, 1] and summary["points"] == 9
