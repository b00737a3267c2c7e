"""Monte Carlo sweep of the exact DAG kernel: MLPCellNet at width 2048–8192 against dag_kernel.

Prints, for every preset, the exact output kernel, the sum rule and the empirical kernel per width
(mean ± standard error over seeds, z-scores, per-network RMS error and its fitted 1/√m trend), then
timing ratios measured in this process: the exact curve against the sum-rule curve (what the editor
draws, 201 K0 values) and one empirical check against the exact value. Markdown, for
docs/benchmarks.md ("Exact DAG kernel").

    .venv/bin/python bench/nngp_mc.py [--widths 2048 4096 8192] [--seeds 8] [--k0 0.5] [--cells NAME ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from explorer.cell.presets import PRESETS, get_preset
from explorer.experiments.kernel_check import kernel_check, t_limit
from explorer.theory import nngp
from explorer.theory.dag_kernel import exact_kernel


def best_time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[2048, 4096, 8192])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--k0", type=float, default=0.5)
    ap.add_argument("--cells", nargs="+", default=[p.name for p in PRESETS])
    args = ap.parse_args()

    print(f"K0 = {args.k0}, widths {args.widths}, {args.seeds} seeds per width (seeds 0..{args.seeds - 1})\n")
    print("| cell | exact diag / off / λmin | sum rule diag / off / λmin | width | empirical diag ± SE | "
          "off ± SE | λmin ± SE | z diag, off | RMS error | slope | C (err ≈ C/√m) | time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    worst_z, slopes, logs = 0.0, [], []
    for name in args.cells:
        t = time.perf_counter()
        r = kernel_check(get_preset(name).cell, args.k0, args.widths, args.seeds)
        elapsed = time.perf_counter() - t
        if r.error_slope is not None:
            slopes.append(r.error_slope)
            x, y = np.log([w.width for w in r.widths]), np.log([w.rms_error for w in r.widths])
            logs.append((x - x.mean(), y - y.mean()))  # per-cell intercepts, one common slope
        for i, w in enumerate(r.widths):
            head = (
                (
                    f"{name} | {r.exact.diag:.3f} / {r.exact.off:.3f} / {r.exact.lambda_min:.3f} | "
                    f"{r.sum_rule.diag:.3f} / {r.sum_rule.off:.3f} / {r.sum_rule.lambda_min:.3f}"
                )
                if i == 0
                else " | | "
            )
            tail = (f"{r.error_slope:.2f} | {r.error_c:.2f} | {elapsed:.0f} s" if r.error_slope is not None
                    else "exact | – | " + f"{elapsed:.0f} s") if i == 0 else " | | "
            z = ", ".join("–" if v is None else f"{v:+.1f}" for v in (w.z_diag, w.z_off))
            worst_z = max([worst_z] + [abs(v) for v in (w.z_diag, w.z_off) if v is not None])
            print(f"| {head} | {w.width} | {w.diag:.3f} ± {w.diag_se:.3f} | {w.off:.3f} ± {w.off_se:.3f} | "
                  f"{w.lambda_min:.3f} ± {w.lambda_min_se:.3f} | {z} | {w.rms_error:.4f} | {tail} |", flush=True)
    x, y = np.concatenate([a for a, _ in logs]), np.concatenate([b for _, b in logs])
    pooled = float(x @ y / (x @ x))
    resid = y - pooled * x
    pooled_se = float(np.sqrt(resid @ resid / (len(x) - len(logs) - 1) / (x @ x)))
    print(f"\nlargest |z| = {worst_z:.2f} (t limit at {args.seeds} seeds: {t_limit(args.seeds):.2f}); "
          f"error slope pooled over cells {pooled:.2f} ± {pooled_se:.2f}, per cell median {np.median(slopes):.2f}, "
          f"range {min(slopes):.2f} … {max(slopes):.2f} (1/√m is −0.5)")

    grid = np.linspace(-1.0, 1.0, 201)
    cell = get_preset("DARTS-V2 normal cell").cell
    t_rule = best_time(lambda: nngp.sum_rule_kernel(cell, grid))
    t_exact = best_time(lambda: exact_kernel(cell, grid))
    t_mc = best_time(lambda: kernel_check(cell, args.k0, (args.widths[0],), 2), repeat=1)
    print(f"\ntiming (DARTS-V2 normal cell): exact curve / sum-rule curve over 201 K0 = {t_exact / t_rule:.1f}× "
          f"({t_exact * 1e3:.2f} ms vs {t_rule * 1e3:.2f} ms); "
          f"one empirical check (2 networks at width {args.widths[0]}) / exact curve = {t_mc / t_exact:.0f}×")


if __name__ == "__main__":
    main()
