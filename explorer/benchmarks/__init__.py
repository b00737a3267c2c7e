"""Benchmark data: the shipped tables, NDS files, the warehouse (build, queries, freshness) and
analyses over it."""
