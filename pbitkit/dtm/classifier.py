"""A small frozen classifier for offline quality metrics (Fréchet distance, KID, conditional accuracy).

A one-hidden-layer ReLU MLP (scikit-learn ``MLPClassifier``) is trained on the same binarized data the DTM
learns, then *frozen*: its weights go to an ``.npz`` with a JSON sidecar holding their SHA-256, and every
later evaluation runs a NumPy forward pass over those weights after checking the hash. The features for the
Fréchet distance are the hidden-layer activations (the analogue of InceptionV3's pool features in FID).

For the embedded digits dataset the weights ship in ``pbitkit/data/dtm_digits_classifier.npz``; for other
datasets they are trained on first use and kept in the cache directory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pbitkit.errors import DatasetError, PbitkitError
from pbitkit.io import atomic_save_npz, atomic_write_json, read_json, sha256_file
from pbitkit.paths import cache_dir, data_dir

__all__ = ["FrozenClassifier", "train_classifier", "train_dataset_classifier", "load_classifier", "classifier_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrozenClassifier:
    """Frozen MLP weights. ``w1 (D, H)``, ``b1 (H,)``, ``w2 (H, C)``, ``b2 (C,)``; inputs are spins (n, D)."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    sha256: str = ""
    test_accuracy: float = float("nan")

    def features(self, x: np.ndarray) -> np.ndarray:
        """Hidden activations ``relu(x01 @ w1 + b1)``, ``x01 = (x + 1) / 2``: shape (n, H), float64."""
        x01 = (np.asarray(x, dtype=np.float64) + 1.0) * 0.5
        return np.maximum(x01 @ self.w1 + self.b1, 0.0)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class scores (n, C)."""
        return self.features(x) @ self.w2 + self.b2

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class (n,)."""
        return np.argmax(self.logits(x), axis=1)

    def save(self, path: str | Path, meta: dict | None = None) -> str:
        """Save weights (``.npz``) and a ``.json`` sidecar with their SHA-256; returns the hash."""
        p = Path(path)
        atomic_save_npz(p, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)
        digest = sha256_file(p)
        atomic_write_json(p.with_suffix(".json"), {"sha256": digest, "test_accuracy": self.test_accuracy, **(meta or {})})
        return digest


def train_classifier(x: np.ndarray, y: np.ndarray, *, hidden: int = 64, seed: int = 0, test_fraction: float = 0.2,
                     x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                     max_iter: int = 600) -> FrozenClassifier:
    """Train the MLP on spins ``x (n, D)``, labels ``y (n,)``; reports held-out accuracy.

    With ``x_test, y_test`` (a separate held-out split, e.g. Fashion-MNIST's ``t10k``) the MLP trains on
    all of ``x`` and is scored on them; otherwise ``test_fraction`` of ``x`` is held out (seeded).
    """
    from sklearn.neural_network import MLPClassifier

    x01 = (x.astype(np.float64) + 1) / 2
    if x_test is not None and y_test is not None:
        tr = np.arange(len(y))
        xte01, yte = (x_test.astype(np.float64) + 1) / 2, np.asarray(y_test)
    else:
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(y))
        n_te = int(test_fraction * len(y))
        te, tr = idx[:n_te], idx[n_te:]
        xte01, yte = x01[te], y[te]
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-3, max_iter=max_iter, random_state=seed)
    clf.fit(x01[tr], y[tr])
    acc = float(clf.score(xte01, yte)) if len(yte) else float("nan")
    log.info("classifier: held-out accuracy %.3f on %d examples", acc, len(yte))
    return FrozenClassifier(clf.coefs_[0], clf.intercepts_[0], clf.coefs_[1], clf.intercepts_[1], test_accuracy=acc)


def train_dataset_classifier(name: str, out: str | Path, *, hidden: int = 64, max_iter: int = 200,
                             seed: int = 0) -> FrozenClassifier:
    """Train the frozen classifier of ``mnist`` / ``fashion_mnist`` as shipped: on all 60,000 binarized
    training images, scored on the 10,000 test images; saves ``out`` (``.npz`` + ``.json`` with the hash,
    held-out accuracy and how it was trained). The shipped Fashion-MNIST weights came from
    ``train_dataset_classifier("fashion_mnist", "pbitkit/data/dtm_fashion_mnist_classifier.npz")``
    (held-out accuracy 0.802, 23 min wall on the loaded 2-core machine)."""
    import time

    from pbitkit.dtm.datasets import load_dataset

    t0 = time.perf_counter()
    tr, te = load_dataset(name), load_dataset(name, split="test")
    clf = train_classifier(tr.x, tr.y, hidden=hidden, seed=seed, x_test=te.x, y_test=te.y, max_iter=max_iter)
    meta = {"dataset": name, "threshold": 128, "n_train": int(len(tr.y)), "n_test": int(len(te.y)),
            "hidden": hidden, "seed": seed, "held_out": "t10k (the official 10,000-image test split)",
            "trainer": f"sklearn MLPClassifier(hidden_layer_sizes=({hidden},), alpha=1e-3, max_iter={max_iter}) "
                       f"on the {len(tr.y):,} binarized training images",
            "train_time_s": round(time.perf_counter() - t0, 1)}
    clf.save(out, meta)
    return load_classifier(out)


def load_classifier(path: str | Path) -> FrozenClassifier:
    """Load frozen weights and check them against the sidecar hash.

    Raises
    ------
    PbitkitError
        If the file is missing or its hash differs from the sidecar (names the file).
    """
    p = Path(path)
    if not p.exists():
        raise PbitkitError(f"classifier weights not found: {p}")
    meta = read_json(p.with_suffix(".json"))
    digest = sha256_file(p)
    if digest != meta.get("sha256"):
        raise PbitkitError(f"classifier weights {p} have hash {digest[:12]}, sidecar says {str(meta.get('sha256'))[:12]}")
    with np.load(p, allow_pickle=False) as z:
        return FrozenClassifier(z["w1"], z["b1"], z["w2"], z["b2"], sha256=digest, test_accuracy=float(meta.get("test_accuracy", np.nan)))


def classifier_for(name: str, x: np.ndarray | None = None, y: np.ndarray | None = None) -> FrozenClassifier:
    """The frozen classifier for dataset ``name``: shipped for ``digits`` and ``fashion_mnist``
    (``pbitkit/data/dtm_<name>_classifier.npz``, hash-checked), else trained once and cached."""
    shipped = data_dir() / f"dtm_{name}_classifier.npz"
    if shipped.exists():
        return load_classifier(shipped)
    cached = cache_dir() / "dtm" / f"{name}_classifier.npz"
    if cached.exists():
        return load_classifier(cached)
    if x is None or y is None:
        raise DatasetError(f"no frozen classifier for dataset {name!r} and no data given to train one")
    clf = train_classifier(x, y)
    digest = clf.save(cached, {"dataset": name, "n_train": int(len(y))})
    return load_classifier(cached) if digest else clf
