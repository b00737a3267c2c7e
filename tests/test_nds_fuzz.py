"""Fuzz the NDS reader: whatever a file holds, only DataError (with the file named) escapes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.benchmarks.nds import load_nds
from explorer.core.errors import DataError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)

GOOD = {
    "net": {"genotype": {"normal": [["sep_conv_3x3", 0], ["skip_connect", 1]] * 4, "normal_concat": [2, 3, 4, 5],
                         "reduce": [["max_pool_3x3", 0], ["skip_connect", 1]] * 4, "reduce_concat": [2, 3, 4, 5]},
            "width": 16, "depth": 8},
    "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": 100},
    "params": 1.2e6, "flops": 3.0e8, "rng_seed": 1, "min_test_top1": 7.5,
    "train_ep_loss": [2.0, 1.0], "train_ep_top1": [50.0, 30.0], "test_ep_top1": [40.0, 20.0],
}
KEYS = ["net", "optim", "params", "flops", "rng_seed", "min_test_top1", "train_ep_loss", "test_ep_top1"]


def _load(tmp_path, content: str | bytes) -> None:
    path = tmp_path / "DARTS.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    try:
        load_nds(path)
    except DataError as exc:
        assert str(path) in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_any_json_document(tmp_path, value):
    _load(tmp_path, json.dumps(value))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), sub=st.sampled_from([None, "genotype", "max_ep", "width"]), value=json_values)
def test_entries_with_one_field_replaced(tmp_path, key, sub, value):
    entry = json.loads(json.dumps(GOOD))
    if sub is not None and isinstance(entry.get(key), dict):
        entry[key][sub] = value
    else:
        entry[key] = value
    _load(tmp_path, json.dumps([GOOD, entry]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes(tmp_path, data):
    _load(tmp_path, data)


def test_hostile_documents(tmp_path):
    for content in ["[" * 100_000, "[" + "9" * 5000 + "]", '{"top": 1, "mid": 2}', "\ufeff[]", "[NaN]"]:
        _load(tmp_path, content)
