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
    # Used instead of the local files when no folder is given (the description says so), e.g. Chen
    # et al.'s MNIST → MNIST-1D. None: the folder is required.
    fallback_data: dict[str, Any] | None = None


# Chen et al. (NeurIPS 2022) Sec. 5.1 / Fig. 4, as their released code runs it (``--lr 0.00001
# --epochs 1000``): the MLP-cell network with a Linear+ReLU stem and Kaiming-normal init everywhere,
# width 1024, batch 128, plain SGD (no momentum, no weight decay), training accuracy plotted.
CHEN_FIG4 = {"width": 1024, "batch_size": 128, "optimizer": "sgd", "lr": 1e-5, "momentum": 0.0,
             "weight_decay": 0.0, "schedule": "constant", "epochs": 1000, "mlp_stem": "chen"}
CHEN_DAGS = ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)")
LR_SWEEP = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def _mlp_runs(dataset: str, width: int, epochs: int, seeds: int, lrs: float | tuple[float, ...],
              stem: str = "chen") -> tuple[dict[str, Any], ...]:
    """Chen et al.'s three DAGs × ``lrs`` × seeds, plain SGD at batch 128 as the paper; names carry
    the learning rate when there are several (a sweep's curves must tell them apart)."""
    sweep = isinstance(lrs, tuple)
    return tuple(
        {"network": {"cell": get_preset(dag).cell.to_text(), "network": "mlp", "width": width, "mlp_stem": stem},
         "data": {"name": dataset},
         "name": f"{short_name(dag)} · lr {lr:g}" if sweep else short_name(dag),
         "optimizer": "sgd", "lr": lr, "momentum": 0.0, "weight_decay": 0.0,
         "batch_size": CHEN_FIG4["batch_size"], "epochs": epochs, "seed": seed}
        for lr in (lrs if sweep else (lrs,)) for dag in CHEN_DAGS for seed in range(seeds)
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
            "DAG#1/2/3 in Chen et al.'s MLP-cell network (Linear+ReLU stem, Kaiming normal everywhere), plain SGD, "
            "batch 128, 3 seeds. Deviates from the paper: digits not MNIST, width 256 not 1024, lr 0.01 (1000× the "
            "paper's 1e-5) for 5 epochs not 1000. About a minute on a laptop CPU; docs/experiments.md says which "
            "orderings hold at which settings.",
            _mlp_runs("digits", 256, 5, 3, 0.01)),
        ExperimentPreset(
            "Chen et al. Fig. 4, MNIST-1D (quick)", "quick",
            "The same three DAGs in Chen et al.'s network on MNIST-1D (4,000 signals of length 40), one seed. "
            "Deviates from the paper: MNIST-1D not MNIST, width 256, lr 0.01 (1000× the paper's), 10 epochs.",
            _mlp_runs("mnist1d", 256, 10, 1, 0.01)),
        ExperimentPreset(
            "Chen et al. Fig. 4, learning-rate sweep on digits (quick)", "quick",
            "Where does DAG#3 > DAG#2 > DAG#1 hold? Chen et al.'s network at the paper's width 1024 and batch 128, "
            "plain SGD at lr 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 20 epochs, one seed: 15 runs, a few minutes on a CPU. "
            "Deviates from the paper: digits not MNIST, 20 epochs not 1000, and every lr but 1e-5 is not the "
            "paper's. Compare training accuracy (as the paper plots) and loss per lr.",
            _mlp_runs("digits", 1024, 20, 1, LR_SWEEP)),
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
            "Chen et al. Fig. 4 (paper)", "paper",
            "As Chen et al. (NeurIPS 2022, Fig. 4) and their code: DAG#1/2/3 in the MLP-cell network with a "
            "Linear+ReLU stem and Kaiming-normal init on every layer (stem and readout too), width 1024, batch 128, "
            "plain SGD lr 1e-5 (no momentum, no weight decay), 1000 epochs, training accuracy recorded each epoch; "
            "3 seeds per DAG. MNIST from a local folder (the four IDX files); with no folder given it runs on "
            "MNIST-1D instead, which is a deviation from the paper (GPU).",
            _mlp_runs("mnist", CHEN_FIG4["width"], CHEN_FIG4["epochs"], 3, CHEN_FIG4["lr"]),
            needs_path="mnist", fallback_data={"name": "mnist1d"}),
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


@dataclass(frozen=True)
class AnalysisPreset:
    """An analysis of a finished train job in a paper's setting (the job id is filled in when queued)."""

    name: str
    kind: str  # a job kind that analyses train jobs
    description: str
    spec: dict[str, Any]

    def spec_for(self, train_job: int) -> dict[str, Any]:
        return {**self.spec, "train_job": train_job}


def analysis_presets() -> tuple[AnalysisPreset, ...]:
    """Loss landscapes and gradient variance as Li et al. and Shu et al. evaluated them. Shu et al.'s
    Figures 6 and 17–20 are on the CIFAR-10 test set; Li et al.'s surfaces on the training set. Both
    evaluate BatchNorm with the running statistics (eval mode)."""
    return (
        AnalysisPreset("Loss landscape as Li et al. (training split)", "loss_contour",
                       "21×21 over [-1, 1]², filter-normalised directions without biases/BN, 1,000 training "
                       "samples, BatchNorm with the running statistics.", {"split": "train", "bn_stats": "running"}),
        AnalysisPreset("Loss landscape as Shu et al. (test split)", "loss_contour",
                       "As Shu et al.'s Figures 6 and 17–20: the test split, BatchNorm with the running statistics. "
                       "After a short run prefer the batch-statistics preset: running statistics make the "
                       "surface look sharp away from the trained weights.", {"split": "test", "bn_stats": "running"}),
        AnalysisPreset("Loss landscape, test split, batch statistics", "loss_contour",
                       "Deviates from Li and Shu et al.: BatchNorm normalises with the evaluated samples' own "
                       "statistics at every point (fairer away from the optimum and for short runs).",
                       {"split": "test", "bn_stats": "batch"}),
        AnalysisPreset("Gradient variance as Shu et al. (test split)", "grad_variance",
                       "Shu et al.'s √g map on the test split, BatchNorm with the running statistics.",
                       {"split": "test", "bn_stats": "running"}),
    )


def preset_specs(preset: ExperimentPreset, data_path: str | None = None) -> list[TrainSpec]:
    """The preset's train specs, validated (``SpecError`` names the problem), tagged with the
    preset's name as their experiment, with ``data_path`` filled in for presets that read local files
    (or the preset's fallback data set when no folder is given and it has one)."""
    specs = []
    for raw in preset.specs:
        spec = {"experiment": preset.name, **raw}  # groups the runs on Experiment results
        if preset.needs_path:
            if data_path:
                spec["data"] = {**spec["data"], "path": data_path}
            elif preset.fallback_data is not None:
                spec["data"] = dict(preset.fallback_data)
                spec["experiment"] = f"{preset.name} on {preset.fallback_data['name']}"
            else:
                raise UserError(f"'{preset.name}' reads {preset.needs_path} from local files: give the folder")
        specs.append(validate_model(TrainSpec, spec, "train"))
    return specs
