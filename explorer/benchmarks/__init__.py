"""Benchmark data: the shipped tables, NDS files, the warehouse (build, queries, freshness), analyses and search simulations."""
