"""The cell: a small DAG whose nodes are feature maps and whose edges carry operations.

A ``Cell`` is immutable and validated on construction. Node ids are 0..n-1; each node has a role
(input, intermediate, output; exactly one output). Edges are kept in the order they were given,
including ``none`` edges and parallel edges, so every text format round-trips exactly.

Formats live here and nowhere else:
- NAS-Bench-201 arch strings: ``Cell.from_nb201`` / ``Cell.to_nb201``
- DARTS genotypes (text and the NDS JSON dict): ``Genotype`` and ``Cell.from_genotype``
- the general versioned JSON form: ``Cell.from_json`` / ``Cell.to_json``
- ``parse_cell`` accepts any of them (paste boxes, URL query strings, CLI arguments).

Long because the formats live with the ``Cell`` (DESIGN.md: ``from_nb201``, ``to_genotype``,
``from_json`` …): one immutable class with its parsers, writers and validation, which share
private helpers, reads better as one file than as a class split across modules.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from explorer.cell.ops import NB201_OPS, OPS
from explorer.core.errors import CellError

MAX_NODES = 64
MAX_EDGES = 512
MAX_TEXT_CHARS = 100_000  # any text format longer than this is refused before parsing

Role = Literal["input", "intermediate", "output"]
ROLES: tuple[str, ...] = ("input", "intermediate", "output")
JSON_FORMAT = "architecture-explorer/cell"
JSON_VERSION = 1


@dataclass(frozen=True)
class Edge:
    src: int
    dst: int
    op: str

    @property
    def parameterized(self) -> bool:
        return OPS[self.op].parameterized

    @property
    def absent(self) -> bool:
        return OPS[self.op].absent


@dataclass(frozen=True)
class Cell:
    roles: tuple[str, ...]
    edges: tuple[Edge, ...]
    labels: tuple[str, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "edges", tuple(self.edges))
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(self.labels))
        _validate(self)
        if self.labels is not None and not any(self.labels):
            # All-blank labels mean no labels: keeps ``from_json(to_json(c)) == c``.
            object.__setattr__(self, "labels", None)

    # --- structure -------------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return len(self.roles)

    @cached_property
    def inputs(self) -> tuple[int, ...]:
        return tuple(i for i, r in enumerate(self.roles) if r == "input")

    @cached_property
    def output(self) -> int:
        return self.roles.index("output")

    @cached_property
    def intermediates(self) -> tuple[int, ...]:
        return tuple(i for i, r in enumerate(self.roles) if r == "intermediate")

    @cached_property
    def live_edges(self) -> tuple[Edge, ...]:
        """Edges that exist in the network (everything but ``none``)."""
        return tuple(e for e in self.edges if not e.absent)

    @cached_property
    def topological_order(self) -> tuple[int, ...]:
        order = _topological_order(self.n_nodes, self.edges)
        assert order is not None  # validated in __post_init__
        return order

    @cached_property
    def warnings(self) -> tuple[str, ...]:
        """Nodes that are legal but dead: no path from any input, or no path to the output."""
        reach_fwd = _reachable(self.inputs, self.live_edges, forward=True)
        reach_bwd = _reachable((self.output,), self.live_edges, forward=False)
        notes = []
        for v in range(self.n_nodes):
            if self.roles[v] == "input":
                if v not in reach_bwd:
                    notes.append(f"input node {self.name(v)} has no path to the output")
                continue
            if v not in reach_fwd:
                what = "the output" if v == self.output else f"node {self.name(v)}"
                notes.append(f"{what} has no path from any input")
            elif v not in reach_bwd:
                notes.append(f"node {self.name(v)} has no path to the output")
        return tuple(notes)

    def name(self, node: int) -> str:
        if self.labels is not None and self.labels[node]:
            return f"{node} ({self.labels[node]})"
        return str(node)

    @cached_property
    def kind(self) -> str:
        """'nb201', 'darts' or 'dag': which formats can represent this cell exactly."""
        if _nb201_edge_order(self) is not None:
            return "nb201"
        if _darts_layout(self) is not None:
            return "darts"
        return "dag"

    # --- edits (each returns a new validated cell) -----------------------------------------

    def with_op(self, edge_index: int, op: str) -> Cell:
        edges = list(self.edges)
        old = edges[edge_index]
        edges[edge_index] = Edge(old.src, old.dst, op)
        return Cell(self.roles, edges, self.labels)

    def with_edges(self, edges: Iterable[Edge]) -> Cell:
        return Cell(self.roles, tuple(edges), self.labels)

    def add_edge(self, src: int, dst: int, op: str) -> Cell:
        return Cell(self.roles, (*self.edges, Edge(src, dst, op)), self.labels)

    def remove_edge(self, edge_index: int) -> Cell:
        return Cell(self.roles, self.edges[:edge_index] + self.edges[edge_index + 1 :], self.labels)

    def add_node(self, role: str = "intermediate", label: str = "") -> Cell:
        """Add a node just before the output (the output keeps the last id when it had it)."""
        out = self.output
        old_labels = self.labels if self.labels is not None else ("",) * self.n_nodes
        if out == self.n_nodes - 1:
            # Insert before the output so ids keep reading input → output.
            remap = {v: (v + 1 if v == out else v) for v in range(self.n_nodes)}
            roles = self.roles[:out] + (role,) + self.roles[out:]
            labels = old_labels[:out] + (label,) + old_labels[out:]
            edges = [Edge(remap[e.src], remap[e.dst], e.op) for e in self.edges]
            return Cell(roles, edges, labels)
        return Cell((*self.roles, role), self.edges, (*old_labels, label))

    def remove_node(self, node: int) -> Cell:
        if self.roles[node] == "output":
            raise CellError("the output node cannot be removed", where=f"node {node}")
        remap = {v: (v if v < node else v - 1) for v in range(self.n_nodes) if v != node}
        edges = [Edge(remap[e.src], remap[e.dst], e.op) for e in self.edges if node not in (e.src, e.dst)]
        roles = self.roles[:node] + self.roles[node + 1 :]
        labels = None if self.labels is None else self.labels[:node] + self.labels[node + 1 :]
        return Cell(roles, edges, labels)

    # --- NAS-Bench-201 ---------------------------------------------------------------------

    @classmethod
    def from_nb201(cls, arch: str) -> Cell:
        """Parse ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: group j lists the edges into node j."""
        text = _text(arch, "NB201 arch string").strip()
        groups = text.split("+")
        if len(groups) != 3:
            raise CellError(
                f"expected 3 groups separated by '+', found {len(groups)} "
                "(format: |op~0|+|op~0|op~1|+|op~0|op~1|op~2|)",
                where="NB201 arch string",
            )
        edges = []
        for j, group in enumerate(groups, start=1):
            where = f"NB201 group {j}"
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise CellError(f"must start and end with '|', got {group!r}", where=where)
            items = group[1:-1].split("|")
            if len(items) != j:
                raise CellError(f"node {j} needs {j} incoming edges, found {len(items)}", where=where)
            for pos, item in enumerate(items, start=1):
                at = f"{where}, position {pos}"
                op, sep, src = item.partition("~")
                if not sep:
                    raise CellError(f"expected 'op~input', got {item!r}", where=at)
                if op not in NB201_OPS:
                    raise CellError(f"unknown op {op!r}; NB201 ops are {', '.join(NB201_OPS)}", where=at)
                if src != str(pos - 1):
                    raise CellError(f"expected input index {pos - 1}, got {src!r}", where=at)
                edges.append(Edge(pos - 1, j, op))
        return cls(("input", "intermediate", "intermediate", "output"), tuple(edges))

    def to_nb201(self) -> str:
        order = _nb201_edge_order(self)
        if order is None:
            raise CellError(
                "not a NAS-Bench-201 cell (needs nodes 0 → 3 with one NB201 op on each of the 6 edges)"
            )
        ops = {(e.src, e.dst): e.op for e in self.edges}
        return "+".join(
            "|" + "|".join(f"{ops[(i, j)]}~{i}" for i in range(j)) + "|" for j in range(1, 4)
        )

    # --- DARTS genotypes -------------------------------------------------------------------

    @classmethod
    def from_genotype_pairs(
        cls, pairs: Sequence[Sequence[Any]], concat: Sequence[int], *, where: str = "genotype"
    ) -> Cell:
        """A DARTS-style cell: inputs 0 and 1, node k ≥ 2 takes pairs 2(k-2) and 2(k-2)+1."""
        if not isinstance(pairs, Sequence) or isinstance(pairs, str) or not pairs:
            raise CellError("expected a non-empty list of (op, input) pairs", where=where)
        if len(pairs) % 2:
            raise CellError(f"needs two (op, input) pairs per node, found {len(pairs)} pairs", where=where)
        n_mid = len(pairs) // 2
        if 2 + n_mid + 1 > MAX_NODES:
            raise CellError(f"too many nodes ({2 + n_mid + 1} > {MAX_NODES})", where=where)
        out = 2 + n_mid
        edges = []
        for i, pair in enumerate(pairs):
            at = f"{where}[{i}]"
            if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
                raise CellError(f"expected an (op, input) pair, got {pair!r}", where=at)
            op, src = pair
            if not isinstance(op, str) or op not in OPS or op == "concat":
                raise CellError(f"unknown op {op!r}", where=at)
            node = 2 + i // 2
            if not isinstance(src, int) or isinstance(src, bool) or not 0 <= src < node:
                raise CellError(f"input of node {node} must be an integer in 0..{node - 1}, got {src!r}", where=at)
            edges.append(Edge(src, node, op))
        concat_list = _int_list(concat, f"{where}_concat")
        if not concat_list:
            raise CellError("the output concatenates no node", where=f"{where}_concat")
        for c in concat_list:
            if not 2 <= c < out:
                raise CellError(f"node {c} is not an intermediate node (2..{out - 1})", where=f"{where}_concat")
        if len(set(concat_list)) != len(concat_list):
            raise CellError(f"repeated node in {concat_list}", where=f"{where}_concat")
        edges.extend(Edge(c, out, "concat") for c in concat_list)
        roles = ("input", "input") + ("intermediate",) * n_mid + ("output",)
        return cls(roles, tuple(edges))

    @classmethod
    def from_genotype(cls, genotype: str | Mapping[str, Any], cell: str = "normal") -> Cell:
        """The normal or reduce cell of a genotype given as DARTS text or the NDS JSON dict."""
        g = Genotype.parse(genotype) if isinstance(genotype, str) else Genotype.from_dict(genotype)
        if cell == "normal":
            return g.normal
        if cell == "reduce":
            if g.reduce is None:
                raise CellError("this genotype has no reduce cell", where="genotype")
            return g.reduce
        raise CellError(f"cell must be 'normal' or 'reduce', got {cell!r}")

    def to_genotype_pairs(self) -> tuple[list[tuple[str, int]], list[int]]:
        layout = _darts_layout(self)
        if layout is None:
            raise CellError(
                "not a DARTS-style cell (needs inputs 0 and 1, two incoming edges per "
                "intermediate node, and an output that concatenates intermediate nodes)"
            )
        return layout

    def to_genotype(self) -> Genotype:
        self.to_genotype_pairs()  # raises if not DARTS-style
        return Genotype(normal=self, reduce=None)

    # --- general JSON ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        nodes = []
        for i, role in enumerate(self.roles):
            node: dict[str, Any] = {"id": i, "role": role}
            if self.labels is not None and self.labels[i]:
                node["label"] = self.labels[i]
            nodes.append(node)
        return {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "nodes": nodes,
            "edges": [{"src": e.src, "dst": e.dst, "op": e.op} for e in self.edges],
        }

    def to_json_text(self, *, compact: bool = False) -> str:
        if compact:
            return json.dumps(self.to_json(), separators=(",", ":"))
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, obj: str | bytes | Mapping[str, Any]) -> Cell:
        if isinstance(obj, (str, bytes)):
            obj = _load_json(obj, "cell JSON")
        if not isinstance(obj, Mapping):
            raise CellError("expected a JSON object", where="cell JSON")
        fmt = obj.get("format", JSON_FORMAT)
        if fmt != JSON_FORMAT:
            raise CellError(f"format must be {JSON_FORMAT!r}, got {fmt!r}", where="cell JSON")
        version = obj.get("version")
        if version != JSON_VERSION:
            raise CellError(f"unsupported version {version!r}; this build reads version {JSON_VERSION}",
                            where="cell JSON")
        nodes, edges = obj.get("nodes"), obj.get("edges")
        if not isinstance(nodes, list) or not nodes:
            raise CellError("'nodes' must be a non-empty list", where="cell JSON")
        if not isinstance(edges, list):
            raise CellError("'edges' must be a list", where="cell JSON")
        if len(nodes) > MAX_NODES:
            raise CellError(f"too many nodes ({len(nodes)} > {MAX_NODES})", where="cell JSON")
        if len(edges) > MAX_EDGES:
            raise CellError(f"too many edges ({len(edges)} > {MAX_EDGES})", where="cell JSON")
        roles, labels = [], []
        for i, node in enumerate(nodes):
            at = f"cell JSON nodes[{i}]"
            if not isinstance(node, Mapping):
                raise CellError("expected an object with 'id' and 'role'", where=at)
            if node.get("id") != i:
                raise CellError(f"'id' must be {i} (nodes are listed in id order), got {node.get('id')!r}", where=at)
            if node.get("role") not in ROLES:
                raise CellError(f"'role' must be one of {', '.join(ROLES)}, got {node.get('role')!r}", where=at)
            label = node.get("label", "")
            if not isinstance(label, str):
                raise CellError("'label' must be a string", where=at)
            roles.append(node["role"])
            labels.append(label)
        parsed = []
        for i, edge in enumerate(edges):
            at = f"cell JSON edges[{i}]"
            if not isinstance(edge, Mapping):
                raise CellError("expected an object with 'src', 'dst' and 'op'", where=at)
            src, dst, op = edge.get("src"), edge.get("dst"), edge.get("op")
            for key, value in (("src", src), ("dst", dst)):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise CellError(f"'{key}' must be a node id, got {value!r}", where=at)
            if not isinstance(op, str):
                raise CellError(f"'op' must be a string, got {op!r}", where=at)
            parsed.append(Edge(src, dst, op))
        return cls(tuple(roles), tuple(parsed), tuple(labels) if any(labels) else None)

    # --- any format ------------------------------------------------------------------------

    def to_text(self) -> str:
        """The most compact exact text for this cell (NB201 string, genotype JSON or cell JSON)."""
        if self.kind == "nb201":
            return self.to_nb201()
        if self.kind == "darts":
            pairs, concat = self.to_genotype_pairs()
            return json.dumps({"normal": [list(p) for p in pairs], "normal_concat": concat},
                              separators=(",", ":"))
        return self.to_json_text(compact=True)


@dataclass(frozen=True)
class Genotype:
    """A DARTS genotype: a normal cell and (optionally) a reduce cell, each DARTS-style."""

    normal: Cell
    reduce: Cell | None = None

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Genotype:
        if not isinstance(obj, Mapping):
            raise CellError("expected an object with 'normal' and 'normal_concat'", where="genotype")
        for key in ("normal", "normal_concat"):
            if key not in obj:
                raise CellError(f"missing key {key!r}", where="genotype")
        normal = Cell.from_genotype_pairs(obj["normal"], obj["normal_concat"], where="normal")
        reduce = None
        if obj.get("reduce"):
            if "reduce_concat" not in obj:
                raise CellError("missing key 'reduce_concat'", where="genotype")
            reduce = Cell.from_genotype_pairs(obj["reduce"], obj["reduce_concat"], where="reduce")
        return cls(normal, reduce)

    @classmethod
    def parse(cls, text: str) -> Genotype:
        """DARTS ``Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)``
        text (``range(2, 6)`` allowed, as in DARTS' genotypes.py) or the NDS JSON dict."""
        text = _text(text, "genotype").strip()
        if text.startswith("{"):
            return cls.from_dict(_load_json(text, "genotype JSON"))
        try:
            with warnings.catch_warnings():  # e.g. "invalid decimal literal": the error below says it
                warnings.simplefilter("ignore", SyntaxWarning)
                tree = ast.parse(text, mode="eval").body
        except SyntaxError as exc:
            raise CellError(f"not valid genotype text ({exc.msg} at column {exc.offset})", where="genotype") from None
        except (ValueError, RecursionError, MemoryError):  # e.g. thousands of nested unary minus signs
            raise CellError("not valid genotype text (too deeply nested)", where="genotype") from None
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
            raise CellError("expected Genotype(normal=[...], normal_concat=[...], ...)", where="genotype")
        if tree.args:
            raise CellError("use keyword arguments: Genotype(normal=..., normal_concat=..., ...)", where="genotype")
        fields: dict[str, Any] = {}
        for kw in tree.keywords:
            if kw.arg not in ("normal", "normal_concat", "reduce", "reduce_concat"):
                raise CellError(f"unknown field {kw.arg!r}", where="genotype")
            fields[kw.arg] = _literal(kw.value, kw.arg)
        return cls.from_dict(fields)

    def to_dict(self) -> dict[str, Any]:
        pairs, concat = self.normal.to_genotype_pairs()
        out: dict[str, Any] = {"normal": [list(p) for p in pairs], "normal_concat": concat}
        if self.reduce is not None:
            rpairs, rconcat = self.reduce.to_genotype_pairs()
            out["reduce"] = [list(p) for p in rpairs]
            out["reduce_concat"] = rconcat
        else:
            out["reduce"], out["reduce_concat"] = [], []
        return out

    def to_text(self) -> str:
        d = self.to_dict()

        def pairs(ps: list[list[Any]]) -> str:
            return "[" + ", ".join(f"({op!r}, {i})" for op, i in ps) + "]"

        return (
            f"Genotype(normal={pairs(d['normal'])}, normal_concat={d['normal_concat']}, "
            f"reduce={pairs(d['reduce'])}, reduce_concat={d['reduce_concat']})"
        )


def parse_cell(text: str, *, genotype_cell: str = "normal") -> Cell:
    """Any supported text: an NB201 arch string, DARTS genotype text or JSON, or cell JSON."""
    text = _text(text, "cell text").strip()
    if not text:
        raise CellError("empty input: paste an NB201 arch string, a genotype, or cell JSON")
    if text.startswith("|"):
        return Cell.from_nb201(text)
    if text.startswith("Genotype"):
        return Cell.from_genotype(text, genotype_cell)
    if text.startswith("{"):
        obj = _load_json(text, "JSON")
        if isinstance(obj, Mapping) and "normal" in obj:
            return Cell.from_genotype(obj, genotype_cell)
        return Cell.from_json(obj)
    raise CellError(
        "not a recognised cell format: an NB201 string starts with '|', a genotype with "
        "'Genotype(' or '{\"normal\"', cell JSON with '{'"
    )


# --- validation helpers ------------------------------------------------------------------------


def _validate(cell: Cell) -> None:
    n = len(cell.roles)
    if n > MAX_NODES:
        raise CellError(f"too many nodes ({n} > {MAX_NODES})")
    if len(cell.edges) > MAX_EDGES:
        raise CellError(f"too many edges ({len(cell.edges)} > {MAX_EDGES})")
    for i, role in enumerate(cell.roles):
        if role not in ROLES:
            raise CellError(f"role must be one of {', '.join(ROLES)}, got {role!r}", where=f"node {i}")
    n_out = cell.roles.count("output")
    if n_out != 1:
        raise CellError(f"a cell needs exactly one output node, found {n_out}")
    if "input" not in cell.roles:
        raise CellError("a cell needs at least one input node")
    if cell.labels is not None and len(cell.labels) != n:
        raise CellError(f"{len(cell.labels)} labels for {n} nodes")
    out = cell.roles.index("output")
    for k, e in enumerate(cell.edges):
        where = f"edge {k} ({e.src}→{e.dst})"
        if not isinstance(e.op, str) or e.op not in OPS:
            raise CellError(f"unknown op {e.op!r}", where=where)
        for v in (e.src, e.dst):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < n:
                raise CellError(f"node {v!r} does not exist (nodes are 0..{n - 1})", where=where)
        if e.src == e.dst:
            raise CellError("self-loop", where=where)
        if cell.roles[e.dst] == "input":
            raise CellError(f"edge into input node {e.dst}", where=where)
        if e.src == out:
            raise CellError("edge out of the output node", where=where)
        if e.op == "concat" and e.dst != out:
            raise CellError("'concat' edges may only enter the output node", where=where)
    if _topological_order(n, cell.edges) is None:
        raise CellError(f"the graph has a cycle through nodes {_find_cycle(n, cell.edges)}")


def _topological_order(n: int, edges: Sequence[Edge]) -> tuple[int, ...] | None:
    indeg = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    for e in edges:
        succ[e.src].append(e.dst)
        indeg[e.dst] += 1
    ready = [v for v in range(n) if indeg[v] == 0]
    order = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    return tuple(order) if len(order) == n else None


def _find_cycle(n: int, edges: Sequence[Edge]) -> str:
    succ: list[list[int]] = [[] for _ in range(n)]
    for e in edges:
        succ[e.src].append(e.dst)
    state = [0] * n  # 0 new, 1 on stack, 2 done
    stack: list[int] = []

    def visit(v: int) -> list[int] | None:
        state[v] = 1
        stack.append(v)
        for w in succ[v]:
            if state[w] == 1:
                return stack[stack.index(w):] + [w]
            if state[w] == 0 and (found := visit(w)):
                return found
        stack.pop()
        state[v] = 2
        return None

    for v in range(n):
        if state[v] == 0 and (cycle := visit(v)):
            return " → ".join(map(str, cycle))
    return "?"


def _reachable(starts: Iterable[int], edges: Sequence[Edge], *, forward: bool) -> set[int]:
    nbrs: dict[int, list[int]] = {}
    for e in edges:
        a, b = (e.src, e.dst) if forward else (e.dst, e.src)
        nbrs.setdefault(a, []).append(b)
    seen = set(starts)
    todo = list(seen)
    while todo:
        for w in nbrs.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def _nb201_edge_order(cell: Cell) -> list[int] | None:
    if cell.roles != ("input", "intermediate", "intermediate", "output") or len(cell.edges) != 6:
        return None
    pairs = [(e.src, e.dst) for e in cell.edges]
    wanted = [(i, j) for j in range(1, 4) for i in range(j)]
    if sorted(pairs) != sorted(wanted) or any(e.op not in NB201_OPS for e in cell.edges):
        return None
    return [pairs.index(p) for p in wanted]


def _darts_layout(cell: Cell) -> tuple[list[tuple[str, int]], list[int]] | None:
    n = cell.n_nodes
    if n < 4 or cell.roles[:2] != ("input", "input") or cell.roles[-1] != "output":
        return None
    if any(r != "intermediate" for r in cell.roles[2:-1]):
        return None
    out = n - 1
    body = [e for e in cell.edges if e.dst != out]
    tail = [e for e in cell.edges if e.dst == out]
    # Edges must come node by node, two each, then the concat edges, so the text order is stable.
    if len(body) != 2 * (n - 3) or cell.edges[: len(body)] != tuple(body):
        return None
    for k, e in enumerate(body):
        if e.dst != 2 + k // 2 or e.op == "concat":
            return None
    if not tail or any(e.op != "concat" for e in tail):
        return None
    return [(e.op, e.src) for e in body], [e.src for e in tail]


def _text(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        if len(value) > 4 * MAX_TEXT_CHARS:  # UTF-8 takes at most 4 bytes a character: too long either way
            raise CellError(f"too long ({len(value)} bytes; a cell is at most {MAX_TEXT_CHARS} characters)", where=what)
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise CellError("not UTF-8 text", where=what) from None
    if not isinstance(value, str):
        raise CellError(f"expected text, got {type(value).__name__}", where=what)
    if len(value) > MAX_TEXT_CHARS:
        raise CellError(f"too long ({len(value)} characters > {MAX_TEXT_CHARS})", where=what)
    return value


def _load_json(text: str | bytes, what: str) -> Any:
    text = _text(text, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellError(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", where=what) from None
    except RecursionError:
        raise CellError("malformed JSON: nested too deeply", where=what) from None
    except ValueError:  # an integer of more than 4,300 digits
        raise CellError("malformed JSON: a number is too large", where=what) from None


def _int_list(value: Any, where: str) -> list[int]:
    if isinstance(value, range):
        value = list(value)
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise CellError(f"expected a list of node indices, got {value!r}", where=where)
    return list(value)


def _literal(node: ast.expr, where: str) -> Any:
    """Literal lists/tuples/strings/ints, plus ``range(a, b)``; nothing is evaluated."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        args = [_literal(a, where) for a in node.args]
        if node.keywords or not 1 <= len(args) <= 2 or not all(isinstance(a, int) for a in args):
            raise CellError("range() takes one or two integers", where=where)
        if any(abs(a) > MAX_NODES for a in args):
            raise CellError("range() bound out of limits", where=where)
        return list(range(*args))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)) and not isinstance(node.value, bool):
        if isinstance(node.value, int) and abs(node.value) > 10**9:  # e.g. 0xfff…: too big to print
            raise CellError("integer out of range", where=where)
        return node.value
    raise CellError(f"unsupported expression {ast.dump(node)[:60]}", where=where)
