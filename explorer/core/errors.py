"""Errors a user can cause. Each carries a message fit to show as it is (no traceback)."""

from __future__ import annotations

from explorer.cell.model import CellError


class UserError(Exception):
    """Bad input other than a cell: a spec, a file, a query. The message says what and how to fix."""


class SpecError(UserError):
    """A job spec failed validation."""


class DataError(UserError):
    """A data file is missing or malformed (the message names the file and, where known, the row)."""


USER_ERRORS: tuple[type[Exception], ...] = (CellError, UserError)
