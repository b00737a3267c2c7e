"""Search simulation: determinism, f = 1 identity, evaluation bookkeeping, a hand-made warehouse, real NB201."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from db import warehouse
from db.warehouse import SCHEMA_SQL, SCHEMA_VERSION
from explorer.benchmarks.warehouse import Warehouse, open_shared
from explorer.core.errors import UserError
from explorer.labs import search_sim as ss
from explorer.theory.spaces import space_box
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)


def synthetic(n: int = 400, seed: int = 3, undefined: int = 40) -> ss.SpaceData:
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.0, 3.0, n)
    m = rng.uniform(0.5, 4.0, n)
    d[:undefined] = m[:undefined] = np.nan
    acc = 90 - 3 * np.abs(d - 1.5) - np.abs(m - 2.2) + rng.normal(0, 0.5, n)
    acc[:undefined] = 10.0
    proxy = acc + rng.normal(0, 2, n)
    return ss.SpaceData("toy", np.arange(n), d, m, {"toy": ss.DatasetData("toy", acc, proxy, "toy proxy")}, "toyproxy")


def test_fixed_seed_gives_identical_tables():
    data = synthetic()
    cfg = ss.SimulationConfig(repeats=200, candidates=20, seed=7)
    a, b = ss.simulate(data, cfg), ss.simulate(data, cfg)
    pd.testing.assert_frame_equal(a.table, b.table)
    other = ss.simulate(data, ss.SimulationConfig(repeats=200, candidates=20, seed=8))
    assert not np.allclose(a.table["mean_acc"], other.table["mean_acc"])


def test_f1_with_a_box_covering_everything_equals_unfiltered():
    data = synthetic(undefined=0)  # every cell has d̄/m̄, so the f = 1 box holds all of them
    assert data.inside(1.0).all()
    res = ss.simulate(data, ss.SimulationConfig(repeats=300, candidates=25, fs=(1.0, 0.5), seed=1))
    for search in ss.SEARCHES:
        none, full = res.picks[("toy", search, None)], res.picks[("toy", search, 1.0)]
        np.testing.assert_array_equal(none.arch_id, full.arch_id)
        np.testing.assert_array_equal(none.evaluations, full.evaluations)
    t = res.table.set_index(["search", "filter"])
    assert t.loc[("proxy (toyproxy)", "box f=1"), "evaluation_reduction"] == 0.0
    assert t.loc[("proxy (toyproxy)", "box f=0.5"), "evaluation_reduction"] > 0.3


def test_evaluation_bookkeeping_is_exact():
    data = synthetic()
    cfg = ss.SimulationConfig(repeats=150, candidates=6, fs=(0.5, 0.1), seed=11)
    res = ss.simulate(data, cfg)
    d = data.datasets["toy"]
    pool = np.flatnonzero(np.isfinite(d.accuracy) & np.isfinite(d.proxy))
    draws = pool[ss.draw_candidates(pool.size, cfg.repeats, cfg.candidates, cfg.seed)]
    for f in cfg.fs:
        inside = data.inside(f)
        p = res.picks[("toy", "proxy", f)]
        fallbacks = 0
        for r in range(cfg.repeats):
            cand = draws[r]
            keep = cand[inside[cand]]
            if keep.size == 0:  # nothing inside: the unfiltered search, N evaluations
                fallbacks += 1
                keep = cand
            assert p.evaluations[r] == keep.size
            assert p.arch_id[r] == data.arch_id[keep[np.argmax(d.proxy[keep])]]
            rnd = res.picks[("toy", "random", f)]
            assert rnd.arch_id[r] == data.arch_id[keep[0]] and rnd.evaluations[r] == 0
        assert p.fallbacks == fallbacks
        row = res.table[(res.table["search"] == "proxy (toyproxy)") & (res.table["f"] == f)].iloc[0]
        assert row["total_evaluations"] == p.evaluations.sum()
        assert row["evaluation_reduction"] == pytest.approx(1 - p.evaluations.sum() / (cfg.repeats * cfg.candidates))
    assert res.picks[("toy", "proxy", 0.1)].fallbacks > 0  # the tiny box exercises the fallback
    unfiltered = res.picks[("toy", "proxy", None)]
    assert (unfiltered.evaluations == cfg.candidates).all()


def test_bad_configs_are_user_errors():
    with pytest.raises(UserError):
        ss.SimulationConfig(repeats=0)
    with pytest.raises(UserError):
        ss.SimulationConfig(fs=(0.0,))
    with pytest.raises(UserError, match="pool has only"):
        ss.simulate(synthetic(n=50), ss.SimulationConfig(repeats=2, candidates=60))


# --- a hand-made warehouse -----------------------------------------------------------------------------

# (arch_id, d̄, m̄, accuracy, proxy); d̄ spans 0..2, m̄ 1..5: box centre (1, 3), radius (1, 2).
HAND = [
    (0, 1.0, 3.0, 90.0, 5.0),     # centre
    (1, 0.8, 2.4, 88.0, 9.0),     # inside at f = ½ (|Δd| 0.2 ≤ 0.5, |Δm| 0.6 ≤ 1), not at f = ¼
    (2, 0.0, 1.0, 70.0, 10.0),    # corner: only at f = 1; the best proxy overall
    (3, 2.0, 5.0, 75.0, 2.0),     # opposite corner
    (4, 1.6, 3.0, 85.0, 7.0),     # |Δd| 0.6: outside at f = ½, inside at f = ¾
    (5, None, None, 10.0, 1.0),   # no parameterized path: never inside
]


def hand_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute(SCHEMA_SQL)
    described = con.execute("DESCRIBE architectures").fetchall()
    columns = {r[0] for r in described}
    required = [r[0] for r in described if r[2] == "NO"]
    for arch_id, d, m, acc, proxy in HAND:
        given = {"arch_id": arch_id, "space": "nb201", "source_id": arch_id, "arch_str": f"cell{arch_id}",
                 "cell_text": f"cell{arch_id}", "effective_depth": d, "effective_width": m}
        values = {c: 0 for c in required} | {k: v for k, v in given.items() if k in columns}
        cols = ", ".join(values)
        con.execute(
            f"INSERT INTO architectures ({cols}) VALUES ({', '.join('?' * len(values))})", list(values.values())
        )
        for ds in ("cifar10", "cifar100"):
            con.execute("INSERT INTO results (arch_id, dataset, schedule, epochs, seeds, test_acc, source) "
                        "VALUES (?, ?, '200ep', 200, 'mean', ?, 'hand')", [arch_id, ds, acc - (ds == "cifar100") * 20])
        con.execute("INSERT INTO proxies VALUES (?, 'cifar10', 'naswot_v1', ?, 'hand')", [arch_id, proxy])
    derived = getattr(warehouse, "BROWSE_SQL", None)  # tables the build derives from the ones above
    if derived:
        con.execute(derived)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.close()
    return path


@pytest.fixture
def hand(tmp_path: Path) -> Warehouse:
    wh = Warehouse(hand_warehouse(tmp_path / "hand.duckdb"))
    yield wh
    wh.close()


def test_hand_made_warehouse_gives_hand_computed_results(hand: Warehouse):
    data = ss.load_space(hand, "nb201", ["cifar10", "cifar100"], "naswot_v1")
    box = data.box()
    assert (box.center_depth, box.center_width, box.radius_depth, box.radius_width) == (1.0, 3.0, 1.0, 2.0)
    assert data.inside(0.5).tolist() == [True, True, False, False, False, False]
    assert data.inside(0.75).tolist() == [True, True, False, False, True, False]
    assert data.inside(1.0).tolist() == [True, True, True, True, True, False]
    # the CIFAR-100 search falls back to CIFAR-10's proxy, and says so
    assert data.datasets["cifar100"].proxy_source == "naswot_v1 on cifar10"

    t = ss.box_table(data, 0.5).set_index("dataset")
    assert t.loc["cifar10", "n_inside"] == 2 and t.loc["cifar10", "share_inside"] == pytest.approx(2 / 6)
    assert t.loc["cifar10", "mean_inside"] == pytest.approx(89.0)
    assert t.loc["cifar10", "mean_outside"] == pytest.approx((70 + 75 + 85 + 10) / 4)
    assert t.loc["cifar100", "mean_inside"] == pytest.approx(69.0)

    # N = the whole pool: every repeat sees every cell, so the picks are fixed.
    res = ss.simulate(data, ss.SimulationConfig(repeats=5, candidates=6, seed=0))
    tab = res.table.set_index(["dataset", "search", "filter"])
    proxy = "proxy (naswot_v1)"
    assert tab.loc[("cifar10", proxy, "none"), "mean_acc"] == 70.0  # the best proxy (10) is the corner cell
    assert tab.loc[("cifar10", proxy, "box f=1"), "mean_acc"] == 70.0
    assert tab.loc[("cifar10", proxy, "box f=0.75"), "mean_acc"] == 88.0  # best proxy among {0, 1, 4}
    assert tab.loc[("cifar10", proxy, "box f=0.5"), "mean_acc"] == 88.0
    assert tab.loc[("cifar100", proxy, "box f=0.5"), "mean_acc"] == 68.0
    assert tab.loc[("cifar10", proxy, "box f=0.25"), "mean_acc"] == 90.0  # only the centre is left
    evals = {f: tab.loc[("cifar10", proxy, f), "mean_evaluations"] for f in ("none", "box f=1", "box f=0.75",
                                                                            "box f=0.5", "box f=0.25")}
    assert evals == {"none": 6, "box f=1": 5, "box f=0.75": 3, "box f=0.5": 2, "box f=0.25": 1}
    assert tab.loc[("cifar10", proxy, "box f=0.5"), "evaluation_reduction"] == pytest.approx(1 - 2 / 6)
    assert tab.loc[("cifar10", proxy, "none"), "std_acc"] == 0.0
    # random search with the box can only pick cells inside it
    rnd = res.picks[("cifar10", "random", 0.5)]
    assert set(rnd.arch_id.tolist()) <= {0, 1}


def test_unknown_proxy_is_a_user_error(hand: Warehouse):
    with pytest.raises(UserError, match="choose from"):
        ss.load_space(hand, "nb201", ["cifar10"], "synflow")


# --- the real NB201 warehouse ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb201(nb201_warehouse: Path) -> ss.SpaceData:  # noqa: F811
    return ss.load_space(open_shared(nb201_warehouse), "nb201", ["cifar10", "cifar100", "imagenet16"], "naswot_v1")


def test_real_nb201_box_and_search(nb201: ss.SpaceData):
    box, ref = nb201.box(), space_box("nb201")
    assert (box.center_depth, box.center_width, box.radius_depth, box.radius_width) == pytest.approx(
        (ref.center_depth, ref.center_width, ref.radius_depth, ref.radius_width))
    t = ss.box_table(nb201, 0.5).set_index("dataset")
    assert t.loc["cifar10", "n_cells"] == 15_625 and t.loc["cifar10", "n_inside"] == 6_256
    assert (t["mean_inside"] > t["mean_outside"]).all() and (t["p_value"] < 1e-10).all()
    res = ss.simulate(nb201, ss.SimulationConfig(repeats=500, candidates=100, seed=0))
    assert len(res.table) == 3 * 2 * 5
    tab = res.table.set_index(["dataset", "search", "filter"])
    assert tab.loc[("cifar10", "proxy (naswot_v1)", "none"), "pool"] == 15_625 - 341  # NASWOT skips disconnected cells
    for ds in ("cifar10", "cifar100", "imagenet16"):
        assert tab.loc[(ds, "random", "box f=0.5"), "mean_acc"] > tab.loc[(ds, "random", "none"), "mean_acc"]
        assert 0.5 < tab.loc[(ds, "proxy (naswot_v1)", "box f=0.5"), "evaluation_reduction"] < 0.7


def test_final_result_sets_and_random_only_without_a_proxy():
    sets = pd.DataFrame({"space": ["nb201", "nb201", "nds:DARTS", "nds:DARTS_in"],
                         "dataset": ["cifar10", "cifar10", "cifar10", "imagenet"],
                         "schedule": ["12ep", "200ep", "100ep-single", "10ep-single"], "n": [1, 1, 5, 3]})
    assert ss.final_result_sets(sets)["schedule"].tolist() == ["200ep", "100ep-single", "10ep-single"]
    data = synthetic(n=300)
    data = ss.SpaceData(data.space, data.arch_id, data.effective_depth, data.effective_width,
                        {k: ss.DatasetData(k, d.accuracy, np.full_like(d.proxy, np.nan), "")
                         for k, d in data.datasets.items()}, None)
    res = ss.simulate(data, ss.SimulationConfig(repeats=20, candidates=10, seed=0))
    assert set(res.table["search"]) == {"random"} and (res.table["pool"] == 300).all()
