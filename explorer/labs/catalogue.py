"""The built-in hypotheses: H1–H6, claims of Chen et al. (NeurIPS 2022) and Shu et al. (ICLR 2020),
and H7–H14, what makes skip connections work (degradation with depth, stability across learning
rates, the generalisation gap, gradient flow, scaled residual branches).

They live here, in memory; a store holds one only once somebody runs or edits it, so readers see
the catalogue without anything being written. Every one can reach α with its default seeds, even
after Holm across all of them (``tests/test_hypotheses.py`` checks ``design_power``); "quick" sizes
run on a CPU in minutes, and ``paper_size`` gives the GPU protocol.

Sources (checked against the papers' own text):
- Chen, Huang, Gong, Hanin & Wang, "Deep Architecture Connectivity Matters for Its Convergence: A
  Fine-Grained Analysis", NeurIPS 2022: DAG#1–#3 are drawn in Fig. 3 and analysed in Sec. 3.3; the
  measured training curves are Fig. 4; the d̄/m̄ filter is Sec. 5.
- Shu, Wang & Cai, "Understanding Architectures Learnt by Cell-based Neural Architecture Search",
  ICLR 2020: the popular cells' widths and depths (Table 2), their fast convergence against random
  variants (Sec. 4.1), and generalisation (Sec. 5).
"""

from __future__ import annotations

from collections.abc import Sequence

from explorer.core.errors import UserError
from explorer.core.specs import validate_model
from explorer.labs.specs import SEEDS, HypothesisSpec


def _preset(name: str) -> str:
    from explorer.cell.presets import get_preset

    return get_preset(name).cell.to_text()


def _mlp(edges: Sequence[tuple[int, int, str]], n_nodes: int) -> str:
    from explorer.cell.model import Cell, Edge

    roles = ("input", *("intermediate",) * (n_nodes - 2), "output")
    return Cell(roles, tuple(Edge(s, d, op) for s, d, op in edges)).to_text()


def _darts_pairs() -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """(adapted, original) cells whose adaptation changes Shu's width or depth, and the names of
    those it does not change (null contrasts: nothing manipulated, so nothing to test)."""
    from explorer.cell.presets import PRESETS
    from explorer.theory.variants import adapt, changes_shape

    kept, dropped = [], []
    for p in PRESETS:
        if p.space == "darts":
            (kept if changes_shape(p.cell, adapt(p.cell)) else dropped).append(p)
    return (tuple(adapt(p.cell).to_text() for p in kept), tuple(p.cell.to_text() for p in kept),
            [p.name.removesuffix(" normal cell") for p in dropped])


def chain(depth: int, residual: bool) -> str:
    """A chain of ``depth`` linear layers (MLP cell); ``residual`` adds an identity edge beside each."""
    edges = [(i, i + 1, "linear") for i in range(depth)]
    if residual:
        edges += [(i, i + 1, "skip_connect") for i in range(depth)]
    return _mlp(edges, depth + 1)


def skips_vs_plain(depth: int, residual: str = "residual") -> list[dict]:
    """The two groups of the chain hypotheses: a ``depth``-layer chain with identity edges (labelled
    ``residual``), then the same chain without them."""
    return [{"label": f"{residual}, {depth} layers", "cells": [chain(depth, True)]},
            {"label": f"plain, {depth} layers", "cells": [chain(depth, False)]}]


CONVERGENCE = dict(data={"name": "digits_flat"}, network="mlp", width=256, optimizer="sgd", lr=0.01, momentum=0.0,
                   batch_size=64, epochs=20, seeds=SEEDS, metric="train_loss_auc")
# Paired by cell, 4 seeds: 2 pairs × C(8, 4)² = 4,900 splits, so the floor is p = 2/4900 ≈ 0.0004.
DARTS_SMALL = dict(data={"name": "digits"}, network="darts", channels=8, layers=3, optimizer="sgd", lr=0.025,
                   momentum=0.9, batch_size=64, epochs=10, seeds=(0, 1, 2, 3), paired=True)
