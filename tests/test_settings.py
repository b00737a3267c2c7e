"""Settings: defaults < TOML file < environment, clear errors naming the key, the example file,
and the limits the job queue enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.store import JobStore
from explorer.cell.presets import get_preset
from explorer.core.errors import SpecError, UserError
from explorer.core.settings import Settings, get_settings
from explorer.jobs.queue import submit
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def no_local_toml(tmp_path, monkeypatch):
    """Run in an empty folder, so a developer's ./explorer.toml cannot leak in."""
    monkeypatch.chdir(tmp_path)


def _toml(tmp_path: Path, text: str, name: str = "conf.toml") -> dict[str, str]:
    path = tmp_path / name
    path.write_text(text)
    return {"EXPLORER_CONFIG": str(path)}


def test_defaults(tmp_path) -> None:
    s = get_settings({})
    data = (tmp_path / "data").resolve()
    assert s == Settings(data_dir=data, db_url=f"sqlite:///{data / 'jobs.sqlite'}",
                         warehouse_path=data / "warehouse.duckdb", artifact_dir=data / "artifacts",
                         nb201_dir=None, read_only=False)
    assert (s.worker_devices, s.worker_slots, s.submit_token, s.config_path) == (None, 1, None, None)
    assert (s.max_grid_steps, s.max_epochs, s.max_upload_mb, s.max_jobs_per_user) == (201, 10000, 5, 20)


def test_toml_overrides_defaults_and_env_overrides_toml(tmp_path) -> None:
    env = _toml(tmp_path, """
data_dir = "store"
read_only = true
submit_token = "t0k"
[worker]
devices = "cuda:0"
slots = 3
[limits]
epochs = 50
grid_steps = 31
""")
    s = get_settings(env)
    assert s.config_path == tmp_path / "conf.toml"
    assert s.data_dir == tmp_path / "store"  # relative to the TOML file's folder
    assert s.db_url == f"sqlite:///{tmp_path / 'store' / 'jobs.sqlite'}"  # derived from the TOML data_dir
    assert s.artifact_dir == tmp_path / "store" / "artifacts"
    assert (s.read_only, s.submit_token, s.worker_devices, s.worker_slots) == (True, "t0k", "cuda:0", 3)
    assert (s.max_epochs, s.max_grid_steps, s.max_upload_mb) == (50, 31, 5)

    s = get_settings({**env, "EXPLORER_DATA_DIR": str(tmp_path / "elsewhere"), "EXPLORER_READ_ONLY": "0",
                      "EXPLORER_MAX_EPOCHS": "7", "EXPLORER_WORKER_SLOTS": "2",
                      "EXPLORER_DB_URL": "postgresql+psycopg://u:p@h/db", "EXPLORER_MAX_GRID_STEPS": ""})
    assert s.data_dir == tmp_path / "elsewhere"
    assert s.warehouse_path == tmp_path / "elsewhere" / "warehouse.duckdb"
    assert s.db_url == "postgresql+psycopg://u:p@h/db"
    assert (s.read_only, s.max_epochs, s.worker_slots) == (False, 7, 2)
    assert s.max_grid_steps == 31  # an empty variable counts as unset
    assert s.worker_devices == "cuda:0"


def test_local_explorer_toml_is_found(tmp_path) -> None:
    (tmp_path / "explorer.toml").write_text("[limits]\nupload_mb = 12\n")
    s = get_settings({})
    assert s.max_upload_mb == 12 and s.config_path == tmp_path / "explorer.toml"
    # EXPLORER_CONFIG wins over ./explorer.toml
    assert get_settings(_toml(tmp_path, "read_only = true\n")).max_upload_mb == 5


