"""Loss landscapes around trained weights (Li et al., NeurIPS 2018), and the init → final line.

Directions: Gaussian, filter-normalised (every filter — a row of a linear layer, an output channel
of a conv — scaled to the norm of the same filter of the weights). One-dimensional parameters
(biases, BatchNorm scales and shifts) get zero directions by default, as in the reference
implementation (``ignore='biasbn'``). The network runs in eval mode on a fixed evaluation subset,
BatchNorm with the trained running statistics (Li et al.) or the batch's own (``bn_stats``;
``explorer.experiments.batchnorm`` says why both).

Speed: the first layer is linear in its weights, so its output at w* + αd1 + βd2 is
X·W + α X·D1 + β X·D2 from three products computed once, not one per grid point (and at
(0, 0) it is exactly the trained network's own first-layer output). The rest of the network runs
through ``torch.func.functional_call`` with combined weights, either point by point (``loop``) or
many points per call under ``torch.func.vmap`` (``vmap``). Which is faster depends on the model and
the device (on these 2-core CPUs the loop won at every size in bench/landscape.py; batching should
pay where kernel launches dominate, as for small models on a GPU), so ``auto`` decides by
measurement on the grid itself: the first row one way, the second the other, the rest the faster.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from safetensors.torch import load as load_state
from safetensors.torch import save as st_save
from torch import Tensor, nn
from torch.func import functional_call, vmap

from explorer.experiments.batchnorm import BN_STATS_LABELS, BNStats, has_batchnorm, use_batch_statistics_
from explorer.experiments.checkpoints import Split, start_analysis
from explorer.experiments.context import RunContext
from explorer.experiments.train import EVAL_BATCH
from explorer.nets.weights import WEIGHTS_MEDIA_TYPE

Directions = dict[str, Tensor]
Method = Literal["auto", "loop", "vmap"]
CONTOUR_NPZ = "contour.npz"  # alpha, beta, loss, acc (the grid); interp_t, interp_loss, interp_acc (the line)
CONTOUR_CSV = "contour.csv"


# --- directions -----------------------------------------------------------------------------------


def random_direction(model: nn.Module, generator: torch.Generator, *, ignore_bias_bn: bool = True) -> Directions:
    """A Gaussian direction over the model's parameters, filter-normalised. Drawn on the CPU (so
    a seed gives the same direction on every device), returned on the parameters' devices."""
    direction: Directions = {}
    for name, w in model.named_parameters():
        d = torch.randn(w.shape, generator=generator, dtype=torch.float32).to(device=w.device, dtype=w.dtype)
        if w.dim() <= 1:
            if ignore_bias_bn:
                d.zero_()
            else:
                d.copy_(w.detach())  # the reference's choice for 1-D parameters kept in the direction
        else:
            filter_normalise_(d, w.detach())
        direction[name] = d
    return direction


def filter_normalise_(d: Tensor, w: Tensor) -> None:
    """Scale each filter d[i] to ‖w[i]‖ (in place), as Li et al.'s ``normalize_direction``."""
    dims = tuple(range(1, d.dim()))
    d_norm = torch.linalg.vector_norm(d, dim=dims, keepdim=True)
    w_norm = torch.linalg.vector_norm(w, dim=dims, keepdim=True)
    d.mul_(w_norm / (d_norm + 1e-10))


# --- the evaluator ----------------------------------------------------------------------------------


class _Injected(nn.Module):
    """Stands in for the first layer: returns the precomputed output set in ``value``."""

    def __init__(self) -> None:
        super().__init__()
        self.value = torch.empty(0)

    def forward(self, x: Tensor) -> Tensor:
        return self.value


