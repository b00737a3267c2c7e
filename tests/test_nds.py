"""NDS result files as the release ships them: read, validated, every problem reported."""

from __future__ import annotations

import json
import math

import pytest

from explorer.benchmarks.nds import load_nds, read_nds
from explorer.benchmarks.nds_sources import canonical_space, dataset_of, nds_sources
from explorer.benchmarks.problems import Problems
from explorer.cell.model import Cell
from explorer.core.errors import DataError
from tests.warehouse_fixtures import nds_bytes, nds_entries, write_nds, write_nds_zip


def test_list_file(tmp_path):
    entries = write_nds(tmp_path / "DARTS.json", 6)
    runs = load_nds(tmp_path / "DARTS.json")
    assert len(runs) == 6
    run, entry = runs[2], entries[2]
    assert run.space == "DARTS" and run.dataset == "cifar10" and run.position == 2 and run.group is None
    geno = entry["net"]["genotype"]
    assert run.genotype.normal == Cell.from_genotype_pairs(geno["normal"], geno["normal_concat"])
    assert run.genotype.reduce == Cell.from_genotype_pairs(geno["reduce"], geno["reduce_concat"])
    assert run.test_accuracy == pytest.approx(100 - entry["min_test_top1"])
    assert run.max_epochs == 5 and run.width == entry["net"]["width"] and run.depth == entry["net"]["depth"]
    assert run.base_lr == entry["optim"]["base_lr"] and run.weight_decay == entry["optim"]["wd"]
    assert tuple(run.test_error) == tuple(entry["test_ep_top1"]) and len(run.train_loss) == 5
    assert run.aux == entry["net"]["aux"] and run.drop_prob == entry["net"]["drop_prob"]
    assert run.iter_time == entry["iter_time"] and run.prec_time == entry["prec_time"]
    assert run.final_test_error == entry["test_ep_top1"][-1] and not run.diverged and not run.incomplete


def test_top_mid_file_and_imagenet_variant(tmp_path):
    write_nds(tmp_path / "Amoeba_in.json", 5, split=True)
    runs = load_nds(tmp_path / "Amoeba_in.json")
    assert [r.group for r in runs] == ["top", "top", "mid", "mid", "mid"]
    assert [r.position for r in runs] == list(range(5))
    assert {r.dataset for r in runs} == {"imagenet"}


def test_dataset_and_space_names():
    # The release's rule: '_in' anywhere in the name (NNI db_gen, nas-without-training).
    assert dataset_of("DARTS") == "cifar10" and dataset_of("DARTS_lr-wd") == "cifar10"
    assert dataset_of("DARTS_fix-w-d") == "cifar10" and dataset_of("PNAS_in") == "imagenet"
    assert dataset_of("DARTS_lr-wd_in") == "imagenet" and dataset_of("ResNeXt-A_in") == "imagenet"
    assert (
        canonical_space("darts.json") == "DARTS" and canonical_space("nds_data/resnext-a_IN.json.gz") == "ResNeXt-A_in"
    )
    assert canonical_space("MySpace.json") == "MySpace" and canonical_space("README.md") is None


def test_diverged_run_is_data(tmp_path):
    # DARTS_lr-wd.json holds runs whose loss turns NaN (NNI: "could be NaN"); they are kept.
    path = tmp_path / "DARTS_lr-wd.json"
    write_nds(path, 4, epochs=10, nan={2: 7})
    runs = load_nds(path)
    assert len(runs) == 4
    bad = runs[2]
    assert bad.diverged and math.isnan(bad.train_loss[7]) and bad.final_train_loss is None
    assert bad.train_loss[6] == pytest.approx(2 / 7) and bad.test_error[9] == 90.0
    assert not any(r.diverged for i, r in enumerate(runs) if i != 2)


def test_null_and_infinite_values_are_missing(tmp_path):
    entries = nds_entries(2)
    entries[0]["train_ep_loss"][1] = None
    entries[1]["min_test_top1"] = math.nan
    text = json.dumps(entries).replace("0.6666666666666666", "Infinity")
    path = tmp_path / "ENAS.json"
    path.write_text(text)
    runs = load_nds(path)
    assert math.isnan(runs[0].train_loss[1]) and runs[0].diverged
    assert runs[1].min_test_error is None and runs[1].test_accuracy is None and runs[1].incomplete


def test_concat_naming_an_input_node(tmp_path):
    # pycls concatenates whichever states the list names, inputs included.
    entries = nds_entries(1)
    entries[0]["net"]["genotype"]["normal_concat"] = [0, 2, 3, 4, 5]
    path = tmp_path / "NASNet.json"
    path.write_text(json.dumps(entries))
    cell = load_nds(path)[0].genotype.normal
    assert sorted(e.src for e in cell.edges if e.op == "concat") == [0, 2, 3, 4, 5]