# Skip-connection probes: MLP-cell chains on the two built-in generated/bundled sets (digits, MNIST-1D).
DEEP, SHALLOW, MID = 32, 2, 8
BUILTIN_DATA = ({"label": "digits", "data": {"name": "digits_flat"}}, {"label": "mnist1d", "data": {"name": "mnist1d"}})
CHAINS = dict(network="mlp", width=128, optimizer="sgd", lr=0.01, momentum=0.9, batch_size=64, epochs=10,
              seeds=SEEDS, sweep=BUILTIN_DATA)
# GPU ("paper") size of the chain hypotheses: He et al.'s depths, wider layers, longer training.
PAPER_CHAINS = dict(width=512, epochs=100, seeds=tuple(range(10)))


def paper_size(spec: HypothesisSpec) -> HypothesisSpec:
    """The GPU-size protocol of a chain hypothesis (H7–H14): a new spec, to save under a new key."""
    if spec.protocol.network != "mlp":
        raise UserError(f"{spec.key} has no paper size here: H2/H3 at paper size need CIFAR-10 (DARTS protocol)")
    changes = {k: v for k, v in PAPER_CHAINS.items() if spec.protocol.kind == "train" or k != "epochs"}
    return spec.model_copy(update={"key": f"{spec.key}-paper"}).with_protocol(**changes)


