"""Sweep files: a base experiment plus axes, expanded into one experiment per run.

```yaml
name: eegbci-three-decoders
base: eegbci-csp-lda.yaml          # experiment file, relative to this file (or a mapping)
overrides: {output: {save_model: false}}   # merged into the base (optional)
axes:                              # every combination is one run
  subjects: [1, 2, 3]              # each value (or list of subjects) is dataset.subjects
  decoders:                        # a name, or {name, preset, params, grid, label}
    - csp-lda
    - {name: eeg-simpleconv, preset: within-subject, params: {epochs: 3}, grid: {lr: [0.001, 0.01]}}
  seeds: [0, 1]                    # training.seed
  protocols: [{protocol: kfold, n_folds: 3, within: subject}]   # the evaluation section
  datasets: [{label: band, preprocessing: {band: [8, 30]}}]     # merged into dataset
executor: {kind: local, workers: auto, cpus_per_run: 1, gpus_per_run: 0}
output: {sweeps_dir: runs}         # the sweep folder is <sweeps_dir>/<name>/
```
Relative dataset paths stay relative to the current directory, as in experiment files.
"""
from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from data.errors import InputError


class SweepError(InputError):
    """A sweep file (or dict) is missing, unreadable or invalid."""


MAX_RUNS = 10_000   # runs one sweep may expand to (a typo in a grid must not enumerate millions)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DecoderAxis(_Strict):
    name: str
    preset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="Parameter -> values; every combination is a run.")
    label: str | None = None

    @field_validator("grid")
    @classmethod
    def _values_not_empty(cls, grid):
        empty = sorted(k for k, values in grid.items() if len(values) == 0)
        if empty:
            raise ValueError(f"grid parameter '{empty[0]}' has no values (give at least one, or leave it out)")
        return grid

    def n_variants(self) -> int:
        """How many parameter combinations the grid makes (without making them)."""
        return math.prod(len(values) for values in self.grid.values())


class Axes(_Strict):
    subjects: list[int | str | list[int | str]] | None = None
    decoders: list[str | DecoderAxis] | None = None
    seeds: list[int] | None = None
    protocols: list[dict[str, Any]] | None = None
    datasets: list[dict[str, Any]] | None = None

    @field_validator("subjects", "decoders", "seeds", "protocols", "datasets")
    @classmethod
    def _not_empty(cls, v):
        if v is not None and len(v) == 0:
            raise ValueError("an axis needs at least one value (leave it out to keep the base's)")
        return v


class ExecutorSpec(_Strict):
    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(None, description="ray: 'auto' or ray://HOST:PORT; none starts a local Ray instance.")
    workers: Annotated[int, Field(ge=1, le=10_000)] | Literal["auto"] = "auto"
    cpus_per_run: float = Field(1.0, gt=0, le=10_000)
    gpus_per_run: float = Field(0.0, ge=0, le=1000, description="GPUs a run that uses torch asks for (ray); local: one such run per GPU.")


class SweepOutput(_Strict):
    sweeps_dir: str = "runs"


