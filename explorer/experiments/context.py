"""What an experiment needs from whoever runs it: a device, a place for metrics and artifacts,
and a way to read another run's artifacts.

The job system's contexts (``explorer.jobs``) satisfy ``RunContext``; so does any small object in
a script or test. Experiments depend on this protocol only, never on the job machinery above them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

DeviceType = Literal["cpu", "cuda"]


class ArtifactReader(Protocol):
    """Anything that reads a run's artifacts by run id: a running job's context, or the job store."""

    def read_artifact(self, job_id: int, name: str) -> bytes: ...


class RunContext(ArtifactReader, Protocol):
    """What a running experiment may do besides computing."""

    device: DeviceType  # a job's worker pins CUDA_VISIBLE_DEVICES to one device, so "cuda" is that one

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress in [0, 1] with an optional short message."""

    def metric(self, name: str, value: float, *, step: int | None = None, epoch: int | None = None) -> None:
        """Append one point to the run's metric stream (live curves)."""

    def artifact(self, name: str, data: bytes | Path, media_type: str) -> None:
        """Store an artifact (safetensors weights, .npy/.npz arrays, CSV, PNG, HTML; never pickle)."""

    def should_stop(self) -> bool:
        """True once cancellation was requested; long loops check it and return early."""
