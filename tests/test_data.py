"""Datasets: built-in sets, IDX and CIFAR files written here in their exact formats, clear errors."""

from __future__ import annotations

import gzip
import os
import pickle
import random
import struct

import numpy as np
import pytest
import torch

from explorer.core.errors import DataError, SpecError
from explorer.core.specs import validate_model
from explorer.experiments.datasets import (
    DataSpec,
    cutout,
    darts_augment,
    load_dataset,
    read_cifar_batch,
    read_idx,
)


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_mnist(folder, *, gz: bool, n_train: int = 6, n_test: int = 4) -> None:
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    folder.mkdir(exist_ok=True)
    for name, arr in files.items():
        data = _idx(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_load_normalised(tmp_path, gz) -> None:
    _write_mnist(tmp_path / "mnist", gz=gz)
    data = load_dataset(DataSpec(name="mnist", path=str(tmp_path / "mnist")))
    assert data.x_train.shape == (6, 1, 28, 28) and data.x_test.shape == (4, 1, 28, 28)
    raw = read_idx(tmp_path / "mnist" / ("train-images-idx3-ubyte" + (".gz" if gz else "")))
    expected = (raw[0].astype(np.float32) / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(data.x_train[0, 0].numpy(), expected, rtol=1e-6)
    assert data.y_train.dtype == torch.int64 and data.num_classes == 10


def test_idx_errors_name_the_file(tmp_path) -> None:
    folder = tmp_path / "fm"
    _write_mnist(folder, gz=False)
    bad = folder / "t10k-labels-idx1-ubyte"
    bad.write_bytes(_idx(np.zeros(3)))  # 4 test images, 3 labels
    with pytest.raises(DataError, match="4 test images but 3 labels"):
        load_dataset(DataSpec(name="fashion_mnist", path=str(folder)))
    bad.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")  # truncated body
    with pytest.raises(DataError, match="header says 9 bytes"):
        read_idx(bad)
    bad.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(bad)
    os.remove(bad)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte .*not found"):
        load_dataset(DataSpec(name="fashion_mnist", path=str(folder)))
    with pytest.raises(DataError, match="no such folder"):
        load_dataset(DataSpec(name="mnist", path=str(tmp_path / "nowhere")))


def _write_cifar(folder, name: str, n: int = 3) -> None:
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    if name == "cifar10":
        files, key, classes = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"], b"labels", 10
    else:
        files, key, classes = ["train", "test"], b"fine_labels", 100
    for f in files:
        batch = {b"batch_label": b"x", b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 key: [int(v) for v in rng.integers(0, classes, n)], b"filenames": [b"a.png"] * n}
        (folder / f).write_bytes(pickle.dumps(batch, protocol=2))


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_batches_load(tmp_path, name) -> None:
    _write_cifar(tmp_path / name, name)
    data = load_dataset(DataSpec(name=name, path=str(tmp_path / name), augment=True))
    assert data.x_train.shape == ((15 if name == "cifar10" else 3), 3, 32, 32)
    assert data.num_classes == (10 if name == "cifar10" else 100)
    batch = read_cifar_batch(tmp_path / name / ("test_batch" if name == "cifar10" else "test"))
    first = batch["data"][0].reshape(3, 32, 32).astype(np.float32) / 255
    mean, std = np.array(data.mean).reshape(3, 1, 1), np.array(data.std).reshape(3, 1, 1)
    np.testing.assert_allclose(data.x_test[0].numpy(), (first - mean) / std, rtol=1e-5, atol=1e-6)
    assert data.augment_batch(data.x_train).shape == data.x_train.shape


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_unpickler_refuses_anything_but_arrays(tmp_path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(DataError, match="refusing to unpickle"):
        read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]})[:-5])
    with pytest.raises(DataError, match="not a CIFAR python batch"):
        read_cifar_batch(path)
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}))
    folder = tmp_path
    with pytest.raises(DataError, match="not found"):
        load_dataset(DataSpec(name="cifar10", path=str(folder)))
    _write_cifar(folder, "cifar10")
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataError, match=r"shape \(n, 3072\)"):
        load_dataset(DataSpec(name="cifar10", path=str(folder)))


