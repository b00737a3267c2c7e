"""Chen et al. (NeurIPS 2022) Figure 4 on small data: does DAG#3 > DAG#2 > DAG#1 in training speed,
and at which learning rates?

The three MLP-cell DAGs (presets ``DAG#1/2/3``) in Chen et al.'s network (``--stem chen``: Linear+ReLU
stem, Kaiming normal on every layer) or this project's earlier one (``--stem linear``), width m,
plain SGD (no momentum, no weight decay), batch 128, the same seeds, through
``explorer.experiments.train.train`` (the ``train`` job's code), for every learning rate given.
Per dataset and learning rate it prints, as mean ± std over seeds, the training accuracy (what the
paper plots; the running mean over each epoch) and training loss at a few epochs, and three
orderings: by the mean training accuracy over the epochs (the area under the accuracy curve,
higher = faster), by the final training accuracy, and by the area under the training-loss curve
(lower = faster); each says whether DAG#3 > DAG#2 > DAG#1 holds on the means and in every seed.
Writes every curve to ``--out`` (CSV) and, with ``--png``, a figure (plotly + kaleido).

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.figure4 --width 1024 --epochs 20 --seeds 2 \\
        --lrs 1e-5 1e-4 1e-3 1e-2 1e-1 --datasets digits --png docs/figures/figure4_lr_sweep.png
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from explorer.cell.presets import get_preset
from explorer.experiments.train import TrainSpec, train

DAGS = ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)")
# (measure, curve column, higher is faster, what the table calls it)
MEASURES = (("acc_auc", "train_acc", True, "mean train acc over epochs"),
            ("acc_final", "train_acc", True, "final train acc"),
            ("loss_auc", "train_loss", False, "mean train loss over epochs"))


def run_grid(dataset: str, lr: float, args: argparse.Namespace, rows: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    """Train every DAG × seed at ``lr``; per DAG its curves as (seeds, epochs) arrays."""
    curves: dict[str, dict[str, np.ndarray]] = {}
    for dag in DAGS:
        acc, loss = [], []
        for seed in range(args.seeds):
            spec = TrainSpec.model_validate({
                "network": {"cell": get_preset(dag).cell.to_text(), "network": "mlp", "width": args.width,
                            "mlp_stem": args.stem},
                "data": {"name": dataset, "seed": 0}, "optimizer": "sgd", "lr": lr, "momentum": 0.0,
                "weight_decay": 0.0, "batch_size": 128, "epochs": args.epochs, "seed": seed,
            })
            start = time.perf_counter()
            result = train(spec)
            acc.append(result.epochs["train_acc"])
            loss.append(result.epochs["train_loss"])
            for e in range(len(result.epochs["epoch"])):
                rows.append({"dataset": dataset, "stem": args.stem, "width": args.width, "lr": lr, "dag": dag,
                             "seed": seed, "epoch": e + 1, "train_loss": result.epochs["train_loss"][e],
                             "train_acc": result.epochs["train_acc"][e], "test_loss": result.epochs["test_loss"][e],
                             "test_acc": result.epochs["test_acc"][e]})
            print(f"{dataset} lr {lr:g} {dag} seed {seed}: train acc {acc[-1][-1]:.3f}, train loss "
                  f"{loss[-1][-1]:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
        curves[dag] = {"train_acc": np.asarray(acc), "train_loss": np.asarray(loss)}
    return curves


def orderings(curves: dict[str, dict[str, np.ndarray]]) -> dict[str, tuple[list[str], bool, bool]]:
    """Per measure: DAGs fastest first (on the means), whether that is 3 > 2 > 1, and whether it is in every seed."""
    out = {}
    for measure, column, higher, _ in MEASURES:
        per_seed = {dag: (c[column][:, -1] if measure.endswith("final") else c[column].mean(axis=1))
                    for dag, c in curves.items()}
        sign = -1.0 if higher else 1.0  # sort so that the fastest comes first
        order = sorted(DAGS, key=lambda d: sign * per_seed[d].mean())
        holds = order == [DAGS[2], DAGS[1], DAGS[0]]
        faster = (lambda a, b: a > b) if higher else (lambda a, b: a < b)
        seeds = len(per_seed[DAGS[0]])
        every = all(faster(per_seed[DAGS[2]][s], per_seed[DAGS[1]][s]) and faster(per_seed[DAGS[1]][s],
                    per_seed[DAGS[0]][s]) for s in range(seeds))
        out[measure] = (order, holds, every)
    return out


def report(dataset: str, lr: float, curves: dict[str, dict[str, np.ndarray]], args: argparse.Namespace) -> None:
    epochs = curves[DAGS[0]]["train_acc"].shape[1]
    show = sorted({1, max(1, epochs // 2), epochs})
    print(f"\n**{dataset}**, {args.stem} stem, width {args.width}, SGD lr {lr:g}, batch 128, {args.seeds} seeds: "
          "training accuracy / training loss, mean ± std\n")
    print("| DAG | " + " | ".join(f"epoch {e}" for e in show) + " | mean acc | mean loss |")
    print("|---|" + "---|" * (len(show) + 2))
    for dag, c in curves.items():
        acc, loss = c["train_acc"], c["train_loss"]
        cells = [f"{acc[:, e - 1].mean():.3f} / {loss[:, e - 1].mean():.3f}" for e in show]
        print(f"| {dag} | " + " | ".join(cells) + f" | {acc.mean(axis=1).mean():.3f} ± {acc.mean(axis=1).std():.3f}"
              f" | {loss.mean(axis=1).mean():.3f} ± {loss.mean(axis=1).std():.3f} |")
    for measure, (order, holds, every) in orderings(curves).items():
        what = next(m[3] for m in MEASURES if m[0] == measure)
        verdict = "holds" + (" in every seed" if every else " on the means only") if holds else "does not hold"
        print(f"- {what}: {' > '.join(d.split()[0] for d in order)} — DAG#3 > DAG#2 > DAG#1 {verdict}")
    print(flush=True)


def plot(rows: list[dict], out: str) -> None:
    """Training accuracy (top) and loss (bottom) per learning rate (columns), mean ± std over seeds."""
    import pandas as pd
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = pd.DataFrame(rows)
    keys = list(dict.fromkeys(zip(df["dataset"], df["lr"], strict=True)))
    fig = make_subplots(rows=2, cols=len(keys), shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{d}, lr {lr:g}" for d, lr in keys])
    colors = dict(zip(DAGS, ["#1f77b4", "#ff7f0e", "#2ca02c"], strict=True))
    for col, (dataset, lr) in enumerate(keys, start=1):
        part = df[(df["dataset"] == dataset) & (df["lr"] == lr)]
        for r, metric in enumerate(("train_acc", "train_loss"), start=1):
            for dag in DAGS:
                g = part[part["dag"] == dag].groupby("epoch")[metric].agg(["mean", "std"]).fillna(0.0).reset_index()
                fig.add_trace(go.Scatter(x=g["epoch"], y=g["mean"], mode="lines", line={"color": colors[dag]},
                                         name=dag.split()[0], legendgroup=dag, showlegend=col == 1 and r == 1,
                                         error_y={"type": "data", "array": g["std"], "thickness": 1}),
                              row=r, col=col)
        fig.update_xaxes(title_text="epoch", row=2, col=col)
    fig.update_yaxes(title_text="training accuracy", row=1, col=1)
    fig.update_yaxes(title_text="training loss", row=2, col=1)
    fig.update_layout(height=620, width=max(700, 330 * len(keys)), legend={"orientation": "h"},
                      title="Chen et al. Fig. 4 setting: DAG#1–3, mean ± std over seeds")
    fig.write_image(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    ap.add_argument("--stem", choices=["chen", "linear"], default="chen")
    ap.add_argument("--datasets", nargs="+", default=["digits"])
    ap.add_argument("--out", default="figure4_curves.csv")
    ap.add_argument("--png", default=None, help="write the figure here (plotly + kaleido, needs Chromium)")
    args = ap.parse_args()
    rows: list[dict] = []
    for dataset in args.datasets:
        for lr in args.lrs:
            report(dataset, lr, run_grid(dataset, lr, args, rows), args)
    with Path(args.out).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if args.png:
        plot(rows, args.png)


if __name__ == "__main__":
    main()
