"""Cell editor (minimal landing page until the full editor lands)."""

import streamlit as st

from explorer.metrics import metrics
from explorer.presets import PRESETS
from ui.common import page_header

page_header("Cell editor", "Pick a preset cell and see its connectivity metrics.")
preset = st.selectbox("Preset", PRESETS, format_func=lambda p: p.name)
m = metrics(preset.cell)
st.caption(f"Source: {preset.source}")
cols = st.columns(5)
cols[0].metric("Paths P", m.paths)
cols[1].metric("Effective depth d̄", "undefined" if m.effective_depth is None else f"{m.effective_depth:.3f}")
cols[2].metric("Effective width m̄", "undefined" if m.effective_width is None else f"{m.effective_width:.3f}")
cols[3].metric("Cell width (Shu)", f"{m.cell_width:g}c")
cols[4].metric("Cell depth (Shu)", m.cell_depth)
if m.undefined_reason:
    st.info(m.undefined_reason)
