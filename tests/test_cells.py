"""The cell model: every format round-trips exactly, every validation error says what and where,
and no text a user can paste makes a parser raise anything but ``CellError``."""

from __future__ import annotations

import json
import random
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.cell.model import MAX_EDGES, MAX_NODES, MAX_TEXT_CHARS, Cell, Edge, Genotype, parse_cell
from explorer.cell.ops import DARTS_OPS, EDGE_OPS, NB201_OPS
from explorer.cell.presets import PRESETS, TOUR, get_preset
from explorer.core.errors import CellError
from explorer.theory.spaces import nb201_arch_strings

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
MLP_ROLES = ("input", "intermediate", "intermediate", "output")

# DARTS repository cnn/genotypes.py, DARTS_V2, as printed there (concat written as range(2, 6)).
DARTS_V2_RANGE = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=range(2, 6))"
)
DARTS_V2_TEXT = DARTS_V2_RANGE.replace("range(2, 6)", "[2, 3, 4, 5]")
# Five intermediate nodes (NASNet-A as listed in the DARTS repository), reduce cell concatenating 4, 5, 6.
NASNET_TEXT = (
    "Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), ('sep_conv_3x3', 0), "
    "('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), "
    "('skip_connect', 1)], normal_concat=[2, 3, 4, 5, 6], reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), "
    "('max_pool_3x3', 1), ('sep_conv_7x7', 0), ('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('skip_connect', 3), "
    "('avg_pool_3x3', 2), ('sep_conv_3x3', 2), ('max_pool_3x3', 1)], reduce_concat=[4, 5, 6])"
)


def mlp(*edges: tuple[int, int, str], roles: tuple[str, ...] = MLP_ROLES) -> Cell:
    return Cell(roles, tuple(Edge(*e) for e in edges))


def raises(match: str):
    return pytest.raises(CellError, match=match)


# --- NAS-Bench-201 strings ---------------------------------------------------------------------


def test_nb201_sample_round_trips_exactly():
    archs = nb201_arch_strings()
    assert len(archs) == len(set(archs)) == 15_625
    for arch in random.Random(0).sample(archs, 800) + archs[:5] + archs[-5:]:
        cell = Cell.from_nb201(arch)
        assert cell.kind == "nb201"
        assert cell.to_nb201() == arch
        assert cell.to_text() == arch
        assert parse_cell(arch) == cell
        assert Cell.from_json(cell.to_json()) == cell


def test_nb201_edge_meaning():
    cell = Cell.from_nb201(RESNET)
    assert cell.roles == MLP_ROLES
    # group j lists the edges into node j; op~i is an edge i → j
    assert [(e.src, e.dst, e.op) for e in cell.edges] == [
        (0, 1, "nor_conv_3x3"), (0, 2, "none"), (1, 2, "nor_conv_3x3"),
        (0, 3, "skip_connect"), (1, 3, "none"), (2, 3, "skip_connect"),
    ]
    assert len(cell.live_edges) == 4


def test_nb201_string_of_a_cell_built_in_another_edge_order():
    cell = Cell.from_nb201(RESNET)
    shuffled = cell.with_edges(reversed(cell.edges))
    assert shuffled.kind == "nb201"
    assert shuffled.to_nb201() == RESNET


@pytest.mark.parametrize(
    "text, match",
    [
        ("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|", "expected 3 groups separated by '\\+', found 2"),
        (
            "nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
            "NB201 group 1: must start and end with '\\|'",
        ),
        (
            "|nor_conv_3x3~0|+|none~0|+|skip_connect~0|none~1|skip_connect~2|",
            "NB201 group 2: node 2 needs 2 incoming edges, found 1",
        ),
        (
            "|nor_conv_3x3~0|+|none~0|conv~1|+|skip_connect~0|none~1|skip_connect~2|",
            "NB201 group 2, position 2: unknown op 'conv'",
        ),
        (
            "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~1|",
            "NB201 group 3, position 3: expected input index 2, got '1'",
        ),
        (
            "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none1|skip_connect~2|",
            "NB201 group 3, position 2: expected 'op~input'",
        ),
        (
            "|linear~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
            "NB201 group 1, position 1: unknown op 'linear'; NB201 ops are",
        ),
    ],
)
def test_nb201_malformed_names_group_and_position(text, match):
    with raises(match):
        Cell.from_nb201(text)


