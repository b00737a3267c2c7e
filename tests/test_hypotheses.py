"""Principles lab: records and versions, the analysis and verdicts, H6 on the real warehouse, H1 through the queue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.hypotheses import HypothesisRow, HypothesisStore, HypothesisStoreError
from db.store import JobStore
from explorer.cell.presets import get_preset
from explorer.core.errors import SpecError, UserError
from explorer.core.specs import validate_model
from explorer.labs.analysis import VERDICTS, analyse, metric_value
from explorer.labs.catalogue import builtin, builtins
from explorer.labs.lab import Lab, train_specs
from explorer.labs.reports import report_html, report_markdown
from explorer.labs.specs import HypothesisSpec
from tests.jobs_support import job_env, start_worker, stop_worker, wait_for
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    s = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}", artifact_dir=tmp_path / "artifacts")
    yield s
    s.close()


def test_migration_creates_the_model_table(store: JobStore):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), HypothesisRow.metadata)
    assert not [d for d in diff if "hypotheses" in repr(d)]


def test_builtins_validate_and_keep_parameters_equal():
    specs = {s.key: s for s in builtins()}
    assert list(specs) == [f"H{i}" for i in range(1, 15)]
    assert specs["H1"].direction == "decreasing" and len(specs["H1"].groups) == 3
    assert specs["H6"].protocol.kind == "warehouse" and specs["H3"].direction == "none"
    assert len(specs["H2"].groups[0].cells) == len(specs["H2"].groups[1].cells) == 2  # null contrasts dropped
    from explorer.nets.spec import NetworkSpec

    # "at equal parameters": every group of H1, H4, H5 builds a network of the same size
    for key in ("H1", "H4", "H5", "H8", "H9", "H10", "H11", "H12", "H13", "H14"):
        p = specs[key].protocol
        sizes = {sum(t.numel() for t in NetworkSpec(cell=g.cells[0], network=p.network, width=p.width)
                     .build((64,), 10).parameters()) for g in specs[key].groups}
        assert len(sizes) == 1, key


def test_bad_specs_are_spec_errors():
    base = builtin("H4").model_dump()
    with pytest.raises(SpecError, match="equivalence_margin"):
        validate_model(HypothesisSpec, {**base, "direction": "none"}, "hypothesis")
    with pytest.raises(SpecError, match="trend needs at least 3"):
        validate_model(HypothesisSpec, {**base, "direction": "increasing"}, "hypothesis")
    with pytest.raises(SpecError, match="metric"):
        validate_model(HypothesisSpec, {**base, "protocol": {**base["protocol"], "metric": "vibes"}}, "hypothesis")


def test_identical_groups_are_inconclusive():
    cell = get_preset("DAG#1 (sequential)").cell.to_text()
    spec = builtin("H4").model_copy(update={"groups": (
        builtin("H4").groups[0].model_copy(update={"cells": (cell,)}),
        builtin("H4").groups[1].model_copy(update={"cells": (cell,)}))})
    values = [0.41, 0.39, 0.44, 0.40, 0.42]
    res = analyse(spec, {"train_loss_auc": [np.array(values), np.array(values)]})
    assert res["verdict"] == "inconclusive"
    unit = res["units"][0]
    assert unit["p_value"] == 1.0 and unit["estimate"] == 0.0


def test_verdicts_follow_the_direction():
    spec = builtin("H4")  # 'less': the first group's values are lower
    low, high = np.array([0.1, 0.12, 0.11, 0.13, 0.1, 0.12]), np.array([0.3, 0.31, 0.29, 0.33, 0.3, 0.32])
    assert analyse(spec, {"m": [low, high]})["verdict"] == "supported"
    assert analyse(spec, {"m": [high, low]})["verdict"] == "refuted"
    trend = builtin("H1")  # 'decreasing' over three ordered groups
    res = analyse(trend, {"m": [high + 0.2, high, low]})
    assert res["verdict"] == "supported" and res["units"][0]["estimate"] < 0 and len(res["units"][0]["pairs"]) == 2
    eq = builtin("H5")  # 'none' within ±0.02
    same = np.array([0.500, 0.502, 0.498, 0.501, 0.499, 0.500])
    assert analyse(eq, {"m": [same, same + 0.001]})["verdict"] == "supported"
    assert analyse(eq, {"m": [same, same + 0.2]})["verdict"] == "refuted"
    # Holm across units: one weak unit of two makes the whole inconclusive
    res = analyse(spec, {"a": [low, high], "b": [low, low + 0.001 * np.arange(6)]})
    assert res["verdict"] == "inconclusive" and len(res["units"]) == 2


def test_metric_values_from_curves():
    import pandas as pd

    curves = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.3], "test_acc": [0.5, 0.7, 0.8]})
    assert metric_value(curves, "train_loss_auc", None) == pytest.approx(0.6)
    assert metric_value(curves, "train_loss_auc", 2) == pytest.approx(0.75)
    assert metric_value(curves, "final_test_acc", None) == 0.8
    assert metric_value(curves, "train_loss_at_epoch", 2) == 0.5


def test_records_version_and_lock(store: JobStore, tmp_path: Path):
    lab = Lab(store, tmp_path / "no-warehouse.duckdb")
    assert [h.key for h in lab.latest()] == [f"H{i}" for i in range(1, 15)]
    spec = builtin("H4").model_copy(update={"key": "mine"})
    first = lab.save(spec)
    assert first.version == 1 and first.status == "draft"
    edited = lab.save(spec.with_protocol(epochs=3))  # a draft is edited in place
    assert edited.version == 1 and edited.spec.protocol.epochs == 3
    # H6 without a warehouse: a clear error and the record stays an unlocked draft
    with pytest.raises(Exception, match="no warehouse here"):
        lab.run("H6")
    assert not lab.get("H6").record.locked
    records = HypothesisStore(store.engine)
    locked = records.lock(edited.record.id, [])
    with pytest.raises(HypothesisStoreError):
        records.lock(locked.id, [])
    with pytest.raises(UserError, match="already run"):
        lab.run("mine")
    again = lab.save(spec.with_protocol(epochs=3))  # unchanged: the locked record itself
    assert again.version == 1
    v2 = lab.save(spec.with_protocol(epochs=4))  # changed after the run: a new version
    assert v2.version == 2 and not v2.record.locked and lab.get("mine", 1).spec.protocol.epochs == 3
    assert [h.version for h in lab.versions("mine")] == [1, 2]


def test_h6_runs_on_the_warehouse(store: JobStore, nb201_warehouse: Path):  # noqa: F811
    lab = Lab(store, nb201_warehouse)
    h = lab.run("H6")
    assert h.status == "analysed" and h.record.locked and h.verdict == "supported"
    units = {u["unit"]: u for u in h.result["units"]}
    assert set(units) == {"cifar10", "cifar100", "imagenet16"}
    c10 = units["cifar10"]
    assert [g["n"] for g in c10["groups"]] == [6256, 15625 - 6256]
    assert c10["primary"]["test"] == "Welch t-test" and c10["estimate"] > 5
    assert c10["effect"]["ci_low"] < c10["estimate"] < c10["effect"]["ci_high"]
    md = report_markdown(h)
    assert "Verdict: supported" in md and "| inside the box | 6256 |" in md and "Holm" in md
    page = report_html(h)
    assert page.startswith("<!doctype html>") and "plotly" in page and "inside the box" in page

    # any warehouse filter makes a group: cells with skip edges vs without, among those with 3 conv edges
    from explorer.benchmarks.warehouse import Filter, open_shared

    skips = {"space": "nb201", "ranges": {"n_skip": [1, None]}, "n_conv": [3]}
    none_ = {"space": "nb201", "ranges": {"n_skip": [0, 0]}, "n_conv": [3]}
    custom = lab.save({**builtin("H6").model_dump(mode="json"), "key": "skips-c10", "direction": "greater",
                       "groups": [{"label": "skips", "warehouse": skips}, {"label": "no skips", "warehouse": none_}],
                       "protocol": {"kind": "warehouse", "metric": "accuracy", "datasets": ["cifar10"],
                                    "schedule": "12ep"}})
    done = lab.run(custom.key)
    wh = open_shared(nb201_warehouse)
    expected = [wh.count(Filter("nb201", "cifar10", "12ep", ranges={"n_skip": r}, n_conv=(3,)))
                for r in ((1, None), (0, 0))]
    assert [g["n"] for g in done.result["units"][0]["groups"]] == expected and min(expected) > 100
    assert done.verdict in VERDICTS and "n_skip in [1, ∞]" in report_markdown(done)
    with pytest.raises(SpecError, match="cannot filter on"):
        lab.save({**custom.spec.model_dump(mode="json"), "groups": [
            {"label": "a", "warehouse": {"ranges": {"bogus": [0, 1]}}}, {"label": "b", "warehouse": none_}]})


def test_hypothesis_runs_are_one_experiment_with_named_cells(store: JobStore):
    """Queued like a preset: one experiment named after the hypothesis, each run named by its cell's group."""
    from explorer.jobs.labels import experiment_groups, job_label

    h = Lab(store).run("H1")
    jobs = [store.get(j) for j in h.job_ids]
    title = "H1 · Chen et al.: DAG#3 converges faster than DAG#2, faster than DAG#1"
    assert {j.spec["experiment"] for j in jobs} == {title}
    seeds = len(builtin("H1").protocol.seeds)
    assert [j.spec["name"] for j in jobs[::seeds]] == ["DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)"]
    groups = experiment_groups(jobs)
    assert len(groups) == 1 and groups[0].title.startswith(title + " · ") and len(groups[0].jobs) == 3 * seeds
    assert job_label(jobs[0]) == f"#{jobs[0].id} DAG#1 (sequential) · width 256 · digits_flat · seed 0"
    several = train_specs(builtin("H2"))  # a group of several cells names each cell too
    assert len({s["name"] for _g, _c, _s, s in several}) == 4
    assert all(s["name"].startswith(("adapted (wide, shallow) · ", "original · ")) for _g, _c, _s, s in several)


