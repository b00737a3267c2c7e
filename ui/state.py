"""The current cell: ``st.session_state["cell"]`` (an ``explorer.cell.model.Cell``) mirrored in the URL
query parameter ``cell`` (= ``cell.to_text()``), so a link reproduces the view.

Other pages read ``current_cell()`` (or ``st.session_state["cell"]``) and link to the editor with
``?cell=<text>`` (``editor_link``). The editor space (NB201, DARTS 4/5, free DAG) follows the cell.
"""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from explorer.cell.model import Cell, parse_cell
from explorer.cell.presets import PRESETS, get_preset
from explorer.core.errors import CellError

DEFAULT_PRESET = "NB201 ResNet cell"
SPACES: dict[str, str] = {
    "nb201": "NAS-Bench-201 (4 nodes, 6 edges)",
    "darts4": "DARTS-style, 4 intermediate nodes",
    "darts5": "DARTS-style, 5 intermediate nodes",
    "dag": "Free DAG",
}
SPACE_DEFAULTS = {"nb201": DEFAULT_PRESET, "darts4": "DARTS-V2 normal cell", "darts5": "NASNet-A normal cell",
                  "dag": "DAG#3 (mixed)"}
QUERY_KEY = "cell"
COMPARE_KEY = "compare_cells"  # list of (name, Cell) for the Compare page
MAX_COMPARE = 4


def default_cell() -> Cell:
    return get_preset(DEFAULT_PRESET).cell


def space_of(cell: Cell) -> str:
    """The editor space a cell belongs to (DARTS by its number of intermediate nodes)."""
    if cell.kind == "nb201":
        return "nb201"
    if cell.kind == "darts" and len(cell.intermediates) in (4, 5):
        return f"darts{len(cell.intermediates)}"
    return "dag"


def fits_space(cell: Cell, space: str) -> bool:
    return space == "dag" or space_of(cell) == space


def set_cell(cell: Cell, *, url: bool = True) -> None:
    """Make ``cell`` current (session and, with ``url``, the URL). Safe inside widget callbacks."""
    st.session_state["cell"] = cell
    if url:
        text = cell.to_text()
        st.session_state["_cell_qp"] = text
        if st.query_params.get(QUERY_KEY) != text:
            st.query_params[QUERY_KEY] = text


def current_cell(*, url: bool = False) -> Cell:
    """The current cell; a ``?cell=`` the app did not write itself (a link) takes precedence.

    With ``url`` (the editor) the URL is kept in step with the cell. A bad query string leaves an
    error in ``st.session_state["cell_error"]`` and the default cell.
    """
    qp = st.query_params.get(QUERY_KEY)
    if qp is not None and qp != st.session_state.get("_cell_qp"):
        st.session_state["_cell_qp"] = qp
        try:
            cell = parse_cell(qp)
        except CellError as exc:
            st.session_state["cell_error"] = f"The cell in the link could not be read: {exc}. Showing the default cell."
            cell = st.session_state.get("cell") or default_cell()
        set_cell(cell, url=url)
        return cell
    if "cell" not in st.session_state:
        set_cell(default_cell(), url=url)
    cell = st.session_state["cell"]
    if url and st.query_params.get(QUERY_KEY) is None:  # navigation between pages drops query params
        set_cell(cell)
    return cell


def editor_link(cell: Cell) -> str:
    """A relative link that opens the editor on ``cell`` (the editor is the app's default page)."""
    return f"./?{QUERY_KEY}={quote(cell.to_text(), safe='')}"


def cell_name(cell: Cell) -> str:
    """A preset's name when the cell is one, else a short description."""
    for p in PRESETS:
        if p.cell == cell:
            return p.name
    return f"{cell.kind} cell, {cell.n_nodes} nodes"


def compare_cells() -> list[tuple[str, Cell]]:
    return st.session_state.setdefault(COMPARE_KEY, [])


def add_to_compare(name: str, cell: Cell) -> str:
    """Put a cell on the Compare page; returns a message saying what happened."""
    cells = compare_cells()
    if any(c == cell for _, c in cells):
        return "This cell is already on the Compare page."
    if len(cells) >= MAX_COMPARE:
        cells.pop(0)
        cells.append((name, cell))
        return f"Compare holds at most {MAX_COMPARE} cells: replaced the oldest."
    cells.append((name, cell))
    return f"Added to Compare ({len(cells)} of {MAX_COMPARE})."
