"""The two lab pages under Streamlit's AppTest: NAS filter lab and principles lab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db.store import JobStore
from explorer.jobs.local_context import LocalContext
from explorer.jobs.queue import open_store
from explorer.jobs.registry import get_kind
from tests.conftest import REPO
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)

TIMEOUT = 120


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPLORER_DB_URL", raising=False)
    monkeypatch.delenv("EXPLORER_READ_ONLY", raising=False)
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    return tmp_path


def test_nas_filter_with_a_broken_nb201_copy_explains_the_build(env: Path, monkeypatch):
    monkeypatch.setenv("EXPLORER_NB201_DIR", str(env / "nowhere"))
    at = AppTest.from_file(str(REPO / "pages/nas_filter.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "not available" in at.error[0].value and "not a directory" in at.error[0].value
    assert at.code[0].value == f"explorer warehouse build --nb201-dir {env / 'nowhere'} --db {env / 'missing.duckdb'}"


def test_nas_filter_on_nb201(env: Path, nb201_warehouse: Path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    at = AppTest.from_file(str(REPO / "pages/nas_filter.py"), default_timeout=TIMEOUT)
    at.session_state["nasf_repeats"] = 50  # the default 500 works too; fewer keeps the test quick
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Share of the space kept"] == "40.0 %" and metrics["Box d̄"] == "0.938 – 2.312"
    main = at.dataframe[1].value
    assert set(main["filter"]) == {"none", "box f=0.5"} and set(main["dataset"]) == {
        "cifar10",
        "cifar100",
        "imagenet16",
    }
    assert (main["repeats"] == 50).all()
    assert len(at.get("plotly_chart")) == 3 and len(at.get("download_button")) == 2
    at.select_slider(key="nasf_f").set_value(0.25).run()
    assert not at.exception
    main = at.dataframe[1].value
    assert set(main["filter"]) == {"none", "box f=0.25"}

    # the user's cell through NASWOT: the form queues a job; a finished one is placed among the space
    assert "No NASWOT jobs yet." in [c.value for c in at.caption]
    at.text_input(key="nasf_naswot_cell").set_value("|nor_conv_3x3~0|+|bad")  # form values go in with the submit
    next(b for b in at.button if b.label == "Queue NASWOT job").click().run()
    assert not at.exception and "invalid naswot spec: network.cell" in at.error[0].value
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    at.text_input(key="nasf_naswot_cell").set_value(cell)
    at.selectbox(key="nasf_naswot_data").set_value("synthetic")
    at.number_input(key="nasf_naswot_batch").set_value(16)
    next(b for b in at.button if b.label == "Queue NASWOT job").click().run()
    assert not at.exception and at.success[0].value == "queued job 1"
    store = open_store()
    job = store.claim("test", "cpu", ["naswot"])
    assert job is not None and job.spec["data"]["name"] == "synthetic" and job.spec["batch_size"] == 16
    kind = get_kind("naswot")
    small = kind.validate({**job.spec, "network": {**job.spec["network"], "channels": 4, "cells_per_stage": 1}})
    result = kind.run(small, LocalContext())  # the job's spec at a smaller width: quick on a CPU
    assert store.finish(job.id, job.attempts, "succeeded", result=result)
    at.run()
    table = at.dataframe[-1].value
    assert not at.exception and table["job"].tolist() == [1] and table["status"].tolist() == ["succeeded"]
    assert len(at.get("plotly_chart")) == 4
    # A synthetic-data score is on another scale than the warehouse's CIFAR-10 scores: not placed among them.
    assert table["share of space below"].isna().all() and table["cell"].iat[0].startswith("NB201 cell (P ")
    assert '"shapes"' not in at.get("plotly_chart")[-1].proto.spec
    assert any("Only scores computed like the warehouse's" in c.value for c in at.caption)

    at.multiselect(key="nasf_datasets").set_value([]).run()
    assert not at.exception and "at least one dataset" in at.info[0].value


def test_principles_lists_runs_and_versions(env: Path, nb201_warehouse: Path, monkeypatch):  # noqa: F811
    at = AppTest.from_file(str(REPO / "pages/principles.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    overview = at.dataframe[0].value
    assert list(overview["key"]) == [f"H{i}" for i in range(1, 15)] and set(
        overview["status"]
    ) == {"draft"}
    at.selectbox(key="principles_key").set_value("H6").run()
    at.button(key="principles_run").click().run()  # no warehouse yet: a message, the draft stays unlocked
    assert not at.exception and "no warehouse here" in at.error[0].value

    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(nb201_warehouse))
    at = AppTest.from_file(str(REPO / "pages/principles.py"), default_timeout=TIMEOUT).run()
    at.selectbox(key="principles_key").set_value("H6").run()
    at.button(key="principles_run").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {
        "Status": "analysed",
        "Verdict": "supported",
        "Predicted": "greater",
    }
    assert at.dataframe[0].value.set_index("key").loc["H6", "verdict"] == "supported"
    assert len(at.get("plotly_chart")) == 1
    # One box per (dataset, group): datasets along x, the groups in the legend, both axes titled.
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in fig["data"]] == ["inside the box", "outside the box"]
    assert all(t["x"] == ["cifar10", "cifar100", "imagenet16"] for t in fig["data"])
    assert fig["layout"]["xaxis"]["title"]["text"] == "dataset" and fig["layout"]["yaxis"]["title"]["text"]
    assert fig["layout"]["showlegend"] is True
    assert not any(e.label.endswith("p = 0 (Holm 0)") or "p = 0 " in e.label for e in at.expander)
    family = at.dataframe[1].value  # Holm across the analysed hypotheses
    assert list(family["key"]) == ["H6"] and list(family["after the correction"]) == ["supported"]
    assert list(family["p"]) == ["< 1e-300"] and list(family["family-adjusted p"]) == ["< 1e-300"]  # not "0"

    # editing the locked H6 saves version 2, unlocked
    spec = json.loads(at.text_area(key="principles_spec_H6_1").value)
    spec["protocol"]["alpha"] = 0.01
    at.text_area(key="principles_spec_H6_1").set_value(json.dumps(spec)).run()
    at.button(key="principles_save").click().run()
    assert not at.exception and "saved H6 v2" in at.success[0].value
    at.text_area(key="principles_spec_H6_1").set_value("{not json").run()
    at.button(key="principles_save").click().run()
    assert "not valid JSON" in at.error[0].value
    at.run()
    assert at.selectbox(key="principles_v_H6").options == ["1", "2"]
    from explorer.cell.model import parse_cell

    cell = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    at.session_state["cell"] = parse_cell(cell)  # what the editor page keeps
    at.run()
    assert not at.exception and cell in [c.value for c in at.code]


def _snapshot(store: JobStore) -> list[str]:
    """Every row of the job store's database (jobs, metrics, hypotheses, …) as SQL."""
    raw = store.engine.raw_connection()
    try:
        return list(raw.driver_connection.iterdump())
    finally:
        raw.close()


