"""``selftest``: a small real computation that exercises the whole job machinery.

Fits least squares ``min_x |A x - b|^2`` by gradient descent with torch on the job's device,
reporting progress, a loss curve (the metric stream) and the solution as an ``.npy`` artifact.
``sleep_s`` and ``fail_at_step`` let tests and operators try cancel and failure on purpose.
"""

from __future__ import annotations

import io
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from explorer.jobs.kind import JobContext, JobKind, register


class SelftestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(50, ge=1, le=100_000, description="gradient-descent steps")
    size: int = Field(64, ge=2, le=4096, description="A is size × size")
    seed: int = Field(0, ge=0, description="random seed for A and b")
    sleep_s: float = Field(0.0, ge=0.0, le=3600.0, description="pause after each step, seconds (to try cancel)")
    fail_at_step: int | None = Field(None, ge=0, description="raise an error at this step (to try failure)")


class SelftestFailure(RuntimeError):
    """The failure ``fail_at_step`` asks for."""


def run(spec: SelftestSpec, ctx: JobContext) -> dict[str, Any]:
    import numpy as np
    import torch

    device = torch.device(ctx.device)
    generator = torch.Generator().manual_seed(spec.seed)
    a = torch.randn(spec.size, spec.size, generator=generator) / spec.size**0.5 + torch.eye(spec.size)
    b = torch.randn(spec.size, generator=generator)
    a, b = a.to(device), b.to(device)
    x = torch.zeros(spec.size, device=device)
    # Step size 1/L for L the largest eigenvalue of A^T A: monotone descent.
    lr = 1.0 / float(torch.linalg.matrix_norm(a, ord=2) ** 2)
    first_loss = loss = float(((a @ x - b) ** 2).sum())
    for step in range(1, spec.steps + 1):
        if spec.fail_at_step is not None and step >= spec.fail_at_step:
            raise SelftestFailure(f"selftest failed on purpose at step {step} (fail_at_step={spec.fail_at_step})")
        residual = a @ x - b
        x = x - lr * 2 * (a.T @ residual)
        loss = float((residual**2).sum())
        ctx.metric("loss", loss, step=step)
        ctx.progress(step / spec.steps, f"step {step}/{spec.steps}, loss {loss:.4g}")
        if spec.sleep_s:
            time.sleep(spec.sleep_s)
        if ctx.should_stop():
            return {"stopped_at_step": step}
    buffer = io.BytesIO()
    np.save(buffer, x.cpu().numpy(), allow_pickle=False)
    ctx.artifact("solution.npy", buffer.getvalue(), "application/x-npy")
    return {
        "device": str(device) + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),  # what the worker gave this job (see Worker._threads_per_job)
        "first_loss": first_loss,
        "final_loss": loss,
        "steps": spec.steps,
    }


KIND = register(
    JobKind(
        name="selftest",
        spec_model=SelftestSpec,
        run=run,
        description="Diagnostic: least squares by gradient descent on the job's device "
        "(progress, a loss curve, an .npy artifact).",
        uses_gpu=True,
    )
)
