"""Cached data for the views: computed once per process and shared by every session."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer.cell.model import Cell
from explorer.figures.cells import graph_figure, space_points


@st.cache_data(show_spinner="Enumerating the search space…")
def cached_space_points(name: str) -> pd.DataFrame:
    """The (d̄, m̄) scatter points of a space (``explorer.figures.cells.space_points``)."""
    return space_points(name)


@st.cache_resource(max_entries=512, show_spinner=False)
def cached_graph_figure(cell: Cell) -> go.Figure:
    """``explorer.figures.cells.graph_figure`` once per cell and process (≈ 24 ms a run otherwise);
    shared, not copied: st.plotly_chart only reads the figure."""
    return graph_figure(cell)
