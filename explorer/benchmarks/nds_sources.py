"""Where NDS files come from: the release's ``data.zip``, a folder, single ``.json`` / ``.json.gz`` files.

The release (https://dl.fbaipublicfiles.com/nds/data.zip, see facebookresearch/nds) is one zip of
JSON files, one per design space (``DARTS.json``, ``ResNet_reruns.json``, ...). ``--nds`` takes any mix:

- ``data.zip``: every ``.json`` / ``.json.gz`` member; ``data.zip:DARTS,ResNet_in`` only the members
  named (by space name or file name, any case);
- a folder: its ``.json`` / ``.json.gz`` files (not recursive);
- a file: ``.json`` or ``.json.gz``.

Space names are canonical: a file's stem is matched case-insensitively against the release's names
(``darts.json`` is ``DARTS``), so one space cannot enter twice under two spellings.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from explorer.core.errors import DataError

# The release's files (NNI's db_gen lists the same), so names are canonical whatever their case.
RELEASE_SPACES = (
    "Amoeba", "Amoeba_in", "DARTS", "DARTS_fix-w-d", "DARTS_in", "DARTS_lr-wd", "DARTS_lr-wd_in",
    "ENAS", "ENAS_fix-w-d", "ENAS_in", "NASNet", "NASNet_in", "PNAS", "PNAS_fix-w-d", "PNAS_in",
    "ResNeXt-A", "ResNeXt-A_in", "ResNeXt-B", "ResNeXt-B_in", "ResNet-B", "ResNet", "ResNet_lr-wd",
    "ResNet_lr-wd_in", "ResNet_reruns", "ResNet_rng1", "ResNet_rng2", "ResNet_rng3", "Vanilla",
    "Vanilla_lr-wd", "Vanilla_lr-wd_in", "Vanilla_reruns", "Vanilla_rng1", "Vanilla_rng2", "Vanilla_rng3",
)
_CANONICAL = {s.casefold(): s for s in RELEASE_SPACES}
SUFFIXES = (".json.gz", ".json")


@dataclass(frozen=True)
class NDSSource:
    """One NDS file to read: its space, where it is (for messages) and how to get its bytes."""

    space: str
    label: str  # 'data.zip:nds_data/DARTS.json', '/x/DARTS.json.gz'
    container: Path  # the file on disk (the zip for members)
    read: Callable[[], bytes]


def canonical_space(file_name: str) -> str | None:
    """'darts_IN.json.gz' → 'DARTS_in'; a name not in the release keeps its spelling; None: not NDS JSON."""
    name = PurePosixPath(file_name).name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            stem = name[: -len(suffix)]
            return _CANONICAL.get(stem.casefold(), stem) if stem else None
    return None


def dataset_of(space: str) -> str:
    """The release's rule (NNI db_gen, nas-without-training): a name containing '_in' is ImageNet."""
    return "imagenet" if "_in" in space.lower() else "cifar10"


def sweep_of(space: str) -> str:
    """NNI's 'generator': fix_w_d, tune_lr_wd or random, from the file name."""
    name = space.lower()
    return "fix_w_d" if "fix-w-d" in name else "tune_lr_wd" if "lr-wd" in name else "random"


def _decompress(data: bytes, label: str) -> bytes:
    if label.lower().endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise DataError(f"{label}: not a readable gzip file ({exc})") from None
    return data


def _file_source(path: Path) -> NDSSource:
    space = canonical_space(path.name)
    if space is None:
        raise DataError(f"{path}: not an NDS file (expected .json, .json.gz or a .zip of them)")

    def read() -> bytes:
        try:
            return _decompress(path.read_bytes(), str(path))
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc})") from None

    return NDSSource(space, str(path), path, read)


def _zip_sources(path: Path, wanted: Sequence[str]) -> list[NDSSource]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable zip file ({exc})") from None
    found = []
    for m in members:
        if "__MACOSX" in m or PurePosixPath(m).name.startswith("."):
            continue  # macOS resource forks, hidden files
        space = canonical_space(m)
        if space is not None:
            found.append((space, m))
    if wanted:
        keys = {w.casefold() for w in wanted}
        chosen = [(s, m) for s, m in found if s.casefold() in keys or PurePosixPath(m).name.casefold() in keys]
        missing = keys - {s.casefold() for s, _ in chosen} - {PurePosixPath(m).name.casefold() for _, m in chosen}
        if missing:
            raise DataError(f"{path}: no member named {', '.join(sorted(missing))} "
                            f"(it holds {', '.join(s for s, _ in found) or 'no NDS files'})")
        found = chosen
    if not found:
        raise DataError(f"{path}: the zip holds no .json or .json.gz files")

    def reader(member: str) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                with zipfile.ZipFile(path) as zf:
                    return _decompress(zf.read(member), member)
            except (OSError, zipfile.BadZipFile, zlib.error) as exc:
                raise DataError(f"{path}:{member}: cannot read ({exc})") from None
        return read

    return [NDSSource(space, f"{path}:{m}", path, reader(m)) for space, m in found]


def split_selector(spec: str | Path) -> tuple[Path, list[str]]:
    """'data.zip:DARTS,ResNet' → (data.zip, ['DARTS', 'ResNet']); anything else → (path, [])."""
    text = str(spec)
    head, sep, tail = text.rpartition(":")
    if sep and head.lower().endswith(".zip") and not Path(text).exists():
        return Path(head), [t for t in tail.split(",") if t]
    return Path(text), []


def nds_sources(specs: Sequence[str | Path]) -> list[NDSSource]:
    """Every NDS file the ``--nds`` arguments name; a design space given twice is a ``DataError``."""
    sources: list[NDSSource] = []
    for spec in specs:
        path, wanted = split_selector(spec)
        if not path.exists():
            raise DataError(f"{path}: file not found")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and canonical_space(p.name) is not None)
            if not files:
                raise DataError(f"{path}: the folder holds no .json or .json.gz files")
            sources.extend(_file_source(p) for p in files)
        elif path.suffix.lower() == ".zip":
            sources.extend(_zip_sources(path, wanted))
        else:
            sources.append(_file_source(path))
    seen: dict[str, str] = {}
    for s in sources:
        key = s.space.casefold()
        if key in seen:
            raise DataError(f"design space {s.space!r} given twice: {seen[key]} and {s.label} "
                            "(space names ignore case; give each space once)")
        seen[key] = s.label
    return sources
