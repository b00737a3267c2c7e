"""The benchmark warehouse is there and current: built on first start from the shipped data, rebuilt
when its inputs, the schema or the build code changed since it was built.

``explorer serve`` calls ``ensure_warehouse`` before it starts the app; the warehouse pages call it
when the file cannot be opened; ``explorer warehouse build`` calls ``build``. What a warehouse was
built from is in its meta table (``explorer.benchmarks.build.build_warehouse``), so a warehouse built with a
user's NDS files is rebuilt with the same files, and never silently replaced by one without them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from db.errors import WarehouseUnavailable
from db.warehouse import SCHEMA_VERSION, read_meta
from explorer.benchmarks import ingest
from explorer.benchmarks.build import BuildReport, build_warehouse, input_fingerprint
from explorer.benchmarks.data import NB201_DIR, shipped_nb201_dir
from explorer.benchmarks.nds_sources import split_selector
from explorer.benchmarks.warehouse import build_command
from explorer.core.errors import DataError

SHIPPED = "shipped"  # the meta value of nb201_dir for the data in explorer/benchmarks/data


@dataclass(frozen=True)
class Inputs:
    """What a warehouse is built from: an NB201 folder (None: none) and NDS files."""

    nb201_dir: Path | None
    nds: tuple[Path, ...] = ()

    @property
    def shipped(self) -> bool:
        return self.nb201_dir is not None and self.nb201_dir.resolve() == NB201_DIR

    def nb201_paths(self) -> list[Path]:
        if self.nb201_dir is None:
            return []
        found = (ingest.nb201_file(self.nb201_dir, name) for name in ingest.NB201_FILES)
        return [p for p in found if p is not None]

    def missing(self) -> list[Path]:
        """Inputs no longer on disk (an NDS 'data.zip:DARTS' selector counts by its zip)."""
        paths = ([self.nb201_dir] if self.nb201_dir else []) + [split_selector(p)[0] for p in self.nds]
        return [p for p in paths if not p.exists()]

    def command(self, db: Path) -> str:
        cmd = build_command(db, None if self.nb201_dir is None or self.shipped else self.nb201_dir)
        if self.nb201_dir is None:
            cmd += " --no-nb201"
        return cmd + "".join(f" --nds {p}" for p in self.nds)


@dataclass(frozen=True)
class WarehouseState:
    status: Literal["current", "built", "missing", "stale", "failed"]
    message: str  # for people: what is the case and, when not usable, how to fix it
    report: BuildReport | None = field(default=None, compare=False)

    @property
    def usable(self) -> bool:
        return self.status in ("current", "built")


def default_inputs(nb201_dir: Path | None = None, nds: Sequence[Path] = ()) -> Inputs:
    """A user's NB201 copy when given, else the shipped one."""
    return Inputs(Path(nb201_dir) if nb201_dir else shipped_nb201_dir(), tuple(Path(p) for p in nds))


def recorded_inputs(meta: dict[str, str]) -> Inputs | None:
    """The inputs a warehouse says it was built from (None: it predates that record)."""
    if "nb201_dir" not in meta or "nds_files" not in meta:
        return None
    nb201 = meta["nb201_dir"]
    return Inputs(NB201_DIR if nb201 == SHIPPED else (Path(nb201) if nb201 else None),
                  tuple(Path(p) for p in json.loads(meta["nds_files"])))


def build(db: Path, inputs: Inputs, *, progress: bool = False) -> BuildReport:
    """Build ``db`` from ``inputs`` (the shipped NB201 folder is recorded as 'shipped', not by path)."""
    if inputs.shipped:
        shipped_nb201_dir()  # checksums first: a damaged copy says so instead of failing row by row
    return build_warehouse(db, inputs.nb201_dir, list(inputs.nds), progress=progress,
                           nb201_label=SHIPPED if inputs.shipped else None)


def check_warehouse(db: Path, default: Inputs | None = None) -> tuple[WarehouseState, Inputs | None]:
    """Is ``db`` current? Returns the state and the inputs a (re)build would use (None: cannot rebuild)."""
    try:
        meta = read_meta(db)
    except WarehouseUnavailable as exc:
        return WarehouseState("stale", f"the warehouse cannot be read ({exc})"), default
    if meta is None:
        return WarehouseState("missing", f"no warehouse at {db} yet"), default
    inputs = recorded_inputs(meta) or default
    if inputs is None:
        return WarehouseState("stale", "the warehouse does not record what it was built from"), None
    if missing := inputs.missing():
        if meta.get("schema_version") == str(SCHEMA_VERSION):
            return WarehouseState("current", f"{db} (its inputs {', '.join(map(str, missing))} are gone; "
                                  "kept as built)"), None
        return WarehouseState("stale", f"{db} needs a rebuild for this version, but its inputs "
                              f"{', '.join(map(str, missing))} are gone"), None
    if meta.get("fingerprint") != input_fingerprint(inputs.nb201_paths(), list(inputs.nds)):
        return WarehouseState("stale", f"{db} was built from other data or by another version"), inputs
    return WarehouseState("current", f"{db} is current"), inputs


def ensure_warehouse(db: Path, *, nb201_dir: Path | None = None, progress: bool = False,
                     log: Callable[[str], object] = lambda s: None) -> WarehouseState:
    """Build ``db`` when it is missing or stale; never raises for data problems (the state says why)."""
    db = Path(db)
    try:
        default = default_inputs(nb201_dir)
    except DataError as exc:
        default = None
        default_problem = str(exc)
    else:
        default_problem = ""
    state, inputs = check_warehouse(db, default)
    if state.status == "current":
        return state
    if inputs is None:
        why = default_problem or "its inputs are gone"
        return WarehouseState("failed", f"{state.message}; cannot build it: {why}. Fix the data, then run "
                              f"`{build_command(db)}`")
    log(f"warehouse: {state.message}; building it from {_describe(inputs)} …")
    try:
        report = build(db, inputs, progress=progress)
    except DataError as exc:
        return WarehouseState("failed", f"building the warehouse failed, nothing was changed: {exc}\n"
                              f"Fix the input named above, then run `{inputs.command(db)}`")
    counts = ", ".join(f"{n:,} {t}" for t, n in report.counts.items() if n)
    log(f"warehouse: built {db} in {report.seconds:.0f} s ({counts})")
    return WarehouseState("built", f"built {db} in {report.seconds:.0f} s", report)


def _describe(inputs: Inputs) -> str:
    parts = ["the shipped NAS-Bench-201 data" if inputs.shipped else
             (f"NAS-Bench-201 tables in {inputs.nb201_dir}" if inputs.nb201_dir else "")]
    parts += [f"{len(inputs.nds)} NDS file(s)"] if inputs.nds else []
    return " and ".join(p for p in parts if p)