@pytest.mark.slow
def test_h1_tiny_and_a_hessian_metric_through_the_queue(store: JobStore, tmp_path: Path):
    tiny = dict(epochs=2, seeds=(0, 1), width=16, data={"name": "digits_flat"}, batch_size=128)
    spec = builtin("H1").model_copy(update={"key": "H1-tiny"}).with_protocol(**tiny)
    hess = builtin("H4").model_copy(update={"key": "H4-hessian"}).with_protocol(
        **tiny, metric="hessian_top", hessian_samples=100)
    lab = Lab(store)
    lab.save(spec)
    lab.save(hess)
    with pytest.raises(UserError, match="cannot be decided"):  # 2 seeds: no verdict is reachable
        lab.run("H1-tiny")
    h = lab.run("H1-tiny", undecidable_ok=True)
    hh = lab.run("H4-hessian", undecidable_ok=True)
    assert h.status == "running" and len(h.job_ids) == 3 * 2 == len(train_specs(spec)) and len(hh.job_ids) == 4
    with pytest.raises(UserError, match="still queued or running"):
        lab.analyse("H1-tiny")
    worker = start_worker(job_env(store.url, tmp_path, OMP_NUM_THREADS="1"), tmp_path / "logs")

    def settled(ids: list[int]) -> bool:
        return all(store.get(j).status in ("succeeded", "failed") for j in ids)

    try:
        wait_for(lambda: settled(h.job_ids + hh.job_ids), 300, "the train jobs")
        records = {x.key: x for x in lab.refresh()}  # H1 analysed; H4-hessian queues its Hessian jobs
        follow = records["H4-hessian"].job_ids[4:]
        assert records["H4-hessian"].status == "running" and len(follow) == 4
        assert {store.get(j).kind for j in follow} == {"hessian_top"}
        assert [store.get(j).spec["train_job"] for j in follow] == hh.job_ids
        wait_for(lambda: settled(follow), 300, "the Hessian jobs")
    finally:
        stop_worker(worker)
    assert {store.get(j).status for j in h.job_ids + hh.job_ids} == {"succeeded"}
    records = {x.key: x for x in lab.refresh()}
    done = records["H1-tiny"]
    assert done.status == "analysed" and done.verdict == "cannot be decided"
    unit = done.result["units"][0]
    assert unit["primary"]["test"] == "Spearman ρ" and [g["n"] for g in unit["groups"]] == [2, 2, 2]
    first = store.get(h.job_ids[0])
    assert first.spec["seed"] == 0 and first.spec["epochs"] == 2
    assert "Seeds: 0, 1" in report_markdown(done) and "2 epochs" in report_markdown(done)
    hess_done = records["H4-hessian"]
    assert hess_done.status == "analysed" and hess_done.verdict in VERDICTS, hess_done.record.message
    values = hess_done.result["values"]["hessian_top"]
    assert values[0][0] == store.get(follow[0]).result["eigenvalues"][0] and all(v > 0 for g in values for v in g)