def test_to_nb201_refuses_other_cells():
    with raises("not a NAS-Bench-201 cell"):
        get_preset("DAG#1 (sequential)").cell.to_nb201()
    with raises("not a NAS-Bench-201 cell"):  # right shape, but an op NB201 does not have
        get_preset("DAG#2 (parallel)").cell.to_nb201()


# --- DARTS genotypes ---------------------------------------------------------------------------


def test_genotype_text_round_trips_exactly_with_4_and_5_intermediate_nodes():
    for text in (DARTS_V2_TEXT, NASNET_TEXT):
        g = Genotype.parse(text)
        assert g.to_text() == text
        assert Genotype.parse(g.to_text()) == g


def test_range_concat_reads_as_the_list():
    g = Genotype.parse(DARTS_V2_RANGE)
    assert g == Genotype.parse(DARTS_V2_TEXT)
    assert g.to_text() == DARTS_V2_TEXT
    pairs, concat = g.normal.to_genotype_pairs()
    assert concat == [2, 3, 4, 5] and pairs[-1] == ("dil_conv_3x3", 2)
    with raises("normal_concat: node 0 is not an intermediate node"):
        Genotype.parse(DARTS_V2_RANGE.replace("range(2, 6)", "range(6)"))


def test_normal_and_reduce_are_separate_cells():
    g = Genotype.parse(NASNET_TEXT)
    normal, reduce = Cell.from_genotype(NASNET_TEXT, "normal"), Cell.from_genotype(NASNET_TEXT, "reduce")
    assert (normal, reduce) == (g.normal, g.reduce)
    assert normal != reduce
    assert normal.roles == ("input", "input") + ("intermediate",) * 5 + ("output",)
    assert [e.src for e in reduce.edges if e.op == "concat"] == [4, 5, 6]
    assert all(e.dst == 7 for e in reduce.edges if e.op == "concat")
    # node k takes pairs 2(k-2) and 2(k-2)+1
    assert [(e.src, e.dst, e.op) for e in normal.edges[:2]] == [(1, 2, "sep_conv_5x5"), (0, 2, "sep_conv_3x3")]
    assert normal.kind == reduce.kind == "darts"
    assert parse_cell(NASNET_TEXT, genotype_cell="reduce") == reduce
    with raises("cell must be 'normal' or 'reduce'"):
        Cell.from_genotype(NASNET_TEXT, "both")


def test_genotype_without_reduce_cell():
    text = DARTS_V2_TEXT.split(", reduce=")[0] + ")"
    g = Genotype.parse(text)
    assert g.reduce is None
    with raises("genotype: this genotype has no reduce cell"):
        Cell.from_genotype(text, "reduce")
    assert g.to_dict()["reduce"] == [] and Genotype.from_dict(g.to_dict()) == g


def test_nds_json_dict_round_trips_exactly():
    g = Genotype.parse(NASNET_TEXT)
    d = g.to_dict()
    assert set(d) == {"normal", "normal_concat", "reduce", "reduce_concat"}
    nds = json.loads(json.dumps(d))  # the NDS form: lists of [op, input]
    assert nds["normal"][0] == ["sep_conv_5x5", 1]
    assert Genotype.from_dict(nds).to_dict() == nds
    assert Genotype.parse(json.dumps(nds)) == g
    assert parse_cell(json.dumps(nds)) == g.normal
    assert parse_cell(json.dumps(nds), genotype_cell="reduce") == g.reduce
    assert Cell.from_genotype(nds, "reduce") == g.reduce


def test_popular_cells_file_reads(popular_cells_json):
    data = json.loads(popular_cells_json.read_text())
    for name, entry in data["cells"].items():
        cell = Cell.from_genotype({"normal": entry["normal"], "normal_concat": entry["normal_concat"]})
        assert cell == get_preset(f"{name} normal cell").cell, name


