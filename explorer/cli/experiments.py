"""``explorer export-onnx`` and ``explorer experiment``: realised networks and experiments from the shell."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.core.errors import UserError
from explorer.core.specs import validate_model

if TYPE_CHECKING:
    from explorer.nets.spec import NetworkSpec

# torch-backed modules are imported inside the handlers: every `explorer …` call builds this
# parser, and importing torch here would add seconds to `explorer metrics`.

MAX_CELL_FILE_BYTES = 1_000_000


def _cell_text(value: str) -> str:
    """The cell argument: text in any cell format, or a file holding it."""
    path = Path(value)
    if len(value) < 4096 and "\n" not in value and not value.lstrip().startswith(("|", "{", "Genotype")):
        if not path.is_file():
            raise UserError(f"{value}: no such file (give a cell text or a file holding one)")
        if path.stat().st_size > MAX_CELL_FILE_BYTES:
            raise UserError(f"{path}: file too large for a cell (> {MAX_CELL_FILE_BYTES} bytes)")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: cannot read the cell: {exc}") from None
    return value


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes like 3,32,32, got {text!r}") from None
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return shape


def add_network_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cell", required=True, metavar="TEXT_OR_FILE",
                   help="NB201 string, DARTS genotype (text or JSON) or cell JSON, or a file holding one")
    p.add_argument("--network", choices=("mlp", "nb201", "darts"), help="network kind (default: the cell's own)")
    p.add_argument("--width", type=int, default=256, help="MLP width m (default 256)")
    p.add_argument("--channels", type=int, default=16, help="C of the NB201/DARTS network (default 16)")
    p.add_argument("--cells-per-stage", type=int, default=5, help="N of the NB201 network (default 5)")
    p.add_argument("--layers", type=int, default=8, help="cells of the DARTS network (default 8)")


def network_spec_from_args(args: argparse.Namespace) -> NetworkSpec:
    from explorer.nets.spec import NetworkSpec

    return validate_model(NetworkSpec, {
        "cell": _cell_text(args.cell), "network": args.network, "width": args.width, "channels": args.channels,
        "cells_per_stage": args.cells_per_stage, "layers": args.layers,
    }, "network")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-onnx", help="export a cell's realised network to ONNX (opens in Netron)",
                       description="Build the network a cell defines and write it as an ONNX file.")
    add_network_arguments(p)
    p.add_argument("--input-shape", type=_shape, default=(3, 32, 32), metavar="C,H,W",
                   help="one sample's shape (default 3,32,32; an MLP flattens it)")
    p.add_argument("--classes", type=int, default=10, help="output classes (default 10)")
    p.add_argument("--weights", metavar="FILE.safetensors", help="load trained weights (e.g. a train job's model)")
    p.add_argument("--out", required=True, metavar="FILE.onnx")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_export_onnx)


def _export_onnx(args: argparse.Namespace) -> int:
    from explorer.nets import parameter_count
    from explorer.nets.onnx import export_onnx
    from explorer.nets.weights import load_weights

    spec = network_spec_from_args(args)
    if args.classes < 1:
        raise UserError(f"--classes must be ≥ 1, got {args.classes}")
    out = Path(args.out)
    if out.suffix != ".onnx":
        raise UserError(f"--out must end in .onnx, got {out.name!r}")
    model = spec.build(args.input_shape, args.classes)
    if args.weights:
        weights = Path(args.weights)
        if not weights.is_file():
            raise UserError(f"{weights}: no such file")
        load_weights(model, weights.read_bytes(), what=str(weights))
    data = export_onnx(model, args.input_shape, out)
    summary = {"out": str(out), "bytes": len(data), "network": spec.kind(), "parameters": parameter_count(model),
               "input_shape": list(args.input_shape)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {out} ({len(data):,} bytes): {spec.kind()} network, {summary['parameters']:,} parameters")
    return 0
