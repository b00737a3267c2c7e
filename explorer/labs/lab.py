"""The principles lab as a service: hypothesis records in the job store's database, run through
its queue (one ``train`` job per cell and seed) or answered from the benchmark warehouse, and
analysed once their jobs have finished (``explorer.labs.analysis``).

Reading never writes: the built-ins H1–H6 come from the catalogue until somebody runs or edits one.
Analysing a finished run is an explicit action (``analyse``/``refresh``, from the page's button or
the CLI), never a side effect of a read; it may queue follow-up jobs, which belong to the user who
ran the hypothesis and count against their job limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from db.hypotheses import HypothesisStore, HypothesisStoreError, StoredHypothesis
from db.store import utcnow
from explorer.core.access import OPEN, AccessError, User, owner_user
from explorer.core.errors import DataError, UserError
from explorer.core.specs import validate_model
from explorer.labs.analysis import analyse, curves_from_csv, metric_value
from explorer.labs.catalogue import builtins
from explorer.labs.reports import verdict_sentence
from explorer.labs.specs import FOLLOW_UP_METRICS, HypothesisSpec


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def train_specs(spec: HypothesisSpec) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(group index, cell, seed, train spec) for every job a train hypothesis needs. Like a preset's
    runs, the specs carry the hypothesis as their ``experiment`` (Experiment results groups them by it)
    and a ``name`` for the cell: its group's label, with the cell's own name when the group has several
    (numbered where two cells of a group share a name, e.g. the same P, d̄ and m̄)."""
    from collections import Counter

    from explorer.jobs.label_parts import cell_title

    p = spec.protocol
    experiment = _clip(f"{spec.key} · {spec.title}", 120)  # TrainSpec's limits
    jobs = []
    for gi, group in enumerate(spec.groups):
        titles = [cell_title(cell) for cell in group.cells]
        repeated = Counter(titles)
        for k, (cell, title) in enumerate(zip(group.cells, titles, strict=True)):
            if len(group.cells) == 1:
                name = group.label
            else:
                name = f"{group.label} · {title}" + (f" · cell {k + 1}" if repeated[title] > 1 else "")
            for seed in p.seeds:
                jobs.append((gi, cell, seed, {
                    "experiment": experiment, "name": _clip(name, 80),
                    "network": {"cell": cell, "network": p.network, "width": p.width, "channels": p.channels,
                                "cells_per_stage": p.cells_per_stage, "layers": p.layers},
                    "data": p.data.model_dump(mode="json"), "optimizer": p.optimizer, "lr": p.lr,
                    "momentum": p.momentum, "batch_size": p.batch_size, "epochs": p.epochs, "seed": seed,
                }))
    return jobs



@dataclass(frozen=True)
class Hypothesis:
    """A stored record with its parsed spec."""

    record: StoredHypothesis  # id 0: a built-in from the catalogue, not stored yet
    spec: HypothesisSpec

    key = property(lambda self: self.record.key)
    version = property(lambda self: self.record.version)
    status = property(lambda self: self.record.status)
    verdict = property(lambda self: self.record.verdict)
    job_ids = property(lambda self: self.record.job_ids)
    result = property(lambda self: self.record.result)
    stored = property(lambda self: self.record.id != 0)

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "version": self.version, "title": self.spec.title, "statement": self.spec.statement,
                "status": self.status, "verdict": self.verdict, "locked": self.record.locked,
                "jobs": len(self.job_ids), "message": self.record.message}

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {**self.summary(), "spec": self.spec.model_dump(mode="json"), "job_ids": self.job_ids,
                "created_at": r.created_at.isoformat(), "locked_at": r.locked_at.isoformat() if r.locked_at else None,
                "result": self.result}

    def describe(self) -> str:
        lines = [f"{self.key} v{self.version}: {self.spec.title}", f"  {self.spec.statement}",
                 f"  direction: {self.spec.direction} ({self.spec.design()}); status {self.status}"
                 + (f"; verdict {self.verdict}" if self.verdict else "")]
        lines += [f"  group {g.label}: " + (f"{len(g.cells)} cell(s)" if g.cells else json.dumps(
            g.warehouse.model_dump() if g.warehouse else {})) for g in self.spec.groups]
        lines.append("  protocol: " + json.dumps(self.spec.protocol.model_dump(mode="json", exclude_defaults=True)))
        return "\n".join(lines)


