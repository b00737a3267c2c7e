"""Reports of a hypothesis: the verdict sentence, the Markdown report, its figure and a
self-contained HTML page (with the small Markdown-to-HTML converter the report needs)."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from explorer.cell.model import parse_cell
from explorer.core.errors import CellError
from explorer.jobs.label_parts import cell_title
from explorer.labs.specs import METRICS, HypothesisSpec

if TYPE_CHECKING:
    from explorer.labs.lab import Hypothesis


def hypothesis_p(result: dict[str, Any]) -> float:
    """One p per analysed hypothesis for the family: the p its verdict rests on (``analysis.verdict_of``);
    results analysed before it was stored give the largest of their units' Holm-adjusted p-values."""
    return result.get("p_verdict", max(u["p_holm"] for u in result["units"]))


def family_rows(hypotheses: Sequence[Hypothesis]) -> list[dict[str, Any]]:
    """Holm across the analysed hypotheses: each one's p, its family-wise adjusted p, and whether its
    verdict survives the correction: a "supported" or "refuted" (both claim an effect) whose adjusted p
    ≥ α becomes "inconclusive"."""
    from explorer.labs.stats import holm

    done = [h for h in hypotheses if h.result and h.verdict]
    adjusted = holm([hypothesis_p(h.result) for h in done])
    rows = []
    for h, adj in zip(done, adjusted, strict=True):
        alpha = h.result["alpha"]
        survives = h.verdict not in ("supported", "refuted") or adj < alpha
        rows.append({"key": h.key, "version": h.version, "verdict": h.verdict, "p": hypothesis_p(h.result),
                     "p_family": adj, "family_verdict": h.verdict if survives else "inconclusive",
                     "family_size": len(done)})
    return rows


