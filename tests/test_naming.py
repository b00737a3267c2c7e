"""Names of cells, runs and jobs (explorer.cell.naming) and the kinds' labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from explorer.cell.model import Cell
from explorer.cell.naming import cell_name, short_name
from explorer.cell.presets import get_preset
from explorer.experiments.presets import experiment_presets, preset_specs
from explorer.jobs.label_parts import cell_title
from explorer.jobs.labels import experiment_groups, job_label, labels_by_id

T0 = datetime(2025, 1, 1, 12, 0)
T1 = datetime(2025, 1, 1, 13, 0)


@dataclass
class FakeJob:
    id: int
    kind: str
    spec: dict = field(default_factory=dict)
    created_at: datetime = T0


def _dag3() -> str:
    return get_preset("DAG#3 (mixed)").cell.to_text()


def test_cells_are_named_by_given_name_preset_or_statistics() -> None:
    assert short_name("DAG#3 (mixed)") == "DAG#3"
    assert cell_title(_dag3()) == "DAG#3"
    assert cell_title(_dag3(), "my cell") == "my cell"
    other = Cell.from_nb201("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    assert cell_title(other.to_text()) == "NB201 cell (P 2 · d̄ 1.50 · m̄ 0.67)"
    assert cell_title("not a cell") == "not a cell"
    assert cell_name(get_preset("DAG#1 (sequential)").cell) == "DAG#1 (sequential)"
    assert cell_name(other) == "nb201 cell, 4 nodes"


def test_old_train_jobs_get_labels_from_their_cell() -> None:
    # A job queued before specs carried names: its label comes from the preset the cell matches.
    spec = {"network": {"cell": _dag3(), "network": "mlp", "width": 256}, "data": {"name": "digits"}, "seed": 1}
    assert job_label(FakeJob(9, "train", spec)) == "#9 DAG#3 · width 256 · digits · seed 1"


def test_preset_runs_carry_names_and_their_experiment() -> None:
    preset = next(p for p in experiment_presets() if p.name.startswith("Chen et al. Fig. 4, digits"))
    specs = [s.model_dump(mode="json") for s in preset_specs(preset)]
    assert [s["name"] for s in specs[::3]] == ["DAG#1", "DAG#2", "DAG#3"]
    assert {s["experiment"] for s in specs} == {preset.name}


def test_analysis_jobs_are_labelled_by_the_train_job_they_analyse() -> None:
    train = FakeJob(4, "train", {"network": {"cell": _dag3(), "width": 64}, "data": {"name": "synthetic"},
                                 "name": "DAG#3", "seed": 0})
    contour = FakeJob(5, "loss_contour", {"train_job": 4})
    orphan = FakeJob(6, "hessian_top", {"train_job": 99})
    nngp = FakeJob(7, "nngp_check", {"cell": _dag3(), "widths": [16]})
    labels = labels_by_id([train, contour, orphan, nngp])
    assert labels[5] == "#5 loss landscape of #4 DAG#3 · width 64 · synthetic · seed 0"
    assert labels[6] == "#6 Hessian spectrum of #99"
    assert labels[7] == "#7 NNGP check · DAG#3"


def test_experiment_groups_are_submission_batches_newest_first() -> None:
    jobs = [FakeJob(i, "train", {"experiment": "preset A", "seed": i}, T0) for i in (1, 2, 3)]
    jobs += [FakeJob(i, "train", {"experiment": "preset A", "seed": i}, T1) for i in (4, 5)]
    jobs += [FakeJob(6, "train", {}, T1)]
    groups = experiment_groups(reversed(jobs))  # the store lists newest first
    assert [[j.id for j in g.jobs] for g in groups] == [[6], [4, 5], [1, 2, 3]]
    assert groups[1].title.startswith("preset A · 2025-01-01 13:00 · 2 job(s)")
