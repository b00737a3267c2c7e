"""The principles lab as a service: hypothesis records in the job store's database, run through
its queue (one ``train`` job per cell and seed) or answered from the benchmark warehouse, and
analysed once their jobs have finished (``explorer.labs.analysis``).

Reading never writes: the built-ins (H1–H14) come from the catalogue until somebody runs or edits one.
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
from db.store import Job, utcnow
from explorer.core.access import OPEN, AccessError, User, owner_user
from explorer.core.errors import DataError, UserError
from explorer.core.specs import validate_model
from explorer.labs.analysis import analyse, curves_from_csv, design_power, metric_value, power_sentence
from explorer.labs.catalogue import builtins
from explorer.labs.reports import verdict_sentence
from explorer.labs.specs import FOLLOW_UP_METRICS, HypothesisSpec


def _natural(key: str) -> tuple:
    """H2 before H10: numbers in keys compare as numbers."""
    import re

    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class PlannedRun:
    """One run a train or probe hypothesis needs: its unit, group, pair (cell index), cell, seed, spec."""

    unit: str
    group: int
    pair: int
    cell: str
    seed: int
    spec: dict[str, Any]


def null_contrasts(spec: HypothesisSpec) -> list[int]:
    """Pairs of a paired design whose two cells are the same: the manipulation changed nothing, so
    they are not run and are reported as dropped."""
    if not spec.protocol.paired:
        return []
    a, b = spec.groups
    return [k for k, (x, y) in enumerate(zip(a.cells, b.cells, strict=True)) if x == y]


def plan(spec: HypothesisSpec) -> list[PlannedRun]:
    """Every run a train (or probe) hypothesis needs, unit by unit. Like a preset's runs, the specs
    carry the hypothesis as their ``experiment`` (Experiment results groups them by it) and a ``name``
    for the cell: its group's label, with the cell's own name when the group has several (numbered
    where two cells of a group share a name, e.g. the same P, d̄ and m̄) and the unit's label."""
    from collections import Counter

    from explorer.jobs.label_parts import cell_title

    p = spec.protocol
    experiment = _clip(f"{spec.key} · {spec.title}", 120)  # TrainSpec's limits
    dropped = set(null_contrasts(spec))
    units = p.sweep or (None,)
    runs = []
    for unit in units:
        for gi, group in enumerate(spec.groups):
            titles = [cell_title(cell) for cell in group.cells]
            repeated = Counter(titles)
            for k, (cell, title) in enumerate(zip(group.cells, titles, strict=True)):
                if k in dropped:
                    continue
                name = group.label if len(group.cells) == 1 else (
                    f"{group.label} · {title}" + (f" · cell {k + 1}" if repeated[title] > 1 else ""))
                if unit is not None:
                    name = f"{name} · {unit.label}"
                data = unit.data if unit is not None and unit.data is not None else p.data
                lr = unit.lr if unit is not None and unit.lr is not None else p.lr
                for seed in p.seeds:
                    runs.append(PlannedRun(unit.label if unit is not None else p.metric, gi, k, cell, seed, {
                        "experiment": experiment, "name": _clip(name, 80),
                        "network": {"cell": cell, "network": p.network, "width": p.width, "channels": p.channels,
                                    "cells_per_stage": p.cells_per_stage, "layers": p.layers,
                                    **({"mlp_branch_scale": p.branch_scale} if p.branch_scale != 1.0 else {})},
                        "data": data.model_dump(mode="json"), "optimizer": p.optimizer, "lr": lr,
                        "momentum": p.momentum, "batch_size": p.batch_size, "epochs": p.epochs, "seed": seed,
                    }))
    return runs


def train_specs(spec: HypothesisSpec) -> list[tuple[int, str, int, dict[str, Any]]]:
    """(group index, cell, seed, train spec) for every job a train hypothesis needs (``plan``)."""
    return [(r.group, r.cell, r.seed, r.spec) for r in plan(spec)]


