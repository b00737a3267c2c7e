"""Datasets for the experiments, all local: nothing is downloaded at run time.

Built in: scikit-learn's digits (1×8×8 images, or 64 flattened features), MNIST-1D from the
``mnist1d`` generator (seeded), and a small synthetic set for quick tests. From files the user
points at: MNIST / Fashion-MNIST IDX files (gzip or not) and CIFAR-10/100 python-pickle batches.
The CIFAR pickles are read with a restricted unpickler that can only rebuild numpy arrays and
builtin containers, so a crafted file cannot run code.

Every set is held as whole float32/int64 tensors (they fit in memory) and moved to the device
once; batches are index slices, not a ``DataLoader`` (worker processes do not pay for sets this
small). DARTS augmentation (random 32×32 crop of the 4-padded image and a horizontal flip, then
optionally cutout: one zeroed square per image, DeVries & Taylor 2017, as DARTS' ``--cutout``)
runs on the batch, on the device.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import io
import math
import pickle
import random
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor

from explorer.core.errors import DataError

DATASET_NAMES: tuple[str, ...] = (
    "digits", "digits_flat", "mnist1d", "synthetic", "mnist", "fashion_mnist", "cifar10", "cifar100",
)
FILE_DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10", "cifar100")

# Per-channel mean and std of the training sets (the values the DARTS and NB201 code use).
NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)),
    "cifar100": ((0.5070751, 0.48654887, 0.44091785), (0.26733428, 0.25643846, 0.27615049)),
}


@dataclass(frozen=True)
class Dataset:
    """A classification set held as tensors: x of shape (n, *input_shape), y int64 labels."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int
    mean: tuple[float, ...] = ()  # per-channel normalisation applied (empty: none or global)
    std: tuple[float, ...] = ()
    augment: bool = False
    cutout: int = 0  # side of the cutout square in pixels; 0: none

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def to(self, device: str | torch.device) -> Dataset:
        """The same set on ``device`` (one copy of each tensor; a no-op when already there)."""
        return replace(self, x_train=self.x_train.to(device), y_train=self.y_train.to(device),
                       x_test=self.x_test.to(device), y_test=self.y_test.to(device))

    def split(self, which: Literal["train", "test"]) -> tuple[Tensor, Tensor]:
        return (self.x_train, self.y_train) if which == "train" else (self.x_test, self.y_test)

    def augment_batch(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """DARTS' training augmentation on a normalised image batch: pad by 4 with black (in
        normalised units), random crop back to size, random horizontal flip (``augment``), then
        ``cutout`` (when > 0). Identity when both are off."""
        if self.augment:
            x = darts_augment(x, self.mean, self.std, generator)
        if self.cutout > 0:
            x = cutout(x, self.cutout, generator)
        return x


class DataSpec(BaseModel):
    """Which dataset, and how much of it: the part of a job spec that says what to train on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["digits", "digits_flat", "mnist1d", "synthetic", "mnist", "fashion_mnist", "cifar10", "cifar100"] = (
        "digits"
    )
    path: str | None = Field(None, description="folder holding the files (mnist, fashion_mnist, cifar10, cifar100); "
                             "on a server, relative to its data directory", json_schema_extra={"data_path": True})
    train_limit: int | None = Field(None, ge=1, description="use only the first n training samples")
    test_limit: int | None = Field(None, ge=1, description="use only the first n test samples")
    seed: int = Field(0, ge=0, description="seed of generated sets (mnist1d, synthetic) and of the digits split")
    augment: bool = Field(False, description="DARTS augmentation (random crop + flip); CIFAR only")
    cutout: int = Field(0, ge=0, le=64, description="cutout square side in pixels, after crop + flip "
                        "(DARTS: 16); 0: none; CIFAR only")

    @model_validator(mode="after")
    def _check(self) -> DataSpec:
        if self.name in FILE_DATASETS and not self.path:
            raise ValueError(f"{self.name} is read from local files: give 'path', the folder holding them")
        if self.augment and self.name not in ("cifar10", "cifar100"):
            raise ValueError("augment is DARTS' CIFAR augmentation (crops and flips); it does not fit "
                             f"{self.name}")
        if self.cutout and self.name not in ("cifar10", "cifar100"):
            raise ValueError(f"cutout is DARTS' CIFAR augmentation; it does not fit {self.name}")
        return self


def load_dataset(spec: DataSpec) -> Dataset:
    """The dataset a ``DataSpec`` names, on the CPU (call ``.to(device)`` once)."""
    loaders = {
        "digits": lambda: _digits(spec.seed, flat=False),
        "digits_flat": lambda: _digits(spec.seed, flat=True),
        "mnist1d": lambda: _mnist1d(spec.seed),
        "synthetic": lambda: _synthetic(spec.seed),
        "mnist": lambda: _idx_set("mnist", Path(spec.path or "")),
        "fashion_mnist": lambda: _idx_set("fashion_mnist", Path(spec.path or "")),
        "cifar10": lambda: _cifar("cifar10", Path(spec.path or "")),
        "cifar100": lambda: _cifar("cifar100", Path(spec.path or "")),
    }
    data = loaders[spec.name]()
    if spec.train_limit is not None or spec.test_limit is not None:
        data = replace(data, x_train=data.x_train[: spec.train_limit], y_train=data.y_train[: spec.train_limit],
                       x_test=data.x_test[: spec.test_limit], y_test=data.y_test[: spec.test_limit])
    return replace(data, augment=spec.augment, cutout=spec.cutout)


# --- built-in sets ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The digits as float pixels in [0, 1] and labels (read once per process; never mutated)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = bunch.data.astype(np.float32) / 16.0, bunch.target.astype(np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _digits(seed: int, *, flat: bool) -> Dataset:
    """scikit-learn's 1,797 8×8 digits: pixel values /16, standardised with the training mean/std,
    a seeded 80/20 split."""
    x, y = _digits_arrays()
    order = np.random.default_rng(seed).permutation(len(y))
    n_train = int(round(0.8 * len(y)))
    tr, te = order[:n_train], order[n_train:]
    mean, std = float(x[tr].mean()), float(x[tr].std())
    x = (x - mean) / std
    shape = (64,) if flat else (1, 8, 8)
    return Dataset("digits_flat" if flat else "digits", torch.from_numpy(x[tr].reshape(-1, *shape)),
                   torch.from_numpy(y[tr]), torch.from_numpy(x[te].reshape(-1, *shape)), torch.from_numpy(y[te]),
                   10, (mean,), (std,))


def _mnist1d(seed: int) -> Dataset:
    """MNIST-1D (Greydanus, 2020) from the package's generator with its default settings (4,000
    train / 1,000 test signals of length 40, already centred and scaled); never its download."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    # make_dataset seeds the global random/numpy generators; keep the caller's state intact.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        raw = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return Dataset("mnist1d", torch.tensor(raw["x"], dtype=torch.float32), torch.tensor(raw["y"], dtype=torch.int64),
                   torch.tensor(raw["x_test"], dtype=torch.float32), torch.tensor(raw["y_test"], dtype=torch.int64), 10)


