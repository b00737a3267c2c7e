"""Gradient-variance maps: ours (BackPACK ``SumGradSquared``) against a per-sample loop.

The same digits MLP-cell network, the same evaluation subset and the same grid through
``variance_grid`` (one BackPACK backward per grid point) and through ``gradient_variance_loop``
(one backward per sample per grid point). Both run in this process, interleaved; the best of
``--repeat`` rounds counts. Also checks that the two agree. Prints a Markdown table.

    .venv/bin/python -m bench.gradvar [--widths 64 256] [--samples 1000] [--steps 5] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from explorer.cell.presets import get_preset
from explorer.experiments.datasets import DataSpec, load_dataset
from explorer.experiments.gradvar import gradient_variance_loop, variance_grid
from explorer.experiments.landscape import directions
from explorer.nets import build_network


def loop_grid(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, d1, d2, axis: np.ndarray) -> np.ndarray:
    params = dict(model.named_parameters())
    base = {k: p.detach().clone() for k, p in params.items()}
    out = np.zeros((len(axis), len(axis)))
    for j, b in enumerate(axis):
        for i, a in enumerate(axis):
            with torch.no_grad():
                for k, p in params.items():
                    p.copy_(base[k] + float(a) * d1[k] + float(b) * d2[k])
            out[j, i] = gradient_variance_loop(model, x, y)
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(base[k])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=5, help="grid points per axis")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    data = load_dataset(DataSpec(name="digits"))
    x, y = data.x_train[: args.samples], data.y_train[: args.samples]
    axis = np.linspace(-1, 1, args.steps)
    print(f"cpu, {torch.get_num_threads()} threads, {len(y)} samples, {args.steps}×{args.steps} grid\n")
    print("| model | per-sample loop (s) | ours, BackPACK (s) | speed-up | max relative difference |")
    print("|---|---|---|---|---|")
    for width in args.widths:
        torch.manual_seed(0)
        model = build_network(get_preset("DAG#3 (mixed)").cell, "mlp", input_shape=data.input_shape, width=width).eval()
        d1, d2 = directions(model, 0)
        best = {"loop": float("inf"), "ours": float("inf")}
        results = {}
        for _ in range(args.repeat):
            for name, fn in (("loop", lambda m=model, a=d1, b=d2: loop_grid(m, x, y, a, b, axis)),
                             ("ours", lambda m=model, a=d1, b=d2: variance_grid(m, x, y, a, b, axis, axis))):
                start = time.perf_counter()
                results[name] = fn()
                best[name] = min(best[name], time.perf_counter() - start)
        diff = float(np.max(np.abs(results["ours"] - results["loop"]) / np.abs(results["loop"])))
        print(f"| MLP-cell DAG#3, width {width} | {best['loop']:.2f} | {best['ours']:.3f} | "
              f"{best['loop'] / best['ours']:.1f}× | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
