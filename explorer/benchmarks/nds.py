"""NDS (Radosavovic et al., "On Network Design Spaces for Visual Recognition", 2019) result files.

The release is one JSON file per design space (``explorer.benchmarks.nds_sources`` finds them in
``data.zip``, folders, ``.json`` and ``.json.gz``). A file holds a list of entries, or
``{"top": [...], "mid": [...]}`` (the ``*_reruns`` files). Each entry is one trained network, read as
NNI's ``nni/nas/benchmark/nds/db_gen.py`` and nas-without-training's ``nasspace.py`` read it:

- ``net``: cell spaces: ``genotype`` = ``{"normal": [[op, input], ...], "normal_concat": [...],
  "reduce": ..., "reduce_concat": ...}``, ``width``, ``depth``, ``aux``, ``drop_prob``; the
  ResNet / ResNeXt / Vanilla spaces: ``block_type`` (``res_basic_block``, ``res_bottleneck_block``,
  ``double_plain_block``), ``ds`` (blocks per stage), ``ws`` (widths), ``ss`` (strides) and, for
  ResNeXt, ``bot_muls``, ``num_gs``;
- ``optim``: ``base_lr``, ``wd``, ``max_ep``, ...; ``params``, ``flops`` (counts), ``rng_seed``;
- ``min_test_top1``, the per-epoch lists ``train_ep_loss``, ``train_ep_top1``, ``test_ep_top1``
  (top-1 **error** in %), ``iter_time``, ``prec_time``.

Diverged runs are data: a loss (or error) that is NaN, ±Infinity or null is kept as missing (NNI:
"could be NaN"), never dropped or replaced. A ``concat`` list may name an input node (0 or 1): pycls
concatenates whichever states the list names, so the input joins the output directly.

``read_nds`` checks a whole file, one entry at a time (``nds_json``), and adds every problem (wrong
type, unknown op, ...) to a ``Problems`` collector with its location; what is only unusual (curves shorter than
``optim.max_ep``) is counted in ``NDSFile.warnings``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from explorer.benchmarks.nds_json import GROUPS, FormatError, iter_entries
from explorer.benchmarks.nds_sources import NDSSource, dataset_of, nds_sources
from explorer.benchmarks.problems import Problems
from explorer.cell.model import Cell, Edge, Genotype
from explorer.core.errors import CellError
from explorer.theory.network import BLOCK_BODY

CURVES = ("train_ep_loss", "train_ep_top1", "test_ep_top1")
MAX_WARNINGS = 5  # example locations kept per kind of warning


@dataclass(frozen=True)
class ResNetSpec:
    """The ``net`` of a ResNet / ResNeXt / Vanilla entry (pycls AnyNet)."""

    block_type: str
    depths: tuple[int, ...]  # ds: blocks per stage
    widths: tuple[int, ...]  # ws
    strides: tuple[int, ...]  # ss
    bottleneck_multipliers: tuple[float, ...] | None  # bot_muls
    groups: tuple[int, ...] | None  # num_gs
    stem_width: int | None  # stem_w, when the entry names it

    @property
    def family(self) -> str:
        """NNI's model_family."""
        return {"res_bottleneck_block": "residual_bottleneck", "res_basic_block": "residual_basic"}.get(
            self.block_type, "vanilla")


