"""The drawing canvas (streamlit-flow-component, React Flow) and its mapping to and from a ``Cell``.

Nodes are ``n<id>``, edges ``e<index in cell.edges>``, each edge's label is its op. What the
canvas sends back is read as edits of the cell it was drawn from:
- an edge missing from the canvas was deleted (in an NB201 cell its op becomes ``none``, so the
  cell stays in the space);
- an edge with a new id was drawn by dragging: its op is its label when that names an op, else the
  space's default op;
- a changed label is a new op, checked against ``explorer.cell.ops.OPS``;
- a node with a new id was made with the pane menu: an intermediate node (an input node when its
  text is "input"), labelled with its text;
- a missing node was deleted (only intermediate nodes are deletable).
Anything the cell model refuses (a cycle, an unknown op) is reported and the cell is kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import streamlit as st
from streamlit_flow import streamlit_flow
from streamlit_flow.elements import StreamlitFlowEdge, StreamlitFlowNode
from streamlit_flow.state import StreamlitFlowState

from explorer.cell.layout import scaled_positions
from explorer.cell.model import Cell, Edge
from explorer.cell.ops import OPS
from explorer.core.errors import CellError

PYTHON_WINS = 2**52  # see cell_to_flow
DX, DY = 150.0, 190.0  # pixels per layer / per row (odd layers drop half a row)
_ROLE_TYPE = {"input": "input", "intermediate": "default", "output": "output"}
_ROLE_COLOR = {"input": "#e8f5e9", "intermediate": "#e3f2fd", "output": "#fff3e0"}


def default_op(cell: Cell) -> str:
    """The op a freshly drawn edge gets: the cell's most used parameterized op, else by kind."""
    used = Counter(e.op for e in cell.edges if e.parameterized)
    if used:
        return used.most_common(1)[0][0]
    return {"nb201": "nor_conv_3x3", "darts": "sep_conv_3x3"}.get(cell.kind, "linear")


def _edge_style(op: str) -> tuple[dict, dict]:
    if OPS[op].absent:
        return {"stroke": "#c8c8c8", "strokeDasharray": "2 4", "strokeWidth": 1.5}, {"fill": "#aaaaaa", "fontSize": 9}
    if OPS[op].parameterized:
        return {"stroke": "#d62728", "strokeWidth": 2.5}, {"fill": "#d62728", "fontWeight": 600}
    return {"stroke": "#555555", "strokeDasharray": "6 4", "strokeWidth": 2}, {"fill": "#333333"}


def drawn_tag(cell: Cell) -> str:
    """Which cell a canvas state was drawn from. Every node carries it and the component sends it
    back unchanged, so a value the component sent for an earlier drawing (its echo of the previous
    cell, arriving after the next one was drawn under the same key) is recognised and not read as
    an edit of the current cell: read so, it merged two cells' edges."""
    return hashlib.sha1(cell.to_text().encode()).hexdigest()[:12]


def cell_to_flow(cell: Cell, positions: dict[int, tuple[float, float]] | None = None) -> StreamlitFlowState:
    """The canvas state for ``cell``: layered staggered layout, kept positions where given."""
    layout = scaled_positions(cell, DX, DY)
    positions = positions or {}
    nodes = []
    for v in range(cell.n_nodes):
        role = cell.roles[v]
        text = cell.name(v) if role == "intermediate" else f"{cell.name(v)} · {role}"
        nodes.append(
            StreamlitFlowNode(
                f"n{v}",
                positions.get(v, layout[v]),
                {"content": text, "drawn": drawn_tag(cell)},
                node_type=_ROLE_TYPE[role],
                source_position="right",
                target_position="left",
                connectable=True,
                deletable=role == "intermediate",
                selectable=True,
                style={"background": _ROLE_COLOR[role], "width": "78px", "fontSize": "13px", "padding": "5px"},
            )
        )
    edges = []
    for k, e in enumerate(cell.edges):
        style, label_style = _edge_style(e.op)
        live = not e.absent  # `none` edges stay editable but must not hide the live edges' labels
        edges.append(StreamlitFlowEdge(
            f"e{k}", f"n{e.src}", f"n{e.dst}", edge_type="default", label=e.op, deletable=True,
            focusable=True, marker_end={"type": "arrowclosed"}, style=style, label_style=label_style,
            label_show_bg=live, label_bg_style={"fill": "white", "fillOpacity": 0.85}, z_index=1 if live else 0,
        ))
    # The component replaces what it shows with these nodes and edges whenever they change and this
    # timestamp is not older than its own last edit (ms since 1970, browser clock). A timestamp far
    # in the future makes Python's state win every time without depending on the two clocks.
    return StreamlitFlowState(nodes, edges, timestamp=PYTHON_WINS)


