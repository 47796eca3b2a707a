"""The end-to-end job: characterize cells in ngspice → fit DeviceModel cards → train and evaluate a DTM on
the device-aware array (ideal / device / calibrated / hardware-aware) → one report.

Every stage writes into its own folder of the run directory and is skipped on a re-run when its inputs
are unchanged (:mod:`pbitkit.pipeline.stages`), so an interrupted run resumes where it stopped. Sweeps and
the DTM's per-step training run on a local process pool, or on a ``dask.distributed`` cluster when
``scheduler`` is set.

Run directory layout::

    OUT/run.json                         pipeline config + provenance
    OUT/characterize_<cell>/             characterization.csv/.json, plots/   (pbitkit characterize)
    OUT/fit_<cell>/                      device_card.json, fit_report.md, fit_params.csv, fit_plots/
    OUT/dtm_train/                       model.npz, curves.json, hw_aware/, T1/ (pbitkit dtm train)
    OUT/dtm_evaluate/                    results.json, report.md, *.png        (pbitkit dtm evaluate)
    OUT/report/report.md                 the combined report (+ figures/)
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbitkit.config import to_dict
from pbitkit.pipeline.config import PipelineConfig
from pbitkit.pipeline.stages import StageRecord, run_stage
from pbitkit.progress import ProgressCallback
from pbitkit.rundir import open_run_dir

__all__ = ["PipelineResult", "run_pipeline", "sweep_spec_for", "result_config", "PIPELINE_PARAMS"]

log = logging.getLogger(__name__)

CARD_NAME = "device_card.json"

#: The parts of pbitkit each stage runs (their source hash is part of the stage's identity, see
#: :func:`pbitkit.pipeline.stages.code_version`).
CODE: dict[str, tuple[str, ...]] = {
    "characterize": ("circuits", "netlists", "data"),
    "fit": ("circuits", "pbitmodel", "pipeline", "netlists"),
    "dtm": ("array", "dtm", "pbitmodel", "data"),
}


@dataclass(frozen=True)
class PipelineResult:
    """Where everything went: the run directory, each stage's record and the report's path."""

    out_dir: Path
    stages: dict[str, StageRecord]
    report: Path


#: Cell parameters of the pipeline's (non-quick) characterization where they differ from the cell's own
#: defaults; ``[characterize.params.<cell>]`` overrides them. The StrongARM's reads are independent (one
#: decision per clock), so 100 per bias point (P(1) standard error <= 0.05, as the native_latch's 100 reads
#: in its 30 us records) fit its sigmoid over 9 points; its 400-read default with a 20 ps noise step costs
#: ~7 s of ngspice CPU per point, which made the StrongARM's characterization the largest part of ``make demo``.
PIPELINE_PARAMS: dict[str, dict[str, float]] = {"strongarm": {"n_samples": 100}}


def sweep_spec_for(cfg: PipelineConfig, cell: str) -> Any:
    """The characterization :class:`~pbitkit.circuits.sweep.SweepSpec` of ``cell`` under ``cfg``."""
    from pbitkit.circuits.device_trim import has_calibration
    from pbitkit.circuits.sweep import QUICK_PARAMS, load_spec

    c = cfg.characterize
    if cell in c.spec_files:
        return load_spec(c.spec_files[cell])
    params = dict(QUICK_PARAMS.get(cell, {}) if c.quick else PIPELINE_PARAMS.get(cell, {}))
    params.update(c.params.get(cell, {}))
    return load_spec(
        {
            "cell": cell,
            "corners": list(c.corners),
            "temps_C": list(c.temps_C),
            "n_mc": c.n_mc,
            "mc_corners": [m for m in c.mc_corners if m in c.corners],
            "bias_centering": c.bias_centering,
            "trim": c.trim if has_calibration(cell) and c.n_mc > 0 else "none",
            "noise_seed": c.noise_seed,
            "bias": {"n": c.bias_points},
            "params": params,
        }
    )


def _stage_progress(progress: ProgressCallback | None, name: str) -> ProgressCallback | None:
    if progress is None:
        return None

    def cb(done: int, total: int, message: str = "") -> None:
        progress(done, total, f"{name}: {message}" if message else name)

    return cb


def run_pipeline(
    cfg: PipelineConfig,
    out_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
    overwrite: bool = False,
) -> PipelineResult:
    """Run (or resume) the whole pipeline into ``out_dir``.

    Parameters
    ----------
    cfg
        The pipeline config (see :mod:`pbitkit.pipeline.config`).
    out_dir
        The run directory. Re-running with the same config reuses every finished stage; a different
        config is refused unless ``overwrite`` (then stages whose inputs changed are re-run).
    progress
        ``progress(done, total, message)`` from inside the current stage.

    Raises
    ------
    ProvenanceMismatchError
        ``out_dir`` holds a run of another config (and ``overwrite`` is false).
    NgspiceNotFoundError, SimulationError, ConfigError, PbitkitError
        From the stages, naming the cause.
    """
    from pbitkit.circuits.characterize import characterize
    from pbitkit.circuits.executors import dask_executor

    out = Path(out_dir)
    run = open_run_dir(out, kind="pipeline", config=result_config(cfg), overwrite=overwrite)
    stages: dict[str, StageRecord] = {}
    with ExitStack() as stack:
        executor: cf.Executor | None = None
        if cfg.scheduler:
            executor = dask_executor(cfg.scheduler)
            stack.callback(executor.shutdown)
            log.info("running sweeps and DTM steps on the dask cluster at %s", cfg.scheduler)

        # 1. characterization of every cell (transistor level, ngspice)
        for cell in cfg.characterize.cells:
            spec = sweep_spec_for(cfg, cell)
            name = f"characterize_{cell}"

            def body(d: Path, spec: Any = spec, name: str = name) -> dict[str, Any]:
                res = characterize(spec, d, executor, _stage_progress(progress, name), workers=cfg.n_workers,
                                   overwrite=True)
                return _characterize_summary(res)

            stages[name] = run_stage(name, out, {"spec": spec.to_dict()}, body, overwrite=overwrite,
                                     code=CODE["characterize"])

        # 2. device-model fits, plus each card's bias network (sized for the DTM graph's fan-in), periphery
        #    (for the DTM's array and the paper's grid, the headline's second setting) and supply
        from pbitkit.dtm.model import model_graph
        from pbitkit.pipeline.headline import paper_graph

        graph, paper = model_graph(cfg.dtm.model), paper_graph(cfg.dtm.model)  # built once for every cell
        fan_in = int(graph.degree.max())
        for cell in cfg.characterize.cells:
            name = f"fit_{cell}"
            fit_cfg = dataclasses.replace(cfg.fit, cell=cell)
            src = stages[f"characterize_{cell}"]

            def fit_body(d: Path, fit_cfg: Any = fit_cfg, src: StageRecord = src) -> dict[str, Any]:
                from pbitkit.io import atomic_write_text
                from pbitkit.pbitmodel.export import card_to_csv
                from pbitkit.pbitmodel.run import PARAMS_NAME, fit_run
                from pbitkit.pipeline.bias_network import attach_array_circuits

                res = fit_run(src.path, d, fit_cfg)
                # the array cell's periphery also for the DTM paper's grid (its headline setting)
                card, meas = attach_array_circuits(res.report.card, graph,
                                                   paper_graph=paper if fit_cfg.cell == cfg.array_cell else None)
                card.save(d / CARD_NAME)
                atomic_write_text(d / PARAMS_NAME, card_to_csv(card))
                return {**res.summary(), "bias_network": {**card.bias_network.to_dict(), "fan_in": fan_in,
                                                          "static_power_W": meas["static_power_W"]}}

            stages[name] = run_stage(
                name, out, {"fit": to_dict(fit_cfg), "table": src.inputs_hash, "bias_fan_in": fan_in,
                            "periphery": _periphery_identity(cfg)},
                fit_body, overwrite=overwrite, code=CODE["fit"],
            )

        # 3. DTM training on the array, device modes driven by the array cell's card
        card_path = stages[f"fit_{cfg.array_cell}"].path / CARD_NAME
        dtm_cfg = dataclasses.replace(
            cfg.dtm, device=dataclasses.replace(cfg.dtm.device, card=str(card_path.resolve())), workers=cfg.n_workers
        )
        # the stage's identity holds the card's content, not its location (a copied run directory is valid)
        hashed_dtm_cfg = dataclasses.replace(
            dtm_cfg, device=dataclasses.replace(dtm_cfg.device, card=CARD_NAME), workers=1
        )
        from pbitkit.pbitmodel.card import card_identity_sha256

        card_hash = card_identity_sha256(card_path)  # its numbers, not the time it was written

        def train_body(d: Path) -> dict[str, Any]:
            from pbitkit.dtm.pipeline import train_dtm, variants

            open_run_dir(d, kind="dtm-train", config=to_dict(dtm_cfg), overwrite=True)
            trained = {}
            for vname, (vcfg, sub) in variants(dtm_cfg).items():
                log.info("training DTM variant %s (T=%d, %s)", vname, vcfg.forward.n_steps, vcfg.sampler.label)
                train_dtm(vcfg, d / sub, executor=executor, progress=_stage_progress(progress, f"dtm train {vname}"))
                trained[vname] = sub
            return {"variants": trained}

        stages["dtm_train"] = run_stage(
            "dtm_train", out, {"dtm": to_dict(hashed_dtm_cfg), "card_sha256": card_hash},
            train_body, overwrite=overwrite, code=CODE["dtm"],
        )

        # 4. evaluation: quality vs energy across modes, baselines, digital comparison
        def eval_body(d: Path) -> dict[str, Any]:
            from pbitkit.dtm.evaluate import run_evaluation

            md = run_evaluation(dtm_cfg, stages["dtm_train"].path, d, cfg.evaluate,
                                progress=_stage_progress(progress, "dtm evaluate"))
            return {"report": md.name}

        stages["dtm_evaluate"] = run_stage(
            "dtm_evaluate", out, {"evaluate": to_dict(cfg.evaluate), "train": stages["dtm_train"].inputs_hash},
            eval_body, overwrite=overwrite, code=CODE["dtm"],
        )

    # 5. the combined report (always rewritten: cheap, and it reflects the current stage records)
    from pbitkit.pipeline.report import write_pipeline_report

    report = write_pipeline_report(out, cfg, stages, run.record())
    log.info("report: %s", report)
    return PipelineResult(out, stages, report)


def _periphery_identity(cfg: PipelineConfig) -> dict[str, Any]:
    """What the periphery measurement depends on: the graph and the testbench code (its source hash)."""
    import pbitkit.circuits.periphery as periphery
    from pbitkit.io import sha256_file

    m = cfg.dtm.model
    from pbitkit.pipeline.headline import PAPER_SETTING

    return {"L": m.L, "pattern": m.pattern, "periodic": m.periodic, "code": sha256_file(periphery.__file__)[:16],
            "paper_L": PAPER_SETTING["L"], "array_cell": cfg.array_cell}


def result_config(cfg: PipelineConfig) -> dict[str, Any]:
    """The part of ``cfg`` that determines the results (the run's identity): everything except where the
    work runs (``workers``, ``scheduler``), which changes speed, not numbers."""
    d = cfg.to_dict()
    for key in ("workers", "scheduler"):
        d.pop(key, None)
    return d


def _characterize_summary(res: Any) -> dict[str, Any]:
    return {
        "n_points": len(res.rows),
        "n_failed": res.n_failed,
        "n_sessions": res.n_sessions,
        "n_cached": res.n_cached,
        "n_simulated": res.n_simulated,
        "wall_time_s": res.wall_time_s,
        "cpu_time_s": res.cpu_time_s,
        "failed": [{"bias_V": r.get("bias_V"), "corner": r.get("corner"), "mc_seed": r.get("mc_seed"),
                    "error": str(r.get("error", ""))[:300]} for r in res.failed_rows],
    }
