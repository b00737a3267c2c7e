"""Cell editor: pick or draw a cell and see its connectivity live.

A thin view: every number comes from ``explorer`` (metrics, nngp, spaces, variants, teaching,
figures); the cell lives in ``st.session_state["cell"]`` and the URL (``ui.state``).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from explorer.cell.model import Cell, parse_cell
from explorer.cell.naming import preset_name
from explorer.cell.ops import DARTS_OPS, EDGE_OPS, NB201_OPS
from explorer.cell.presets import PRESETS, TOUR, get_preset
from explorer.cell.spaces import ENUMERABLE, SPACES
from explorer.core.errors import CellError
from explorer.core.settings import get_settings
from explorer.figures.cells import (
    K0_GRID,
    Mark,
    NamedCurves,
    nngp_figure,
    pyvis_html,
    space_scatter,
)
from explorer.nets import cell_parameter_count, network_kind
from explorer.theory.curves import kernel_curves
from explorer.theory.metrics import DEFAULT_K0, metrics
from explorer.theory.paths import list_paths
from explorer.theory.spaces import space_box
from explorer.theory.teaching import claims, depth_width_formulas, path_counting
from explorer.theory.variants import MODES, adapt, random_variants, variant_table
from ui.canvas import canvas_edit, default_op, show_canvas
from ui.common import fmt, page_header, teaching
from ui.evidence import evidence_panel
from ui.state import (
    add_to_compare,
    current_cell,
    editor_space,
    is_current,
    load_cell,
    rev,
    set_cell,
    set_space,
    sync_url,
    wkey,
)
from ui.views import cached_graph_figure, cached_space_points

HELP = """
A **cell** is a small directed acyclic graph: nodes are feature maps, edges carry operations.
Pick a search space and a preset, paste a cell, or draw one; every number below updates on each edit.

- **P** is the number of input → output paths through edges that exist (`none` edges are absent).
- **d̄ (effective depth)** is the mean number of parameterized ops (convolutions, linear layers) per
  path; **m̄ (effective width)** is the number of paths with at least one parameterized op divided by
  d̄ (Chen et al., NeurIPS 2022, Def. 4.1). Both are undefined when no path has a parameterized op.
- **Width / depth (Shu et al., ICLR 2020)**: depth is the longest input → output path in edges;
  width sums, over intermediate nodes, the share of their inputs that come from the cell's inputs.
- **Canvas**: drag from a node's right handle to another node's left handle to add an edge;
  right-click an edge to delete it or edit its op (the label must name an op); right-click the
  background to add a node (type `input` to add an input node); drag nodes to tidy up; scroll to
  zoom and drag the background to pan.
  In an NB201 cell a deleted edge becomes `none`.
- **Edge ops** (right of the canvas) edits the same cell with plain selects; both stay in step.
- The URL holds the cell, so a link reproduces this view. Turn on **Teach** in the sidebar for the
  formulas with this cell's numbers.
