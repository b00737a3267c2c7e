"""Source files → validated tables for the warehouse (nothing is written here).

NAS-Bench-201: the tables shipped in ``explorer/benchmarks/data/nasbench201`` (Parquet; its
PROVENANCE.md says where every column comes from) or a user's copy of them, each table as
``<name>.parquet`` or ``<name>.csv``. Every file is checked completely before anything is built:
header (or Parquet schema), field counts (a truncated CSV shows up as a short last row), numbers, row
counts, ``arch_index`` range and uniqueness, that every ``arch_str`` parses, and that ``arch_index`` ↔
``arch_str`` agrees with the primary table (``nb201_acc200_natsbench``) and with ``naslib_op_indices``.
All problems found are reported together, each with its file and line (CSV) or row (Parquet).

NDS: ``explorer.benchmarks.nds.read_nds`` per file, turned into rows by ``explorer.benchmarks.nds_tables``.

The tables (pandas frames) follow the schema in ``db.warehouse.SCHEMA_SQL``; metrics come from
``explorer.theory.metrics.metrics`` at K0 = 0.5, computed once per distinct cell.

Long because it checks every NB201 source format completely (CSV and Parquet) and turns each into the
warehouse's rows; the checks share one ``Problems`` collector and row converters.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.benchmarks.problems import MAX_REPORTED, Problems  # noqa: F401 (re-exported)
from explorer.cell.model import Cell
from explorer.cell.ops import OPS
from explorer.core.errors import CellError, DataError
from explorer.theory.metrics import DEFAULT_K0, CellMetrics, metrics

NB201_CELLS = 15_625
NB201_PROXY_ROWS = 9_445
NB201_NET = {"net_width": 16, "net_depth": 5}  # NB201 networks: C = 16 channels, N = 5 cells per stage
NDS_ARCH_ID_BASE = 1_000_000  # NDS architectures are numbered from here (NB201 uses arch_index)
MISSING_SCORE = -100_000_000.0  # zero-cost sentinel for failed / disconnected cells: stored as missing
EDGE_COLUMNS = ("e01", "e02", "e12", "e03", "e13", "e23")  # arch-string order
NASLIB_EDGE_ORDER = ("e01", "e02", "e03", "e12", "e13", "e23")
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
PROXIES_ZC = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "plain", "snip", "synflow")
HW_COLUMNS = {  # source column → warehouse column (units in the name)
    "edgegpu_latency": "edgegpu_latency_ms", "edgegpu_energy": "edgegpu_energy_mj",
    "raspi4_latency": "raspi4_latency_ms", "edgetpu_latency": "edgetpu_latency_ms",
    "pixel3_latency": "pixel3_latency_ms", "eyeriss_latency": "eyeriss_latency_ms",
    "eyeriss_energy": "eyeriss_energy_mj", "eyeriss_arithmetic_intensity": "eyeriss_arithmetic_intensity",
    "fpga_latency": "fpga_latency_ms", "fpga_energy": "fpga_energy_mj",
}


@dataclass(frozen=True)
class CsvSpec:
    name: str
    columns: tuple[str, ...]
    rows: int
    required: bool = False
    nullable: frozenset[str] = frozenset()  # numeric columns that may be empty (NaN)
    text: frozenset[str] = frozenset({"arch_str", "naslib_op_indices", "unique_str", "dataset"})
    in_index_order: bool = True  # row r has arch_index r (per dataset block for the long HW file)


_ZC_COLUMNS = ("arch_index", "arch_str", "naslib_op_indices", "acc_single_seed", "flops_m", "params_m",
               *PROXIES_ZC, "zen")
NB201_FILES: dict[str, CsvSpec] = {s.name: s for s in (
    CsvSpec("nb201_acc200_natsbench.csv", ("arch_index", "arch_str", "cifar10_test_acc", "cifar100_test_acc",
                                           "imagenet16_test_acc", "unique_str"), NB201_CELLS, required=True),
    CsvSpec("nb201_cifar10_naswot.csv", ("arch_index", "arch_str", "params_m", "cifar10_test_acc",
                                         "cifar10valid_val_acc", "cifar10valid_test_acc", "naswot_v1_score"),
            NB201_CELLS, nullable=frozenset({"naswot_v1_score"})),
    CsvSpec("nb201_acc12_minibench.csv", ("arch_index", "arch_str", "cifar10_test_acc", "cifar10valid_val_acc",
                                          "cifar100_test_acc", "cifar100_val_acc", "imagenet16_test_acc",
                                          "imagenet16_val_acc"), NB201_CELLS),
    CsvSpec("nb201_naslib_single_seed_zen.csv", ("arch_index", "arch_str", "naslib_op_indices",
                                                 "cifar10_acc_single_seed", "cifar100_acc_single_seed",
                                                 "imagenet16_acc_single_seed", "cifar10_zen_score",
                                                 "cifar100_zen_score", "imagenet16_zen_score"), NB201_CELLS),
    CsvSpec("nb201_zc_proxies_cifar10.csv", _ZC_COLUMNS, NB201_PROXY_ROWS, in_index_order=False),
    CsvSpec("nb201_zc_proxies_imagenet16.csv", _ZC_COLUMNS, NB201_PROXY_ROWS, in_index_order=False),
    CsvSpec("nb201_hw_metrics.csv", ("arch_index", "dataset", *HW_COLUMNS), 3 * NB201_CELLS),
)}
HW_DATASETS = ("cifar10", "cifar100", "imagenet16")


@dataclass
class Tables:
    """The warehouse tables as frames, in ``SCHEMA_SQL`` column order."""

    architectures: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    proxies: list[dict] = field(default_factory=list)
    hardware: list[dict] = field(default_factory=list)
    curves: list[dict] | pd.DataFrame = field(default_factory=list)  # NDS: one frame (columnar: millions of rows)
    sources: list[dict] = field(default_factory=list)
    nds_runs: list[dict] = field(default_factory=list)


# --- NB201 -------------------------------------------------------------------------------------


def read_nb201(directory: Path, problems: Problems, tick: Callable[[int], object] = lambda n: None
               ) -> dict[str, pd.DataFrame]:
    """Validate every known NB201 file present in ``directory``; the primary file is required."""
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory (pass the nasbench201 folder of the benchmark data)")
    frames: dict[str, pd.DataFrame] = {}
    primary = NB201_FILES["nb201_acc200_natsbench.csv"]
    if nb201_file(directory, primary.name) is None:
        raise DataError(f"{directory / primary.name}: file not found (the primary NB201 table is required, "
                        "as .csv or .parquet)")
    canonical: list[str] | None = None
    parsed: dict[str, Cell | None] = {}
    for spec in NB201_FILES.values():
        path = nb201_file(directory, spec.name)
        if path is None:
            continue
        read = _read_parquet if path.suffix == ".parquet" else _read_csv
        frame = read(path, spec, problems, canonical, parsed)
        tick(1)
        if frame is not None:
            frames[spec.name] = frame
            if spec is primary:
                canonical = list(frame["arch_str"])
                if len(set(canonical)) != len(canonical):
                    problems.add(str(path), "arch_str values are not unique")
        if canonical is None:  # the primary file failed: string agreement cannot be checked
            problems.raise_if_any()
    return frames


def nb201_file(directory: Path, name: str) -> Path | None:
    """The file holding table ``name`` (``<stem>.csv``) in ``directory``: its Parquet form if present."""
    for path in (directory / Path(name).with_suffix(".parquet").name, directory / name):
        if path.exists():
            return path
    return None


def _read_parquet(path: Path, spec: CsvSpec, problems: Problems, canonical: list[str] | None,
                  parsed: dict[str, Cell | None]) -> pd.DataFrame | None:
    before = problems.count
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        problems.add(str(path), f"not a readable Parquet file ({exc})")
        return None
    if tuple(table.column_names) != spec.columns:
        missing = [c for c in spec.columns if c not in table.column_names]
        extra = [c for c in table.column_names if c not in spec.columns]
        problems.add(str(path), f"unexpected columns (missing {missing or 'none'}, extra {extra or 'none'}; "
                     f"expected {', '.join(spec.columns)})")
        return None
    for name, column in zip(spec.columns, table.columns, strict=True):
        t = column.type
        ok = (pa.types.is_integer(t) if name == "arch_index" else
              pa.types.is_string(t) or pa.types.is_large_string(t) if name in spec.text else
              pa.types.is_floating(t) or pa.types.is_integer(t))
        if not ok:
            problems.add(str(path), f"column {name} has type {t} (expected "
                         + ("integers" if name == "arch_index" else "text" if name in spec.text else "numbers") + ")")
    if problems.count > before:
        return None
    rows = zip(*(c.to_pylist() for c in table.columns), strict=True)
    records = _rows(path, spec, rows, problems, canonical, parsed, line_offset=None)
    if len(records) != spec.rows:
        problems.add(str(path), f"expected {spec.rows:,} rows, found {len(records):,}")
    if problems.count > before:
        return None
    return pd.DataFrame.from_records(records, columns=list(spec.columns))


def _read_csv(path: Path, spec: CsvSpec, problems: Problems, canonical: list[str] | None,
              parsed: dict[str, Cell | None]) -> pd.DataFrame | None:
    before = problems.count
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        problems.add(str(path), f"cannot read ({exc})")
        return None
    with handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                problems.add(str(path), "empty file (expected a header row)")
                return None
            if tuple(header) != spec.columns:
                missing = [c for c in spec.columns if c not in header]
                extra = [c for c in header if c not in spec.columns]
                problems.add(f"{path}:1", f"unexpected header (missing {missing or 'none'}, extra {extra or 'none'}; "
                             f"expected {', '.join(spec.columns)})")
                return None
            records = _rows(path, spec, reader, problems, canonical, parsed)
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.add(str(path), f"not a readable CSV file ({exc})")
            return None
    if len(records) != spec.rows:
        problems.add(str(path), f"expected {spec.rows:,} data rows, found {len(records):,}"
                     + (" (truncated file?)" if len(records) < spec.rows else ""))
    if problems.count > before:
        return None
    return pd.DataFrame.from_records(records, columns=list(spec.columns))


def _rows(path: Path, spec: CsvSpec, reader: Iterable[Sequence], problems: Problems,
          canonical: list[str] | None, parsed: dict[str, Cell | None], line_offset: int | None = 2) -> list[tuple]:
    """Check and convert rows of raw values: CSV strings, or Parquet's Python values (None = missing).
    ``line_offset`` turns a row number into a file line (CSV: the header is line 1); None: no lines."""
    n = len(spec.columns)
    seen: set[tuple] = set()
    ds_col = spec.columns.index("dataset") if "dataset" in spec.columns else None
    records = []
    for r, row in enumerate(reader):
        where = f"{path}:{r + line_offset} (row {r})" if line_offset is not None else f"{path} (row {r})"
        if len(row) != n:
            problems.add(where, f"expected {n} fields, found {len(row)}"
                         + (" (truncated row?)" if len(row) < n else ""))
            continue
        values: list = []
        ok = True
        for col, raw in zip(spec.columns, row, strict=True):
            if col in spec.text:
                if not isinstance(raw, str):  # a Parquet null
                    problems.add(where, f"{col}: missing value")
                    ok = False
                values.append(raw)
                continue
            try:
                v = int(raw) if col == "arch_index" else (math.nan if raw in ("", None) else float(raw))
            except (ValueError, TypeError):
                problems.add(where, f"{col}: not a number: {raw!r}")
                ok = False
                continue
            if col != "arch_index" and (math.isinf(v) or (math.isnan(v) and col not in spec.nullable)):
                problems.add(where, f"{col}: missing or infinite value {raw!r}")
                ok = False
            values.append(v)
        if not ok:
            continue
        rec = dict(zip(spec.columns, values, strict=True))
        idx = rec["arch_index"]
        if not 0 <= idx < NB201_CELLS:
            problems.add(where, f"arch_index {idx} out of range 0..{NB201_CELLS - 1}")
            continue
        key = (idx, values[ds_col]) if ds_col is not None else (idx,)
        if key in seen:
            problems.add(where, f"duplicate arch_index {idx}" + (f" for {values[ds_col]}" if ds_col else ""))
        seen.add(key)
        if spec.in_index_order and idx != r % NB201_CELLS:
            problems.add(where, f"arch_index {idx} out of order (expected {r % NB201_CELLS}: rows are in index order)")
        if ds_col is not None and values[ds_col] not in HW_DATASETS:
            problems.add(where, f"dataset {values[ds_col]!r} is not one of {', '.join(HW_DATASETS)}")
        if "arch_str" in rec:
            _check_arch(where, rec, problems, canonical, parsed)
        records.append(tuple(values))
    return records


def _check_arch(where: str, rec: dict, problems: Problems, canonical: list[str] | None,
                parsed: dict[str, Cell | None]) -> None:
    arch = rec["arch_str"]
    if arch not in parsed:
        try:
            parsed[arch] = Cell.from_nb201(arch)
        except CellError as exc:
            parsed[arch] = None
            problems.add(where, f"arch_str {arch!r} does not parse: {exc}")
            return
    if parsed[arch] is None:
        problems.add(where, f"arch_str {arch!r} does not parse")
        return
    idx = rec["arch_index"]
    if canonical is not None and canonical[idx] != arch:
        problems.add(where, f"arch_index {idx} ↔ arch_str mismatch: this file says {arch!r}, "
                     f"the primary table says {canonical[idx]!r}")
    if "naslib_op_indices" in rec:
        expected = naslib_encoding(parsed[arch])  # type: ignore[arg-type]
        if rec["naslib_op_indices"] != expected:
            problems.add(where, f"naslib_op_indices {rec['naslib_op_indices']!r} does not match arch_str "
                         f"(expected {expected!r})")


def naslib_encoding(cell: Cell) -> str:
    """NASLib's six op digits (edge order e01,e02,e03,e12,e13,e23) for an NB201 cell."""
    ops = dict(zip(EDGE_COLUMNS, (e.op for e in cell.edges), strict=True))  # from_nb201 keeps string order
    return ",".join(str(NASLIB_OPS.index(ops[e])) for e in NASLIB_EDGE_ORDER)