def test_darts_cell_text_and_pairs_round_trip():
    cell = Genotype.parse(DARTS_V2_TEXT).normal
    pairs, concat = cell.to_genotype_pairs()
    assert Cell.from_genotype_pairs(pairs, concat) == cell
    assert parse_cell(cell.to_text()) == cell
    assert json.loads(cell.to_text())["normal_concat"] == [2, 3, 4, 5]
    assert cell.to_genotype().normal == cell
    with raises("not a DARTS-style cell"):
        Cell.from_nb201(RESNET).to_genotype_pairs()


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2])",
            "normal: needs two \\(op, input\\) pairs per node, found 1",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('bogus', 1)], normal_concat=[2])",
            "normal\\[1\\]: unknown op 'bogus'",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('concat', 1)], normal_concat=[2])",
            "normal\\[1\\]: unknown op 'concat'",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2])",
            "normal\\[1\\]: input of node 2 must be an integer in 0..1, got 2",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1, 2)], normal_concat=[2])",
            "normal\\[1\\]: expected an \\(op, input\\) pair",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[3])",
            "normal_concat: node 3 is not an intermediate node \\(2..2\\)",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[])",
            "normal_concat: the output concatenates no node",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2, 2])",
            "normal_concat: repeated node",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat='2')",
            "normal_concat: expected a list of node indices",
        ),
        ("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)])", "genotype: missing key 'normal_concat'"),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2], "
            "reduce=[('skip_connect', 0), ('skip_connect', 1)])",
            "genotype: missing key 'reduce_concat'",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2], colour='red')",
            "genotype: unknown field 'colour'",
        ),
        ("Genotype([('sep_conv_3x3', 0)])", "genotype: use keyword arguments"),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=list(range(2, 3)))",
            "normal_concat: unsupported expression",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=range(2, 3, 1))",
            "normal_concat: range\\(\\) takes one or two integers",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=range(2, 10**9))",
            "unsupported expression",
        ),
        (
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2]",
            "genotype: not valid genotype text",
        ),
        ("Genotype(normal=__import__('os').system('true'), normal_concat=[2])", "normal: unsupported expression"),
        ("Cell(normal=[])", "expected Genotype\\(normal=\\[...\\], normal_concat=\\[...\\], ...\\)"),
        ('{"normal": [["sep_conv_3x3", 0], ["skip_connect", 1]]', "genotype JSON: malformed JSON"),
        ('{"normal_concat": [2]}', "genotype: missing key 'normal'"),
    ],
)
def test_genotype_errors_say_what_and_where(text, match):
    with raises(match):
        Genotype.parse(text)


def test_genotype_node_limit():
    pairs = [("skip_connect", 0), ("skip_connect", 1)] * (MAX_NODES - 2)
    with raises(f"too many nodes \\({MAX_NODES + 1} > {MAX_NODES}\\)"):
        Cell.from_genotype_pairs(pairs, [2])


# --- general JSON ------------------------------------------------------------------------------


def test_json_round_trips_exactly_with_labels_and_parallel_edges():
    cell = Cell(("input", "input", "intermediate", "output"),
                (Edge(0, 2, "linear"), Edge(0, 2, "skip_connect"), Edge(0, 2, "linear"), Edge(1, 2, "none"),
                 Edge(2, 3, "conv_3x3"), Edge(1, 3, "max_pool_3x3")),
                ("x", "", "hidden", "y"))
    doc = cell.to_json()
    assert doc["format"] == "architecture-explorer/cell" and doc["version"] == 1
    assert doc["nodes"][0] == {"id": 0, "role": "input", "label": "x"}
    assert doc["nodes"][1] == {"id": 1, "role": "input"}
    assert len(doc["edges"]) == 6
    for text in (cell.to_json_text(), cell.to_json_text(compact=True)):
        assert Cell.from_json(text) == cell
        assert Cell.from_json(text.encode()) == cell
        assert parse_cell(text) == cell
    assert Cell.from_json(doc).to_json() == doc
    assert cell.kind == "dag" and parse_cell(cell.to_text()) == cell


def test_blank_labels_are_no_labels():
    cell = Cell(MLP_ROLES, (Edge(0, 3, "linear"),), ("", "", "", ""))
    assert cell.labels is None
    assert Cell.from_json(cell.to_json()) == cell


