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
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from explorer.core.errors import SpecError

M = TypeVar("M", bound=BaseModel)


class JobContext(Protocol):
    """What a running job may do. Implemented by the worker (and by ``LocalContext`` in tests)."""

    job_id: int
    device: str  # "cpu" or "cuda" (the worker pins CUDA_VISIBLE_DEVICES to one device)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress in [0, 1] with an optional short message."""

    def metric(self, name: str, value: float, *, step: int | None = None, epoch: int | None = None) -> None:
        """Append one point to the job's metric stream (live curves)."""

    def artifact(self, name: str, data: bytes | Path, media_type: str) -> None:
        """Store an artifact (safetensors weights, .npy/.npz arrays, CSV, PNG, HTML; never pickle)."""

    def read_artifact(self, job_id: int, name: str) -> bytes:
        """Bytes of another job's artifact (e.g. a trained model's weights for a loss contour)."""

    def should_stop(self) -> bool:
        """True once cancellation was requested; long loops check it and return early."""


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


def validate_model(model: type[M], spec: Mapping[str, Any] | str, what: str) -> M:
    """``spec`` as ``model``, or ``SpecError`` listing every problem (also for specs inside specs)."""
    try:
        if isinstance(spec, str):
            return model.model_validate_json(spec)
        return model.model_validate(spec)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}" for err in exc.errors()
        )
        raise SpecError(f"invalid {what} spec: {problems}") from None


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
