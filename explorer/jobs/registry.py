"""Job kinds: everything about one kind of job, so the queue, the worker and the pages stay generic.

A kind lives in its own module under ``explorer/jobs/kinds/`` and registers itself with
``register(JobKind(...))``; ``load_kinds()`` imports them all. A kind declares its spec model, the
deployment limits it obeys (``check_limits``), the function that runs it (an algorithm from
``explorer.experiments`` or ``explorer.benchmarks``), what follows a success (``on_success``), and
for the views how its jobs are labelled and its results read (``label``, ``read_result``).

The job process calls ``kind.run(spec, ctx)``; ``ctx`` (a ``JobContext``) is the only way a job
talks to the store. The worker itself never imports the kinds (they import torch): it learns their
names, GPU use and ``on_success`` hooks from its executor as ``KindInfo``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from db.store import Job
from explorer.core.errors import SpecError
from explorer.experiments.context import ArtifactReader
from explorer.jobs.kind import KINDS, JobKind


def load_kinds() -> dict[str, JobKind]:
    """Import every module in ``explorer.jobs.kinds`` so each registers its kind."""
    from explorer.jobs import kinds

    for info in pkgutil.iter_modules(kinds.__path__):
        importlib.import_module(f"{kinds.__name__}.{info.name}")
    return KINDS


def get_kind(name: str) -> JobKind:
    load_kinds()
    if name not in KINDS:
        raise SpecError(f"unknown job kind {name!r}; kinds: {', '.join(sorted(KINDS))}")
    return KINDS[name]


def kinds_analysing(kind: str) -> list[JobKind]:
    """The kinds that analyse a finished job of ``kind`` (e.g. the loss landscape of a train job)."""
    return [k for _, k in sorted(load_kinds().items()) if k.analyses == kind]


def read_result(reader: ArtifactReader, job: Job) -> Any:
    """A finished job's results as its kind reads them (``JobKind.read_result``), or None."""
    kind = get_kind(job.kind)
    return None if kind.read_result is None else kind.read_result(reader, job)