def family_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The family-wise table of a set of hypotheses, with the correction stated."""
    lines = ["# Principles lab: all analysed hypotheses", "",
             f"Family-wise correction: Holm across the {len(rows)} analysed hypotheses below (each contributes the "
             "p its verdict rests on: the largest Holm-adjusted p of its units for \"supported\", the smallest against "
             "the prediction for \"refuted\"). A verdict of \"supported\" or \"refuted\" stands only if its "
             "family-adjusted p is below α.", "",
             "| hypothesis | verdict | p | family-adjusted p | verdict after correction |", "|---|---|---|---|---|"]
    lines += [f"| {r['key']} v{r['version']} | {r['verdict']} | {format_p(r['p'])} | {format_p(r['p_family'])} | "
              f"{r['family_verdict']} |" for r in rows]
    return "\n".join(lines) + "\n"


def verdict_sentence(spec: HypothesisSpec, result: dict[str, Any]) -> str:
    parts = []
    for u in result["units"]:
        test = u.get("equivalence", u["primary"])
        est = f"{test['test']} {u['estimate']:+.4g}"
        parts.append(f"{u['unit']}: {est}, p = {format_p(u['p_value'])} (Holm {format_p(u['p_holm'])})")
    text = f"{result['verdict']} at α = {result['alpha']:g}: " + "; ".join(parts)
    if result.get("power") and not result["power"]["decidable"]:
        text += f" — the design's smallest reachable p is {format_p(result['power']['min_p'])}"
    return text


def _protocol_lines(spec: HypothesisSpec) -> list[str]:
    p = spec.protocol
    if p.kind == "warehouse":
        return [f"- Source: the benchmark warehouse, {p.schedule} results, datasets {', '.join(p.datasets)}",
                f"- Metric: {p.metric} — {METRICS[p.metric]}", f"- α = {p.alpha:g} (Holm across datasets)"]
    scaled = f", residual branches ×{p.branch_scale:.3g}" if p.branch_scale != 1.0 else ""
    sizes = {"mlp": f"width {p.width}{scaled}", "nb201": f"C = {p.channels}, N = {p.cells_per_stage}",
             "darts": f"C = {p.channels}, {p.layers} cells"}
    size = sizes.get(p.network or "", f"width {p.width} (MLP) / C = {p.channels}, N = {p.cells_per_stage} (NB201) / "
                     f"C = {p.channels}, {p.layers} cells (DARTS)")
    return [
        f"- Data: `{p.data.model_dump_json(exclude_none=True)}`",
        f"- Network: {p.network or 'each cell’s own kind'} ({size})",
        f"- Optimizer: {p.optimizer}, lr {p.lr:g}, momentum {p.momentum:g}, batch {p.batch_size}, {p.epochs} epochs",
        f"- Seeds: {', '.join(map(str, p.seeds))} (one {'probe' if p.kind == 'probe' else 'train job'} per cell "
        f"and seed{' and unit' if p.sweep else ''})",
        *(
            [
                "- Units (Holm across them): "
                + "; ".join(
                    f"{u.label}" + (f" (lr {u.lr:g})" if u.lr else "") + (f" ({u.data.name})" if u.data else "")
                    for u in p.sweep
                )
            ]
            if p.sweep
            else []
        ),
        *(["- Paired: the groups' cells match by position; the test permutes within each pair"] if p.paired else []),
        f"- Metric: {p.metric}{f' (k = {p.metric_epoch})' if p.metric_epoch else ''} — {METRICS[p.metric]}",
        f"- α = {p.alpha:g}" + (f", equivalence margin {p.equivalence_margin:g}" if p.equivalence_margin else ""),
    ]


def report_markdown(h: Hypothesis, family: Sequence[dict[str, Any]] | None = None) -> str:
    """The report: statement, exact protocol, power, groups, the numbers and the verdict; with
    ``family`` (``Lab.family()``), the family-wise correction across the analysed hypotheses."""
    from explorer.labs.analysis import design_power, power_sentence

    s = h.spec
    lines = [f"# {s.key} (v{h.version}): {s.title}", "", f"> {s.statement}", "",
             f"Source: {s.source or '—'}  ", f"Predicted direction: **{s.direction}** ({s.design()})  ",
             f"Status: {h.status}" + (f", locked (pre-registered) {h.record.locked_at:%Y-%m-%d %H:%M} UTC"
                                      if h.record.locked_at else ", draft (not yet run)"), "",
             "## Protocol", *_protocol_lines(s),
             f"- Power: {power_sentence(h.result['power'] if h.result and h.result.get('power') else design_power(s))}",
             *([f"- Notes: {s.notes}"] if s.notes else []), "", "## Groups"]
    for g in s.groups:
        if g.cells:
            lines.append(f"- **{g.label}**: " + "; ".join(_cell_summary(c) for c in g.cells))
        else:
            assert g.warehouse is not None
            lines.append(f"- **{g.label}**: {g.warehouse.describe()}")
    if h.result:
        r = h.result
        lines += ["", "## Result", f"**Verdict: {r['verdict']}** — {h.record.message}", ""]
        for u in r["units"]:
            lost = any(g.get("diverged") for g in u["groups"])
            lines += [f"### {u['unit']}", "", "| group | n | mean | std | median |" + (" diverged |" if lost else ""),
                      "|---|---|---|---|---|" + ("---|" if lost else "")]
            lines += [f"| {g['label']} | {g['n']} | {_fmt(g['mean'], '.5g')} | {_fmt(g['std'], '.3g')} | "
                      f"{_fmt(g['median'], '.5g')} |" + (f" {g.get('diverged', 0)} |" if lost else "")
                      for g in u["groups"]]
            if lost:
                lines += ["", "Mean, std and median are over the runs that did not diverge. " + (
                    "A diverged run counts as the worst value of this metric, so the tests below are on ranks "
                    "(exact Mann–Whitney for two groups) and the difference is in ranks." if u.get("ranked") else
                    "The metric is undefined for a diverged run, so those runs are left out of the tests.")]
            prim = u["primary"]
            if "equivalence" in u:  # 'no difference': the equivalence test decides, the difference test can refute
                lines += ["", f"- Equivalence (TOST, margin {u['equivalence']['details']['margin']:g}): "
                          f"p = {format_p(u['equivalence']['p_value'])}, Holm-adjusted p = {format_p(u['p_holm'])}",
                          f"- Difference test: {prim['test']}, statistic {prim['statistic']:.4g}, "
                          f"p = {format_p(prim['p_value'])}"]
            else:
                lines += ["", f"- Primary test: {prim['test']}, statistic {prim['statistic']:.4g}, "
                          f"p = {format_p(prim['p_value'])}, Holm-adjusted p = {format_p(u['p_holm'])}"]
            if "mann_whitney" in u:
                lines.append(f"- Mann–Whitney U: p = {format_p(u['mann_whitney']['p_value'])}")
            if "effect" in u:
                e, g = u["effect"], u["hedges_g"]
                lines.append(
                    f"- Difference of means (first − second): {e['estimate']:.4g} "
                    f"[{_fmt(e['ci_low'])}, {_fmt(e['ci_high'])}] (95 % bootstrap CI); Hedges g {g['estimate']:.3g} "
                    f"[{_fmt(g['ci_low'])}, {_fmt(g['ci_high'])}]"
                )
            for p in u.get("pairs", []):
                lines.append(f"- {p['a']} vs {p['b']}: difference {p['mean_diff']:.4g}, {p['test']['test']} "
                             f"p = {format_p(p['test']['p_value'])} (Holm {format_p(p['p_holm'])})")
            if u.get("pairs"):
                lines.append("- Ordering: supported only if the trend and every adjacent pair are significant in "
                             "the predicted direction")
            for p in u.get("per_pair", []):
                lines.append(f"- pair {p['pair'] + 1}: difference {p['mean_diff']:.4g}")
            lines.append("")
        if r.get("dropped_contrasts"):
            lines.append(f"Null contrasts dropped (the two cells are the same): {len(r['dropped_contrasts'])}")
        if family:
            row = next((f for f in family if f["key"] == h.key and f["version"] == h.version), None)
            if row:
                lines += ["", "## Family-wise correction",
                          f"Holm across the {row['family_size']} analysed hypotheses of this lab: this one's p "
                          f"{format_p(row['p'])} becomes {format_p(row['p_family'])}; verdict after the correction: "
                          f"**{row['family_verdict']}**."]
    elif h.record.message:
        lines += ["", "## Result", h.record.message]
    if h.job_ids:
        lines += ["", f"Jobs: {', '.join(map(str, h.job_ids))}"]
    # The exact cells last: a 32-layer chain's text is thousands of characters, which buried the
    # result when it stood in the group list.
    lines += ["", "## Cells (exact text, for re-running)"]
    for g in s.groups:
        lines += [f"- {g.label}: `{c}`" for c in g.cells]
    return "\n".join(lines) + "\n"


def _cell_summary(text: str) -> str:
    """'DAG#3' or 'MLP cell (P 2 · d̄ 16.00 · m̄ 0.12), 33 nodes, 63 edges' for a group's cell."""
    try:
        cell = parse_cell(text)
    except (CellError, ValueError):
        return f"`{text}`"
    return f"{cell_title(text)}, {cell.n_nodes} nodes, {len(cell.edges)} edges"