"""

NB201_EDGES = [(i, j) for j in range(1, 4) for i in range(j)]
MAX_TABLE_EDGES = 80  # the free-DAG table lists at most this many edges (bigger cells: paste JSON)
MAX_PATH_ROWS = 200


# --- transitions: widget callbacks (they run before the script, so everything below sees them) -----
# Each takes the revision its widget was drawn for (ui.state.wkey) and does nothing when the state
# has moved on since: a value drawn for an older cell (a second quick click, a select still showing
# the previous cell) must not be applied to the current one.


def _error(where: str, message: str) -> None:
    st.session_state.setdefault("_errors", {})[where] = message


def _clear_error(where: str) -> None:
    st.session_state.setdefault("_errors", {}).pop(where, None)


def _apply(drawn: int, make: Callable[[], Cell], where: str, *, load: bool = False) -> None:
    """Run an edit of the cell drawn at revision ``drawn``; a ``CellError`` is shown next to the
    input it came from and the cell is kept. ``load`` opens the result in its own space."""
    if not is_current(drawn):
        return
    try:
        cell = make()
    except CellError as exc:
        _error(where, str(exc))
        return
    _clear_error(where)
    (load_cell if load else set_cell)(cell)


def _value(key: str):
    return st.session_state.get(key)


def _on_space(drawn: int, key: str) -> None:
    if is_current(drawn) and _value(key) in SPACES:
        set_space(_value(key))


def _on_preset(drawn: int, key: str) -> None:
    if is_current(drawn) and (name := _value(key)):
        load_cell(get_preset(name).cell)
        st.session_state["tour_step"] = None


def _on_paste(drawn: int) -> None:
    _apply(drawn, lambda: parse_cell(st.session_state.get("paste", "")), "paste", load=True)


def _on_upload(drawn: int) -> None:
    upload = st.session_state.get("upload")
    if upload is not None:
        _apply(drawn, lambda: parse_cell(upload.getvalue()), "upload", load=True)


def _on_op(drawn: int, k: int, key: str) -> None:
    """Edge ``k`` of the drawn cell takes the op chosen in the select ``key`` (NB201 and free DAG)."""
    _apply(drawn, lambda: st.session_state["cell"].with_op(k, _value(key)), "table")


def _on_darts(drawn: int, n_mid: int) -> None:
    s = st.session_state

    def rewired() -> Cell:
        pairs = [(s[wkey(f"darts_op_{k}_{j}")], s[wkey(f"darts_in_{k}_{j}")])
                 for k in range(2, 2 + n_mid) for j in range(2)]
        return Cell.from_genotype_pairs(pairs, sorted(s[wkey("darts_concat")]))

    _apply(drawn, rewired, "table")


def _on_dag_remove_edge(drawn: int, k: int) -> None:
    _apply(drawn, lambda: st.session_state["cell"].remove_edge(k), "table")


def _on_dag_add_edge(drawn: int) -> None:
    s = st.session_state
    _apply(drawn, lambda: s["cell"].add_edge(int(s[wkey("dag_new_src")]), int(s[wkey("dag_new_dst")]),
                                             s[wkey("dag_new_op")]), "table")


def _on_dag_add_node(drawn: int, role: str) -> None:
    _apply(drawn, lambda: st.session_state["cell"].add_node(role), "table")


def _on_dag_remove_node(drawn: int) -> None:
    _apply(drawn, lambda: st.session_state["cell"].remove_node(int(_value(wkey("dag_rm_node")))), "table")


def _on_open(drawn: int, cell: Cell) -> None:
    _apply(drawn, lambda: cell, "table", load=True)


def _on_tour(step: int | None) -> None:
    # Tour buttons name their step, not an edit of the drawn cell: never stale.
    st.session_state["tour_step"] = step
    if step is not None:
        load_cell(get_preset(TOUR[step]).cell)


def _on_compare(drawn: int) -> None:
    if is_current(drawn):
        st.session_state["_compare_msg"] = add_to_compare(st.session_state["cell"])


def _remember(key: str) -> None:
    """Copy a widget's value to a plain session key: lazy tabs drop the widgets they do not draw."""
    st.session_state[key.removeprefix("w_")] = st.session_state[key]


# --- page: the state is settled first (link, back/forward, canvas edit), then everything is drawn
# from it in one pass ------------------------------------------------------------------------------

cell = current_cell()
# An edit drawn on the canvas arrives with this run (the component has no callback): apply it
# before anything is drawn, so the metrics, the table, the URL and the sidebar all show it.
edit = canvas_edit(cell)
if edit is not None and edit.changed:
    set_cell(edit.cell)
    cell = edit.cell
sync_url()
canvas_notes = edit.messages if edit is not None else []
space = editor_space()
drawn = rev()

page_header("Cell editor", HELP)
if msg := st.session_state.pop("cell_error", None):
    st.error(msg)
errors = st.session_state.setdefault("_errors", {})

# Containers in page order, filled in script order: the metrics go out first so an edit shows
# its new numbers before the rest of the page is rebuilt.
load_box = st.container(border=True)
tour_box = st.container()
k0 = float(st.session_state.get("k0", DEFAULT_K0))
m = metrics(cell, k0)
box_space = space if space != "dag" else None
inside = None
if box_space and m.effective_depth is not None:
    inside = bool(space_box(box_space).contains(m.effective_depth, m.effective_width))

