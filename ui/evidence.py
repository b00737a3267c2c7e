"""The "what the benchmarks know" panel (editor) and its per-cell summary (Compare).

Draws ``explorer.benchmarks.evidence.lookup``; the lookup is cached per cell text and warehouse
file stamp, so a cell seen before costs nothing. Without a warehouse the panel is one caption: the
editor never builds it (the Warehouse page and ``explorer serve`` do).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from explorer.benchmarks.evidence import NB201_DATASETS, Evidence, lookup
from explorer.benchmarks.warehouse import build_command, open_shared
from explorer.cell.canonical import NB201_EDGES
from explorer.cell.model import Cell
from explorer.core.errors import DataError
from explorer.core.settings import get_settings
from explorer.figures.evidence import DATASET_TITLES, connectivity_figure, edit_map_figure
from ui.state import is_current, set_cell, wkey

HW_SHOWN = ("edgegpu_latency_ms", "raspi4_latency_ms", "pixel3_latency_ms", "fpga_latency_ms")


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(text: str, path: str, stamp: int, _cell: Cell) -> Evidence:
    # Keyed by the cell's text and the file's stamp: a rebuilt warehouse never serves old numbers.
    return lookup(open_shared(path), _cell)


def cell_evidence(cell: Cell) -> Evidence | None:
    """The cell's evidence, or None when no warehouse is built."""
    path = Path(get_settings().warehouse_path).resolve()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    try:
        return _cached(cell.to_text(), str(path), stamp, cell)
    except DataError:
        return None


def _no_warehouse() -> None:
    st.caption("Benchmark evidence appears here once the warehouse is built: "
               f"`{build_command(get_settings().warehouse_path)}` (or open the Warehouse page once).")


