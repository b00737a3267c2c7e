"""Fixtures shared by every test: where the real benchmark data lives, free ports."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def nb201_dir() -> Path:
    """The real NAS-Bench-201 CSVs in ../shared/data (read by path, never copied)."""
    path = SHARED_DATA / "nasbench201"
    if not (path / "nb201_main.csv").exists():
        pytest.fail(f"benchmark data not found at {path}: the tests read ../shared/data beside the checkout")
    return path


@pytest.fixture(scope="session")
def popular_cells_json() -> Path:
    return SHARED_DATA / "genotypes" / "popular_cells.json"


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
