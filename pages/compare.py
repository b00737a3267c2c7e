"""Compare: two to four cells side by side (metrics, bound curves, (d̄, m̄) points, edge diff)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.cell.diff import edge_diff
from explorer.cell.model import Cell, parse_cell
from explorer.cell.presets import PRESETS, get_preset
from explorer.cell.spaces import ENUMERABLE, SPACES, space_of
from explorer.core.errors import CellError
from explorer.figures.cells import K0_GRID, Mark, NamedCurves, graph_figure, nngp_figure, space_scatter
from explorer.theory.curves import kernel_curves
from explorer.theory.metrics import DEFAULT_K0, metrics
from explorer.theory.spaces import space_box
from explorer.theory.teaching import claims
from ui.common import fmt, page_header, teaching
from ui.evidence import evidence_summary
from ui.state import (
    MAX_COMPARE,
    add_to_compare,
    compare_cells,
    current_cell,
    load_cell,
    remove_from_compare,
)
from ui.views import cached_space_points

HELP = """
Up to four cells side by side. Send cells here with **Send to Compare** in the editor, or add a
preset or a pasted cell below. The list is in the URL (`?compare=`), so a reload or a link keeps it.

- **Metrics**: paths P, effective depth d̄ and width m̄ (Chen et al.), Shu et al.'s cell width
  and depth, and the NNGP quantities at the chosen K0.
- **Bound curves**: each cell's curves over K0 in its own colour (line style = which quantity).
- **(d̄, m̄) plane**: the cells as stars on a search space's scatter, with the space's box.
- **Edge diff**: every (from → to) edge slot and each cell's op on it; rows that differ are marked.
"""


def _add(cell: Cell) -> None:
    st.session_state["_compare_msg"] = add_to_compare(cell)


def _add_preset() -> None:
    name = st.session_state.get("cmp_preset")
    if name:
        _add(get_preset(name).cell)
    st.session_state["cmp_preset"] = None  # an empty box again: the next pick of the same preset also adds


def _add_paste() -> None:
    try:
        cell = parse_cell(st.session_state.get("cmp_paste", ""))
    except CellError as exc:
        st.session_state["_compare_error"] = str(exc)
        return
    st.session_state.pop("_compare_error", None)
    _add(cell)


page_header("Compare cells", HELP)
editor_cell = current_cell(url=True)  # reads a ?compare= link and writes the list back (ui.state)
cells = compare_cells()
if msg := st.session_state.pop("cell_error", None):
    st.error(msg)

with st.container(border=True):
    a1, a2, a3 = st.columns([1, 1.2, 1.6], vertical_alignment="bottom")
    a1.button("Add the editor's cell", on_click=_add, args=(editor_cell,))
    a2.selectbox("Preset", [p.name for p in PRESETS], index=None, key="cmp_preset", placeholder="Add a preset…",
                 on_change=_add_preset)
    with a3:
        st.text_input("Paste a cell (NB201 string, genotype, JSON)", key="cmp_paste", on_change=_add_paste)
    if err := st.session_state.get("_compare_error"):
        st.error(err, icon="⚠️")
    if msg := st.session_state.pop("_compare_msg", None):
        st.success(msg)

if len(cells) < 2:
    st.info(f"{len(cells)} cell(s) here: add at least two to compare (at most {MAX_COMPARE}).")

if cells:
    k0 = st.slider("Input correlation K0", -0.99, 0.99, DEFAULT_K0, 0.01, key="cmp_k0")
    ms = [metrics(c, k0) for _, c in cells]
    names = [f"{i + 1}. {n}" for i, (n, _) in enumerate(cells)]

    cols = st.columns(len(cells))
    for i, (col, (_name, cell)) in enumerate(zip(cols, cells, strict=True)):
        with col, st.container(border=True):
            st.markdown(f"**{names[i]}**  \n`{cell.kind}`, {cell.n_nodes} nodes, {len(cell.live_edges)} live edges")
            st.plotly_chart(graph_figure(cell, height=240), key=f"cmp_graph_{i}", config={"displayModeBar": False})
            b1, b2 = st.columns(2)
            if b1.button("Open in editor", key=f"cmp_open_{i}", width="stretch"):
                load_cell(cell)
                st.switch_page("pages/editor.py")
            # Buttons name their cell, not its position: a click drawn for an older list removes
            # the cell it showed, or nothing.
            b2.button("Remove", key=f"cmp_rm_{i}", on_click=remove_from_compare, args=(cell,), width="stretch")

    st.subheader("Benchmark evidence")
    for i, (col, (_name, cell)) in enumerate(zip(st.columns(len(cells)), cells, strict=True)):
        with col, st.container(border=True):
            st.markdown(f"**{names[i]}**")
            evidence_summary(cell, key=f"cmp_ev_{i}")

    st.subheader("Metrics")
    table = pd.DataFrame(
        {
            names[i]: {
                "paths P": f"{m.paths:,}",
                "effective depth d̄": fmt(m.effective_depth),
                "effective width m̄": fmt(m.effective_width),
                "cell width (Shu)": f"{m.cell_width:g}c",
                "cell depth (Shu)": "—" if m.cell_depth is None else str(m.cell_depth),
                "parameterized ops": str(m.n_parameterized_ops),
                f"Eq. 12 bound at K0 = {k0:g}": f"{m.nngp_eq12:.4g}",
                f"λmin sum rule at K0 = {k0:g}": f"{m.nngp_lambda_min:.4g}",
                f"λmin exact (infinite width) at K0 = {k0:g}": f"{m.nngp_exact_dag:.4g}",
            }
            for i, m in enumerate(ms)
        }
    )
    st.dataframe(table, width="stretch")

    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Bound curves")
        series = [NamedCurves(names[i], kernel_curves(c, K0_GRID)) for i, (_, c) in enumerate(cells)]
        st.plotly_chart(nngp_figure(series, K0_GRID, k0, height=460), key="cmp_nngp")
    with c2:
        st.subheader("(d̄, m̄) plane")
        first = space_of(cells[0][1])
        ref = st.selectbox("Space", ENUMERABLE, index=ENUMERABLE.index(first) if first in ENUMERABLE else 0,
                           format_func=lambda name: SPACES[name].label, key="cmp_space")
        marks = [Mark(names[i], m.effective_depth, m.effective_width)
                 for i, m in enumerate(ms) if m.effective_depth is not None and m.effective_width is not None]
        st.plotly_chart(space_scatter(cached_space_points(ref), space_box(ref), marks), key="cmp_scatter")
        undefined = [names[i] for i, m in enumerate(ms) if m.effective_depth is None]
        if undefined:
            st.caption("Not on the plane (d̄, m̄ undefined): " + ", ".join(undefined))

    st.subheader("Edge diff")
    rows = edge_diff([c for _, c in cells])
    diff = pd.DataFrame([{"edge": f"{r.src} → {r.dst}", **dict(zip(names, r.ops, strict=True)),
                          "differs": "●" if r.differs else ""} for r in rows])
    st.dataframe(diff, hide_index=True, width="stretch")
    st.caption("— : the cell has no such edge · none : the edge is listed but absent (a zero op).")

    if teaching():
        with st.container(border=True):
            st.markdown("#### What the papers say about these cells")
            for i, (_name, cell) in enumerate(cells):
                st.markdown(f"**{names[i]}**")
                for c in claims(cell, ms[i])[:1] + claims(cell, ms[i])[-1:]:
                    st.markdown(f"- {c.text} *({c.source})*")