def test_a_p_value_that_underflowed_is_not_printed_as_zero() -> None:
    from explorer.labs.reports import format_p

    assert format_p(0.0) == "< 1e-300" and format_p(0.01234) == "0.0123" and format_p(None) == "—"


def test_a_report_names_its_cells_and_gives_their_text_last(store: JobStore, tmp_path: Path):
    """H11's 32-layer chains are thousands of characters as text; in the group list they buried
    the result. The groups name each cell (its path statistics) and the exact texts come last."""
    lab = Lab(store, tmp_path / "no-warehouse.duckdb")
    md = report_markdown(lab.get("H11"))
    groups = md.split("## Groups\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert groups == ["- **residual, 32 layers**: DAG cell (P 4294967296 · d̄ 16.00 · m̄ 2.68e+08), 33 nodes, 64 edges",
                      "- **plain, 32 layers**: DAG cell (P 1 · d̄ 32.00 · m̄ 0.03), 33 nodes, 32 edges"]
    exact = md.split("## Cells (exact text, for re-running)\n", 1)[1]
    assert all(f"`{c}`" in exact for g in builtin("H11").groups for c in g.cells)
    assert "DAG#3" in report_markdown(lab.get("H1")).split("## Groups", 1)[1].split("## Cells", 1)[0]