@dataclass(frozen=True)
class NDSRun:
    """One trained network of an NDS file (errors in %, as the file has them; NaN = missing)."""

    space: str
    dataset: str  # 'cifar10', or 'imagenet' for the '_in' files
    position: int  # index of the entry in the file (after 'top' then 'mid' for split files)
    group: str | None  # 'top' / 'mid' for split files
    genotype: Genotype | None  # cell spaces
    genotype_json: dict[str, Any] | None
    resnet: ResNetSpec | None  # ResNet / ResNeXt / Vanilla spaces
    net_json: dict[str, Any]  # the entry's ``net`` without the genotype, as given
    width: int | None
    depth: int | None
    aux: bool | None
    drop_prob: float | None
    base_lr: float | None
    weight_decay: float | None
    max_epochs: int
    params: float
    flops: float
    rng_seed: int | None
    min_test_error: float | None  # min_test_top1; None when missing or NaN
    iter_time: float | None
    prec_time: float | None
    train_loss: NDArray[np.float64]  # per epoch, NaN where the file has NaN / null
    train_error: NDArray[np.float64]
    test_error: NDArray[np.float64]

    @property
    def test_accuracy(self) -> float | None:
        """100 − min_test_top1: the best-epoch test accuracy, the number NDS reports."""
        return None if self.min_test_error is None else 100.0 - self.min_test_error

    @property
    def final_test_error(self) -> float | None:
        """The last epoch's test error (nas-without-training's accuracy is 100 − this)."""
        return _last(self.test_error)

    @property
    def final_train_loss(self) -> float | None:
        return _last(self.train_loss)

    @property
    def diverged(self) -> bool:
        """A training loss that is NaN / infinite / null at some epoch."""
        return bool(len(self.train_loss)) and not bool(np.isfinite(self.train_loss).all())

    @property
    def incomplete(self) -> bool:
        """Curves shorter than optim.max_ep, or no min_test_top1."""
        return self.min_test_error is None or min(len(self.train_loss), len(self.train_error),
                                                  len(self.test_error)) < self.max_epochs


@dataclass
class NDSFile:
    source: NDSSource
    runs: list[NDSRun]
    warnings: dict[str, list[str]] = field(default_factory=dict)  # kind → example locations
    warning_counts: dict[str, int] = field(default_factory=dict)

    def warn(self, kind: str, where: str) -> None:
        self.warning_counts[kind] = self.warning_counts.get(kind, 0) + 1
        examples = self.warnings.setdefault(kind, [])
        if len(examples) < MAX_WARNINGS:
            examples.append(where)


def _last(values: NDArray[np.float64]) -> float | None:
    return float(values[-1]) if len(values) and math.isfinite(values[-1]) else None


def read_nds(source: NDSSource, problems: Problems, tick: Callable[[int], object] = lambda n: None) -> NDSFile:
    """Read and check one file; every problem goes to ``problems`` (the runs of bad entries are left out)."""
    out = NDSFile(source, [])
    label = source.label
    try:
        text = source.read().decode("utf-8")  # the bytes go at once: only the text stays
    except UnicodeDecodeError as exc:
        problems.add(label, f"not UTF-8 JSON ({exc.reason} at byte {exc.start}); a .gz or .zip file must keep "
                     "its suffix")
        return out
    dataset = dataset_of(source.space)
    counters = dict.fromkeys(GROUPS, 0)
    i = 0
    try:
        for group, entry in iter_entries(text):
            at = f"{label}: entry {i}"
            if group is not None:
                at += f" ({group}[{counters[group]}])"
                counters[group] += 1
            run = _run(at, source.space, dataset, i, group, entry, problems)
            if run is not None:
                out.runs.append(run)
                if not all(len(c) == run.max_epochs for c in (run.train_loss, run.train_error, run.test_error)):
                    out.warn("curve length differs from optim.max_ep", at)
            i += 1
            tick(1)
    except json.JSONDecodeError as exc:
        problems.add(label, f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    except RecursionError:
        problems.add(label, "malformed JSON: nested too deeply")
    except FormatError as exc:
        problems.add(label, str(exc))
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        problems.add(label, f"malformed JSON: {exc}")
    else:
        if i == 0:
            problems.add(label, "no entries")
    return out


class _Entry:
    """Checks one entry's fields, adding each problem with its location."""

    def __init__(self, where: str, problems: Problems) -> None:
        self.where, self.problems, self.ok = where, problems, True

    def fail(self, msg: str) -> None:
        self.ok = False
        self.problems.add(self.where, msg)

    def number(self, value: Any, key: str, *, optional: bool = False, nan_ok: bool = False) -> float | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{key} must be a number, got {value!r}")
            return None
        v = float(value)
        if not math.isfinite(v):
            if nan_ok:
                return None
            self.fail(f"{key} must be a finite number, got {value!r}")
            return None
        return v

    def integer(self, value: Any, key: str, *, optional: bool = True, positive: bool = False) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0):
            self.fail(f"{key} must be a{' positive' if positive else 'n'} integer, got {value!r}")
            return None
        return value

    def series(self, value: Any, key: str) -> NDArray[np.float64]:
        """Per-epoch numbers; NaN, ±Infinity and null are kept as NaN (a diverged run)."""
        if value is None:
            return np.empty(0)
        if not isinstance(value, list):
            self.fail(f"{key} must be a list of numbers")
            return np.empty(0)
        if all(type(v) is float or type(v) is int for v in value):  # the common case, fast
            return np.asarray(value, dtype=np.float64)
        out = np.empty(len(value))
        for k, v in enumerate(value):
            if v is None:
                out[k] = math.nan
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                self.fail(f"{key}[{k}] must be a number (or NaN / null), got {v!r}")
                return np.empty(0)
            else:
                out[k] = v
        return out

    def int_list(self, value: Any, key: str, *, optional: bool = False) -> tuple[int, ...] | None:
        if value is None and optional:
            return None
        if (not isinstance(value, list) or not value
                or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in value)):
            self.fail(f"{key} must be a non-empty list of positive integers, got {value!r}")
            return None
        return tuple(value)


