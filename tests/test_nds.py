"""NDS result files: the official JSON layout, read and validated."""

from __future__ import annotations

import json

import pytest

from explorer.benchmarks.nds import dataset_of, load_nds
from explorer.cell.model import Cell
from explorer.core.errors import DataError
from tests.warehouse_fixtures import write_nds


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
    assert run.test_error == tuple(entry["test_ep_top1"]) and len(run.train_loss) == 5


def test_top_mid_file_and_imagenet_variant(tmp_path):
    write_nds(tmp_path / "Amoeba_in.json", 5, split=True)
    runs = load_nds(tmp_path / "Amoeba_in.json")
    assert [r.group for r in runs] == ["top", "top", "mid", "mid", "mid"]
    assert [r.position for r in runs] == list(range(5))
    assert {r.dataset for r in runs} == {"imagenet"}


def test_dataset_from_file_name():
    assert dataset_of("DARTS") == "cifar10"
    assert dataset_of("DARTS_lr-wd") == "cifar10"
    assert dataset_of("DARTS_fix-w-d") == "cifar10"
    assert dataset_of("PNAS_in") == "imagenet"


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda e: e["net"]["genotype"]["normal"].__setitem__(3, ["bogus_op", 1]), "entry 1: net.genotype: normal[3]: unknown op"),
    (lambda e: e["net"].pop("genotype"), "entry 1: no net.genotype"),
    (lambda e: e["optim"].__setitem__("max_ep", 0), "entry 1: optim.max_ep"),
    (lambda e: e.__setitem__("min_test_top1", "x"), "entry 1: min_test_top1"),
    (lambda e: e["test_ep_top1"].__setitem__(2, None), "entry 1: test_ep_top1[2]"),
    (lambda e: e["net"]["genotype"]["normal"].__setitem__(0, ["sep_conv_3x3", 7]), "entry 1: net.genotype: normal[0]"),
])
def test_bad_entry_names_file_and_entry(tmp_path, mutate, message):
    path = tmp_path / "ENAS.json"
    entries = write_nds(path, 3)
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