with st.container():
    cols = st.columns(7)
    cols[0].metric("Paths P", f"{m.paths:,}")
    cols[1].metric("Effective depth d̄", fmt(m.effective_depth))
    cols[2].metric("Effective width m̄", fmt(m.effective_width))
    cols[3].metric("Cell width (Shu)", f"{m.cell_width:g}c")
    cols[4].metric("Cell depth (Shu)", "—" if m.cell_depth is None else m.cell_depth)
    channels = int(st.session_state.get("channels", 16))
    try:
        params, params_help = f"{cell_parameter_count(cell, channels):,}", (
            f"One cell's edge ops realised as a {network_kind(cell)} cell with {channels} channels (MLP: "
            "width); change the width under Graph & downloads.")
    except CellError as exc:  # e.g. a DARTS-shaped cell with an op DARTS networks lack (found by the fuzz test)
        params, params_help = "—", f"No network for this cell: {exc}"
    cols[5].metric(f"Params (C = {channels})", params, help=params_help)
    if box_space is None:
        cols[6].metric("In d̄/m̄ box", "—", help="A free DAG has no search-space box; pick a space.")
    else:
        cols[6].metric(f"In {box_space} box", "undefined" if inside is None else ("yes" if inside else "no"),
                       help="Inside the central half (f = ½) of the space's d̄/m̄ box (Chen et al. Sec. 5.3).")
    if m.undefined_reason:
        st.info(f"d̄ and m̄ are {m.undefined_reason}")
    for w in m.warnings:
        st.warning(w)
    c_msg, c_btn = st.columns([5, 1])
    c_btn.button("Send to Compare ⚖️", key=wkey("compare"), on_click=_on_compare, args=(drawn,), width="stretch")
    if msg := st.session_state.pop("_compare_msg", None):
        c_msg.success(msg)

# --- the edge-op table: every widget shows the cell (index=...) under a key of this revision ---

def _table_nb201() -> None:
    grid = st.columns(2)
    for n, (i, j) in enumerate(NB201_EDGES):
        k = next(k for k, e in enumerate(cell.edges) if (e.src, e.dst) == (i, j))
        key = wkey(f"nb201_op_{i}{j}")
        ops = list(dict.fromkeys([*NB201_OPS, cell.edges[k].op]))  # an NB201-shaped cell may use other ops
        grid[n % 2].selectbox(f"{i} → {j}", ops, index=ops.index(cell.edges[k].op), key=key,
                              on_change=_on_op, args=(drawn, k, key))


def _table_darts() -> None:
    n_mid = len(cell.intermediates)
    pool = list(DARTS_OPS) + sorted({e.op for e in cell.edges if e.op not in DARTS_OPS and e.op != "concat"})
    pairs, concat = cell.to_genotype_pairs()
    for k in range(2, 2 + n_mid):
        st.markdown(f"**node {k}**")
        for j in range(2):
            op, src = pairs[2 * (k - 2) + j]
            # The input select gets a column wide enough for "from 5" (it was cut off at 1.1 of 4.2).
            c_in, c_op = st.columns([1.3, 2.2], vertical_alignment="center")
            c_in.selectbox(f"input {j + 1} of node {k}", list(range(k)), index=src, key=wkey(f"darts_in_{k}_{j}"),
                           on_change=_on_darts, args=(drawn, n_mid), format_func=lambda v: f"from {v}",
                           label_visibility="collapsed")
            c_op.selectbox(f"op {j + 1} of node {k}", pool, index=pool.index(op), key=wkey(f"darts_op_{k}_{j}"),
                           on_change=_on_darts, args=(drawn, n_mid), label_visibility="collapsed")
    st.multiselect("The output concatenates", list(range(2, 2 + n_mid)), default=concat, key=wkey("darts_concat"),
                   on_change=_on_darts, args=(drawn, n_mid))


