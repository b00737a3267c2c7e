"""Chen et al. (NeurIPS 2022) Figure 4 on small data: do DAG#3 > DAG#2 > DAG#1 in training speed?

The three MLP-cell DAGs (presets ``DAG#1/2/3``) at width m, plain SGD, batch 128, the same seeds,
on digits and MNIST-1D, through ``explorer.experiments.train.train`` (the ``train`` job's code). Prints, per
dataset, the mean ± std over seeds of the training loss (the running mean over each epoch) at a few
epochs and its area under the curve, and whether the paper's ordering holds; writes every curve
to ``--out`` (CSV) for docs/experiments.md.

    .venv/bin/python -m bench.figure4 [--width 1024] [--epochs 10] [--seeds 3] [--lr 0.01]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    ap.add_argument("--out", default="figure4_curves.csv")
    args = ap.parse_args()
    rows = []
    for dataset in args.datasets:
        losses: dict[str, np.ndarray] = {}
        for dag in DAGS:
            runs = []
            for seed in range(args.seeds):
                spec = TrainSpec.model_validate({
                    "network": {"cell": get_preset(dag).cell.to_text(), "network": "mlp", "width": args.width},
                    "data": {"name": dataset, "seed": 0}, "optimizer": "sgd", "lr": args.lr,
                    "momentum": args.momentum, "batch_size": 128, "epochs": args.epochs, "seed": seed,
                })
                start = time.perf_counter()
                result = train(spec)
                runs.append(result.epochs["train_loss"])
                for e, (tl, ta, te) in enumerate(zip(result.epochs["train_loss"], result.epochs["test_acc"],
                                                     result.epochs["test_loss"], strict=True), start=1):
                    rows.append({"dataset": dataset, "dag": dag, "seed": seed, "epoch": e, "train_loss": tl,
                                 "test_loss": te, "test_acc": ta})
                print(f"{dataset} {dag} seed {seed}: final train loss {runs[-1][-1]:.4f}, test acc "
                      f"{result.epochs['test_acc'][-1]:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
            losses[dag] = np.asarray(runs)
        show = sorted({1, max(1, args.epochs // 2), args.epochs})
        print(f"\n**{dataset}**, width {args.width}, SGD lr {args.lr} momentum {args.momentum}, batch 128, "
              f"{args.seeds} seeds: training loss, mean ± std\n")
        print("| DAG | " + " | ".join(f"epoch {e}" for e in show) + " | area under curve |")
        print("|---|" + "---|" * (len(show) + 1))
        auc = {}
        for dag, arr in losses.items():
            auc[dag] = arr.mean(axis=1)  # per seed: mean loss over epochs
            cells = [f"{arr[:, e - 1].mean():.4f} ± {arr[:, e - 1].std():.4f}" for e in show]
            print(f"| {dag} | " + " | ".join(cells) + f" | {auc[dag].mean():.4f} ± {auc[dag].std():.4f} |")
        order = sorted(DAGS, key=lambda d: auc[d].mean())
        holds = order == [DAGS[2], DAGS[1], DAGS[0]]
        per_seed = all(auc[DAGS[2]][s] < auc[DAGS[1]][s] < auc[DAGS[0]][s] for s in range(args.seeds))
        print(f"\nfastest to slowest (area): {' > '.join(d.split()[0] for d in order)}; paper's DAG#3 > DAG#2 > "
              f"DAG#1 {'holds' if holds else 'does not hold'} on the means"
              f"{' and in every seed' if per_seed else ''}.\n", flush=True)
    with Path(args.out).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
