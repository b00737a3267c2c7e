"""Submit forms from spec models: described, prefilled, and assembled back into valid specs."""

from __future__ import annotations

import pytest

from explorer.core.errors import SpecError
from explorer.jobs.forms import assemble, describe, initial_values
from explorer.jobs.registry import load_kinds

NB201 = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def test_selftest_fields_carry_types_bounds_and_defaults():
    fields = {f.key: f for f in describe(load_kinds()["selftest"].spec_model)}
    assert (fields["steps"].widget, fields["steps"].default, fields["steps"].minimum) == ("int", 50, 1)
    assert fields["sleep_s"].widget == "float" and fields["sleep_s"].maximum == 3600
    assert fields["fail_at_step"].nullable and fields["fail_at_step"].default is None


@pytest.mark.parametrize("kind_name", sorted(load_kinds()))
def test_every_kind_round_trips_its_defaults(kind_name):
    kind = load_kinds()[kind_name]
    fields = describe(kind.spec_model)
    spec = assemble(fields, initial_values(fields, cell_text=NB201))
    if not any(f.required and f.widget != "group" and f.path[-1] != "cell" for f in fields):
        kind.validate(spec)  # defaults plus the editor's cell make a valid spec


def test_cloning_prefills_nested_fields_and_bad_json_is_a_spec_error():
    kinds = load_kinds()
    fields = describe(kinds["train"].spec_model)
    values = initial_values(fields, spec={"network": {"cell": NB201, "width": 32}, "epochs": 2}, cell_text="ignored")
    assert values["network.cell"] == NB201 and values["network.width"] == 32 and values["epochs"] == 2
    spec = assemble(fields, values)
    assert kinds["train"].validate(spec).network.width == 32
    json_field = next(f for f in describe(kinds["nngp_check"].spec_model) if f.widget == "json")
    with pytest.raises(SpecError, match=f"{json_field.key}: not valid JSON"):
        assemble([json_field], {json_field.key: "[1,"})