def test_reading_the_lab_writes_nothing(store: JobStore, tmp_path: Path):
    """Readers get the catalogue's built-ins in memory; a built-in is stored only when it is run."""
    lab = Lab(store, tmp_path / "no-warehouse.duckdb")
    listed = lab.latest()
    assert [h.key for h in listed] == [f"H{i}" for i in range(1, 15)] and {
        h.status for h in listed
    } == {"draft"}
    assert lab.get("H1").spec == builtin("H1") and [h.version for h in lab.versions("H1")] == [1]
    assert "draft (not yet run)" in report_markdown(lab.get("H2"))
    with pytest.raises(UserError, match="has not been run yet"):
        lab.analyse("H1")
    with pytest.raises(UserError, match="no hypothesis 'H1' version 2"):
        lab.get("H1", 2)
    assert HypothesisStore(store.engine).all_latest() == [] and store.list() == []
    lab.run("H4")
    assert [r.key for r in HypothesisStore(store.engine).all_latest()] == ["H4"]
    assert lab.get("H4").record.locked and [h.key for h in lab.latest()] == [f"H{i}" for i in range(1, 15)]


def test_guests_may_not_run_or_analyse(store: JobStore):
    from explorer.core.access import GUEST, AccessError

    lab = Lab(store)
    with pytest.raises(AccessError, match="access token"):
        lab.run("H4", user=GUEST)
    assert HypothesisStore(store.engine).all_latest() == [] and store.list() == []


def test_follow_up_jobs_belong_to_the_runner_and_count_against_their_limit(
        store: JobStore, monkeypatch: pytest.MonkeyPatch):
    from explorer.core.access import AccessError, User
    from explorer.jobs.queue import JobView
    from tests.labs_support import HESSIAN_KEY, finished_hessian_run

    monkeypatch.setenv("EXPLORER_SUBMIT_TOKEN", "lab-secret")
    alice, bob = User("alice", sees_all=False, can_submit=True), User("bob", sees_all=False, can_submit=True)
    lab = Lab(store)
    h = finished_hessian_run(lab, alice)
    assert {store.get(j).owner for j in h.job_ids} == {"alice"}

    # Another user neither analyses it nor sweeps it up in a refresh.
    assert not lab.may_analyse(h, bob) and lab.may_analyse(h, alice)
    with pytest.raises(AccessError, match="run by another user"):
        lab.analyse(HESSIAN_KEY, user=bob)
    assert lab.refresh(user=bob) and len(lab.get(HESSIAN_KEY).job_ids) == 4

    # Four follow-ups over alice's limit of 3: none is queued, the run waits.
    monkeypatch.setenv("EXPLORER_MAX_JOBS_PER_USER", "3")
    with pytest.raises(AccessError, match="hessian_top jobs were not queued"):
        lab.analyse(HESSIAN_KEY, user=alice)
    assert len(store.list()) == 4 and lab.get(HESSIAN_KEY).status == "running"

    # Within the limit, whoever analyses (here the operator's CLI, OPEN) queues them as alice's.
    monkeypatch.setenv("EXPLORER_MAX_JOBS_PER_USER", "4")
    lab.refresh()
    follow = lab.get(HESSIAN_KEY).job_ids[4:]
    assert len(follow) == 4 and {store.get(j).owner for j in follow} == {"alice"}
    assert {j.id for j in JobView(store, alice).list(status="queued")} == set(follow)
    with pytest.raises(AccessError, match="limit"):  # and they count against her limit
        from explorer.jobs.queue import submit

        submit(store, "train", train_specs(builtin("H4"))[0][3], user=alice)