def _values(runs: list[PlannedRun], values: list[float], n_groups: int
            ) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """Per unit and group: the values and the pair index of each (for paired designs)."""
    out: dict[str, list[list[float]]] = {}
    pairs: dict[str, list[list[int]]] = {}
    for run, v in zip(runs, values, strict=True):
        out.setdefault(run.unit, [[] for _ in range(n_groups)])[run.group].append(v)
        pairs.setdefault(run.unit, [[] for _ in range(n_groups)])[run.group].append(run.pair)
    return ({u: [np.asarray(g) for g in gs] for u, gs in out.items()},
            {u: [np.asarray(g) for g in gs] for u, gs in pairs.items()})


def _init_attenuation(train_spec: dict[str, Any]) -> float:
    """Gradient attenuation of a train spec's network at initialisation (the weights its job would start
    from: ``build_model`` seeds them with the spec's seed), on its first training examples."""
    from explorer.experiments.datasets import load_dataset
    from explorer.experiments.gradient_flow import PROBE_BATCH, attenuation, probe
    from explorer.experiments.train import TrainSpec, build_model

    spec = validate_model(TrainSpec, train_spec, "train")
    data = load_dataset(spec.data)
    model = build_model(spec, data)
    return attenuation(probe(model, data.x_train[:PROBE_BATCH], data.y_train[:PROBE_BATCH]))


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
        return [merged[key] for key in sorted(merged, key=_natural)]

    def family(self) -> list[dict[str, Any]]:
        """Holm across every analysed hypothesis (latest versions): the family-wise correction the
        reports state (``reports.family_rows``)."""
        from explorer.labs.reports import family_rows

        return family_rows(self.latest())

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

    def run(self, key: str, *, user: User = OPEN, undecidable_ok: bool = False) -> Hypothesis:
        """Lock the latest version and start it: queue its train jobs (as ``user``'s, all or none),
        or analyse warehouse (or probe) data now. A built-in is stored first. A design whose smallest
        reachable p is not below α is refused unless ``undecidable_ok`` (a pilot run: its verdict will
        read "cannot be decided")."""
        from explorer.jobs.queue import submit_many

        if not user.can_submit:
            raise AccessError("this server needs an access token to run hypotheses: enter yours in the sidebar")
        h = self.get(key)
        if h.record.locked:
            raise UserError(f"{key} v{h.version} was already run ({h.status}); change its spec to make a new version")
        power = design_power(h.spec, self._contrasts(h.spec))
        if (
            not power["decidable"] and not undecidable_ok
        ):  # refuse before any compute is spent on a verdict no data can give
            raise UserError(f"{key} v{h.version} cannot be decided: {power_sentence(power)}. Add seeds (or cells) "
                            "and save a new version")
        if h.spec.protocol.kind == "probe":
            values = self._probe_values(h.spec)
            record = self.records.lock(self._stored(h).record.id, [], status="running")
            return self._finish(self._wrap(record), *values)
        if h.spec.protocol.kind == "warehouse":
            values = self._warehouse_values(h.spec)  # before storing: a missing warehouse writes nothing
            record = self.records.lock(self._stored(h).record.id, [], status="running")
            return self._finish(self._wrap(record), values)
        job_ids = submit_many(self.store, [("train", r.spec) for r in plan(h.spec)],
                              user=user)
        return self._wrap(self.records.lock(self._stored(h).record.id, job_ids))

    def job_status(self, h: Hypothesis) -> dict[str, int]:
        """How many of the run's jobs are in each status, each counted by its latest attempt."""
        counts: dict[str, int] = {}
        for job_id in h.job_ids:
            status = self.attempt(job_id).status
            counts[status] = counts.get(status, 0) + 1
        return counts

    def attempt(self, job_id: int) -> Job:
        """The job that stands for ``job_id`` in an analysis: the job itself, or, when it did not succeed,
        its latest retry (``explorer jobs retry``, the Jobs page's Retry: the same kind and spec), following
        retries of retries. Without this, "retry them and analyse again" analysed the failed jobs again."""
        job = self.store.get(job_id)
        if job.status == "succeeded":
            return job
        retries = [c for c in self.store.children(job_id) if c.kind == job.kind and c.spec == job.spec]
        return self.attempt(retries[-1].id) if retries else job

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
        if h.spec.protocol.kind == "probe":
            return self._finish(h, *self._probe_values(h.spec))
        counts = self.job_status(h)
        pending = counts.get("queued", 0) + counts.get("running", 0)
        if pending:
            raise UserError(f"{key} v{h.version}: {pending} of {len(h.job_ids)} jobs are still queued or running")
        if self._needs_follow_up(h):
            return self._queue_follow_up(h)
        return self._finish(h, *self._train_values(h))

    def _needs_follow_up(self, h: Hypothesis) -> bool:
        return h.spec.protocol.metric in FOLLOW_UP_METRICS and len(h.job_ids) == len(plan(h.spec))

    def _queue_follow_up(self, h: Hypothesis) -> Hypothesis:
        """Queue one hessian_top job per succeeded train job (the metric is computed on its weights),
        all or none, as the runner's: they see them and they count against the runner's limit."""
        from explorer.jobs.queue import submit_many

        trained = [self.attempt(j) for j in h.job_ids]
        failed = [j.id for j in trained if j.status != "succeeded"]
        if failed:
            return self._wrap(self.records.set_result(
                h.record.id, status="failed", message=f"train jobs {failed} did not succeed; nothing to measure"))
        specs = [("hessian_top", {"train_job": j.id, "top_k": 1, "samples": h.spec.protocol.hessian_samples,
                                  "seed": 0}) for j in trained]
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

    @staticmethod
    def _contrasts(spec: HypothesisSpec) -> int | None:
        return len(spec.groups[0].cells) - len(null_contrasts(spec)) if spec.protocol.paired else None

    def _finish(self, h: Hypothesis, values: dict[str, list[np.ndarray]],
                blocks: dict[str, list[np.ndarray]] | None = None) -> Hypothesis:
        try:
            result = analyse(h.spec, values, blocks=blocks if h.spec.protocol.paired else None)
        except (DataError, ValueError) as exc:
            return self._wrap(self.records.set_result(h.record.id, status="failed", message=str(exc)))
        result["protocol"] = h.spec.protocol.model_dump(mode="json")
        dropped = null_contrasts(h.spec)
        if dropped:
            result["dropped_contrasts"] = [h.spec.groups[1].cells[k] for k in dropped]
        return self._wrap(self.records.set_result(h.record.id, status="analysed", result=result,
                                                  verdict=result["verdict"], message=verdict_sentence(h.spec, result)))

    def _train_values(self, h: Hypothesis) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
        p = h.spec.protocol
        failed = []
        runs = plan(h.spec)
        values: list[float] = []
        # Follow-up jobs (hessian_top) come after the train jobs, in the same order.
        measured = h.job_ids[len(runs):] if p.metric in FOLLOW_UP_METRICS else h.job_ids[: len(runs)]
        for job_id in measured:
            job = self.attempt(job_id)
            if job.status != "succeeded":
                failed.append(job.id)
                values.append(float("nan"))
            elif p.metric == "hessian_top":
                values.append(float(job.result["eigenvalues"][0]))
            else:
                curves = curves_from_csv(self.store.read_artifact(job.id, "curves.csv"))
                values.append(metric_value(curves, p.metric, p.metric_epoch))
        if failed:
            raise DataError(f"jobs {failed} did not succeed; retry them (explorer jobs retry ID) and analyse again")
        return _values(runs, values, len(h.spec.groups))

    def _probe_values(self, spec: HypothesisSpec) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
        """Probe metrics, measured here and now: the networks at initialisation, one per cell and seed."""
        runs = plan(spec)
        return _values(runs, [_init_attenuation(r.spec) for r in runs], len(spec.groups))

    def _warehouse_values(self, spec: HypothesisSpec) -> dict[str, list[np.ndarray]]:
        from explorer.labs.warehouse_data import warehouse_values  # lazily: DuckDB only for warehouse runs

        return warehouse_values(spec, self.warehouse_path)
