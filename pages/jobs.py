"""Jobs: submit experiments, watch them run, read their curves and artifacts."""

from __future__ import annotations

import io
import json
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer.cell.model import parse_cell
from explorer.core.errors import USER_ERRORS, CellError
from explorer.core.settings import get_settings
from explorer.jobs.forms import FormField, assemble, describe, initial_values
from explorer.jobs.queue import JOB_STATUSES, Job, JobView, StoreError, utcnow
from explorer.jobs.registry import load_kinds
from ui.access import SIGN_IN_NOTE, session_jobs
from ui.common import page_header

# Seconds between live refreshes of the table and the selected job (ui.jobs_refresh_s); 0 turns them
# off (AppTest cannot drive a page whose fragments rerun on a timer).
REFRESH_S = get_settings().jobs_refresh_s or None
PREVIEW_MAX_BYTES = 2 * 1024 * 1024

HELP = """
Jobs run on **workers** (`explorer worker`, started for you by `scripts/run.sh`), each job in a
process of its own on one device (a GPU when the worker has one). This page only reads and writes
the job store: the table and the selected job refresh every few seconds.

- **Submit**: pick a kind; the form comes from the kind's spec and starts from the cell in the
  editor. The spec is checked before anything is queued.
- Click a row of the queue table (or use the selector under it) to show that job.
- **Cancel** stops a running job within seconds (its process is ended). **Retry** queues a finished
  job again as a new job; **Clone** copies its spec into the form to edit.
- A job whose worker dies is put back in the queue and counts an attempt; after its last attempt it fails.
"""


