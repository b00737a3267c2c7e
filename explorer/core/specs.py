"""Validating a spec (a pydantic model) with one error fit to show: every problem, by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from explorer.core.errors import SpecError

M = TypeVar("M", bound=BaseModel)


def validate_model(model: type[M], spec: Mapping[str, Any] | str, what: str) -> M:
    """``spec`` as ``model``, or ``SpecError`` listing every problem (also for specs inside specs)."""
    try:
        if isinstance(spec, str):
            return model.model_validate_json(spec)
        return model.model_validate(spec)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}" for err in exc.errors()
        )
        raise SpecError(f"invalid {what} spec: {problems}") from None
