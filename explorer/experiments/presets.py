"""Named sets of ``train`` runs (cells × seeds), quick on a CPU or at the papers' size: what the
Experiment results page and ``explorer`` queue in one go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from explorer.cell.model import Cell, Genotype
from explorer.cell.naming import short_name
from explorer.cell.presets import get_preset
from explorer.core.errors import UserError
from explorer.core.specs import validate_model
from explorer.experiments.train import TrainSpec


@dataclass(frozen=True)
class ExperimentPreset:
    """A named set of ``train`` specs (cells × seeds), quick on a CPU or at the papers' size."""

    name: str
    size: Literal["quick", "paper"]
    description: str
    specs: tuple[dict[str, Any], ...]
    needs_path: str | None = None  # a dataset read from local files: the folder is asked for


def _mlp_runs(dataset: str, width: int, epochs: int, seeds: int, lr: float) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"network": {"cell": get_preset(dag).cell.to_text(), "network": "mlp", "width": width},
         "data": {"name": dataset}, "name": short_name(dag), "optimizer": "sgd", "lr": lr, "momentum": 0.0,
         "batch_size": 128, "epochs": epochs, "seed": seed}
        for dag in ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)") for seed in range(seeds)
    )


# DARTS_V2's reduce cell, from the DARTS repository's cnn/genotypes.py. Its normal cell is the editor's
# "DARTS-V2 normal cell" preset (explorer.cell.presets), the one place that cell is written down.
_DARTS_V2_REDUCE = ([("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
                     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
                    [2, 3, 4, 5])


def darts_v2_genotype() -> str:
    """DARTS_V2 (normal and reduce cell) as DARTS genotype text, as a train spec's cell."""
    return Genotype(get_preset("DARTS-V2 normal cell").cell, Cell.from_genotype_pairs(*_DARTS_V2_REDUCE)).to_text()


DARTS_V2_GENOTYPE = darts_v2_genotype()


def experiment_presets() -> tuple[ExperimentPreset, ...]:
    def cell(name: str) -> str:
        return get_preset(name).cell.to_text()

    nb201_paper = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
                   "schedule": "cosine", "batch_size": 256, "epochs": 200}
    return (
        ExperimentPreset(
            "Chen et al. Fig. 4, digits (quick)", "quick",
            "DAG#1/2/3 MLP-cell networks, width 256, plain SGD (lr 0.01, batch 128), 5 epochs, 3 seeds: "
            "does DAG#3 train fastest? About a minute on a laptop CPU.",
            _mlp_runs("digits", 256, 5, 3, 0.01)),
        ExperimentPreset(
            "Chen et al. Fig. 4, MNIST-1D (quick)", "quick",
            "The same three DAGs on MNIST-1D (4,000 signals of length 40), width 256, 10 epochs, one seed.",
            _mlp_runs("mnist1d", 256, 10, 1, 0.01)),
        ExperimentPreset(
            "NB201 cells on synthetic data (seconds)", "quick",
            "The NB201 ResNet cell against the all-conv cell in a tiny NB201 network (C=8, N=1), 5 epochs.",
            tuple({"network": {"cell": cell(name), "channels": 8, "cells_per_stage": 1},
                   "data": {"name": "synthetic"}, "name": name, "optimizer": "sgd", "lr": 0.05, "epochs": 5}
                  for name in ("NB201 ResNet cell", "NB201 all-conv"))),
        ExperimentPreset(
            "DARTS-V2 vs NASNet-A normal cells on digits (quick)", "quick",
            "4- and 5-node DARTS-style cells in a 3-cell DARTS network (C=8) on 8×8 digits, 3 epochs.",
            tuple({"network": {"cell": cell(name), "channels": 8, "layers": 3}, "data": {"name": "digits"},
                   "name": name.removesuffix(" normal cell"),
                   "optimizer": "sgd", "lr": 0.05, "epochs": 3}
                  for name in ("DARTS-V2 normal cell", "NASNet-A normal cell"))),
        ExperimentPreset(
            "Chen et al. Fig. 4, MNIST-1D (paper size)", "paper",
            "Width 1024 as in the paper, plain SGD lr 0.01, batch 128, 100 epochs, 3 seeds per DAG (GPU).",
            _mlp_runs("mnist1d", 1024, 100, 3, 0.01)),
        ExperimentPreset(
            "NB201 ResNet cell on CIFAR-10 (paper size)", "paper",
            "NAS-Bench-201's network (C=16, N=5) and schedule: SGD 0.1, Nesterov momentum 0.9, weight decay "
            "5e-4, cosine, batch 256, 200 epochs. Compare with the benchmark's 93.91 % (GPU; CIFAR-10 from a "
            "local folder).",
            ({"network": {"cell": cell("NB201 ResNet cell"), "channels": 16, "cells_per_stage": 5},
              "data": {"name": "cifar10"}, "name": "NB201 ResNet cell", **nb201_paper},), needs_path="cifar10"),
        ExperimentPreset(
            "DARTS-V2 on CIFAR-10 (paper size)", "paper",
            "DARTS' evaluation protocol (Liu et al., ICLR 2019): the DARTS-V2 genotype (its normal and reduce "
            "cells) at C=36, 20 cells (3.35M parameters without the auxiliary head), SGD 0.025, momentum 0.9, "
            "weight decay 3e-4, cosine, batch 96, gradient clip 5, 600 epochs, crop+flip+cutout 16, drop-path "
            "0.2 (ramped linearly), auxiliary head with weight 0.4. DARTS reports 2.76 ± 0.09 % test error "
            "(GPU; CIFAR-10 from a local folder).",
            ({"network": {"cell": DARTS_V2_GENOTYPE, "channels": 36, "layers": 20, "auxiliary": True},
              "name": "DARTS-V2",
              "data": {"name": "cifar10", "augment": True, "cutout": 16}, "optimizer": "sgd", "lr": 0.025,
              "momentum": 0.9, "weight_decay": 3e-4, "schedule": "cosine", "batch_size": 96, "grad_clip": 5.0,
              "epochs": 600, "auxiliary_weight": 0.4, "drop_path": 0.2},),
            needs_path="cifar10"),
    )


def preset_specs(preset: ExperimentPreset, data_path: str | None = None) -> list[TrainSpec]:
    """The preset's train specs, validated (``SpecError`` names the problem), tagged with the
    preset's name as their experiment, with ``data_path`` filled in for presets that read local files."""
    specs = []
    for raw in preset.specs:
        spec = {"experiment": preset.name, **raw}  # groups the runs on Experiment results
        if preset.needs_path:
            if not data_path:
                raise UserError(f"'{preset.name}' reads {preset.needs_path} from local files: give the folder")
            spec["data"] = {**spec["data"], "path": data_path}
        specs.append(validate_model(TrainSpec, spec, "train"))
    return specs
