"""Names for cells: a preset's name when the cell is one, else a short description.

Labels that also need a cell's path statistics or a job's settings are made in
``explorer.jobs.labels``; this module knows only the cell model and the presets.
"""

from __future__ import annotations

import re
from functools import lru_cache

from explorer.cell.model import Cell


def short_name(name: str) -> str:
    """A preset's name without its parenthetical gloss: 'DAG#3 (mixed)' → 'DAG#3'."""
    return re.sub(r"\s*\([^)]*\)$", "", name).strip() or name


def preset_name(cell: Cell) -> str | None:
    """The name of the preset that is exactly ``cell``, or None."""
    return _preset_names().get(cell)


@lru_cache(maxsize=1)
def _preset_names() -> dict[Cell, str]:
    from explorer.cell.presets import PRESETS

    return {p.cell: p.name for p in PRESETS}


def cell_name(cell: Cell) -> str:
    """A preset's name when the cell is one, else a short description (the editor's and Compare's
    name for a cell)."""
    return preset_name(cell) or f"{cell.kind} cell, {cell.n_nodes} nodes"