def _table_dag() -> None:
    if len(cell.edges) > MAX_TABLE_EDGES:
        st.info(f"This cell has {len(cell.edges)} edges; the table lists the first {MAX_TABLE_EDGES}. "
                "Edit bigger cells as JSON (download, edit, upload).")
    for k, e in enumerate(cell.edges[:MAX_TABLE_EDGES]):
        c1, c2, c3 = st.columns([1, 3, 0.6], vertical_alignment="center")
        c1.markdown(f"`{e.src} → {e.dst}`")
        options = list(EDGE_OPS) if e.op != "concat" else ["concat"]
        key = wkey(f"dag_op_{k}")
        c2.selectbox(f"op of edge {k}", options, index=options.index(e.op), key=key, on_change=_on_op,
                     args=(drawn, k, key), label_visibility="collapsed")
        c3.button("✕", key=wkey(f"dag_rm_{k}"), on_click=_on_dag_remove_edge, args=(drawn, k),
                  help=f"remove edge {e.src} → {e.dst}")
    with st.container(border=True):
        st.markdown("**Add an edge**")
        c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
        nodes = list(range(cell.n_nodes))
        c1.selectbox("from", [v for v in nodes if v != cell.output], key=wkey("dag_new_src"))
        c2.selectbox("to", [v for v in nodes if cell.roles[v] != "input"], key=wkey("dag_new_dst"))
        c3.selectbox("op", EDGE_OPS, index=EDGE_OPS.index(default_op(cell)), key=wkey("dag_new_op"))
        st.button("Add edge", key=wkey("dag_add_edge"), on_click=_on_dag_add_edge, args=(drawn,), width="stretch")
    with st.container(border=True):
        st.markdown("**Nodes**")
        c1, c2 = st.columns(2)
        c1.button("+ intermediate node", key=wkey("dag_add_mid"), on_click=_on_dag_add_node,
                  args=(drawn, "intermediate"), width="stretch")
        c2.button("+ input node", key=wkey("dag_add_in"), on_click=_on_dag_add_node, args=(drawn, "input"),
                  width="stretch")
        c1, c2 = st.columns(2, vertical_alignment="bottom")
        c1.selectbox("node to remove", [v for v in range(cell.n_nodes) if v != cell.output], key=wkey("dag_rm_node"))
        c2.button("Remove node", key=wkey("dag_rm_node_btn"), on_click=_on_dag_remove_node, args=(drawn,),
                  width="stretch")


with load_box:
    c_space, c_preset, c_paste = st.columns([1, 1.2, 1.3])
    with c_space:
        st.selectbox("Search space", list(SPACES), index=list(SPACES).index(space),
                     format_func=lambda name: SPACES[name].label,
                     key=wkey("space"), on_change=_on_space, args=(drawn, wkey("space")))
        if space == "dag":
            st.caption(SPACES["dag"].description)
        if note := st.session_state.pop("_space_note", None):
            st.info(note)
    with c_preset:
        names = [p.name for p in PRESETS]
        preset = preset_name(cell)  # the box shows the preset the cell is, whichever way it got here
        st.selectbox("Preset", names, index=None if preset is None else names.index(preset), key=wkey("preset"),
                     on_change=_on_preset, args=(drawn, wkey("preset")), placeholder="Pick a preset…")
        if preset is not None:
            p = get_preset(preset)
            st.caption(f"{p.description}  \n**Source:** {p.source}")
    with c_paste:
        with st.expander("Paste or upload a cell", expanded="paste" in errors or "upload" in errors):
            st.text_area("NB201 arch string, DARTS genotype, or cell JSON", key="paste", height=68,
                         placeholder="|nor_conv_3x3~0|+|none~0|skip_connect~1|+|…")
            st.button("Load pasted cell", on_click=_on_paste, args=(drawn,))
            if "paste" in errors:
                st.error(errors["paste"], icon="⚠️")
            # A cell is at most 100,000 characters, so 1 MB is ample; the server's limit may be lower.
            st.file_uploader("…or a cell JSON file (as downloaded under Graph & downloads)", type=["json"],
                             key="upload", on_change=_on_upload, args=(drawn,),
                             max_upload_size=min(1, get_settings().max_upload_mb))
            if "upload" in errors:
                st.error(errors["upload"], icon="⚠️")
        if st.session_state.get("tour_step") is None:
            st.button("▶ Guided tour", on_click=_on_tour, args=(0,), help=" → ".join(TOUR))

