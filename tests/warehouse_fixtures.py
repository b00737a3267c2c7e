"""Warehouse test helpers: the NB201 warehouse built once per test session, and NDS files written in
the official format (no real NDS copy exists here).

Import the fixtures into a test module with ``from tests.warehouse_fixtures import nb201_warehouse``.
"""

from __future__ import annotations

import json
import random
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


def nds_entry(rng: random.Random, epochs: int = 5) -> dict[str, Any]:
    """One entry as NDS writes it (errors in %, decreasing over epochs)."""
    final = rng.uniform(3.0, 12.0)
    test = [final + (epochs - e) * rng.uniform(1.0, 4.0) for e in range(1, epochs + 1)]
    return {
        "net": {"genotype": nds_genotype(rng), "width": rng.choice([16, 24, 32]), "depth": rng.choice([8, 12, 20]),
                "aux": False, "drop_prob": 0.0},
        "optim": {"base_lr": rng.choice([0.025, 0.05, 0.1]), "wd": rng.choice([3e-4, 5e-4]), "max_ep": epochs,
                  "lr_policy": "cos", "momentum": 0.9, "nesterov": True},
        "params": rng.randrange(500_000, 4_000_000), "flops": rng.randrange(50_000_000, 600_000_000),
        "rng_seed": rng.randrange(1000), "min_test_top1": min(test),
        "train_ep_loss": [2.0 / e for e in range(1, epochs + 1)],
        "train_ep_top1": [t - 2.0 for t in test], "test_ep_top1": test,
        "prec_time": 0.01, "train_ep_time": [1.0] * epochs,
    }


def write_nds(path: Path, n: int, *, split: bool = False, seed: int = 0, epochs: int = 5) -> list[dict[str, Any]]:
    """Write ``n`` entries to ``path`` (as ``{"top": ..., "mid": ...}`` when ``split``); return them in file order."""
    rng = random.Random(seed)
    entries = [nds_entry(rng, epochs) for _ in range(n)]
    data: Any = {"top": entries[: n // 2], "mid": entries[n // 2 :]} if split else entries
    path.write_text(json.dumps(data))
    return entries
