"""Plotly figures (pure functions of library objects) for the pages and reports."""
