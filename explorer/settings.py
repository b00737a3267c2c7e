"""One settings object, read from environment variables (a TOML file comes with deployment work).

| variable | default | meaning |
|---|---|---|
| EXPLORER_DATA_DIR | ./data | where the embedded job store, warehouse and artifacts live |
| EXPLORER_DB_URL | sqlite:///<data>/jobs.sqlite | job store (any SQLAlchemy URL; postgresql+psycopg://… for several hosts) |
| EXPLORER_WAREHOUSE | <data>/warehouse.duckdb | the benchmark warehouse built by `explorer warehouse build` |
| EXPLORER_ARTIFACT_DIR | <data>/artifacts | large job artifacts |
| EXPLORER_NB201_DIR | (none) | NAS-Bench-201 CSV directory, for commands that read it |
| EXPLORER_READ_ONLY | 0 | 1: browse, edit and compute metrics only (no jobs, no SQL box) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    warehouse_path: Path
    artifact_dir: Path
    nb201_dir: Path | None
    read_only: bool


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def get_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("EXPLORER_DATA_DIR", "data")).expanduser().resolve()
    return Settings(
        data_dir=data_dir,
        db_url=env.get("EXPLORER_DB_URL") or f"sqlite:///{data_dir / 'jobs.sqlite'}",
        warehouse_path=Path(env.get("EXPLORER_WAREHOUSE") or data_dir / "warehouse.duckdb"),
        artifact_dir=Path(env.get("EXPLORER_ARTIFACT_DIR") or data_dir / "artifacts"),
        nb201_dir=Path(env["EXPLORER_NB201_DIR"]) if env.get("EXPLORER_NB201_DIR") else None,
        read_only=_flag(env.get("EXPLORER_READ_ONLY")),
    )