def _fmt_acc(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _apply_edit(drawn: int, key: str) -> None:
    """A click on the edit map: set that edge to that op (ignored when drawn for an older cell)."""
    if not is_current(drawn):
        return
    points = (st.session_state.get(key) or {}).get("selection", {}).get("points", [])
    if not points:
        return
    edge, op = points[0]["customdata"]
    cell: Cell = st.session_state["cell"]
    src, dst = NB201_EDGES[int(edge)]
    k = next(n for n, e in enumerate(cell.edges) if (e.src, e.dst) == (src, dst))
    if cell.edges[k].op != op:
        set_cell(cell.with_op(k, op))


def _headline(ev: Evidence, key: str) -> None:
    mt = ev.matches[0]
    main = [r for r in mt.results if r.schedule == "200ep" and r.dataset in NB201_DATASETS] or list(mt.results[:3])
    single = {r.dataset: r.test_acc for r in mt.results if r.seeds == "single"}
    cols = st.columns(max(1, len(main)))
    for col, r in zip(cols, main, strict=False):
        one = single.get(r.dataset) or (single.get("cifar10valid") if r.dataset == "cifar10" else None)
        col.metric(f"{DATASET_TITLES.get(r.dataset, r.dataset)} test %", _fmt_acc(r.test_acc),
                   help=f"{r.schedule}, {r.seeds} over seeds" + (f"; one seed: {one:.2f}" if one else ""))
        col.caption(f"rank {r.rank:,} / {r.n:,} (better than {r.percentile:.1f}%) · "
                    f"{r.group_rank:,} / {r.group_n:,} with this d̄, m̄")
    hw = mt.hardware.get("cifar10", {})
    bits = [f"{mt.space} #{mt.arch_id}" + (" (equivalent cell)" if mt.how == "equivalent" else "")]
    if mt.unique_str is not None:
        bits.append(f"{len(mt.equivalent)} other cell(s) equivalent (NATS-Bench unique string)")
    if mt.params_m is not None:
        bits.append(f"{mt.params_m:.3f} M params")
    if mt.flops_m is not None:
        bits.append(f"{mt.flops_m:.1f} MFLOPs")
    if "edgegpu_latency_ms" in hw:
        bits.append(f"edge GPU {hw['edgegpu_latency_ms']:.2f} ms")
    if "nwot" in mt.proxies.get("cifar10", {}):
        bits.append(f"NWOT {mt.proxies['cifar10']['nwot']:.0f}")
    if "naswot_v1" in mt.proxies.get("cifar10", {}):
        bits.append(f"NASWOT {mt.proxies['cifar10']['naswot_v1']:.1f}")
    if len(ev.matches) > 1:
        bits.append(f"{len(ev.matches)} entries in all")
    st.caption(" · ".join(bits))


def _details(ev: Evidence) -> None:
    mt = ev.matches[0]
    rows = [{"data set": DATASET_TITLES.get(r.dataset, r.dataset), "schedule": r.schedule, "seeds": r.seeds,
             "test %": r.test_acc, "valid %": r.valid_acc, "rank": r.rank, "of": r.n,
             "better than %": round(r.percentile, 2), "rank, same d̄ m̄": r.group_rank, "of (same d̄ m̄)": r.group_n}
            for r in mt.results]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if mt.proxies:
        st.markdown("**Zero-cost proxies** (scores as published; `plain` anti-correlates with accuracy)")
        st.dataframe(pd.DataFrame(mt.proxies), width="stretch")
    if mt.hardware:
        st.markdown("**HW-NAS-Bench** (latency ms, energy mJ)")
        st.dataframe(pd.DataFrame(mt.hardware), width="stretch")
    if mt.equivalent:
        st.markdown("**Equivalent cells** (same NATS-Bench unique string; trained separately)")
        st.code("\n".join(mt.equivalent), language=None)


def _connectivity(ev: Evidence, key: str, *, chart: bool) -> None:
    st.markdown("**Not in the loaded benchmarks.** Cells with this connectivity — the same or nearest "
                "(d̄, m̄) in each loaded space — achieved (other cells' results, not a prediction of this cell):")
    rows = [{"space": g.space, "data set": DATASET_TITLES.get(g.dataset, g.dataset), "schedule": g.schedule,
             "d̄": round(g.effective_depth, 3), "m̄": round(g.effective_width, 3),
             "same point": "yes" if g.distance < 1e-9 else f"no (distance {g.distance:.3g})",
             **{k: round(v, 2) for k, v in g.summary().items()}} for g in ev.connectivity]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if chart:
        st.plotly_chart(connectivity_figure(ev.connectivity), key=f"{key}_conn", config={"displayModeBar": False})


def evidence_panel(cell: Cell, drawn: int) -> None:
    """The editor's panel: results, ranks, the edit map (a click applies the edit), nearby bests,
    connectivity neighbours for cells outside the data, and a JSON download of all of it."""
    with st.container(border=True, key="evidence_panel"):
        st.markdown("##### What the benchmarks know about this cell")
        ev = cell_evidence(cell)
        if ev is None:
            _no_warehouse()
            return
        if ev.found:
            _headline(ev, "ev")
            if ev.edit_map:
                c_map, c_near = st.columns([3, 2])
                with c_map:
                    ds = st.radio("Data set", NB201_DATASETS, horizontal=True, key="ev_dataset",
                                  format_func=lambda d: DATASET_TITLES[d], label_visibility="collapsed")
                    key = wkey("ev_map")
                    st.plotly_chart(
                        edit_map_figure(ev.edit_map, ds),
                        key=key,
                        on_select=partial(_apply_edit, drawn, key),
                        selection_mode="points",
                        config={"displayModeBar": False},
                    )
                    st.caption("Click a square to apply that edit.")
                with c_near:
                    near = [n for n in ev.nearby if n.dataset == ds]
                    st.markdown(f"**Best cells 1 and 2 edits away** ({DATASET_TITLES[ds]})")
                    st.dataframe(pd.DataFrame([{"edits": n.distance, "test %": round(n.test_acc, 2),
                                                "change": "; ".join(n.edits)} for n in near]),
                                 hide_index=True, width="stretch")
            # A toggle, not an expander: an expander's tables are built and sent on every rerun.
            if st.toggle("All result sets, ranks, proxies, hardware", key="ev_details"):
                _details(ev)
        elif ev.connectivity:
            _connectivity(ev, "ev", chart=True)
        for note in ev.notes:
            st.info(note)
        st.download_button("Cell + benchmark evidence (JSON)", lambda: evidence_json(cell, ev),
                           file_name="cell_evidence.json", mime="application/json", on_click="ignore",
                           key="ev_download")


def evidence_json(cell: Cell, ev: Evidence) -> str:
    """The cell JSON with an ``evidence`` member: what ``explorer lookup --json`` prints."""
    return json.dumps({**cell.to_json(), "evidence": ev.to_dict()}, indent=1)


def evidence_summary(cell: Cell, key: str) -> None:
    """Compare's per-cell block: the accuracies and ranks, or the connectivity neighbours."""
    ev = cell_evidence(cell)
    if ev is None:
        _no_warehouse()
        return
    if ev.found:
        _headline(ev, key)
    elif ev.connectivity:
        _connectivity(ev, key, chart=False)
    for note in ev.notes:
        st.caption(note)
