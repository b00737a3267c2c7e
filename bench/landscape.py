"""Loss-surface grids: ours (loop and vmap) against loss-landscapes 3.0.6 and 441 bare forwards.

The same model, data and 21×21 grid through
- ``loss-landscapes`` (``random_plane``, filter normalisation; a bench-only dependency),
- ours: ``SurfaceEvaluator.grid`` point by point (``loop``; loss only, like the others, and with
  accuracy too, as the job runs) and batched under ``vmap``,
- the bound: 441 forward passes of the model at fixed weights, loss only.
Every method runs in the same process, interleaved round-robin; the best of ``--repeat`` rounds
counts. Prints ratios (ours / bound, ours / loss-landscapes) as a Markdown table.

    .venv/bin/python -m bench.landscape [--widths 64 256 1024] [--samples 1000] [--repeat 3] [--conv]

``--bn-compare EPOCHS`` instead trains the NB201 ResNet cell (C=8, N=1) on digits for EPOCHS epochs
and prints the loss on a 5×5 grid over [-1, 1]² on the test split with BatchNorm's running
statistics and with batch statistics (docs/experiments.md, "BatchNorm statistics").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from explorer.cell.presets import get_preset
from explorer.experiments.datasets import DataSpec, load_dataset
from explorer.experiments.landscape import SurfaceEvaluator, directions
from explorer.nets import build_network

STEPS = 21


def _loss_landscapes(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    import loss_landscapes
    from loss_landscapes.metrics import Loss

    metric = Loss(torch.nn.functional.cross_entropy, x, y)
    with torch.no_grad():  # its metric would otherwise build a graph at every point
        loss_landscapes.random_plane(model, metric, distance=1, steps=STEPS, normalization="filter",
                                     deepcopy_model=True)


def _bare(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    with torch.no_grad():
        for _ in range(STEPS * STEPS):
            float(torch.nn.functional.cross_entropy(model(x), y))


def bn_compare(epochs: int, samples: int, seed: int = 0, png: str | None = None) -> None:
    from explorer.experiments.train import TrainSpec, train

    spec = TrainSpec.model_validate({
        "network": {"cell": get_preset("NB201 ResNet cell").cell.to_text(), "channels": 8, "cells_per_stage": 1},
        "data": {"name": "digits"}, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "epochs": epochs,
        "seed": seed})
    result = train(spec)
    x, y = result.data.x_test[:samples], result.data.y_test[:samples]
    d1, d2 = directions(result.model, seed)
    axis = np.linspace(-1, 1, 5)
    print(f"NB201 ResNet cell, C=8, N=1, digits, {epochs} epochs (test acc {result.summary['final_test_acc']:.3f}); "
          f"test split, {len(y)} samples, directions seed {seed}\n")
    print("| BatchNorm | loss at (0, 0) | at (1, 1) | at (-1, 0) | max over the 5×5 grid |\n|---|---|---|---|---|")
    for mode in ("running", "batch"):
        loss = SurfaceEvaluator(result.model, x, y, d1, d2, bn_stats=mode).grid(axis, axis, method="loop").loss
        print(f"| {mode} | {loss[2, 2]:.3f} | {loss[4, 4]:.3f} | {loss[2, 0]:.3f} | {np.nanmax(loss):.3f} |")
    if png:
        _bn_contours(result, x, y, d1, d2, epochs, png)


def _bn_contours(result, x, y, d1, d2, epochs: int, png: str) -> None:
    """The two surfaces side by side on a 21×21 grid, log10 loss on one colour scale."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    axis = np.linspace(-1, 1, STEPS)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["running statistics (eval mode, as Li et al.)",
                                                        "batch statistics of the evaluated samples"])
    for col, mode in enumerate(("running", "batch"), start=1):
        loss = SurfaceEvaluator(result.model, x, y, d1, d2, bn_stats=mode).grid(axis, axis, method="loop").loss
        fig.add_trace(go.Contour(x=axis, y=axis, z=np.log10(loss), zmin=-1.5, zmax=2, colorscale="Viridis",
                                 contours={"showlabels": True}, showscale=col == 2,
                                 colorbar={"title": "log10 loss"}), row=1, col=col)
        fig.update_xaxes(title_text="α (direction 1)", row=1, col=col)
    fig.update_yaxes(title_text="β (direction 2)", row=1, col=1)
    fig.update_layout(width=1000, height=460, title=f"NB201 ResNet cell (C=8, N=1), digits, {epochs} epochs: "
                                                    f"test-split loss, {len(y)} samples, directions seed 0")
    fig.write_image(png)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--conv", action="store_true", help="also an NB201 conv network (C=8, N=1) on 8×8 digits")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--bn-compare", type=int, default=0, metavar="EPOCHS",
                    help="running vs batch BatchNorm statistics after EPOCHS epochs (see above), then stop")
    ap.add_argument("--png", default=None, help="with --bn-compare: the first run's two surfaces as a figure "
                                                "(plotly + kaleido, needs Chromium)")
    args = ap.parse_args()
    if args.bn_compare:
        for epochs in (args.bn_compare, 4 * args.bn_compare):
            bn_compare(epochs, args.samples, png=args.png if epochs == args.bn_compare else None)
        return
    device = torch.device(args.device)
    data = load_dataset(DataSpec(name="digits")).to(device)
    x, y = data.x_train[: args.samples], data.y_train[: args.samples]
    axis = np.linspace(-1, 1, STEPS)
    cases = [(f"MLP-cell DAG#3, width {m}", "mlp", m) for m in args.widths]
    if args.conv:
        cases.append(("NB201 ResNet cell, C=8, N=1", "nb201", 8))
    print(f"device {device}, {torch.get_num_threads()} threads, {len(y)} samples, {STEPS}×{STEPS} grid\n")
    print("| model | bound: 441 forwards (s) | loss-landscapes (s) | ours loop, loss (s) | ours loop, loss+acc (s) "
          "| ours vmap, loss+acc (s) | loop / bound | loop / loss-landscapes | vmap / loop (both +acc) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for title, kind, size in cases:
        preset = "DAG#3 (mixed)" if kind == "mlp" else "NB201 ResNet cell"
        torch.manual_seed(0)
        model = build_network(get_preset(preset).cell, kind, input_shape=data.input_shape, width=size,
                              channels=size, cells_per_stage=1).to(device).eval()
        with torch.no_grad():  # trained-like biases: loss-landscapes divides by zero on all-zero filters
            for p in model.parameters():
                if p.dim() == 1:
                    p.add_(0.01 * torch.randn_like(p))
        d1, d2 = directions(model, 0)
        evaluator = SurfaceEvaluator(model, x, y, d1, d2)
        loss_only = SurfaceEvaluator(model, x, y, d1, d2, accuracy=False)  # like for like with the others
        methods = {
            "bound": lambda m=model: _bare(m, x, y),
            "loss_landscapes": lambda m=model: _loss_landscapes(m, x, y),
            "loop": lambda e=loss_only: e.grid(axis, axis, method="loop"),
            "loop_acc": lambda e=evaluator: e.grid(axis, axis, method="loop"),
            "vmap": lambda e=evaluator: e.grid(axis, axis, method="vmap", points_per_call=21),
        }
        best = {k: float("inf") for k in methods}
        for _ in range(args.repeat):
            for name, fn in methods.items():
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best[name] = min(best[name], time.perf_counter() - start)
        print(f"| {title} | {best['bound']:.3f} | {best['loss_landscapes']:.3f} | {best['loop']:.3f} | "
              f"{best['loop_acc']:.3f} | {best['vmap']:.3f} | {best['loop'] / best['bound']:.2f} | "
              f"{best['loop'] / best['loss_landscapes']:.2f} | {best['vmap'] / best['loop_acc']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
