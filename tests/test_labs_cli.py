"""CLI: explorer nas-filter (text, --json, --csv) on a hand-made warehouse, and explorer hypotheses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer.cli import main
from tests.test_search_sim import hand_warehouse


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPLORER_DB_URL", raising=False)
    return tmp_path


def test_nas_filter_outputs(env: Path, capsys):
    db = str(hand_warehouse(env / "hand.duckdb"))
    args = ["nas-filter", "--db", db, "--datasets", "cifar10", "--repeats", "5", "--candidates", "6"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["box"]["center_depth"] == 1.0 and out["config"]["repeats"] == 5
    rows = {(r["search"], r["filter"]): r for r in out["search"]}
    assert rows[("proxy (naswot_v1)", "box f=0.5")]["mean_acc"] == 88.0
    assert rows[("proxy (naswot_v1)", "box f=0.5")]["total_evaluations"] == 5 * 2
    assert main([*args, "--csv"]) == 0
    assert capsys.readouterr().out.startswith("dataset,search,filter,f,")
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Inside vs outside" in text and "Ablation over f" in text
    assert main([*args, "--proxy", "nope"]) == 2
    assert "choose from" in capsys.readouterr().err
    assert main(["nas-filter", "--db", str(env / "none.duckdb")]) == 2
    assert "explorer warehouse build" in capsys.readouterr().err


def test_hypotheses_commands(env: Path, capsys):
    assert main(["hypotheses", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [h["key"] for h in listed] == [f"H{i}" for i in range(1, 15)]
    assert main(["hypotheses", "show", "H1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "draft" and shown["spec"]["direction"] == "decreasing"
    assert main(["hypotheses", "show", "H99"]) == 2
    assert "no hypothesis 'H99'" in capsys.readouterr().err
    out = env / "h1.md"
    assert main(["hypotheses", "report", "H1", "--out", str(out)]) == 0
    assert out.read_text().startswith("# H1 (v1)") and "draft (not yet run)" in out.read_text()
    assert main(["hypotheses", "report", "H1", "--format", "png", "--out", str(env / "h1.png")]) == 2
    assert "H1 has no result to plot yet" in capsys.readouterr().err
    assert main(["hypotheses", "report", "H1", "--format", "png"]) == 2 and "give its key and --out" in (
        capsys.readouterr().err)
    assert main(["hypotheses", "analyse", "H1"]) == 2
    assert "has not been run yet" in capsys.readouterr().err
    assert main(["hypotheses", "report", "--all"]) == 0
    assert "Family-wise correction: Holm across the 0 analysed" in capsys.readouterr().out


def test_hypotheses_refresh_analyses_finished_runs(env: Path, capsys):
    """Listing reads only; `refresh` is the explicit action that analyses (here: queues the follow-ups)."""
    from explorer.core.access import User
    from explorer.jobs.queue import open_store
    from explorer.labs.lab import Lab
    from tests.labs_support import HESSIAN_KEY, finished_hessian_run

    store = open_store()
    assert main(["hypotheses", "list"]) == 0 and main(["hypotheses", "refresh"]) == 0
    assert "nothing to analyse" in capsys.readouterr().out
    assert Lab(store).records.all_latest() == []
    finished_hessian_run(Lab(store), User("alice", sees_all=False, can_submit=True))
    assert main(["hypotheses", "refresh", "--json"]) == 0
    [changed] = json.loads(capsys.readouterr().out)
    assert changed["key"] == HESSIAN_KEY and changed["status"] == "running" and changed["jobs"] == 8
    assert {j.owner for j in store.list(kind="hessian_top")} == {"alice"}