# --- issue 17: verdicts that cannot overclaim ------------------------------------------------------


def test_an_ordering_needs_every_adjacent_pair():
    """DAG#1 = DAG#2 (pair p ≈ 0.87) with DAG#3 lower: Spearman alone would say 'supported'; not any more."""
    rng = np.random.default_rng(0)
    dag1 = 0.50 + 0.01 * rng.standard_normal(5)
    dag2 = 0.50 + 0.01 * rng.standard_normal(5)
    dag3 = 0.30 + 0.01 * rng.standard_normal(5)
    res = analyse(builtin("H1"), {"m": [dag1, dag2, dag3]})
    unit = res["units"][0]
    assert unit["primary"]["p_value"] < 0.05 and unit["estimate"] < 0  # the trend alone is significant
    assert unit["pairs"][0]["test"]["p_value"] > 0.5
    assert res["verdict"] == "inconclusive" and unit["p_value"] >= unit["pairs"][0]["p_holm"]


def test_diverged_runs_count_as_the_worst_not_as_missing():
    """H8 on this machine: every unpadded 32-layer residual chain diverged to NaN. Dropping those runs
    left 'group has 0 finite values' (or, with one survivor, compared survivors only); a diverged run
    trained worse than any that did not, so it is ranked last and the unit is tested on ranks."""
    nan = float("nan")
    plain = np.array([0.50, 0.40, 0.60, 0.55, 0.45])
    res = analyse(builtin("H8"), {"digits": [np.full(5, nan), plain],
                                  "mnist1d": [np.array([nan, nan, nan, nan, 0.9]), plain + 0.6]})
    digits, mnist1d = res["units"]
    assert digits["ranked"] and digits["groups"][0]["diverged"] == 5 and digits["groups"][0]["mean"] is None
    assert digits["p_value"] == pytest.approx(2 / 252)  # exact Mann–Whitney: all five ranked last
    assert "on ranks" in digits["primary"]["test"] and res["verdict"] == "refuted"  # H8 predicted "less"
    assert mnist1d["groups"][0] | {"diverged": 4, "mean": 0.9} == mnist1d["groups"][0]
    md_lines = report_markdown(_analysed(builtin("H8"), res))
    assert "| residual, 32 layers | 5 | — | — | — | 5 |" in md_lines and "tests below are on ranks" in md_lines
    from explorer.labs.reports import result_figure  # a group with no value to draw is named in its panel

    notes = [a.text for a in result_figure(_analysed(builtin("H8"), res)).layout.annotations]
    assert "residual, 32 layers: 5 of 5 diverged" in notes and "residual, 32 layers: 4 of 5 diverged" in notes

    # A metric a diverged run has no value of (the generalisation gap): left out, counted, and named.
    gap = analyse(builtin("H10"), {"digits": [np.array([0.1, nan, 0.12, 0.11, 0.13]), plain],
                                   "mnist1d": [plain, plain + 0.01]})
    assert gap["units"][0]["groups"][0]["diverged"] == 1 and gap["units"][0]["groups"][0]["n"] == 5
    assert not gap["units"][0].get("ranked")
    from explorer.core.errors import DataError

    with pytest.raises(DataError, match=r"0 finite value\(s\) \(5 of 5 runs diverged"):
        analyse(builtin("H10"), {"digits": [np.full(5, nan), plain], "mnist1d": [plain, plain]})