def format_p(p: float | None) -> str:
    """A p-value for people: a p that underflowed to 0 is '< 1e-300', never 'p = 0'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    return "< 1e-300" if p == 0 else f"{p:.3g}"


def _fmt(v: float | None, spec: str = ".4g") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def result_figure(h: Hypothesis):
    """Box plot of the values per group (one panel per unit), or None before a result exists."""
    import plotly.express as px
    import plotly.graph_objects as go

    if not h.result:
        return None
    title = f"{h.spec.key}: {h.spec.protocol.metric}"
    if h.result.get("values"):
        units = list(h.result["values"])
        rows = [{"unit": unit, "group": h.spec.groups[gi].label, "value": v}
                for unit in units for gi, vals in enumerate(h.result["values"][unit]) for v in vals]
        fig = px.box(pd.DataFrame(rows), x="group", y="value", facet_col="unit", points="all", title=title,
                     labels={"value": h.spec.protocol.metric, "group": ""},
                     category_orders={"unit": units, "group": [g.label for g in h.spec.groups]})
        fig.update_yaxes(matches=None, showticklabels=True)  # each data set on its own scale, each with its ticks
        # A diverged run has no value to draw (a group of them has no box at all): say so in its panel.
        for u in h.result["units"]:
            lost = [f"{g['label']}: {g['diverged']} of {g['n']} diverged" for g in u["groups"] if g.get("diverged")]
            if lost and u["unit"] in units:
                axis = units.index(u["unit"]) + 1
                fig.add_annotation(text="<br>".join(lost), xref=f"x{axis if axis > 1 else ''} domain",
                                   yref="y domain", x=0.5, y=-0.22, showarrow=False, font={"color": "#b22222"})
        return fig
    # Quartiles only (warehouse units keep summaries, not values): one box per (unit, group), the
    # units side by side along x, the groups told apart by colour and legend.
    fig = go.Figure()
    for gi, group in enumerate(h.spec.groups):
        stats = [(u["unit"], g) for u in h.result["units"] for g in u["groups"] if g["label"] == group.label]
        if not stats:
            continue
        fig.add_trace(go.Box(name=group.label, x=[unit for unit, _ in stats], q1=[g["q1"] for _, g in stats],
                             median=[g["median"] for _, g in stats], q3=[g["q3"] for _, g in stats],
                             lowerfence=[g["min"] for _, g in stats], upperfence=[g["max"] for _, g in stats],
                             mean=[g["mean"] for _, g in stats], offsetgroup=str(gi)))
    fig.update_layout(title=title, boxmode="group", showlegend=True, legend_title_text="group",
                      xaxis_title="dataset" if h.spec.protocol.kind == "warehouse" else "unit",
                      yaxis_title=h.spec.protocol.metric)
    return fig


def report_html(h: Hypothesis) -> str:
    """The Markdown report's content as one self-contained HTML page with the interactive plot
    (plotly.js inlined, so it opens offline)."""
    fig = result_figure(h)
    body = _markdown_to_html(report_markdown(h))
    plot = fig.to_html(full_html=False, include_plotlyjs=True) if fig is not None else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(h.spec.key)} report</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.2rem .5rem}</style></head><body>"
            f"{body}{plot}</body></html>")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _markdown_to_html(md: str) -> str:
    """The small Markdown subset the report uses: headings, quotes, lists, pipe tables, paragraphs."""
    out: list[str] = []
    table: list[list[str]] = []
    items: list[str] = []

    def flush() -> None:
        if table:
            head, *rows = table
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            if not set(line) <= set("|-"):
                table.append([_inline(c.strip()) for c in line.strip("|").split("|")])
            continue
        if line.startswith("- "):
            items.append(_inline(line[2:]))
            continue
        flush()
        for prefix, tag in (("### ", "h3"), ("## ", "h2"), ("# ", "h1"), ("> ", "blockquote")):
            if line.startswith(prefix):
                out.append(f"<{tag}>{_inline(line[len(prefix):])}</{tag}>")
                break
        else:
            if line.strip():
                out.append(f"<p>{_inline(line)}</p>")
    flush()
    return "".join(out)
