"""Shu et al. (ICLR 2020), small scale: do wider, shallower DARTS-style cells train faster?

Three rewirings of the DARTS-V2 normal cell with the same eight ops (so the same parameter count):
the widest (every node reads only the cell inputs), DARTS-V2 itself, and a chain (each node reads the
previous one: narrow and deep). Each is trained in a small DARTS network on digits (1×8×8) with the
``train`` job's code and the same seeds; prints the cells' Shu width/depth and the training loss
(mean ± std over seeds) per epoch and its area under the curve.

    .venv/bin/python -m bench.shu_convergence [--channels 16] [--layers 5] [--epochs 8] [--seeds 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.cell.model import Cell
from explorer.experiments.train import TrainSpec, train
from explorer.nets import cell_parameter_count
from explorer.theory.metrics import metrics

OPS = ["sep_conv_3x3", "sep_conv_3x3", "sep_conv_3x3", "sep_conv_3x3", "sep_conv_3x3", "skip_connect",
       "skip_connect", "dil_conv_3x3"]
VARIANTS = {
    "widest (inputs only)": [0, 1, 0, 1, 1, 0, 0, 1],
    "DARTS-V2": [0, 1, 0, 1, 1, 0, 0, 2],
    "chain (deep, narrow)": [0, 1, 2, 1, 3, 0, 4, 1],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()
    curves = {}
    print("| cell | Shu width | Shu depth | cell parameters at C |")
    print("|---|---|---|---|")
    for name, inputs in VARIANTS.items():
        cell = Cell.from_genotype_pairs(list(zip(OPS, inputs, strict=True)), [2, 3, 4, 5])
        m = metrics(cell)
        print(f"| {name} | {m.cell_width:g}c | {m.cell_depth} | {cell_parameter_count(cell, args.channels):,} |")
        runs = []
        for seed in range(args.seeds):
            spec = TrainSpec.model_validate({
                "network": {"cell": cell.to_text(), "network": "darts", "channels": args.channels,
                            "layers": args.layers},
                "data": {"name": "digits"}, "optimizer": "sgd", "lr": args.lr, "momentum": 0.9,
                "batch_size": 128, "epochs": args.epochs, "seed": seed})
            runs.append(train(spec).epochs["train_loss"])
        curves[name] = np.asarray(runs)
    show = sorted({1, max(1, args.epochs // 2), args.epochs})
    print(f"\nDARTS network C={args.channels}, {args.layers} cells, digits, SGD lr {args.lr} momentum 0.9, batch 128, "
          f"{args.seeds} seeds: training loss, mean ± std\n")
    print("| cell | " + " | ".join(f"epoch {e}" for e in show) + " | area under curve |")
    print("|---|" + "---|" * (len(show) + 1))
    for name, arr in curves.items():
        auc = arr.mean(axis=1)
        print(f"| {name} | " + " | ".join(f"{arr[:, e - 1].mean():.4f} ± {arr[:, e - 1].std():.4f}" for e in show)
              + f" | {auc.mean():.4f} ± {auc.std():.4f} |")


if __name__ == "__main__":
    main()