@pytest.mark.parametrize("text, words", [
    ("dataa_dir = 'x'\n", ["unknown setting 'dataa_dir'", "data_dir"]),
    ("[limits]\nepoch = 3\n", ["unknown setting 'limits.epoch'"]),
    ("[gpu]\ncount = 1\n", ["unknown setting 'gpu'"]),
    ("read_only = 'yes'\n", ["read_only", "true or false"]),
    ("[limits]\nepochs = '10'\n", ["limits.epochs", "an integer"]),
    ("[limits]\nepochs = true\n", ["limits.epochs", "an integer"]),
    ("[limits]\nepochs = 0\n", ["limits.epochs", "at least 1"]),
    ("[worker]\nslots = 1.5\n", ["worker.slots", "an integer"]),
    ("data_dir = 3\n", ["data_dir", "a string"]),
    ("worker = 2\n", ["[worker] must be a table"]),
    ("read_only = \n", ["not a readable TOML file"]),
])
def test_toml_errors_name_the_key(tmp_path, text, words) -> None:
    with pytest.raises(UserError) as info:
        get_settings(_toml(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "conf.toml") in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("env, words", [
    ({"EXPLORER_CONFIG": "/nonexistent/explorer.toml"}, ["EXPLORER_CONFIG", "no such file"]),
    ({"EXPLORER_READ_ONLY": "maybe"}, ["EXPLORER_READ_ONLY='maybe'"]),
    ({"EXPLORER_MAX_EPOCHS": "ten"}, ["EXPLORER_MAX_EPOCHS='ten'", "whole number"]),
    ({"EXPLORER_WORKER_SLOTS": "0"}, ["EXPLORER_WORKER_SLOTS", "at least 1"]),
])
def test_env_errors_name_the_variable(env, words) -> None:
    with pytest.raises(UserError) as info:
        get_settings(env)
    for word in words:
        assert word in str(info.value)


def test_read_only_flag_words() -> None:
    for word in ("1", "true", "YES", "on"):
        assert get_settings({"EXPLORER_READ_ONLY": word}).read_only
    for word in ("0", "false", "No", "off"):
        assert not get_settings({"EXPLORER_READ_ONLY": word}).read_only


def test_example_file_loads_and_states_the_defaults() -> None:
    example = REPO / "explorer.example.toml"
    s = get_settings({"EXPLORER_CONFIG": str(example)})
    assert s.config_path == example
    defaults = get_settings({"EXPLORER_DATA_DIR": str(REPO / "data")})
    assert s == Settings(**{**defaults.__dict__, "config_path": example})


def test_every_setting_is_in_the_docs_tables() -> None:
    import explorer.core.settings as module

    docs = (REPO / "docs/deploy.md").read_text()
    for field in module._FIELDS:
        row = f"| {field.key} | {field.env} |"
        assert row in module.__doc__, row
        assert row in docs, row


def test_queue_enforces_the_epoch_and_grid_limits(tmp_path, monkeypatch) -> None:
    for name in ("EXPLORER_CONFIG", "EXPLORER_MAX_EPOCHS", "EXPLORER_MAX_GRID_STEPS"):
        monkeypatch.delenv(name, raising=False)
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}", artifact_dir=tmp_path / "artifacts")
    cell = get_preset("DAG#3 (mixed)").cell.to_text()
    train = {"network": {"cell": cell, "width": 16}, "data": {"name": "synthetic"}, "epochs": 8}
    train_id = submit(store, "train", train)
    monkeypatch.setenv("EXPLORER_MAX_EPOCHS", "5")
    with pytest.raises(SpecError, match=r"epochs: 8 is over this server's limit of 5 \(limits.epochs\)"):
        submit(store, "train", train)
    assert submit(store, "train", {**train, "epochs": 5})

    contour = {"train_job": train_id, "steps": 9}
    monkeypatch.setenv("EXPLORER_MAX_GRID_STEPS", "8")
    for kind in ("loss_contour", "grad_variance"):
        with pytest.raises(SpecError, match=r"steps: 9 grid points .* limit of 8 \(limits.grid_steps\)"):
            submit(store, kind, contour)
    assert submit(store, "loss_contour", {**contour, "steps": 8})
    assert [job.kind for job in store.list()] == ["loss_contour", "train", "train"]


def test_worker_devices_setting_is_the_worker_default(monkeypatch, capsys) -> None:
    from explorer.cli import main

    monkeypatch.delenv("EXPLORER_CONFIG", raising=False)
    monkeypatch.setenv("EXPLORER_WORKER_DEVICES", "tpu:0")  # refused before any store is opened
    assert main(["worker"]) == 2
    assert "device 'tpu:0'" in capsys.readouterr().err
