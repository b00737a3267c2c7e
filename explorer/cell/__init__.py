"""The cell model (a DAG of ops) and what is made from it: formats, ops, presets, variants, diffs, layout, names."""