# --- tables ------------------------------------------------------------------------------------


def class_signature(cell: Cell) -> tuple:
    """The cell with each op replaced by its class (absent / non-parameterized / parameterized;
    'concat' kept, since it joins instead of adding). ``explorer.cell.ops``: only the class of an op
    matters to the connectivity metrics, so cells with one signature share every metric."""
    # Sorted: edge order changes no metric, so a DARTS node's two pairs in either order share one entry.
    return cell.roles, tuple(sorted((e.src, e.dst, "concat" if e.op == "concat" else OPS[e.op].op_class.value)
                                    for e in cell.edges))


class MetricsCache:
    """``explorer.theory.metrics.metrics`` once per class signature (NB201: 729 signatures for 15,625 cells).
    The NB201 test compares every stored row with ``metrics`` of its own arch string."""

    def __init__(self, k0: float = DEFAULT_K0) -> None:
        self.k0 = k0
        self._cache: dict[tuple, CellMetrics] = {}

    def __call__(self, cell: Cell) -> CellMetrics:
        key = class_signature(cell)
        if key not in self._cache:
            self._cache[key] = metrics(cell, self.k0)
        return self._cache[key]


INT64_MAX = 2**63 - 1


def metrics_columns(m: CellMetrics) -> dict:
    """The architectures columns that come from ``CellMetrics`` (a cell's or a whole network's)."""
    # CellMetrics.to_dict without its deep copy (asdict) and without path_depths (up to 10,000
    # numbers; path_histogram holds the same information): a build converts one per architecture.
    core = {f.name: getattr(m, f.name) for f in dataclasses.fields(m) if f.name != "path_depths"}
    core = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in core.items()}
    return {
        # P beyond 64 bits (networks: 2^blocks) is NULL here; log2_paths and metrics_json keep it.
        "paths": m.paths if m.paths <= INT64_MAX else None,
        "log2_paths": math.log2(m.paths) if m.paths > 0 else None,
        "effective_depth": m.effective_depth, "effective_width": m.effective_width,
        "undefined_reason": m.undefined_reason, "cell_width": m.cell_width, "cell_depth": m.cell_depth,
        "n_parameterized_ops": m.n_parameterized_ops, "k0": m.k0, "nngp_eq12": m.nngp_eq12,
        "nngp_lambda_min": m.nngp_lambda_min, "nngp_exact_dag": m.nngp_exact_dag,
        "metrics_json": json.dumps(core, separators=(",", ":")),
    }


