"""Executors start job processes for the worker and let it stop them.

``LocalExecutor`` forks each job from a fork server that has already imported the job kinds (and
torch), so a job starts in milliseconds, in a fresh process of its own: a cancelled or crashed
job takes its memory, GPU memory included, with it. ``RayExecutor`` (explorer/jobs/ray_executor.py)
runs the same job function as Ray tasks on a cluster.
"""

from __future__ import annotations

import multiprocessing
import os
import pkgutil
import signal
import time
from collections.abc import Sequence
from multiprocessing.connection import wait as wait_for_sentinels
from typing import Protocol

from explorer.core.errors import UserError
from explorer.jobs.child import Attempt, main_in_fork
from explorer.jobs.kind import KindInfo


class JobHandle(Protocol):
    def exitcode(self) -> int | None:
        """None while the job process runs; its exit code after (negative: killed by that signal)."""

    def terminate(self) -> None:
        """Ask the job to stop (SIGTERM): it stops at once unless it is inside a long C call."""

    def kill(self) -> None:
        """Stop it now (SIGKILL)."""


class Executor(Protocol):
    name: str

    def job_kinds(self) -> dict[str, KindInfo]:
        """The job kinds its job processes can run (name → what the worker needs to know of it),
        once they can start without delay."""

    def start(self, attempt: Attempt, gpu: bool) -> JobHandle: ...

    def wait(self, handles: Sequence[JobHandle], timeout: float) -> None:
        """Return when one of the handles' processes ends, or after ``timeout`` seconds."""

    def close(self) -> None: ...


def preload_modules() -> list[str]:
    """What the fork server imports once: the job process and every job kind (and so torch)."""
    from explorer.jobs import kinds

    names = [f"{kinds.__name__}.{info.name}" for info in pkgutil.iter_modules(kinds.__path__)]
    # torch and numpy too: kinds import them inside run(), and importing torch takes seconds;
    # and both database drivers, which a job's fresh engine would otherwise import each time.
    drivers = ["sqlalchemy.dialects.sqlite.pysqlite", "psycopg", "sqlalchemy.dialects.postgresql.psycopg"]
    return ["numpy", "torch", *drivers, "explorer.jobs.child", "explorer.jobs.registry", *names]


def _report_kinds(conn) -> None:
    """Runs in the fork server's first child, where the kinds are already imported."""
    import traceback

    from explorer.jobs.registry import load_kinds

    try:
        conn.send({name: kind.info() for name, kind in load_kinds().items()})
    except Exception:  # noqa: BLE001 - reported to the worker, which refuses to start
        conn.send({"": traceback.format_exc()})
    conn.close()


class LocalHandle:
    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process
        self.pid = process.pid

    def exitcode(self) -> int | None:
        code = self.process.exitcode
        if code is not None:
            self.process.join(0)
        return code

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)  # the job called setsid(): its group holds its helpers too
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(self.pid, sig)  # it has not reached setsid() yet
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


class LocalExecutor:
    name = "local"

    def __init__(self) -> None:
        self._mp = multiprocessing.get_context("forkserver")
        self._mp.set_forkserver_preload(preload_modules())
        # Start the fork server now. Its first child reports the kinds: the worker itself never
        # imports them (nor torch), and a job start never blocks the worker's loop (and its
        # heartbeats) while the fork server is still importing.
        self._kinds_r, kinds_w = self._mp.Pipe(duplex=False)
        self._warm_up = self._mp.Process(target=_report_kinds, args=(kinds_w,), name="fork-server-warm-up")
        self._warm_up.start()
        kinds_w.close()

    def job_kinds(self) -> dict[str, KindInfo]:
        try:
            kinds = self._kinds_r.recv()
        except EOFError:
            raise UserError("the job process server died while importing the job kinds") from None
        finally:
            self._warm_up.join()
        if "" in kinds:
            raise UserError(f"a job kind failed to import:\n{kinds['']}")
        return kinds

    def start(self, attempt: Attempt, gpu: bool) -> LocalHandle:
        process = self._mp.Process(target=main_in_fork, args=(attempt,), name=f"job-{attempt.job_id}", daemon=False)
        process.start()
        return LocalHandle(process)

    def wait(self, handles: Sequence[JobHandle], timeout: float) -> None:
        sentinels = [h.process.sentinel for h in handles if isinstance(h, LocalHandle)]
        if sentinels:
            wait_for_sentinels(sentinels, timeout)
        else:
            time.sleep(timeout)

    def close(self) -> None:
        pass
