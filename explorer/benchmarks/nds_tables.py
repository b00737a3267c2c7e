"""NDS runs → warehouse rows: architectures (cell or whole-network metrics), results, curves, nds_runs.

Cell spaces: the metrics describe the **normal** cell (``explorer.theory.metrics.metrics``, once per
op-class signature). ResNet / ResNeXt / Vanilla: the metrics describe the whole network as one DAG
(``explorer.theory.network``), once per block sequence. Curves are built as one columnar frame:
a release holds millions of epoch rows, and a dict per row cost gigabytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from explorer.benchmarks.ingest import (
    EDGE_COLUMNS,
    MetricsCache,
    Tables,
    architecture_row,
    metrics_columns,
    schedule_name,
)
from explorer.benchmarks.nds import NDSFile, NDSRun, ResNetSpec
from explorer.benchmarks.nds_sources import sweep_of
from explorer.theory.metrics import CellMetrics
from explorer.theory.network import Block, anynet_blocks, network_metrics

NDS_ARCH_ID_BASE = 1_000_000  # NDS architectures are numbered from here (NB201 uses arch_index)
class NetworkMetricsCache:
    """``network_metrics`` once per block sequence (many ResNets share one)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Block, ...], CellMetrics] = {}

    def __call__(self, spec: ResNetSpec) -> tuple[tuple[Block, ...], CellMetrics]:
        blocks = tuple(anynet_blocks(spec.block_type, spec.depths, spec.widths, spec.strides, spec.stem_width))
        if blocks not in self._cache:
            self._cache[blocks] = network_metrics(blocks)
        return blocks, self._cache[blocks]


def network_text(spec: ResNetSpec) -> str:
    """The network's identity as compact JSON (its arch_str)."""
    d: dict = {
        "block_type": spec.block_type,
        "ds": list(spec.depths),
        "ws": list(spec.widths),
        "ss": list(spec.strides),
    }
    if spec.bottleneck_multipliers is not None:
        d["bot_muls"] = list(spec.bottleneck_multipliers)
    if spec.groups is not None:
        d["num_gs"] = list(spec.groups)
    return json.dumps(d, separators=(",", ":"))


def network_row(arch_id: int, space: str, source_id: int, spec: ResNetSpec, blocks: Sequence[Block],
                m: CellMetrics) -> dict:
    """A network's architectures row: n_conv counts its convolutions (body and projection), n_skip its
    identity shortcuts, n_conv1x1 its projections."""
    return {
        "arch_id": arch_id, "space": space, "family": spec.family, "source_id": source_id,
        "arch_str": network_text(spec), "genotype_json": None, **{col: None for col in EDGE_COLUMNS},
        "unique_str": None, "n_conv": m.n_parameterized_ops,
        "n_skip": sum(b.shortcut == "identity" for b in blocks), "n_pool": 0, "n_none": 0,
        "n_conv3x3": None, "n_conv1x1": sum(b.shortcut == "projection" for b in blocks),
        **metrics_columns(m), "params_m": None, "flops_m": None, "net_width": None, "net_depth": None,
    }


def _json(values: Sequence | None) -> str | None:
    return None if values is None else json.dumps(list(values))


def nds_tables(files: Sequence[NDSFile], tables: Tables, tick: Callable[[int], object] = lambda n: None) -> None:
    arch_id = NDS_ARCH_ID_BASE
    cell_metrics = MetricsCache()
    net_metrics = NetworkMetricsCache()
    curve_parts: list[tuple[int, str, str, int, NDSRun]] = []
    for f in files:
        space = f"nds:{f.source.space}"
        for run in f.runs:
            if run.genotype is not None:
                cell = run.genotype.normal  # the metrics describe the normal cell
                row = architecture_row(arch_id, space, run.position, cell, arch_str=cell.to_text(),
                                       genotype_json=json.dumps(run.genotype_json, separators=(",", ":")),
                                       cell_metrics=cell_metrics)
            else:
                assert run.resnet is not None
                row = network_row(arch_id, space, run.position, run.resnet, *net_metrics(run.resnet))
            row.update(params_m=run.params / 1e6, flops_m=run.flops / 1e6, net_width=run.width, net_depth=run.depth)
            tables.architectures.append(row)
            schedule = schedule_name(run.max_epochs, "single")
            final = run.final_test_error
            tables.results.append({
                "arch_id": arch_id, "dataset": run.dataset, "schedule": schedule, "epochs": run.max_epochs,
                "seeds": "single", "test_acc": run.test_accuracy, "valid_acc": None, "rng_seed": run.rng_seed,
                "base_lr": run.base_lr, "weight_decay": run.weight_decay,
                "final_test_acc": None if final is None else 100.0 - final, "source": f"NDS {f.source.label}",
            })
            tables.nds_runs.append(_run_row(arch_id, f, run))
            curve_parts.append((arch_id, run.dataset, schedule, 0, run))
            arch_id += 1
            tick(1)
    tables.curves = curves_frame(curve_parts)


