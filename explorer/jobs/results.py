"""A finished job's results as the views show them, read by the job's kind (``JobKind.read_result``).

The kinds know their artifacts' names and contents; a page gets one of these objects and draws it,
so no page parses an artifact or a result summary itself.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explorer.core.errors import UserError
from explorer.experiments.context import ArtifactReader
from explorer.jobs.kind import Download


class ResultError(UserError):
    """A finished job's results cannot be read (an artifact missing or damaged)."""


def read_arrays(reader: ArtifactReader, job_id: int, name: str) -> dict[str, np.ndarray]:
    """The arrays of job ``job_id``'s ``.npz`` artifact ``name``, or ``ResultError`` saying why not."""
    try:
        with np.load(io.BytesIO(reader.read_artifact(job_id, name)), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (KeyError, ValueError, OSError) as exc:  # the store's StoreError is a ValueError
        raise ResultError(f"Job {job_id} has no readable {name}: {exc}") from None


SPLIT_LABELS = {"train": "training split", "test": "test split"}
BN_LABELS = {"running": "BatchNorm with the trained running statistics (eval mode, as Li et al.)",
             "batch": "BatchNorm with the batch statistics of the evaluated samples"}


def evaluation_caption(spec: Mapping[str, Any] | None, result: Mapping[str, Any] | None) -> str:
    """'test split, 1,000 samples; BatchNorm …' for an analysis job. Jobs stored before the spec had
    ``bn_stats`` ran with running statistics (the only mode then), and with the training split
    when their spec names none (the only default then)."""
    spec, result = spec or {}, result or {}
    split = spec.get("split") or result.get("split") or "train"
    samples = result.get("samples") or spec.get("samples")
    parts = [SPLIT_LABELS.get(split, f"{split} split") + (f", {samples:,} samples" if samples else "")]
    if result.get("batchnorm") == "none in this network":
        parts.append("no BatchNorm in this network")
    else:
        parts.append(BN_LABELS.get(spec.get("bn_stats") or "running", str(spec.get("bn_stats"))))
    return "; ".join(parts)


@dataclass(frozen=True)
class PlaneResult:
    """Values on the plane w* + α·d1 + β·d2 around a trained network (rows are β, columns α), and
    optionally along the init → final line."""

    alpha: np.ndarray
    beta: np.ndarray
    values: Mapping[str, np.ndarray]  # by short name (the figures' axis titles), e.g. loss, acc, √g
    labels: Mapping[str, str]  # short name → what a view calls it
    table: Download  # the grid as CSV
    arrays: Download | None = None  # every array (.npz)
    line_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    line: Mapping[str, np.ndarray] = field(default_factory=dict)  # by the same short names as ``values``
    setting: str = ""  # what it was evaluated on (split, samples, BatchNorm statistics): every plot says it


@dataclass(frozen=True)
class SpectrumResult:
    """The largest Hessian eigenvalues and the power iteration's Rayleigh quotients (NaN-padded rows)."""

    eigenvalues: np.ndarray
    traces: np.ndarray
    arrays: Download
    setting: str = ""  # as PlaneResult.setting


@dataclass(frozen=True)
class SummaryResult:
    """A result that is its job's JSON summary, with a one-line reading of it."""

    summary: Mapping[str, Any]
    caption: str
