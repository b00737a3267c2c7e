"""``explorer nas-filter`` (Chen et al.'s d̄/m̄ pre-filter on benchmark data) and ``explorer hypotheses``
(the principles lab: list, show, run, analyse and report pre-registered hypotheses)."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.core.settings import get_settings


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    from explorer.labs.search_sim import ABLATION_F, DEFAULT_CANDIDATES, DEFAULT_F, DEFAULT_REPEATS

    default_db = str(get_settings().warehouse_path)
    p = subparsers.add_parser(
        "nas-filter", help="Chen et al.'s d̄/m̄ box pre-filter: inside vs outside, and search simulations",
        description="Accuracy inside vs outside the space's d̄/m̄ box, then random and proxy-guided search "
                    "with and without the box (candidates outside are skipped before the proxy), repeated "
                    "with seeds; the ablation over the box factor f.")
    p.add_argument("--db", default=default_db, help=f"warehouse file (default {default_db})")
    p.add_argument("--space", default="nb201")
    p.add_argument(
        "--datasets", default="cifar10,cifar100,imagenet16", help="comma-separated (default: the three NB201 sets)"
    )
    p.add_argument("--proxy", default="naswot_v1", help="naswot_v1, a zero-cost proxy in the warehouse, or acc12 "
                   "(12-epoch validation accuracy)")
    p.add_argument("--f", type=float, default=DEFAULT_F, help=f"box factor for the inside/outside table and the main "
                   f"table (default {DEFAULT_F})")
    p.add_argument(
        "--ablation", type=_floats, default=ABLATION_F, help="box factors of the ablation (default 1,0.75,0.5,0.25)"
    )
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help=f"R (default {DEFAULT_REPEATS})")
    p.add_argument(
        "--candidates", type=int, default=DEFAULT_CANDIDATES, help=f"N per search (default {DEFAULT_CANDIDATES})"
    )
    p.add_argument("--seed", type=int, default=0)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the tables as JSON")
    out.add_argument("--csv", action="store_true", help="print the search table as CSV")
    p.set_defaults(handler=_nas_filter)

    _register_hypotheses(subparsers)


def _nas_filter(args: argparse.Namespace) -> int:
    from explorer.benchmarks.warehouse import Warehouse, to_json_records
    from explorer.labs.search_sim import (
        SimulationConfig,
        box_table,
        format_table,
        load_space,
        main_table,
        simulate,
    )

    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    fs = tuple(dict.fromkeys((*args.ablation, args.f)))
    config = SimulationConfig(repeats=args.repeats, candidates=args.candidates, fs=fs, seed=args.seed)
    wh = Warehouse(args.db)
    try:
        data = load_space(wh, args.space, datasets, args.proxy)
    finally:
        wh.close()
    boxes = box_table(data, args.f, seed=args.seed)
    result = simulate(data, config)
    if args.json:
        print(json.dumps({"box": result.box.to_dict(args.f) if result.box else None,
                          "config": {"repeats": config.repeats, "candidates": config.candidates, "fs": list(fs),
                                     "seed": config.seed, "proxy": args.proxy},
                          "inside_outside": to_json_records(boxes), "search": to_json_records(result.table)}, indent=2))
        return 0
    if args.csv:
        sys.stdout.write(result.table.to_csv(index=False))
        return 0
    box = result.box
    assert box is not None
    print(f"{args.space} box: d̄ {box.center_depth:.3f} ± {args.f:g}·{box.radius_depth:.3f}, "
          f"m̄ {box.center_width:.3f} ± {args.f:g}·{box.radius_width:.3f}")
    print("\nInside vs outside (200-epoch test accuracy):")
    cols = ["dataset", "n_cells", "share_inside", "mean_inside", "std_inside", "mean_outside", "std_outside",
            "test", "p_value", "mean_diff", "mean_diff_ci_low", "mean_diff_ci_high"]
    print(boxes[[c for c in cols if c in boxes.columns]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nSearch, R = {config.repeats} repeats of N = {config.candidates} candidates, seed {config.seed} "
          f"(f = {args.f:g}):")
    print(format_table(main_table(result, args.f)))
    print("\nAblation over f:")
    print(format_table(result.table))
    return 0


# --- hypotheses ----------------------------------------------------------------------------------


def _register_hypotheses(subparsers: argparse._SubParsersAction) -> None:
    h = subparsers.add_parser("hypotheses", help="the principles lab: pre-registered hypotheses, run and analysed")
    sub = h.add_subparsers(dest="hypotheses_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="every hypothesis (latest versions) with status and verdict")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_h_list)
    p = sub.add_parser("show", help="one hypothesis record")
    p.add_argument("key", help="e.g. H1")
    p.add_argument("--version", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_h_show)
    p = sub.add_parser("run", help="lock a hypothesis and queue its jobs (warehouse and probe ones are analysed at "
                                   "once); refused when its design cannot reach α")
    p.add_argument("key")
    p.add_argument("--undecidable-ok", action="store_true", help="run a design that cannot reach α anyway (a pilot: "
                   "its verdict reads 'cannot be decided')")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_h_run)
    p = sub.add_parser("analyse", help="analyse a run whose jobs have finished")
    p.add_argument("key")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_h_analyse)
    p = sub.add_parser("refresh", help="analyse every run whose jobs have all finished (the Hessian metric queues "
                                       "its follow-up jobs first, as the runner's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_h_refresh)
    p = sub.add_parser("report", help="write the Markdown or HTML report of an analysed hypothesis (with the "
                                      "family-wise correction across all analysed ones); --all: the family table")
    p.add_argument("key", nargs="?", help="e.g. H1 (omit with --all)")
    p.add_argument("--all", action="store_true", help="every analysed hypothesis, Holm-corrected together")
    p.add_argument("--format", choices=["md", "html", "png"], default="md",
                   help="png: the result figure alone (plotly + kaleido, which needs Chromium; give --out)")
    p.add_argument("--out", default="-", help="file to write (default: stdout)")
    p.set_defaults(handler=_h_report)


def _lab():
    from explorer.jobs.queue import open_store
    from explorer.labs.lab import Lab

    return Lab(open_store())


def _h_list(args: argparse.Namespace) -> int:
    lab = _lab()
    rows = [r.summary() for r in lab.latest()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['key']:>4} v{r['version']}  {r['status']:<9} {r['verdict'] or '':<13} {r['statement']}")
    return 0


def _h_show(args: argparse.Namespace) -> int:
    record = _lab().get(args.key, args.version)
    print(json.dumps(record.to_dict(), indent=2) if args.json else record.describe())
    return 0


def _h_run(args: argparse.Namespace) -> int:
    record = _lab().run(args.key, undecidable_ok=args.undecidable_ok)
    if args.json:
        print(json.dumps(record.to_dict(), indent=2))
    else:
        print(f"{record.key} v{record.version}: {record.status}"
              + (f", queued jobs {record.job_ids}" if record.job_ids else "")
              + (f", verdict {record.verdict}" if record.verdict else ""))
    return 0


def _h_analyse(args: argparse.Namespace) -> int:
    record = _lab().analyse(args.key)
    print(json.dumps(record.to_dict(), indent=2) if args.json else f"{record.key} v{record.version}: {record.verdict}")
    return 0


def _h_refresh(args: argparse.Namespace) -> int:
    lab = _lab()
    before = {h.key: (h.version, h.status, len(h.job_ids)) for h in lab.latest()}
    changed = [h for h in lab.refresh() if before.get(h.key) != (h.version, h.status, len(h.job_ids))]
    if args.json:
        print(json.dumps([h.summary() for h in changed], indent=2))
    else:
        for h in changed:
            print(f"{h.key} v{h.version}: {h.status}" + (f", verdict {h.verdict}" if h.verdict else "")
                  + (f", {len(h.job_ids) - before[h.key][2]} follow-up jobs queued" if h.status == "running" else ""))
        if not changed:
            print("nothing to analyse: no run has all its jobs finished")
    return 0


def _h_report(args: argparse.Namespace) -> int:
    from explorer.core.errors import UserError
    from explorer.labs.reports import family_markdown, report_html, report_markdown, result_figure

    lab = _lab()
    if args.format == "png":
        if args.all or not args.key or args.out == "-":
            raise UserError("--format png writes one hypothesis' figure to a file: give its key and --out FILE.png")
        fig = result_figure(lab.get(args.key))
        if fig is None:
            raise UserError(f"{args.key} has no result to plot yet (run and analyse it first)")
        fig.update_layout(width=900, height=450)
        fig.write_image(args.out)
        return 0
    if args.all:
        text = family_markdown(lab.family())
    elif not args.key:
        raise UserError("give a hypothesis key, or --all")
    else:
        record = lab.get(args.key)
        text = report_markdown(record, lab.family()) if args.format == "md" else report_html(record)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0
