"""The end-to-end job: transistor netlists → characterization → DeviceModel cards → DTM on the array → report.

>>> from pbitkit.pipeline import quick_config, run_pipeline      # doctest: +SKIP
>>> result = run_pipeline(quick_config(), "runs/quick")          # doctest: +SKIP
>>> print(result.report)                                          # doctest: +SKIP
"""

from pbitkit.pipeline.config import CharacterizeSection, PipelineConfig, default_config, load_pipeline_config, quick_config
from pbitkit.pipeline.run import PipelineResult, run_pipeline, sweep_spec_for
from pbitkit.pipeline.stages import StageRecord, run_stage

__all__ = [
    "PipelineConfig",
    "CharacterizeSection",
    "default_config",
    "quick_config",
    "load_pipeline_config",
    "run_pipeline",
    "PipelineResult",
    "sweep_spec_for",
    "run_stage",
    "StageRecord",
]
