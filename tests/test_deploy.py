"""What can be checked of the Docker/compose deployment without a Docker engine: the files parse,
the three services are wired together, every command they run parses with the real CLI, and every
file the image copies is in the repository and in the build context."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from explorer.cli import build_parser
from explorer.core.settings import get_settings
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(m[1].upper(), m[2].strip()) for m in re.finditer(r"^\s*(\w+)\s+(.*)$", text, re.M)]


def _interpolate(value: str, env: dict[str, str]) -> str:
    """compose's ``${NAME:-default}``, innermost first."""
    pattern = re.compile(r"\$\{(\w+):-([^${}]*)\}")
    while pattern.search(value):
        value = pattern.sub(lambda m: env.get(m[1]) or m[2], value)
    return value


def test_compose_has_the_app_a_gpu_worker_and_postgres() -> None:
    services = {k: v for k, v in COMPOSE["services"].items() if "profiles" not in v}  # the default set
    assert set(services) == {"app", "worker", "db"}
    app, worker, db = services["app"], services["worker"], services["db"]
    assert app["command"][:3] == ["explorer", "serve", "--no-worker"]
    assert worker["command"] == ["explorer", "worker", "--devices", "all"]
    assert db["image"].startswith("postgres:")

    (reservation,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert reservation["driver"] == "nvidia" and reservation["capabilities"] == ["gpu"]
    assert reservation["count"] == "all"

    # One data volume for the app and the worker; PostgreSQL for both, ready before they start.
    assert app["volumes"] == worker["volumes"] == ["explorer-data:/data"]
    assert {"explorer-data", "postgres-data"} <= set(COMPOSE["volumes"])
    assert db["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert worker["depends_on"] == {"db": {"condition": "service_healthy"}, "app": {"condition": "service_healthy"}}
    assert "8501:8501" in app["ports"]
    assert app["build"] == worker["build"] and app["build"]["context"] == "."


def test_compose_environment_gives_valid_settings_for_postgres() -> None:
    for name in ("app", "worker"):
        service = COMPOSE["services"][name]
        env = {k: _interpolate(str(v), {}) for k, v in service["environment"].items()}
        assert env["EXPLORER_DB_URL"] == "postgresql+psycopg://explorer:explorer@db:5432/explorer"
        settings = get_settings(env)
        assert settings.db_url == env["EXPLORER_DB_URL"] and not settings.read_only
        assert str(settings.data_dir) == "/data"
        assert str(settings.warehouse_path) == "/opt/explorer/warehouse.duckdb"  # the one the Dockerfile builds
    db_env = COMPOSE["services"]["db"]["environment"]
    assert (
        _interpolate(db_env["POSTGRES_PASSWORD"], {}) == "explorer" == db_env["POSTGRES_USER"] == db_env["POSTGRES_DB"]
    )
    assert "psycopg" in (REPO / "requirements.txt").read_text()  # the driver of postgresql+psycopg://
    # An .env can point workers on other hosts at a shared database.
    other = _interpolate(COMPOSE["services"]["worker"]["environment"]["EXPLORER_DB_URL"],
                         {"EXPLORER_DB_URL": "postgresql+psycopg://u:p@dbhost/explorer"})
    assert other == "postgresql+psycopg://u:p@dbhost/explorer"


def _commands() -> dict[str, list[str]]:
    (cmd,) = [args for name, args in _instructions() if name == "CMD"]
    commands = {"Dockerfile CMD": json.loads(cmd)}
    for name, service in COMPOSE["services"].items():
        if "command" in service:
            commands[f"compose {name}"] = service["command"]
    return commands


@pytest.mark.parametrize("where", ["Dockerfile CMD", "compose app", "compose worker", "compose app-2"])
def test_every_command_parses_with_the_cli(where) -> None:
    argv = _commands()[where]
    assert argv[0] == "explorer"
    args = build_parser().parse_args(argv[1:])  # argparse exits on an unknown command or flag
    assert callable(args.handler)
    assert args.command == argv[1]


def test_the_installed_entry_point_knows_the_flags() -> None:
    """The console script (what the image runs), not just the parser: each flag in its --help."""
    explorer = REPO / ".venv/bin/explorer"
    program = [str(explorer)] if explorer.exists() else [sys.executable, "-m", "explorer"]
    for argv in _commands().values():
        flags = [a for a in argv[2:] if a.startswith("--")]
        out = subprocess.run([*program, argv[1], "--help"], capture_output=True, text=True, timeout=60, check=True)
        for flag in flags:
            assert flag in out.stdout, (argv, flag)


def test_the_image_builds_its_warehouse_where_the_app_reads_it() -> None:
    instructions = _instructions()
    env = " ".join(args for name, args in instructions if name == "ENV")
    wh = re.search(r"EXPLORER_WAREHOUSE=(\S+)", env)[1]
    runs = [args for name, args in instructions if name == "RUN"]
    build = next(r for r in runs if "explorer warehouse build" in r)
    assert f"--db {wh}" in build and "--nb201-dir" not in build  # the shipped data
    assert not wh.startswith("/data/")  # not hidden by the data volume
    # the build and the app's check agree: a warehouse built this way is current for `explorer serve`
    assert instructions.index(("RUN", build)) > max(i for i, (n, a) in enumerate(instructions)
                                                    if n == "COPY" and "explorer" in a)


def test_stages_share_one_base_so_the_venv_has_its_python() -> None:
    instructions = _instructions()
    assert instructions[0][0] == "ARG" and instructions[0][1].startswith("BASE=python:3.11")
    froms = {args.split(" AS ")[1]: args.split(" AS ")[0] for name, args in instructions if name == "FROM"}
    assert froms == {"python": "${BASE}", "build": "python", "runtime": "python"}
    copies = [args for name, args in instructions if name == "COPY" and args.startswith("--from=")]
    assert "--from=build /opt/venv /opt/venv" in copies
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert "python3.11 -m venv /opt/venv" in runs
    assert re.search(r"apt-get install .*python3\.11 python3\.11-venv", runs)  # a base without Python 3.11
    assert '--index-url "$TORCH_INDEX" torch==' in runs
    pinned = re.search(r"^torch==(\S+)", (REPO / "requirements.txt").read_text(), re.M)[1]
    assert f"torch=={pinned}" in runs  # the same torch as requirements.txt
    assert any(name == "ARG" and args.startswith("TORCH_INDEX=https://download.pytorch.org/whl/cpu")
               for name, args in instructions)


def _dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(p, pat.removeprefix("**/")) or fnmatch.fnmatch(p, pat)
               for p in prefixes + parts for pat in patterns)


def test_every_copy_source_is_tracked_and_in_the_build_context() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    patterns = _dockerignore()
    sources = []
    for name, args in _instructions():
        if name == "COPY" and not args.startswith("--from="):
            sources += shlex.split(args)[:-1]
    assert {"requirements.txt", "pyproject.toml", "explorer", "db", "app.py", "pages", "ui", ".streamlit"} <= set(
        sources
    )
    for source in sources:
        files = [f for f in tracked if f == source or f.startswith(source + "/")]
        assert files, f"COPY {source}: not in the repository"
        kept = [f for f in files if not _ignored(f, patterns)]
        assert kept, f"COPY {source}: excluded by .dockerignore"
    # Local state stays out of the image.
    for path in (".venv/bin/python", ".git/HEAD", "data/jobs.sqlite", "explorer/__pycache__/x.pyc", "explorer.toml"):
        assert _ignored(path, patterns), path


def test_scale_profile_runs_two_apps_behind_a_sticky_proxy() -> None:
    """Profile "scale": two app processes, one job store, one read-only warehouse, and a proxy that
    keeps each browser on one process (a session lives in one process) and passes the websocket."""
    services = COMPOSE["services"]
    scaled = {k for k, v in services.items() if "scale" in v.get("profiles", [])}
    assert scaled == {"app-2", "proxy"}
    app, app2, proxy = services["app"], services["app-2"], services["proxy"]
    assert app2["command"] == app["command"] and app2["environment"] == app["environment"]
    env = get_settings({k: _interpolate(str(v), {}) for k, v in app2["environment"].items()})
    assert (
        env.db_url.startswith("postgresql+psycopg://") and str(env.warehouse_path) == "/opt/explorer/warehouse.duckdb"
    )
    assert app2["depends_on"]["app"]["condition"] == "service_healthy"  # migrations run once, by app
    (mount,) = proxy["volumes"]
    source, target, mode = mount.split(":")
    assert mode == "ro" and target == "/etc/nginx/conf.d/default.conf"
    conf = (REPO / source).read_text()
    upstream = re.search(r"upstream \w+ \{(.*?)\}", conf, re.S)[1]
    assert re.search(r"^\s*(ip_hash|hash \S+ consistent|sticky\b)", upstream, re.M), "sessions must be sticky"
    assert set(re.findall(r"server (\S+):8501;", upstream)) == {"app", "app-2"}
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "proxy_http_version 1.1;" in conf
    assert (
        re.search(r"proxy_read_timeout (\d+)s", conf) and int(re.search(r"proxy_read_timeout (\d+)s", conf)[1]) >= 3600
    )
