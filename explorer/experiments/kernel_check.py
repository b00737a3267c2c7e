"""Empirical NNGP kernel of an MLP-cell network at initialisation, against the analytic values.

For two stem outputs h(x), h(x') built exactly centred (coordinate mean 0), with ⟨h, h⟩/m = 1 and
⟨h, h'⟩/m = K0, the cell part of ``MLPCellNet`` (``node_features``) is run at several widths m and
seeds; the output kernel ⟨X(x_a), X(x_b)⟩/m (m, not the width of a concat output) is compared with
the exact infinite-width kernel (``dag_kernel``), the sum rule and Eq. 12. The inputs carry no
sampling error, so what is left is the network's own: fluctuations ∝ 1/√m plus an O(1/m) bias.
Each width is tested alone (a t-test), and the widths are pooled to find a bias they share
(``explorer.experiments.kernel_bias``): the verdict says both.

``run_nngp_check`` is what the ``nngp_check`` job kind runs: ``kernel_check`` with its metrics and an
``.npz`` of the per-width values; ``KernelCheckResult.to_dict()`` is its JSON summary.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy import stats

from explorer.cell.model import Cell, parse_cell
from explorer.core.errors import CellError
from explorer.experiments.context import RunContext
from explorer.experiments.kernel_bias import BiasTest, bias_test, describe_bias
from explorer.nets.mlp import MLPCellNet
from explorer.theory import nngp, relu
from explorer.theory.dag_kernel import dag_kernel
from explorer.theory.paths import path_histogram

FloatArray = NDArray[np.float64]
ALPHA = 1e-3  # two-sided level of the t-test that decides "within sampling error"
FLOAT32_TOL = 1e-5  # relative: the networks run in float32
MAX_WIDTH = 16_384  # one m×m float32 weight matrix per ReLU edge: 1 GiB each at this width
NNGP_CHECK_NPZ = "nngp_check.npz"


def centred_pair(k0: float, width: int, generator: torch.Generator) -> torch.Tensor:
    """Two rows h, h' in R^m with mean 0, ‖h‖² = ‖h'‖² = m and ⟨h, h'⟩ = K0·m exactly (random directions)."""
    g = torch.randn(2, width, generator=generator, dtype=torch.float64)
    g = g - g.mean(dim=1, keepdim=True)  # orthogonal to the all-ones vector
    u = g[0] / g[0].norm()
    w = g[1] - (g[1] @ u) * u
    w = w / w.norm()
    scale = math.sqrt(width)
    return torch.stack([u * scale, (k0 * u + math.sqrt(max(0.0, 1.0 - k0 * k0)) * w) * scale])


@dataclass(frozen=True)
class NodeMoments:
    """One network's empirical node moments, laid out like ``DagKernel`` (no K0 axis)."""

    same: FloatArray  # (n, n): ⟨X_u(x), X_v(x)⟩/m averaged over the two inputs
    cross: FloatArray  # (n, n): ⟨X_u(x), X_v(x')⟩/m symmetrised
    mean: FloatArray  # (n,): coordinate means, averaged over the two inputs
    output_gram: FloatArray  # (2, 2): the output kernel as measured (not symmetrised)


def node_moments(cell: Cell, k0: float, width: int, seed: int, device: str = "cpu") -> NodeMoments:
    """Build ``MLPCellNet`` with ``seed`` and measure every node's moments for the centred input pair.

    Nodes the network never computes (no path from an input) are zero vectors, as in ``dag_kernel``;
    pairs of a concat output with other nodes are NaN (different widths).
    """
    with torch.random.fork_rng(devices=[]):  # do not disturb the caller's global RNG
        torch.manual_seed(seed)
        net = MLPCellNet(cell, in_features=1, width=width, num_classes=1).to(device)
    gen = torch.Generator().manual_seed(seed + 1_000_003)
    h = centred_pair(k0, width, gen).to(device=device, dtype=torch.float32)
    with torch.no_grad():
        feats = net.node_features(h)
    n = cell.n_nodes
    concat_out = any(e.op == "concat" for e in cell.live_edges if e.dst == cell.output)
    zero = torch.zeros(2, width, dtype=torch.float64)
    rows = [feats[v].double().cpu() if v in feats else zero for v in range(n)]
    same, cross, mean = np.full((n, n), np.nan), np.full((n, n), np.nan), np.zeros(n)
    for u in range(n):
        mean[u] = float(rows[u].mean())
        for v in range(n):
            if concat_out and cell.output in (u, v) and u != v:
                continue
            gram = (rows[u] @ rows[v].T / width).numpy()
            same[u, v] = (gram[0, 0] + gram[1, 1]) / 2
            cross[u, v] = (gram[0, 1] + gram[1, 0]) / 2
    out = rows[cell.output]
    return NodeMoments(same, cross, mean, (out @ out.T / width).numpy())


@dataclass(frozen=True)
class Analytic:
    """One analytic prediction of the output kernel: its diagonal, off-diagonal and λmin."""

    diag: float | None
    off: float | None
    lambda_min: float