def test_built_in_sets_are_seeded_and_shaped() -> None:
    digits = load_dataset(DataSpec(name="digits"))
    assert digits.input_shape == (1, 8, 8) and len(digits.x_train) + len(digits.x_test) == 1797
    flat = load_dataset(DataSpec(name="digits_flat"))
    assert flat.input_shape == (64,) and torch.equal(flat.x_train, digits.x_train.flatten(1))
    assert abs(float(digits.x_train.mean())) < 1e-5
    state = random.getstate(), np.random.get_state()[1][:3].copy()
    m1 = load_dataset(DataSpec(name="mnist1d", seed=3, train_limit=100))
    assert random.getstate() == state[0] and np.array_equal(np.random.get_state()[1][:3], state[1])
    m2 = load_dataset(DataSpec(name="mnist1d", seed=3, train_limit=100))
    assert m1.input_shape == (40,) and len(m1.x_train) == 100 and len(m1.x_test) == 1000
    assert torch.equal(m1.x_train, m2.x_train)
    s = load_dataset(DataSpec(name="synthetic", seed=1))
    assert s.input_shape == (1, 4, 4) and s.num_classes == 4
    assert not torch.equal(s.x_train, load_dataset(DataSpec(name="synthetic", seed=2)).x_train)


def test_spec_errors_are_clear() -> None:
    with pytest.raises(SpecError, match="give 'path'"):
        validate_model(DataSpec, {"name": "cifar10"}, "data")
    with pytest.raises(SpecError, match="CIFAR"):
        validate_model(DataSpec, {"name": "digits", "augment": True}, "data")
    with pytest.raises(SpecError, match="name"):
        validate_model(DataSpec, {"name": "imagenet"}, "data")
    with pytest.raises(SpecError, match="cutout.*digits"):
        validate_model(DataSpec, {"name": "digits", "cutout": 4}, "data")
    with pytest.raises(SpecError, match="cutout"):
        validate_model(DataSpec, {"name": "cifar10", "path": "x", "cutout": -1}, "data")
    assert DataSpec().cutout == 0  # stored specs without the field keep their behaviour


def test_darts_augment_crops_padded_images_and_flips() -> None:
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    g = torch.Generator().manual_seed(0)
    out = darts_augment(x, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), g, pad=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-2.0)  # black = -mean/std = -2
    for i in range(2):
        windows = [padded[i, :, a : a + 6, b : b + 6] for a in range(5) for b in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)


def _cutout_squares(h: int, w: int, length: int) -> list[torch.Tensor]:
    """Every mask DARTS' Cutout can draw on an h×w image: one per centre, clipped at the border."""
    half = length // 2
    masks = []
    for cy in range(h):
        for cx in range(w):
            m = torch.zeros(h, w, dtype=torch.bool)
            m[max(cy - half, 0) : min(cy + half, h), max(cx - half, 0) : min(cx + half, w)] = True
            masks.append(m)
    return masks


@pytest.mark.parametrize("length", [6, 5])
def test_cutout_zeros_one_clipped_square_per_image(length) -> None:
    n, h, w = 300, 12, 10
    x = torch.rand(n, 3, h, w) + 1.0  # no zeros of its own
    out = cutout(x, length, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(x, x.clamp(min=1.0))  # the input is left alone
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # the same square on every channel
    assert torch.equal(out[~zero], x[~zero])  # everything else untouched
    candidates = _cutout_squares(h, w, length)
    side = 2 * (length // 2)  # DARTS: [c − length//2, c + length//2), so an odd length loses a pixel
    sizes = set()
    for i in range(n):
        assert any(torch.equal(zero[i, 0], m) for m in candidates), i
        rows, cols = zero[i, 0].any(1).sum().item(), zero[i, 0].any(0).sum().item()
        assert 1 <= rows <= side and 1 <= cols <= side
        sizes.add((rows, cols))
    assert (side, side) in sizes and len(sizes) > 1  # full squares inside, clipped ones at the border
    # Reproducible with a seed; another seed draws other squares.
    again = cutout(x, length, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert not torch.equal(out, cutout(x, length, torch.Generator().manual_seed(1)))


def test_cutout_follows_crop_and_flip_in_the_training_augmentation(tmp_path) -> None:
    _write_cifar(tmp_path / "c10", "cifar10", n=4)
    data = load_dataset(DataSpec(name="cifar10", path=str(tmp_path / "c10"), augment=True, cutout=16))
    assert data.cutout == 16 and data.augment
    out = data.augment_batch(data.x_train, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)  # one generator: crop and flip draws, then the cutout's
    expected = cutout(darts_augment(data.x_train, data.mean, data.std, g), 16, g)
    assert torch.equal(out, expected)
    per_image = (out == 0).all(1).flatten(1).sum(1)  # zeroed pixels on all three channels
    assert bool((per_image >= 8 * 8).all()) and bool((per_image <= 16 * 16).all())
    # Without cutout the augmentation draws exactly what it drew before the option existed.
    plain = load_dataset(DataSpec(name="cifar10", path=str(tmp_path / "c10"), augment=True))
    g = torch.Generator().manual_seed(3)
    assert torch.equal(plain.augment_batch(plain.x_train, torch.Generator().manual_seed(3)),
                       darts_augment(plain.x_train, plain.mean, plain.std, g))