def builtins() -> list[HypothesisSpec]:
    """H1–H14: the papers' claims and the skip-connection probes, ready to run."""
    wider, originals, null = _darts_pairs()
    null_note = (f"Null contrasts left out: adapting {', '.join(null)} changes neither Shu's width nor depth "
                 "(their nodes already take only the cell inputs). Paired by cell; seeds are replicates within a "
                 "pair, so the inference is about these cells, not NAS cells at large.")
    sequential = [(0, 1, "linear"), (1, 2, "linear"), (2, 3, "linear")]
    specs = [
        dict(
            key="H1",
            title="Chen et al.: DAG#3 converges faster than DAG#2, faster than DAG#1",
            statement="At equal parameter count, the mixed MLP cell DAG#3 reaches lower training loss sooner than "
            "the parallel DAG#2, which does so sooner than the sequential DAG#1.",
            source="Chen et al., NeurIPS 2022, DAGs in Fig. 3 / Sec. 3.3, training curves in Fig. 4",
            direction="decreasing",
            groups=[
                {"label": "DAG#1 (sequential)", "cells": [_preset("DAG#1 (sequential)")]},
                {"label": "DAG#2 (parallel)", "cells": [_preset("DAG#2 (parallel)")]},
                {"label": "DAG#3 (mixed)", "cells": [_preset("DAG#3 (mixed)")]},
            ],
            protocol={**CONVERGENCE},
        ),
        dict(
            key="H2",
            title="Shu et al.: wider, shallower DARTS cells converge faster",
            statement="The widest and shallowest rewiring of a popular NAS cell (same ops, every intermediate node "
            "fed by the cell inputs) trains faster than the original cell.",
            source="Shu, Wang & Cai, ICLR 2020, Sec. 4.1 (convergence; widths and depths in Table 2)",
            notes=null_note,
            direction="less",
            groups=[
                {"label": "adapted (wide, shallow)", "cells": list(wider)},
                {"label": "original", "cells": list(originals)},
            ],
            protocol={**DARTS_SMALL, "metric": "train_loss_auc"},
        ),
        dict(
            key="H3",
            title="Shu et al.: wider, shallower cells do not generalise better",
            statement="The adapted (wide, shallow) cells reach the same test accuracy as the originals, within "
            "1 percentage point.",
            source="Shu, Wang & Cai, ICLR 2020, Sec. 5 (generalisation)",
            notes=null_note,
            direction="none",
            groups=[
                {"label": "adapted (wide, shallow)", "cells": list(wider)},
                {"label": "original", "cells": list(originals)},
            ],
            protocol={**DARTS_SMALL, "metric": "final_test_acc", "equivalence_margin": 0.01},
        ),
        dict(
            key="H4",
            title="Skip connections speed up convergence at equal parameters",
            statement="Adding parameter-free skip edges (input→node 2, node 1→output) to a 3-layer sequential MLP "
            "cell lowers the training-loss curve.",
            source="He et al. 2016; Chen et al. 2022 (skips raise m̄ at equal parameters)",
            direction="less",
            groups=[
                {
                    "label": "sequential + skips",
                    "cells": [_mlp([*sequential, (0, 2, "skip_connect"), (1, 3, "skip_connect")], 4)],
                },
                {"label": "sequential", "cells": [_mlp(sequential, 4)]},
            ],
            protocol={**CONVERGENCE},
        ),
        dict(
            key="H5",
            title="Negative case: a skip connection gives no benefit in a shallow network",
            statement="In a one-layer MLP cell, adding a parallel skip edge changes the training-loss curve by less "
            "than 0.02 (mean cross-entropy over the epochs).",
            source="the flip side of H4: a skip only shortens paths that are long",
            direction="none",
            groups=[
                {"label": "one layer + skip", "cells": [_mlp([(0, 1, "linear"), (0, 1, "skip_connect")], 2)]},
                {"label": "one layer", "cells": [_mlp([(0, 1, "linear")], 2)]},
            ],
            protocol={**CONVERGENCE, "equivalence_margin": 0.02},
        ),
        dict(
            key="H6",
            title="NB201 cells inside the d̄/m̄ box are more accurate than those outside",
            statement="On every NB201 dataset the mean 200-epoch test accuracy of cells inside the box (f = ½) "
            "is higher than outside.",
            source="Chen et al., NeurIPS 2022, Sec. 5.3",
            direction="greater",
            groups=[
                {"label": "inside the box", "warehouse": {"space": "nb201", "box": "inside", "f": 0.5}},
                {"label": "outside the box", "warehouse": {"space": "nb201", "box": "outside", "f": 0.5}},
            ],
            protocol={
                "kind": "warehouse",
                "metric": "accuracy",
                "datasets": ["cifar10", "cifar100", "imagenet16"],
                "schedule": "200ep",
            },
        ),
        dict(
            key="H7",
            title="Degradation: plain chains train worse as they get deeper",
            statement=f"Without skips, the final training loss of an MLP-cell chain rises with depth "
            f"({SHALLOW} → {MID} → {DEEP} layers), on each built-in data set.",
            source="He et al., CVPR 2016, Sec. 1 / Fig. 1 (the degradation problem)",
            direction="increasing",
            groups=[{"label": f"plain, {d} layers", "cells": [chain(d, False)]} for d in (SHALLOW, MID, DEEP)],
            protocol={**CHAINS, "metric": "final_train_loss"},
        ),
        dict(
            key="H8",
            title="Skips remove the degradation of deep chains",
            statement=f"At {DEEP} layers, a chain with an identity edge beside every layer reaches a lower final "
            "training loss than the plain chain (same parameters), on each built-in data set.",
            source="He et al., CVPR 2016, Sec. 4.1 (plain vs residual at equal depth)",
            direction="less",
            groups=skips_vs_plain(DEEP),
            protocol={**CHAINS, "metric": "final_train_loss"},
        ),
        dict(
            key="H9",
            title="Skips stabilise training at large learning rates",
            statement=f"At learning rates 0.1 and 0.3, {MID}-layer chains with skips diverge or spike less often than "
            "plain ones (metric: 1 for a run that diverged or had a loss spike).",
            source="stabilised training as a reason for skips (e.g. Balduzzi et al., ICML 2017)",
            direction="less",
            groups=skips_vs_plain(MID),
            protocol={
                **CHAINS,
                "metric": "unstable",
                "sweep": [
                    {"label": "lr 0.1", "lr": 0.1, "data": {"name": "digits_flat"}},
                    {"label": "lr 0.3", "lr": 0.3, "data": {"name": "digits_flat"}},
                ],
            },
        ),
        dict(
            key="H10",
            title="Skips do not change the generalisation gap",
            statement=f"{MID}-layer chains with and without skips end with the same gap between test and training "
            "loss, within 0.05 nats, on each built-in data set.",
            source="feature reuse vs fitting: faster fitting need not widen the gap (Huang et al., 2020)",
            direction="none",
            groups=skips_vs_plain(MID),
            protocol={**CHAINS, "metric": "generalisation_gap", "equivalence_margin": 0.05},
        ),
        dict(
            key="H11",
            title="Gradient flow: skips keep the gradient at the first layer at initialisation",
            statement=f"At initialisation, the first layer of a {DEEP}-layer chain gets a gradient closer in size "
            "to the last layer's with skips than without (log10 ratio, higher = less attenuated).",
            source="He et al., ECCV 2016 (identity mappings propagate the gradient); Balduzzi et al., ICML 2017",
            direction="greater",
            groups=skips_vs_plain(DEEP),
            protocol={**CHAINS, "kind": "probe", "metric": "grad_attenuation_init"},
        ),
        dict(
            key="H12",
            title="Gradient flow after training: skips still keep the first layer's gradient",
            statement=f"After training, the first layer of a {DEEP}-layer chain still gets a gradient closer in "
            "size to the last layer's with skips than without (on the last training batch).",
            source="as H11, during training (the gradient-flow columns of the training curves)",
            direction="greater",
            groups=skips_vs_plain(DEEP),
            protocol={**CHAINS, "metric": "grad_attenuation_final"},
        ),
        dict(
            key="H13",
            title="Scaled skips remove the degradation of deep chains",
            statement=f"At {DEEP} layers, with every layer's branch scaled by 1/{DEEP} (x + f(x)/{DEEP}), a chain "
            "with identity edges reaches a lower final training loss than the plain chain, on each built-in data set.",
            source="Hanin & Rolnick, NeurIPS 2018 (residual branch scales bound the activations' growth); Zhang, "
            "Dauphin & Ma, ICLR 2019 (Fixup); De & Smith, NeurIPS 2020 (SkipInit)",
            direction="less",
            groups=skips_vs_plain(DEEP, "scaled residual"),
            protocol={**CHAINS, "metric": "final_train_loss", "branch_scale": 1 / DEEP},
            notes=f"Registered after H8's unscaled residual chains diverged (activations ×2.8 per layer at "
            f"initialisation, about 10^14 at {DEEP} layers): a new hypothesis on a different network, not a "
            "re-analysis of H8. 1/L, not 1/√L: each branch ends in a ReLU, so its output has a positive mean "
            "(explorer.nets.mlp). The scale applies only where a layer meets an identity edge, so the plain chain is "
            "the same network as in H8.",
        ),
        dict(
            key="H14",
            title="Gradient flow with scaled skips: the first layer's gradient at initialisation",
            statement=f"At initialisation, with every layer's branch scaled by 1/{DEEP}, the first layer of a "
            f"{DEEP}-layer chain gets a gradient closer in size to the last layer's with skips than without (log10 "
            "ratio, higher = less attenuated).",
            source="as H11; Hanin & Rolnick, NeurIPS 2018 (with bounded activations, identity paths carry the "
            "gradient)",
            direction="greater",
            groups=skips_vs_plain(DEEP, "scaled residual"),
            protocol={**CHAINS, "kind": "probe", "metric": "grad_attenuation_init", "branch_scale": 1 / DEEP},
            notes="Registered after H11 was refuted: there, the unscaled residual sum made the head's inputs "
            "huge, so a ratio of weight gradients measured activation growth as much as gradient flow. Scaling the "
            "branches keeps the activations bounded (H13's network), separating the two.",
        ),
    ]
    return [validate_model(HypothesisSpec, s, "hypothesis") for s in specs]


def builtin(key: str) -> HypothesisSpec:
    for spec in builtins():
        if spec.key == key:
            return spec
    raise UserError(f"no built-in hypothesis {key!r}; built-ins: {', '.join(s.key for s in builtins())}")