def _age(when: datetime | None) -> str:
    if when is None:
        return ""
    seconds = (utcnow() - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else (f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min")


def _editor_cell_text() -> str | None:
    cell = st.session_state.get("cell")
    if cell is not None and hasattr(cell, "to_text"):
        return cell.to_text()
    text = st.query_params.get("cell")
    if text:
        try:
            return parse_cell(text).to_text()
        except CellError as exc:
            st.warning(f"The cell in the link is not valid, so the form does not use it: {exc}")
    return None


# ------------------------------------------------------------------------------------------ submit


def _draw_field(field: FormField, value, key: str):
    help_text = field.description or None
    if field.widget == "checkbox":
        return st.checkbox(field.label, value=bool(value), help=help_text, key=key)
    if field.widget == "int":
        low = None if field.minimum is None else int(np.ceil(field.minimum))
        high = None if field.maximum is None else int(np.floor(field.maximum))
        return st.number_input(field.label, value=None if value is None else int(value), min_value=low,
                               max_value=high, step=1, help=help_text, key=key)
    if field.widget == "float":
        return st.number_input(field.label, value=None if value is None else float(value),
                               min_value=None if field.minimum is None else float(field.minimum),
                               max_value=None if field.maximum is None else float(field.maximum),
                               format="%g", help=help_text, key=key)
    if field.widget == "choice":
        options = ([None] if field.nullable else []) + list(field.choices)
        index = options.index(value) if value in options else 0
        return st.selectbox(field.label, options, index=index, key=key, help=help_text,
                            format_func=lambda o: "(default)" if o is None else str(o))
    if field.widget == "text" and field.path[-1] == "cell":
        return st.text_area(field.label, value=value or "", height=68, help=help_text, key=key)
    if field.widget == "json":
        return st.text_input(f"{field.label} (JSON)", value=value or "", help=help_text, key=key)
    return st.text_input(field.label, value=value or "", help=help_text, key=key)


def _draw_fields(fields: list[FormField] | tuple[FormField, ...], initial: dict, out: dict, prefix: str) -> None:
    for field in fields:
        if field.widget == "group":
            with st.container(border=True):
                st.markdown(f"**{field.label}**" + (f" — {field.description}" if field.description else ""))
                _draw_fields(field.children, initial, out, prefix)
        else:
            out[field.key] = _draw_field(field, initial.get(field.key), f"{prefix}.{field.key}")


def _submit_section(store: JobView) -> None:
    kinds = load_kinds()
    clone = st.session_state.get("jobs_clone")
    names = sorted(kinds)
    with st.expander("Submit a job", expanded=clone is not None or st.session_state.get("jobs_submit_open", False)):
        if clone is not None and clone["kind"] in names:
            if not clone.get("shown"):  # select the clone's kind once; after that the user's pick stands
                st.session_state["jobs_submit_kind"] = clone["kind"]
                clone["shown"] = True
            st.caption(f"Cloned from job {clone['from']}: edit and submit.")
        elif "jobs_submit_kind" not in st.session_state:
            st.session_state["jobs_submit_kind"] = "selftest" if "selftest" in names else names[0]
        kind_name = st.selectbox("Kind", names, key="jobs_submit_kind")
        kind = kinds[kind_name]
        st.caption(kind.description + (" Uses a GPU when the worker has one." if kind.uses_gpu else ""))
        fields = describe(kind.spec_model)
        cloned_spec = clone["spec"] if clone is not None and clone["kind"] == kind_name else None
        initial = initial_values(fields, spec=cloned_spec, cell_text=_editor_cell_text())
        form_id = f"jobs_form_{kind_name}_{clone['from'] if clone else 'new'}"
        values: dict = {}
        with st.form(form_id):
            _draw_fields(fields, initial, values, form_id)
            priority = st.number_input("Priority (higher runs first)", value=0, step=1, key=f"{form_id}.priority")
            submitted = st.form_submit_button("Submit job", type="primary")
        if submitted:
            try:
                job_id = store.submit(kind_name, assemble(fields, values), priority=int(priority))
            except USER_ERRORS as exc:
                st.error(str(exc))
            else:
                st.session_state.pop("jobs_clone", None)
                st.session_state["jobs_selected"] = job_id
                st.success(f"Queued job {job_id} ({kind_name}).")


# ------------------------------------------------------------------------------------------ table


@st.fragment(run_every=REFRESH_S)
def _jobs_table(store: JobView, statuses: list[str], kinds: list[str], limit: int) -> None:
    counts = store.counts()
    st.caption(" · ".join(f"{status} **{counts[status]}**" for status in JOB_STATUSES))
    jobs = store.list(status=statuses or None, kind=kinds or None, limit=limit)
    if not jobs:
        st.info("No jobs match. Submit one above, or with `explorer submit KIND --spec JSON`.")
        return
    labels = store.labels(jobs)  # in the order of ``jobs``
    table = pd.DataFrame(
        {
            "id": [j.id for j in jobs],
            "kind": [j.kind for j in jobs],
            "status": [
                j.status + (" (cancelling)" if j.cancel_requested and j.status == "running" else "") for j in jobs
            ],
            "progress": [j.progress for j in jobs],
            "job": [label.split(" ", 1)[1] for label in labels.values()],
            "device": [j.device or "" for j in jobs],
            "age": [_age(j.created_at) for j in jobs],
            "duration": [_duration(j.duration_s) for j in jobs],
            "attempts": [j.attempts for j in jobs],
            "message": [(j.message or "")[:80] for j in jobs],
        }
    )
    # A row picked in the table becomes the selected job. The table's key changes after each pick,
    # so the selection (kept by row position) cannot drift to another job when new rows arrive.
    generation = st.session_state.setdefault("_jobs_table_generation", 0)
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=f"jobs_table_{generation}",
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent")
        },
    )
    rows = event.selection.rows if event is not None else []
    if rows and rows[0] < len(table):
        st.session_state["jobs_selected_next"] = int(table["id"].iloc[rows[0]])
        st.session_state["_jobs_table_generation"] = generation + 1
        st.rerun(scope="app")  # the job view below lives outside this fragment


# ------------------------------------------------------------------------------------------ one job


