"""One settings object: defaults, then an optional TOML file, then environment variables.

The TOML file is ``$EXPLORER_CONFIG`` when set (it must exist), else ``./explorer.toml`` when present
(see ``explorer.example.toml``). Each later source overrides the earlier one key by key; an empty
environment variable counts as unset. Relative paths in the TOML file are relative to the file's
folder; relative paths in environment variables are relative to the working directory.

| TOML key | environment variable | default | meaning |
|---|---|---|---|
| data_dir | EXPLORER_DATA_DIR | ./data | where the embedded job store, warehouse and artifacts live |
| db_url | EXPLORER_DB_URL | sqlite:///<data>/jobs.sqlite | job store (any SQLAlchemy URL; postgresql+psycopg://… for several hosts) |
| warehouse | EXPLORER_WAREHOUSE | <data>/warehouse.duckdb | the benchmark warehouse built by `explorer warehouse build` |
| artifact_dir | EXPLORER_ARTIFACT_DIR | <data>/artifacts | large job artifacts |
| nb201_dir | EXPLORER_NB201_DIR | (none) | NAS-Bench-201 CSV directory, for commands that read it |
| read_only | EXPLORER_READ_ONLY | false | true: browse, edit and compute metrics only (no jobs, no SQL box) |
| submit_token | EXPLORER_SUBMIT_TOKEN | (none) | makes the server shared: jobs need a token, each user sees only their own (the operator's token; `explorer token NAME` prints users' tokens) |
| worker.devices | EXPLORER_WORKER_DEVICES | (per command) | default `--devices` of `explorer worker` (cpu) and `explorer serve` (all) |
| worker.slots | EXPLORER_WORKER_SLOTS | 1 | default `--slots`: concurrent jobs per device |
| worker.threads | EXPLORER_WORKER_THREADS | (cores ÷ job slots on the host) | default `--threads`: CPU threads each job may use |
| limits.grid_steps | EXPLORER_MAX_GRID_STEPS | 201 | most grid points per axis a loss-landscape job may ask for |
| limits.epochs | EXPLORER_MAX_EPOCHS | 10000 | most epochs a train job may ask for |
| limits.upload_mb | EXPLORER_MAX_UPLOAD_MB | 5 | largest file the web app accepts, MB (`explorer serve`) |
| limits.jobs_per_user | EXPLORER_MAX_JOBS_PER_USER | 20 | unfinished (queued or running) jobs per signed-in user, when submit_token is set |
| worker.poll_s | EXPLORER_WORKER_POLL_S | 0.5 | seconds between an idle worker's looks for jobs (bounds queued → running) |
| worker.heartbeat_s | EXPLORER_HEARTBEAT_S | 5 | seconds between a worker's heartbeats |
| worker.lease_s | EXPLORER_JOB_LEASE_S | 60 | a running job whose heartbeat is older is requeued; more than twice the heartbeat |
| worker.kill_grace_s | EXPLORER_JOB_KILL_GRACE_S | 3 | seconds from SIGTERM to SIGKILL when a job is stopped |
| worker.drain_s | EXPLORER_WORKER_DRAIN_S | 5 | on shutdown, seconds running jobs get to finish before they are requeued |
| ui.jobs_refresh_s | EXPLORER_JOBS_REFRESH_S | 2 | seconds between the Jobs page's live refreshes; 0 turns them off |

Numbers of seconds are non-negative decimals; counts are whole numbers, at least 1. ``shown_url``
gives a database URL fit to show (no password).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.core.errors import UserError


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str
    warehouse_path: Path
    artifact_dir: Path
    nb201_dir: Path | None
    read_only: bool
    submit_token: str | None = None
    worker_devices: str | None = None  # None: each command keeps its own default
    worker_slots: int = 1
    worker_threads: int | None = None  # None: the host's cores split among its job slots
    max_grid_steps: int = 201
    max_epochs: int = 10000
    max_upload_mb: int = 5
    max_jobs_per_user: int = 20
    worker_poll_s: float = 0.5
    worker_heartbeat_s: float = 5.0
    worker_lease_s: float = 60.0
    worker_kill_grace_s: float = 3.0
    worker_drain_s: float = 5.0
    jobs_refresh_s: float = 2.0  # 0: the Jobs page does not refresh itself
    config_path: Path | None = None  # the TOML file read, if any


@dataclass(frozen=True)
class _Field:
    key: str  # dotted TOML key
    env: str
    attr: str
    type: type  # str, Path, bool, int (at least 1) or float (seconds, at least 0)


_FIELDS = (
    _Field("data_dir", "EXPLORER_DATA_DIR", "data_dir", Path),
    _Field("db_url", "EXPLORER_DB_URL", "db_url", str),
    _Field("warehouse", "EXPLORER_WAREHOUSE", "warehouse_path", Path),
    _Field("artifact_dir", "EXPLORER_ARTIFACT_DIR", "artifact_dir", Path),
    _Field("nb201_dir", "EXPLORER_NB201_DIR", "nb201_dir", Path),
    _Field("read_only", "EXPLORER_READ_ONLY", "read_only", bool),
    _Field("submit_token", "EXPLORER_SUBMIT_TOKEN", "submit_token", str),
    _Field("worker.devices", "EXPLORER_WORKER_DEVICES", "worker_devices", str),
    _Field("worker.slots", "EXPLORER_WORKER_SLOTS", "worker_slots", int),
    _Field("worker.threads", "EXPLORER_WORKER_THREADS", "worker_threads", int),
    _Field("limits.grid_steps", "EXPLORER_MAX_GRID_STEPS", "max_grid_steps", int),
    _Field("limits.epochs", "EXPLORER_MAX_EPOCHS", "max_epochs", int),
    _Field("limits.upload_mb", "EXPLORER_MAX_UPLOAD_MB", "max_upload_mb", int),
    _Field("limits.jobs_per_user", "EXPLORER_MAX_JOBS_PER_USER", "max_jobs_per_user", int),
    _Field("worker.poll_s", "EXPLORER_WORKER_POLL_S", "worker_poll_s", float),
    _Field("worker.heartbeat_s", "EXPLORER_HEARTBEAT_S", "worker_heartbeat_s", float),
    _Field("worker.lease_s", "EXPLORER_JOB_LEASE_S", "worker_lease_s", float),
    _Field("worker.kill_grace_s", "EXPLORER_JOB_KILL_GRACE_S", "worker_kill_grace_s", float),
    _Field("worker.drain_s", "EXPLORER_WORKER_DRAIN_S", "worker_drain_s", float),
    _Field("ui.jobs_refresh_s", "EXPLORER_JOBS_REFRESH_S", "jobs_refresh_s", float),
)
_BY_KEY = {f.key: f for f in _FIELDS}
_SECTIONS = {f.key.split(".")[0] for f in _FIELDS if "." in f.key}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _find_config(env: Mapping[str, str]) -> Path | None:
    if env.get("EXPLORER_CONFIG"):
        path = Path(env["EXPLORER_CONFIG"]).expanduser()
        if not path.is_file():
            raise UserError(f"EXPLORER_CONFIG={env['EXPLORER_CONFIG']!r}: no such file")
        return path.resolve()
    local = Path("explorer.toml")
    return local.resolve() if local.is_file() else None


def _flatten(table: Mapping[str, Any], where: Path) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        if name in _SECTIONS:
            if not isinstance(value, dict):
                raise UserError(f"{where}: [{name}] must be a table")
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    for key in flat:
        if key not in _BY_KEY:
            raise UserError(f"{where}: unknown setting {key!r}; known: {', '.join(_BY_KEY)}")
    return flat


def _from_toml(field: _Field, value: Any, base: Path, where: Path) -> Any:
    expected = {str: str, Path: str, bool: bool, int: int, float: (int, float)}[field.type]
    # bool is an int in Python; a TOML `true` for a count is a mistake, not 1.
    if not isinstance(value, expected) or (field.type in (int, float) and isinstance(value, bool)):
        names = {str: "a string", Path: "a string", bool: "true or false", int: "an integer",
                 float: "a number of seconds"}
        raise UserError(f"{where}: {field.key} = {value!r}: expected {names[field.type]}")
    if field.type is float:
        if value < 0:
            raise UserError(f"{where}: {field.key} = {value}: must be at least 0")
        return float(value)
    if field.type is Path:
        return (base / Path(value).expanduser()).resolve()
    if field.type is int and value < 1:
        raise UserError(f"{where}: {field.key} = {value}: must be at least 1")
    return value


def _from_env(field: _Field, text: str) -> Any:
    if field.type is bool:
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise UserError(f"{field.env}={text!r}: expected 1/true/yes/on or 0/false/no/off")
        return word in _TRUE
    if field.type is int:
        try:
            number = int(text)
        except ValueError:
            raise UserError(f"{field.env}={text!r}: expected a whole number") from None
        if number < 1:
            raise UserError(f"{field.env}={text!r}: must be at least 1")
        return number
    if field.type is float:
        try:
            seconds = float(text)
        except ValueError:
            raise UserError(f"{field.env}={text!r}: expected a number of seconds") from None
        if not seconds >= 0:  # also NaN
            raise UserError(f"{field.env}={text!r}: must be at least 0")
        return seconds
    if field.type is Path:
        return Path(text).expanduser().resolve()
    return text


def shown_url(url: str) -> str:
    """A database URL fit to show on a page or in a log: the password replaced by ``***``."""
    from sqlalchemy.engine import make_url  # only where a URL is shown

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: keep only what follows the credentials
        return url.rsplit("@", 1)[-1]


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings for ``env`` (default: the process environment) and the TOML file it points to.
    Raises ``UserError`` naming the key for an unknown key, a wrong type or an unreadable file."""
    env = dict(os.environ if env is None else env)
    config_path = _find_config(env)
    values: dict[str, Any] = {}
    if config_path is not None:
        try:
            table = tomllib.loads(config_path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"{config_path}: not a readable TOML file ({exc})") from None
        for key, value in _flatten(table, config_path).items():
            field = _BY_KEY[key]
            values[field.attr] = _from_toml(field, value, config_path.parent, config_path)
    for field in _FIELDS:
        if env.get(field.env):
            values[field.attr] = _from_env(field, env[field.env])

    data_dir = values.pop("data_dir", None) or Path("data").resolve()
    values.setdefault("db_url", f"sqlite:///{data_dir / 'jobs.sqlite'}")
    values.setdefault("warehouse_path", data_dir / "warehouse.duckdb")
    values.setdefault("artifact_dir", data_dir / "artifacts")
    values.setdefault("nb201_dir", None)
    values.setdefault("read_only", False)
    return Settings(data_dir=data_dir, config_path=config_path, **values)