step = st.session_state.get("tour_step")
if step is not None:
    with tour_box:
        p = get_preset(TOUR[step])
        with st.container(border=True):
            st.markdown(f"**Guided tour, {step + 1} of {len(TOUR)}: {p.name}.** {p.description}  \n"
                        f"*Source: {p.source}*")
            b1, b2, b3, _ = st.columns([1, 1, 1, 5])
            b1.button("◀ Back", on_click=_on_tour, args=(step - 1,), disabled=step == 0)
            b2.button("Next ▶", on_click=_on_tour, args=(step + 1,), disabled=step == len(TOUR) - 1)
            b3.button("End tour", on_click=_on_tour, args=(None,))

left, right = st.columns([3, 2], gap="medium")
with right:  # before the canvas in script order: the page's native parts arrive first
    st.subheader("Edge ops")
    if space == "nb201":
        _table_nb201()
    elif space in ("darts4", "darts5"):
        _table_darts()
    else:
        _table_dag()
    if "table" in errors:
        st.error(errors["table"], icon="⚠️")
with left:
    st.subheader("Draw")
    for note in canvas_notes:
        st.warning(note)
    # Not a fragment: a fragment run racing a page run (a tab click right after an edit) rolled the
    # cell back and logged "Multiple different fragmentIds"; the canvas's echo now costs a page run.
    show_canvas(cell)

# What the benchmarks know about this cell (results, ranks, the edit map): ui.evidence draws it.
evidence_panel(cell, drawn)

if teaching():
    with st.container(border=True):
        st.markdown("#### How these numbers come about")
        t1, t2 = st.columns(2)
        with t1:
            st.markdown(depth_width_formulas(m))
        with t2:
            st.markdown(path_counting(cell))
        st.markdown("**What the papers claim**")
        for c in claims(cell, m, inside, box_space):
            st.markdown(f"- {c.text} *({c.source})*")


# --- analysis tabs ---

# Lazy tabs: only the open tab's content runs and is sent, which keeps every edit quick.
tab_graph, tab_paths, tab_nngp, tab_space, tab_variants = st.tabs(
    ["Graph & downloads", "Paths", "NNGP curves", "Search space", "Random variants"], key="editor_tab",
    on_change="rerun",
)

if tab_graph.open:
    with tab_graph:
        g1, g2 = st.columns([3, 1])
        g1.plotly_chart(cached_graph_figure(cell), key="graph_view", config={"displayModeBar": False})
        with g2:
            st.caption("Solid red: parameterized op · dashed grey: parameter-free · dotted: concat into the "
                       "output · `none` edges are not drawn (as in Chen et al.'s figures).")
            st.number_input("Channels (MLP: width) for the parameter count", min_value=1, max_value=4096,
                            value=int(st.session_state.get("channels", 16)), step=8,
                            key="w_channels", on_change=_remember, args=("w_channels",))
            st.download_button(
                "Download interactive HTML",
                data=lambda: pyvis_html(cell),
                file_name="cell.html",
                mime="text/html",
                help="A standalone vis-network page (pyvis), works offline.",
                on_click="ignore",
            )
            # Data as callables, made on click, and no rerun on click (on_click="ignore"): eager data
            # left stale media URLs after reruns (404s in bench/load.py), and a rerun on click could
            # drop the deferred file before the browser fetched it (seen in the download test).
            if cell.kind == "nb201":
                st.download_button(
                    "NB201 arch string", cell.to_nb201, file_name="cell_nb201.txt", mime="text/plain", on_click="ignore"
                )
            if cell.kind == "darts":
                st.download_button("Genotype text", lambda: cell.to_genotype().to_text(), file_name="genotype.txt",
                                   mime="text/plain", on_click="ignore")
            st.download_button(
                "Cell JSON", cell.to_json_text, file_name="cell.json", mime="application/json", on_click="ignore"
            )
            st.code(cell.to_text(), language=None, wrap_lines=True)

if tab_paths.open:
    with tab_paths:
        paths, total = list_paths(cell, MAX_PATH_ROWS)
        if total == 0:
            st.info("No path from an input to the output.")
        else:
            rows = [{"path": " → ".join([str(p[0].src), *(str(e.dst) for e in p)]),
                     "ops": " · ".join(e.op for e in p),
                     "d_p": sum(e.parameterized for e in p)} for p in paths]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(400, 38 + 35 * len(rows)))
            if total > len(rows):
                st.caption(f"Showing the first {len(rows):,} of {total:,} paths (all are counted exactly).")
            st.bar_chart(
                pd.DataFrame({"paths": m.path_histogram}, index=pd.Index(range(len(m.path_histogram)), name="d_p")),
                height=200,
                x_label="d_p (parameterized ops on the path)",
                y_label="paths",
            )