class Lab:
    """Hypotheses stored in the job store's database, run through its queue."""

    def __init__(self, store: Any, warehouse_path: str | Path | None = None) -> None:
        from explorer.core.settings import get_settings

        self.store = store
        self.records = HypothesisStore(store.engine)
        self.warehouse_path = Path(warehouse_path) if warehouse_path else get_settings().warehouse_path

    def _wrap(self, record: StoredHypothesis) -> Hypothesis:
        return Hypothesis(record, validate_model(HypothesisSpec, record.spec, f"hypothesis {record.key}"))

    def _draft(self, spec: HypothesisSpec) -> Hypothesis:
        """A catalogue hypothesis as an unsaved version-1 draft (what storing it would give)."""
        return Hypothesis(StoredHypothesis(0, spec.key, 1, spec.model_dump(mode="json"), "draft", utcnow(), None,
                                           [], None, None, None), spec)

    def _stored(self, h: Hypothesis) -> Hypothesis:
        return h if h.stored else self.save(h.spec)

    def save(self, spec: HypothesisSpec | dict[str, Any]) -> Hypothesis:
        """Store a hypothesis (validated); a changed spec under a locked key becomes a new version."""
        model = spec if isinstance(spec, HypothesisSpec) else validate_model(HypothesisSpec, spec, "hypothesis")
        return self._wrap(self.records.save(model.key, model.model_dump(mode="json")))

    def latest(self) -> list[Hypothesis]:
        """The latest version of every hypothesis, by key: stored ones, and built-ins not stored yet."""
        stored = {r.key: self._wrap(r) for r in self.records.all_latest()}
        drafts = {spec.key: self._draft(spec) for spec in builtins() if spec.key not in stored}
        merged = stored | drafts
        return [merged[key] for key in sorted(merged)]

    def get(self, key: str, version: int | None = None) -> Hypothesis:
        try:
            return self._wrap(self.records.get(key, version))
        except HypothesisStoreError as exc:
            if self.records.latest(key) is None and version in (None, 1):
                for spec in builtins():
                    if spec.key == key:
                        return self._draft(spec)
            known = ", ".join(h.key for h in self.latest())
            raise UserError(f"{exc}; hypotheses: {known}") from None

    def versions(self, key: str) -> list[Hypothesis]:
        stored = [self._wrap(r) for r in self.records.versions(key)]
        return stored or [self.get(key)]

    def run(self, key: str, *, user: User = OPEN) -> Hypothesis:
        """Lock the latest version and start it: queue its train jobs (as ``user``'s, all or none),
        or analyse warehouse data now. A built-in is stored first."""
        from explorer.jobs.queue import submit_many

        if not user.can_submit:
            raise AccessError("this server needs an access token to run hypotheses: enter yours in the sidebar")
        h = self.get(key)
        if h.record.locked:
            raise UserError(f"{key} v{h.version} was already run ({h.status}); change its spec to make a new version")
        if h.spec.protocol.kind == "warehouse":
            values = self._warehouse_values(h.spec)  # before storing: a missing warehouse writes nothing
            record = self.records.lock(self._stored(h).record.id, [], status="running")
            return self._finish(self._wrap(record), values)
        job_ids = submit_many(self.store, [("train", spec) for _gi, _cell, _seed, spec in train_specs(h.spec)],
                              user=user)
        return self._wrap(self.records.lock(self._stored(h).record.id, job_ids))

    def job_status(self, h: Hypothesis) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job_id in h.job_ids:
            status = self.store.get(job_id).status
            counts[status] = counts.get(status, 0) + 1
        return counts

    def _owner(self, h: Hypothesis) -> str | None:
        # One run's jobs are queued together, as one user's (follow-ups as the same user's).
        return self.store.get(h.job_ids[0]).owner

    def runner(self, h: Hypothesis) -> User:
        """The user who ran ``h``: the owner of its jobs (a warehouse run has none: ``OPEN``)."""
        return owner_user(self._owner(h)) if h.job_ids else OPEN

    def may_analyse(self, h: Hypothesis, user: User) -> bool:
        """Whether ``user`` may analyse ``h``: a user who may submit and can see its jobs (the user
        who ran it, or the operator)."""
        return user.can_submit and (not h.job_ids or user.can_see(self._owner(h)))

    def analyse(self, key: str, version: int | None = None, *, user: User = OPEN) -> Hypothesis:
        """Analyse a run whose jobs have all finished (warehouse runs are analysed by ``run``), as
        ``user``; follow-up jobs it needs are queued as the runner's."""
        h = self.get(key, version)
        if not h.record.locked:
            raise UserError(f"{key} v{h.version} has not been run yet")
        if not self.may_analyse(h, user):
            raise AccessError(f"{key} v{h.version} was run by another user: they (or the operator) analyse it")
        if h.spec.protocol.kind == "warehouse":
            return self._finish(h, self._warehouse_values(h.spec))
        counts = self.job_status(h)
        pending = counts.get("queued", 0) + counts.get("running", 0)
        if pending:
            raise UserError(f"{key} v{h.version}: {pending} of {len(h.job_ids)} jobs are still queued or running")
        if self._needs_follow_up(h):
            return self._queue_follow_up(h)
        return self._finish(h, self._train_values(h))

    def _needs_follow_up(self, h: Hypothesis) -> bool:
        return h.spec.protocol.metric in FOLLOW_UP_METRICS and len(h.job_ids) == len(train_specs(h.spec))

    def _queue_follow_up(self, h: Hypothesis) -> Hypothesis:
        """Queue one hessian_top job per succeeded train job (the metric is computed on its weights),
        all or none, as the runner's: they see them and they count against the runner's limit."""
        from explorer.jobs.queue import submit_many

        failed = [j for j in h.job_ids if self.store.get(j).status != "succeeded"]
        if failed:
            return self._wrap(self.records.set_result(
                h.record.id, status="failed", message=f"train jobs {failed} did not succeed; nothing to measure"))
        specs = [("hessian_top", {"train_job": j, "top_k": 1, "samples": h.spec.protocol.hessian_samples, "seed": 0})
                 for j in h.job_ids]
        try:
            follow = submit_many(self.store, specs, user=self.runner(h))
        except AccessError as exc:
            raise AccessError(f"{h.key} v{h.version}: its {len(specs)} hessian_top jobs were not queued: {exc}; "
                              "analyse again when fewer of its runner's jobs are unfinished") from None
        return self._wrap(self.records.add_jobs(h.record.id, follow))

    def refresh(self, *, user: User = OPEN) -> list[Hypothesis]:
        """Analyse every running train hypothesis whose jobs have all finished and that ``user`` may
        analyse; the latest records. One run that cannot be analysed does not stop the others: their
        messages are raised together at the end."""
        problems = []
        for h in self.latest():
            if h.status != "running" or h.spec.protocol.kind != "train" or not self.may_analyse(h, user):
                continue
            counts = self.job_status(h)
            if not counts.get("queued") and not counts.get("running"):
                try:
                    self.analyse(h.key, h.version, user=user)
                except UserError as exc:
                    problems.append(str(exc))
        if problems:
            raise UserError("; ".join(problems))
        return self.latest()

    def _finish(self, h: Hypothesis, values: dict[str, list[np.ndarray]]) -> Hypothesis:
        try:
            result = analyse(h.spec, values)
        except (DataError, ValueError) as exc:
            return self._wrap(self.records.set_result(h.record.id, status="failed", message=str(exc)))
        result["protocol"] = h.spec.protocol.model_dump(mode="json")
        return self._wrap(self.records.set_result(h.record.id, status="analysed", result=result,
                                                  verdict=result["verdict"], message=verdict_sentence(h.spec, result)))

    def _train_values(self, h: Hypothesis) -> dict[str, list[np.ndarray]]:
        p = h.spec.protocol
        per_group: list[list[float]] = [[] for _ in h.spec.groups]
        failed = []
        plan = train_specs(h.spec)
        # Follow-up jobs (hessian_top) come after the train jobs, in the same order.
        measured = h.job_ids[len(plan):] if p.metric in FOLLOW_UP_METRICS else h.job_ids[: len(plan)]
        for (gi, _cell, _seed, _spec), job_id in zip(plan, measured, strict=True):
            job = self.store.get(job_id)
            if job.status != "succeeded":
                failed.append(job_id)
                continue
            if p.metric == "hessian_top":
                per_group[gi].append(float(job.result["eigenvalues"][0]))
                continue
            curves = curves_from_csv(self.store.read_artifact(job_id, "curves.csv"))
            per_group[gi].append(metric_value(curves, p.metric, p.metric_epoch))
        if failed:
            raise DataError(f"jobs {failed} did not succeed; retry them (explorer jobs retry ID) and analyse again")
        return {p.metric: [np.asarray(v) for v in per_group]}

    def _warehouse_values(self, spec: HypothesisSpec) -> dict[str, list[np.ndarray]]:
        from explorer.labs.warehouse_data import warehouse_values  # lazily: DuckDB only for warehouse runs

        return warehouse_values(spec, self.warehouse_path)
