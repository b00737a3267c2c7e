"""Shared servers: tokens, owners, the per-user limit, and paths confined to the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.store import JobNotFound, JobStore
from db.store.engine import make_engine, upgrade
from explorer.core.access import ADMIN, GUEST, OPEN, AccessError, User, issue_token, may_read, sign_in
from explorer.core.errors import SpecError
from explorer.core.paths import PathError, confine
from explorer.jobs.context import StoreContext
from explorer.jobs.queue import JobView, submit
from tests.jobs_support import submit_at_once

SECRET = "class-of-2026-secret"
ALICE = User("alice", sees_all=False, can_submit=True)
BOB = User("bob", sees_all=False, can_submit=True)
SELFTEST = {"steps": 1, "size": 2}


@pytest.fixture
def store(tmp_path, monkeypatch) -> JobStore:
    for name in ("EXPLORER_DB_URL", "EXPLORER_READ_ONLY", "EXPLORER_ARTIFACT_DIR", "EXPLORER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXPLORER_SUBMIT_TOKEN", SECRET)
    monkeypatch.setenv("EXPLORER_MAX_JOBS_PER_USER", "3")
    s = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}", artifact_dir=tmp_path / "artifacts")
    yield s
    s.close()


# ---------------------------------------------------------------------------------------- tokens


def test_tokens_sign_in_as_their_user_and_the_secret_as_the_operator() -> None:
    assert sign_in(SECRET, issue_token(SECRET, "alice")) == ALICE
    admin = sign_in(SECRET, SECRET)
    assert admin.name == ADMIN and admin.sees_all and admin.can_submit
    assert sign_in(SECRET, None) == GUEST and sign_in(SECRET, "  ") == GUEST
    assert sign_in(None, "anything") == OPEN  # no token configured: an open server


@pytest.mark.parametrize("token", [
    "alice", "alice.", "alice.xyz", "bob." + issue_token(SECRET, "alice").split(".")[1],  # alice's signature
    issue_token("another-secret", "alice"), issue_token(SECRET, "alice") + "x", SECRET + " x",
])
def test_wrong_or_forged_tokens_are_refused(token: str) -> None:
    with pytest.raises(AccessError, match="not valid on this server"):
        sign_in(SECRET, token)


def test_a_new_secret_revokes_every_personal_token() -> None:
    token = issue_token(SECRET, "alice")
    with pytest.raises(AccessError):
        sign_in("rotated", token)


@pytest.mark.parametrize("name", ["admin", "Alice", "", "a b", "../x", "x" * 65])
def test_user_names_are_checked(name: str) -> None:
    with pytest.raises(AccessError):
        issue_token(SECRET, name)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=200)))
def test_sign_in_only_ever_raises_access_error(token: str | None) -> None:
    try:
        user = sign_in(SECRET, token)
    except AccessError:
        return
    assert user in (GUEST, User(ADMIN, True, True)) or user.name is not None


def test_who_may_read_whose_artifacts() -> None:
    assert may_read(None, "alice") and may_read(ADMIN, "bob") and may_read("alice", "alice")
    assert not may_read("alice", "bob") and not may_read("alice", None)


# ---------------------------------------------------------------------------------------- visibility


def test_users_see_only_their_own_jobs_and_other_ids_look_unused(store: JobStore) -> None:
    mine = submit(store, "selftest", SELFTEST, user=ALICE)
    theirs = submit(store, "selftest", SELFTEST, user=BOB)
    store.put_artifact(theirs, "secret.json", b"{}")
    assert store.get(mine).owner == "alice" and store.get(theirs).owner == "bob"

    alice = JobView(store, ALICE)
    assert [j.id for j in alice.list()] == [mine]
    assert sum(alice.counts().values()) == 1
    for read in (alice.get, alice.artifacts, alice.metrics_frame, alice.cancel, alice.retry,
                 lambda i: alice.read_artifact(i, "secret.json")):
        with pytest.raises(JobNotFound, match=f"no job with id {theirs}$"):
            read(theirs)
    with pytest.raises(JobNotFound, match="no job with id 999$"):  # the same answer as an unused id
        alice.get(999)

    admin = JobView(store, sign_in(SECRET, SECRET))
    assert {j.id for j in admin.list()} == {mine, theirs}
    assert admin.read_artifact(theirs, "secret.json") == b"{}"
    guest = JobView(store, GUEST)
    assert guest.list() == [] and sum(guest.counts().values()) == 0
    with pytest.raises(AccessError, match="access token"):
        guest.submit("selftest", SELFTEST)
    with pytest.raises(AccessError):
        guest.cancel(mine)


def test_a_spec_cannot_name_another_users_job(store: JobStore) -> None:
    theirs = submit(store, "selftest", SELFTEST, user=BOB)
    with pytest.raises(SpecError, match=f"train_job: no job with id {theirs}"):
        submit(store, "loss_contour", {"train_job": theirs}, user=ALICE)
    with pytest.raises(SpecError, match="no job with id 4242"):
        submit(store, "hessian_top", {"train_job": 4242}, user=ALICE)
    assert len(store.list()) == 1


def test_a_running_job_reads_only_its_own_users_artifacts(store: JobStore) -> None:
    alices = submit(store, "selftest", SELFTEST, user=ALICE)
    bobs = submit(store, "selftest", SELFTEST, user=BOB)
    operators = submit(store, "selftest", SELFTEST)  # a shell submission: no owner
    store.put_artifact(alices, "weights.npy", b"alice")
    ctx = StoreContext(store, bobs, attempt=1, device="cpu")
    with pytest.raises(JobNotFound):
        ctx.read_artifact(alices, "weights.npy")
    assert StoreContext(store, alices, 1, "cpu").read_artifact(alices, "weights.npy") == b"alice"
    assert StoreContext(store, operators, 1, "cpu").read_artifact(alices, "weights.npy") == b"alice"


def test_retry_keeps_the_owner(store: JobStore) -> None:
    job = submit(store, "selftest", SELFTEST, user=ALICE)
    store.cancel(job)
    new = JobView(store, ALICE).retry(job)
    assert store.get(new).owner == "alice" and store.get(new).parent_id == job


# ---------------------------------------------------------------------------------------- the limit


def test_the_per_user_limit_counts_unfinished_jobs_and_stores_nothing_over_it(store: JobStore) -> None:
    ids = [submit(store, "selftest", SELFTEST, user=ALICE) for _ in range(3)]
    with pytest.raises(AccessError, match="alice already has 3 unfinished job.*allows 3 per user"):
        submit(store, "selftest", SELFTEST, user=ALICE)
    assert len(store.list(owner="alice")) == 3
    submit(store, "selftest", SELFTEST, user=BOB)  # bob has his own allowance
    store.cancel(ids[0])  # a finished job frees a place
    submit(store, "selftest", SELFTEST, user=ALICE)
    with pytest.raises(AccessError, match="allows 3 per user"):  # a retry is a new job: it counts too
        JobView(store, ALICE).retry(ids[0])
    for user in (sign_in(SECRET, SECRET), OPEN):  # the operator and open servers have no limit
        for _ in range(4):
            submit(store, "selftest", SELFTEST, user=user)


def test_a_batch_over_the_limit_is_queued_whole_or_not_at_all(store: JobStore) -> None:
    view = JobView(store, ALICE)
    submit(store, "selftest", SELFTEST, user=ALICE)
    with pytest.raises(AccessError, match="this adds 3"):
        view.submit_many([("selftest", SELFTEST)] * 3)
    assert len(store.list(owner="alice")) == 1
    assert len(view.submit_many([("selftest", SELFTEST)] * 2)) == 2


def test_concurrent_submissions_do_not_slip_past_the_limit(store: JobStore) -> None:
    refused = submit_at_once(store, ALICE, 8)
    assert len(store.list(owner="alice")) == 3 and refused == 5


# ---------------------------------------------------------------------------------------- migration


def test_migration_0003_adds_owners_and_keeps_every_metric_and_artifact(tmp_path) -> None:
    from alembic import command

    from db.store.engine import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO jobs (kind, spec, status, priority, attempts, max_attempts, created_at, "
                             "progress, cancel_requested) VALUES ('selftest', '{}', 'succeeded', 0, 1, 3, "
                             "'2026-01-01 00:00:00', 1.0, 0)")
        conn.exec_driver_sql("INSERT INTO job_metrics (job_id, name, value, time) VALUES (1, 'loss', 0.5, "
                             "'2026-01-01 00:00:00')")
        conn.exec_driver_sql("INSERT INTO job_artifacts (job_id, name, media_type, size, data, created_at) "
                             "VALUES (1, 'a.json', 'application/json', 2, X'7B7D', '2026-01-01 00:00:00')")
    upgrade(engine)
    store = JobStore(url, migrate=False)
    assert store.get(1).owner is None
    assert [p.value for p in store.metrics(1)] == [0.5] and store.read_artifact(1, "a.json") == b"{}"


# ---------------------------------------------------------------------------------------- paths


def test_paths_stay_inside_the_data_directory(tmp_path) -> None:
    root = tmp_path / "data"
    assert confine("datasets/cifar10", root) == root / "datasets" / "cifar10"
    assert confine(str(root / "mnist"), root) == root / "mnist"
    assert confine("./a/./b/", root) == root / "a" / "b"
    for bad in ("/etc", "../data2", "datasets/../../etc", str(tmp_path), "a\x00b", "~/x", str(root) + "x/y"):
        with pytest.raises(PathError):
            confine(bad, root)


def test_an_operators_link_inside_the_data_directory_is_followed(tmp_path) -> None:
    root, outside = tmp_path / "data", tmp_path / "mnt"
    root.mkdir()
    outside.mkdir()
    (root / "cifar10").symlink_to(outside)
    assert confine("cifar10", root) == root / "cifar10"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_confine_never_escapes_and_only_raises_path_error(text: str) -> None:
    root = Path("/srv/explorer/data")
    try:
        out = confine(text, root)
    except PathError:
        return
    assert out == root or root in out.parents


def test_dataset_folders_in_specs_are_confined_when_queued(store: JobStore, tmp_path) -> None:
    spec = {"network": {"cell": "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
                        "network": "mlp"}, "epochs": 1, "data": {"name": "mnist", "path": "/etc"}}
    with pytest.raises(PathError, match="invalid train spec: path '/etc' is outside the data directory"):
        submit(store, "train", spec)
    spec["data"]["path"] = "../../etc"
    with pytest.raises(PathError, match="'..' is not allowed"):
        submit(store, "train", spec)
    spec["data"]["path"] = "datasets/mnist"
    job = store.get(submit(store, "train", spec))
    assert job.spec["data"]["path"] == str(tmp_path / "datasets" / "mnist")
