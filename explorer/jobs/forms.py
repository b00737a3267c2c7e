"""A job kind's spec model described as form fields, so a page can draw a form for any kind
without knowing it, and turn what was typed back into a spec for validation."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from explorer.core.errors import SpecError

Widget = Literal["checkbox", "int", "float", "choice", "text", "json", "group"]
Path = tuple[str, ...]


@dataclass(frozen=True)
class FormField:
    path: Path  # ("network", "cell") for a nested field
    widget: Widget
    default: Any  # None when required and without default
    required: bool
    nullable: bool  # None is allowed (an empty box means None)
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    children: tuple[FormField, ...] = ()  # for "group" (a nested model)
    qualified: bool = False  # another field has the same name: the label says whose it is

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def label(self) -> str:
        name = self.path[-1].replace("_", " ")
        return f"{name} ({self.path[-2].replace('_', ' ')})" if self.qualified and len(self.path) > 1 else name


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) != len(typing.get_args(annotation))
    return annotation, False


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low = m.gt
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high = m.lt
    return low, high


def describe(model: type[BaseModel], prefix: Path = ()) -> list[FormField]:
    """The model's fields in order; nested models become groups of their own fields. A nested field
    that shares its name with another (the train spec's seed and its data's seed) is labelled with
    its group: 'seed (data)'."""
    fields = _fields(model, prefix)
    names = [f.path[-1] for f in _flat(fields)]
    return _qualify(fields, {n for n in names if names.count(n) > 1}) if not prefix else fields


def _qualify(fields: list[FormField], shared: set[str]) -> list[FormField]:
    return [replace(f, children=tuple(_qualify(list(f.children), shared))) if f.widget == "group"
            else replace(f, qualified=f.path[-1] in shared and len(f.path) > 1) for f in fields]


def _fields(model: type[BaseModel], prefix: Path) -> list[FormField]:
    fields = []
    for name, info in model.model_fields.items():
        annotation, nullable = _unwrap_optional(info.annotation)
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        common = dict(path=(*prefix, name), required=required, nullable=nullable, description=info.description or "")
        low, high = _bounds(info)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            children = tuple(_fields(annotation, (*prefix, name)))
            fields.append(FormField(widget="group", default=None, children=children, **common))
        elif typing.get_origin(annotation) is Literal:
            fields.append(FormField(widget="choice", default=default, choices=typing.get_args(annotation), **common))
        elif annotation is bool:
            fields.append(FormField(widget="checkbox", default=bool(default), **common))
        elif annotation is int:
            fields.append(FormField(widget="int", default=default, minimum=low, maximum=high, **common))
        elif annotation is float:
            fields.append(FormField(widget="float", default=default, minimum=low, maximum=high, **common))
        elif annotation is str:
            fields.append(FormField(widget="text", default=default, **common))
        else:  # lists, dicts, unions: typed as JSON
            if isinstance(default, BaseModel):
                default = default.model_dump(mode="json")
            fields.append(FormField(widget="json", default=default, **common))
    return fields


def _flat(fields: list[FormField] | tuple[FormField, ...]):
    for f in fields:
        if f.widget == "group":
            yield from _flat(f.children)
        else:
            yield f


def initial_values(
    fields: list[FormField], *, spec: Mapping[str, Any] | None = None, cell_text: str | None = None
) -> dict[str, Any]:
    """Starting values by field key: defaults, then a spec being cloned, then the editor's cell
    for every field named ``cell`` (the cell is what the user is looking at)."""
    values: dict[str, Any] = {}
    for f in _flat(fields):
        value: Any = f.default
        if spec is not None:
            node: Any = spec
            for part in f.path:
                node = node.get(part) if isinstance(node, Mapping) else None
            if node is not None:
                value = node
        if f.path[-1] == "cell" and f.widget == "text" and cell_text and (spec is None or value in (None, "")):
            value = cell_text
        if f.widget == "json":
            value = "" if value is None else json.dumps(value)
        values[f.key] = value
    return values


def assemble(fields: list[FormField], values: Mapping[str, Any]) -> dict[str, Any]:
    """The nested spec dict from the typed values (validate it with the kind's model next).
    An empty box leaves the field out (its default applies, or the model says it is missing)."""
    spec: dict[str, Any] = {}
    for f in _flat(fields):
        value = values.get(f.key)
        if f.widget == "json":
            text = (value or "").strip()
            if not text:
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SpecError(f"{f.key}: not valid JSON ({exc.msg} at character {exc.pos})") from None
        elif f.widget == "text" and isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        elif value is None:
            if f.nullable and not f.required:
                value = None
            else:
                continue
        node = spec
        for part in f.path[:-1]:
            node = node.setdefault(part, {})
        node[f.path[-1]] = value
    return spec
