"""Errors a user can cause. Each carries a message fit to show as it is (no traceback)."""

from __future__ import annotations


class CellError(ValueError):
    """A cell or cell text is invalid. The message says what is wrong and where; fit to show."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class UserError(Exception):
    """Bad input other than a cell: a spec, a file, a query. The message says what and how to fix."""


class SpecError(UserError):
    """A job spec failed validation."""


class DataError(UserError):
    """A data file is missing or malformed (the message names the file and, where known, the row)."""


USER_ERRORS: tuple[type[Exception], ...] = (CellError, UserError)
