"""Queries over the benchmark warehouse: ``Warehouse`` (read-only, one cursor per call so Streamlit
sessions can share it), ``Filter`` (what the pages select), the read-only SQL box's guard, and one
shared handle per file per process (``open_shared``).

Long because it is the one place that writes SQL against the warehouse: every page's and the
CLI's query is a method here, so the SQL and its parameter handling are reviewed together.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from db.errors import WarehouseUnavailable
from db.warehouse import QUERYABLE, TABLE_ORDER, connect_read_only
from explorer.core.errors import DataError, UserError

# Columns a Filter may constrain with a range (whitelist: they go into SQL by name).
RANGE_COLUMNS: tuple[str, ...] = (
    "effective_depth", "effective_width", "cell_width", "cell_depth", "paths", "n_conv", "n_skip", "n_pool",
    "n_none", "n_conv3x3", "n_conv1x1", "params_m", "flops_m", "nngp_eq12", "test_acc", "valid_acc",
)
ROW_COLUMNS = (  # what ``Warehouse.rows`` can return (plus 'accuracy' and proxy_<name> columns)
    "arch_id", "space", "source_id", "arch_str", "effective_depth", "effective_width",
    "cell_width", "cell_depth", "paths", "n_conv", "n_skip", "n_pool", "n_none", "n_parameterized_ops",
    "nngp_eq12", "nngp_lambda_min", "nngp_exact_dag", "params_m", "flops_m", "net_width", "net_depth",
    "dataset", "schedule", "epochs", "seeds", "test_acc", "valid_acc",
)
TABLE_COLUMNS = (  # the browse page's results table (a page at a time; downloads get ROW_COLUMNS)
    "arch_id", "arch_str", "effective_depth", "effective_width", "cell_width", "cell_depth", "paths",
    "n_conv", "n_skip", "n_pool", "n_none", "params_m", "nngp_eq12",
)
DEFAULT_ROW_LIMIT = 10_000
DEFAULT_TIMEOUT_S = 10.0
MAX_PAGE = 1_000


Accuracy = Literal["test_acc", "valid_acc"]  # which accuracy column a result set is ranked by


# --- filters -----------------------------------------------------------------------------------

Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class Filter:
    """What the browse page (or a script) selects: one result set and ranges over columns.

    ``ranges`` maps a name of ``RANGE_COLUMNS`` to (low, high), either end None for open;
    ``proxy_ranges`` maps a proxy name to (low, high) over its score on ``proxy_dataset(dataset)``.
    Architectures whose d̄/m̄ is undefined drop out of any d̄/m̄ range.
    """

    space: str = "nb201"
    dataset: str = "cifar10"
    schedule: str = "200ep"
    ranges: Mapping[str, Range] = field(default_factory=dict)
    n_conv: tuple[int, ...] | None = None  # allowed numbers of conv edges (None: any)
    proxy_ranges: Mapping[str, Range] = field(default_factory=dict)
    accuracy: Accuracy = "test_acc"

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition over ``browse b`` and its parameters."""
        sql = ["b.space = ?", "b.dataset = ?", "b.schedule = ?"]
        params: list[Any] = [self.space, self.dataset, self.schedule]
        for name, (lo, hi) in self.ranges.items():
            if name not in RANGE_COLUMNS:
                raise UserError(f"cannot filter on {name!r}; columns: {', '.join(RANGE_COLUMNS)}")
            col = f"b.{name}"
            if lo is not None:
                sql.append(f"{col} >= ?")
                params.append(float(lo))
            if hi is not None:
                sql.append(f"{col} <= ?")
                params.append(float(hi))
        if self.n_conv is not None:
            sql.append(f"b.n_conv IN ({', '.join('?' * len(self.n_conv)) or 'NULL'})")
            params.extend(int(n) for n in self.n_conv)
        for proxy, (lo, hi) in self.proxy_ranges.items():
            cond = ["p.arch_id = b.arch_id", "p.dataset = ?", "p.proxy = ?"]
            params_p: list[Any] = [proxy_dataset(self.dataset), proxy]
            if lo is not None:
                cond.append("p.value >= ?")
                params_p.append(float(lo))
            if hi is not None:
                cond.append("p.value <= ?")
                params_p.append(float(hi))
            sql.append(f"EXISTS (SELECT 1 FROM proxies p WHERE {' AND '.join(cond)})")
            params.extend(params_p)
        return " AND ".join(sql), params


