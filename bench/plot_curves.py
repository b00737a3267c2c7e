"""Plot the per-epoch curves a reproduction bench wrote (bench/figure4.py --out CSV) as a PNG:
one panel per dataset, mean ± std over seeds per cell.

    .venv/bin/python bench/plot_curves.py figure4_curves.csv --group dag --out docs/figures/figure4.png
"""

from __future__ import annotations

import argparse

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.experiments.checkpoints import curve_band


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--group", default="dag", help="column naming the compared cells")
    ap.add_argument("--metric", default="train_loss")
    ap.add_argument("--title", default="Training loss, mean ± std over seeds")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    df = pd.read_csv(args.csv)
    datasets = list(dict.fromkeys(df["dataset"]))
    fig = make_subplots(rows=1, cols=len(datasets), subplot_titles=datasets)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    for col, dataset in enumerate(datasets, start=1):
        for i, (name, runs) in enumerate(df[df["dataset"] == dataset].groupby(args.group, sort=True)):
            frames = [r.rename(columns={args.metric: "value"}) for _, r in runs.groupby("seed")]
            band = curve_band(frames)
            color = colors[i % len(colors)]
            fig.add_trace(go.Scatter(x=list(band["epoch"]) + list(band["epoch"])[::-1],
                                     y=list(band["mean"] + band["std"]) + list(band["mean"] - band["std"])[::-1],
                                     fill="toself", fillcolor=color, opacity=0.2, line={"width": 0},
                                     showlegend=False, hoverinfo="skip"), row=1, col=col)
            fig.add_trace(go.Scatter(x=band["epoch"], y=band["mean"], name=name, line={"color": color},
                                     showlegend=col == 1), row=1, col=col)
        fig.update_xaxes(title_text="epoch", row=1, col=col)
    fig.update_yaxes(title_text=args.metric.replace("_", " "), row=1, col=1)
    fig.update_layout(title=args.title, width=1000, height=420, template="plotly_white")
    fig.write_image(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