def genotype_cell(pairs: Any, concat: Any, where: str) -> Cell:
    """A DARTS-style cell whose concat list may name input nodes too (pycls concatenates any state).

    ``Cell.from_genotype_pairs`` checks the pairs; the output's concat edges are then the ones named."""
    if isinstance(concat, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in concat) \
            and any(c in (0, 1) for c in concat):
        n_mid = len(pairs) // 2 if isinstance(pairs, list) else 0
        base = Cell.from_genotype_pairs(pairs, list(range(2, 2 + n_mid)) or [2], where=where)
        out = base.n_nodes - 1
        bad = [c for c in concat if not 0 <= c < out]
        if bad or len(set(concat)) != len(concat):
            raise CellError(f"concat must name distinct nodes 0..{out - 1}, got {concat}", where=f"{where}_concat")
        body = tuple(e for e in base.edges if e.op != "concat")
        return Cell(base.roles, body + tuple(Edge(c, out, "concat") for c in concat))
    return Cell.from_genotype_pairs(pairs, concat, where=where)


def _genotype(geno: Any, e: _Entry) -> Genotype | None:
    if not isinstance(geno, Mapping):
        e.fail("net.genotype must be an object")
        return None
    cells = {}
    for name in ("normal", "reduce"):
        if name not in geno or f"{name}_concat" not in geno:
            e.fail(f"net.genotype: missing '{name}' or '{name}_concat'")
            return None
        try:
            cells[name] = genotype_cell(geno[name], geno[f"{name}_concat"], name)
        except CellError as exc:
            e.fail(f"net.genotype: {exc}")
            return None
    return Genotype(normal=cells["normal"], reduce=cells["reduce"])


def _resnet(net: Mapping[str, Any], e: _Entry) -> ResNetSpec | None:
    block = net.get("block_type")
    if block not in BLOCK_BODY:
        e.fail(f"net.block_type must be one of {', '.join(BLOCK_BODY)}, got {block!r}")
        return None
    ds, ws, ss = (e.int_list(net.get(k), f"net.{k}") for k in ("ds", "ws", "ss"))
    gs = e.int_list(net.get("num_gs"), "net.num_gs", optional=True)
    bms = net.get("bot_muls")
    if bms is not None and (not isinstance(bms, list) or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) and b > 0 for b in bms)):
        e.fail(f"net.bot_muls must be a list of positive numbers, got {bms!r}")
        bms = None
    stem = e.integer(net.get("stem_w"), "net.stem_w", positive=True)
    if ds is None or ws is None or ss is None:
        return None
    lengths = {len(x) for x in (ds, ws, ss, *(x for x in (gs, bms) if x is not None))}
    if len(lengths) != 1:
        e.fail("net.ds, ws, ss (and bot_muls, num_gs) must have one value per stage")
        return None
    return ResNetSpec(block, ds, ws, ss, None if bms is None else tuple(float(b) for b in bms), gs, stem)