def test_parallel_edges_are_separate_edges():
    cell = mlp((0, 1, "linear"), (0, 1, "linear"), (0, 1, "skip_connect"), (1, 3, "linear"))
    assert len(cell.edges) == 4 and len(cell.live_edges) == 4
    assert cell.edges[0] == cell.edges[1]  # equal as values, still two edges
    assert cell.remove_edge(0).edges == cell.edges[1:]
    assert Cell.from_json(cell.to_json()).edges == cell.edges


@pytest.mark.parametrize(
    "doc, match",
    [
        ([], "cell JSON: expected a JSON object"),
        (
            {"format": "other", "version": 1, "nodes": [], "edges": []},
            "cell JSON: format must be 'architecture-explorer/cell'",
        ),
        ({"version": 2, "nodes": [], "edges": []}, "cell JSON: unsupported version 2; this build reads version 1"),
        ({"version": 1, "nodes": [], "edges": []}, "cell JSON: 'nodes' must be a non-empty list"),
        ({"version": 1, "nodes": [{"id": 0, "role": "input"}], "edges": {}}, "cell JSON: 'edges' must be a list"),
        ({"version": 1, "nodes": [{"id": 1, "role": "input"}], "edges": []}, "cell JSON nodes\\[0\\]: 'id' must be 0"),
        (
            {"version": 1, "nodes": [{"id": 0, "role": "source"}], "edges": []},
            "cell JSON nodes\\[0\\]: 'role' must be one of",
        ),
        (
            {"version": 1, "nodes": [{"id": 0, "role": "input", "label": 3}], "edges": []},
            "cell JSON nodes\\[0\\]: 'label' must be a string",
        ),
        ({"version": 1, "nodes": ["input"], "edges": []}, "cell JSON nodes\\[0\\]: expected an object"),
        (
            {"version": 1, "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "output"}], "edges": [[0, 1]]},
            "cell JSON edges\\[0\\]: expected an object with 'src', 'dst' and 'op'",
        ),
        (
            {
                "version": 1,
                "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "output"}],
                "edges": [{"src": "0", "dst": 1, "op": "linear"}],
            },
            "cell JSON edges\\[0\\]: 'src' must be a node id",
        ),
        (
            {
                "version": 1,
                "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "output"}],
                "edges": [{"src": 0, "dst": True, "op": "linear"}],
            },
            "cell JSON edges\\[0\\]: 'dst' must be a node id",
        ),
        (
            {
                "version": 1,
                "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "output"}],
                "edges": [{"src": 0, "dst": 1, "op": None}],
            },
            "cell JSON edges\\[0\\]: 'op' must be a string",
        ),
        (
            {
                "version": 1,
                "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "output"}],
                "edges": [{"src": 0, "dst": 1, "op": "conv_9x9"}],
            },
            "edge 0 \\(0→1\\): unknown op 'conv_9x9'",
        ),
        (
            {
                "version": 1,
                "nodes": [{"id": 0, "role": "input"}, {"id": 1, "role": "output"}],
                "edges": [{"src": 0, "dst": 5, "op": "linear"}],
            },
            "edge 0 \\(0→5\\): node 5 does not exist \\(nodes are 0..1\\)",
        ),
    ],
)
def test_json_errors_say_what_and_where(doc, match):
    with raises(match):
        Cell.from_json(doc)
    with raises(match):
        Cell.from_json(json.dumps(doc))


def test_json_size_limits():
    nodes = [{"id": i, "role": "input" if i == 0 else "intermediate"} for i in range(MAX_NODES + 1)]
    with raises(f"cell JSON: too many nodes \\({MAX_NODES + 1} > {MAX_NODES}\\)"):
        Cell.from_json({"version": 1, "nodes": nodes, "edges": []})
    edges = [{"src": 0, "dst": 1, "op": "linear"}] * (MAX_EDGES + 1)
    with raises(f"cell JSON: too many edges \\({MAX_EDGES + 1} > {MAX_EDGES}\\)"):
        Cell.from_json({"version": 1, "nodes": nodes[:1] + [{"id": 1, "role": "output"}], "edges": edges})


# --- validation of the cell itself -------------------------------------------------------------


@pytest.mark.parametrize("roles, edges, match", [
    (MLP_ROLES, [(0, 1, "conv_9x9")], "edge 0 \\(0→1\\): unknown op 'conv_9x9'"),
    (MLP_ROLES, [(0, 1, "linear"), (1, 2, "linear"), (2, 1, "skip_connect"), (2, 3, "linear")],
     "the graph has a cycle through nodes 1 → 2 → 1"),
    (MLP_ROLES, [(0, 1, "linear"), (1, 1, "linear")], "edge 1 \\(1→1\\): self-loop"),
    (MLP_ROLES, [(0, 1, "linear"), (1, 0, "linear")], "edge 1 \\(1→0\\): edge into input node 0"),
    (MLP_ROLES, [(0, 3, "linear"), (3, 2, "linear")], "edge 1 \\(3→2\\): edge out of the output node"),
    (MLP_ROLES, [(0, 1, "linear"), (1, 4, "linear")], "edge 1 \\(1→4\\): node 4 does not exist"),
    (MLP_ROLES, [(0, 1, "concat")], "edge 0 \\(0→1\\): 'concat' edges may only enter the output node"),
    (("input", "intermediate"), [], "exactly one output node, found 0"),
    (("input", "output", "output"), [], "exactly one output node, found 2"),
    (("intermediate", "output"), [], "at least one input node"),
    (("input", "hidden", "output"), [], "node 1: role must be one of input, intermediate, output"),
])
def test_validation_errors_say_what_and_where(roles, edges, match):
    with raises(match):
        Cell(roles, tuple(Edge(*e) for e in edges))


def test_cycle_message_names_the_cycle_and_edits_are_validated():
    cell = get_preset("DAG#1 (sequential)").cell
    with raises("cycle through nodes 1 → 2 → 1"):
        cell.add_edge(2, 1, "linear")
    with raises("self-loop"):
        cell.add_edge(2, 2, "linear")
    with raises("unknown op"):
        cell.with_op(0, "relu")
    with raises("node 3: the output node cannot be removed"):
        cell.remove_node(3)


def test_size_limits():
    roles = ("input",) + ("intermediate",) * (MAX_NODES - 1) + ("output",)
    with raises(f"too many nodes \\({MAX_NODES + 1} > {MAX_NODES}\\)"):
        Cell(roles, ())
    with raises(f"too many edges \\({MAX_EDGES + 1} > {MAX_EDGES}\\)"):
        Cell(("input", "output"), (Edge(0, 1, "linear"),) * (MAX_EDGES + 1))
    # exactly at the limits is fine
    roles = ("input",) + ("intermediate",) * (MAX_NODES - 2) + ("output",)
    Cell(roles, (Edge(0, MAX_NODES - 1, "linear"),) * MAX_EDGES)


def test_too_long_text_is_refused_before_parsing():
    text = "|" + "x" * MAX_TEXT_CHARS
    for parse in (Cell.from_nb201, Genotype.parse, Cell.from_json, parse_cell):
        with raises(f"too long \\({MAX_TEXT_CHARS + 1} characters > {MAX_TEXT_CHARS}\\)"):
            parse(text)


def test_dead_nodes_are_warnings_not_errors():
    # node 2 has no path from any input; node 1 has no path to the output; input 4 is unused
    cell = Cell(("input", "intermediate", "intermediate", "output", "input"),
                (Edge(0, 1, "linear"), Edge(2, 3, "linear"), Edge(0, 3, "skip_connect")))
    assert cell.warnings == (
        "node 1 has no path to the output",
        "node 2 has no path from any input",
        "input node 4 has no path to the output",
    )
    # `none` edges do not connect anything
    none = Cell.from_nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert "the output has no path from any input" in none.warnings
    labelled = Cell(MLP_ROLES, (Edge(0, 3, "linear"),), ("in", "a", "", "out"))
    assert "node 1 (a) has no path from any input" in labelled.warnings


def test_resnet_cell_has_no_warnings_and_all_presets_are_clean():
    assert Cell.from_nb201(RESNET).warnings == ()
    for p in PRESETS:
        if p.name != "NB201 all-skip":
            assert p.cell.warnings == (), p.name


# --- presets -----------------------------------------------------------------------------------


def test_presets_round_trip_through_every_format_they_have():
    names = [p.name for p in PRESETS]
    assert len(set(names)) == len(names) and set(TOUR) <= set(names)
    for p in PRESETS:
        cell = p.cell
        assert p.source and p.description
        assert parse_cell(cell.to_text()) == cell, p.name
        assert Cell.from_json(cell.to_json_text()) == cell, p.name
        if p.space == "nb201":
            assert cell.kind == "nb201" and Cell.from_nb201(cell.to_nb201()) == cell
        elif p.space == "darts":
            assert cell.kind == "darts"
            assert Genotype.parse(cell.to_genotype().to_text()).normal == cell
        else:
            assert cell.kind == "dag" and p.space == "mlp"
    with pytest.raises(KeyError, match="no preset named"):
        get_preset("DAG#4")


def test_chen_dags_are_as_in_the_paper():
    edges = {name: sorted((e.src, e.dst, e.op) for e in get_preset(name).cell.edges)
             for name in ("DAG#1 (sequential)", "DAG#2 (parallel)", "DAG#3 (mixed)")}
    assert edges["DAG#1 (sequential)"] == [(0, 1, "linear"), (1, 2, "linear"), (2, 3, "linear")]
    assert edges["DAG#2 (parallel)"] == [(0, 1, "skip_connect"), (0, 3, "linear"), (1, 2, "skip_connect"),
                                         (1, 3, "linear"), (2, 3, "linear")]
    assert edges["DAG#3 (mixed)"] == [(0, 1, "linear"), (0, 2, "linear"), (0, 3, "skip_connect"),
                                      (1, 2, "skip_connect"), (1, 3, "skip_connect"), (2, 3, "linear")]
    assert get_preset("NB201 ResNet cell").cell.to_nb201() == RESNET


# --- parse_cell dispatch and edits -------------------------------------------------------------


def test_parse_cell_dispatch():
    assert parse_cell("  " + RESNET + "\n") == Cell.from_nb201(RESNET)
    assert parse_cell(DARTS_V2_RANGE) == Genotype.parse(DARTS_V2_TEXT).normal
    assert parse_cell(DARTS_V2_RANGE, genotype_cell="reduce") == Genotype.parse(DARTS_V2_TEXT).reduce
    dag = get_preset("DAG#3 (mixed)").cell
    assert parse_cell(dag.to_json_text()) == dag
    with raises("empty input"):
        parse_cell("   ")
    with raises("not a recognised cell format"):
        parse_cell("resnet")
    with raises("JSON: malformed JSON"):
        parse_cell("{nodes: []}")
    with raises("cell text: expected text, got int"):
        parse_cell(3)  # type: ignore[arg-type]
    with raises("not UTF-8"):
        Cell.from_json(b"\xff{}")


def test_edits_return_new_valid_cells():
    cell = get_preset("DAG#1 (sequential)").cell
    grown = cell.add_node(label="extra")
    assert grown.roles == ("input", "intermediate", "intermediate", "intermediate", "output")
    assert grown.edges[-1] == Edge(2, 4, "linear")  # the output kept the last id
    assert grown.labels == ("", "", "", "extra", "")
    assert grown.remove_node(3) == cell
    assert cell.with_op(1, "skip_connect").edges[1] == Edge(1, 2, "skip_connect")
    assert cell.add_edge(0, 3, "skip_connect").remove_edge(3) == cell
    assert cell.remove_node(1).edges == (Edge(1, 2, "linear"),)


def test_topological_order_and_ops():
    cell = Genotype.parse(NASNET_TEXT).reduce
    pos = {v: i for i, v in enumerate(cell.topological_order)}
    assert all(pos[e.src] < pos[e.dst] for e in cell.edges)
    assert set(DARTS_OPS) <= set(EDGE_OPS) and set(NB201_OPS) <= set(EDGE_OPS) and "concat" not in EDGE_OPS


# --- fuzzing: only CellError may escape ---------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70) | st.floats(allow_nan=False) | st.sampled_from(
        ["input", "output", "intermediate", "linear", "none", "skip_connect", "concat", "architecture-explorer/cell"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["format", "version", "nodes", "edges", "id", "role", "label", "src", "dst", "op",
                         "normal", "normal_concat", "reduce", "reduce_concat"]), inner, max_size=6),
    max_leaves=30,
)
_node = st.fixed_dictionaries({"id": st.integers(0, 5), "role": st.sampled_from(["input", "intermediate", "output"])})
_edge = st.fixed_dictionaries({"src": st.integers(-1, 6), "dst": st.integers(-1, 6),
                               "op": st.sampled_from(["linear", "skip_connect", "none", "concat", "bad"])})
