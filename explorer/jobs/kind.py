"""What a job kind is (``JobKind``: its spec, limits, how it runs, labels and shows its results) and
the table kinds register into. Kind modules import this; ``registry`` loads them."""


from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from db.store import Job
from explorer.core.errors import SpecError
from explorer.core.settings import Settings
from explorer.core.specs import validate_model
from explorer.experiments.context import ArtifactReader, RunContext


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
    # The deployment's limits (``limits.*`` settings) on top of the spec model's own bounds: raises
    # ``SpecError`` (see ``over_limit``). None: no limits beyond the model's.
    check_limits: Callable[[Any, Settings], None] | None = None
    # Called by the worker after a job of this kind succeeded, with the store and the job: a
    # "module:function" the worker imports by name (a module without torch), so neither the kind nor
    # the worker imports the hook's module until it runs. Best-effort: failures are logged.
    on_success: str | None = None
    # For the views: a finished job's results as the kind's own result object (arrays by meaning, the
    # artifacts to offer for download), so no page knows artifact names. None: nothing beyond the
    # generic artifact list.
    read_result: Callable[[ArtifactReader, Job], Any] | None = None
    # The metrics its jobs stream that views offer to plot, by name, with what a view calls them.
    metric_labels: Mapping[str, str] | None = None
    # What a page's button calls this kind when it analyses a finished job of kind ``analyses``.
    title: str | None = None
    analyses: str | None = None  # a kind whose finished jobs this one analyses (its spec's job_ref field)

    def validate(self, spec: Mapping[str, Any] | str) -> BaseModel:
        """The spec as its pydantic model, or ``SpecError`` with every problem listed."""
        return validate_model(self.spec_model, spec, self.name)

    def info(self) -> KindInfo:
        return KindInfo(self.uses_gpu, self.on_success)

    def analysis_spec(self, job_id: int) -> dict[str, Any]:
        """The default spec of this kind for analysing job ``job_id`` (the spec's job_ref field set)."""
        refs = [name for name, field in self.spec_model.model_fields.items()
                if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("job_ref")]
        if len(refs) != 1:
            raise SpecError(f"{self.name} does not analyse one job")
        return {refs[0]: job_id}


@dataclass(frozen=True)
class KindInfo:
    """What the worker needs to know of a kind, without importing it (it travels between processes)."""

    uses_gpu: bool
    on_success: str | None = None  # "module:function", imported by the worker when a job succeeds


@dataclass(frozen=True)
class Download:
    """An artifact a view offers for download beside a figure."""

    artifact: str
    media_type: str


def over_limit(kind: str, field: str, value: int, limit: int, setting: str, what: str = "") -> None:
    """``SpecError`` when ``value`` is over the server's ``limit`` (the ``setting`` key says where it is set)."""
    if value > limit:
        raise SpecError(f"invalid {kind} spec: {field}: {value}{what} is over this server's limit "
                        f"of {limit} ({setting})")


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


