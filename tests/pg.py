"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` from Debian's postgresql
package, in a temporary directory on a free loopback port, removed afterwards.

As root the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, root: Path, port: int, user: str) -> None:
        self.root, self.port, self.user = root, port, user
        self._names = itertools.count()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run(cmd: list[str], as_user: str | None) -> None:
    if as_user:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL not found under /usr/lib/postgresql: scripts/test.sh installs it (apt postgresql)")
    as_user = "postgres" if os.geteuid() == 0 else None
    user = as_user or pwd.getpwuid(os.geteuid()).pw_name
    root = Path(tempfile.mkdtemp(prefix="explorer-pg-"))  # directly in /tmp: the postgres user must reach it
    data = root / "data"
    if as_user:
        shutil.chown(root, as_user, as_user)
    port = free_port()
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log")]
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"], as_user)
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
        _run([*pg_ctl, "-w", "-o", options, "start"], as_user)
        server = PostgresServer(root, port, user)
        server.restart = lambda: (_run([*pg_ctl, "-w", "-m", "fast", "stop"], as_user),  # type: ignore[attr-defined]
                                  _run([*pg_ctl, "-w", "-o", options, "start"], as_user))
        yield server
    finally:
        subprocess.run(
            (["runuser", "-u", as_user, "--"] if as_user else []) + [*pg_ctl, "-w", "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