@pytest.mark.parametrize("kind", ["resnet", "resnext", "vanilla"])
def test_network_spaces(tmp_path, kind):
    name = {"resnet": "ResNet.json", "resnext": "ResNeXt-A_in.json", "vanilla": "Vanilla_lr-wd.json"}[kind]
    entries = write_nds(tmp_path / name, 3, kind=kind)
    runs = load_nds(tmp_path / name)
    spec = runs[1].resnet
    assert runs[1].genotype is None and spec is not None
    assert list(spec.depths) == entries[1]["net"]["ds"] and list(spec.widths) == entries[1]["net"]["ws"]
    assert (spec.groups is not None) == (kind == "resnext")
    assert spec.family == {"resnet": "residual_basic", "resnext": "residual_bottleneck", "vanilla": "vanilla"}[kind]


def test_gzip_zip_and_folder(tmp_path):
    write_nds(tmp_path / "PNAS.json.gz", 3)
    assert len(load_nds(tmp_path / "PNAS.json.gz")) == 3
    z = write_nds_zip(
        tmp_path / "data.zip",
        {
            "DARTS.json": nds_bytes(nds_entries(2)),
            "ResNet_reruns.json": nds_bytes(nds_entries(4, kind="resnet"), split=True),
            "ENAS_in.json": nds_bytes(nds_entries(1)),
        },
    )
    assert [s.space for s in nds_sources([z])] == ["DARTS", "ResNet_reruns", "ENAS_in"]
    assert [s.space for s in nds_sources([f"{z}:resnet_reruns,ENAS_in.json"])] == ["ResNet_reruns", "ENAS_in"]
    with pytest.raises(DataError, match="no member named nope"):
        nds_sources([f"{z}:nope"])
    folder = tmp_path / "dir"
    folder.mkdir()
    write_nds(folder / "Amoeba.json", 1)
    write_nds(folder / "NASNet.json.gz", 1)
    assert [s.space for s in nds_sources([folder])] == ["Amoeba", "NASNet"]


def test_space_given_twice_any_case(tmp_path):
    write_nds(tmp_path / "DARTS.json", 1)
    (tmp_path / "b").mkdir()
    write_nds(tmp_path / "b" / "darts.json", 1)
    with pytest.raises(DataError, match="design space 'DARTS' given twice"):
        nds_sources([tmp_path / "DARTS.json", tmp_path / "b" / "darts.json"])


def test_every_problem_of_a_file_is_reported(tmp_path):
    path = tmp_path / "ENAS.json"
    entries = nds_entries(5)
    entries[1]["net"]["genotype"]["normal"][3] = ["bogus_op", 1]
    entries[3]["optim"]["max_ep"] = 0
    entries[4]["test_ep_top1"][2] = "x"
    path.write_text(json.dumps(entries))
    problems = Problems()
    f = read_nds(nds_sources([path])[0], problems)
    assert problems.count == 3 and len(f.runs) == 2
    text = "\n".join(problems.items)
    assert "entry 1: net.genotype: normal[3]: unknown op" in text
    assert "entry 3: optim.max_ep" in text and "entry 4: test_ep_top1[2]" in text


def test_curve_length_mismatch_is_a_warning(tmp_path):
    path = tmp_path / "DARTS.json"
    entries = nds_entries(2, epochs=5)
    entries[0]["optim"]["max_ep"] = 6
    path.write_text(json.dumps(entries))
    f = read_nds(nds_sources([path])[0], Problems())
    assert f.warning_counts == {"curve length differs from optim.max_ep": 1} and f.runs[0].incomplete


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda e: e["net"]["genotype"]["normal"].__setitem__(3, ["bogus_op", 1]),
            "entry 1: net.genotype: normal[3]: unknown op",
        ),
        (lambda e: e["net"].pop("genotype"), "entry 1: net has neither"),
        (lambda e: e["optim"].__setitem__("max_ep", 0), "entry 1: optim.max_ep"),
        (lambda e: e.__setitem__("min_test_top1", "x"), "entry 1: min_test_top1"),
        (lambda e: e["test_ep_top1"].__setitem__(2, "x"), "entry 1: test_ep_top1[2]"),
        (
            lambda e: e["net"]["genotype"]["normal"].__setitem__(0, ["sep_conv_3x3", 7]),
            "entry 1: net.genotype: normal[0]",
        ),
    ],
)
def test_bad_entry_names_file_and_entry(tmp_path, mutate, message):
    path = tmp_path / "ENAS.json"
    entries = nds_entries(3)
    mutate(entries[1])
    path.write_text(json.dumps(entries))
    with pytest.raises(DataError) as err:
        load_nds(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_malformed_json_names_line(tmp_path):
    path = tmp_path / "NASNet.json"
    write_nds(path, 3)
    path.write_text(path.read_text()[:-40])
    with pytest.raises(DataError, match=r"NASNet.json: malformed JSON: .*\(line 1, column \d+\)"):
        load_nds(path)


@pytest.mark.parametrize("content", ["{}", "[]", '{"top": 3}', '"text"'])
def test_wrong_top_level(tmp_path, content):
    path = tmp_path / "PNAS.json"
    path.write_text(content)
    with pytest.raises(DataError, match="PNAS.json"):
        load_nds(path)
