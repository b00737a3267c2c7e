"""Helpers for the principles-lab tests: a run whose train jobs have finished, waiting for its analysis."""

from __future__ import annotations

from db.store import JobStore
from explorer.core.access import User
from explorer.labs.catalogue import builtin
from explorer.labs.lab import Hypothesis, Lab

HESSIAN_KEY = "H4-hessian"


def finished_hessian_run(lab: Lab, user: User) -> Hypothesis:
    """H4 measured by the Hessian metric (4 train jobs), run as ``user``, its train jobs marked
    succeeded without training: analysing it queues 4 hessian_top follow-up jobs."""
    spec = builtin("H4").model_copy(update={"key": HESSIAN_KEY}).with_protocol(
        epochs=1, seeds=(0, 1), width=16, metric="hessian_top", hessian_samples=10)
    lab.save(spec)
    h = lab.run(HESSIAN_KEY, user=user, undecidable_ok=True)  # 2 vs 2: a pilot, "cannot be decided"
    store: JobStore = lab.store
    for _ in h.job_ids:
        job = store.claim("test", "cpu", ["train"])
        assert job is not None and store.finish(job.id, job.attempts, "succeeded", result={})
    return h
