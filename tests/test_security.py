"""Data never executes: hostile DeviceModel cards cannot make ``pbitkit export --format spice`` write a
netlist that runs commands in ngspice (docs/security.md). Real ngspice runs the exported decks."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pbitkit.cli import main
from pbitkit.errors import ConfigError, ModelCardError
from pbitkit.paths import data_dir
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.export import export_spice
from pbitkit.spicetext import (
    check_label,
    check_single_line,
    check_spice_name,
    check_spice_path,
    control_lines,
    spice_comment,
)

INJECTION = "x\n.control\nshell touch PWNED\n.endc\n*"

#: Line breaks and control characters that could end a SPICE comment line (or confuse a reader).
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\x00", "\x1b"]


def _card_dict() -> dict:
    return json.loads((data_dir() / "default_card.json").read_text())


def _deck(tmp: Path, lib: Path) -> Path:
    deck = tmp / "deck.cir"
    deck.write_text(f"hostile card check\n.include {lib.name}\nVb b 0 0\nX1 b out pbit0\n.tran 1n 20n\n.print tran v(out)\n.end\n")
    return deck


def _ngspice(tmp: Path, deck: Path) -> subprocess.CompletedProcess[str]:
    (tmp / ".spiceinit").write_text("set num_threads=1\n")
    return subprocess.run(["ngspice", "-b", deck.name], cwd=tmp, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize("field", ["cell", "process"])
@pytest.mark.parametrize("brk", BREAKS)
def test_card_with_a_line_break_in_a_label_is_rejected_at_load(field: str, brk: str) -> None:
    d = _card_dict()
    d[field] = f"x{brk}.control{brk}shell touch PWNED{brk}.endc"
    with pytest.raises(ModelCardError, match=f"field '{field}': must be one line of printable text"):
        DeviceModel.from_dict(d)


def test_hostile_card_export_is_refused_by_the_cli(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d = _card_dict()
    d["cell"] = INJECTION
    card = tmp_path / "card.json"
    card.write_text(json.dumps(d))
    with caplog.at_level("ERROR", logger="pbitkit"):
        assert main(["export", str(card), "--format", "spice", "--out", str(tmp_path / "lib.spice")]) == 1
    assert any("field 'cell'" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "lib.spice").exists()


@pytest.mark.ngspice
def test_exported_deck_of_a_card_smuggling_control_text_runs_nothing(tmp_path: Path) -> None:
    # a card whose labels got past loading (built in Python, then altered) still exports only comments
    card = DeviceModel.from_dict(_card_dict())
    object.__setattr__(card, "cell", INJECTION)
    object.__setattr__(card, "process", "p\r.control\rshell touch PWNED\r.endc")
    lib = tmp_path / "lib.spice"
    export_spice(card, lib, t_stop_s=20e-9)
    text = lib.read_text()
    assert control_lines(text) == [] and "\r" not in text
    res = _ngspice(tmp_path, _deck(tmp_path, lib))
    assert res.returncode == 0 and "v(out)" in res.stdout, res.stdout + res.stderr
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.ngspice
def test_negative_control_unescaped_text_would_run(tmp_path: Path) -> None:
    # what the export wrote before: the label verbatim in the comment line. ngspice runs the shell command,
    # so the check above would see it.
    card = DeviceModel.from_dict(_card_dict())
    lib = tmp_path / "lib.spice"
    export_spice(card, lib, t_stop_s=20e-9)
    lines = lib.read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("* pbitkit p-bit macro-model of cell"))
    lines[i] = f"* pbitkit p-bit macro-model of cell '{INJECTION}'"
    lib.write_text("\n".join(lines) + "\n")
    _ngspice(tmp_path, _deck(tmp_path, lib))
    assert (tmp_path / "PWNED").exists()


PY_INJECTION = 'x"""; __import__("os").system("touch PWNED"); """'


@pytest.mark.parametrize("label", [PY_INJECTION, "a'b", "a`b`", "a\\b", "${x}", "a{b}"])
def test_card_label_that_could_leave_a_string_literal_is_rejected(label: str) -> None:
    d = _card_dict()
    d["process"] = label
    with pytest.raises(ModelCardError, match="field 'process': .* is not allowed in a label"):
        DeviceModel.from_dict(d)


def test_pyspice_export_of_a_smuggled_label_runs_nothing(tmp_path: Path) -> None:
    # `pbitkit export --format pyspice` writes a Python module; a label that got past loading must stay
    # inside its docstring (before the fix, importing the module ran the command)
    from pbitkit.pbitmodel.export_pyspice import export_pyspice

    card = DeviceModel.from_dict(_card_dict())
    object.__setattr__(card, "cell", PY_INJECTION + "\\")
    mod = tmp_path / "mod.py"
    export_pyspice(card, mod, t_stop_s=20e-9)
    tree = ast.parse(mod.read_text())
    assert PY_INJECTION + "\\" in ast.get_docstring(tree)
    res = subprocess.run([sys.executable, mod.name], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert not (tmp_path / "PWNED").exists()


def test_text_helpers() -> None:
    assert check_single_line("sky130 0.15.3 tt", "process") == "sky130 0.15.3 tt"
    for bad in ("", "a\nb", "a\u2028b", "x" * 201, 3):
        with pytest.raises(ConfigError):
            check_single_line(bad, "f")
    assert spice_comment("a\nb\r\u2028c") == "a?b??c"
    assert check_label("sky130 0.15.3 tt (slim; W=0.42/L=0.15 µm)", "f").startswith("sky130")
    with pytest.raises(ConfigError, match="not allowed in a label"):
        check_label('a"b', "f")
    assert check_spice_name("pbit0", "n") == "pbit0"
    for bad in ("", "0x", "a b", "a\nb", "a;b"):
        with pytest.raises(ConfigError):
            check_spice_name(bad, "n")
    assert check_spice_path("noise_0.txt", "p") == "noise_0.txt"
    for bad in ("a b.txt", 'a".txt', "a\n.txt"):
        with pytest.raises(ConfigError):
            check_spice_path(bad, "p")
    assert control_lines("t\n.CONTROL\n  shell rm x\n.endc\n.exec\n* shell in a comment\n.end\n") == [
        (2, ".CONTROL"), (3, "  shell rm x"), (4, ".endc"), (5, ".exec")]


def test_ideal_card_still_builds() -> None:
    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9, energy_per_bit_J=350e-18)
    assert dataclasses.replace(card, cell="my cell (v2)").cell == "my cell (v2)"


@pytest.mark.parametrize(
    "spec",
    [
        {"cell": "strongarm", "corners": [INJECTION]},
        {"cell": "strongarm", "params": {INJECTION: 1.0}},
        {"cell": "strongarm", "params": {"n_samples": INJECTION}},
        {"cell": INJECTION},
        {"cell": "invchain", "params": {"n_stages": "1\n.control"}},
        {"cell": "strongarm", "models": INJECTION},
        {"cell": "strongarm", "tiers": [INJECTION]},
    ],
)
def test_sweep_spec_strings_that_reach_a_netlist_are_checked(spec: dict) -> None:
    from pbitkit.circuits.sweep import load_spec

    with pytest.raises(ConfigError):
        load_spec(spec)