@dataclass(frozen=True)
class WidthEstimate:
    """The empirical output kernel at one width, over ``n_seeds`` networks."""

    width: int
    n_seeds: int
    diag: float
    diag_se: float
    off: float
    off_se: float
    lambda_min: float
    lambda_min_se: float
    rms_error: float  # √ mean over seeds of ((diag − exact)² + (off − exact)²)/2: the per-network error
    z_diag: float | None  # (diag − exact)/SE; None when every network gives the exact value (to float32)
    z_off: float | None
    z_limit: float  # the t quantile (n_seeds − 1 degrees of freedom, two-sided ALPHA) |z| is held to
    consistent: bool  # both |z| ≤ z_limit (or no deviation beyond float32 rounding)


@dataclass(frozen=True)
class KernelCheckResult:
    cell: str  # cell.to_text()
    k0: float
    exact: Analytic  # infinite width, cross-covariances and ReLU means (dag_kernel)
    sum_rule: Analytic  # Chen et al.'s sum rule: independent branches, no ReLU means
    eq12: Analytic  # Chen et al. Eq. 12: a per-path bound on λmin only
    widths: list[WidthEstimate]
    error_slope: float | None  # least-squares slope of log rms_error against log width (≈ −0.5 expected)
    error_c: float | None  # C in rms_error ≈ C/√m (the 1/√m trend fitted with its slope fixed)
    bias: list[BiasTest]  # diag and off pooled over widths

    @property
    def consistent(self) -> bool:
        """Every width within its own sampling error (says nothing about a bias shared by all widths)."""
        return all(w.consistent for w in self.widths)

    @property
    def systematic(self) -> bool:
        """A bias shared by the widths: see ``bias``."""
        return any(b.systematic for b in self.bias)

    @property
    def verdict(self) -> str:
        """One sentence for people: per width, then pooled over widths."""
        if not self.consistent:
            bad = [w.width for w in self.widths if not w.consistent]
            head = f"deviates beyond sampling error at width {', '.join(map(str, bad))}"
        else:
            head = "within sampling error at every width taken alone"
        flagged = [b for b in self.bias if b.systematic]
        if flagged:
            trend = [b for b in flagged if b.slope is not None and b.slope_se and abs(b.slope) > 2 * b.slope_se]
            tail = ("; but a systematic (finite-width) bias: " + "; ".join(describe_bias(b) for b in flagged)
                    + ("; it shrinks like 1/width" if trend and all(
                        b.intercept is not None and b.intercept_se and abs(b.intercept) <= 2 * b.intercept_se
                        for b in trend) else ""))
        else:
            same = [b for b in self.bias if b.bars_one_side]
            tail = ("; no systematic bias detected" + (" (" + "; ".join(describe_bias(b) for b in same)
                                                       + ", not significant)" if same else ""))
        return head + tail + "."

    def to_dict(self) -> dict:
        d = asdict(self)
        d["consistent"] = self.consistent
        d["systematic"] = self.systematic
        d["verdict"] = self.verdict
        for b, raw in zip(self.bias, d["bias"], strict=True):
            raw["same_side"] = b.same_side
        return _json_safe(d)


