"""A trained network kept and found again: the artifacts a ``train`` run stores, loading them
back, and the fixed evaluation subset the analyses of a trained network share.

Artifacts (names other kinds rely on): ``weights.safetensors`` (final), ``weights_init.safetensors``
(at initialisation, for the init → final interpolation), ``train_spec.json`` (to rebuild the
network and data), ``curves.csv`` / ``curves.npz`` (per-epoch and per-step curves).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from explorer.core.errors import UserError
from explorer.core.specs import validate_model
from explorer.experiments.context import ArtifactReader, RunContext
from explorer.experiments.datasets import Dataset, load_dataset
from explorer.experiments.train import TrainResult, TrainSpec, build_model, resolve_device
from explorer.nets.weights import WEIGHTS_MEDIA_TYPE, load_weights, save_weights

WEIGHTS = "weights.safetensors"
WEIGHTS_INIT = "weights_init.safetensors"
TRAIN_SPEC = "train_spec.json"
CURVES_CSV = "curves.csv"
CURVES_NPZ = "curves.npz"
Split = Literal["train", "test"]


def curves_csv(result: TrainResult) -> bytes:
    keys = list(result.epochs)
    lines = [",".join(keys)]
    lines += [",".join(repr(float(result.epochs[k][i])) for k in keys) for i in range(len(result.epochs["epoch"]))]
    return ("\n".join(lines) + "\n").encode()


def curves_npz(result: TrainResult) -> bytes:
    buf = io.BytesIO()
    arrays = {
        f"epoch_{k}" if k != "epoch" else "epoch": np.asarray(v, dtype=np.float64) for k, v in result.epochs.items()
    }
    arrays.update(
        {f"step_{k}" if k != "step" else "step": np.asarray(v, dtype=np.float64) for k, v in result.steps.items()}
    )
    np.savez(buf, **arrays)
    return buf.getvalue()


def store_result(spec: TrainSpec, result: TrainResult, ctx: RunContext) -> None:
    """Write the artifacts other kinds and the views read (names at the top of this module)."""
    ctx.artifact(TRAIN_SPEC, spec.model_dump_json().encode(), "application/json")
    ctx.artifact(WEIGHTS_INIT, result.weights_init, WEIGHTS_MEDIA_TYPE)
    ctx.artifact(WEIGHTS, save_weights(result.model, {"summary": json.dumps(result.summary)}), WEIGHTS_MEDIA_TYPE)
    ctx.artifact(CURVES_CSV, curves_csv(result), "text/csv")
    ctx.artifact(CURVES_NPZ, curves_npz(result), "application/x-npz")


@dataclass
class TrainedModel:
    spec: TrainSpec
    model: nn.Module
    data: Dataset
    weights_init: bytes


def stored_spec_json(spec_json: bytes) -> str:
    """A stored ``train_spec.json`` as today's spec reads it: runs stored before ``network.mlp_stem``
    existed were trained with the linear stem, so they get it back (the new default is Chen's)."""
    try:
        raw = json.loads(spec_json)
    except ValueError:
        return spec_json.decode(errors="replace")  # let validation say what is wrong
    if isinstance(raw, dict) and isinstance(raw.get("network"), dict):
        raw["network"].setdefault("mlp_stem", "linear")
    return json.dumps(raw)


def load_trained(reader: ArtifactReader, job_id: int, device: torch.device) -> TrainedModel:
    """A finished ``train`` job's network with its final weights, and its dataset, on ``device``."""
    try:
        spec_json = reader.read_artifact(job_id, TRAIN_SPEC)
        weights = reader.read_artifact(job_id, WEIGHTS)
        weights_init = reader.read_artifact(job_id, WEIGHTS_INIT)
    except Exception as exc:
        raise UserError(f"job {job_id} is not a finished train job with stored weights ({exc})") from None
    spec = validate_model(TrainSpec, stored_spec_json(spec_json), f"train job {job_id}'s")
    data = load_dataset(spec.data).to(device)
    model = build_model(spec, data)
    load_weights(model, weights, what=f"job {job_id}'s weights")
    return TrainedModel(spec, model.to(device).eval(), data, weights_init)


def curve_band(frames: list[Any], x: Literal["epoch", "step"] = "epoch") -> Any:
    """Mean ± std over runs (seeds) of one metric: each frame has columns ``x`` and ``value`` (a
    job's metric stream for one name); runs are aligned on ``x``. Returns a DataFrame with
    columns x, mean, std, n (std 0 for a single run)."""
    import pandas as pd

    parts = [f[[x, "value"]].dropna().groupby(x, as_index=False)["value"].last() for f in frames if len(f)]
    if not parts:
        return pd.DataFrame(columns=[x, "mean", "std", "n"])
    stacked = pd.concat(parts, ignore_index=True)
    band = stacked.groupby(x)["value"].agg(["mean", "std", "count"]).reset_index()
    band = band.rename(columns={"count": "n"})
    band["std"] = band["std"].fillna(0.0)
    return band


def eval_subset(data: Dataset, split: Split, samples: int) -> tuple[Tensor, Tensor]:
    """The first ``samples`` examples of a split: fixed for a dataset spec."""
    x, y = data.split(split)
    return x[:samples], y[:samples]


@dataclass
class Analysis:
    """What every analysis of a trained network starts from: the network on the run's device, its
    fixed evaluation subset, and a clock started once both are ready (the summaries' seconds)."""

    trained: TrainedModel
    x: Tensor
    y: Tensor
    started: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def start_analysis(ctx: RunContext, train_job: int, split: Split, samples: int) -> Analysis:
    """Load train run ``train_job`` onto the context's device and take its evaluation subset."""
    trained = load_trained(ctx, train_job, resolve_device("auto", ctx))
    x, y = eval_subset(trained.data, split, samples)
    return Analysis(trained, x, y)
