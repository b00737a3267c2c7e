"""Paths typed by users (dataset folders in job specs) stay inside the configured data directory.

The check is lexical: a path is joined to the data directory and normalised, and must stay inside
it. Symbolic links are not resolved, on purpose: users cannot create files or links through the
app, so a link inside the data directory was put there by the operator (for example
``data/datasets/cifar10 -> /mnt/shared/cifar10``) and is meant to be followed.
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.core.errors import UserError


class PathError(UserError):
    """A user-supplied path that points outside the data directory."""


def confine(path: str | os.PathLike[str], root: Path, what: str = "path") -> Path:
    """``path`` as an absolute path inside ``root``: relative paths are relative to ``root``;
    absolute ones must already lie inside it. Raises ``PathError`` naming ``what`` otherwise."""
    text = os.fspath(path)
    if "\x00" in text:
        raise PathError(f"{what}: a path cannot contain NUL characters")
    root = Path(os.path.normpath(os.path.abspath(root)))
    if text.startswith("~"):  # a server user's home is not the data directory, and may not even resolve
        raise PathError(f"{what} {text!r}: '~' is not allowed; give a folder relative to the data directory {root}")
    candidate = Path(text)
    if ".." in candidate.parts:
        raise PathError(f"{what} {text!r}: '..' is not allowed; give a folder inside the data directory {root}")
    full = Path(os.path.normpath(root / candidate))  # an absolute candidate replaces root here
    if full != root and root not in full.parents:
        raise PathError(f"{what} {text!r} is outside the data directory {root}; put the files under it "
                        "(or link them there) and give the path relative to it")
    return full