def proxy_dataset(dataset: str) -> str:
    """Proxies are scored on the network of the dataset; the cifar10valid runs use CIFAR-10's."""
    return "cifar10" if dataset == "cifar10valid" else dataset


# --- read side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryResult:
    frame: pd.DataFrame
    truncated: bool  # more rows existed than the row limit
    row_limit: int


class Warehouse:
    """A read-only view of a built warehouse. Thread-safe: each call uses its own cursor."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._con = connect_read_only(self.path, build_command)
        except WarehouseUnavailable as exc:
            raise DataError(str(exc)) from None

    def close(self) -> None:
        self._con.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def _frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cur = self._cursor()
        try:
            return cur.execute(sql, list(params)).df()
        finally:
            cur.close()

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self._cursor()
        try:
            row = cur.execute(sql, list(params)).fetchone()
            return None if row is None else row[0]
        finally:
            cur.close()

    # -- overview

    def info(self) -> dict[str, Any]:
        meta = dict(self._frame("SELECT key, value FROM meta").itertuples(index=False, name=None))
        counts = {t: int(self._scalar(f"SELECT count(*) FROM {t}")) for t in TABLE_ORDER}
        return {"path": str(self.path), "meta": meta, "counts": counts}

    def result_sets(self) -> pd.DataFrame:
        """Every (space, dataset, schedule) with its row count and which accuracies it has."""
        return self._frame(
            "SELECT space, dataset, schedule, any_value(epochs) AS epochs, any_value(seeds) AS seeds, "
            "count(*) AS n, count(test_acc) AS n_test, count(valid_acc) AS n_valid "
            "FROM browse GROUP BY ALL ORDER BY ALL")

    def proxy_names(self, space: str, dataset: str) -> list[str]:
        df = self._frame("SELECT DISTINCT p.proxy FROM proxies p JOIN architectures a USING (arch_id) "
                         "WHERE a.space = ? AND p.dataset = ? ORDER BY 1", [space, proxy_dataset(dataset)])
        return list(df["proxy"])

    def column_ranges(self, f: Filter, columns: Sequence[str]) -> dict[str, Range]:
        """(min, max) of columns over the result set of ``f`` (its ranges ignored), for sliders."""
        base = Filter(f.space, f.dataset, f.schedule)
        where, params = base.where()
        for c in columns:
            if c not in RANGE_COLUMNS:
                raise UserError(f"unknown column {c!r}")
        sel = ", ".join(f"min(b.{c}), max(b.{c})" for c in columns)
        cur = self._cursor()
        try:
            row = cur.execute(f"SELECT {sel} FROM browse b WHERE {where}", params).fetchone()
        finally:
            cur.close()
        assert row is not None
        return {c: (_num(row[2 * i]), _num(row[2 * i + 1])) for i, c in enumerate(columns)}

    def column_values(self, f: Filter, column: str, limit: int) -> list[float] | None:
        """The distinct non-null values of ``column`` over the result set of ``f`` (its ranges ignored),
        ascending; None when there are more than ``limit``. A slider over these steps from one stored
        value to the next, where a fixed step mostly lands between them (NB201 has 15 values of d̄)."""
        if column not in RANGE_COLUMNS:
            raise UserError(f"unknown column {column!r}")
        where, params = Filter(f.space, f.dataset, f.schedule).where()
        cur = self._cursor()
        try:
            rows = cur.execute(f"SELECT DISTINCT b.{column} FROM browse b WHERE {where} AND b.{column} IS NOT NULL "
                               f"ORDER BY 1 LIMIT {int(limit) + 1}", params).fetchall()
        finally:
            cur.close()
        return None if len(rows) > limit else [float(r[0]) for r in rows]

    def proxy_ranges(self, f: Filter, proxies: Sequence[str]) -> dict[str, Range]:
        if not proxies:
            return {}
        df = self._frame(
            "SELECT p.proxy, min(p.value) AS lo, max(p.value) AS hi FROM proxies p "
            "JOIN architectures a USING (arch_id) WHERE a.space = ? AND p.dataset = ? "
            f"AND p.proxy IN ({', '.join('?' * len(proxies))}) GROUP BY 1",
            [f.space, proxy_dataset(f.dataset), *proxies])
        return {p: (float(lo), float(hi)) for p, lo, hi in df.itertuples(index=False, name=None)}

    # -- filtered rows

    def _select(self, f: Filter, proxies: Sequence[str], columns: Sequence[str]) -> tuple[str, list[Any]]:
        where, params = f.where()
        unknown = [c for c in columns if c not in ROW_COLUMNS]
        if unknown:
            raise UserError(f"unknown columns {unknown}; columns: {', '.join(ROW_COLUMNS)}")
        cols = [f"b.{c}" for c in dict.fromkeys(["arch_id", *columns])]
        cols.append(f"b.{f.accuracy} AS accuracy")
        pparams: list[Any] = []
        for proxy in proxies:
            cols.append(f"(SELECT p.value FROM proxies p WHERE p.arch_id = b.arch_id AND p.dataset = ? "
                        f"AND p.proxy = ?) AS {_proxy_column(proxy)}")
            pparams += [proxy_dataset(f.dataset), proxy]
        sql = f"SELECT {', '.join(cols)} FROM browse b WHERE {where}"
        return sql, pparams + params

    def count(self, f: Filter) -> int:
        where, params = f.where()
        return int(self._scalar(f"SELECT count(*) FROM browse b WHERE {where}", params))

    def rows(self, f: Filter, *, proxies: Sequence[str] = (), columns: Sequence[str] = ROW_COLUMNS,
             order_by: str = "accuracy", descending: bool = True, limit: int | None = None,
             offset: int = 0) -> pd.DataFrame:
        """Filtered rows (one per architecture): arch_id, ``columns``, accuracy and proxy_<name> per
        proxy, sorted; ``limit`` None returns all of them."""
        sql, params = self._select(f, proxies, columns)
        allowed = {*ROW_COLUMNS, "accuracy", *(_proxy_column(p) for p in proxies)}
        if order_by not in allowed:
            raise UserError(f"cannot sort by {order_by!r}")
        sql += f" ORDER BY {order_by} {'DESC' if descending else 'ASC'} NULLS LAST, arch_id"
        if limit is not None:
            sql += f" LIMIT {max(0, min(int(limit), MAX_PAGE))} OFFSET {max(0, int(offset))}"
        return self._frame(sql, params)

    def export(self, f: Filter, fmt: Literal["csv", "parquet"], *, proxies: Sequence[str] = ()) -> bytes:
        """The whole filtered set as CSV or Parquet bytes (written in memory: file access is off)."""
        df = self.rows(f, proxies=proxies, order_by="arch_id", descending=False)
        buf = io.BytesIO()
        if fmt == "csv":
            df.to_csv(buf, index=False)
        elif fmt == "parquet":
            df.to_parquet(buf, index=False)
        else:
            raise UserError(f"unknown format {fmt!r} (csv or parquet)")
        return buf.getvalue()

    # -- Chen et al. Figure 5

    def figure5(self, f: Filter) -> pd.DataFrame:
        """One row per distinct (d̄, m̄) among the filtered architectures with defined d̄/m̄:
        n, mean and sample standard deviation of the accuracy (Chen et al. Figure 5's bubbles)."""
        where, params = f.where()
        acc = f"b.{f.accuracy}"
        # Rounding merges values that differ only in float noise (d̄, m̄ are ratios of small integers).
        return self._frame(
            "SELECT round(b.effective_depth, 9) AS effective_depth, round(b.effective_width, 9) AS effective_width, "
            f"count(*) AS n, avg({acc}) AS mean_acc, stddev_samp({acc}) AS std_acc, "
            f"min({acc}) AS min_acc, max({acc}) AS max_acc "
            f"FROM browse b WHERE {where} AND b.effective_depth IS NOT NULL AND {acc} IS NOT NULL "
            "GROUP BY 1, 2 ORDER BY 1, 2", params)

    def multiple_r(self, f: Filter) -> tuple[float | None, int]:
        """Multiple correlation R of accuracy on (d̄, m̄) (least squares with intercept) over the
        filtered architectures with defined d̄/m̄, and how many there are."""
        from explorer.benchmarks.analysis import multiple_correlation

        where, params = f.where()
        acc = f"b.{f.accuracy}"
        cur = self._cursor()
        try:
            row = cur.execute(
                f"SELECT count(*), corr({acc}, b.effective_depth), corr({acc}, b.effective_width), "
                "corr(b.effective_depth, b.effective_width) FROM browse b "
                f"WHERE {where} AND b.effective_depth IS NOT NULL AND {acc} IS NOT NULL", params).fetchone()
        finally:
            cur.close()
        assert row is not None
        n, r_yd, r_ym, r_dm = row
        return multiple_correlation(_num(r_yd), _num(r_ym), _num(r_dm)), int(n)

    def space_extent(self, space: str) -> dict[str, float]:
        """Largest path count and cell depth stored for a space (bounds of the reachable d̄/m̄)."""
        cur = self._cursor()
        try:
            row = cur.execute("SELECT max(paths), max(cell_depth) FROM architectures WHERE space = ?",
                              [space]).fetchone()
        finally:
            cur.close()
        assert row is not None
        return {"max_paths": float(row[0] or 0), "max_depth": float(row[1] or 0)}

    def proxy_frame(self, f: Filter, proxies: Sequence[str] | None = None) -> pd.DataFrame:
        """Filtered architectures × their proxy scores, long format (arch_id, d̄, m̄, accuracy, proxy, value)."""
        where, params = f.where()
        names = self.proxy_names(f.space, f.dataset) if proxies is None else list(proxies)
        if not names:
            return pd.DataFrame(columns=["arch_id", "effective_depth", "effective_width", "accuracy",
                                         "proxy", "value"])
        return self._frame(
            f"SELECT b.arch_id, b.effective_depth, b.effective_width, b.{f.accuracy} AS accuracy, p.proxy, p.value "
            "FROM browse b JOIN proxies p ON p.arch_id = b.arch_id "
            f"WHERE {where} AND p.dataset = ? AND p.proxy IN ({', '.join('?' * len(names))}) "
            f"AND b.{f.accuracy} IS NOT NULL ORDER BY p.proxy, b.arch_id",
            [*params, proxy_dataset(f.dataset), *names])

    # -- free SQL (CLI and the app's SQL box)

    def query(
        self, sql: str, *, row_limit: int = DEFAULT_ROW_LIMIT, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> QueryResult:
        """Run one read-only statement. Writes, ATTACH, COPY, settings and file access are refused."""
        statement = check_read_only(self._con, sql)
        cur = self._cursor()
        timer = threading.Timer(timeout_s, cur.interrupt)
        timer.start()
        try:
            res = cur.execute(statement)
            cols = [d[0] for d in res.description or []]
            rows = res.fetchmany(row_limit + 1)
        except duckdb.InterruptException:
            raise UserError(f"query stopped after the {timeout_s:g} s time limit") from None
        except duckdb.PermissionException:
            raise UserError("reading or writing files is not allowed here: query the warehouse tables "
                            f"({', '.join(QUERYABLE)})") from None
        except duckdb.Error as exc:
            raise UserError(f"query failed: {str(exc).strip()}") from None
        finally:
            timer.cancel()
            cur.close()
        return QueryResult(pd.DataFrame.from_records(rows[:row_limit], columns=cols), len(rows) > row_limit, row_limit)


_ALLOWED_STATEMENTS = {"SELECT", "EXPLAIN"}
# Table functions that read files or the host; file access is off anyway, this names the refusal.
_FILE_FUNCTIONS = ("read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
                   "read_json_objects", "read_ndjson", "read_text", "read_blob", "glob", "sniff_csv",
                   "parquet_metadata", "parquet_schema", "read_xlsx", "sqlite_scan", "postgres_scan",
                   "delta_scan", "iceberg_scan", "duckdb_secrets")


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The single statement of ``sql`` if it only reads the warehouse; else a UserError saying why."""
    import re

    if not sql or not sql.strip():
        raise UserError("empty query: write one SELECT statement")
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise UserError(f"query does not parse: {str(exc).strip()}") from None
    if len(statements) != 1:
        raise UserError(f"one statement at a time, found {len(statements)}")
    kind = statements[0].type.name
    if kind not in _ALLOWED_STATEMENTS:
        raise UserError(f"Only SELECT (or EXPLAIN) queries run here: the warehouse is read-only, so "
                        f"{_statement_phrase(kind)} is refused. Try: SELECT * FROM architectures LIMIT 10")
    lowered = sql.lower()
    for name in _FILE_FUNCTIONS:
        if re.search(rf"\b{name}\s*\(", lowered):
            raise UserError(f"{name}() reads files and is not allowed here: query the warehouse tables "
                            f"({', '.join(QUERYABLE)})")
    return statements[0].query


# What a refused DuckDB statement type does, in words; other types read "a/an <TYPE> statement".
_STATEMENT_PHRASES = {
    "SET": "changing a setting (SET)", "VARIABLE_SET": "setting a variable (SET VARIABLE)",
    "LOAD": "loading an extension (LOAD)", "EXTENSION": "installing an extension",
    "TRANSACTION": "a transaction statement (BEGIN, COMMIT, ROLLBACK)",
    "CREATE_FUNC": "creating a function or macro",
}


def _statement_phrase(kind: str) -> str:
    if kind in _STATEMENT_PHRASES:
        return _STATEMENT_PHRASES[kind]
    if kind in ("INVALID", "RELATION", "LOGICAL_PLAN", "MULTI"):
        return "this kind of statement"
    return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind.replace('_', ' ')} statement"


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _proxy_column(proxy: str) -> str:
    import re

    if not re.fullmatch(r"[a-z0-9_]+", proxy):
        raise UserError(f"bad proxy name {proxy!r}")
    return f"proxy_{proxy}"


def build_command(db: str | Path, nb201_dir: str | Path | None = None) -> str:
    """The exact command that builds a warehouse at ``db`` (shown where none exists); without
    ``nb201_dir`` it builds from the NAS-Bench-201 data the repository ships."""
    return "explorer warehouse build" + (f" --nb201-dir {nb201_dir}" if nb201_dir else "") + f" --db {db}"


# --- one shared read-only handle per file per process ---------------------------------------------

_shared: dict[str, tuple[tuple[int, int], Warehouse]] = {}
_shared_lock = threading.Lock()


def open_shared(path: str | Path) -> Warehouse:
    """The process-wide read-only Warehouse for ``path``, reopened when the file was rebuilt.

    DuckDB caches database instances by path inside a process, so the stale handle is closed before
    the new file is opened (else the new connection would still see the old file)."""
    path = Path(path).resolve()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no warehouse here; build one with {build_command(path)}") from None
    stamp = (st.st_ino, st.st_mtime_ns)
    with _shared_lock:
        cached = _shared.get(str(path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if cached is not None:
            cached[1].close()
            del _shared[str(path)]
        wh = Warehouse(path)
        _shared[str(path)] = (stamp, wh)
        return wh


def to_json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN → null)."""
    return json.loads(df.to_json(orient="records", double_precision=15))