def architecture_row(arch_id: int, space: str, source_id: int, cell: Cell, *, arch_str: str,
                     genotype_json: str | None, cell_metrics: Callable[[Cell], CellMetrics]) -> dict:
    """Identity, op counts and every core metric of one cell (``explorer.theory.metrics.metrics``)."""
    m = cell_metrics(cell)
    live = cell.live_edges
    families = [OPS[e.op].family for e in live if e.op != "concat"]
    assert arch_str == cell.to_text()  # the editor link opens arch_str
    return {
        "arch_id": arch_id, "space": space, "source_id": source_id, "arch_str": arch_str,
        "genotype_json": genotype_json, "family": "cell",
        **{col: None for col in EDGE_COLUMNS}, "unique_str": None,
        "n_conv": families.count("conv") + families.count("linear"),
        "n_skip": families.count("skip"), "n_pool": families.count("pool"),
        "n_none": sum(e.absent for e in cell.edges),
        "n_conv3x3": None, "n_conv1x1": None,
        **metrics_columns(m),
        "params_m": None, "flops_m": None, "net_width": None, "net_depth": None,
    }


def nb201_tables(frames: dict[str, pd.DataFrame], tables: Tables, tick: Callable[[int], object]) -> None:
    main = frames["nb201_acc200_natsbench.csv"]
    naswot = frames.get("nb201_cifar10_naswot.csv")
    zc10 = frames.get("nb201_zc_proxies_cifar10.csv")
    flops = dict(zip(zc10["arch_index"], zc10["flops_m"], strict=True)) if zc10 is not None else {}
    params = list(naswot["params_m"]) if naswot is not None else [None] * len(main)
    cell_metrics = MetricsCache()
    for idx, arch, unique in zip(main["arch_index"], main["arch_str"], main["unique_str"], strict=True):
        cell = Cell.from_nb201(arch)
        row = architecture_row(int(idx), "nb201", int(idx), cell, arch_str=arch, genotype_json=None,
                               cell_metrics=cell_metrics)
        ops = [e.op for e in cell.edges]
        row.update(dict(zip(EDGE_COLUMNS, ops, strict=True)), unique_str=unique,
                   n_conv3x3=ops.count("nor_conv_3x3"), n_conv1x1=ops.count("nor_conv_1x1"),
                   params_m=params[idx], flops_m=flops.get(idx), **NB201_NET)
        tables.architectures.append(row)
        tick(1)
    _nb201_results(frames, tables)
    _nb201_proxies(frames, tables)
    hw = frames.get("nb201_hw_metrics.csv")
    if hw is not None:
        out = hw.rename(columns=HW_COLUMNS).rename(columns={"arch_index": "arch_id"})
        tables.hardware.extend(out.to_dict("records"))