if tab_nngp.open:
    with tab_nngp:
        st.slider("Input correlation K0", -0.99, 0.99, float(st.session_state.get("k0", DEFAULT_K0)), 0.01,
                  key="w_k0", on_change=_remember, args=("w_k0",))
        curves = kernel_curves(cell, K0_GRID)
        st.plotly_chart(nngp_figure([NamedCurves("this cell", curves)], K0_GRID, k0), key="nngp_view")
        at_k0 = kernel_curves(cell, [k0])
        st.dataframe(pd.DataFrame([{"quantity": c.label, f"at K0 = {k0:g}": float(c.values[0])} for c in at_k0]),
                     hide_index=True, width="stretch")
        st.caption("Eq. 12 is Chen et al.'s upper bound on λmin from the paths alone. The two λmin curves rest "
                   "on different assumptions (see their labels): the sum rule treats branches as independent "
                   "and drops ReLU means; the exact infinite-width kernel keeps both. Where they part, the sum "
                   "rule's assumption does not hold for this cell.")

if tab_space.open:
    with tab_space:
        ref = st.selectbox("Space", ENUMERABLE, index=ENUMERABLE.index(box_space) if box_space else 0,
                           key="ref_space", format_func=lambda name: SPACES[name].label)
        box = space_box(ref)
        marks = [] if m.effective_depth is None else [Mark("this cell", m.effective_depth, m.effective_width)]
        st.plotly_chart(space_scatter(cached_space_points(ref), box, marks), key="space_view")
        st.caption(f"Box centre (d̄, m̄) = ({box.center_depth:.3g}, {box.center_width:.3g}), half-radius "
                   f"({box.radius_depth / 2:.3g}, {box.radius_width / 2:.3g}); the solid rectangle is the "
                   "central half Chen et al. keep. Colour: how many cells of the space share each point.")
        if not marks:
            st.info("This cell has no (d̄, m̄) point: " + (m.undefined_reason or ""))

if tab_variants.open:
    with tab_variants:
        v1, v2, v3 = st.columns([2, 1, 1])
        mode = v1.radio("Variants", list(MODES), format_func=MODES.get, key="variant_mode")
        count = int(v2.number_input("How many", 1, 50, 10, key="variant_count"))
        seed = int(v3.number_input("Seed", 0, 2**31 - 1, 0, key="variant_seed"))
        rows = variant_table(cell, random_variants(cell, mode, count, seed))
        adapted = adapt(cell)
        table = pd.DataFrame([{
            "cell": r.label, "width (c)": r.cell_width, "depth": r.cell_depth, "P": r.paths,
            "d̄": r.effective_depth, "m̄": r.effective_width, "text": r.cell.to_text(),
        } for r in rows])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"text": st.column_config.TextColumn(width="medium")})
        st.caption("Sorted by width, widest first, as in Shu et al.'s Table 2. Same seed, same variants.")
        o1, o2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = o1.selectbox(
            "Open a variant in the editor", [r.label for r in rows if r.label != "original"], key="variant_pick"
        )
        chosen = next((r.cell for r in rows if r.label == pick), None)
        o2.button("Open", on_click=_on_open, args=(drawn, chosen), disabled=chosen is None, key="variant_open")
        with st.container(border=True):
            a = variant_table(adapted, [])[0]
            st.markdown(
                "**Adapt**: the widest and shallowest wiring with the same ops: every intermediate node fed by "
                f"the input nodes only (Shu et al. Sec. 5). Width {a.cell_width:g}c, depth "
                f"{'—' if a.cell_depth is None else a.cell_depth}, d̄ {fmt(a.effective_depth)}, "
                f"m̄ {fmt(a.effective_width)}."
            )
            st.button(
                "Adapt this cell", on_click=_on_open, args=(drawn, adapted), disabled=adapted == cell, key="adapt"
            )
            if adapted.warnings:
                st.caption("After adapting: " + "; ".join(adapted.warnings))
