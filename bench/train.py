"""Training throughput: our ``train`` loop against a bare PyTorch loop on the same model and data.

Both build the same network from the same seed, hold the data on the device, shuffle with a
seeded permutation and take SGD steps on the cross-entropy. The bare loop does nothing else; ours
also accumulates loss and accuracy on the device, reports every ``log_every`` steps to a context
and evaluates the test split each epoch, as the ``train`` job does. Interleaved rounds, best of
``--repeat``; prints samples per second and the ratio (aim ≥ 0.95).

    .venv/bin/python -m bench.train [--width 1024] [--epochs 5] [--batch-size 128] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from explorer.cell.presets import get_preset
from explorer.experiments.datasets import load_dataset
from explorer.experiments.train import TrainSpec, build_model, train
from explorer.jobs.local_context import LocalContext


def bare_loop(spec: TrainSpec, data, device: torch.device) -> None:
    model = build_model(spec, data).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    generator = torch.Generator().manual_seed(spec.seed)
    model.train()
    for _ in range(spec.epochs):
        for idx in torch.randperm(len(data.y_train), generator=generator).to(device).split(spec.batch_size):
            loss = torch.nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    spec = TrainSpec.model_validate({
        "network": {"cell": get_preset("DAG#3 (mixed)").cell.to_text(), "width": args.width},
        "data": {"name": args.dataset}, "epochs": args.epochs, "batch_size": args.batch_size, "device": args.device,
    })
    data = load_dataset(spec.data).to(device)
    samples = len(data.y_train) * args.epochs
    best = {"bare": float("inf"), "ours": float("inf")}
    for _ in range(args.repeat):
        start = time.perf_counter()
        bare_loop(spec, data, device)
        best["bare"] = min(best["bare"], time.perf_counter() - start)
        start = time.perf_counter()
        train(spec, LocalContext(device=args.device), data=data)
        best["ours"] = min(best["ours"], time.perf_counter() - start)
    print(f"{device}, {torch.get_num_threads()} threads; MLP-cell DAG#3 width {args.width} on {args.dataset}, "
          f"batch {args.batch_size}, {args.epochs} epochs ({samples} samples)\n")
    print("| loop | time (s) | samples/s | throughput vs bare |")
    print("|---|---|---|---|")
    for name in ("bare", "ours"):
        print(f"| {name} | {best[name]:.3f} | {samples / best[name]:,.0f} | {best['bare'] / best[name]:.3f} |")


if __name__ == "__main__":
    main()