# (file, dataset, schedule, epochs, seeds, test column, valid column, source note)
_NB201_RESULTS = (
    ("nb201_acc200_natsbench.csv", "cifar10", 200, "mean", "cifar10_test_acc", None, "NATS-Bench TSS v1.0"),
    ("nb201_acc200_natsbench.csv", "cifar100", 200, "mean", "cifar100_test_acc", None, "NATS-Bench TSS v1.0"),
    ("nb201_acc200_natsbench.csv", "imagenet16", 200, "mean", "imagenet16_test_acc", None, "NATS-Bench TSS v1.0"),
    (
        "nb201_cifar10_naswot.csv",
        "cifar10valid",
        200,
        "mean",
        "cifar10valid_test_acc",
        "cifar10valid_val_acc",
        "NAS-Bench-201 v1.1 (NASWOT export)",
    ),
    ("nb201_acc12_minibench.csv", "cifar10", 12, "mean", "cifar10_test_acc", None, "NAS-Bench-201 v1.1, hp=12"),
    (
        "nb201_acc12_minibench.csv",
        "cifar10valid",
        12,
        "mean",
        None,
        "cifar10valid_val_acc",
        "NAS-Bench-201 v1.1, hp=12",
    ),
    (
        "nb201_acc12_minibench.csv",
        "cifar100",
        12,
        "mean",
        "cifar100_test_acc",
        "cifar100_val_acc",
        "NAS-Bench-201 v1.1, hp=12",
    ),
    (
        "nb201_acc12_minibench.csv",
        "imagenet16",
        12,
        "mean",
        "imagenet16_test_acc",
        "imagenet16_val_acc",
        "NAS-Bench-201 v1.1, hp=12",
    ),
    # NASLib's CIFAR-10 single seed is the cifar10-valid run evaluated on the test set.
    ("nb201_naslib_single_seed_zen.csv", "cifar10valid", 200, "single", "cifar10_acc_single_seed", None, "NASLib"),
    ("nb201_naslib_single_seed_zen.csv", "cifar100", 200, "single", "cifar100_acc_single_seed", None, "NASLib"),
    ("nb201_naslib_single_seed_zen.csv", "imagenet16", 200, "single", "imagenet16_acc_single_seed", None, "NASLib"),
)


