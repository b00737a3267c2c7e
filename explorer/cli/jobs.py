"""Job commands: ``worker``, ``serve``, ``submit`` and ``jobs list|show|cancel|retry``."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from explorer.core.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def _store_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Store refusals (unknown job, wrong state) are user errors: printed without a traceback."""

    @functools.wraps(handler)
    def wrapped(args: argparse.Namespace) -> int:
        from db.store import StoreError

        try:
            return handler(args)
        except StoreError as exc:
            raise UserError(str(exc)) from None

    return wrapped


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


# ---------------------------------------------------------------------------- worker


def cmd_worker(args: argparse.Namespace) -> int:
    from explorer.core.settings import get_settings
    from explorer.jobs.executors import LocalExecutor
    from explorer.jobs.queue import open_store
    from explorer.jobs.worker import Worker, WorkerConfig, parse_devices

    settings = get_settings()
    args.devices = args.devices or settings.worker_devices or "cpu"
    args.slots = settings.worker_slots if args.slots is None else args.slots
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = WorkerConfig.from_settings(settings)
    devices = parse_devices(args.devices)
    if args.executor == "ray":
        from explorer.jobs.ray_executor import RayExecutor

        executor = RayExecutor(args.ray_address, local_cpus=len(devices) * args.slots)
    else:
        if args.ray_address:
            raise UserError("--ray-address needs --executor ray")
        executor = LocalExecutor()  # its fork server imports the kinds while we do the same below
    store = open_store()
    threads = settings.worker_threads if args.threads is None else args.threads
    worker = Worker(store, devices=devices, slots=args.slots, executor=executor, config=config, threads=threads)
    worker.install_signal_handlers()  # after Ray, which installs its own
    return worker.run(max_jobs=args.max_jobs)


# ---------------------------------------------------------------------------- serve


def cmd_serve(args: argparse.Namespace) -> int:
    """The app and one local worker, stopped together."""
    from explorer.core.settings import get_settings

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    args.devices = args.devices or settings.worker_devices or "all"
    args.slots = settings.worker_slots if args.slots is None else args.slots
    # No file watcher when serving: it re-scans every imported module's file (and overflowed inotify on
    # a checkout with .venv inside), which kept a core busy with nobody using the app.
    app = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), f"--server.port={args.port}",
           f"--server.address={args.address}", "--server.headless=true", "--browser.gatherUsageStats=false",
           f"--server.maxUploadSize={settings.max_upload_mb}", "--server.fileWatcherType=none",
           "--server.runOnSave=false",
           # No full gc.collect() after every script run: ≈ 200 ms of CPU a run with torch loaded.
           "--runner.postScriptGC=false"]
    worker = [sys.executable, "-m", "explorer", "worker", "--devices", args.devices, "--slots", str(args.slots)]
    if not args.no_warehouse:
        # Before the app starts, so the warehouse pages open populated; a failure is reported and the
        # app starts anyway (those pages then say why and how to fix it).
        from explorer.benchmarks.ensure import ensure_warehouse

        state = ensure_warehouse(settings.warehouse_path, nb201_dir=settings.nb201_dir, progress=True,
                                 log=lambda s: print(f"explorer serve: {s}", file=sys.stderr, flush=True))
        if not state.usable:
            print(f"explorer serve: {state.message}", file=sys.stderr, flush=True)
    if not settings.read_only:
        # Migrate once here so the app and the worker do not both start on an empty database.
        from explorer.jobs.queue import open_store

        open_store(settings).close()
    children: dict[str, subprocess.Popen] = {"the app": subprocess.Popen(app, cwd=REPO)}
    if settings.read_only or args.no_worker:
        print("explorer serve: no worker (read-only mode or --no-worker)", file=sys.stderr)
    else:
        children["the worker"] = subprocess.Popen(worker, cwd=REPO)
    print(f"explorer serve: app on http://{args.address}:{args.port}", file=sys.stderr)

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"explorer serve: {name} exited with code {child.returncode}; stopping", file=sys.stderr)
                code = child.returncode or 1
                stopping = True
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20  # the worker drains and requeues within its grace times
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code


# ---------------------------------------------------------------------------- submit and jobs


def _read_spec(text: str) -> str:
    path = Path(text)
    if not text.lstrip().startswith(("{", "[")) and path.exists():
        return path.read_text()
    if text.lstrip().startswith("{"):
        return text
    raise UserError(f"--spec {text!r}: give a JSON object or the path of a JSON file")


def _open_writable_store():
    from explorer.core.settings import get_settings
    from explorer.jobs.queue import open_store

    if get_settings().read_only:
        raise UserError("read-only mode (EXPLORER_READ_ONLY=1): jobs cannot be submitted, cancelled or retried")
    return open_store()


@_store_errors
def cmd_submit(args: argparse.Namespace) -> int:
    from explorer.core.access import OPEN, sign_in
    from explorer.core.settings import get_settings
    from explorer.jobs.queue import submit

    store = _open_writable_store()
    # The shell has the store itself, so no token is needed here; with one, the job is that user's
    # (their limit applies and they see it on the Jobs page).
    token = args.token or os.environ.get("EXPLORER_TOKEN")
    user = sign_in(get_settings().submit_token, token) if token else OPEN
    job_id = submit(store, args.kind, _read_spec(args.spec), priority=args.priority, max_attempts=args.max_attempts,
                    user=user)
    if args.json:
        _print_json({"id": job_id, "kind": args.kind, "status": "queued"})
    else:
        print(job_id)
    return 0


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)) for row in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