def _json_safe(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _lambda_min(gram: FloatArray) -> float:
    return float(np.linalg.eigvalsh((gram + gram.T) / 2)[0])


def t_limit(n_seeds: int, alpha: float = ALPHA) -> float:
    """|mean − exact|/SE beyond this is a deviation at level ``alpha`` (Student t, n − 1 d.o.f.)."""
    return float(stats.t.ppf(1.0 - alpha / 2.0, n_seeds - 1))


def _float_tol(exact: float) -> float:
    """Deviations this small are float32 rounding, not sampling error."""
    return FLOAT32_TOL * max(1.0, abs(exact))


def _z(mean: float, se: float, exact: float) -> float | None:
    dev, tol = mean - exact, _float_tol(exact)
    if se > tol:
        return dev / se
    return None if abs(dev) <= tol else math.copysign(math.inf, dev)


def kernel_check(
    cell: Cell,
    k0: float = 0.5,
    widths: Sequence[int] = (256, 512, 1024),
    seeds: int = 4,
    *,
    base_seed: int = 0,
    device: str = "cpu",
    progress: Callable[[float, str], None] | None = None,
) -> KernelCheckResult:
    """Empirical vs analytic output kernel of ``cell`` at each width, ``seeds`` networks per width.

    Network s at width m is seeded with ``base_seed + s`` (the same seeds at every width).
    ``progress(fraction, message)`` is called after each width.
    """
    k0 = float(k0)
    if not -1.0 <= k0 <= 1.0:
        raise ValueError(f"K0 must lie in [-1, 1], got {k0}")
    widths = [int(m) for m in widths]
    if not widths or any(not 2 <= m <= MAX_WIDTH for m in widths):
        raise ValueError(f"widths must be a non-empty list of integers in 2..{MAX_WIDTH}, got {widths}")
    if seeds < 2:
        raise ValueError(f"need at least 2 seeds for a standard error, got {seeds}")

    ed, eo = (float(a) for a in dag_kernel(cell, k0).output_kernel)
    exact = Analytic(ed, eo, float(relu.lambda_min_2x2(ed, eo)))
    sd, so = (float(a) for a in nngp.sum_rule_kernel(cell, k0))

    limit = t_limit(seeds)
    estimates = []
    for i, m in enumerate(widths):
        grams = [node_moments(cell, k0, m, base_seed + s, device).output_gram for s in range(seeds)]
        diag = np.array([(g[0, 0] + g[1, 1]) / 2 for g in grams])
        off = np.array([(g[0, 1] + g[1, 0]) / 2 for g in grams])
        lam = np.array([_lambda_min(g) for g in grams])
        se = {k: float(a.std(ddof=1) / math.sqrt(seeds)) for k, a in (("d", diag), ("o", off), ("l", lam))}
        z_d, z_o = _z(float(diag.mean()), se["d"], ed), _z(float(off.mean()), se["o"], eo)
        estimates.append(WidthEstimate(
            width=m, n_seeds=seeds,
            diag=float(diag.mean()), diag_se=se["d"], off=float(off.mean()), off_se=se["o"],
            lambda_min=float(lam.mean()), lambda_min_se=se["l"],
            rms_error=float(np.sqrt(np.mean(((diag - ed) ** 2 + (off - eo) ** 2) / 2))),
            z_diag=z_d, z_off=z_o,
            z_limit=limit, consistent=all(z is None or abs(z) <= limit for z in (z_d, z_o)),
        ))
        if progress is not None:
            progress((i + 1) / len(widths), f"width {m}: {seeds} networks")
    slope, c_half = fit_error_trend([w.width for w in estimates], [w.rms_error for w in estimates],
                                   floor=_float_tol(ed))
    ms = [w.width for w in estimates]
    bias = [bias_test("diag", ms, [w.diag for w in estimates], [w.diag_se for w in estimates], ed, seeds,
                      tol=_float_tol(ed)),
            bias_test("off", ms, [w.off for w in estimates], [w.off_se for w in estimates], eo, seeds,
                      tol=_float_tol(eo))]
    return KernelCheckResult(
        cell=cell.to_text(), k0=k0, exact=exact,
        sum_rule=Analytic(sd, so, float(relu.lambda_min_2x2(sd, so))),
        eq12=Analytic(None, None, float(nngp.eq12(path_histogram(cell), k0))),
        widths=estimates, error_slope=slope, error_c=c_half, bias=bias,
    )


def fit_error_trend(
    widths: Sequence[int], errors: Sequence[float], floor: float = 0.0
) -> tuple[float | None, float | None]:
    """(slope of log error on log width, C of error ≈ C/√m); (None, None) when an error is ≤ ``floor``
    (the network computes the exact value, e.g. a cell of skips only, so there is no trend to fit)."""
    m = np.asarray(widths, dtype=np.float64)
    err = np.asarray(errors, dtype=np.float64)
    if np.any(err <= max(floor, 1e-300)):
        return None, None
    c_half = float(np.exp(np.mean(np.log(err * np.sqrt(m)))))
    if len(set(widths)) < 2:
        return None, c_half
    slope = float(np.polyfit(np.log(m), np.log(err), 1)[0])
    return slope, c_half


# --- the nngp_check job's work -----------------------------------------------------------------


class NNGPCheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: str = Field(description="the cell in any format (every parameterized edge becomes Linear+ReLU)")
    k0: float = Field(0.5, ge=-1, le=1, description="input correlation K0")
    widths: list[int] = Field([256, 512, 1024], min_length=1, max_length=12)
    seeds: int = Field(8, ge=2, le=1000, description="networks per width")
    base_seed: int = Field(0, ge=0)

    @field_validator("cell")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_cell(value)
        except CellError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("widths")
    @classmethod
    def _widths(cls, value: list[int]) -> list[int]:
        if any(not 2 <= m <= MAX_WIDTH for m in value):
            raise ValueError(f"every width must lie in 2..{MAX_WIDTH}")
        return value


def run_nngp_check(spec: NNGPCheckSpec, ctx: RunContext) -> dict[str, Any]:
    result = kernel_check(parse_cell(spec.cell), spec.k0, spec.widths, spec.seeds, base_seed=spec.base_seed,
                          device=ctx.device, progress=lambda f, msg: ctx.progress(f, msg))
    for w in result.widths:
        ctx.metric("lambda_min", w.lambda_min, step=w.width)
        ctx.metric("rms_error", w.rms_error, step=w.width)
    buf = io.BytesIO()
    np.savez(buf, width=np.array([w.width for w in result.widths]),
             diag=np.array([w.diag for w in result.widths]), diag_se=np.array([w.diag_se for w in result.widths]),
             off=np.array([w.off for w in result.widths]), off_se=np.array([w.off_se for w in result.widths]),
             lambda_min=np.array([w.lambda_min for w in result.widths]),
             lambda_min_se=np.array([w.lambda_min_se for w in result.widths]),
             rms_error=np.array([w.rms_error for w in result.widths]))
    ctx.artifact(NNGP_CHECK_NPZ, buf.getvalue(), "application/x-npz")
    return result.to_dict()
