"""Canonical forms of cells: which cells a benchmark treats as one.

``nb201_unique_str`` is NATS-Bench's ``Structure.to_unique_str(consider_zero=True)`` (xautodl),
re-implemented so the editor can match a cell without the benchmark's code: ``skip_connect`` passes
its input's string through, ``none`` (or an input that is exactly zero) contributes ``#``, any other
op wraps its input as ``(x)@op``, and a node's string is its incoming terms sorted and joined by
``+``. Two cells with the same string compute the same function up to the order of summed branches.
It is NATS-Bench's notion, not full graph isomorphism (e.g. a node fed only by zeros via a
non-``none`` op is not folded), and tests/test_evidence.py checks it on all 15,625 cells against the
strings the warehouse stores.
"""

from __future__ import annotations

from explorer.cell.model import Cell

NB201_EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for j in range(1, 4) for i in range(j))


def nb201_unique_str(cell: Cell) -> str | None:
    """NATS-Bench's unique string of an NB201 cell; None when the cell is not one."""
    if cell.kind != "nb201":
        return None
    ops = {(e.src, e.dst): e.op for e in cell.edges}
    nodes = {0: "0"}
    for j in range(1, 4):
        terms = []
        for i in range(j):
            op, x = ops[(i, j)], nodes[i]
            if op == "none" or x == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(x)
            else:
                terms.append(f"({x})@{op}")
        nodes[j] = "+".join(sorted(terms))
    return nodes[3]


def nb201_ops(cell: Cell) -> tuple[str, ...]:
    """The six ops of an NB201 cell in arch-string order (0→1, 0→2, 1→2, 0→3, 1→3, 2→3)."""
    ops = {(e.src, e.dst): e.op for e in cell.edges}
    return tuple(ops[p] for p in NB201_EDGES)


def nb201_from_ops(ops: tuple[str, ...] | list[str]) -> str:
    """The NB201 arch string of six ops in arch-string order."""
    it = iter(ops)
    groups = [[f"{next(it)}~{i}" for i in range(j)] for j in range(1, 4)]
    return "+".join("|" + "|".join(g) + "|" for g in groups)
