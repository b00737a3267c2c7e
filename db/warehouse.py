"""The benchmark warehouse file: its schema, the atomic write of a new file, read-only connections.

Storage only: the tables arrive as rows (``write_warehouse``); what goes into them (validation,
metrics) and every query live in ``explorer.benchmarks`` (``build``, ``warehouse``). The schema is
``SCHEMA_SQL``; docs/warehouse.md explains every column.

DuckDB facts this relies on (NOTES.md): a read-write connection locks the file for every other
process, so nothing but the write ever opens one, and it only opens its temporary file; within one
process DuckDB caches database instances by path, so a reader closes a stale connection before
opening a rebuilt file (``explorer.benchmarks.warehouse.open_shared``).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from tqdm import tqdm

from db.errors import WarehouseUnavailable

SCHEMA_VERSION = 2

SCHEMA_SQL = """
CREATE TABLE architectures (
    arch_id            BIGINT PRIMARY KEY,  -- NB201: arch_index; NDS: 1,000,000 + running number
    space              VARCHAR NOT NULL,    -- 'nb201' or 'nds:<space>' (e.g. 'nds:DARTS', 'nds:ResNet_in')
    family             VARCHAR NOT NULL,    -- 'cell', or for NDS networks 'residual_basic' |
                                            -- 'residual_bottleneck' | 'vanilla' (NNI's model_family)
    source_id          BIGINT NOT NULL,     -- NB201 arch_index / position of the entry in the NDS file
    arch_str           VARCHAR NOT NULL,    -- Cell.to_text() of the cell the metrics describe: the NB201
                                            -- arch string; NDS: the normal cell's genotype JSON (editor link);
                                            -- NDS networks: their stage lists as JSON (no editor link)
    genotype_json      VARCHAR,             -- NDS: the full genotype (normal and reduce) as given
    e01 VARCHAR, e02 VARCHAR, e12 VARCHAR, e03 VARCHAR, e13 VARCHAR, e23 VARCHAR,  -- NB201 edge ops
    unique_str         VARCHAR,             -- NB201: NATS 'unique string' (equivalent cells share it)
    n_conv             INTEGER NOT NULL,    -- live edges with a parameterized op (conv/linear)
    n_skip             INTEGER NOT NULL,
    n_pool             INTEGER NOT NULL,
    n_none             INTEGER NOT NULL,    -- 'none' edges (absent)
    n_conv3x3          INTEGER,             -- NB201 only
    n_conv1x1          INTEGER,             -- NB201 only
    paths              BIGINT,              -- P: input → output paths through live edges (NULL past 2^63)
    log2_paths         DOUBLE,              -- log2 P (NULL when P = 0)
    effective_depth    DOUBLE,              -- d̄ (NULL when undefined, see undefined_reason)
    effective_width    DOUBLE,              -- m̄
    undefined_reason   VARCHAR,
    cell_width         DOUBLE NOT NULL,     -- Shu et al. width (in units of c)
    cell_depth         INTEGER,             -- Shu et al. depth (edges on the longest path; NULL: no path)
    n_parameterized_ops INTEGER NOT NULL,
    k0                 DOUBLE NOT NULL,     -- the K0 of the NNGP columns (0.5)
    nngp_eq12          DOUBLE NOT NULL,     -- Chen et al. Eq. 12 bound P − Σ_p f^{d_p}(K0)
    nngp_lambda_min    DOUBLE NOT NULL,     -- λmin of the sum-rule kernel
    nngp_exact_dag     DOUBLE NOT NULL,     -- λmin of the exact infinite-width DAG kernel
    metrics_json       VARCHAR NOT NULL,    -- CellMetrics.to_dict() (without path_depths)
    params_m           DOUBLE,              -- parameters (millions); NB201: CIFAR-10 network
    flops_m            DOUBLE,              -- MFLOPs; NB201: CIFAR-10 network, 9,445 cells only
    net_width          INTEGER,             -- network: initial channels (NB201: 16)
    net_depth          INTEGER              -- network: cells per stage (NB201: 5) / NDS net.depth
);
CREATE TABLE results (
    arch_id      BIGINT NOT NULL REFERENCES architectures (arch_id),
    dataset      VARCHAR NOT NULL,   -- cifar10, cifar10valid, cifar100, imagenet16, imagenet (NDS _in)
    schedule     VARCHAR NOT NULL,   -- '<epochs>ep' (seed mean) or '<epochs>ep-single' (one seed)
    epochs       INTEGER NOT NULL,
    seeds        VARCHAR NOT NULL,   -- 'mean' | 'single'
    test_acc     DOUBLE,             -- top-1 %, NULL where the source has none
    valid_acc    DOUBLE,
    rng_seed     BIGINT,             -- NDS
    base_lr      DOUBLE,             -- NDS
    weight_decay DOUBLE,             -- NDS
    final_test_acc DOUBLE,           -- NDS: 100 − the last epoch's test_ep_top1
    source       VARCHAR NOT NULL,
    PRIMARY KEY (arch_id, dataset, schedule)
);
CREATE TABLE proxies (
    arch_id BIGINT NOT NULL REFERENCES architectures (arch_id),
    dataset VARCHAR NOT NULL,
    proxy   VARCHAR NOT NULL,        -- naswot_v1, zen, epe_nas, fisher, ..., flops, params
    value   DOUBLE NOT NULL,         -- missing scores (NaN, -1e8 sentinel) have no row
    source  VARCHAR NOT NULL,
    PRIMARY KEY (arch_id, dataset, proxy)
);
CREATE TABLE hardware (
    arch_id BIGINT NOT NULL REFERENCES architectures (arch_id),
    dataset VARCHAR NOT NULL,
    edgegpu_latency_ms DOUBLE, edgegpu_energy_mj DOUBLE, raspi4_latency_ms DOUBLE,
    edgetpu_latency_ms DOUBLE, pixel3_latency_ms DOUBLE, eyeriss_latency_ms DOUBLE,
    eyeriss_energy_mj DOUBLE, eyeriss_arithmetic_intensity DOUBLE, fpga_latency_ms DOUBLE,
    fpga_energy_mj DOUBLE,
    PRIMARY KEY (arch_id, dataset)
);
CREATE TABLE curves (
    arch_id    BIGINT NOT NULL REFERENCES architectures (arch_id),
    dataset    VARCHAR NOT NULL,
    schedule   VARCHAR NOT NULL,
    epoch      INTEGER NOT NULL,     -- 1-based
    train_loss DOUBLE,
    train_acc  DOUBLE,               -- 100 − train_ep_top1
    test_acc   DOUBLE,               -- 100 − test_ep_top1
    PRIMARY KEY (arch_id, dataset, schedule, epoch)
);
CREATE TABLE sources (
    path   VARCHAR NOT NULL,
    kind   VARCHAR NOT NULL,         -- 'nb201' | 'nds'
    bytes  BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL
);
CREATE TABLE nds_runs (
    arch_id          BIGINT PRIMARY KEY REFERENCES architectures (arch_id),
    space            VARCHAR NOT NULL,
    source           VARCHAR NOT NULL,  -- the file (zip member) the entry came from
    entry_group      VARCHAR,           -- 'top' | 'mid' (split files such as ResNet_reruns), else NULL
    sweep            VARCHAR NOT NULL,  -- NNI's generator: random | fix_w_d | tune_lr_wd
    block_type       VARCHAR,           -- networks: res_basic_block | res_bottleneck_block | double_plain_block
    stage_depths     VARCHAR,           -- networks: JSON lists as given (net.ds, ws, ss, bot_muls, num_gs)
    stage_widths     VARCHAR,
    stage_strides    VARCHAR,
    bottleneck_multipliers VARCHAR,
    group_counts     VARCHAR,
    stem_width       INTEGER,           -- net.stem_w when given
    aux              BOOLEAN,           -- net.aux (cell spaces)
    drop_prob        DOUBLE,            -- net.drop_prob (cell spaces)
    max_epochs       INTEGER NOT NULL,  -- optim.max_ep
    curve_epochs     INTEGER NOT NULL,  -- length of the longest stored curve
    min_test_error   DOUBLE,            -- min_test_top1 (NULL: missing / NaN)
    final_test_error DOUBLE,            -- test_ep_top1 at the last epoch
    final_train_loss DOUBLE,            -- NULL when NaN (diverged)
    best_train_loss  DOUBLE,            -- NaN-ignoring minimum (NNI: np.nanmin)
    iter_time        DOUBLE,            -- seconds per iteration
    prec_time        DOUBLE,
    diverged         BOOLEAN NOT NULL,  -- train_ep_loss NaN / inf at some epoch
    incomplete       BOOLEAN NOT NULL,  -- curves shorter than max_epochs, or no min_test_top1
    net_json         VARCHAR NOT NULL   -- the entry's net object without the genotype, as given
);
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
"""

# Derived at build time: architectures ⋈ results, one row per result, sorted by result set. The pages
# filter and aggregate this table (no join per query, and the sort lets DuckDB skip other result sets).
BROWSE_SQL = """
CREATE TABLE browse AS
SELECT r.arch_id, a.space, r.dataset, r.schedule, r.epochs, r.seeds, r.test_acc, r.valid_acc,
       a.source_id, a.arch_str, a.family, a.effective_depth, a.effective_width, a.cell_width, a.cell_depth,
       a.paths, a.log2_paths,
       a.n_conv, a.n_skip, a.n_pool, a.n_none, a.n_conv3x3, a.n_conv1x1, a.n_parameterized_ops,
       a.nngp_eq12, a.nngp_lambda_min, a.nngp_exact_dag, a.params_m, a.flops_m, a.net_width, a.net_depth
FROM results r JOIN architectures a USING (arch_id)
ORDER BY a.space, r.dataset, r.schedule, r.arch_id;
"""

TABLE_ORDER = ("architectures", "results", "proxies", "hardware", "curves", "sources", "nds_runs")
QUERYABLE = (*TABLE_ORDER, "browse", "meta")
ROW_GROUP_SIZE = 16_384  # ≈ one NB201 result set per row group, so a filtered query skips the others


Rows = Sequence[Mapping[str, Any]] | pd.DataFrame  # a frame for tables of millions of rows (columnar)


def write_warehouse(db: Path, tables: Mapping[str, Rows], meta: Mapping[str, str],
                    *, progress: bool = False) -> dict[str, int]:
    """Write ``tables`` (name → rows or a frame, in ``TABLE_ORDER``'s schema) and ``meta`` into a new file beside
    ``db``, then swap it in atomically: readers see the old file or the new one, and an error or
    interruption leaves the old one untouched. Returns the row count of each table."""
    db.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(db)
    tmp = db.with_name(f".{db.name}.building-{os.getpid()}")
    _remove(tmp)
    try:
        counts = _write(tmp, tables, meta, progress)
        os.replace(tmp, db)  # atomic on one filesystem
    finally:
        _remove(tmp)
    return counts


def _write(path: Path, tables: Mapping[str, Rows], meta: Mapping[str, str],
           progress: bool) -> dict[str, int]:
    con = duckdb.connect()
    try:
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute("USE warehouse")
        con.execute(SCHEMA_SQL)
        counts = {}
        for name in tqdm(TABLE_ORDER, desc="writing", unit="table", disable=not progress, leave=False):
            rows = tables.get(name, ())
            cols = [c[0] for c in con.execute(f"DESCRIBE {name}").fetchall()]
            if len(rows):
                frame = (rows[cols] if isinstance(rows, pd.DataFrame)  # noqa: F841 (scanned by name below)
                         else pd.DataFrame.from_records(rows, columns=cols))
                con.execute(f"INSERT INTO {name} SELECT * FROM frame")
            counts[name] = len(rows)
        con.execute(BROWSE_SQL)
        stamp = {"schema_version": str(SCHEMA_VERSION),
                 "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        con.executemany("INSERT INTO meta VALUES (?, ?)", list({**stamp, **meta}.items()))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts


def connect_read_only(path: Path, how_to_build: Callable[[Path], str]) -> duckdb.DuckDBPyConnection:
    """A read-only connection (file access disabled) to a warehouse of this schema version;
    ``WarehouseUnavailable`` (its message ending in ``how_to_build(path)``) otherwise."""
    if not path.exists():
        raise WarehouseUnavailable(f"{path}: no warehouse here; build one with {how_to_build(path)}")
    try:
        con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    except duckdb.Error as exc:
        raise WarehouseUnavailable(f"{path}: cannot open the warehouse ({exc})") from None
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = None if row is None else row[0]
    except duckdb.Error:
        version = None
    if version != str(SCHEMA_VERSION):
        con.close()
        raise WarehouseUnavailable(f"{path}: not a warehouse of schema version {SCHEMA_VERSION} "
                                   f"(found {version!r}); rebuild it with {how_to_build(path)}")
    return con


def read_meta(path: str | Path) -> dict[str, str] | None:
    """A warehouse file's meta table (None when there is no file); ``WarehouseUnavailable`` when unreadable."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    except duckdb.Error as exc:
        raise WarehouseUnavailable(f"{path}: cannot open the warehouse ({exc})") from None
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    except duckdb.Error as exc:
        raise WarehouseUnavailable(f"{path}: not a warehouse ({exc})") from None
    finally:
        con.close()


def _remove_stale_builds(db: Path) -> None:
    """Temporary files of builds that were killed (their process is gone) are removed."""
    for path in db.parent.glob(f".{db.name}.building-*"):
        pid = path.name.rsplit("-", 1)[1].removesuffix(".wal")
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:  # alive, another user's
            pass


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
