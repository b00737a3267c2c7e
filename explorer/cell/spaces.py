"""The search spaces a cell can belong to, in one registry: NAS-Bench-201, DARTS-style cells with 4 or
5 intermediate nodes, and free DAGs. The editor, Compare, the theory of whole spaces
(``explorer.theory.spaces``) and the CLI all read it, so a space is added in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from explorer.cell.model import Cell
from explorer.cell.ops import DARTS_OPS, EDGE_OPS, NB201_OPS

SpaceName = Literal["nb201", "darts4", "darts5", "dag"]


@dataclass(frozen=True)
class Space:
    name: SpaceName
    label: str  # what the editor's space box shows
    default_preset: str  # the cell a switch to this space opens when the current one does not fit
    ops: tuple[str, ...]
    n_intermediate: int | None  # None: any number (free DAG)
    enumerable: bool  # a finite space: enumerated, with a d̄/m̄ box (explorer.theory.spaces)
    description: str

    def fits(self, cell: Cell) -> bool:
        """Can ``cell`` be edited as a cell of this space? (A free DAG takes any cell.)"""
        return self.name == "dag" or space_of(cell) == self.name


SPACES: dict[str, Space] = {s.name: s for s in (
    Space("nb201", "NAS-Bench-201 (4 nodes, 6 edges)", "NB201 ResNet cell", NB201_OPS, 2, True,
          "NAS-Bench-201: 4 nodes, 6 edges, 5 ops (15,625 cells)"),
    Space("darts4", "DARTS-style, 4 intermediate nodes", "DARTS-V2 normal cell", DARTS_OPS, 4, True,
          "DARTS, 4 intermediate nodes: 180 wirings × 7^8 op choices"),
    Space("darts5", "DARTS-style, 5 intermediate nodes", "NASNet-A normal cell", DARTS_OPS, 5, True,
          "DARTS, 5 intermediate nodes: 2,700 wirings × 7^10 op choices"),
    Space("dag", "Free DAG", "DAG#3 (mixed)", EDGE_OPS, None, False,
          "Any DAG up to 64 nodes and 512 edges; inputs, intermediate nodes and one output."),
)}
ENUMERABLE: tuple[str, ...] = tuple(n for n, s in SPACES.items() if s.enumerable)


def get_space(name: str) -> Space:
    if name not in SPACES:
        raise KeyError(f"unknown space {name!r}; spaces: {', '.join(SPACES)}")
    return SPACES[name]


def space_of(cell: Cell) -> SpaceName:
    """The space a cell belongs to (a DARTS cell by its number of intermediate nodes; else a free DAG)."""
    if cell.kind == "nb201":
        return "nb201"
    if cell.kind == "darts" and len(cell.intermediates) == 4:
        return "darts4"
    if cell.kind == "darts" and len(cell.intermediates) == 5:
        return "darts5"
    return "dag"


def fits_space(cell: Cell, space: str) -> bool:
    return get_space(space).fits(cell)