_cell_docs = st.fixed_dictionaries({"version": st.just(1), "nodes": st.lists(_node, max_size=6),
                                    "edges": st.lists(_edge, max_size=10)})
_genotype_pairs = st.lists(st.tuples(st.sampled_from([*DARTS_OPS, "none", "concat", "x"]), st.integers(-1, 7)),
                           max_size=12)
_texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="|+~0123 nonekipcvrxt_3", max_size=120).map(lambda s: "|" + s),
    st.builds(
        lambda ops, srcs: "+".join(
            "|" + "|".join(f"{o}~{s}" for o, s in zip(ops[k : k + j], srcs[k : k + j], strict=False)) + "|"
            for k, j in ((0, 1), (1, 2), (3, 3))
        ),
        st.lists(st.sampled_from([*NB201_OPS, "bad", ""]), min_size=6, max_size=6),
        st.lists(st.sampled_from(["0", "1", "2", "3", "", "x"]), min_size=6, max_size=6),
    ),
    st.builds(
        lambda p, c: f"Genotype(normal={p!r}, normal_concat={c!r})",
        _genotype_pairs,
        st.lists(st.integers(-1, 8), max_size=6),
    ),
    st.text(alphabet="Genotype(normal=[('sep_conv_3x3', 0)], range)-*\x00", max_size=150).map(
        lambda s: "Genotype(" + s
    ),
    _json_values.map(json.dumps),
    _cell_docs.map(json.dumps),
    st.text(alphabet='{}[]":,0123456789-eE.normal_concat ', max_size=150),
)


