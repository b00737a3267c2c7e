"""Fixtures shared by every test: the benchmark data the repository ships, free ports."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "explorer" / "benchmarks" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def nb201_dir() -> Path:
    """The real NAS-Bench-201 tables the repository ships (Parquet, checked against their manifest)."""
    from explorer.benchmarks.data import shipped_nb201_dir

    return shipped_nb201_dir()


@pytest.fixture(scope="session")
def nb201_csv_dir(nb201_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tables as the CSV files they were packed from (written back from the Parquet copy)."""
    from explorer.benchmarks.data.pack import unpack

    out = tmp_path_factory.mktemp("nb201_csv")
    unpack(nb201_dir, out)
    return out


@pytest.fixture(scope="session")
def popular_cells_json() -> Path:
    return SHIPPED / "popular_cells.json"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors on a shared 2-core machine: extra threads only spin at barriers."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
