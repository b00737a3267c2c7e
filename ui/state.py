"""The current cell and the Compare list: one source of truth in the session, the URL derived from it.

- ``st.session_state["cell"]`` (an ``explorer.cell.model.Cell``) is the current cell and
  ``st.session_state["editor_space"]`` the editor space it is edited in (NB201, DARTS 4/5, free
  DAG; always one the cell fits). Every change goes through ``set_cell``, ``load_cell`` or
  ``set_space``, which bump a revision number (``rev()``).
- Widgets drawn from that state are keyed by the revision (``wkey``) and their callbacks pass the
  revision they were drawn for (``is_current``): a widget value sent for an older cell, e.g. by a
  quick second click before the page caught up, is ignored instead of applied to a cell it was
  not drawn for (it removed the wrong edge, or raised IndexError / StopIteration).
- The URL (``?cell=<cell.to_text()>``, ``?compare=<JSON list of cell texts>``) is written from the
  session once per run (``sync_url``). A URL is read as a change only when it is a link (a text
  this session never wrote) or browser back/forward (Streamlit flags those runs). Any other
  difference is a browser that had not yet received the last write when it asked for a rerun;
  reading it rolled the cell back, so it is overwritten instead.

Other pages read ``current_cell()`` and link to the editor with ``editor_link``.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.cell.model import Cell, parse_cell
from explorer.cell.naming import cell_name
from explorer.cell.presets import get_preset
from explorer.cell.spaces import SPACES, fits_space, space_of
from explorer.core.errors import CellError

DEFAULT_PRESET = "NB201 ResNet cell"
QUERY_KEY = "cell"
COMPARE_QUERY_KEY = "compare"
COMPARE_KEY = "compare_cells"  # list of (name, Cell) for the Compare page
SPACE_KEY = "editor_space"
MAX_COMPARE = 4
_REV = "_rev"
_WRITTEN = "_url_written"  # query key -> digests of the values this session wrote


def default_cell() -> Cell:
    return get_preset(DEFAULT_PRESET).cell


# --- the state and its transitions ---------------------------------------------------------------


def rev() -> int:
    """The revision of the editor state: it changes whenever the cell or the space does."""
    return int(st.session_state.get(_REV, 0))


def wkey(name: str) -> str:
    """A widget key for the current revision: a widget drawn for an older state is another widget."""
    return f"{name}@{rev()}"


def is_current(drawn_rev: int) -> bool:
    """Whether a callback's widget was drawn for the current state (else its value is stale)."""
    return drawn_rev == rev()


def _bump() -> None:
    st.session_state[_REV] = rev() + 1


def editor_space() -> str:
    space = st.session_state.get(SPACE_KEY)
    cell = st.session_state.get("cell")
    if space not in SPACES or (cell is not None and not fits_space(cell, space)):
        space = space_of(cell) if cell is not None else "nb201"
        st.session_state[SPACE_KEY] = space
    return space


def set_cell(cell: Cell, *, space: str | None = None) -> None:
    """Make ``cell`` current. The space is ``space`` if given, else the current one while the cell
    fits it (an edit); an edit that leaves the space switches to the cell's own and says so.
    Safe inside widget callbacks; the URL follows on this run's ``sync_url``."""
    s = st.session_state
    old_space = s.get(SPACE_KEY)
    if space is None:
        space = old_space if old_space in SPACES and fits_space(cell, old_space) else space_of(cell)
        if old_space in SPACES and space != old_space:
            s["_space_note"] = (f"This cell no longer fits {SPACES[old_space].label}: it is edited as "
                                f"{SPACES[space].label} now.")
    if not fits_space(cell, space):
        raise ValueError(f"cell does not fit space {space!r}")
    if s.get("cell") != cell or old_space != space:
        s["cell"], s[SPACE_KEY] = cell, space
        _bump()


def load_cell(cell: Cell) -> None:
    """Open ``cell`` in its own space (a preset, a paste, a link, a variant)."""
    set_cell(cell, space=space_of(cell))


