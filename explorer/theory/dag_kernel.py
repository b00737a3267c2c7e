"""The exact infinite-width kernel of an MLP-cell DAG: cross-covariances and ReLU means.

Model (``explorer.nets.mlp.MLPCellNet`` at initialisation, width m → ∞): a parameterized edge e
computes Y_e = √2·ReLU(W_e X_src) with W_e ~ N(0, 1/m) fresh per edge and no bias; every other live
edge is the identity; a node sums its incoming edges; a ``concat`` output concatenates its parts.
Every input node carries the same stem output h (so in a DARTS-style cell the two input nodes are
identical), centred (coordinate mean 0) with ⟨h(x), h(x)⟩/m = 1 and ⟨h(x), h(x')⟩/m = K0.

For every pair of nodes u, v the module computes the limits of ⟨X_u(x), X_v(x)⟩/m (``same``) and
⟨X_u(x), X_v(x')⟩/m (``cross``), and the coordinate mean of every node, in topological order. Both
inputs have the same norm, so swapping x and x' changes nothing: each 2×2 block is
[[same, cross], [cross, same]] and both arrays are symmetric in (u, v).

What "depends on an edge's weights" means here: X_v depends on W_e iff v = dst(e) or v is reachable
from dst(e) along live edges (e lies on some path into v). The recurrence needs only this: when v is
processed, no earlier node depends on the weights of an edge into v. For two vectors A, B of which A
does not depend on W_e, ⟨A, Y_e⟩/m → mean(A)·μ_e, where μ_e = √(q/π) is the ReLU mean of e (q the
squared norm per coordinate of its source): conditioned on every other weight, the coordinates of
W_e X_src are i.i.d. N(0, q) and independent of A. Hence, with e, f edges into v:

- the same parameterized edge on both sides: the arc-cosine map of its source's kernel,
  q on the same input and q·κ(c/q) across inputs (κ: ``relu.kappa``);
- two different parameterized edges: μ_e·μ_f (one of them never depends on the other's weights);
- a parameterized edge against a node u processed earlier, or a skip's source: μ_e·mean(u);
- a skip edge passes its source's covariances and mean through.

Branches are therefore never independent: every pair of ReLU branches adds μ_e·μ_f, and parallel
parameter-free paths add their sources' full covariance. ``docs/nngp.md`` derives this and says when
Chen et al.'s sum rule (``nngp.sum_rule_kernel``) is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from explorer.cell.model import Cell, Edge
from explorer.theory.relu import lambda_min_2x2, relu_cross, relu_mean

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class DagKernel:
    """The infinite-width second moments of every node, vectorised over K0.

    ``same[u, v]`` = lim ⟨X_u(x), X_v(x)⟩/m and ``cross[u, v]`` = lim ⟨X_u(x), X_v(x')⟩/m, each of
    shape (n, n, *k0.shape); ``mean[v]`` = lim of X_v's coordinate mean, shape (n, *k0.shape).
    A concat output is m·(number of parts) wide, so its pairs with other nodes are NaN; its own
    entry (normalised by m, not by its width) is the sum of its parts' kernels, and its mean is
    the mean over all its coordinates.
    """

    k0: FloatArray
    same: FloatArray
    cross: FloatArray
    mean: FloatArray
    output: int

    @property
    def output_kernel(self) -> tuple[FloatArray, FloatArray]:
        """(diagonal, off-diagonal) of the output's 2×2 kernel, each shaped like K0."""
        return self.same[self.output, self.output], self.cross[self.output, self.output]

    @property
    def lambda_min(self) -> FloatArray:
        """Smallest eigenvalue of the output's 2×2 kernel, shaped like K0."""
        return lambda_min_2x2(*self.output_kernel)


def _edge_term(
    same: FloatArray, cross: FloatArray, mean: FloatArray, e: Edge
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(⟨T,T⟩ same input, ⟨T,T'⟩ across inputs, mean) of one incoming edge's value T."""
    s = e.src
    if e.parameterized:
        q = same[s, s]
        return q, relu_cross(q, cross[s, s]), relu_mean(q)
    return same[s, s], cross[s, s], mean[s]


def dag_kernel(cell: Cell, k0: ArrayLike) -> DagKernel:
    """The exact infinite-width kernel of every node pair of ``cell`` for inputs with Gram [[1, K0], [K0, 1]].

    Nodes not reached from any input are zero vectors (the network leaves them out, which is the
    same thing: a bias-free ReLU edge maps 0 to 0), so they need no special case.
    """
    k0 = np.asarray(k0, dtype=np.float64)
    if np.any(np.abs(k0) > 1.0) or not np.all(np.isfinite(k0)):
        raise ValueError("K0 is a correlation: every value must lie in [-1, 1]")
    n = cell.n_nodes
    shape = (n, n, *k0.shape)
    same, cross = np.zeros(shape), np.zeros(shape)
    mean = np.zeros((n, *k0.shape))
    incoming: dict[int, list[Edge]] = {v: [] for v in range(n)}
    for e in cell.live_edges:
        incoming[e.dst].append(e)

    zero = np.zeros(k0.shape)
    done: list[int] = []
    for v in cell.topological_order:
        if cell.roles[v] == "input":
            for u in (*done, v):
                if cell.roles[u] == "input":  # every input node carries the same h
                    same[u, v] = same[v, u] = 1.0
                    cross[u, v] = cross[v, u] = k0
            done.append(v)
            continue
        into = incoming[v]
        if any(e.op == "concat" for e in into):
            _concat_output(same, cross, mean, v, into)
            continue
        # Sources of the skip edges and of the ReLU edges into v (repeated for parallel edges).
        sk = np.array([e.src for e in into if not e.parameterized], dtype=np.intp)
        li = np.array([e.src for e in into if e.parameterized], dtype=np.intp)
        q = same[li, li]  # (ReLU edges, *K0): each source's squared norm per coordinate
        mu = relu_mean(q)
        mu_sum, skip_mean = mu.sum(axis=0) + zero, mean[sk].sum(axis=0) + zero
        mean[v] = mu_sum + skip_mean
        # Against every earlier node u: no earlier node depends on the weights of an edge into v,
        # so each ReLU edge gives μ_e·mean_u and each skip passes K[u, src] through.
        prev = np.array(done, dtype=np.intp)
        # v with itself, Σ over ordered pairs (e, f) of incoming edges: e ≠ f ReLU edges give μ_e μ_f,
        # a ReLU edge against a skip μ_e·mean_src, and these are the same on both entries.
        mixed = mu_sum**2 - (mu**2).sum(axis=0) + 2.0 * mu_sum * skip_mean
        for k, own in ((same, q.sum(axis=0)), (cross, relu_cross(q, cross[li, li]).sum(axis=0))):
            col = k[np.ix_(prev, sk)].sum(axis=1) + mean[prev] * mu_sum
            k[prev, v] = col
            k[v, prev] = col
            k[v, v] = k[np.ix_(sk, sk)].sum(axis=(0, 1)) + own + mixed
        done.append(v)
    return DagKernel(k0=k0, same=same, cross=cross, mean=mean, output=cell.output)


def _concat_output(same: FloatArray, cross: FloatArray, mean: FloatArray, v: int, into: list[Edge]) -> None:
    """A concat output: parts sit in separate coordinates, so only each part's own kernel adds up."""
    same[v, :] = same[:, v] = np.nan
    cross[v, :] = cross[:, v] = np.nan
    terms = [_edge_term(same, cross, mean, e) for e in into]
    same[v, v] = sum(t[0] for t in terms)
    cross[v, v] = sum(t[1] for t in terms)
    mean[v] = sum(t[2] for t in terms) / len(terms)


def exact_kernel(cell: Cell, k0: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The exact output kernel as (diagonal, off-diagonal), shaped like K0."""
    return dag_kernel(cell, k0).output_kernel


def exact_lambda_min(cell: Cell, k0: ArrayLike) -> FloatArray:
    """λmin of the exact output kernel, shaped like K0 (``explorer metrics``' ``nngp_exact_dag``)."""
    return dag_kernel(cell, k0).lambda_min