def _run_row(arch_id: int, f: NDSFile, run: NDSRun) -> dict:
    spec = run.resnet
    losses = run.train_loss[np.isfinite(run.train_loss)]
    return {
        "arch_id": arch_id, "space": f.source.space, "source": f.source.label, "entry_group": run.group,
        "sweep": sweep_of(f.source.space), "block_type": spec.block_type if spec else None,
        "stage_depths": _json(spec.depths) if spec else None, "stage_widths": _json(spec.widths) if spec else None,
        "stage_strides": _json(spec.strides) if spec else None,
        "bottleneck_multipliers": _json(spec.bottleneck_multipliers) if spec else None,
        "group_counts": _json(spec.groups) if spec else None, "stem_width": spec.stem_width if spec else None,
        "aux": run.aux, "drop_prob": run.drop_prob, "max_epochs": run.max_epochs,
        "curve_epochs": max(len(run.train_loss), len(run.train_error), len(run.test_error)),
        "min_test_error": run.min_test_error, "final_test_error": run.final_test_error,
        "final_train_loss": run.final_train_loss,
        "best_train_loss": float(losses.min()) if len(losses) else None,
        "iter_time": run.iter_time, "prec_time": run.prec_time, "diverged": run.diverged,
        "incomplete": run.incomplete, "net_json": json.dumps(run.net_json, separators=(",", ":")),
    }


def curves_frame(parts: Sequence[tuple[int, str, str, int, NDSRun]]) -> pd.DataFrame:
    """One row per run × epoch (1-based), NaN (stored as NULL) where a curve is shorter or NaN."""
    lengths = np.array([max(len(r.train_loss), len(r.train_error), len(r.test_error)) for *_, r in parts],
                       dtype=np.int64)
    total = int(lengths.sum())
    loss, train_acc, test_acc = (np.full(total, math.nan) for _ in range(3))
    epoch = np.empty(total, dtype=np.int32)
    at = 0
    for (_, _, _, _, run), n in zip(parts, lengths, strict=True):
        epoch[at:at + n] = np.arange(1, n + 1)
        loss[at:at + len(run.train_loss)] = run.train_loss
        train_acc[at:at + len(run.train_error)] = 100.0 - run.train_error
        test_acc[at:at + len(run.test_error)] = 100.0 - run.test_error
        at += n
    arch = np.repeat(np.array([p[0] for p in parts], dtype=np.int64), lengths)
    dataset = pd.Categorical.from_codes(*_codes([p[1] for p in parts], lengths))
    schedule = pd.Categorical.from_codes(*_codes([p[2] for p in parts], lengths))
    # Non-finite values (NaN, ±inf) are missing data: NaN becomes NULL in DuckDB.
    for a in (loss, train_acc, test_acc):
        a[~np.isfinite(a)] = math.nan
    return pd.DataFrame({"arch_id": arch, "dataset": dataset, "schedule": schedule, "epoch": epoch,
                         "train_loss": loss, "train_acc": train_acc, "test_acc": test_acc})


def _codes(values: Sequence[str], lengths: np.ndarray) -> tuple[np.ndarray, list[str]]:
    cats = sorted(set(values))
    index = {c: i for i, c in enumerate(cats)}
    return np.repeat(np.array([index[v] for v in values], dtype=np.int32), lengths), cats
