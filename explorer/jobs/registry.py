"""Job kinds: a validated spec model plus the function that runs it.

A kind lives in its own module under ``explorer/jobs/kinds/`` and registers itself with
``register(JobKind(...))``; ``load_kinds()`` imports them all. The worker calls ``kind.run(spec,
ctx)`` in a child process; ``ctx`` (a ``JobContext``) is the only way a job talks to the store.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from explorer.core.errors import SpecError
from explorer.core.specs import validate_model
from explorer.experiments.context import RunContext


class JobContext(RunContext, Protocol):
    """What a running job may do: an experiment's ``RunContext`` (progress, metrics, artifacts,
    reading other jobs' artifacts, stop requests) plus its job id. Implemented by the worker's
    ``StoreContext`` (and by ``LocalContext`` in tests)."""

    job_id: int


@dataclass(frozen=True)
class JobKind:
    name: str
    spec_model: type[BaseModel]
    run: Callable[[Any, JobContext], Mapping[str, Any] | None]  # returns a small JSON-able summary
    description: str
    uses_gpu: bool = False  # may use a GPU when the worker has one
    # The job's label without its id, from its stored spec (a dict: old specs may no longer validate)
    # and a lookup of the jobs it refers to; None: the generic '<kind> · <cell>' (explorer.cell.naming).
    label: Callable[[Mapping[str, Any], Callable[[int], Any]], str] | None = None

    def validate(self, spec: Mapping[str, Any] | str) -> BaseModel:
        """The spec as its pydantic model, or ``SpecError`` with every problem listed."""
        return validate_model(self.spec_model, spec, self.name)


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


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
