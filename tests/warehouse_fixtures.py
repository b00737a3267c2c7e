"""Warehouse test helpers: the NB201 warehouse built once per test session, and NDS files written in
the release's format as NNI's db_gen and nas-without-training read it (no real NDS copy exists here):
cell entries (``net.genotype``) and ResNet / ResNeXt / Vanilla entries (``net.block_type``, ``ds``,
``ws``, ``ss``, ``bot_muls``, ``num_gs``), lists or ``{"top", "mid"}`` files, ``.json``, ``.json.gz``
and a zip of several (``data.zip`` holds ``nds_data/<space>.json``).

Import the fixtures into a test module with ``from tests.warehouse_fixtures import nb201_warehouse``.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import zipfile
from pathlib import Path
from typing import Any

import pytest

from explorer.cell.ops import DARTS_OPS

_built: dict[str, Path] = {}


@pytest.fixture(scope="session")
def nb201_warehouse(nb201_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built from the shipped NB201 tables once per session (several modules share the file)."""
    if "nb201" not in _built:
        from explorer.benchmarks.ensure import build, default_inputs

        db = tmp_path_factory.mktemp("warehouse") / "nb201.duckdb"
        build(db, default_inputs())  # what `explorer warehouse build` without flags does
        _built["nb201"] = db
    return _built["nb201"]


def nds_genotype(rng: random.Random, n_nodes: int = 4) -> dict[str, Any]:
    def cell() -> list[list[Any]]:
        return [[rng.choice(DARTS_OPS), rng.randrange(2 + k // 2)] for k in range(2 * n_nodes)]

    concat = list(range(2, 2 + n_nodes))
    return {"normal": cell(), "normal_concat": concat, "reduce": cell(), "reduce_concat": concat}


def resnet_net(rng: random.Random, kind: str = "resnet") -> dict[str, Any]:
    """A pycls AnyNet ``net`` as the NDS ResNet (basic), ResNeXt (bottleneck) and Vanilla files hold it."""
    stages = 3
    net: dict[str, Any] = {
        "block_type": {"resnet": "res_basic_block", "resnext": "res_bottleneck_block", "vanilla": "double_plain_block"}[
            kind
        ],
        "ds": [rng.randint(1, 8) for _ in range(stages)],
        "ws": sorted(rng.choice([16, 32, 64, 128]) for _ in range(stages)),
        "ss": [1, 2, 2],
    }
    if kind == "resnext":
        net["bot_muls"] = [rng.choice([0.25, 0.5, 1.0]) for _ in range(stages)]
        net["num_gs"] = [rng.choice([1, 2, 4]) for _ in range(stages)]
    return net


def nds_entry(rng: random.Random, epochs: int = 5, kind: str = "cell", nan_from: int | None = None) -> dict[str, Any]:
    """One entry as NDS writes it (errors in %, decreasing over epochs). ``nan_from``: the training
    loss is NaN from that epoch (0-based) on and the errors sit at chance, as in a diverged run."""
    final = rng.uniform(3.0, 12.0)
    test = [final + (epochs - e) * rng.uniform(1.0, 4.0) for e in range(1, epochs + 1)]
    loss = [2.0 / e for e in range(1, epochs + 1)]
    if nan_from is not None:
        loss[nan_from:] = [math.nan] * (epochs - nan_from)
        test[nan_from:] = [90.0] * (epochs - nan_from)
    if kind == "cell":
        net = {"genotype": nds_genotype(rng), "width": rng.choice([16, 24, 32]), "depth": rng.choice([8, 12, 20]),
               "aux": rng.random() < 0.5, "drop_prob": rng.choice([0.0, 0.1, 0.2])}
    else:
        net = resnet_net(rng, kind)
    return {
        "net": net,
        "optim": {"base_lr": rng.choice([0.025, 0.05, 0.1]), "wd": rng.choice([3e-4, 5e-4]), "max_ep": epochs,
                  "lr_policy": "cos", "momentum": 0.9, "nesterov": True, "warmup_ep": 0},
        "params": rng.randrange(500_000, 4_000_000), "flops": rng.randrange(50_000_000, 600_000_000),
        "rng_seed": rng.randrange(1000), "min_test_top1": min(test),
        "train_ep_loss": loss, "train_ep_top1": [t - 2.0 for t in test], "test_ep_top1": test,
        "iter_time": rng.uniform(0.05, 0.2), "prec_time": 0.01, "train_ep_time": [1.0] * epochs,
    }


def nds_entries(n: int, *, seed: int = 0, epochs: int = 5, kind: str = "cell",
                nan: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """``n`` entries; ``nan`` maps an entry index to the epoch its loss turns NaN."""
    rng = random.Random(seed)
    return [nds_entry(rng, epochs, kind, (nan or {}).get(i)) for i in range(n)]


def nds_bytes(entries: list[dict[str, Any]], *, split: bool = False) -> bytes:
    """The file's bytes: a list, or ``{"top": ..., "mid": ...}`` (reruns files); NaN written as NaN."""
    n = len(entries)
    data: Any = {"top": entries[: n // 2], "mid": entries[n // 2:]} if split else entries
    return json.dumps(data).encode()


def write_nds(path: Path, n: int, *, split: bool = False, seed: int = 0, epochs: int = 5, kind: str = "cell",
              nan: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Write ``n`` entries to ``path`` (gzip'ed when it ends in .gz); return them in file order."""
    entries = nds_entries(n, seed=seed, epochs=epochs, kind=kind, nan=nan)
    data = nds_bytes(entries, split=split)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return entries


def write_nds_zip(path: Path, members: dict[str, bytes], folder: str = "nds_data") -> Path:
    """A zip like the release's data.zip: ``<folder>/<name>`` per member."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(f"{folder}/{name}", data)
    return path
