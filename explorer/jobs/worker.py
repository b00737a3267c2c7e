"""The worker: claims queued jobs, runs each in its own process on one device, watches them.

One loop, a few times a second: reap finished job processes (and record how they ended when the
job could not), forward cancel requests (SIGTERM, then SIGKILL after a grace period), heartbeat
itself and its jobs, requeue jobs whose worker stopped heartbeating, and claim new jobs for free
slots. SIGTERM or Ctrl-C stops claiming, lets running jobs finish for ``drain_s`` seconds, then
stops the rest and puts them back in the queue; a second signal skips the wait.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.exc import DBAPIError

from db.store import Job, JobStore
from explorer.core.errors import UserError
from explorer.core.settings import Settings, get_settings
from explorer.jobs.child import Attempt
from explorer.jobs.executors import Executor, JobHandle, LocalExecutor
from explorer.jobs.kind import KindInfo

log = logging.getLogger("explorer.worker")


@dataclass(frozen=True)
class WorkerConfig:
    """Timings (``worker.*`` in ``explorer.core.settings``; tests use small ones)."""

    poll_s: float = 0.5  # how often an idle worker looks for jobs
    heartbeat_s: float = 5.0
    lease_s: float = 60.0  # a job whose heartbeat is older is requeued
    kill_grace_s: float = 3.0  # SIGTERM to SIGKILL
    drain_s: float = 5.0  # on shutdown, time for running jobs to finish

    def __post_init__(self) -> None:
        if self.lease_s <= 2 * self.heartbeat_s:
            raise UserError(
                f"the job lease ({self.lease_s:g} s) must be more than twice the heartbeat ({self.heartbeat_s:g} s)"
            )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> WorkerConfig:
        settings = settings or get_settings()
        return cls(poll_s=settings.worker_poll_s, heartbeat_s=settings.worker_heartbeat_s,
                   lease_s=settings.worker_lease_s, kill_grace_s=settings.worker_kill_grace_s,
                   drain_s=settings.worker_drain_s)


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cuda_device_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count()


def parse_devices(text: str) -> list[str]:
    """``cpu``, ``all`` (every GPU, or the CPU when there is none), or ``cuda:0,cuda:1``."""
    text = text.strip().lower()
    if text == "cpu":
        return ["cpu"]
    if text == "all":
        n = cuda_device_count()
        return [f"cuda:{i}" for i in range(n)] or ["cpu"]
    devices = []
    for part in text.split(","):
        part = part.strip()
        if part == "cpu" or (part.startswith("cuda:") and part[5:].isdigit()):
            devices.append(part)
        else:
            raise UserError(f"device {part!r}: use cpu, all, or a list like cuda:0,cuda:1")
    if len(set(devices)) != len(devices):
        raise UserError(f"devices {text!r} names a device twice; use --slots for several jobs per device")
    return devices


@dataclass
class _Running:
    job: Job
    device: str
    handle: JobHandle
    terminate_at: float | None = None  # when SIGTERM was sent
    killed: bool = False
    reason: Literal["cancel", "shutdown"] | None = None  # set once the worker stops it


@dataclass
class Worker:
    store: JobStore
    devices: Sequence[str] = ("cpu",)
    slots: int = 1  # concurrent jobs per device
    executor: Executor = field(default_factory=LocalExecutor)
    threads: int | None = None  # CPU threads per job; None: this host's cores shared by all its job slots
    config: WorkerConfig = field(default_factory=WorkerConfig)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        if self.slots < 1:
            raise UserError("--slots must be at least 1")
        if self.threads is not None and self.threads < 1:
            raise UserError("--threads must be at least 1")
        self.kinds: dict[str, KindInfo] = dict(self.executor.job_kinds())
        self.gpu_kinds = sorted(k for k, info in self.kinds.items() if info.uses_gpu)
        self.running: dict[int, _Running] = {}
        self._stopping_at: float | None = None
        self._signals = 0

    # ------------------------------------------------------------------ lifecycle

    def request_stop(self, *_args) -> None:
        """First call: drain. Second: stop jobs now and requeue them."""
        self._signals += 1
        if self._stopping_at is None:
            self._stopping_at = time.monotonic()
            log.info("worker %s stopping: no new jobs; %d running", self.worker_id, len(self.running))

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self, *, max_jobs: int | None = None) -> int:
        """Work until stopped (or until ``max_jobs`` jobs were started and finished)."""
        self.store.register_worker(
            self.worker_id, host=socket.gethostname(), pid=os.getpid(), devices=list(self.devices),
            slots=self.slots, executor=self.executor.name,
        )
        log.info("worker %s: devices %s × %d slots, executor %s, kinds %s", self.worker_id,
                 ",".join(self.devices), self.slots, self.executor.name, ",".join(sorted(self.kinds)))
        started = 0
        next_heartbeat = 0.0
        try:
            while True:
                try:
                    self._reap()
                    if self._stopping_at is not None:
                        if not self.running:
                            break
                        if self._signals > 1 or time.monotonic() - self._stopping_at >= self.config.drain_s:
                            for run in self.running.values():
                                self._stop(run, "shutdown")
                    self._forward_cancels()
                    self._escalate()
                    if time.monotonic() >= next_heartbeat:
                        self.store.heartbeat(self.worker_id, list(self.running))
                        requeued, failed = self.store.requeue_stale(self.config.lease_s)
                        if requeued or failed:
                            log.warning("lost workers: requeued jobs %s, failed %s", requeued, failed)
                        next_heartbeat = time.monotonic() + self.config.heartbeat_s
                    claimed = False
                    if self._stopping_at is None and (max_jobs is None or started < max_jobs):
                        claimed = self._claim_one()
                        started += claimed
                    if max_jobs is not None and started >= max_jobs and not self.running:
                        break
                except DBAPIError as exc:  # the database restarting or unreachable: keep going
                    log.warning("database error, retrying: %s", exc.__class__.__name__)
                    claimed = False
                    time.sleep(self.config.poll_s)
                if not claimed:
                    self.executor.wait([r.handle for r in self.running.values()], self.config.poll_s)
        finally:
            self._shutdown()
        return 0

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.config.kill_grace_s + 2
        for run in self.running.values():
            self._stop(run, "shutdown")
        while self.running and time.monotonic() < deadline:
            self._escalate()
            self._reap()
            time.sleep(0.05)
        for run in list(self.running.values()):
            run.handle.kill()
            self._record_end(run, None)
        self.running.clear()
        try:
            self.store.stop_worker(self.worker_id)
        finally:
            self.executor.close()

    # ------------------------------------------------------------------ claiming

    def _free_device(self) -> str | None:
        busy: dict[str, int] = {}
        for run in self.running.values():
            busy[run.device] = busy.get(run.device, 0) + 1
        # GPUs first, so GPU work is not left waiting behind CPU work.
        for device in sorted(self.devices, key=lambda d: d == "cpu"):
            if busy.get(device, 0) < self.slots:
                return device
        return None

    def _threads_per_job(self) -> int | None:
        """CPU threads for the next job. Torch's default (one per core in every job) makes jobs on
        a shared host wait on each other's spinning threads: two workers on 2 cores ran a 0.7 s
        job in over 100 s (bench/load.py). So, unless set, the host's cores are split among the
        job slots of every live worker on this host (the workers table knows them)."""
        if self.threads is not None:
            return self.threads
        if self.executor.name != "local":
            return None  # Ray gives each task its num_cpus (1) and sets OMP_NUM_THREADS itself
        host = socket.gethostname()
        try:
            slots = sum(len(w.devices) * w.slots for w in self.store.workers()
                        if w.host == host and w.alive(self.config.lease_s))
        except DBAPIError:
            slots = 0
        return max(1, usable_cpus() // max(slots, len(self.devices) * self.slots))

    def _claim_one(self) -> bool:
        device = self._free_device()
        if device is None:
            return False
        gpu = device.startswith("cuda")
        job = None
        if gpu and self.gpu_kinds:
            job = self.store.claim(self.worker_id, device, self.gpu_kinds)
        if job is None:
            job = self.store.claim(self.worker_id, device, list(self.kinds))
        if job is None:
            return False
        kind_gpu = gpu and self.kinds[job.kind].uses_gpu
        attempt = Attempt(
            db_url=self.store.url,
            artifact_dir=str(self.store.artifact_dir) if self.store.artifact_dir else None,
            job_id=job.id, attempt=job.attempts, device="cuda" if kind_gpu else "cpu",
            # Pin a GPU job to its one device; hide GPUs from CPU work. Ray assigns GPUs itself.
            cuda_visible_devices=None if self.executor.name == "ray" else (device.split(":")[1] if kind_gpu else ""),
            worker_pid=os.getpid() if self.executor.name == "local" else None,
            threads=self._threads_per_job(),
        )
        try:
            handle = self.executor.start(attempt, kind_gpu)
        except Exception as exc:
            self.store.requeue(job.id, job.attempts, f"requeued: could not start its process ({exc})")
            raise
        self.running[job.id] = _Running(job, device, handle)
        log.info("job %d (%s) started on %s", job.id, job.kind, device)
        return True

    # ------------------------------------------------------------------ watching

    def _stop(self, run: _Running, reason: Literal["cancel", "shutdown"]) -> None:
        if run.terminate_at is None:
            run.reason = run.reason or reason
            run.terminate_at = time.monotonic()
            run.handle.terminate()

    def _forward_cancels(self) -> None:
        if not self.running:
            return
        for job_id in self.store.cancel_requested(list(self.running)):
            self._stop(self.running[job_id], "cancel")

    def _escalate(self) -> None:
        now = time.monotonic()
        for run in self.running.values():
            if run.terminate_at is not None and not run.killed and now - run.terminate_at >= self.config.kill_grace_s:
                run.handle.kill()
                run.killed = True

    def _reap(self) -> None:
        for job_id, run in list(self.running.items()):
            code = run.handle.exitcode()
            if code is not None:
                del self.running[job_id]
                self._record_end(run, code)

    def _record_end(self, run: _Running, code: int | None) -> None:
        """The job process ended: if it did not record the outcome itself, record it here."""
        job_id, attempt = run.job.id, run.job.attempts
        current = self.store.get(job_id)
        if current.status != "running" or current.attempts != attempt or current.worker_id != self.worker_id:
            if current.status == "succeeded" and current.attempts == attempt:
                self._on_success(current)
            return  # it recorded succeeded/failed itself (or the job moved on)
        if run.reason == "shutdown":
            self.store.requeue(job_id, attempt, f"requeued: worker {self.worker_id} shut down")
        elif current.cancel_requested:
            self.store.finish(job_id, attempt, "cancelled", message="cancelled")
        else:
            how = (
                f"was killed by signal {signal.Signals(-code).name}"
                if code and code < 0
                else f"exited with code {code}"
            )
            self.store.finish(
                job_id, attempt, "failed", message=f"job process {how}",
                error=f"The job process {how} without reporting a result (out of memory? a crash in native code?).",
            )
        log.info("job %d ended (%s)", job_id, run.reason or f"exit {code}")

    def _on_success(self, job: Job) -> None:
        """Run the kind's ``on_success`` hook (e.g. train: refresh the Parquet set of train runs the
        browse page shows). Best-effort: a failure is logged, and never fails the job or stops the
        worker. The hook comes by name (``KindInfo``): the worker never imports the kinds (torch)."""
        info = self.kinds.get(job.kind)
        if info is None or info.on_success is None:
            return
        try:
            module, _, name = info.on_success.partition(":")
            hook = getattr(importlib.import_module(module), name)
            hook(self.store, job)
        except Exception:  # noqa: BLE001
            log.exception("the %s kind's on_success hook failed after job %d", job.kind, job.id)