def _metric_figure(frame: pd.DataFrame, name: str) -> go.Figure:
    points = frame[frame["name"] == name]
    if points["step"].notna().all():
        x, x_title = points["step"], "step"
    elif points["epoch"].notna().all():
        x, x_title = points["epoch"], "epoch"
    else:
        x, x_title = list(range(1, len(points) + 1)), "point"
    fig = go.Figure(
        go.Scatter(x=x, y=points["value"], mode="lines+markers" if len(points) < 60 else "lines", name=name)
    )
    fig.update_layout(
        title=name, xaxis_title=x_title, yaxis_title=name, height=300, margin=dict(l=10, r=10, t=40, b=10)
    )
    return fig


def _preview(name: str, media_type: str, data: bytes) -> None:
    try:
        if name.endswith(".npy"):
            array = np.load(io.BytesIO(data), allow_pickle=False)
            st.caption(f"array {array.shape} {array.dtype}")
            st.dataframe(pd.DataFrame(array.reshape(array.shape[0], -1) if array.ndim > 1 else array).head(50))
        elif name.endswith(".npz"):
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                st.caption(", ".join(f"{k}: {arrays[k].shape} {arrays[k].dtype}" for k in arrays.files))
        elif name.endswith(".csv"):
            st.dataframe(pd.read_csv(io.BytesIO(data)).head(200))
        elif name.endswith(".json"):
            st.json(json.loads(data))
        elif media_type.startswith("image/"):
            st.image(data)
        elif name.endswith((".txt", ".md")):
            st.code(data.decode("utf-8", errors="replace")[:20000], language="text")
        else:
            st.caption(f"{media_type}: download to open it.")
    except (ValueError, OSError) as exc:
        st.warning(f"Could not preview {name}: {exc}")


@st.fragment(run_every=REFRESH_S)
def _job_detail(store: JobView, job_id: int, read_only: bool) -> None:
    try:
        job = store.get(job_id)
    except StoreError as exc:
        st.warning(str(exc))
        return
    # The buttons refresh with the job: one that finishes while watched gets Cancel disabled.
    _actions(store, job, read_only)
    left, right = st.columns([2, 1])
    with left:
        st.progress(
            job.progress, text=f"**{job.status}** · {job.progress:.0%}" + (f" · {job.message}" if job.message else "")
        )
    with right:
        st.caption(
            f"{job.kind} · attempts {job.attempts}/{job.max_attempts} · device {job.device or '–'} · "
            f"created {_age(job.created_at)} ago · ran {_duration(job.duration_s) or '–'}"
            + (f" · worker {job.worker_id}" if job.worker_id else "")
        )
    if job.error:
        st.error(job.message or "failed")
        st.code(job.error, language="text")
    frame = store.metrics_frame(job_id)
    if not frame.empty:
        names = list(dict.fromkeys(frame["name"]))
        columns = st.columns(min(2, len(names)))
        for i, name in enumerate(names):
            with columns[i % len(columns)]:
                st.plotly_chart(_metric_figure(frame, name), key=f"jobs_metric_{job_id}_{name}")
    elif job.status in ("queued", "running"):
        st.caption("No metric points yet.")
    artifacts = store.artifacts(job_id)
    if artifacts:
        st.markdown("**Artifacts**")
        for artifact in artifacts:
            with st.expander(f"{artifact.name} · {artifact.media_type} · {artifact.size:,} bytes"):
                # Read on click: this fragment reruns every few seconds, and eager data would read
                # every artifact (weights included) each time and leave a new media file behind.
                st.download_button("Download", lambda name=artifact.name: store.read_artifact(job_id, name),
                                   file_name=artifact.name, mime=artifact.media_type,
                                   key=f"jobs_download_{job_id}_{artifact.name}", on_click="ignore")
                if artifact.size > PREVIEW_MAX_BYTES:
                    st.caption("Too large to preview; download it.")
                else:
                    _preview(artifact.name, artifact.media_type, store.read_artifact(job_id, artifact.name))
    with st.expander("Spec" + (" and result" if job.result else "")):
        st.json(job.spec)
        if job.result:
            st.json(job.result)