def _run(where: str, space: str, dataset: str, i: int, group: str | None, entry: Any,
         problems: Problems) -> NDSRun | None:
    e = _Entry(where, problems)
    if not isinstance(entry, Mapping):
        e.fail("expected an object")
        return None
    net = entry.get("net")
    if not isinstance(net, Mapping):
        e.fail("missing 'net' object")
        return None
    genotype = resnet = None
    if "genotype" in net:
        genotype = _genotype(net["genotype"], e)
    elif "block_type" in net:
        resnet = _resnet(net, e)
    else:
        e.fail("net has neither 'genotype' (cell spaces) nor 'block_type' (ResNet / ResNeXt / Vanilla)")
    aux = net.get("aux")
    if aux is not None and not isinstance(aux, bool):
        e.fail(f"net.aux must be true or false, got {aux!r}")
    optim = entry.get("optim")
    if not isinstance(optim, Mapping):
        e.fail("missing 'optim' object")
        optim = {}
    max_ep = e.integer(optim.get("max_ep"), "optim.max_ep", optional=False, positive=True)
    min_err = e.number(entry.get("min_test_top1"), "min_test_top1", optional=True, nan_ok=True)
    if min_err is not None and not 0.0 <= min_err <= 100.0:
        e.fail(f"min_test_top1 must be a top-1 error in % (0..100), got {min_err!r}")
    run_fields = dict(
        width=e.integer(net.get("width"), "net.width"), depth=e.integer(net.get("depth"), "net.depth"),
        drop_prob=e.number(net.get("drop_prob"), "net.drop_prob", optional=True),
        base_lr=e.number(optim.get("base_lr"), "optim.base_lr", optional=True),
        weight_decay=e.number(optim.get("wd"), "optim.wd", optional=True),
        params=e.number(entry.get("params"), "params"), flops=e.number(entry.get("flops"), "flops"),
        rng_seed=e.integer(entry.get("rng_seed"), "rng_seed"),
        iter_time=e.number(entry.get("iter_time"), "iter_time", optional=True, nan_ok=True),
        prec_time=e.number(entry.get("prec_time"), "prec_time", optional=True, nan_ok=True),
    )
    curves = [e.series(entry.get(key), key) for key in CURVES]
    if not e.ok or max_ep is None:
        return None
    return NDSRun(
        space=space, dataset=dataset, position=i, group=group, genotype=genotype,
        genotype_json=dict(net["genotype"]) if genotype is not None else None, resnet=resnet,
        net_json={k: v for k, v in net.items() if k != "genotype"}, aux=aux, max_epochs=max_ep,
        min_test_error=min_err, train_loss=curves[0], train_error=curves[1], test_error=curves[2],
        **run_fields,  # type: ignore[arg-type]
    )


def load_nds(path: str | Path) -> list[NDSRun]:
    """Every run of one file (a .json / .json.gz, or a zip holding one space); ``DataError`` listing
    every problem otherwise. The build reads files with ``read_nds`` instead, to report all files'."""
    problems = Problems()
    runs = [r for s in nds_sources([path]) for r in read_nds(s, problems).runs]
    problems.raise_if_any()
    return runs


def summary(files: Sequence[NDSFile]) -> dict[str, Any]:
    """Counts for the build report: files, entries, diverged and incomplete runs, warnings by kind."""
    runs = [r for f in files for r in f.runs]
    warnings: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    for f in files:
        for kind, n in f.warning_counts.items():
            warnings[kind] = warnings.get(kind, 0) + n
            examples.setdefault(kind, []).extend(f.warnings[kind][: MAX_WARNINGS - len(examples.get(kind, []))])
    return {"files": len(files), "entries": len(runs), "diverged": sum(r.diverged for r in runs),
            "incomplete": sum(r.incomplete for r in runs), "cell": sum(r.genotype is not None for r in runs),
            "network": sum(r.resnet is not None for r in runs), "warnings": warnings, "examples": examples}
