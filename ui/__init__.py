"""Shared Streamlit helpers for the pages (views only: no maths, no SQL)."""