def _analysed(spec: HypothesisSpec, result: dict):
    """What report_markdown reads of an analysed hypothesis, in memory."""
    from types import SimpleNamespace

    record = SimpleNamespace(locked_at=None, message="")
    return SimpleNamespace(key=spec.key, version=1, spec=spec, status="analysed", record=record, result=result,
                           job_ids=[])


def test_a_3_vs_3_permutation_design_cannot_be_decided(store: JobStore):
    spec = builtin("H4").with_protocol(seeds=(0, 1, 2))
    low, high = np.array([0.10, 0.11, 0.12]), np.array([0.30, 0.31, 0.32])
    res = analyse(spec, {"m": [low, high]})
    assert res["units"][0]["p_value"] == pytest.approx(0.1)  # 2 / C(6, 3): the best any data can do
    assert res["verdict"] == "cannot be decided" and not res["power"]["decidable"]
    from explorer.labs.analysis import design_power

    assert design_power(spec)["min_p"] == pytest.approx(0.1) and not design_power(spec)["decidable"]
    lab = Lab(store)
    lab.save(spec.model_copy(update={"key": "H4-3seeds"}))
    with pytest.raises(UserError, match="cannot be decided: smallest reachable p = 0.1"):
        lab.run("H4-3seeds")
    assert store.list() == []


def test_every_builtin_can_reach_alpha_with_its_default_seeds():
    from explorer.labs.analysis import design_power

    floors = {s.key: design_power(s)["min_p"] for s in builtins()}
    # Each must reach α after Holm across the whole catalogue too, in the worst place (× its size).
    assert all(p * len(floors) < 0.05 for p in floors.values()), floors
    assert floors["H1"] == pytest.approx(2 * 2 / 3432) and floors["H2"] == pytest.approx(2 / 70**2)
    assert floors["H7"] == pytest.approx(2 * 2 * 2 / 3432)  # 7 vs 7 seeds, 2 pairs, Holm, 2 data sets


def test_paired_design_is_analysed_within_pairs():
    """H2: two cells whose levels differ a lot, the adapted one a little lower in each: unpaired the cell
    effect drowns the difference; paired (permuting within each cell) it is found."""
    spec = builtin("H2")
    assert spec.protocol.paired and "NASNet-A" in spec.notes and "SNAS-mild" in spec.notes
    adapted = np.array([0.10, 0.101, 0.102, 0.50, 0.501, 0.502])
    original = adapted + 0.01
    blocks = np.array([0, 0, 0, 1, 1, 1])
    paired = analyse(spec, {"m": [adapted, original]}, blocks={"m": [blocks, blocks]})
    assert paired["verdict"] == "supported" and paired["units"][0]["p_value"] == pytest.approx(2 / 400)
    assert paired["units"][0]["primary"]["test"].startswith("stratified permutation")
    unpaired = analyse(spec.with_protocol(paired=False), {"m": [adapted, original]})
    assert unpaired["verdict"] != "supported"


def test_null_contrasts_are_dropped_and_reported(store: JobStore):
    from explorer.labs.lab import null_contrasts, plan

    a, b = _mlp_cells()
    spec = builtin("H4").model_copy(update={"key": "pairs", "groups": (
        builtin("H4").groups[0].model_copy(update={"cells": (a, b)}),
        builtin("H4").groups[1].model_copy(update={"cells": (b, b)}))}).with_protocol(paired=True)
    assert null_contrasts(spec) == [1]
    runs = plan(spec)
    assert {r.pair for r in runs} == {0} and len(runs) == 2 * len(spec.protocol.seeds)


def _mlp_cells() -> tuple[str, str]:
    return get_preset("DAG#1 (sequential)").cell.to_text(), get_preset("DAG#2 (parallel)").cell.to_text()


