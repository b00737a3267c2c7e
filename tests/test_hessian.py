"""Top Hessian eigenvalues by power iteration against the exact Hessian of a tiny network."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from explorer.cell.presets import get_preset
from explorer.experiments.hessian import top_eigenvalues
from explorer.nets import build_network


def test_power_iteration_finds_the_largest_eigenvalues() -> None:
    torch.manual_seed(0)
    net = build_network(get_preset("DAG#3 (mixed)").cell, "mlp", input_shape=(5,), width=6, num_classes=3).eval()
    x, y = torch.randn(40, 5), torch.randint(0, 3, (40,))
    params = {k: v.detach() for k, v in net.named_parameters()}
    layout = [(k, v.shape, v.numel()) for k, v in params.items()]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        weights, i = {}, 0
        for k, shape, n in layout:
            weights[k] = theta[i : i + n].view(shape)
            i += n
        return torch.nn.functional.cross_entropy(functional_call(net, weights, (x,)), y)

    hessian = torch.autograd.functional.hessian(loss, torch.cat([v.flatten() for v in params.values()]))
    exact = torch.linalg.eigvalsh(hessian.double())
    exact = exact[exact.abs().argsort(descending=True)][:3]
    result = top_eigenvalues(net, x, y, 3, max_iterations=1000, tolerance=1e-8)
    assert result.eigenvalues == pytest.approx(exact.tolist(), rel=1e-3)
    assert all(1 <= n <= 1000 for n in result.iterations)