@dataclass
class CanvasEdit:
    cell: Cell
    changed: bool  # the canvas describes a different cell
    redraw: bool  # what the canvas shows differs from the cell (new edge's op, refused edit)
    messages: list[str] = field(default_factory=list)
    positions: dict[int, tuple[float, float]] = field(default_factory=dict)


def _index(flow_id: str, prefix: str) -> int | None:
    rest = flow_id[len(prefix):] if flow_id.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def flow_to_cell(state: StreamlitFlowState, cell: Cell) -> CanvasEdit:
    """Read what the canvas shows as edits of ``cell`` (see the module docstring)."""
    messages: list[str] = []
    redraw = False
    kept = sorted(i for n in state.nodes if (i := _index(n.id, "n")) is not None and i < cell.n_nodes)
    missing = set(range(cell.n_nodes)) - set(kept)
    undeletable = [v for v in missing if cell.roles[v] != "intermediate"]
    if undeletable:
        messages.append("input and output nodes cannot be deleted")
        redraw = True
        kept = sorted(set(kept) | set(undeletable))
    new_nodes = [n for n in state.nodes if _index(n.id, "n") is None or _index(n.id, "n") >= cell.n_nodes]
    # New ids: old nodes keep their order, new nodes go just before the output.
    roles: list[str] = []
    labels: list[str] = []
    index: dict[str, int] = {}
    position: dict[str, tuple[float, float]] = {
        n.id: (float(n.position["x"]), float(n.position["y"])) for n in state.nodes
    }
    for v in kept:
        if v == cell.output:
            continue
        index[f"n{v}"] = len(roles)
        roles.append(cell.roles[v])
        labels.append(cell.labels[v] if cell.labels else "")
    for n in new_nodes:
        text = str(n.data.get("content", "")).strip()
        index[n.id] = len(roles)
        roles.append("input" if text.lower() == "input" else "intermediate")
        labels.append("" if text.lower() in ("", "input") else text[:40])
    index[f"n{cell.output}"] = len(roles)
    roles.append("output")
    labels.append(cell.labels[cell.output] if cell.labels else "")

    def op_for(label: str, old: str | None, where: str) -> str:
        nonlocal redraw
        label = (label or "").strip()
        if label in OPS and (label != "concat" or old == "concat"):
            return label
        fallback = old or default_op(cell)
        if label:
            messages.append(f"{where}: '{label}' is not an op (valid: {', '.join(o for o in OPS if o != 'concat')}); "
                            f"kept {fallback}")
        redraw = True
        return fallback

    kept_edges: dict[int, Edge] = {}
    added: list[Edge] = []
    for fe in state.edges:
        if fe.source not in index or fe.target not in index:
            continue  # an edge of a deleted node
        src, dst = index[fe.source], index[fe.target]
        k = _index(fe.id, "e")
        if k is not None and k < len(cell.edges) and f"n{cell.edges[k].src}" == fe.source \
                and f"n{cell.edges[k].dst}" == fe.target:
            old = cell.edges[k]
            kept_edges[k] = Edge(src, dst, op_for(fe.label, old.op, f"edge {old.src}→{old.dst}"))
        else:
            added.append(Edge(src, dst, op_for(fe.label, None, f"new edge {fe.source[1:]}→{fe.target[1:]}")))
    edges: list[Edge] = []
    for k, old in enumerate(cell.edges):
        if k in kept_edges:
            edges.append(kept_edges[k])
        elif cell.kind == "nb201" and f"n{old.src}" in index and f"n{old.dst}" in index:
            # Deleting an NB201 edge sets it to none, so the cell stays an NB201 cell.
            edges.append(Edge(index[f"n{old.src}"], index[f"n{old.dst}"], "none"))
            redraw = True  # the canvas no longer shows it, even when it was `none` already (fuzz finding)
    for e in added:  # after the last edge into the same or an earlier node: keeps DARTS order
        at = max((i + 1 for i, x in enumerate(edges) if x.dst <= e.dst), default=0)
        edges.insert(at, e)
    try:
        new = Cell(tuple(roles), tuple(edges), tuple(labels) if any(labels) else None)
    except CellError as exc:
        return CanvasEdit(cell, False, True, [*messages, f"canvas edit refused: {exc}"])
    positions = {index[fid]: xy for fid, xy in position.items() if fid in index}
    changed = new != cell
    return CanvasEdit(new, changed, redraw, messages, positions)