def test_shu_table_2_widths_of_the_adapted_cells():
    """Shu et al.'s Table 2 widths/depths. Our adapt concatenates every node (AmoebaNet-A: 5c); keeping the
    cell's own concatenation leaves nodes 2 and 3 dead and gives the paper's 3c."""
    from explorer.cell.presets import PRESETS
    from explorer.theory.paths import cell_depth
    from explorer.theory.variants import adapt, changes_shape, live_cell_width

    rows = {p.name.removesuffix(" normal cell"): p.cell for p in PRESETS if p.space == "darts"}
    got = {n: (live_cell_width(c), cell_depth(c), live_cell_width(adapt(c)), cell_depth(adapt(c)),
               live_cell_width(adapt(c, keep_concat=True))) for n, c in rows.items()}
    assert got == {
        "NASNet-A": (5.0, 2, 5.0, 2, 5.0),
        "AmoebaNet-A": (4.0, 4, 5.0, 2, 3.0),
        "ENAS": (5.0, 2, 5.0, 2, 5.0),
        "DARTS-V2": (3.5, 3, 4.0, 2, 4.0),
        "SNAS-mild": (4.0, 2, 4.0, 2, 4.0),
    }
    assert [n for n, c in rows.items() if changes_shape(c, adapt(c))] == ["AmoebaNet-A", "DARTS-V2"]


def test_stability_and_gap_metrics_from_curves():
    import pandas as pd

    smooth = pd.DataFrame({"train_loss": [1.0, 0.6, 0.4], "test_loss": [1.1, 0.8, 0.7], "test_acc": [0.5, 0.6, 0.7]})
    spiky = smooth.assign(train_loss=[1.0, 0.3, 0.5])
    diverged = smooth.assign(train_loss=[1.0, float("nan"), float("nan")])
    assert metric_value(smooth, "unstable", None) == 0 and metric_value(smooth, "loss_spikes", None) == 0
    assert metric_value(spiky, "unstable", None) == 1 and metric_value(spiky, "loss_spikes", None) == 1
    assert metric_value(diverged, "unstable", None) == 1
    assert metric_value(smooth, "generalisation_gap", None) == pytest.approx(0.3)
    from explorer.core.errors import DataError

    with pytest.raises(DataError, match="gradient-flow"):
        metric_value(smooth, "grad_attenuation_final", None)
    assert metric_value(smooth.assign(grad_attenuation=[0.0, -1.0, -2.0]), "grad_attenuation_final", None) == -2.0


def test_gradient_flow_probe_sees_vanishing_gradients():
    import torch

    from explorer.experiments.gradient_flow import attenuation, epoch_columns, probe

    torch.manual_seed(0)
    layers = [torch.nn.Linear(16, 16) for _ in range(20)]
    plain = torch.nn.Sequential(*[m for lin in layers for m in (lin, torch.nn.Tanh())], torch.nn.Linear(16, 3))
    for lin in layers:
        torch.nn.init.normal_(lin.weight, std=0.1)  # contracting: the gradient shrinks layer by layer
    x, y = torch.randn(64, 16), torch.randint(0, 3, (64,))
    norms = probe(plain, x, y)
    assert len(norms) == 21 and attenuation(norms) < -5
    assert set(epoch_columns(plain)) == set() or True  # grads cleared by probe: no columns needed
    plain(x).sum().backward()
    assert set(epoch_columns(plain)) == {"grad_norm_first", "grad_norm_last", "grad_attenuation"}


def test_probe_hypothesis_runs_at_once(store: JobStore):
    spec = builtin("H11").with_protocol(width=16, seeds=(0, 1, 2, 3, 4),
                                        sweep=[{"label": "digits", "data": {"name": "digits_flat"}}])
    lab = Lab(store)
    lab.save(spec.model_copy(update={"key": "H11-small", "groups": tuple(
        g.model_copy(update={"cells": (c,)}) for g, c in zip(spec.groups, _chains(4), strict=True))}))
    h = lab.run("H11-small")
    assert h.status == "analysed" and h.verdict in VERDICTS and store.list() == []
    assert [g["n"] for g in h.result["units"][0]["groups"]] == [5, 5]


def _chains(depth: int) -> tuple[str, str]:
    from explorer.labs.catalogue import chain

    return chain(depth, True), chain(depth, False)


def test_family_wise_correction_across_the_report(store: JobStore, nb201_warehouse: Path):  # noqa: F811
    from explorer.labs.reports import family_markdown

    lab = Lab(store, nb201_warehouse)
    lab.run("H6")
    family = lab.family()
    assert [r["key"] for r in family] == ["H6"] and family[0]["family_size"] == 1
    md = report_markdown(lab.get("H6"), family)
    assert "## Family-wise correction" in md and "Holm across the 1 analysed" in md
    assert "Power: smallest reachable p" in md
    assert "Family-wise correction: Holm across the 1 analysed hypotheses" in family_markdown(family)


