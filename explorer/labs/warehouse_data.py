"""Values of warehouse hypotheses from the benchmark warehouse. The only module of the lab that
imports the warehouse, so its names are updated in one place when the warehouse moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer.benchmarks.warehouse import Filter, open_shared
from explorer.core.errors import SpecError
from explorer.labs.specs import HypothesisSpec


def warehouse_values(spec: HypothesisSpec, warehouse_path: Path) -> dict[str, list[np.ndarray]]:
    """Per dataset, each group's accuracies: the group's warehouse filter, then its box condition."""
    from explorer.labs.search_sim import load_space

    wh = open_shared(warehouse_path)
    groups = [g.warehouse for g in spec.groups if g.warehouse is not None]
    spaces = {g.space for g in groups}
    if len(spaces) != 1:
        raise SpecError("warehouse groups must come from one space")
    space = spaces.pop()
    p = spec.protocol
    box = load_space(wh, space, [p.datasets[0]], proxy=None).box() if any(g.box for g in groups) else None
    out: dict[str, list[np.ndarray]] = {}
    for ds in p.datasets:
        vals = []
        for g in groups:
            rows = wh.rows(Filter(space, ds, p.schedule, ranges=g.ranges, n_conv=g.n_conv),
                           columns=("arch_id", "effective_depth", "effective_width", "test_acc"),
                           order_by="arch_id", descending=False)
            acc = rows["test_acc"].to_numpy(np.float64)
            keep = np.isfinite(acc)
            if g.box is not None and box is not None:
                inside = box.contains(rows["effective_depth"].to_numpy(np.float64),
                                      rows["effective_width"].to_numpy(np.float64), g.f)
                keep &= inside if g.box == "inside" else ~inside
            vals.append(acc[keep])
        out[ds] = vals
    return out