def schedule_name(epochs: int, seeds: str) -> str:
    """'200ep' for a seed mean, '200ep-single' for one seed."""
    return f"{epochs}ep" if seeds == "mean" else f"{epochs}ep-single"


def _nb201_results(frames: dict[str, pd.DataFrame], tables: Tables) -> None:
    for name, dataset, epochs, seeds, test_col, valid_col, source in _NB201_RESULTS:
        f = frames.get(name)
        if f is None:
            continue
        test = f[test_col] if test_col else [None] * len(f)
        valid = f[valid_col] if valid_col else [None] * len(f)
        for idx, t, v in zip(f["arch_index"], test, valid, strict=True):
            tables.results.append({
                "arch_id": int(idx), "dataset": dataset, "schedule": schedule_name(epochs, seeds),
                "epochs": epochs, "seeds": seeds, "test_acc": t, "valid_acc": v,
                "rng_seed": None, "base_lr": None, "weight_decay": None, "source": f"{source} ({name})",
            })


def _nb201_proxies(frames: dict[str, pd.DataFrame], tables: Tables) -> None:
    def add(name: str, dataset: str, proxy: str, column: str) -> None:
        f = frames.get(name)
        if f is None:
            return
        for idx, value in zip(f["arch_index"], f[column], strict=True):
            if not math.isnan(value) and value != MISSING_SCORE:
                tables.proxies.append({"arch_id": int(idx), "dataset": dataset, "proxy": proxy,
                                       "value": float(value), "source": name})

    add("nb201_cifar10_naswot.csv", "cifar10", "naswot_v1", "naswot_v1_score")
    for ds in HW_DATASETS:  # Zen for all 15,625 cells (the ZC files repeat it for their 9,445)
        add("nb201_naslib_single_seed_zen.csv", ds, "zen", f"{ds}_zen_score")
    for ds in ("cifar10", "imagenet16"):
        name = f"nb201_zc_proxies_{ds}.csv"
        for proxy in PROXIES_ZC:
            add(name, ds, proxy, proxy)
        add(name, ds, "flops", "flops_m")
        add(name, ds, "params", "params_m")
