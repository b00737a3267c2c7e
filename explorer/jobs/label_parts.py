"""The pieces job labels are made of: a cell's title, a train run's title, the label makers kinds
use (``cell_job_title``, ``analysis_title``). ``labels`` dispatches to each kind's label maker.

A cell is called by the name it was given (a ``name`` in the job spec, set at submission), else by
its preset's name, else by its kind and path statistics (P, d̄, m̄), so old jobs get labels too. Each
job kind owns its label (``JobKind.label``); ``job_title`` only dispatches, so the queue, the worker
and the pages stay generic.

NAS-Bench-201's ``arch_index`` is the order of the benchmark's own files, not a function of the arch
string (checked against the NB201 tables: no digit order over edges and ops reproduces it), so NB201
cells are named by preset or statistics here, never by a guessed index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from explorer.cell.model import Cell, parse_cell
from explorer.cell.naming import preset_name, short_name
from explorer.core.errors import CellError

MAX_TEXT = 40  # characters of a cell text shown when it cannot be parsed
KIND_NAMES = {"dag": "DAG", "nb201": "NB201", "darts": "DARTS"}


class JobLike(Protocol):
    id: int
    kind: str
    spec: dict[str, Any]
    created_at: datetime


# A job id → that job's label, or None when it cannot be seen (deleted, someone else's).
Lookup = Callable[[int], "str | None"]


def path_stats(cell: Cell) -> str:
    """'P 5 · d̄ 2.20 · m̄ 1.82' (or why d̄/m̄ are undefined, briefly)."""
    from explorer.theory.paths import effective_depth_width, path_histogram

    hist = path_histogram(cell)
    dw = effective_depth_width(hist)
    if dw.effective_depth is None or dw.effective_width is None:
        return f"P {sum(hist)} · d̄/m̄ undefined"
    return f"P {sum(hist)} · d̄ {_stat(dw.effective_depth)} · m̄ {_stat(dw.effective_width)}"


def _stat(x: float) -> str:
    # A 32-layer residual chain has 2³² paths and m̄ ≈ 2.7e8: two decimals would print all nine digits.
    return f"{x:.2f}" if abs(x) < 1e4 else f"{x:.3g}"


@lru_cache(maxsize=4096)
def cell_title(text: str, name: str | None = None) -> str:
    """What a label calls the cell in ``text`` (any cell format, a DARTS genotype included): the
    given name, else the preset's short name, else its kind and path statistics."""
    if name and name.strip():
        return name.strip()
    try:
        cell = parse_cell(text)  # a DARTS genotype gives its normal cell, which names it
    except (CellError, ValueError):
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    known = preset_name(cell)
    if known is not None:
        return short_name(known)
    return f"{KIND_NAMES.get(cell.kind, cell.kind)} cell ({path_stats(cell)})"


def find_cell(spec: Mapping[str, Any]) -> str | None:
    """The cell text a spec is about, wherever it keeps it (top level or one level down)."""
    if isinstance(spec.get("cell"), str):
        return spec["cell"]
    for value in spec.values():
        if isinstance(value, Mapping) and isinstance(value.get("cell"), str):
            return value["cell"]
    return None


# --- job labels ---------------------------------------------------------------------------------------


def _network_size(network: Mapping[str, Any]) -> str:
    from explorer.nets.spec import NetworkSpec

    defaults = {k: f.default for k, f in NetworkSpec.model_fields.items()}

    def get(key: str) -> Any:
        return network.get(key, defaults.get(key))

    kind = network.get("network")
    if kind is None:
        try:
            kind = NetworkSpec.model_validate(dict(network)).kind()
        except ValueError:
            kind = None
    if kind == "mlp":
        scale = get("mlp_branch_scale")
        return f"width {get('width')}" + (f" · branches ×{scale:.3g}" if scale not in (None, 1.0) else "")
    if kind == "nb201":
        return f"NB201 C{get('channels')} N{get('cells_per_stage')}"
    if kind == "darts":
        return f"DARTS C{get('channels')} {get('layers')} cells"
    return ""


def train_title(spec: Mapping[str, Any], *, seed: bool = True) -> str:
    """'DAG#3 · width 256 · digits · seed 1': the cell's name, the network's size, the data set and
    (unless ``seed`` is False: runs pooled over seeds) the seed."""
    network = spec.get("network") or {}
    data = spec.get("data") or {}
    parts = [cell_title(str(network.get("cell", "")), spec.get("name")), _network_size(network),
             str(data.get("name") or "")]
    if seed:
        parts.append(f"seed {spec.get('seed', 0)}")
    return " · ".join(p for p in parts if p)


def cell_job_title(what: str) -> Callable[[Mapping[str, Any], Lookup], str]:
    """The label maker of a kind about one cell: '<what> · <cell> · <data set>'."""

    def label(spec: Mapping[str, Any], lookup: Lookup) -> str:
        text = find_cell(spec)
        data = spec.get("data") if isinstance(spec.get("data"), Mapping) else {}
        parts = [what, cell_title(text, spec.get("name")) if text else "", str(data.get("name") or "")]
        return " · ".join(p for p in parts if p)

    return label


def analysis_title(what: str) -> Callable[[Mapping[str, Any], Lookup], str]:
    """The label maker of a kind that analyses a train job: '<what> of #12 DAG#3 · width 256 · …'."""

    def label(spec: Mapping[str, Any], lookup: Lookup) -> str:
        ref = spec.get("train_job")
        if not isinstance(ref, int):
            return what
        return f"{what} of " + (lookup(ref) or f"#{ref}")

    return label


