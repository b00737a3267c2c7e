"""Edge-by-edge comparison of cells (the Compare page's diff)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from explorer.cell.model import Cell

ABSENT = "—"  # no such edge in that cell


@dataclass(frozen=True)
class EdgeDiffRow:
    src: int
    dst: int
    ops: tuple[str, ...]  # one per cell; ABSENT where the cell has no such edge

    @property
    def differs(self) -> bool:
        return len(set(self.ops)) > 1


def edge_diff(cells: Sequence[Cell]) -> list[EdgeDiffRow]:
    """One row per (src, dst) slot over all cells, in (dst, src) order. Parallel edges get one
    slot each, so a cell with two 0 → 2 edges shows both. A ``none`` edge shows as ``none``,
    an edge the cell does not list at all as ``—``."""
    slots: dict[tuple[int, int, int], list[str]] = {}
    for i, cell in enumerate(cells):
        seen: dict[tuple[int, int], int] = {}
        for e in cell.edges:
            k = seen.get((e.src, e.dst), 0)
            seen[(e.src, e.dst)] = k + 1
            slots.setdefault((e.dst, e.src, k), [ABSENT] * len(cells))[i] = e.op
    return [EdgeDiffRow(src, dst, tuple(ops)) for (dst, src, _k), ops in sorted(slots.items())]
