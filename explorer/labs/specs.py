"""What a hypothesis says: its statement, predicted direction, groups of cells and protocol.

A ``HypothesisSpec`` is stored as a versioned record (``db.hypotheses``); running it locks that
version (pre-registration). Groups are either cell texts (one ``train`` job per cell and seed) or a
warehouse selection (``WarehouseGroup``), never both in one hypothesis. A ``probe`` protocol measures
the networks at initialisation (no training; answered when run, like a warehouse one).

A train protocol may ``sweep`` learning rates or data sets: each entry is one unit of the analysis
(Holm-corrected together). ``paired`` groups match their cells by position (a cell and its
rewiring): the analysis permutes within each pair, seeds being replicates.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from explorer.core.specs import validate_model
from explorer.experiments.datasets import DataSpec

Direction = Literal["greater", "less", "none", "increasing", "decreasing"]
METRICS: dict[str, str] = {
    "train_loss_auc": "mean training loss over epochs 1..k (area under the training curve / k; lower = faster)",
    "train_loss_at_epoch": "training loss (epoch mean) at epoch k",
    "final_train_loss": "training loss of the last epoch",
    "final_test_acc": "test accuracy after the last epoch",
    "test_acc_at_epoch": "test accuracy at epoch k",
    "hessian_top": "largest Hessian eigenvalue of the training loss at the final weights (a hessian_top job "
                   "per train job, queued when the training has finished)",
    "accuracy": "benchmark accuracy (warehouse hypotheses)",
    "unstable": "1 if the run diverged (a non-finite loss, or a last-epoch training loss above the first "
                "epoch's) or had a loss spike (an epoch's training loss above 1.5 × the lowest before it), else 0",
    "loss_spikes": "number of epochs whose training loss is above 1.5 × the lowest before them",
    "generalisation_gap": "test loss − training loss (epoch mean) at the last epoch",
    "grad_attenuation_init": "log10(‖∂L/∂W‖ of the first layer / of the last layer) at initialisation, on one "
                             "batch of 256 training examples (probe protocols; 0 = no attenuation)",
    "grad_attenuation_final": "the same ratio on the last training batch (needs the gradient-flow columns in "
                              "curves.csv: explorer.experiments.gradient_flow)",
}
# A run that diverged (its loss became inf or NaN) has no value of these metrics, but an order: it
# trained worse than any run that did not. The analysis ranks it last instead of dropping it.
DIVERGED_IS_WORST: dict[str, float] = {
    "train_loss_auc": float("inf"), "train_loss_at_epoch": float("inf"), "final_train_loss": float("inf"),
    "final_test_acc": float("-inf"), "test_acc_at_epoch": float("-inf"),
}
FOLLOW_UP_METRICS = ("hessian_top",)
PROBE_METRICS = ("grad_attenuation_init",)
# 7 vs 7: an exact permutation test reaches p = 2/3432 ≈ 0.0006 (3 vs 3: only 0.1; 5 vs 5: 0.008, which
# no result can keep through Holm across the twelve built-ins: 12 × 0.008 > 0.05).
SEEDS = tuple(range(7))


class SweepUnit(BaseModel):
    """One unit of a train protocol: its learning rate and/or data set replace the protocol's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=60)
    lr: float | None = Field(None, gt=0, le=10)
    data: DataSpec | None = None


