"""NDS (Radosavovic et al., "On Network Design Spaces for Visual Recognition", 2019) result files.

NDS ships one JSON file per design space (``DARTS.json``, ``ENAS.json``, ``NASNet.json``,
``Amoeba.json``, ``PNAS.json`` and their ``_in`` (ImageNet), ``_fix-w-d`` and ``_lr-wd`` variants).
A file holds a list of entries, or ``{"top": [...], "mid": [...]}``. Each entry is one trained
network:

- ``net``: ``genotype`` = ``{"normal": [[op, input], ...], "normal_concat": [...], "reduce": ...,
  "reduce_concat": ...}`` for the cell spaces, plus ``width`` (initial channels) and ``depth`` (cells);
- ``optim``: ``base_lr``, ``wd``, ``max_ep``, ...;
- ``params``, ``flops`` (counts), ``rng_seed``;
- ``min_test_top1`` and the per-epoch lists ``train_ep_loss``, ``train_ep_top1``, ``test_ep_top1``
  (top-1 **error** in %).

``load_nds`` reads and validates a whole file; every problem is a ``DataError`` naming the file and
the entry. Only cell design spaces (entries with ``net.genotype``) are supported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.cell.model import CellError, Genotype
from explorer.core.errors import DataError

GROUPS = ("top", "mid")  # the keys of files that split their entries


@dataclass(frozen=True)
class NDSRun:
    """One trained network of an NDS file (errors converted to accuracies where named so)."""

    space: str  # the file's design space, from its name: 'DARTS', 'DARTS_lr-wd', ...
    dataset: str  # 'cifar10', or 'imagenet' for the ``_in`` files
    position: int  # index of the entry in the file (after 'top' then 'mid' for split files)
    group: str | None  # 'top' / 'mid' for split files
    genotype: Genotype
    genotype_json: dict[str, Any]  # the entry's genotype as given
    width: int | None
    depth: int | None
    base_lr: float | None
    weight_decay: float | None
    max_epochs: int
    params: float
    flops: float
    rng_seed: int | None
    min_test_error: float  # % top-1
    train_loss: tuple[float, ...]
    train_error: tuple[float, ...]  # % top-1, per epoch
    test_error: tuple[float, ...]  # % top-1, per epoch

    @property
    def test_accuracy(self) -> float:
        """100 − min_test_top1: the best-epoch test accuracy, the number NDS reports."""
        return 100.0 - self.min_test_error


def space_name(path: Path) -> str:
    return path.name.removesuffix(".json")


def dataset_of(space: str) -> str:
    """NDS ``_in`` files are ImageNet runs; every other file is CIFAR-10."""
    base = space.split("_", 1)
    return "imagenet" if len(base) == 2 and base[1].split("_")[0] == "in" else "cifar10"


def load_nds(path: str | Path) -> list[NDSRun]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise DataError(f"{path}: malformed JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise DataError(f"{path}: malformed JSON: {exc}") from None
    entries: list[tuple[str | None, Any]]
    if isinstance(data, list):
        entries = [(None, e) for e in data]
    elif isinstance(data, Mapping) and data and set(data) <= set(GROUPS):
        entries = []
        for group in GROUPS:
            items = data.get(group, [])
            if not isinstance(items, list):
                raise DataError(f"{path}: '{group}' must be a list of entries")
            entries.extend((group, e) for e in items)
    else:
        raise DataError(f"{path}: expected a list of entries or an object with 'top' and 'mid' lists")
    if not entries:
        raise DataError(f"{path}: no entries")
    space = space_name(path)
    dataset = dataset_of(space)
    return [_run(path, space, dataset, i, group, entry) for i, (group, entry) in enumerate(entries)]


def _run(path: Path, space: str, dataset: str, i: int, group: str | None, entry: Any) -> NDSRun:
    where = f"{path}: entry {i}"

    def fail(msg: str) -> DataError:
        return DataError(f"{where}: {msg}")

    if not isinstance(entry, Mapping):
        raise fail("expected an object")
    net = entry.get("net")
    if not isinstance(net, Mapping):
        raise fail("missing 'net' object")
    geno = net.get("genotype")
    if geno is None:
        raise fail("no net.genotype: only the cell design spaces (DARTS, ENAS, NASNet, Amoeba, PNAS) are supported")
    try:
        genotype = Genotype.from_dict(geno)
    except CellError as exc:
        raise fail(f"net.genotype: {exc}") from None
    optim = entry.get("optim")
    if not isinstance(optim, Mapping):
        raise fail("missing 'optim' object")
    max_ep = optim.get("max_ep")
    if not isinstance(max_ep, int) or isinstance(max_ep, bool) or max_ep <= 0:
        raise fail(f"optim.max_ep must be a positive integer, got {max_ep!r}")
    min_err = _number(entry.get("min_test_top1"), "min_test_top1", fail)
    if not 0.0 <= min_err <= 100.0:
        raise fail(f"min_test_top1 must be a top-1 error in % (0..100), got {min_err!r}")
    curves = {key: _series(entry.get(key), key, fail) for key in ("train_ep_loss", "train_ep_top1", "test_ep_top1")}
    return NDSRun(
        space=space,
        dataset=dataset,
        position=i,
        group=group,
        genotype=genotype,
        genotype_json=dict(geno),
        width=_optional_int(net.get("width"), "net.width", fail),
        depth=_optional_int(net.get("depth"), "net.depth", fail),
        base_lr=_optional_number(optim.get("base_lr"), "optim.base_lr", fail),
        weight_decay=_optional_number(optim.get("wd"), "optim.wd", fail),
        max_epochs=max_ep,
        params=_number(entry.get("params"), "params", fail),
        flops=_number(entry.get("flops"), "flops", fail),
        rng_seed=_optional_int(entry.get("rng_seed"), "rng_seed", fail),
        min_test_error=min_err,
        train_loss=curves["train_ep_loss"],
        train_error=curves["train_ep_top1"],
        test_error=curves["test_ep_top1"],
    )


def _number(value: Any, key: str, fail: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(f"{key} must be a finite number, got {value!r}")
    return float(value)


def _optional_number(value: Any, key: str, fail: Any) -> float | None:
    return None if value is None else _number(value, key, fail)


def _optional_int(value: Any, key: str, fail: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"{key} must be an integer, got {value!r}")
    return value


def _series(value: Any, key: str, fail: Any) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise fail(f"{key} must be a list of numbers")
    return tuple(_number(v, f"{key}[{k}]", fail) for k, v in enumerate(value))