def trace_first_layer(model: nn.Module, x: Tensor) -> tuple[str, Tensor, Tensor] | None:
    """(name, input, output) of the Linear or Conv2d that receives the network input ``x`` (whose
    output is linear in its weights), found by running ``model`` on ``x`` once; None if the input
    goes through anything else first."""
    found: list[tuple[str, Tensor, Tensor]] = []
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            def hook(mod: nn.Module, args: tuple[Tensor, ...], out: Tensor, _name: str = name) -> None:
                # The same storage and size: x itself or a reshaped view of it (the MLP flattens).
                if not found and args and args[0].data_ptr() == x.data_ptr() and args[0].numel() == x.numel():
                    found.append((_name, args[0], out))
            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return found[0] if found else None


@dataclass
class Surface:
    xs: np.ndarray  # α values (columns)
    ys: np.ndarray  # β values (rows)
    loss: np.ndarray  # [len(ys), len(xs)]
    acc: np.ndarray


class SurfaceEvaluator:
    """Loss and accuracy of ``model`` at w* + α d1 + β d2 on (x, y); ``model`` is left unchanged.

    Works on a copy whose parameters are views into one flat vector, so moving to a grid point is
    a single ``addmv`` (w* + [d1 d2]·(α, β)) instead of two operations per parameter tensor.
    """

    def __init__(self, model: nn.Module, x: Tensor, y: Tensor, d1: Directions, d2: Directions, *,
                 use_linearity: bool = True, eval_batch: int = EVAL_BATCH, accuracy: bool = True,
                 bn_stats: BNStats = "running") -> None:
        self.y = y
        self.accuracy = accuracy  # False: loss only (accuracy NaN), a few ops less per point
        self.method_used: Literal["loop", "vmap"] | None = None  # set by grid()
        self.seconds_per_point: dict[str, float] = {}
        self.model = copy.deepcopy(model).eval()
        if bn_stats == "batch":  # each chunk (≤ eval_batch samples) normalised by its own statistics
            use_batch_statistics_(self.model)
        self.chunks = [x[i : i + eval_batch] for i in range(0, len(x), eval_batch)]
        self.labels = [y[i : i + eval_batch] for i in range(0, len(y), eval_batch)]
        self.first: str | None = None
        self.pre: list[tuple[Tensor, Tensor, Tensor]] = []  # per chunk: X·W (+b), X·D1 (+db1), X·D2 (+db2)
        skip: set[str] = set()
        traces = [trace_first_layer(self.model, chunk) for chunk in self.chunks] if use_linearity else []
        if traces and all(t is not None and t[0] == traces[0][0] for t in traces):  # type: ignore[index]
            self.first = traces[0][0]  # type: ignore[index]
            layer = self.model.get_submodule(self.first)
            w, b = f"{self.first}.weight", f"{self.first}.bias"
            with torch.no_grad():
                for _, inp, h0 in traces:  # type: ignore[misc]
                    # h0 is the trained layer's own output, so the surface is exact at (0, 0).
                    self.pre.append((h0, self._layer_with(layer, inp, d1[w], d1.get(b)),
                                     self._layer_with(layer, inp, d2[w], d2.get(b))))
            parent, _, child = self.first.rpartition(".")
            self.injected = _Injected()
            (self.model.get_submodule(parent) if parent else self.model).register_module(child, self.injected)
            skip = {w, b}
        params = [(k, p) for k, p in self.model.named_parameters() if k not in skip]
        self.names = [k for k, _ in params]
        self.shapes = [p.shape for _, p in params]
        self.sizes = [p.numel() for _, p in params]
        with torch.no_grad():
            self.w0 = torch.cat([p.detach().reshape(-1) for _, p in params]) if params else torch.zeros(0)
            self.directions = torch.stack([torch.cat([d[k].reshape(-1) for k in self.names]) if params
                                           else torch.zeros(0) for d in (d1, d2)], dim=1)
            self.flat = self.w0.clone()
            for (_, p), view in zip(params, self._views(self.flat), strict=True):
                p.data = view  # the copy's parameters now live in self.flat

    def _views(self, flat: Tensor) -> list[Tensor]:
        return [v.view(*lead, *shape) for v, shape, lead in
                ((v, s, flat.shape[:-1]) for v, s in zip(flat.split(self.sizes, dim=-1), self.shapes, strict=True))]

    @staticmethod
    def _layer_with(layer: nn.Module, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if isinstance(layer, nn.Linear):
            return nn.functional.linear(x, weight, bias)
        assert isinstance(layer, nn.Conv2d)
        return nn.functional.conv2d(x, weight, bias, layer.stride, layer.padding, layer.dilation, layer.groups)

    def _loss_acc(self, outputs: Callable[[int, Tensor], Tensor]) -> tuple[float, float]:
        loss = torch.zeros((), dtype=torch.float64, device=self.y.device)
        correct = torch.zeros((), dtype=torch.float64, device=self.y.device)
        for i, (chunk, yb) in enumerate(zip(self.chunks, self.labels, strict=True)):
            out = outputs(i, chunk).float()
            loss += nn.functional.cross_entropy(out, yb, reduction="sum").double()
            if self.accuracy:
                correct += (out.argmax(1) == yb).sum()
        n = max(1, len(self.y))
        if not self.accuracy:
            return float(loss) / n, float("nan")
        total_loss, total_correct = torch.stack([loss, correct]).tolist()  # one device sync
        return total_loss / n, total_correct / n

    @torch.no_grad()
    def point(self, alpha: float, beta: float) -> tuple[float, float]:
        """Loss and accuracy at one grid point."""
        moved = bool(alpha or beta)
        if moved:
            coef = torch.tensor([alpha, beta], dtype=self.w0.dtype, device=self.w0.device)
            torch.addmv(self.w0, self.directions, coef, out=self.flat)
        else:
            self.flat.copy_(self.w0)

        def outputs(i: int, chunk: Tensor) -> Tensor:
            if self.first is not None:
                h0, h1, h2 = self.pre[i]
                self.injected.value = torch.add(h0, h1, alpha=alpha).add_(h2, alpha=beta) if moved else h0
            return self.model(chunk)

        return self._loss_acc(outputs)

    @torch.no_grad()
    def points_vmap(self, alphas: Sequence[float], betas: Sequence[float]) -> list[tuple[float, float]]:
        """Many grid points in one vectorised call per sample chunk."""
        device = self.y.device
        coef = torch.tensor([list(alphas), list(betas)], dtype=self.w0.dtype, device=device)  # [2, points]
        flat = self.w0 + (self.directions @ coef).T  # [points, n]
        weights = dict(zip(self.names, self._views(flat), strict=True))
        a, b = coef[0], coef[1]
        losses = torch.zeros(len(alphas), dtype=torch.float64, device=device)
        correct = torch.zeros(len(alphas), dtype=torch.float64, device=device)
        for i, (chunk, yb) in enumerate(zip(self.chunks, self.labels, strict=True)):
            batched = dict(weights)
            if self.first is not None:
                h0, h1, h2 = self.pre[i]
                shape = (-1,) + (1,) * h0.dim()
                batched["injected_value"] = h0 + a.view(shape) * h1 + b.view(shape) * h2

            def run(tensors: dict[str, Tensor], chunk: Tensor = chunk) -> Tensor:
                value = tensors.pop("injected_value", None)
                if value is not None:
                    self.injected.value = value
                return functional_call(self.model, tensors, (chunk,))

            out = vmap(run)(batched).float()  # [points, n, classes]
            losses += nn.functional.cross_entropy(out.transpose(1, 2), yb.expand(len(alphas), -1),
                                                  reduction="none").double().sum(1)
            correct += (out.argmax(2) == yb).sum(1)
        n = max(1, len(self.y))
        return [(lo / n, c / n) for lo, c in zip(losses.tolist(), correct.tolist(), strict=True)]

    def grid(self, xs: np.ndarray, ys: np.ndarray, *, method: Method = "auto", points_per_call: int | None = None,
             should_stop: Callable[[], bool] | None = None,
             progress: Callable[[float], None] | None = None) -> Surface:
        """The surface over xs × ys (rows are ys), a row at a time (``points_per_call`` for vmap:
        default a row). ``auto`` measures: the first row point by point, the second vectorised,
        and the faster per point does the rest (``self.method_used`` says which; nothing is
        evaluated twice)."""
        loss = np.full((len(ys), len(xs)), np.nan)
        acc = np.full((len(ys), len(xs)), np.nan)
        coords = [(j, i) for j in range(len(ys)) for i in range(len(xs))]
        block_size = points_per_call or len(xs)
        seconds_per_point: dict[str, float] = {}
        for start in range(0, len(coords), block_size):
            block = coords[start : start + block_size]
            use = method
            if method == "auto":
                use = ("loop" if "loop" not in seconds_per_point else "vmap") if len(seconds_per_point) < 2 \
                    else min(seconds_per_point, key=seconds_per_point.__getitem__)
            began = time.perf_counter()
            if use == "vmap":
                values = self.points_vmap([float(xs[i]) for _, i in block], [float(ys[j]) for j, _ in block])
            else:
                values = [self.point(float(xs[i]), float(ys[j])) for j, i in block]
            seconds_per_point.setdefault(use, (time.perf_counter() - began) / len(block))
            self.method_used = use
            for (j, i), (lo, ac) in zip(block, values, strict=True):
                loss[j, i], acc[j, i] = lo, ac
            if progress is not None:
                progress((start + len(block)) / len(coords))
            if should_stop is not None and should_stop():
                break
        self.seconds_per_point = seconds_per_point
        return Surface(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), loss, acc)


