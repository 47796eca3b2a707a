"""Tests of the shared foundation: atomic I/O, configs, run directories, RNG handling and the CLI."""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from pbitkit.cli import COMMANDS, STAGE_CLI_MODULES, build_parser, main
from pbitkit.config import dump_toml, from_dict, load_toml
from pbitkit.errors import ConfigError, PbitkitError, ProvenanceMismatchError
from pbitkit.io import atomic_path, atomic_write_json, from_json_safe, read_json, sha256_json, to_json_safe
from pbitkit.rng import as_generator
from pbitkit.rundir import open_run_dir


@dataclasses.dataclass(frozen=True)
class _Inner:
    vdd_V: float = 1.8


@dataclasses.dataclass(frozen=True)
class _Cfg:
    n_points: int
    corner: Literal["tt", "ff", "ss"] = "tt"
    temps_C: tuple[float, ...] = (27.0,)
    inner: _Inner = _Inner()

    def __post_init__(self) -> None:
        if self.n_points < 1:
            raise ConfigError(f"n_points must be >= 1, got {self.n_points}")


def test_from_dict_builds_nested_and_coerces_ints_to_float() -> None:
    cfg = from_dict(_Cfg, {"n_points": 3, "temps_C": [0, 85], "inner": {"vdd_V": 1}})
    assert cfg == _Cfg(n_points=3, temps_C=(0.0, 85.0), inner=_Inner(vdd_V=1.0))


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"n_points": 3, "bogus": 1}, "unknown key(s) ['bogus']"),
        ({}, "missing required key 'n_points'"),
        ({"n_points": "3"}, "cfg.n_points: expected an integer"),
        ({"n_points": 3, "corner": "xx"}, "cfg.corner: 'xx' is not one of"),
        ({"n_points": 3, "inner": {"vdd": 1.0}}, "cfg.inner: unknown key(s) ['vdd']"),
        ({"n_points": 0}, "n_points must be >= 1"),
    ],
)
def test_from_dict_errors_name_the_field(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_dict(_Cfg, data, where="cfg")
    assert needle in str(info.value)


def test_toml_round_trip(tmp_path: Path) -> None:
    cfg = _Cfg(n_points=4, temps_C=(0.0, 27.0))
    path = tmp_path / "c.toml"
    path.write_text(dump_toml(cfg))
    assert from_dict(_Cfg, load_toml(path)) == cfg


def test_load_toml_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("x = = 1")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_toml(bad)


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("interrupted")
    assert read_json(target) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_atomic_write_permission_error_names_path(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(PbitkitError, match=str(ro)):
        atomic_write_json(ro / "x.json", {})


def test_write_error_names_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PbitkitError, match="file/x.json"):
        atomic_write_json(blocker / "x.json", {})


def test_sha256_json_is_key_order_independent() -> None:
    assert sha256_json({"a": 1, "b": [1, 2]}) == sha256_json({"b": [1, 2], "a": 1})
    assert sha256_json({"a": 1}) != sha256_json({"a": 2})


def test_json_safe_round_trip_is_strict_json() -> None:
    import json
    import math
    value = {"a": float("nan"), 2: [np.float64(np.inf), (-math.inf, np.int64(3))], "s": "x", "n": None}
    safe = to_json_safe(value)
    text = json.dumps(safe, allow_nan=False)          # strict JSON: raises on a NaN left behind
    back = from_json_safe(json.loads(text))
    assert math.isnan(back["a"]) and back["2"][0] == math.inf and back["2"][1] == [-math.inf, 3]
    assert back["s"] == "x" and math.isnan(back["n"])  # None encodes NaN, so a None comes back as NaN
    with pytest.raises(ValueError):                    # negative control: the raw value is not strict JSON
        json.dumps(value, allow_nan=False)


def test_run_dir_refuses_to_mix_configs(tmp_path: Path) -> None:
    run = open_run_dir(tmp_path / "run", kind="fit", config={"x": 1})
    assert run.record()["provenance"]["pbitkit_version"]
    assert open_run_dir(tmp_path / "run", kind="fit", config={"x": 1}).config_hash == run.config_hash
    with pytest.raises(ProvenanceMismatchError, match="config hash"):
        open_run_dir(tmp_path / "run", kind="fit", config={"x": 2})
    with pytest.raises(ProvenanceMismatchError):
        open_run_dir(tmp_path / "run", kind="dtm", config={"x": 1})


def test_as_generator() -> None:
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    assert as_generator(5).integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)
    with pytest.raises(TypeError, match="RandomState"):
        as_generator(np.random.RandomState(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        as_generator(-1)


def test_cli_help_lists_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "pbitkit" in out
    for module in STAGE_CLI_MODULES:  # every registered stage shows up in --help
        assert module.split(".")[1] in out or module.endswith("pbitmodel.cli")
    assert build_parser().prog == "pbitkit"


def test_python_dash_m_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "pbitkit", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("pbitkit ")


def test_progress_logs_when_not_a_terminal(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from pbitkit.progress import tqdm_progress

    with caplog.at_level(logging.INFO, logger="pbitkit.progress"):
        with tqdm_progress("sweep", disable=True) as cb:
            cb(1, 4, "first")  # logged: first call
            cb(2, 4, "second")  # rate-limited
            cb(4, 4, "last")  # logged: completion
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["sweep: 1/4 first", "sweep: 4/4 last"]


def _imported_after(code: str) -> set[str]:
    """Top-level heavy modules present in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        f"import sys\n{code}\n"
        "heavy = ('numba', 'scipy', 'scipy.stats', 'matplotlib', 'sklearn', 'sympy', 'llvmlite')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import pbitkit",
        "import pbitkit.cli as c; c.build_parser(['--help'])",
        "import pbitkit.cli as c; c.build_parser(['--version'])",
        "import pbitkit.array",
        "import pbitkit.circuits",
        "import pbitkit.pbitmodel",
        "import pbitkit.pipeline",
    ],
)
def test_import_and_cli_parser_do_not_import_numerics(code: str) -> None:
    # `pbitkit --help` / `--version` must answer without numba or scipy (module presence, not timing)
    assert _imported_after(code) == set()


def test_lazy_exports_resolve_and_keep_shadowing_names() -> None:
    # negative control for the probe above: using an export does import the numerics
    assert "numba" in _imported_after("from pbitkit.array import GibbsSampler")
    import pbitkit.array as pa
    import pbitkit.array.ledger  # noqa: F401  (the submodule of the same name as the exported function)

    assert callable(pa.ledger) and pa.ledger.__module__ == "pbitkit.array.ledger"
    assert set(pa.__all__) <= set(dir(pa))
    for name in pa.__all__:
        getattr(pa, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pa.nope  # noqa: B018


def test_cli_command_table_matches_registrations() -> None:
    import argparse

    for module in STAGE_CLI_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        registered = set(sub.choices)
        listed = {name for name, (mod, _) in COMMANDS.items() if mod == module}
        assert registered == listed, f"{module} registers {sorted(registered)}, pbitkit.cli.COMMANDS lists {sorted(listed)}"


def test_cli_parses_a_command_loading_only_its_module() -> None:
    probe = (
        "import sys\nimport pbitkit.cli as c\n"
        "a = c.build_parser(['fit', 'RUN']).parse_args(['fit', 'RUN'])\n"
        "print(a.command, 'pbitkit.pbitmodel.cli' in sys.modules, 'pbitkit.dtm.cli' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["fit", "True", "False"]


@pytest.mark.parametrize("address", ["nonsense", "tcp://:99999", "bogus://x:1", "tcp://h:1 x", "tcp://h:0"])
@pytest.mark.parametrize("command", [["characterize", "--cell", "invchain", "--quick"], ["pipeline", "--quick"]])
def test_bad_scheduler_address_is_a_clear_error(command: list[str], address: str, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="pbitkit"):
        assert main([*command, "--scheduler", address, "--out", str(tmp_path / "o")]) == 1
    assert any(address in r.getMessage() and "scheduler" in r.getMessage() for r in caplog.records)


def test_scheduler_address_forms() -> None:
    from pbitkit.config import check_scheduler_address

    for ok in ("tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://h.example:443", "tcp://[::1]:8786", "inproc://x"):
        assert check_scheduler_address(ok) == ok


@pytest.mark.parametrize(
    "command",
    [["characterize", "--cell", "invchain", "--quick"], ["pipeline", "--quick"], ["dtm", "train"],
     ["array", "sample", "--size", "4", "--sweeps", "2"]],
)
def test_out_that_is_a_file_is_a_clear_error(command: list[str], tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    with caplog.at_level("ERROR", logger="pbitkit"):
        assert main([*command, "--out", str(blocker)]) == 1
    assert any(str(blocker) in r.getMessage() and ("not a directory" in r.getMessage() or "is a file" in r.getMessage())
               for r in caplog.records)
    assert blocker.read_text() == ""


TINY_DTM = """
monolithic_baseline = false
[data]
name = "digits"
n_train = 100
[forward]
n_steps = 1
[model]
L = 14
label_repeat = 3
[train]
epochs = 1
batch_size = 50
burn_in = 2
measure = 2
k_sample = 2
monitor_chains = 4
"""


@pytest.mark.slow
def test_truncated_dtm_files_are_named_not_bad_zip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = tmp_path / "dtm.toml"
    cfg.write_text(TINY_DTM)
    run = tmp_path / "run"
    assert main(["-q", "dtm", "train", "--config", str(cfg), "--out", str(run), "--workers", "1"]) == 0
    ckpt = run / "checkpoints" / "step_1.npz"
    for f in (ckpt, run / "model.npz"):
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])
    with caplog.at_level("ERROR", logger="pbitkit"):
        assert main(["dtm", "sample", "--run", str(run), "--n", "4", "--out", str(tmp_path / "s.npz")]) == 1
        assert main(["dtm", "train", "--config", str(cfg), "--out", str(run), "--workers", "1"]) == 1
    msgs = [r.getMessage() for r in caplog.records]
    assert any(f"{run / 'model.npz'} is truncated or corrupt" in m for m in msgs), msgs
    assert any(f"{ckpt} is truncated or corrupt" in m for m in msgs), msgs


def test_read_npz_names_the_file(tmp_path: Path) -> None:
    from pbitkit.io import atomic_save_npz, read_npz

    p = atomic_save_npz(tmp_path / "a.npz", x=np.arange(1000), y=np.ones(3))
    np.testing.assert_array_equal(read_npz(p)["x"], np.arange(1000))
    data = p.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 10, 0):
        p.write_bytes(data[:cut])
        with pytest.raises(PbitkitError, match=r"a.npz is truncated or corrupt"):
            read_npz(p)
    with pytest.raises(PbitkitError, match="file not found"):
        read_npz(tmp_path / "missing.npz")


def test_dtm_package_does_not_import_numba_or_scipy_stats() -> None:
    # pbitkit.dtm's exports are imported eagerly (its public face is tidied separately); they must still
    # not pull in the array kernels (numba) or scipy.stats
    assert _imported_after("import pbitkit.dtm") & {"numba", "scipy.stats", "llvmlite"} == set()


@pytest.mark.ngspice
@pytest.mark.slow
def test_fit_refuses_a_characterization_table_cut_at_a_line_boundary(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    run = tmp_path / "run"
    assert main(["-q", "characterize", "--cell", "invchain", "--quick", "--workers", "1", "--out", str(run)]) == 0
    table = run / "characterization.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(lines[:5]))  # `head -n 5` over itself: still a valid CSV
    with caplog.at_level("ERROR", logger="pbitkit"):
        assert main(["fit", str(run), "--out", str(tmp_path / "fit")]) == 1
    assert any(f"{table} has 4 rows but characterization.json records {len(lines) - 1} written" in r.getMessage()
               for r in caplog.records)