def _actions(store: JobView, job: Job, read_only: bool) -> None:
    if read_only or not store.user.can_submit:
        return
    job_id = job.id
    cancel, retry, clone, _ = st.columns([1, 1, 1, 4])
    if cancel.button("Cancel", disabled=job.finished, key="jobs_cancel", help="stop this job"):
        try:
            store.cancel(job_id)
        except (StoreError, *USER_ERRORS) as exc:
            st.warning(str(exc))
        else:
            st.rerun()  # redraw the buttons for the new state
    if retry.button(
        "Retry", disabled=not job.finished, key="jobs_retry", help="queue the same spec again as a new job"
    ):
        try:
            new_id = store.retry(job_id)
            st.session_state["jobs_selected_next"] = new_id
            st.rerun()
        except (StoreError, *USER_ERRORS) as exc:
            st.warning(str(exc))
    if clone.button("Clone", key="jobs_clone_button", help="copy this job's spec into the submit form"):
        st.session_state["jobs_clone"] = {"kind": job.kind, "spec": job.spec, "from": job.id}
        st.rerun()


# ------------------------------------------------------------------------------------------ workers


def _workers(store: JobView) -> None:
    lease_s = get_settings().worker_lease_s
    workers = store.workers()
    alive = [w for w in workers if w.alive(lease_s)]
    if not alive:
        st.warning("No worker is running, so queued jobs wait. Start one with `explorer worker` "
                   "(`scripts/run.sh` and `explorer serve` start one with the app).")
    if workers:
        st.dataframe(
            pd.DataFrame({
                "worker": [w.id for w in workers], "host": [w.host for w in workers],
                "devices": [", ".join(w.devices) for w in workers], "slots": [w.slots for w in workers],
                "executor": [w.executor for w in workers],
                "last heartbeat": [_age(w.heartbeat_at) + " ago" for w in workers],
                "alive": [w.alive(lease_s) for w in workers],
            }),
            hide_index=True, width="stretch",
        )


# ------------------------------------------------------------------------------------------ page

page_header("Jobs", HELP)
settings = get_settings()
store = session_jobs()

if settings.read_only:
    st.info("Read-only mode (EXPLORER_READ_ONLY=1): jobs can be browsed, not submitted, cancelled or retried.")
elif not store.user.can_submit:
    st.info(SIGN_IN_NOTE)
else:
    _submit_section(store)

st.subheader("Queue")
filter_status, filter_kind, filter_limit = st.columns([2, 2, 1])
statuses = filter_status.multiselect("Status", JOB_STATUSES, key="jobs_filter_status")
kinds_shown = filter_kind.multiselect("Kind", sorted(load_kinds()), key="jobs_filter_kind")
limit = filter_limit.number_input("Show", min_value=10, max_value=2000, value=100, step=50, key="jobs_filter_limit")
_jobs_table(store, statuses, kinds_shown, int(limit))

listed = store.list(status=statuses or None, kind=kinds_shown or None, limit=int(limit))
if "jobs_selected_next" in st.session_state:
    st.session_state["jobs_selected"] = st.session_state.pop("jobs_selected_next")
selected = st.session_state.get("jobs_selected")
if selected is not None and selected not in {j.id for j in listed}:
    try:
        listed.insert(0, store.get(selected))
    except StoreError as exc:  # gone, or someone else's: say so as if it never existed
        st.warning(str(exc))
        st.session_state.pop("jobs_selected")
if listed:
    st.subheader("Job")
    job_labels = store.labels(listed)
    job_id = st.selectbox("Job", list(job_labels), key="jobs_selected", format_func=job_labels.get,
                          label_visibility="collapsed")
    _job_detail(store, job_id, settings.read_only)

st.subheader("Workers")
_workers(store)
