"""Why a setting keeps or drops a mask: the candidate funnel's tables and pictures, and the threshold sweep.

Built on the engine's candidate sets (`samcompare.engine.setting_candidates`) and the funnel each
result carries (`RunResult.funnel`); nothing here runs the network or touches the engine's cache.
"""

from samcompare.explain.sweep import (
    SWEEPABLE,
    SweepAxis,
    SweepError,
    SweepResult,
    parse_values,
    run_sweep,
    sweep,
    sweep_floor,
)

__all__ = [
    "SWEEPABLE",
    "SweepAxis",
    "SweepError",
    "SweepResult",
    "parse_values",
    "run_sweep",
    "sweep",
    "sweep_floor",
]
