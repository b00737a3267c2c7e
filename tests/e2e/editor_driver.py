"""Random user sessions on the cell editor in a real browser, with invariants checked as they go.

A seeded ``random.Random`` picks each action from what the page shows (presets, tab clicks, ops in
the edge table, space switches, canvas edge deletes and label edits, free-DAG edge and node
removal, back/forward, reload), at a person's pace (wait until the page is idle) or faster (the
next action 50-300 ms later, while the page still runs). Whenever the page has settled, every view
must show one cell: the URL's ``?cell=``, the metrics, the sidebar, the edge-op table, the preset
and space boxes, the canvas; no exception box and no console error. After a reload the cell is the
one before it. A failure names the seed and the steps so far, which replay it (the same seed makes
the same choices as long as the app behaves the same).

Used by tests/e2e/test_editor_fuzz.py (a few dozen steps) and bench/editor_fuzz.py (thousands).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

from explorer.cell.model import Cell, parse_cell
from explorer.cell.naming import preset_name
from explorer.cell.ops import EDGE_OPS, NB201_OPS
from explorer.cell.presets import PRESETS
from explorer.cell.spaces import SPACES, fits_space
from explorer.theory.metrics import metrics
from ui.common import fmt

FLOW = 'iframe[title*="streamlit_flow"]'
TABS = ("Graph & downloads", "Paths", "NNGP curves", "Search space", "Random variants")
SPACE_BY_LABEL = {space.label: name for name, space in SPACES.items()}
# The whole page's state in one round trip: the views the invariants compare.
SNAPSHOT_JS = """() => {
  const metrics = {};
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    const value = m.querySelector('[data-testid="stMetricValue"]');
    if (label && value) metrics[label.innerText.trim()] = value.innerText.trim();
  }
  const selects = {};
  for (const c of document.querySelectorAll('[data-testid="stSelectbox"] input[role="combobox"]')) {
    selects[c.getAttribute('aria-label')] = c.value;
  }
  const side = document.querySelector('[data-testid="stSidebar"]');
  const app = document.querySelector('[data-testid="stApp"]');
  return {url: location.href, metrics, selects,
          sidebar: side ? side.innerText : '',
          exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText.slice(0, 800)),
          idle: !!app && app.getAttribute('data-test-script-state') === 'notRunning'};
}"""
CANVAS_JS = """() => ({
  nodes: [...document.querySelectorAll('.react-flow__node')].map(n => n.getAttribute('data-id')),
  edges: [...document.querySelectorAll('.react-flow__edge')].map(e => ({
    id: (e.getAttribute('data-testid') || '').replace('rf__edge-', ''),
    aria: e.getAttribute('aria-label') || '',
    label: (e.querySelector('.react-flow__edge-text') || {}).textContent || ''})),
})"""
# Console noise that is not the app's: resources the offline browser cannot fetch.
BENIGN_CONSOLE = ("Failed to load resource", "net::ERR_", "favicon")


class InvariantError(AssertionError):
    pass


@dataclass
class Session:
    """One browser page on the editor, the steps taken so far and what went wrong."""

    page: object
    seed: int
    steps: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    missed: Counter = field(default_factory=Counter)  # actions the page moved away from (not failures)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        self.page.evaluate("""() => { window.__lastRun = performance.now();
            new MutationObserver(() => { window.__lastRun = performance.now(); }).observe(
                document.querySelector('[data-testid="stApp"]'),
                {attributes: true, attributeFilter: ['data-test-script-state']}); }""")

    def _on_console(self, msg) -> None:
        if msg.type == "error" and not any(b in msg.text for b in BENIGN_CONSOLE):
            self.console_errors.append(msg.text)

    def replay_note(self) -> str:
        return f"seed={self.seed}; steps so far:\n  " + "\n  ".join(self.steps)

    # --- waiting ---

    def settle(self, quiet_ms: int = 700, timeout_s: float = 60) -> None:
        """Wait until no script run has started for ``quiet_ms`` (an edit, then the canvas's echo)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(quiet_ms)
            if self.page.evaluate(f"""() => {{ const app = document.querySelector('[data-testid="stApp"]');
                    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
                        && window.__lastRun !== undefined && performance.now() - window.__lastRun >= {quiet_ms}; }}"""):
                return
        raise InvariantError(f"the page did not settle in {timeout_s} s\n{self.replay_note()}")

    def rewatch(self) -> None:
        """Re-arm the run observer after a full page load (reload, back to another document)."""
        self.page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
        self.page.evaluate("""() => { window.__lastRun = performance.now();
            new MutationObserver(() => { window.__lastRun = performance.now(); }).observe(
                document.querySelector('[data-testid="stApp"]'),
                {attributes: true, attributeFilter: ['data-test-script-state']}); }""")

    # --- reading the page ---

    def url_cell(self) -> Cell:
        qs = parse_qs(urlparse(self.page.url).query)
        if "cell" not in qs:
            raise InvariantError(f"no ?cell= in {self.page.url}\n{self.replay_note()}")
        return parse_cell(qs["cell"][0])

    def canvas(self) -> dict:
        frame = next((f for f in self.page.frames if "streamlit_flow" in (f.url or "")), None)
        if frame is None:
            return {"nodes": [], "edges": []}
        return frame.evaluate(CANVAS_JS)

    def problems(self) -> list[str]:
        """What disagrees with the URL's cell now (empty: all views agree)."""
        snap = self.page.evaluate(SNAPSHOT_JS)
        out: list[str] = []
        out += [f"exception on the page: {text}" for text in snap["exceptions"]]
        try:
            cell = self.url_cell()
        except InvariantError as exc:
            return [*out, str(exc).splitlines()[0]]
        m = metrics(cell)
        want = {"Paths P": f"{m.paths:,}", "Effective depth d̄": fmt(m.effective_depth),
                "Effective width m̄": fmt(m.effective_width)}
        for label, value in want.items():
            if snap["metrics"].get(label) != value:
                out.append(f"metric {label}: page {snap['metrics'].get(label)!r}, URL cell {value!r}")
        side = f"P = {m.paths:,} · d̄ = {fmt(m.effective_depth, '—')} · m̄ = {fmt(m.effective_width, '—')}"
        if side not in snap["sidebar"] or f"({cell.kind}, {cell.n_nodes} nodes)" not in snap["sidebar"]:
            out.append(f"sidebar does not show {side!r} ({cell.kind}, {cell.n_nodes} nodes)")
        selects = snap["selects"]
        space = SPACE_BY_LABEL.get(selects.get("Search space", ""))
        if space is None or not fits_space(cell, space):
            out.append(f"space box {selects.get('Search space')!r} does not fit a {cell.kind} cell")
        if selects.get("Preset", "") != (preset_name(cell) or ""):
            out.append(f"preset box {selects.get('Preset')!r}, cell is preset {preset_name(cell)!r}")
        out += self._table_problems(cell, space, selects)
        out += self._canvas_problems(cell)
        return out

    def _table_problems(self, cell: Cell, space: str | None, selects: dict) -> list[str]:
        if space == "nb201":
            shown = {k: v for k, v in selects.items() if "→" in k and k[0].isdigit()}
            want = {f"{e.src} → {e.dst}": e.op for e in cell.edges}
        elif space in ("darts4", "darts5"):
            pairs, _concat = cell.to_genotype_pairs()
            want = {}
            for idx, (op, src) in enumerate(pairs):
                k, j = 2 + idx // 2, idx % 2
                want[f"op {j + 1} of node {k}"], want[f"input {j + 1} of node {k}"] = op, f"from {src}"
            shown = {k: v for k, v in selects.items() if " of node " in k}
        elif space == "dag":
            want = {f"op of edge {k}": e.op for k, e in enumerate(cell.edges[:80])}
            shown = {k: v for k, v in selects.items() if k.startswith("op of edge ")}
        else:
            return []
        return [] if shown == want else [f"edge table {shown} != cell {want}"]

    def _canvas_problems(self, cell: Cell) -> list[str]:
        flow = self.canvas()
        out = []
        if sorted(flow["nodes"]) != sorted(f"n{v}" for v in range(cell.n_nodes)):
            out.append(f"canvas nodes {sorted(flow['nodes'])}, cell has {cell.n_nodes}")
        shown = sorted(e["label"] for e in flow["edges"])
        want = sorted(e.op for e in cell.edges)
        if shown != want:
            out.append(f"canvas edge labels {shown} != cell ops {want}")
        return out

    def check(self, timeout_s: float = 15) -> Cell:
        """Every view shows the URL's cell (polled: the canvas redraws after the run ends)."""
        deadline = time.monotonic() + timeout_s
        while True:
            problems = self.problems()
            if not problems and not self.console_errors:
                return self.url_cell()
            if self.console_errors or time.monotonic() > deadline:
                raise InvariantError("\n".join([*problems, *(f"console: {c}" for c in self.console_errors),
                                                self.replay_note()]))
            self.page.wait_for_timeout(300)


# --- actions ----------------------------------------------------------------------------------------


def _choose(s: Session, label: str, option: str, timeout_ms: int = 3_000) -> None:
    """Pick ``option`` in the select labelled ``label`` (typing filters long lists). A click can
    wait for the URL change of the run before it, so deterministic tests pass a longer timeout."""
    box = s.page.get_by_role("combobox", name=label, exact=True)
    box.click(timeout=timeout_ms)
    opt = s.page.get_by_role("option", name=option, exact=True)
    if not opt.count():
        s.page.keyboard.type(option)
    opt.click(timeout=timeout_ms)


def _space(s: Session) -> str | None:
    value = s.page.evaluate(SNAPSHOT_JS)["selects"].get("Search space", "")
    return SPACE_BY_LABEL.get(value)


def act_preset(s: Session, rng: random.Random) -> str:
    name = rng.choice(PRESETS).name
    _choose(s, "Preset", name)
    return f"preset {name!r}"


def act_tab(s: Session, rng: random.Random) -> str:
    name = rng.choice(TABS)
    s.page.get_by_role("tab", name=name).click(timeout=3_000)
    return f"tab {name!r}"


def act_space(s: Session, rng: random.Random) -> str:
    name = rng.choice(list(SPACES))
    _choose(s, "Search space", SPACES[name].label)
    return f"space {name}"


def act_table_op(s: Session, rng: random.Random) -> str:
    cell, space = s.url_cell(), _space(s)
    if space == "nb201":
        e = rng.choice(cell.edges)
        op = rng.choice(NB201_OPS)
        _choose(s, f"{e.src} → {e.dst}", op)
        return f"table {e.src}→{e.dst} = {op}"
    if space in ("darts4", "darts5"):
        k, j = rng.randrange(2, 2 + len(cell.intermediates)), rng.randrange(2)
        if rng.random() < 0.5:
            src = rng.randrange(k)
            _choose(s, f"input {j + 1} of node {k}", f"from {src}")
            return f"table node {k} input {j + 1} from {src}"
        op = rng.choice(["sep_conv_3x3", "skip_connect", "max_pool_3x3", "dil_conv_5x5", "none"])
        _choose(s, f"op {j + 1} of node {k}", op)
        return f"table node {k} op {j + 1} = {op}"
    k = rng.randrange(min(len(cell.edges), 80)) if cell.edges else None
    if k is None or cell.edges[k].op == "concat":
        return "table (no editable edge)"
    op = rng.choice([o for o in EDGE_OPS if o != "concat"])
    _choose(s, f"op of edge {k}", op)
    return f"table edge {k} = {op}"


def act_dag_remove(s: Session, rng: random.Random) -> str:
    """Free DAG only: ✕ on an edge, or Remove node, or + intermediate node."""
    if _space(s) != "dag":
        return act_space_to_dag(s)
    cell = s.url_cell()
    r = rng.random()
    if r < 0.45 and cell.edges:
        k = rng.randrange(min(len(cell.edges), 80))
        s.page.get_by_role("button", name="✕").nth(k).click(timeout=3_000)
        return f"✕ edge {k}"
    if r < 0.85 and cell.n_nodes > 2:
        v = rng.choice([v for v in range(cell.n_nodes) if v != cell.output])
        _choose(s, "node to remove", str(v))
        s.page.get_by_role("button", name="Remove node").click(timeout=3_000)
        return f"remove node {v}"
    s.page.get_by_role("button", name="+ intermediate node").click(timeout=3_000)
    return "+ intermediate node"


def act_space_to_dag(s: Session) -> str:
    _choose(s, "Search space", SPACES["dag"])
    return "space dag"


def act_canvas(s: Session, rng: random.Random) -> str:
    """Delete an edge on the canvas, or give it another op through Edit Edge."""
    cell = s.url_cell()
    if not cell.edges:
        return "canvas (no edge)"
    k = rng.randrange(len(cell.edges))
    canvas = s.page.frame_locator(FLOW)
    s.page.locator(FLOW).scroll_into_view_if_needed(timeout=3_000)
    canvas.locator(f'[data-testid="rf__edge-e{k}"] .react-flow__edge-text').click(button="right", timeout=3_000)
    if rng.random() < 0.5:
        canvas.get_by_role("button", name="Delete Edge").click(timeout=3_000)
        return f"canvas delete e{k}"
    op = rng.choice(["linear", "skip_connect", "nor_conv_3x3", "sep_conv_3x3", "none"])
    canvas.get_by_role("button", name="Edit Edge").click(timeout=3_000)
    canvas.get_by_placeholder("edgeLabel").fill(op, timeout=3_000)
    canvas.get_by_role("button", name="Save Changes").click(timeout=3_000)
    return f"canvas e{k} = {op}"


def act_history(s: Session, rng: random.Random) -> str:
    if rng.random() < 0.6:
        if s.page.evaluate("() => history.length") <= 2:
            return "back (no history)"
        s.page.go_back(wait_until="commit")
        if "cell=" not in s.page.url:  # left the editor's history: come back
            s.page.go_forward(wait_until="commit")
        s.rewatch()
        return "back"
    s.page.go_forward(wait_until="commit")
    s.rewatch()
    return "forward"


ACTIONS = (
    (act_preset, 3), (act_tab, 3), (act_table_op, 4), (act_space, 1), (act_dag_remove, 2),
    (act_canvas, 2), (act_history, 1),
)


def reload_keeps_the_cell(s: Session) -> str:
    before = s.url_cell()
    s.page.reload(wait_until="domcontentloaded")
    s.rewatch()
    s.settle()
    after = s.check()
    if after != before:
        raise InvariantError(f"reload showed another cell: {after.to_text()} != {before.to_text()}\n{s.replay_note()}")
    return "reload"


def run(page, seed: int, steps: int, *, fast_share: float = 0.3, reload_every: int = 25,
        log=None) -> Session:
    """Take ``steps`` random actions on the editor ``page``; raises InvariantError on the first
    disagreement (with the seed and the steps). A fast action is followed by the next one at once;
    the views are checked whenever the page has settled."""
    rng = random.Random(seed)
    s = Session(page, seed)
    s.settle()
    s.check()
    kinds, weights = zip(*ACTIONS, strict=True)
    for i in range(steps):
        fast = rng.random() < fast_share
        action = rng.choices(kinds, weights)[0]
        try:
            what = action(s, rng)
        except InvariantError:
            raise
        except Exception as exc:  # the page moved on under the action (a rerun replaced the widget)
            what = f"{action.__name__} missed ({type(exc).__name__})"
            s.missed[action.__name__] += 1
            s.page.keyboard.press("Escape")
        s.steps.append(f"{i}: {'fast ' if fast else ''}{what}")
        if log:
            log(s.steps[-1])
        if fast and i < steps - 1:
            page.wait_for_timeout(rng.randint(50, 300))
            continue
        s.settle()
        s.check()
        if reload_every and (i + 1) % reload_every == 0:
            s.steps.append(f"{i}: {reload_keeps_the_cell(s)}")
    s.settle()
    s.check()
    return s
