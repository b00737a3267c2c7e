"""Labels for jobs: what tables, legends and downloads call them ('#9 DAG#3 · width 256 · digits ·
seed 1'), and experiment groups (jobs queued together). Each kind makes its own label
(``JobKind.label``, from ``label_parts``); this module only dispatches, so the queue, the worker and
the pages stay generic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from explorer.jobs.kind import KINDS
from explorer.jobs.label_parts import JobLike, cell_job_title
from explorer.jobs.registry import load_kinds

# A job id → that job, or None when it cannot be seen (deleted, someone else's).
Find = Callable[[int], "JobLike | None"]


def job_title(job: JobLike, lookup: Find | None = None) -> str:
    """The job's label without its id, as its kind makes it (``JobKind.label``); jobs it refers to
    are found with ``lookup``."""
    kinds = KINDS or load_kinds()
    spec = job.spec or {}
    kind = kinds.get(job.kind)

    def resolve(job_id: int) -> str | None:  # a referenced job's own label (kinds see labels, not jobs)
        target = lookup(job_id) if lookup is not None else None
        return None if target is None else job_label(target, lookup)

    try:
        if kind is not None and kind.label is not None:
            return kind.label(spec, resolve)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # a spec from an older version: fall back to the generic label
    return cell_job_title(job.kind)(spec, resolve)


def job_label(job: JobLike, lookup: Find | None = None) -> str:
    """'#9 DAG#3 · width 256 · digits · seed 1'."""
    return f"#{job.id} {job_title(job, lookup)}"


# --- experiment groups -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentGroup:
    """Jobs queued together: one preset's runs, one hypothesis' runs, or one job on its own."""

    title: str
    jobs: tuple[Any, ...]

    @property
    def key(self) -> str:
        return ",".join(str(j.id) for j in self.jobs)


def experiment_groups(jobs: Iterable[JobLike]) -> list[ExperimentGroup]:
    """``jobs`` grouped by submission: the same ``experiment`` in the spec (a preset's name) and the
    same submission time (``submit_many`` stamps one batch with one time), newest group first, each
    group's jobs oldest first (the order the preset lists its cells in)."""
    groups: dict[tuple[str | None, datetime], list[JobLike]] = {}
    for job in jobs:
        groups.setdefault(((job.spec or {}).get("experiment"), job.created_at), []).append(job)
    out = []
    for (experiment, created), members in groups.items():
        members = sorted(members, key=lambda j: j.id)
        if experiment:
            title = f"{experiment} · {created:%Y-%m-%d %H:%M} · {len(members)} job(s)"
        elif len(members) == 1:
            title = job_label(members[0])
        else:
            title = f"jobs #{members[0].id}–#{members[-1].id} · {created:%Y-%m-%d %H:%M} · {len(members)} job(s)"
        out.append(ExperimentGroup(title, tuple(members)))
    return sorted(out, key=lambda g: max(j.id for j in g.jobs), reverse=True)


def labels_by_id(jobs: Sequence[JobLike], lookup: Find | None = None) -> dict[int, str]:
    """``job_label`` of each job, by id (jobs in ``jobs`` are looked up among themselves first)."""
    by_id = {j.id: j for j in jobs}

    def find(job_id: int) -> JobLike | None:
        return by_id.get(job_id) or (lookup(job_id) if lookup is not None else None)

    return {j.id: job_label(j, find) for j in jobs}