@pytest.mark.parametrize("mode", ["guest on a shared server", "read-only"])
def test_principles_as_a_reader_writes_nothing(env: Path, monkeypatch, mode: str):
    """A reader sees the built-ins and a run waiting for its analysis, and the store stays as it was:
    no built-in is stored, no analysis written, no follow-up job queued."""
    from explorer.core.access import User
    from explorer.labs.lab import Lab
    from tests.labs_support import HESSIAN_KEY, finished_hessian_run

    store = open_store()
    finished_hessian_run(Lab(store), User("alice", sees_all=False, can_submit=True))
    monkeypatch.setenv(*(("EXPLORER_SUBMIT_TOKEN", "lab-secret") if mode.startswith("guest")
                         else ("EXPLORER_READ_ONLY", "1")))
    before = _snapshot(store)
    at = AppTest.from_file(str(REPO / "pages/principles.py"), default_timeout=TIMEOUT).run()
    at.selectbox(key="principles_key").set_value(HESSIAN_KEY).run()
    assert not at.exception
    overview = at.dataframe[0].value
    assert list(overview["key"]) == ["H1", "H2", "H3", "H4", HESSIAN_KEY, *(f"H{i}" for i in range(5, 15))]
    assert {m.label: m.value for m in at.metric}["Status"] == "running"
    assert not [b for b in at.button if b.key in ("principles_analyse", "principles_run", "principles_save")]
    assert _snapshot(store) == before


def test_principles_runner_analyses_from_the_page(env: Path, monkeypatch):
    """The user who ran a hypothesis analyses it with the button; the follow-up jobs are theirs."""
    from explorer.core.access import User, issue_token
    from explorer.labs.lab import Lab
    from tests.labs_support import HESSIAN_KEY, finished_hessian_run

    monkeypatch.setenv("EXPLORER_SUBMIT_TOKEN", "lab-secret")
    store = open_store()
    h = finished_hessian_run(Lab(store), User("alice", sees_all=False, can_submit=True))
    at = AppTest.from_file(str(REPO / "pages/principles.py"), default_timeout=TIMEOUT)
    at.session_state["access_token"] = issue_token("lab-secret", "bob")
    at.run()
    at.selectbox(key="principles_key").set_value(HESSIAN_KEY).run()
    assert not at.exception and any("the user who ran it analyses the run" in c.value for c in at.caption)
    assert len(store.list()) == len(h.job_ids)
    at.session_state["access_token"] = issue_token("lab-secret", "alice")
    at.run()
    at.button(key="principles_analyse").click().run()
    assert not at.exception
    follow = [j for j in store.list() if j.kind == "hessian_top"]
    assert len(follow) == 4 and {j.owner for j in follow} == {"alice"}
    assert "4 of 8 jobs finished" in at.get("progress")[0].proto.text


def test_nas_filter_on_nds_spaces(env: Path, monkeypatch):
    """An NDS-only warehouse: every cell space (and a ResNet space) is offered, its box from its own
    d̄/m̄ range; NDS has no proxy, so the lab runs random search with and without the box."""
    from explorer.benchmarks.build import build_warehouse
    from tests.warehouse_fixtures import write_nds

    write_nds(env / "DARTS.json", 120, nan={5: 2})
    write_nds(env / "ENAS_in.json", 120, seed=1)
    write_nds(env / "ResNet.json", 120, kind="resnet", seed=2)
    db = env / "nds.duckdb"
    build_warehouse(db, None, [env / "DARTS.json", env / "ENAS_in.json", env / "ResNet.json"])
    monkeypatch.setenv("EXPLORER_WAREHOUSE", str(db))
    at = AppTest.from_file(str(REPO / "pages/nas_filter.py"), default_timeout=TIMEOUT)
    at.session_state["nasf_repeats"] = 20
    at.session_state["nasf_n"] = 10
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="nasf_space").options == ["nds:DARTS", "nds:ENAS_in", "nds:ResNet"]
    assert at.selectbox(key="nasf_proxy").value == "none (random search only)"
    main = at.dataframe[1].value
    assert set(main["search"]) == {"random"} and set(main["dataset"]) == {"cifar10"}
    at.selectbox(key="nasf_space").set_value("nds:ENAS_in").run()
    assert not at.exception and not at.error
    assert set(at.dataframe[1].value["dataset"]) == {"imagenet"}
    at.selectbox(key="nasf_space").set_value("nds:ResNet").run()
    assert not at.exception and not at.error