class WarehouseGroup(BaseModel):
    """Cells of a warehouse space: a warehouse filter (ranges over its columns, numbers of conv edges)
    and/or their place relative to the d̄/m̄ box."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    space: str = "nb201"
    box: Literal["inside", "outside"] | None = None
    f: float = Field(0.5, gt=0, le=10)
    ranges: dict[str, tuple[float | None, float | None]] = Field(
        default_factory=dict, description="column -> (low, high), either end null for open (browse page filters)")
    n_conv: tuple[int, ...] | None = Field(None, description="allowed numbers of conv edges (null: any)")

    @model_validator(mode="after")
    def _columns(self) -> WarehouseGroup:
        from explorer.benchmarks.warehouse import RANGE_COLUMNS  # lazily: DuckDB only when a group needs it

        unknown = set(self.ranges) - set(RANGE_COLUMNS)
        if unknown:
            raise ValueError(f"cannot filter on {sorted(unknown)}; columns: {', '.join(RANGE_COLUMNS)}")
        return self

    def describe(self) -> str:
        parts = [f"{self.space} cells"]
        if self.box:
            parts.append(f"{self.box} the d̄/m̄ box (f = {self.f:g})")
        parts += [f"{c} in [{'−∞' if lo is None else f'{lo:g}'}, {'∞' if hi is None else f'{hi:g}'}]"
                  for c, (lo, hi) in self.ranges.items()]
        if self.n_conv is not None:
            parts.append(f"conv edges in {list(self.n_conv)}")
        return ", ".join(parts)


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=120)
    cells: tuple[str, ...] = Field((), description="cell texts (any format); one train job per cell and seed")
    warehouse: WarehouseGroup | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Group:
        if bool(self.cells) == (self.warehouse is not None):
            raise ValueError(f"group {self.label!r}: give either cells or a warehouse selection")
        return self


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["train", "warehouse", "probe"] = "train"
    metric: str = "train_loss_auc"
    metric_epoch: int | None = Field(None, ge=1, description="k of the *_at_epoch / auc metrics (default: last)")
    alpha: float = Field(0.05, gt=0, lt=1)
    equivalence_margin: float | None = Field(None, gt=0, description="for direction 'none': |difference| below this")
    # train protocols
    data: DataSpec = DataSpec()
    network: Literal["mlp", "nb201", "darts"] | None = None
    width: int = Field(256, ge=1, le=16384)
    channels: int = Field(16, ge=2, le=1024)
    cells_per_stage: int = Field(5, ge=0, le=64)
    layers: int = Field(8, ge=1, le=64)
    branch_scale: float = Field(1.0, gt=0, le=10, description="MLP networks: α of x + α·f(x) where a layer meets an "
                                                             "identity edge (network.mlp_branch_scale)")
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.05, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)
    batch_size: int = Field(128, ge=1, le=65536)
    epochs: int = Field(10, ge=1, le=10000)
    seeds: tuple[int, ...] = Field(SEEDS, min_length=1)
    paired: bool = Field(False, description="two groups whose cells match by position (a cell and its variant): "
                                            "analysed within each pair")
    sweep: tuple[SweepUnit, ...] = Field((), description="units: learning rates and/or data sets, one analysis "
                                                         "unit each (Holm across them)")
    hessian_samples: int = Field(1000, ge=1, le=1_000_000, description="hessian_top: size of the evaluation subset")
    # warehouse protocols
    datasets: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16")
    schedule: str = "200ep"

    @model_validator(mode="after")
    def _check(self) -> Protocol:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}")
        if (self.kind == "warehouse") != (self.metric == "accuracy"):
            raise ValueError("warehouse hypotheses use the metric 'accuracy'; train ones a training metric")
        if (self.kind == "probe") != (self.metric in PROBE_METRICS):
            raise ValueError(f"probe protocols use {', '.join(PROBE_METRICS)}; other kinds a training metric")
        if len({u.label for u in self.sweep}) != len(self.sweep):
            raise ValueError("sweep units need distinct labels")
        if self.metric_epoch is not None and self.metric_epoch > self.epochs:
            raise ValueError(f"metric_epoch {self.metric_epoch} is after the last epoch ({self.epochs})")
        return self


class HypothesisSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    title: str = Field(min_length=1, max_length=200)
    statement: str = Field(min_length=1)
    source: str = ""
    notes: str = Field("", description="what was left out of the design and why (e.g. null contrasts)")
    direction: Direction
    groups: tuple[Group, ...] = Field(min_length=2)
    protocol: Protocol = Protocol()

    @model_validator(mode="after")
    def _design(self) -> HypothesisSpec:
        two = len(self.groups) == 2
        if self.direction in ("greater", "less", "none") and not two:
            raise ValueError(f"direction {self.direction!r} compares exactly two groups (first vs second)")
        if self.direction in ("increasing", "decreasing") and len(self.groups) < 3:
            raise ValueError("a trend needs at least 3 ordered groups")
        if self.direction == "none" and self.protocol.equivalence_margin is None:
            raise ValueError(
                "direction 'none' needs protocol.equivalence_margin (the largest difference that counts as none)"
            )
        warehouse = [g.warehouse is not None for g in self.groups]
        if any(warehouse) and (not all(warehouse) or self.protocol.kind != "warehouse"):
            raise ValueError("warehouse groups need protocol.kind 'warehouse' (and every group from the warehouse)")
        if self.protocol.kind == "warehouse" and not all(warehouse):
            raise ValueError("a warehouse protocol needs every group to be a warehouse selection")
        if self.protocol.paired and (not two or len(self.groups[0].cells) != len(self.groups[1].cells)):
            raise ValueError("a paired design needs two groups with the same number of cells (matched by position)")
        return self

    def design(self) -> str:
        base = {"greater": "two groups", "less": "two groups", "none": "two groups (equivalence)",
                "increasing": "ordered groups (trend)", "decreasing": "ordered groups (trend)"}[self.direction]
        return base + (", paired by cell" if self.protocol.paired else "")

    def with_protocol(self, **changes: Any) -> HypothesisSpec:
        """A copy with protocol fields changed (a new spec: saving it under a locked key makes a new version)."""
        return self.model_copy(update={"protocol": validate_model(Protocol, {**self.protocol.model_dump(), **changes},
                                                                  "protocol")})

