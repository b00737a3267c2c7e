"""Cached data for the views: computed once per process and shared by every session."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.figures.cells import space_points


@st.cache_data(show_spinner="Enumerating the search space…")
def cached_space_points(name: str) -> pd.DataFrame:
    """The (d̄, m̄) scatter points of a space (``explorer.figures.cells.space_points``)."""
    return space_points(name)