def set_space(space: str) -> None:
    """Edit in ``space``: the cell stays when it fits, else the space's default cell is loaded."""
    cell = st.session_state.get("cell") or default_cell()
    set_cell(cell if fits_space(cell, space) else get_preset(SPACES[space].default_preset).cell, space=space)


# --- the URL -------------------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _url_value(key: str, current: str | None) -> str | None:
    """The URL's ``key`` when it should be read as a change of ``current`` (see the module doc)."""
    qp = st.query_params.get(key)
    if qp is None or qp == current:
        return None
    ctx = get_script_run_ctx()
    written = st.session_state.get(_WRITTEN, {}).get(key, set())
    if current is None or (ctx is not None and ctx.is_history_navigation and key == QUERY_KEY) \
            or _digest(qp) not in written:
        return qp
    return None


def _write(key: str, text: str | None) -> None:
    if text is None:
        if key in st.query_params:
            del st.query_params[key]
        return
    st.session_state.setdefault(_WRITTEN, {}).setdefault(key, set()).add(_digest(text))
    if st.query_params.get(key) != text:
        st.query_params[key] = text


def _compare_text() -> str | None:
    """The Compare list as URL text ("[]" when empty; None before this session had one)."""
    cells = st.session_state.get(COMPARE_KEY)
    return None if cells is None else json.dumps([c.to_text() for _, c in cells], separators=(",", ":"))


def sync_url() -> None:
    """Write the cell and the Compare list into the URL (a no-op when it already holds them)."""
    if "cell" in st.session_state:
        _write(QUERY_KEY, st.session_state["cell"].to_text())
    text = _compare_text()
    _write(COMPARE_QUERY_KEY, None if text in (None, "[]") else text)


def _read_compare_from_url() -> None:
    qp = _url_value(COMPARE_QUERY_KEY, _compare_text())
    if qp is None:
        return
    try:
        texts = json.loads(qp)
        if not isinstance(texts, list):
            raise CellError("not a list of cells")
        cells = [parse_cell(str(t)) for t in texts][-MAX_COMPARE:]
    except (ValueError, CellError) as exc:
        st.session_state["cell_error"] = f"The Compare list in the link could not be read: {exc}."
        return
    st.session_state[COMPARE_KEY] = [(cell_name(c), c) for c in cells]


def current_cell(*, url: bool = False) -> Cell:
    """The current cell, after reading a link or back/forward from the URL (see the module doc).

    With ``url`` the URL is then written from the session. A bad query string leaves an error in
    ``st.session_state["cell_error"]`` and keeps the cell (the default cell in a new session).
    """
    s = st.session_state
    qp = _url_value(QUERY_KEY, s["cell"].to_text() if "cell" in s else None)
    if qp is not None:
        try:
            load_cell(parse_cell(qp))
        except CellError as exc:
            s["cell_error"] = f"The cell in the link could not be read: {exc}. Showing the default cell."
    if "cell" not in s:
        load_cell(default_cell())
    _read_compare_from_url()
    editor_space()
    if url:
        sync_url()
    return s["cell"]


def editor_link(cell: Cell) -> str:
    """A relative link that opens the editor on ``cell`` (the editor is the app's default page)."""
    return f"./?{QUERY_KEY}={quote(cell.to_text(), safe='')}"


# --- Compare -------------------------------------------------------------------------------------


def compare_cells() -> list[tuple[str, Cell]]:
    return st.session_state.setdefault(COMPARE_KEY, [])


def add_to_compare(cell: Cell) -> str:
    """Put a cell on the Compare page; returns a message saying what happened."""
    cells = compare_cells()
    if any(c == cell for _, c in cells):
        return "This cell is already on the Compare page."
    cells.append((cell_name(cell), cell))
    if len(cells) > MAX_COMPARE:
        cells.pop(0)
        return f"Compare holds at most {MAX_COMPARE} cells: replaced the oldest."
    return f"Added to Compare ({len(cells)} of {MAX_COMPARE})."


def remove_from_compare(cell: Cell) -> None:
    st.session_state[COMPARE_KEY] = [(n, c) for n, c in compare_cells() if c != cell]