class SweepSpec(_Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = None
    base: str | dict[str, Any]
    overrides: dict[str, Any] = Field(default_factory=dict)
    axes: Axes = Field(default_factory=Axes)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    output: SweepOutput = Field(default_factory=SweepOutput)


@dataclass
class RunPlan:
    """One run of a sweep: a stable id, its labels per axis, and the full experiment config."""

    id: str
    labels: dict[str, str]
    config: dict[str, Any]
    uses_torch: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def load_sweep(path: str | Path) -> tuple[SweepSpec, Path]:
    """Read and validate a sweep file; returns the spec and the folder its base path is relative to."""
    from data.safe_yaml import load_yaml

    path = Path(path)
    if not path.is_file():
        raise SweepError("sweep file not found." if not path.exists() else "not a file.", path)
    raw = load_yaml(path, error=SweepError)
    return parse_sweep(raw, source=path), path.parent


_UNION_TAGS = {"str", "int", "DecoderAxis", "list[union[int,str]]"}   # pydantic's names of union members in a loc


def parse_sweep(raw: Any, source: str | Path | None = None) -> SweepSpec:
    if not isinstance(raw, dict):
        raise SweepError(f"a sweep file must be a mapping with name, base and axes, not {type(raw).__name__}.", source)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        # of a union's errors (a decoder is a name or a mapping) the deepest says what is wrong
        first = max(exc.errors(), key=lambda e: len(e["loc"]))
        key = ".".join(str(p) for p in first["loc"] if p not in _UNION_TAGS) or "(top level)"
        raise SweepError(f"key '{key}': {first['msg'].removeprefix('Value error, ')}"
                         + (f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""),
                         source) from None
    check_size(spec, source)
    return spec


def count_runs(spec: SweepSpec) -> int:
    """How many runs the sweep expands to, counted from the axes (nothing is enumerated)."""
    axes = spec.axes
    decoders = sum(DecoderAxis(name=d).n_variants() if isinstance(d, str) else d.n_variants()
                   for d in axes.decoders) if axes.decoders else 1
    return math.prod([len(axes.datasets or [None]), len(axes.protocols or [None]), decoders,
                      len(axes.subjects or [None]), len(axes.seeds or [None])])


def check_size(spec: SweepSpec, source: str | Path | None = None) -> int:
    """The number of runs; `SweepError` when it is more than `MAX_RUNS`."""
    n = count_runs(spec)
    if n > MAX_RUNS:
        raise SweepError(f"key 'axes': the axes and grids make {n:,} runs; at most {MAX_RUNS:,} are allowed "
                         "in one sweep.", source, hint="Split the sweep or use fewer grid values.")
    return n


def expand(spec: SweepSpec, base_dir: str | Path = ".", source: str | Path | None = None) -> list[RunPlan]:
    """Every combination of the axes as a validated experiment config, in a stable order
    (datasets, protocols, decoders, subjects, seeds: the last axis varies fastest)."""
    from app.experiment import ConfigError, _absolute_paths, load_config, validate_config
    from decoders import registry

    check_size(spec, source)

    if isinstance(spec.base, str):
        base_path = Path(spec.base)
        if not base_path.is_absolute():
            base_path = Path(base_dir) / base_path
        try:
            base = load_config(base_path).model_dump(mode="json", exclude_unset=True)
        except ConfigError as exc:
            raise SweepError(f"key 'base': {exc}", source) from None
    else:
        base = copy.deepcopy(spec.base)
    base = _merged(base, spec.overrides)
    axes = spec.axes
    datasets = [(_label(d, f"data{i}"), {k: v for k, v in d.items() if k != "label"})
                for i, d in enumerate(axes.datasets or [None]) if d is not None] or [(None, {})]
    protocols = [(_label(p, p.get("protocol", f"protocol{i}")), {k: v for k, v in p.items() if k != "label"})
                 for i, p in enumerate(axes.protocols or [])] or [(None, None)]
    if len(datasets) == 1:   # a single value is no axis: keep ids and conditions short
        datasets = [(None, datasets[0][1])]
    if len(protocols) == 1:
        protocols = [(None, protocols[0][1])]
    decoders = _decoder_variants(axes.decoders) if axes.decoders else [(None, None)]
    subjects = [(_subject_label(s), s if isinstance(s, list) else [s]) for s in axes.subjects or []] or [(None, None)]
    seeds = [(f"seed{s}", s) for s in axes.seeds or []] or [(None, None)]

    plans: list[RunPlan] = []
    for (dl, ds), (pl, pv), (cl, cv), (sl, sv), (el, ev) in itertools.product(datasets, protocols, decoders, subjects, seeds):
        config = copy.deepcopy(base)
        config["dataset"] = _merged(config.get("dataset", {}), ds)
        if pv is not None:
            config["evaluation"] = pv
        if cv is not None:
            config["decoder"] = cv
        if sv is not None:
            config["dataset"]["subjects"] = sv
        if ev is not None:
            config.setdefault("training", {})["seed"] = ev
        labels = {k: v for k, v in [("dataset", dl), ("protocol", pl), ("decoder", cl or config.get("decoder", {}).get("name")),
                                    ("subject", sl), ("seed", el)] if v is not None}
        run_id = _safe_id("-".join(labels[k] for k in ("decoder", "subject", "seed", "protocol", "dataset") if k in labels)
                          or spec.name)
        config["name"] = f"{spec.name}/{run_id}"
        where = f"{source or 'sweep'} (run {run_id})"
        try:
            validated = validate_config(config, source=where)
        except ConfigError as exc:
            raise SweepError(str(exc)) from None
        validated = _absolute_paths(validated, None)   # executors on other machines or folders see the same files
        cls = registry.get(validated.decoder.name)
        plans.append(RunPlan(run_id, labels, validated.model_dump(mode="json"), bool(getattr(cls, "uses_torch", False))))
    ids = [p.id for p in plans]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SweepError(f"two runs would have the same id ({', '.join(dupes[:3])}); give decoders or datasets "
                         "distinct 'label's.", source)
    return plans


def _decoder_variants(entries) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in entries:
        if isinstance(entry, str):
            entry = DecoderAxis(name=entry)
        keys = sorted(entry.grid)
        for values in itertools.product(*(entry.grid[k] for k in keys)):
            params = {**entry.params, **dict(zip(keys, values))}
            label = entry.label or (entry.name if entry.preset is None else f"{entry.name}.{entry.preset}")
            if keys:
                label += "".join(f"_{k}={v}" for k, v in zip(keys, values))
            out.append((label, {"name": entry.name, "preset": entry.preset, "params": params}))
    return out


def _label(item: dict[str, Any], default: str) -> str:
    return str(item.get("label", default))


def _subject_label(s) -> str:
    return "s" + "+".join(str(x) for x in s) if isinstance(s, list) else f"s{s}"


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", text)[:120]


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
