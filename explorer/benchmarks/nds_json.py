"""Entry-by-entry reading of an NDS file: one entry's Python objects alive at a time, not the file's.

``json.loads`` of a 170 MB file of 25,000 entries holds ≈ 750 MB of Python objects at once; decoding
the top-level list one element at a time (``JSONDecoder.raw_decode`` at each offset of the same
string) keeps only the text and the entry being checked. NaN and ±Infinity are accepted, as the
release writes them (Python's ``json`` module wrote the files).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

GROUPS = ("top", "mid")  # the keys of files that split their entries
_WS = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()
_EMPTY = object()  # what _array yields for an empty array (no element)


class FormatError(ValueError):
    """Valid JSON, but not a list of entries nor an object of 'top' / 'mid' lists."""


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def _expect(text: str, i: int, char: str, what: str) -> int:
    if i >= len(text) or text[i] != char:
        raise json.JSONDecodeError(f"Expecting {what}", text, i)
    return i + 1


def _array(text: str, i: int, group: str | None) -> Iterator[tuple[str | None, Any, int]]:
    """Elements of the array starting at text[i] == '[', each with the offset after it."""
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "]":
        yield group, _EMPTY, i + 1
        return
    while True:
        value, i = _decoder.raw_decode(text, i)
        i = _skip(text, i)
        if i < len(text) and text[i] == "]":
            yield group, value, i + 1
            return
        i = _skip(text, _expect(text, i, ",", "',' delimiter"))
        yield group, value, i


def iter_entries(text: str) -> Iterator[tuple[str | None, Any]]:
    """(group, entry) in file order: group None for a list file, 'top' / 'mid' for a split file.
    ``json.JSONDecodeError`` (with line and column) for broken JSON, ``FormatError`` for the wrong shape."""
    i = _skip(text, 0)
    if text.startswith("\ufeff", i):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM", text, i)
    if i < len(text) and text[i] == "[":
        end = i
        for _, value, end in _array(text, i, None):  # noqa: B007 - end: where the list stopped, read below
            if value is not _EMPTY:
                yield None, value
        i = end
    elif i < len(text) and text[i] == "{":
        i = _skip(text, i + 1)
        seen: set[str] = set()
        while i < len(text) and text[i] != "}":
            key, i = _decoder.raw_decode(text, i)
            i = _skip(text, _expect(text, _skip(text, i), ":", "':' delimiter"))
            if key not in GROUPS or key in seen or i >= len(text) or text[i] != "[":
                raise FormatError(f"expected an object with 'top' and 'mid' lists (key {key!r})")
            seen.add(key)
            end = i
            for group, value, end in _array(text, i, key):  # noqa: B007 - end: read after the loop
                if value is not _EMPTY:
                    yield group, value
            i = _skip(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip(text, i + 1)
        if not seen:
            raise FormatError("expected an object with 'top' and 'mid' lists")
        i = _expect(text, i, "}", "'}'")
    else:
        _decoder.raw_decode(text, i)  # raises for broken JSON
        raise FormatError("expected a list of entries or an object with 'top' and 'mid' lists")
    if _skip(text, i) != len(text):
        raise json.JSONDecodeError("Extra data", text, _skip(text, i))