def _synthetic(seed: int, n_train: int = 512, n_test: int = 256, classes: int = 4) -> Dataset:
    """Gaussian class clusters as 1×4×4 inputs: learnable in a few epochs, fits any network kind."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, 16, generator=g) * 1.5

    def draw(n: int) -> tuple[Tensor, Tensor]:
        y = torch.randint(0, classes, (n,), generator=g)
        x = centres[y] + torch.randn(n, 16, generator=g)
        return x.reshape(n, 1, 4, 4), y

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    return Dataset("synthetic", x_tr, y_tr, x_te, y_te, classes)


# --- IDX (MNIST, Fashion-MNIST) -------------------------------------------------------------------

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}


def _find(folder: Path, stem: str, what: str) -> Path:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (the {what} files should be in it)")
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: {stem} (or {stem}.gz) not found; the {what} set needs the four standard IDX files "
                    f"{', '.join(IDX_FILES.values())}")


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzip or not) as a numpy array: uint8 images (n, rows, cols) or labels (n,)."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX type 0x{raw[2]:02x} is not unsigned bytes (0x08), as MNIST files are")
    ndim = raw[3]
    if ndim not in (1, 3) or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: expected a 1-D (labels) or 3-D (images) IDX file, header says {ndim}-D")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    count = math.prod(dims)
    body = raw[4 + 4 * ndim :]
    if len(body) != count:
        raise DataError(f"{path}: header says {count} bytes of data ({'×'.join(map(str, dims))}), file has {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _idx_set(name: str, folder: Path) -> Dataset:
    what = name.replace("_", "-")
    arrays = {k: read_idx(_find(folder, stem, what)) for k, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(f"{folder}: the {split} images must be 3-D and the labels 1-D IDX files")
        if len(images) != len(labels):
            raise DataError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise DataError(f"{folder}: {split} label {int(labels.max())} out of range 0..9")
    mean, std = NORMALISATION[name]

    def images(a: np.ndarray) -> Tensor:
        return ((torch.from_numpy(a.astype(np.float32) / 255.0) - mean[0]) / std[0]).unsqueeze(1)

    return Dataset(name, images(arrays["train_images"]), torch.from_numpy(arrays["train_labels"].astype(np.int64)),
                   images(arrays["test_images"]), torch.from_numpy(arrays["test_labels"].astype(np.int64)),
                   10, mean, std)


# --- CIFAR python-pickle batches --------------------------------------------------------------------


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and builtin containers only; any other global is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes; a pure function
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise DataError(f"refusing to unpickle {module}.{name}: a CIFAR batch holds only numpy arrays and lists")
        if name == "_reconstruct":
            return np._core.multiarray._reconstruct  # type: ignore[attr-defined]
        if name == "scalar":
            return np._core.multiarray.scalar  # type: ignore[attr-defined]
        if module == "_codecs":
            return codecs.encode
        return getattr(np, name)


def read_cifar_batch(path: Path) -> dict[str, Any]:
    """One CIFAR python batch as a dict with str keys (``data``, ``labels``/``fine_labels``, ...)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    try:
        obj = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except Exception as exc:  # any malformed pickle: truncated, wrong opcodes, bad array state
        raise DataError(f"{path}: not a CIFAR python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: not a CIFAR python batch (expected a dict, found {type(obj).__name__})")
    return {(k.decode("latin-1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def _cifar_arrays(path: Path, label_key: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = read_cifar_batch(path)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path}: a CIFAR batch needs 'data' and '{label_key}', found {', '.join(sorted(batch))}")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (n, 3072), found {shape}")
    labels = np.asarray(batch[label_key])
    if labels.ndim != 1 or len(labels) != len(data) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: '{label_key}' must be {len(data)} integer labels")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(f"{path}: label {int(labels.max())} out of range 0..{classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _cifar(name: str, folder: Path) -> Dataset:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (it should hold the CIFAR python batches)")
    if name == "cifar10":
        train_files, test_files, label_key, classes = (
            [f"data_batch_{i}" for i in range(1, 6)],
            ["test_batch"],
            "labels",
            10,
        )
    else:
        train_files, test_files, label_key, classes = ["train"], ["test"], "fine_labels", 100
    for f in train_files + test_files:
        if not (folder / f).is_file():
            raise DataError(f"{folder}: {f} not found; {name} needs {', '.join(train_files + test_files)} "
                            "(the python version, e.g. the extracted cifar-10-batches-py folder)")
    mean, std = NORMALISATION[name]
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)

    def load(files: list[str]) -> tuple[Tensor, Tensor]:
        parts = [_cifar_arrays(folder / f, label_key, classes) for f in files]
        x = torch.from_numpy(np.concatenate([p[0] for p in parts])).float().div_(255.0)
        return (x - m) / s, torch.from_numpy(np.concatenate([p[1] for p in parts]))

    x_tr, y_tr = load(train_files)
    x_te, y_te = load(test_files)
    return Dataset(name, x_tr, y_tr, x_te, y_te, classes, mean, std)


# --- augmentation ---------------------------------------------------------------------------------


def darts_augment(x: Tensor, mean: tuple[float, ...], std: tuple[float, ...],
                  generator: torch.Generator | None = None, pad: int = 4) -> Tensor:
    """Random crop (padding ``pad``, filled with black in normalised units) and horizontal flip,
    per sample, as one gather on the batch's device."""
    n, c, h, w = x.shape
    fill = (-torch.tensor(mean, device=x.device) / torch.tensor(std, device=x.device)).view(1, c, 1, 1)
    padded = fill.expand(n, c, h + 2 * pad, w + 2 * pad).clone()
    padded[:, :, pad : pad + h, pad : pad + w] = x
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device="cpu").to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device="cpu").to(x.device)
    flip = torch.rand(n, generator=generator, device="cpu").to(x.device) < 0.5
    rows = dy[:, None] + torch.arange(h, device=x.device)
    cols = dx[:, None] + torch.arange(w, device=x.device)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    out = padded[torch.arange(n, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()  # advanced indexing put channels last


def cutout(x: Tensor, length: int, generator: torch.Generator | None = None) -> Tensor:
    """Cutout as DARTS applies it (``utils.Cutout``, after normalisation, so the square becomes
    the mean colour): per image, a centre drawn uniformly over all pixels and the rows/columns
    [centre − length//2, centre + length//2) zeroed, clipped at the border (so squares near an
    edge are smaller, and an odd length gives a side of length − 1, as in DARTS)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=generator, device="cpu").to(x.device)
    cx = torch.randint(0, w, (n,), generator=generator, device="cpu").to(x.device)
    half = length // 2
    rows = torch.arange(h, device=x.device)[None, :]
    cols = torch.arange(w, device=x.device)[None, :]
    in_rows = (rows >= (cy - half)[:, None]) & (rows < (cy + half)[:, None])  # (n, h)
    in_cols = (cols >= (cx - half)[:, None]) & (cols < (cx + half)[:, None])  # (n, w)
    square = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]  # (n, 1, h, w)
    return x.masked_fill(square, 0.0)
