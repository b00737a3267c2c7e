"""The built-in hypotheses H1–H6: claims of Chen et al. (NeurIPS 2022) and Shu et al. (ICLR 2020).

They live here, in memory; a store holds one only once somebody runs or edits it, so readers see
the catalogue without anything being written.
"""

from __future__ import annotations

from collections.abc import Sequence

from explorer.core.errors import UserError
from explorer.core.specs import validate_model
from explorer.labs.specs import HypothesisSpec


def _preset(name: str) -> str:
    from explorer.cell.presets import get_preset

    return get_preset(name).cell.to_text()


def _mlp(edges: Sequence[tuple[int, int, str]], n_nodes: int) -> str:
    from explorer.cell.model import Cell, Edge

    roles = ("input", *("intermediate",) * (n_nodes - 2), "output")
    return Cell(roles, tuple(Edge(s, d, op) for s, d, op in edges)).to_text()


def _darts_pairs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from explorer.cell.presets import PRESETS
    from explorer.theory.variants import adapt

    originals = [p.cell for p in PRESETS if p.space == "darts"]
    return tuple(adapt(c).to_text() for c in originals), tuple(c.to_text() for c in originals)


CONVERGENCE = dict(data={"name": "digits_flat"}, network="mlp", width=256, optimizer="sgd", lr=0.01, momentum=0.0,
                   batch_size=64, epochs=20, seeds=(0, 1, 2, 3, 4), metric="train_loss_auc")
DARTS_SMALL = dict(data={"name": "digits"}, network="darts", channels=8, layers=3, optimizer="sgd", lr=0.025,
                   momentum=0.9, batch_size=64, epochs=10, seeds=(0, 1, 2))


def builtins() -> list[HypothesisSpec]:
    """H1–H6: claims from Chen et al. (NeurIPS 2022) and Shu et al. (ICLR 2020), ready to run."""
    wider, originals = _darts_pairs()
    sequential = [(0, 1, "linear"), (1, 2, "linear"), (2, 3, "linear")]
    specs = [
        dict(key="H1", title="Chen et al.: DAG#3 converges faster than DAG#2, faster than DAG#1",
             statement="At equal parameter count, the mixed MLP cell DAG#3 reaches lower training loss sooner than "
                       "the parallel DAG#2, which does so sooner than the sequential DAG#1.",
             source="Chen et al., NeurIPS 2022, Sec. 4 / Fig. 3", direction="decreasing",
             groups=[{"label": "DAG#1 (sequential)", "cells": [_preset("DAG#1 (sequential)")]},
                     {"label": "DAG#2 (parallel)", "cells": [_preset("DAG#2 (parallel)")]},
                     {"label": "DAG#3 (mixed)", "cells": [_preset("DAG#3 (mixed)")]}],
             protocol={**CONVERGENCE}),
        dict(key="H2", title="Shu et al.: wider, shallower DARTS cells converge faster",
             statement="The widest and shallowest rewiring of a popular NAS cell (same ops, every intermediate node "
                       "fed by the cell inputs) trains faster than the original cell.",
             source="Shu et al., ICLR 2020, Sec. 5 / Fig. 4", direction="less",
             groups=[{"label": "adapted (wide, shallow)", "cells": list(wider)},
                     {"label": "original", "cells": list(originals)}],
             protocol={**DARTS_SMALL, "metric": "train_loss_auc"}),
        dict(key="H3", title="Shu et al.: wider, shallower cells do not generalise better",
             statement="The adapted (wide, shallow) cells reach the same test accuracy as the originals, within "
                       "1 percentage point.",
             source="Shu et al., ICLR 2020, Sec. 5 / Table 1", direction="none",
             groups=[{"label": "adapted (wide, shallow)", "cells": list(wider)},
                     {"label": "original", "cells": list(originals)}],
             protocol={**DARTS_SMALL, "metric": "final_test_acc", "equivalence_margin": 0.01}),
        dict(key="H4", title="Skip connections speed up convergence at equal parameters",
             statement="Adding parameter-free skip edges (input→node 2, node 1→output) to a 3-layer sequential MLP "
                       "cell lowers the training-loss curve.",
             source="He et al. 2016; Chen et al. 2022 (skips raise m̄ at equal parameters)", direction="less",
             groups=[{"label": "sequential + skips", "cells": [_mlp([*sequential, (0, 2, "skip_connect"),
                                                                      (1, 3, "skip_connect")], 4)]},
                     {"label": "sequential", "cells": [_mlp(sequential, 4)]}],
             protocol={**CONVERGENCE}),
        dict(key="H5", title="Negative case: a skip connection gives no benefit in a shallow network",
             statement="In a one-layer MLP cell, adding a parallel skip edge changes the training-loss curve by less "
                       "than 0.02 (mean cross-entropy over the epochs).",
             source="the flip side of H4: a skip only shortens paths that are long", direction="none",
             groups=[{"label": "one layer + skip", "cells": [_mlp([(0, 1, "linear"), (0, 1, "skip_connect")], 2)]},
                     {"label": "one layer", "cells": [_mlp([(0, 1, "linear")], 2)]}],
             protocol={**CONVERGENCE, "equivalence_margin": 0.02}),
        dict(key="H6", title="NB201 cells inside the d̄/m̄ box are more accurate than those outside",
             statement="On every NB201 dataset the mean 200-epoch test accuracy of cells inside the box (f = ½) "
                       "is higher than outside.",
             source="Chen et al., NeurIPS 2022, Sec. 5.3", direction="greater",
             groups=[{"label": "inside the box", "warehouse": {"space": "nb201", "box": "inside", "f": 0.5}},
                     {"label": "outside the box", "warehouse": {"space": "nb201", "box": "outside", "f": 0.5}}],
             protocol={"kind": "warehouse", "metric": "accuracy", "datasets": ["cifar10", "cifar100", "imagenet16"],
                       "schedule": "200ep"}),
    ]
    return [validate_model(HypothesisSpec, s, "hypothesis") for s in specs]


def builtin(key: str) -> HypothesisSpec:
    for spec in builtins():
        if spec.key == key:
            return spec
    raise UserError(f"no built-in hypothesis {key!r}; built-ins: H1–H6")