def canvas_key(cell: Cell, generation: int) -> str:
    return "canvas_" + hashlib.sha1(f"{cell.to_text()}#{generation}".encode()).hexdigest()[:12]


def canvas_edit(cell: Cell) -> CanvasEdit | None:
    """What the canvas sent since the last run, read as an edit of ``cell`` (None: nothing new).

    Called at the top of the page, before anything is drawn, so the metrics and the table of this
    same run already show the canvas's edit. The component's last value stays in
    ``st.session_state[key]`` on every later run; it is read once (by its timestamp) and only while
    the canvas was last drawn from ``cell`` (after an edit elsewhere it is stale until the
    component echoes the new state).
    """
    store = st.session_state.setdefault("_canvas", {"generation": 0})
    key = store.get("key")
    raw = st.session_state.get(key) if key else None
    if not isinstance(raw, dict) or store.get("cell_text") != cell.to_text():
        return None
    if raw.get("timestamp") == store.get("seen") or "nodes" not in raw or "edges" not in raw:
        return None
    store["seen"] = raw.get("timestamp")
    tags = {(n.get("data") or {}).get("drawn") for n in raw["nodes"]} - {None}  # new nodes have none
    if tags != {drawn_tag(cell)}:
        # Sent for another drawing of the canvas (see drawn_tag), so not an edit. But it may be what
        # the canvas shows now: the component lays a drawing out asynchronously and, when the layout
        # of the previous cell finishes after the next cell arrived, puts the previous cell back
        # (bench/editor_fuzz.py seed 306: a table edit just after a preset). Send the current cell
        # once more; its echo carries the right tag and ends this.
        store["resend"] = store.get("resend", 0) + 1
        return None
    returned = StreamlitFlowState(
        nodes=[StreamlitFlowNode.from_dict(n) for n in raw["nodes"]],
        edges=[StreamlitFlowEdge.from_dict(e) for e in raw["edges"]],
    )
    edit = flow_to_cell(returned, cell)
    if edit.positions:
        store["positions"], store["roles"] = edit.positions, edit.cell.roles
    if not edit.changed and not edit.redraw:
        return None
    # A changed node set is renumbered in the cell, so the component's own state (its node ids) no
    # longer matches it, and the component echoes that state once more: read against the new cell,
    # one added node came back twice. Draw such a cell afresh, under a new key.
    # Draw the new cell from Python (its nodes tagged with it); a new key only when the nodes were
    # renumbered or the edit was refused, else the same key (a new key would reset the viewport).
    store["cell_text"], store["redraw"] = None, edit.redraw or edit.cell.roles != cell.roles
    return edit


def show_canvas(cell: Cell, height: int = 430) -> None:
    """Draw the canvas for ``cell``; its edits come back through ``canvas_edit`` on the next run.

    ``st.session_state["_canvas"]`` holds the key, the cell text the canvas was drawn from and the
    flow state. When the cell changed elsewhere the new state is sent under the same key (the
    component takes it, see ``cell_to_flow``); the key changes only when the nodes change or an
    edit made on the canvas was refused (the component would keep showing it otherwise).
    """
    store = st.session_state.setdefault("_canvas", {"generation": 0})
    text = cell.to_text()
    if store.get("cell_text") != text:
        # A new key remounts the component (slow: the iframe reloads). Only a changed node set or
        # a refused canvas edit needs that; an op or edge change is sent as new state instead.
        if store.get("redraw") or store.get("key_roles") != cell.roles:
            store["generation"] += 1
            store["key"] = canvas_key(cell, store["generation"])
            store["key_roles"] = cell.roles
        store["redraw"] = False
        # Dragged positions survive edits that keep the nodes; otherwise lay out afresh.
        kept = store.get("positions") if store.get("roles") == cell.roles else None
        store["state"] = cell_to_flow(cell, kept)
        store["cell_text"] = text
    # A changed timestamp makes the component apply the same nodes and edges again (see canvas_edit).
    store["state"].timestamp = PYTHON_WINS + store.get("resend", 0)
    streamlit_flow(
        # No zoom buttons: React Flow puts them over the bottom-left corner, where the input nodes
        # are (they covered one in narrow windows). Wheel zoom and background drag remain.
        store["key"], store["state"], height=height, fit_view=True, show_controls=False,
        allow_new_edges=True, enable_pane_menu=True, enable_node_menu=True, enable_edge_menu=True,
        hide_watermark=True, min_zoom=0.3,
    )