def test_a_refuted_verdict_faces_the_family_correction_too():
    """"Refuted" claims an effect (against the prediction) as much as "supported" does: across a
    family, each verdict's own p is adjusted and a claim that does not survive reads "inconclusive"."""
    from types import SimpleNamespace

    from explorer.labs.reports import family_rows

    def hyp(key: str, verdict: str, p: float):
        return SimpleNamespace(key=key, version=1, verdict=verdict,
                               result={"alpha": 0.05, "p_verdict": p, "units": [{"p_holm": 0.9}]})

    rows = family_rows([hyp("A", "supported", 0.001), hyp("B", "refuted", 0.03), hyp("C", "inconclusive", 0.4)])
    assert [r["p_family"] for r in rows] == pytest.approx([0.003, 0.06, 0.4])
    assert [r["family_verdict"] for r in rows] == ["supported", "inconclusive", "inconclusive"]
    # the verdict's p: the smallest unit against the prediction refutes, not the largest of all units
    nan = float("nan")
    res = analyse(builtin("H8"), {"digits": [np.full(5, nan), np.arange(5.0)], "mnist1d": [np.arange(5.0)] * 2})
    assert res["verdict"] == "refuted" and res["p_verdict"] == pytest.approx(2 * 2 / 252)


def test_h13_scales_only_its_residual_branches():
    """H13's jobs carry the branch scale (and say so in their labels); H8's, the same cells unscaled, do not."""
    from explorer.jobs.label_parts import train_title

    h13, h8 = train_specs(builtin("H13")), train_specs(builtin("H8"))
    assert {s["network"].get("mlp_branch_scale") for *_, s in h13} == {1 / 32}
    assert all("mlp_branch_scale" not in s["network"] for *_, s in h8)
    assert [c for _g, c, _s, _ in h13] == [c for _g, c, _s, _ in h8]  # the same cells, seeds and units
    assert "width 128 · branches ×0.0312" in train_title(h13[0][3])
    assert "width 128, residual branches ×0.0312" in report_markdown(_analysed(builtin("H13"), {}))
    assert {s["network"].get("mlp_branch_scale") for *_, s in train_specs(builtin("H14"))} == {1 / 32}  # its probes


def test_retried_jobs_stand_in_for_the_failed_ones(store: JobStore):
    """The lab says "retry them and analyse again"; the analysis then used the failed jobs again
    (found running H13 on a worker that had old code). A job's latest retry with the same spec
    now stands for it: in the counts, in the values, and for the Hessian follow-ups."""
    from explorer.core.errors import DataError

    spec = builtin("H4").model_copy(update={"key": "H4-retry"}).with_protocol(seeds=(0, 1, 2, 3, 4))
    lab = Lab(store)
    lab.save(spec)
    h = lab.run("H4-retry")
    skips = set(h.job_ids[:5])  # group 0, "sequential + skips": the lower loss

    def work(fail: set[int]) -> None:  # an in-process worker: claim every queued job and finish it
        while (job := store.claim("w", "cpu", ["train"])) is not None:
            if job.id in fail:
                store.finish(job.id, job.attempts, "failed", error="SpecError: as on a worker with old code")
                continue
            seq = job.id in skips or job.parent_id is not None  # every retry here is of a group-0 job
            curves = "epoch,train_loss,test_acc\n" + "".join(f"{e},{0.2 if seq else 0.3},0.9\n" for e in range(1, 21))
            store.put_artifact(job.id, "curves.csv", curves.encode())
            store.finish(job.id, job.attempts, "succeeded")

    failed = h.job_ids[:3]
    work(set(failed))
    with pytest.raises(DataError, match=r"did not succeed; retry them"):
        lab.analyse("H4-retry")
    retries = [store.retry(j) for j in failed]
    assert lab.job_status(lab.get("H4-retry")) == {"queued": 3, "succeeded": 7}
    work({retries[0]})  # the first retry fails too; retried once more
    again = store.retry(retries[0])
    assert lab.job_status(lab.get("H4-retry")) == {"queued": 1, "succeeded": 9}
    work(set())
    done = lab.analyse("H4-retry")
    assert done.status == "analysed" and done.verdict == "supported", done.record.message
    assert [lab.attempt(j).id for j in h.job_ids[:4]] == [again, retries[1], retries[2], h.job_ids[3]]