@_store_errors
def cmd_jobs_list(args: argparse.Namespace) -> int:
    from explorer.jobs.queue import open_store

    owner = {} if args.owner is None else {"owner": args.owner or None}
    jobs = open_store().list(status=args.status or None, kind=args.kind or None, limit=args.limit, **owner)
    if args.json:
        _print_json([job.to_dict() for job in jobs])
        return 0
    rows = [
        [job.id, job.kind, job.status, job.attempts, f"{job.progress:.0%}", job.device or "", job.owner or "",
         job.created_at.strftime("%Y-%m-%d %H:%M:%S"), (job.message or "")[:60]]
        for job in jobs
    ]
    print(_table(rows, ["id", "kind", "status", "attempts", "progress", "device", "owner", "created (UTC)", "message"]))
    return 0


@_store_errors
def cmd_jobs_show(args: argparse.Namespace) -> int:
    from explorer.jobs.queue import open_store

    store = open_store()
    job = store.get(args.id)
    artifacts = store.artifacts(job.id)
    metric_names = store.metric_names(job.id)
    if args.json:
        _print_json({**job.to_dict(), "artifacts": [a.to_dict() for a in artifacts], "metrics": metric_names})
        return 0
    for key, value in job.to_dict().items():
        if key not in ("error", "spec", "result"):
            print(f"{key:>16}: {value}")
    print(f"{'spec':>16}: {json.dumps(job.spec)}")
    if job.result is not None:
        print(f"{'result':>16}: {json.dumps(job.result)}")
    print(f"{'metrics':>16}: {', '.join(metric_names) or '-'}")
    print(f"{'artifacts':>16}: {', '.join(f'{a.name} ({a.size} B)' for a in artifacts) or '-'}")
    if job.error:
        print("\n" + job.error)
    return 0


@_store_errors
def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    job = _open_writable_store().cancel(args.id)
    if args.json:
        _print_json(job.to_dict())
    else:
        print(f"job {job.id}: {'cancelled' if job.status == 'cancelled' else 'cancel requested'}")
    return 0


@_store_errors
def cmd_jobs_retry(args: argparse.Namespace) -> int:
    new_id = _open_writable_store().retry(args.id)
    if args.json:
        _print_json({"id": new_id, "retry_of": args.id, "status": "queued"})
    else:
        print(new_id)
    return 0


def register(sub) -> None:
    p = sub.add_parser("worker", help="run jobs from the queue until stopped (SIGTERM/Ctrl-C drains, then requeues)")
    p.add_argument("--devices", default=None,
                   help="cpu, all (every GPU), or e.g. cuda:0,cuda:1 (default: worker.devices setting, else cpu)")
    p.add_argument("--slots", type=int, default=None, help="concurrent jobs per device (default: worker.slots, 1)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per job (default: worker.threads, else the host's cores ÷ its job slots)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: a process per job here; ray: a Ray task per job (needs requirements-ray.txt)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a private local one)")
    p.add_argument("--max-jobs", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("serve", help="start the web app and one local worker; Ctrl-C stops both")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="0.0.0.0")
    p.add_argument("--devices", default=None,
                   help="the worker's devices (default: worker.devices setting, else every GPU, else the CPU)")
    p.add_argument("--slots", type=int, default=None, help="concurrent jobs per device (default: worker.slots, 1)")
    p.add_argument("--no-worker", action="store_true", help="start only the app")
    p.add_argument("--no-warehouse", action="store_true",
                   help="do not build or refresh the benchmark warehouse before starting")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("submit", help="queue a job; prints its id")
    p.add_argument("kind", help="job kind (see `explorer jobs kinds`)")
    p.add_argument("--spec", default="{}", help="the spec: a JSON object or the path of a JSON file (default {})")
    p.add_argument("--priority", type=int, default=0, help="higher runs first (default 0)")
    p.add_argument("--max-attempts", type=int, default=3, help="starts allowed if workers die (default 3)")
    p.add_argument(
        "--token", help="submit as the user of this access token (default $EXPLORER_TOKEN; see `explorer token`)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_submit)

    jobs = sub.add_parser("jobs", help="list, show, cancel or retry jobs").add_subparsers(
        dest="jobs_command", metavar="ACTION", required=True
    )
    p = jobs.add_parser("list", help="jobs, newest first")
    p.add_argument("--status", action="append", help="only this status (repeatable)")
    p.add_argument("--kind", action="append", help="only this kind (repeatable)")
    p.add_argument("--owner", help="only this user's jobs ('' for jobs without an owner)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_jobs_list)
    for name, handler, text in [
        ("show", cmd_jobs_show, "one job: spec, status, result, metrics, artifacts, traceback"),
        ("cancel", cmd_jobs_cancel, "cancel a queued job, or stop a running one"),
        ("retry", cmd_jobs_retry, "queue a finished job again (a new job with the same spec); prints its id"),
    ]:
        p = jobs.add_parser(name, help=text)
        p.add_argument("id", type=int)
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=handler)
    p = jobs.add_parser("kinds", help="the job kinds and their spec fields")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_jobs_kinds)


def cmd_jobs_kinds(args: argparse.Namespace) -> int:
    from explorer.jobs.registry import load_kinds

    kinds = load_kinds()
    if args.json:
        _print_json([{"name": k.name, "description": k.description, "uses_gpu": k.uses_gpu,
                      "spec_schema": k.spec_model.model_json_schema()} for k in kinds.values()])
        return 0
    for kind in sorted(kinds.values(), key=lambda k: k.name):
        print(f"{kind.name}: {kind.description}")
        for name, field in kind.spec_model.model_fields.items():
            default = "(required)" if field.is_required() else f"= {field.get_default(call_default_factory=True)!r}"
            print(f"    {name} {default}  {field.description or ''}".rstrip())
    return 0

