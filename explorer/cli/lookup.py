"""``explorer lookup``: what the benchmark warehouse knows about one cell (the editor's evidence panel)."""

from __future__ import annotations

import argparse
import json

from explorer.benchmarks.evidence import NB201_DATASETS, Evidence, lookup
from explorer.benchmarks.warehouse import Warehouse
from explorer.cli.core import add_cell_arguments, cell_from_args
from explorer.core.settings import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    default_db = str(get_settings().warehouse_path)
    p = sub.add_parser("lookup", help="a cell's benchmark results, ranks, one-edit map and connectivity neighbours",
                       description="What the warehouse knows about one cell: its results (NB201 up to NATS-Bench "
                                   "equivalence, or an NDS space holding its genotype) with ranks, proxies and "
                                   "hardware; for NB201 the accuracy of every one-edit neighbour and the best "
                                   "cells 1 and 2 edits away; for a cell in no loaded data, the accuracies of "
                                   "cells with the same or nearest (d̄, m̄) (not a prediction of this cell).")
    add_cell_arguments(p)
    p.add_argument("--db", default=default_db, help=f"warehouse file (default {default_db})")
    p.add_argument("--top", type=int, default=5, help="best cells listed per edit distance (default 5)")
    p.add_argument("--json", action="store_true", help="print the cell JSON with an 'evidence' member "
                   "(the editor's 'Cell + benchmark evidence' download)")
    p.set_defaults(handler=_lookup)


def _lookup(args: argparse.Namespace) -> int:
    cell = cell_from_args(args)
    wh = Warehouse(args.db)
    try:
        ev = lookup(wh, cell, k=max(1, args.top))
    finally:
        wh.close()
    if args.json:
        print(json.dumps({**cell.to_json(), "evidence": ev.to_dict()}))
        return 0
    _print(ev)
    return 0


def _print(ev: Evidence) -> None:
    for mt in ev.matches:
        extra = f", {len(mt.equivalent)} other cell(s) equivalent" if mt.unique_str is not None else ""
        print(f"{mt.space} #{mt.arch_id} ({mt.how} match{extra})")
        if mt.params_m is not None:
            print(f"  params {mt.params_m:.4f} M" + (f", {mt.flops_m:.2f} MFLOPs" if mt.flops_m is not None else ""))
        for r in mt.results:
            print(f"  {r.dataset:<13} {r.schedule:<13} {r.seeds:<6} test {r.test_acc:6.2f}  rank {r.rank:>6,} / "
                  f"{r.n:,} (better than {r.percentile:5.1f}%)  same d̄ m̄: {r.group_rank:,} / {r.group_n:,}")
        for ds, vals in mt.hardware.items():
            print(f"  hardware {ds}: " + ", ".join(f"{k} {v:.3g}" for k, v in vals.items()))
        for ds, vals in mt.proxies.items():
            print(f"  proxies {ds}: " + ", ".join(f"{k} {v:.4g}" for k, v in vals.items()))
    for ds in NB201_DATASETS:
        near = [n for n in ev.nearby if n.dataset == ds]
        if near:
            print(f"best nearby on {ds}:")
            for n in near:
                print(f"  {n.distance} edit(s)  {n.test_acc:6.2f}  {'; '.join(n.edits)}")
    if ev.connectivity:
        print("not in the loaded benchmarks; cells with this connectivity (not a prediction of this cell):")
        for g in ev.connectivity:
            s = g.summary()
            print(
                f"  {g.space} {g.dataset} {g.schedule} at (d̄, m̄) = ({g.effective_depth:.3g}, {g.effective_width:.3g})"
                f"{'' if g.distance < 1e-9 else f' (nearest, distance {g.distance:.3g})'}: n {s['n']}, "
                f"mean {s['mean']:.2f} ± {s['std']:.2f}, median {s['median']:.2f}, range {s['min']:.2f}–{s['max']:.2f}"
            )
    for note in ev.notes:
        print(f"note: {note}")
