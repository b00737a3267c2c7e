"""``LocalContext``: an in-memory ``JobContext`` for running a job kind in this process.

For tests, notebooks and the CLI's ``--local`` runs: metrics, progress and artifacts are kept in
lists and dicts; ``read_artifact`` reads from a shared ``artifacts`` mapping so a chain of local
jobs (train → loss_contour) can hand weights on without a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from explorer.experiments.context import DeviceType


@dataclass
class LocalContext:
    job_id: int = 1
    device: DeviceType = "cpu"
    # (job_id, artifact name) -> bytes; share one dict between contexts to chain jobs.
    artifacts: dict[tuple[int, str], bytes] = field(default_factory=dict)
    media_types: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int | None, int | None]] = field(default_factory=list)
    progress_log: list[tuple[float, str | None]] = field(default_factory=list)
    stop_requested: bool = False

    def progress(self, fraction: float, message: str | None = None) -> None:
        self.progress_log.append((fraction, message))

    def metric(self, name: str, value: float, *, step: int | None = None, epoch: int | None = None) -> None:
        self.metrics.append((name, float(value), step, epoch))

    def artifact(self, name: str, data: bytes | Path, media_type: str) -> None:
        self.artifacts[(self.job_id, name)] = data.read_bytes() if isinstance(data, Path) else bytes(data)
        self.media_types[name] = media_type

    def read_artifact(self, job_id: int, name: str) -> bytes:
        try:
            return self.artifacts[(job_id, name)]
        except KeyError:
            raise KeyError(f"job {job_id} has no artifact {name!r}") from None

    def should_stop(self) -> bool:
        return self.stop_requested

    def series(self, name: str) -> list[float]:
        """Values of one metric, in the order they were reported."""
        return [v for n, v, _, _ in self.metrics if n == name]