def _only_cell_error(parse, value) -> None:
    try:
        parse(value)
    except CellError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts)
def test_fuzz_text_parsers_raise_only_cell_error(text):
    for parse in (Cell.from_nb201, Genotype.parse, Cell.from_json, parse_cell):
        _only_cell_error(parse, text)
    _only_cell_error(lambda t: parse_cell(t, genotype_cell="reduce"), text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_json_values, _cell_docs))
def test_fuzz_json_objects_raise_only_cell_error(obj):
    _only_cell_error(Cell.from_json, obj)
    if isinstance(obj, dict):
        _only_cell_error(Genotype.from_dict, obj)


@settings(max_examples=200, deadline=None)
@given(_cell_docs)
def test_fuzz_valid_json_cells_round_trip(doc):
    try:
        cell = Cell.from_json(doc)
    except CellError:
        return
    assert Cell.from_json(cell.to_json_text()) == cell
    assert parse_cell(cell.to_text()) == cell


def test_hostile_inputs():
    hostile = [
        "Genotype(normal=" + "-" * 5000 + "1, normal_concat=[2])",
        "Genotype(normal=[('skip_connect', 0x" + "f" * 5000 + "), ('skip_connect', 0)], normal_concat=[2])",
        '{"normal": [["skip_connect", 1' + "0" * 5000 + "]]}",
        "[" * 50_000 + "]" * 50_000,
        "{" + '"a":{' * 20_000,
        "Genotype(normal=" + "[" * 300 + "]" * 300 + ", normal_concat=[2])",
        "Genotype(\x00)",
        "|\x00~0|+|",
        "Genotype(normal=1or 2, normal_concat=[2])",  # a SyntaxWarning from ast.parse
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks out either
        for text in hostile:
            for parse in (Cell.from_nb201, Genotype.parse, Cell.from_json, parse_cell):
                _only_cell_error(parse, text)


def test_oversized_bytes_are_refused_before_decoding() -> None:
    with pytest.raises(CellError, match="too long"):
        parse_cell(b"{" + b" " * (4 * 100_000 + 1))
