"""``explorer metrics`` and ``explorer space``: the core connectivity metrics from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from explorer.cell.model import Cell
from explorer.cell.spaces import ENUMERABLE
from explorer.core.errors import CellError, UserError
from explorer.theory.metrics import metrics
from explorer.theory.spaces import space_summary, space_table

MAX_FILE_BYTES = 5_000_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics", help="connectivity metrics and NNGP values of one cell",
                       description="Print P, d̄, m̄, Shu width/depth and the NNGP values of one cell.")
    add_cell_arguments(p)
    p.add_argument("--k0", type=float, default=0.5, help="input correlation K0 for the NNGP values (default 0.5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_metrics)

    s = sub.add_parser("space", help="a whole search space: per-cell table or the d̄/m̄ box",
                       description="Enumerate a search space with all metrics, or print its d̄/m̄ box and distribution.")
    s.add_argument("space", choices=ENUMERABLE)
    s.add_argument("--out", metavar="FILE", help="write the table (.csv or .parquet)")
    s.add_argument("--box", action="store_true", help="print the space's d̄/m̄ box and distribution summary")
    s.add_argument(
        "--f", type=float, default=0.5, help="box radius factor for the share inside (default ½, as in the paper)"
    )
    s.add_argument("--k0", type=float, default=0.5)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=_space)


def add_cell_arguments(p: argparse.ArgumentParser) -> None:
    """The ways a command takes one cell (read back with ``cell_from_args``)."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--nb201", metavar="ARCH", help="NAS-Bench-201 arch string |op~0|+|op~0|op~1|+|...|")
    src.add_argument(
        "--genotype", metavar="TEXT_OR_FILE", help="DARTS Genotype(...) text or NDS JSON dict, or a file holding it"
    )
    src.add_argument("--cell-json", metavar="FILE", help="a cell in the general JSON form ('-' for stdin)")
    p.add_argument("--cell", choices=("normal", "reduce"), default="normal", help="which cell of a genotype")


def _read(path_or_text: str, *, what: str, must_be_file: bool = False) -> str:
    if path_or_text == "-":
        return sys.stdin.read(MAX_FILE_BYTES + 1)
    path = Path(path_or_text)
    looks_like_path = must_be_file or (len(path_or_text) < 4096 and "\n" not in path_or_text and _is_file(path))
    if not looks_like_path:
        return path_or_text
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path}: file too large for a {what} (> {MAX_FILE_BYTES} bytes)")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read {what}: {exc}") from None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. genotype text longer than a file name may be (ENAMETOOLONG)
        return False


def cell_from_args(args: argparse.Namespace) -> Cell:
    if args.nb201 is not None:
        return Cell.from_nb201(args.nb201)
    if args.genotype is not None:
        return Cell.from_genotype(_read(args.genotype, what="genotype").strip(), args.cell)
    return Cell.from_json(_read(args.cell_json, what="cell JSON", must_be_file=True))


def _fmt(x: float | None, digits: int = 4) -> str:
    return "undefined" if x is None else f"{x:.{digits}f}"


def _metrics(args: argparse.Namespace) -> int:
    if not -1.0 <= args.k0 <= 1.0:
        raise UserError(f"--k0 must be in [-1, 1], got {args.k0}")
    cell = cell_from_args(args)
    m = metrics(cell, args.k0)
    if args.json:
        print(json.dumps(m.to_dict()))
        return 0
    depths = ", ".join(map(str, m.path_depths[:40])) + (
        " …" if len(m.path_depths) > 40 or m.path_depths_truncated else ""
    )
    rows = [
        ("cell kind", cell.kind),
        ("paths P", str(m.paths)),
        ("path depths d_p", depths or "(none)"),
        ("effective depth d̄", _fmt(m.effective_depth)),
        ("effective width m̄", _fmt(m.effective_width)),
        ("cell width (Shu)", f"{m.cell_width:g}c"),
        ("cell depth (Shu)", str(m.cell_depth) if m.cell_depth is not None else "undefined (no path)"),
        ("parameterized ops", str(m.n_parameterized_ops)),
        (f"NNGP Eq. 12 at K0={m.k0:g}", _fmt(m.nngp_eq12)),
        (f"NNGP λmin (sum rule) at K0={m.k0:g}", _fmt(m.nngp_lambda_min)),
    ]
    extra = {
        k: v for k, v in m.to_dict().items() if k.startswith("nngp_") and k not in ("nngp_eq12", "nngp_lambda_min")
    }
    rows += [(f"{k} at K0={m.k0:g}", _fmt(v)) for k, v in extra.items()]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if m.undefined_reason:
        print(f"note: d̄ and m̄ are {m.undefined_reason}")
    for w in m.warnings:
        print(f"warning: {w}")
    return 0


def _space(args: argparse.Namespace) -> int:
    if not args.out and not args.box:
        raise UserError("say what to produce: --out FILE.(csv|parquet) and/or --box")
    if args.out:
        out = Path(args.out)
        if out.suffix not in (".csv", ".parquet"):
            raise UserError(f"--out must end in .csv or .parquet, got {out.name!r}")
        table = space_table(args.space, k0=args.k0, progress=not args.json)
        if "path_depths" in table:
            # Lists as JSON text in CSV; Parquet keeps them as lists.
            if out.suffix == ".csv":
                table["path_depths"] = table["path_depths"].map(json.dumps)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        if out.suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
        tmp.replace(out)  # never leave a half-written table behind
        if not args.json:
            print(f"wrote {len(table):,} rows to {out}", file=sys.stderr)
    if args.box:
        summary = space_summary(args.space, f=args.f)
        if args.json:
            print(json.dumps(summary))
        else:
            _print_summary(summary)
    elif args.json:
        print(json.dumps({"space": args.space, "out": str(args.out)}))
    return 0


def _print_summary(s: dict) -> None:
    b = s["box"]
    print(f"{s['description']}")
    print(f"cells: {s['cells']:,} ({s['wirings']:,} wirings, {s['class_rows']:,} op-class rows)")
    print(f"d̄/m̄ undefined: {s['undefined_cells']:,} cells ({s['no_path_cells']:,} with no input→output path)")
    print(f"box centre (d̄, m̄) = ({b['center_depth']:.3f}, {b['center_width']:.3f}), "
          f"radius ({b['radius_depth']:.3f}, {b['radius_width']:.3f})")
    print(f"filter at f = {b['f']:g}: centre ± ({b['half_radius_depth']:.3f}, {b['half_radius_width']:.3f}) "
          f"keeps {s['cells_in_box']:,} cells ({100 * s['share_in_box']:.1f}%)")
    for key, label in (("effective_depth", "d̄"), ("effective_width", "m̄")):
        d = s[key]
        q = d["quantiles"]
        print(f"{label}: mean {d['mean']:.3f} ± {d['std']:.3f}; min {q['0.0']:.3f}, 5% {q['0.05']:.3f}, "
              f"median {q['0.5']:.3f}, 95% {q['0.95']:.3f}, max {q['1.0']:.3f}")


__all__ = ["register", "CellError"]
