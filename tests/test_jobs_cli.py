"""`explorer submit` and `explorer jobs …`, in process, on a SQLite store in a temp data dir."""

from __future__ import annotations

import json

import pytest

from explorer.cli import main


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    for name in ("EXPLORER_DB_URL", "EXPLORER_READ_ONLY", "EXPLORER_ARTIFACT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    return tmp_path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_list_show_cancel_retry(capsys, tmp_path):
    code, out, _ = _run(capsys, "submit", "selftest", "--spec", '{"steps": 4}')
    assert code == 0 and out.strip() == "1"
    spec_file = tmp_path / "spec.json"
    spec_file.write_text('{"steps": 2, "sleep_s": 0.1}')
    assert _run(capsys, "submit", "selftest", "--spec", str(spec_file), "--priority", "3")[1].strip() == "2"

    code, out, _ = _run(capsys, "jobs", "list", "--json")
    jobs = json.loads(out)
    assert [j["id"] for j in jobs] == [2, 1]
    for job in jobs:
        assert {"id", "kind", "status", "attempts", "progress"} <= set(job)
        assert (job["kind"], job["status"], job["attempts"], job["progress"]) == ("selftest", "queued", 0, 0.0)

    code, out, _ = _run(capsys, "jobs", "show", "2", "--json")
    shown = json.loads(out)
    assert shown["spec"]["sleep_s"] == 0.1 and shown["priority"] == 3 and shown["artifacts"] == []

    assert _run(capsys, "jobs", "cancel", "1")[1].strip() == "job 1: cancelled"
    code, out, _ = _run(capsys, "jobs", "retry", "1", "--json")
    assert json.loads(out) == {"id": 3, "retry_of": 1, "status": "queued"}
    code, out, _ = _run(capsys, "jobs", "list", "--status", "cancelled")
    assert code == 0 and "cancelled" in out and "queued" not in out.splitlines()[1]


def test_user_errors_print_a_message_not_a_traceback(capsys):
    code, _, err = _run(capsys, "submit", "selftest", "--spec", '{"steps": -1}')
    assert code == 2 and err.startswith("error: invalid selftest spec: steps:")
    code, _, err = _run(capsys, "submit", "selftest", "--spec", "not-json-nor-file")
    assert code == 2 and "give a JSON object or the path" in err
    code, _, err = _run(capsys, "jobs", "show", "99")
    assert code == 2 and err.strip() == "error: no job with id 99"
    _run(capsys, "submit", "selftest")
    _run(capsys, "jobs", "cancel", "1")
    code, _, err = _run(capsys, "jobs", "cancel", "1")
    assert code == 2 and "already cancelled" in err
    code, _, err = _run(capsys, "jobs", "list", "--status", "bogus")
    assert code == 2 and "unknown status" in err


def test_read_only_refuses_submission(capsys, monkeypatch):
    monkeypatch.setenv("EXPLORER_READ_ONLY", "1")
    code, _, err = _run(capsys, "submit", "selftest")
    assert code == 2 and "read-only" in err


def test_kinds_lists_selftest_with_its_schema(capsys):
    code, out, _ = _run(capsys, "jobs", "kinds", "--json")
    kinds = {k["name"]: k for k in json.loads(out)}
    assert kinds["selftest"]["uses_gpu"] is True
    assert "fail_at_step" in kinds["selftest"]["spec_schema"]["properties"]


def test_worker_devices_are_parsed_and_checked():
    from explorer.core.errors import UserError
    from explorer.jobs.worker import WorkerConfig, parse_devices

    assert parse_devices("cpu") == ["cpu"]
    assert parse_devices("cuda:0, cuda:1") == ["cuda:0", "cuda:1"]
    assert parse_devices("all") in (["cpu"], [f"cuda:{i}" for i in range(8)][: len(parse_devices("all"))])
    for bad in ("gpu", "cuda:x", "cuda:0,cuda:0"):
        with pytest.raises(UserError):
            parse_devices(bad)
    from explorer.core.settings import get_settings

    assert (
        WorkerConfig.from_settings(get_settings({"EXPLORER_JOB_LEASE_S": "9", "EXPLORER_HEARTBEAT_S": "1"})).lease_s
        == 9
    )
    with pytest.raises(UserError, match="more than twice"):
        WorkerConfig.from_settings(get_settings({"EXPLORER_JOB_LEASE_S": "1", "EXPLORER_HEARTBEAT_S": "1"}))
