"""Sweeps: a base experiment times axes (subjects, decoders, seeds, protocols, datasets), run
locally or on Ray, resumable, with a comparison report. See README "Sweeps"."""
from .folder import finished_runs, run_status
from .runner import SweepResult, run_sweep, sweep_folder
from .spec import RunPlan, SweepError, SweepSpec, expand, load_sweep, parse_sweep

__all__ = ["RunPlan", "SweepError", "SweepResult", "SweepSpec", "expand", "finished_runs", "load_sweep",
           "parse_sweep", "run_status", "run_sweep", "sweep_folder"]
