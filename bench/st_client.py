"""A Streamlit session without a browser: speaks the websocket protocol (``streamlit.proto``'s
BackMsg / ForwardMsg) from plain asyncio, so one process can simulate many users.

What it does the way the browser does (checked against Chromium by ``bench/ws_verify.py``):

- opens ``/_stcore/stream`` with the ``streamlit`` subprotocol and sends the first ``rerun_script``
  with the page's query string and path, no widget states;
- keeps every widget of the latest run (id from the deltas, value from the element's default) and
  sends them all with each rerun, so callbacks fire exactly when a user's change would fire them;
- resends a run's ``cached_message_hashes`` and resolves ``ref_hash`` messages from its own cache;
- echoes the streamlit-flow canvas's state once it is drawn with new nodes or edges, as the React
  component does after it mounts or applies Python's state (``{nodes, edges, selectedId, timestamp}``);
- reruns ``st.fragment(run_every=...)`` fragments on their interval (the server's ``auto_rerun``).

What it does not do: render, lay out, run Plotly or fetch media; those cost the browser, not the
server. Widget ids change whenever a widget's key changes (the editor keys by revision,
``ui.state.wkey``), so always look a widget up again after a run (``widget``).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
CANVAS = "streamlit_flow"  # the one component whose echo reruns the page


@dataclass
class Widget:
    id: str
    kind: str  # the element type: "selectbox", "slider", …
    proto: Any

    @property
    def key(self) -> str:
        """The user key part of the id (``$$ID-<hash>-<key>``), or "" for an unkeyed widget."""
        parts = self.id.split("-", 2)
        return parts[2] if len(parts) == 3 and parts[2] != "None" else ""

    @property
    def label(self) -> str:
        return getattr(self.proto, "label", "")


@dataclass
class RunStats:
    """One script run the server made for this session."""

    sent_at: float  # when the BackMsg that caused it was sent (perf_counter)
    finished_at: float = 0.0
    status: int = -1
    deltas: int = 0
    messages: int = 0
    fragment: str = ""
    cause: str = ""  # "action", "echo", "auto", "open"

    @property
    def ms(self) -> float:
        return (self.finished_at - self.sent_at) * 1000


@dataclass
class Session:
    """One simulated user on one tab. ``base`` is the app's URL (any host: a proxy works too)."""

    base: str
    path: str = ""  # page url path ("" = the default page, "browse", "jobs", …)
    query: str = ""
    echo_canvas: bool = True
    follow_auto_rerun: bool = True
    timeout_s: float = 120.0
    ws: Any = None
    page_hash: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)
    values: dict[str, WidgetState] = field(default_factory=dict)
    runs: list[RunStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elements: dict[str, int] = field(default_factory=dict)  # element type → count in the latest full run
    _cache: dict[str, ForwardMsg] = field(default_factory=dict)
    _pending: list[RunStats] = field(default_factory=list)  # sent, not finished
    _run_widgets: dict[str, Widget] = field(default_factory=dict)
    _run_elements: dict[str, int] = field(default_factory=dict)
    _echoed: dict[str, str] = field(default_factory=dict)  # canvas widget id → args it echoed
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task | None = None
    _timers: dict[str, asyncio.Task] = field(default_factory=dict)

    # --- connection ------------------------------------------------------------------------------

    async def open(self) -> RunStats:
        """Connect and run the page as a browser opening ``base/path?query`` does; returns the
        first run (its echo, if any, is waited for too)."""
        u = urlparse(self.base)
        scheme = "wss" if u.scheme == "https" else "ws"
        self.ws = await websockets.connect(f"{scheme}://{u.netloc}{u.path.rstrip('/')}/_stcore/stream",
                                           subprotocols=["streamlit"], max_size=None,
                                           open_timeout=self.timeout_s, ping_interval=None)
        self._reader = asyncio.create_task(self._read())
        first = await self._send(cause="open")
        await self.settle()
        return first

    async def close(self) -> None:
        for t in self._timers.values():
            t.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # --- actions ---------------------------------------------------------------------------------

    def widget(self, key: str | None = None, *, label: str | None = None, kind: str | None = None) -> Widget:
        """The widget of the latest run whose key ends with ``key`` (revision suffixes like ``@3``
        ignored) or whose label is ``label``."""
        for w in self.widgets.values():
            if kind and w.kind != kind:
                continue
            if key is not None and w.key.split("@")[0] == key:
                return w
            if label is not None and w.label == label:
                return w
        raise KeyError(f"no widget {key or label!r} in the latest run; have "
                       f"{sorted(w.key or w.label for w in self.widgets.values())}")

    async def set(self, w: Widget, value: Any) -> RunStats:
        """Change a widget as a user does and wait for the run it starts (plus any canvas echo)."""
        self.values[w.id] = _state(w, value)
        run = await self._send(cause="action")
        await self.settle()
        return run

    async def settle(self) -> None:
        """Wait until no run is pending (a canvas echo sent after a run counts as pending)."""
        await asyncio.wait_for(self._wait_idle(), self.timeout_s)

    async def _wait_idle(self) -> None:
        while self._pending:
            self._idle.clear()
            await self._idle.wait()

    # --- protocol --------------------------------------------------------------------------------

    async def _send(self, cause: str, fragment: str = "") -> RunStats:
        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = self.query
        rs.page_script_hash = self.page_hash
        rs.page_name = "" if self.page_hash else self.path
        rs.fragment_id = fragment
        rs.is_auto_rerun = cause == "auto"
        rs.widget_states.widgets.extend(self.values[i] for i in self.widgets if i in self.values)
        rs.cached_message_hashes.extend(self._cache)
        ctx = rs.context_info
        ctx.timezone, ctx.timezone_offset, ctx.locale = "UTC", 0, "en-US"
        ctx.url, ctx.is_embedded, ctx.color_scheme = f"{self.base.rstrip('/')}/{self.path}", False, "light"
        run = RunStats(sent_at=time.perf_counter(), fragment=fragment, cause=cause)
        self._pending.append(run)
        self.runs.append(run)
        await self.ws.send(msg.SerializeToString())
        return run

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                fm = ForwardMsg()
                fm.ParseFromString(raw)
                if fm.WhichOneof("type") == "ref_hash":
                    cached = self._cache.get(fm.ref_hash)
                    if cached is None:
                        self.errors.append(f"ref_hash {fm.ref_hash} not in the client cache")
                        continue
                    meta = fm.metadata
                    fm = ForwardMsg()
                    fm.CopyFrom(cached)
                    fm.metadata.CopyFrom(meta)
                elif fm.metadata.cacheable and fm.hash:
                    self._cache[fm.hash] = fm
                await self._handle(fm)
        except websockets.ConnectionClosed as exc:
            if exc.rcvd is None or exc.rcvd.code != 1000:
                self.errors.append(f"websocket closed: {exc}")
        finally:
            for run in self._pending:
                run.status = -2
            self._pending.clear()
            self._idle.set()

    async def _handle(self, fm: ForwardMsg) -> None:
        kind = fm.WhichOneof("type")
        run = self._pending[0] if self._pending else None
        if run is not None:
            run.messages += 1
        if kind == "new_session":
            self._run_widgets, self._run_elements = {}, {}
        elif kind == "navigation":  # the page this run shows (new_session names the main script)
            self.page_hash = fm.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query = fm.page_info_changed.query_string
        elif kind == "delta":
            if run is not None:
                run.deltas += 1
            if fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                self._run_elements[etype] = self._run_elements.get(etype, 0) + 1
                proto = getattr(el, etype)
                if getattr(proto, "id", "").startswith("$$ID-"):
                    self._run_widgets[proto.id] = Widget(proto.id, etype, proto)
                    if etype == "exception":
                        self.errors.append(f"exception on the page: {proto.message[:200]}")
                elif etype == "exception":
                    self.errors.append(f"exception on the page: {proto.type}: {proto.message[:200]}")
                elif etype == "alert" and proto.format == proto.ERROR:
                    self.errors.append(f"error alert: {proto.body[:200]}")
        elif kind == "auto_rerun" and self.follow_auto_rerun:
            frag = fm.auto_rerun.fragment_id
            if frag not in self._timers:
                self._timers[frag] = asyncio.create_task(self._auto(frag, fm.auto_rerun.interval))
        elif kind == "script_finished":
            if run is None:
                return
            run.status, run.finished_at = fm.script_finished, time.perf_counter()
            if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                # Interrupted by our next rerun_script (that run replaces it), or ended by the script
                # itself (st.rerun, st.switch_page): the server starts the next run unasked and it
                # still answers this message.
                if len(self._pending) > 1:
                    self._pending.pop(0)
                return
            self._pending.pop(0)
            if fm.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                self.widgets, self.elements = self._run_widgets, self._run_elements
                self.values = {i: self.values.get(i) or _default(w) for i, w in self.widgets.items()}
                self.values = {i: v for i, v in self.values.items() if v is not None}
            elif fm.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.widgets.update(self._run_widgets)
                for i, w in self._run_widgets.items():
                    if i not in self.values and (d := _default(w)) is not None:
                        self.values[i] = d
            else:
                self.errors.append(f"script finished with status {fm.script_finished}")
            if self.echo_canvas and fm.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                await self._echo()
            self._idle.set()

    async def _echo(self) -> None:
        """The canvas component reports its state after it mounts or takes new nodes/edges."""
        for w in self.widgets.values():
            if w.kind != "component_instance" or not w.proto.component_name.endswith(CANVAS):
                continue
            args = json.loads(w.proto.json_args)
            drawn = json.dumps([args.get("nodes"), args.get("edges")], sort_keys=True)
            if self._echoed.get(w.id) == drawn:
                continue
            self._echoed[w.id] = drawn
            value = {"nodes": args["nodes"], "edges": args["edges"], "selectedId": None,
                     "timestamp": int(time.time() * 1000)}
            self.values[w.id] = _state(w, value)
            await self._send(cause="echo")

    async def _auto(self, fragment: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if not self._pending:  # the browser skips a tick while a run is in flight
                await self._send(cause="auto", fragment=fragment)


def _default(w: Widget) -> WidgetState | None:
    """The value the frontend reports for a widget nobody has touched (None: it reports none)."""
    p, s = w.proto, WidgetState(id=w.id)
    if w.kind in ("selectbox", "radio"):
        if w.kind == "selectbox" and not p.HasField("default"):
            return s  # no selection: the id with no value, as the browser sends it
        if p.HasField("raw_value"):
            s.string_value = p.raw_value
        elif p.options:
            s.string_value = p.options[p.default]
        else:
            return None
        return s
    if w.kind in ("checkbox",):
        s.bool_value = p.default
    elif w.kind == "text_area" or w.kind == "text_input":
        s.string_value = p.default
    elif w.kind == "number_input":
        if p.data_type == p.INT:
            s.int_value = int(p.default)
        else:
            s.double_value = p.default
    elif w.kind == "slider" and p.type == p.SELECT_SLIDER:  # formatted options, not indices
        s.string_array_value.data.extend(p.options[int(i)] for i in p.default)
    elif w.kind == "slider":
        s.double_array_value.data.extend(p.default)
    elif w.kind == "multiselect":
        s.string_array_value.data.extend(p.default_values if hasattr(p, "default_values") else [])
    elif w.kind == "file_uploader":
        s.file_uploader_state_value.SetInParent()
    else:  # buttons (trigger only on click), components (report when they mount), tabs, …
        return None
    return s


def _state(w: Widget, value: Any) -> WidgetState:
    s = WidgetState(id=w.id)
    if w.kind == "component_instance":
        s.json_value = json.dumps(value)
    elif w.kind in ("button", "download_button"):
        s.trigger_value = True
    elif w.kind in ("selectbox", "radio", "text_area", "text_input"):
        if value is not None:
            s.string_value = value
    elif w.kind == "checkbox":
        s.bool_value = bool(value)
    elif w.kind == "slider" and w.proto.type == w.proto.SELECT_SLIDER:
        s.string_array_value.data.extend(value if isinstance(value, (list, tuple)) else [value])
    elif w.kind == "slider":
        s.double_array_value.data.extend(value if isinstance(value, (list, tuple)) else [value])
    elif w.kind == "number_input":
        if w.proto.data_type == w.proto.INT:
            s.int_value = int(value)
        else:
            s.double_value = float(value)
    elif w.kind == "multiselect":
        s.string_array_value.data.extend(value)
    else:
        raise ValueError(f"cannot set a {w.kind}")
    return s