# --- 1-D interpolation ---------------------------------------------------------------------------


@torch.no_grad()
def interpolate(model: nn.Module, init_state: dict[str, Tensor], x: Tensor, y: Tensor, ts: np.ndarray,
                eval_batch: int = EVAL_BATCH, bn_stats: BNStats = "running") -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy along w(t) = w_init + t·(w* − w_init) (Goodfellow et al., 2015): the
    surface evaluator with base w_init and one direction. Only the parameters move; BatchNorm keeps
    the trained running statistics (``bn_stats="running"``) or uses the batch's."""
    start = copy.deepcopy(model).eval()
    final = dict(model.named_parameters())
    line: Directions = {}
    for k, p in start.named_parameters():
        p.copy_(init_state[k].to(p.device, p.dtype))
        line[k] = final[k].detach() - p
    zero = {k: torch.zeros_like(v) for k, v in line.items()}
    evaluator = SurfaceEvaluator(start, x, y, line, zero, eval_batch=eval_batch, bn_stats=bn_stats)
    values = [evaluator.point(float(t), 0.0) for t in ts]
    return np.asarray([v[0] for v in values]), np.asarray([v[1] for v in values])


# --- the loss_contour job ---------------------------------------------------------------------------


class GridSpec(BaseModel):
    """The plane around a train job's weights: shared by ``loss_contour`` and ``grad_variance``,
    so the same seed gives the same directions and grid for both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_job: int = Field(ge=1, description="id of a finished train job", json_schema_extra={"job_ref": True})
    steps: int = Field(21, ge=2, le=201, description="grid points per axis")
    extent: float = Field(1.0, gt=0, le=100, description="the grid spans [-extent, extent]²")
    seed: int = Field(0, ge=0, description="seed of the two random directions")
    samples: int = Field(1000, ge=1, le=1_000_000, description="size of the fixed evaluation subset")
    split: Split = Field("train", description="which split the evaluation subset comes from (Shu et al.'s "
                         "figures: the test set)")
    ignore_bias_bn: bool = Field(True, description="zero direction on biases and BatchNorm parameters")
    bn_stats: BNStats = Field("running", description="BatchNorm: 'running' = the trained running statistics "
                              "(eval mode, Li et al.); 'batch' = the statistics of the evaluated samples at each "
                              "point (fairer away from the optimum and after short runs)")

    def axis(self) -> np.ndarray:
        return np.linspace(-self.extent, self.extent, self.steps)


class LossContourSpec(GridSpec):
    interpolation_steps: int = Field(41, ge=0, le=1001, description="points on the init → final line (0: skip)")
    interpolation_range: tuple[float, float] = (-0.5, 1.5)
    method: Method = "auto"


def directions(model: nn.Module, seed: int, ignore_bias_bn: bool = True) -> tuple[Directions, Directions]:
    generator = torch.Generator().manual_seed(seed)
    return (random_direction(model, generator, ignore_bias_bn=ignore_bias_bn),
            random_direction(model, generator, ignore_bias_bn=ignore_bias_bn))


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def grid_csv(xs: np.ndarray, ys: np.ndarray, **values: np.ndarray) -> bytes:
    lines = [",".join(["alpha", "beta", *values])]
    for j, b in enumerate(ys):
        for i, a in enumerate(xs):
            lines.append(",".join([repr(float(a)), repr(float(b)), *(repr(float(v[j, i])) for v in values.values())]))
    return ("\n".join(lines) + "\n").encode()


def run_loss_contour(spec: LossContourSpec, ctx: RunContext) -> dict[str, Any]:
    analysis = start_analysis(ctx, spec.train_job, spec.split, spec.samples)
    trained, x, y = analysis.trained, analysis.x, analysis.y
    d1, d2 = directions(trained.model, spec.seed, spec.ignore_bias_bn)
    evaluator = SurfaceEvaluator(trained.model, x, y, d1, d2, bn_stats=spec.bn_stats)
    axis = spec.axis()
    surface = evaluator.grid(axis, axis, method=spec.method, should_stop=ctx.should_stop,
                             progress=lambda f: ctx.progress(0.9 * f, "loss grid"))
    grid_seconds = analysis.seconds()
    ts = np.linspace(*spec.interpolation_range, spec.interpolation_steps)
    if spec.interpolation_steps and not ctx.should_stop():
        init = load_state(trained.weights_init)
        interp_loss, interp_acc = interpolate(trained.model, init, x, y, ts, bn_stats=spec.bn_stats)
    else:
        ts, interp_loss, interp_acc = np.zeros(0), np.zeros(0), np.zeros(0)
    ctx.artifact(CONTOUR_NPZ, npz_bytes(alpha=surface.xs, beta=surface.ys, loss=surface.loss, acc=surface.acc,
                                          interp_t=ts, interp_loss=interp_loss, interp_acc=interp_acc),
                 "application/x-npz")
    ctx.artifact(CONTOUR_CSV, grid_csv(surface.xs, surface.ys, loss=surface.loss, acc=surface.acc), "text/csv")
    ctx.artifact("directions.safetensors", st_save({f"d1.{k}": v.cpu().contiguous() for k, v in d1.items()}
                                                   | {f"d2.{k}": v.cpu().contiguous() for k, v in d2.items()}),
                 WEIGHTS_MEDIA_TYPE)
    centre = (spec.steps // 2, spec.steps // 2) if spec.steps % 2 else None
    ctx.progress(1.0, "done")
    return {
        "train_job": spec.train_job, "points": int(np.isfinite(surface.loss).sum()), "grid_seconds": grid_seconds,
        "centre_loss": float(surface.loss[centre]) if centre else None,
        "min_loss": float(np.nanmin(surface.loss)), "max_loss": float(np.nanmax(surface.loss)),
        "first_layer_linearity": evaluator.first, "samples": len(y), "method": evaluator.method_used,
        "seconds_per_point": evaluator.seconds_per_point, **evaluation_setting(spec.split, spec.bn_stats,
                                                                                 trained.model),
    }


def evaluation_setting(split: Split, bn_stats: BNStats, model: nn.Module) -> dict[str, Any]:
    """What an analysis evaluated on, for its summary (the results page labels every plot with it)."""
    bn = BN_STATS_LABELS[bn_stats] if has_batchnorm(model) else "none in this network"
    return {"split": split, "bn_stats": bn_stats, "batchnorm": bn}
