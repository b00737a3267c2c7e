"""``explorer metrics`` and ``explorer space``: every input kind, the JSON keys, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from explorer.cell.presets import get_preset
from explorer.cli import main

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=range(2, 6))"
)
JSON_KEYS = {"paths", "path_depths", "path_depths_truncated", "effective_depth", "effective_width", "cell_width",
             "cell_depth", "nngp_eq12", "nngp_lambda_min"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_metrics_nb201(capsys):
    d = run_json(capsys, "metrics", "--nb201", RESNET)
    assert JSON_KEYS <= set(d)
    assert (d["paths"], d["path_depths"], d["path_depths_truncated"]) == (2, [0, 2], False)
    assert (d["effective_depth"], d["effective_width"], d["cell_width"], d["cell_depth"]) == (1.0, 1.0, 1.0, 3)
    assert d["nngp_eq12"] == pytest.approx(2 - 0.5 - 0.6839, abs=1e-3)  # P − K0 − κ(κ(K0))
    code, out, err = run(capsys, "metrics", "--nb201", RESNET)
    assert code == 0 and err == ""
    assert "paths P" in out and "effective depth d̄" in out and "1.0000" in out and "cell width (Shu)" in out


def test_metrics_genotype_text_and_file(capsys, tmp_path):
    d = run_json(capsys, "metrics", "--genotype", DARTS_V2)
    assert (d["cell_width"], d["cell_depth"], d["paths"]) == (3.5, 3, 9)
    f = tmp_path / "darts_v2.txt"
    f.write_text(DARTS_V2 + "\n")
    assert run_json(capsys, "metrics", "--genotype", str(f)) == d
    reduce = run_json(capsys, "metrics", "--genotype", str(f), "--cell", "reduce")
    assert reduce != d and reduce["n_parameterized_ops"] == 0 and reduce["effective_depth"] is None
    nds = tmp_path / "darts_v2.json"
    nds.write_text(
        json.dumps(
            {
                "normal": [list(p) for p in get_preset("DARTS-V2 normal cell").cell.to_genotype_pairs()[0]],
                "normal_concat": [2, 3, 4, 5],
            }
        )
    )
    assert run_json(capsys, "metrics", "--genotype", str(nds)) == d


def test_metrics_cell_json_file_and_k0(capsys, tmp_path):
    f = tmp_path / "dag3.json"
    f.write_text(get_preset("DAG#3 (mixed)").cell.to_json_text())
    d = run_json(capsys, "metrics", "--cell-json", str(f), "--k0", "0.2")
    assert (d["paths"], d["path_depths"], d["effective_depth"], d["effective_width"]) == (4, [0, 1, 2, 2], 1.25, 2.4)
    assert d["k0"] == 0.2
    assert d["nngp_eq12"] != run_json(capsys, "metrics", "--cell-json", str(f))["nngp_eq12"]


def test_metrics_undefined_prints_the_reason(capsys):
    code, out, _ = run(capsys, "metrics", "--nb201", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert code == 0
    assert "undefined" in out and "P = 0" in out and "warning: the output has no path from any input" in out
    d = run_json(capsys, "metrics", "--nb201", get_preset("NB201 all-skip").cell.to_nb201())
    assert d["effective_depth"] is None and d["effective_width"] is None and "d̄ = 0" in d["undefined_reason"]


@pytest.mark.parametrize("argv, message", [
    (["metrics", "--nb201", "|nor_conv_3x3~0|+|bad~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"],
     "NB201 group 2, position 1: unknown op 'bad'"),
    (["metrics", "--nb201", "|nor_conv_3x3~0|"], "expected 3 groups"),
    (["metrics", "--genotype", "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2])"],
     "normal: needs two (op, input) pairs per node"),
    (["metrics", "--genotype", "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2])",
      "--cell", "reduce"], "this genotype has no reduce cell"),
    (["metrics", "--cell-json", "/nonexistent/cell.json"], "/nonexistent/cell.json: no such file"),
    (["metrics", "--nb201", RESNET, "--k0", "1.5"], "--k0 must be in [-1, 1]"),
    (["space", "nb201"], "say what to produce"),
    (["space", "nb201", "--out", "table.xlsx"], "--out must end in .csv or .parquet"),
])
def test_bad_input_exits_2_with_the_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.startswith("error: ") and "Traceback" not in err


def test_bad_cell_json_file(capsys, tmp_path):
    f = tmp_path / "cycle.json"
    f.write_text(json.dumps({"version": 1, "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "intermediate"},
                                                     {"id": 2, "role": "intermediate"}, {"id": 3, "role": "output"}],
                             "edges": [{"src": 1, "dst": 2, "op": "linear"}, {"src": 2, "dst": 1, "op": "linear"}]}))
    code, _, err = run(capsys, "metrics", "--cell-json", str(f))
    assert code == 2 and "cycle through nodes 1 → 2 → 1" in err


def test_space_box_json(capsys):
    s = run_json(capsys, "space", "nb201", "--box")
    assert (s["cells"], s["undefined_cells"], s["no_path_cells"]) == (15_625, 1_983, 341)
    b = s["box"]
    assert (round(b["center_depth"], 1), round(b["center_width"], 1)) == (1.6, 2.2)
    assert (round(b["half_radius_depth"], 1), round(b["half_radius_width"], 1)) == (0.7, 0.9)
    assert set(s["effective_depth"]) == {"mean", "std", "quantiles"}
    d4 = run_json(capsys, "space", "darts4", "--box", "--f", "1.0")
    assert d4["cells"] == 180 * 7**8 and d4["box"]["f"] == 1.0 and d4["share_in_box"] == pytest.approx(
        d4["defined_cells"] / d4["cells"])
    code, out, _ = run(capsys, "space", "darts4", "--box")
    assert code == 0 and "box centre (d̄, m̄) = (1.253, 11.933)" in out and "1,037,664,180" in out


def test_space_out_csv_and_parquet(capsys, tmp_path):
    csv = tmp_path / "sub" / "nb201.csv"
    code, out, err = run(capsys, "space", "nb201", "--out", str(csv))
    assert code == 0 and f"wrote 15,625 rows to {csv}" in err
    table = pd.read_csv(csv)
    assert len(table) == 15_625 and {"arch_str", *JSON_KEYS} <= set(table.columns)
    row = table.set_index("arch_str").loc[RESNET]
    assert json.loads(row["path_depths"]) == [0, 2] and row["effective_depth"] == 1.0
    assert not list(tmp_path.glob("**/*.tmp"))
    pq = tmp_path / "nb201.parquet"
    d = run_json(capsys, "space", "nb201", "--out", str(pq))
    assert d == {"space": "nb201", "out": str(pq)}
    ptable = pd.read_parquet(pq)
    assert ptable["arch_str"].tolist() == table["arch_str"].tolist()
    assert list(ptable.set_index("arch_str").loc[RESNET, "path_depths"]) == [0, 2]


def test_subprocess_python_m_explorer():
    """One real process (each start imports the whole CLI): the exit code and stderr as a shell sees them."""
    bad = subprocess.run([sys.executable, "-m", "explorer", "metrics", "--genotype", "Genotype(normal=[('x', 0)"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "error: genotype: not valid genotype text ('[' was never closed at column 17)"


def test_space_out_darts_class_table(capsys, tmp_path):
    out = tmp_path / "darts4.parquet"
    code, _, err = run(capsys, "space", "darts4", "--out", str(out))
    assert code == 0 and "wrote 46,080 rows" in err
    table = pd.read_parquet(out)
    assert table["multiplicity"].sum() == 180 * 7**8 and table["paths"].max() == 18
