"""Run claimed jobs as Ray tasks (optional: ``pip install -r requirements-ray.txt``).

The worker still claims jobs from the store, heartbeats them and handles cancel; only the job
process is a Ray task on the cluster at ``address``, requesting one GPU for GPU slots. The task
writes progress, metrics and artifacts straight to the store, so every Ray node must reach the
database (PostgreSQL for several hosts) and have this project installed. Never imported by the app.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from explorer.core.errors import UserError
from explorer.jobs.child import Attempt, run_attempt
from explorer.jobs.kind import KindInfo


def _run_in_ray(attempt: Attempt) -> int:
    return run_attempt(attempt, own_process=False)


class RayHandle:
    def __init__(self, ray, ref) -> None:
        self._ray = ray
        self.ref = ref
        self._code: int | None = None

    def exitcode(self) -> int | None:
        if self._code is None:
            ready, _ = self._ray.wait([self.ref], timeout=0)
            if ready:
                try:
                    self._code = int(self._ray.get(self.ref))
                except Exception:  # noqa: BLE001 - cancelled, crashed worker, lost node: the job did not report
                    self._code = 1
        return self._code

    def terminate(self) -> None:
        self._ray.cancel(self.ref, force=False)  # KeyboardInterrupt inside the task

    def kill(self) -> None:
        try:
            self._ray.cancel(self.ref, force=True)  # kills the task's worker process
        except Exception:  # noqa: BLE001 - already finished
            pass


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, *, local_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("the Ray executor needs Ray: .venv/bin/pip install -r requirements-ray.txt") from None
        self._ray = ray
        options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if address:
            ray.init(address=address, **options)
        else:
            # A private local cluster; cap the object store (jobs pass nothing through it).
            ray.init(num_cpus=local_cpus, object_store_memory=128 * 1024 * 1024, **options)
        # A GPU job gets a fresh process (max_calls=1), so its GPU memory goes with it; CPU jobs
        # reuse Ray's workers and skip importing torch again.
        self._cpu_task = ray.remote(_run_in_ray)
        self._gpu_task = ray.remote(max_calls=1)(_run_in_ray)

    def job_kinds(self) -> dict[str, KindInfo]:
        from explorer.jobs.registry import load_kinds

        return {name: kind.info() for name, kind in load_kinds().items()}

    def start(self, attempt: Attempt, gpu: bool) -> RayHandle:
        task = self._gpu_task if gpu else self._cpu_task
        ref = task.options(num_cpus=1, num_gpus=1 if gpu else 0, name=f"job-{attempt.job_id}").remote(attempt)
        return RayHandle(self._ray, ref)

    def wait(self, handles: Sequence[RayHandle], timeout: float) -> None:
        refs = [h.ref for h in handles]
        if refs:
            self._ray.wait(refs, num_returns=1, timeout=timeout)
        else:
            import time

            time.sleep(timeout)

    def close(self) -> None:
        self._ray.shutdown()
