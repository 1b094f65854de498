"""Experiment files and the one function that runs them: `run_experiment`.

An experiment file (YAML) has five sections::

    name: eegbci-csp-lda
    dataset:    {source: eegbci, data_path: ../shared/datasets/eegbci, subjects: [1, 2, 3], ...}
    decoder:    {name: csp-lda, preset: null, params: {}}
    training:   {device: auto, seed: 0}
    evaluation: {protocol: kfold, n_folds: 5}
    output:     {runs_dir: runs, save_model: true, figures: true}

``evaluation`` is ``protocol`` plus that protocol's options, validated by the protocol's own
``Options`` schema (`decoders.protocols`; ``neurodeck run --help`` and the README list them).
A key only another protocol reads is an error unless it holds that option's default.

``training.seed`` seeds both the folds (StratifiedKFold random_state) and the decoder, so
two files that differ only in the decoder are evaluated on the same test folds.

Relative paths (dataset source / data_path, output.runs_dir) are resolved against the current
working directory, so the shipped EEGBCI examples work when run from the repository root.
Every unknown key or bad value is reported with the file and the key that holds it.

`run_experiment` is what both the CLI (`neurodeck run`) and the GUI (in a worker thread)
call: load the data, evaluate the decoder with the protocol, train the final decoder on all
the data, and write the run folder (see `app.workspace`). It emits "log", "progress",
"epoch", "fold_end" and "run_end" events and stops cleanly when ``cancel`` is set.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data.errors import InputError, quote
from data.spec import MAX_SEED, DatasetSpec
from decoders.protocols import option_names, protocol_names
from decoders.protocols import protocol as get_protocol

# Parameters a decoder may declare that the data fills in when the file leaves them unset.
DATA_FILLED_PARAMS = ("sfreq", "n_channels", "n_chans", "n_times", "n_classes", "n_features", "n_targets")


class ConfigError(InputError):
    """An experiment file (or dict) is missing, unreadable or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)  # finite floats only


class DecoderConfig(_Strict):
    name: str = Field(..., description="Registry name of the decoder (the README lists them; an unknown name lists them too).")
    preset: str | None = Field(None, description="A preset of the decoder, e.g. 'within-subject'.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters overriding the preset.")


class TrainingConfig(_Strict):
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
                        description="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed for the folds and for the decoder (when it takes one).")


class EvaluationConfig(BaseModel):
    """``protocol`` and the options it reads, validated by that protocol's ``Options`` schema
    (the registry in `decoders.protocols`, plugins included); every option is an attribute
    (``config.evaluation.n_folds``), defaults filled in."""

    model_config = ConfigDict(extra="allow")
    protocol: str = Field("kfold", description="How samples are split into training and test folds.")

    @model_validator(mode="before")
    @classmethod
    def _protocol_options(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        name = raw.get("protocol", "kfold")
        if name not in protocol_names():
            return raw   # the protocol field reports it
        chosen = get_protocol(name)
        own = chosen.Options.model_fields
        readers = option_names()
        options, stray = {}, []
        for key, value in raw.items():
            if key == "protocol":
                continue
            if key in own or key not in readers:
                options[key] = value   # an unknown key: the schema reports it with its name
            elif any(value != get_protocol(other).Options.model_fields[key].get_default()
                     for other in readers[key]):
                stray.append(key)      # another protocol's option, set to something other than its default
        if stray:
            raise ValueError(f"{', '.join(sorted(stray))} not used by protocol '{name}' "
                             f"(it reads: {', '.join(sorted(own))})")
        return {"protocol": name, **chosen.Options.model_validate(options).model_dump()}

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, name: str) -> str:
        known = protocol_names()
        if name not in known:
            raise ValueError(f"Input should be {', '.join(repr(k) for k in known[:-1])} or {known[-1]!r}")
        return name

    @property
    def options(self):
        """The validated options of ``protocol`` (its ``Options`` model)."""
        return get_protocol(self.protocol).Options.model_validate(self.model_extra or {})


class OutputConfig(_Strict):
    runs_dir: str = Field("runs", description="Folder that receives the run folders.")
    save_model: bool = Field(True, description="Train the decoder on all the data and save it as a bundle in model/.")
    figures: bool = Field(True, description="Draw PNG figures into figures/.")


class ExperimentConfig(_Strict):
    name: str = Field("experiment", description="A short name for the experiment.")
    description: str | None = None
    dataset: DatasetSpec
    decoder: DecoderConfig
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)


@dataclass
class RunResult:
    """A finished run: its folder and the metrics written to its ``metrics.json``."""

    run_dir: Path
    metrics: dict[str, Any]


# --------------------------------------------------------------------------- loading
def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment file; `ConfigError` names the file and the key."""
    from data.safe_yaml import load_yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError("experiment file not found." if not path.exists() else "not a file.", path)
    raw = load_yaml(path, error=ConfigError)   # size, alias and tag limits
    if not isinstance(raw, dict):
        raise ConfigError("an experiment file must be a mapping with dataset, decoder, evaluation... "
                          f"sections, not {type(raw).__name__}.", path)
    return validate_config(raw, source=path)


def validate_config(raw: dict[str, Any] | ExperimentConfig, source: str | Path | None = None) -> ExperimentConfig:
    """Validate a dict (the GUI builds one) and check the decoder, preset and parameters."""
    if isinstance(raw, ExperimentConfig):
        config = raw
    else:
        try:
            config = ExperimentConfig.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, raw), source) from None
    from decoders import registry

    try:
        cls = registry.get(config.decoder.name)
    except InputError as exc:
        raise ConfigError(f"key 'decoder.name': {exc}", source) from None
    try:
        registry.create(config.decoder.name, config.decoder.params, config.decoder.preset)
    except InputError as exc:
        raise ConfigError(f"key 'decoder.{'preset' if 'preset' in str(exc) else 'params'}': {exc}",
                          source) from None
    chosen = get_protocol(config.evaluation.protocol)
    if chosen.requires.fine_tune and not getattr(cls, "supports_fine_tune", False):
        raise ConfigError(f"key 'evaluation.protocol': decoder '{config.decoder.name}' cannot be "
                          f"fine-tuned, so protocol '{chosen.name}' does not apply.", source,
                          hint="Use kfold or loso, or a decoder that supports fine-tuning (eeg-simpleconv).")
    return config


def _explain(exc: ValidationError, raw: Any) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            siblings = _fields_at(loc[:-1])
            close = difflib.get_close_matches(loc[-1], siblings, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else (f" (known: {', '.join(siblings)})" if siblings else "")
            parts.append(f"key '{key}' is not a known setting{hint}")
        elif err["type"] == "missing":
            parts.append(f"key '{key}' is required")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            where = f"key '{key}'" if key else "evaluation"
            given = f" (got {quote(err['input'])})" if key and not isinstance(err.get("input"), dict) else ""
            parts.append(f"{where}: {msg}{given}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f"; and {more} more problem(s)." if more > 0 else ".")


def _fields_at(loc: list[str]) -> list[str]:
    """Field names of the model at a location like ['dataset', 'preprocessing']."""
    if loc == ["evaluation"]:   # the options of every registered protocol
        return ["protocol", *option_names()]
    model: Any = ExperimentConfig
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return []
    return list(model.model_fields)


# --------------------------------------------------------------------------- running
def run_experiment(config: ExperimentConfig | dict, on_event: Callable | None = None,
                   cancel: threading.Event | None = None, out_dir: str | Path | None = None,
                   *, restart: bool = False) -> RunResult:
    """Load the data, evaluate the decoder fold by fold, train the final decoder, and write
    the run folder (what ``neurodeck run`` and the GUI's Train view do).

    Parameters
    ----------
    config : ExperimentConfig or dict
        An `ExperimentConfig`, or a dict with the same sections (validated here).
    on_event : callable, optional
        Receives every training event (``decoders.events``), called from this thread.
    cancel : threading.Event, optional
        Set it to stop: the folds done so far are kept in the hidden partial folder, which
        the same experiment run again resumes.
    out_dir : str or Path, optional
        Runs folder (overrides ``output.runs_dir``); the run gets its own sub-folder.
    restart : bool
        Discard the partial results of an earlier interrupted run instead of resuming.

    Returns
    -------
    RunResult
        The run folder and its metrics (as in ``metrics.json``).

    Raises
    ------
    ConfigError
        The experiment is invalid, or the decoder does not take the data's kind.
    data.errors.DataError
        The data cannot be read (the message names the file).
    decoders.events.Cancelled
        ``cancel`` was set.

    Examples
    --------
    >>> from app.experiment import run_experiment
    >>> result = run_experiment({"dataset": {"source": "demo:motor-imagery"},
    ...                          "decoder": {"name": "csp-lda"}})  # doctest: +SKIP
    >>> result.metrics["summary"]["accuracy"]["mean"]  # doctest: +SKIP
    """
    from data.loading import load_dataset
    from decoders import registry
    from decoders.evaluation import FoldResult, ProgressRelay, evaluate, fit_arguments
    from decoders.events import Cancelled, LogMessage, RunEnd, TrainingContext, TrainingEvent

    from . import workspace
    from .run_facts import data_fingerprint, final_model_facts

    config = validate_config(config if isinstance(config, ExperimentConfig) else dict(config))
    config = _absolute_paths(config, out_dir)
    started = time.time()
    run: workspace.RunFolder | None = None
    log_lines: list[str] = []

    def sink(event: TrainingEvent) -> None:
        if isinstance(event, LogMessage):
            line = event.message if event.fold is None else f"[fold {event.fold}] {event.message}"
            log_lines.append(line)
            if run is not None:
                run.log(line)
        if on_event is not None:
            on_event(event)

    ctx = TrainingContext(sink, cancel or threading.Event(), config.training.device)
    ctx.log(f"experiment '{config.name}': loading {config.dataset.source}")
    data = load_dataset(config.dataset)
    ctx.log(f"data: {json.dumps(data.summary(), default=str)}")
    ctx.check_cancel()

    cls = registry.get(config.decoder.name)
    _check_input_kind(cls, data, config)
    params = _decoder_params(cls, config, data)
    from decoders.compatibility import check_experiment   # refused before any fold (issue 20)
    check_experiment(cls, params, config.evaluation.protocol,
                     config.evaluation.model_dump(exclude={"protocol"}, exclude_unset=True), data)
    prototype = registry.create(config.decoder.name, params)
    from .setup_warnings import setup_warnings
    for warning in setup_warnings(cls, params, data, config.evaluation):
        ctx.log(f"warning: {warning}", warning=True)
    resolved = _resolved(config, params)
    config_hash = hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()
    device = _device_name(cls, config.training.device)  # an unavailable device fails before any file
    if device == "cpu" and config.training.device not in ("auto", "cpu"):
        ctx.log(f"warning: training.device '{config.training.device}' is not used: "
                f"{config.decoder.name} runs on the CPU.", warning=True)
    run = workspace.open_run_folder(config.output.runs_dir, config.decoder.name, config_hash, restart=restart)
    for line in log_lines:
        run.log(line)
    completed = _completed_folds(run, FoldResult)
    if completed:
        ctx.log(f"resuming {run.path}: {len(completed)} fold(s) already done")
    workspace.write_text(run.path / "config.yaml", _yaml(resolved))

    def save_fold(fold: FoldResult) -> None:
        workspace.write_json(run.folds_dir / f"fold_{fold.fold:04d}.json", fold.to_json())
        _pause_for_tests(fold.fold)

    eval_options = config.evaluation.model_dump(exclude={"protocol"}, exclude_unset=True)
    span = (0.0, 0.9) if config.output.save_model else (0.0, 1.0)
    try:
        result = evaluate(data, prototype, config.evaluation.protocol, context=ctx, completed=completed,
                          on_fold=save_fold, progress_span=span, seed=config.training.seed, **eval_options)
        ctx.check_cancel()
        history = [{"fold": f.fold, **row} for f in result.folds for row in f.history]
        timings = dict(result.timings)
        final_model = None
        if config.output.save_model:
            final_ctx_relay = ProgressRelay(ctx, 1, (0.9, 1.0))
            final_ctx = final_ctx_relay.context("final")
            final_model = final_model_facts(config, data)
            final_ctx.log(f"training the final decoder on {final_model['trained_on']}")
            if final_model["note"]:
                final_ctx.log(f"note: {final_model['note']}", warning=True)
            t0 = time.perf_counter()
            final = registry.create(config.decoder.name, params)
            args, kwargs = fit_arguments(final, data, context=final_ctx)
            final.fit(*args, **kwargs)
            timings["final_fit_seconds"] = time.perf_counter() - t0
            history += [{"fold": "final", **row} for row in final_ctx_relay.history.get("final", [])]
            _save_model(final, run.path / "model", data, config, result.summary, ctx)
            final_ctx_relay.unit_done("final decoder saved")
        ctx.check_cancel()
        timings["total_seconds"] = time.time() - started
        metrics = _metrics_json(config, data, result, device, timings, started)
        metrics.update(final_model=final_model, data_fingerprint=data_fingerprint(data))
        _write_outputs(run, config, data, result, history, metrics)
        final_dir = run.finish()
    except (Cancelled, KeyboardInterrupt):
        run.log("interrupted: the folds done so far are kept here; run the same experiment again to resume")
        workspace.release(run.path)
        if on_event is not None:
            ctx.log(f"interrupted; partial results kept in {run.path} (the same run resumes from them)")
        raise
    except BaseException as exc:
        run.log(f"failed: {type(exc).__name__}: {exc}")
        if isinstance(exc, InputError) and not any(run.folds_dir.glob("fold_*.json")):
            run.discard()   # bad input and nothing worth resuming: leave no hidden folder behind
        else:
            workspace.release(run.path)
        raise
    ctx.log(f"run folder: {final_dir}")
    ctx.emit(RunEnd(summary=metrics["summary"], run_dir=str(final_dir)))
    return RunResult(final_dir, metrics)


PAUSE_ENV = "NEURODECK_PAUSE_AFTER_FOLD"


def _pause_for_tests(fold: int) -> None:
    """``NEURODECK_PAUSE_AFTER_FOLD=N:FILE``: once fold N is saved, create FILE and wait (up to
    two minutes) for a signal, so tests interrupt a run at a known point, never by timing."""
    setting = os.environ.get(PAUSE_ENV, "")
    n, _, flag = setting.partition(":")
    if not flag or n != str(fold):
        return
    Path(flag).touch()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)


def _absolute_paths(config: ExperimentConfig, out_dir) -> ExperimentConfig:
    """Resolve relative paths against the working directory (recorded in config.yaml)."""
    from data.sources import names_a_path

    config = config.model_copy(deep=True)
    ds = config.dataset
    for part in [ds, *(ds.sources or [])]:   # the dataset and each part of a combined one
        if part.data_path:
            part.data_path = str(Path(part.data_path).expanduser().resolve())
        if names_a_path(part.source) and Path(part.source).expanduser().exists():
            part.source = str(Path(part.source).expanduser().resolve())
    runs_dir = out_dir if out_dir is not None else config.output.runs_dir
    config.output.runs_dir = str(Path(runs_dir).expanduser().resolve())
    return config


def _check_input_kind(cls, data, config: ExperimentConfig) -> None:
    kind = getattr(cls, "input_kind", "trials")
    if kind != data.kind:
        raise ConfigError(f"key 'decoder.name': decoder '{config.decoder.name}' takes {kind} data, but "
                          f"dataset '{config.dataset.source}' gives {data.kind} data.",
                          hint="Pick a decoder for this kind of data.")


def _decoder_params(cls, config: ExperimentConfig, data) -> dict[str, Any]:
    """Preset + the file's params + what the data and the training section supply."""
    params = dict(cls.presets.get(config.decoder.preset, {})) if config.decoder.preset else {}
    params.update(config.decoder.params)
    fields = cls.Params.model_fields
    from_data = {
        "sfreq": data.sfreq,
        "n_channels": data.X.shape[1] if data.X.ndim > 1 else None,
        "n_chans": data.X.shape[1] if data.X.ndim > 1 else None,
        "n_times": data.X.shape[2] if data.X.ndim == 3 else None,
        "n_classes": data.n_classes or None,
        "n_features": data.X.shape[1] if data.kind != "trials" and data.X.ndim > 1 else None,
        "n_targets": (data.y.shape[1] if data.y is not None and data.y.ndim > 1 else None),
    }
    for name in DATA_FILLED_PARAMS:
        if name in fields and params.get(name) is None and from_data.get(name) is not None:
            params[name] = from_data[name]
    if "seed" in fields and "seed" not in params:
        params["seed"] = config.training.seed
    return params


def _resolved(config: ExperimentConfig, params: dict[str, Any]) -> dict[str, Any]:
    out = config.model_dump(mode="json")
    used = set(get_protocol(config.evaluation.protocol).Options.model_fields) | {"protocol"}
    out["evaluation"] = {k: v for k, v in out["evaluation"].items() if k in used}
    out["decoder"]["params"] = json.loads(json.dumps(params, default=float))
    return out


def _completed_folds(run, fold_cls) -> dict[int, Any]:
    done = {}
    for path in sorted(run.folds_dir.glob("fold_*.json")):
        try:
            fold = fold_cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            path.unlink(missing_ok=True)  # unreadable: redo that fold
            continue
        done[fold.fold] = fold
    return done


def _device_name(cls, device: str) -> str:
    if not getattr(cls, "uses_torch", False):
        return "cpu"
    from decoders.training import resolve_device

    return str(resolve_device(device))


def _save_model(decoder, folder: Path, data, config: ExperimentConfig, summary, ctx) -> None:
    try:
        from decoders.bundle import save_bundle
    except ImportError as exc:
        ctx.log(f"model not saved: bundles are not available ({exc})")
        return
    try:
        save_bundle(decoder, folder, input_spec=input_spec(data, config),
                    metrics={k: v["mean"] for k, v in summary.items()})
    except NotImplementedError as exc:
        ctx.log(f"model not saved: {exc}")


def input_spec(data, config: ExperimentConfig) -> dict[str, Any]:
    """What a bundle needs to turn new recordings into decoder input (`neurodeck predict`)."""
    from data.fingerprint import sample_digests

    ds = config.dataset
    return {
        "kind": data.kind, "modality": data.modality, "shape": list(data.X.shape[1:]),
        "ch_names": list(data.ch_names), "ch_types": list(data.ch_types), "sfreq": data.sfreq,
        "window": list(ds.window), "baseline": None if ds.baseline is None else list(ds.baseline),
        "events": ds.events, "class_names": list(data.class_names),
        "target_names": list(data.target_names),
        "preprocessing": ds.preprocessing.model_dump(mode="json"),
        "continuous": None if ds.continuous is None else ds.continuous.model_dump(mode="json"),
        "steps": data.provenance.get("steps", []), "unit": data.provenance.get("unit"),
        "source_kind": ds.kind, "options": ds.options,   # e.g. stimulus-pairs keys and image layout
        "training_digests": sample_digests(data.X),  # lets `predict` flag trials seen in training
    }


def _metrics_json(config: ExperimentConfig, data, result, device, timings, started) -> dict[str, Any]:
    from decoders.bundle import library_versions

    return {
        "name": config.name, "decoder": config.decoder.name, "preset": config.decoder.preset,
        "task": result.task, "protocol": result.protocol, "device": device,
        "dataset": config.dataset.source, "n_samples": len(data), "subjects": data.subjects,
        "class_names": list(data.class_names), "target_names": list(data.target_names),
        "seed": config.training.seed, "folds": result.fold_metrics(), "summary": result.summary,
        "by_subject": result.by_subject, "timings": timings, "versions": library_versions(),
        "machine": f"{platform.system()} {platform.machine()}, {platform.processor() or 'cpu'}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _write_outputs(run, config: ExperimentConfig, data, result, history, metrics) -> None:
    import numpy as np

    from . import workspace

    from decoders.tasks import get_task

    spec = get_task(result.task)
    rows = []
    for f in result.folds:
        rows += f.info.get("prediction_rows", [])   # a task's own test hook made them
        for i, idx in enumerate(f.test_index):
            every = {"fold": f.fold, "index": int(idx), "subject": data.subject[idx],
                     "session": data.session[idx], "run": data.run[idx]}
            row = {c: every[c] for c in spec.prediction_columns if c in every}
            if spec.fit_inputs == "labels":
                names = data.class_names
                name = lambda c: names[int(c)] if names and 0 <= int(c) < len(names) else c  # noqa: E731
                row["true"], row["pred"] = name(f.y_true[i]), name(f.y_pred[i])
                if f.proba is not None:
                    for c, p in enumerate(f.proba[i]):
                        row[f"p_{names[c] if c < len(names) else c}"] = f"{p:.6g}"
            elif spec.fit_inputs == "targets":
                targets = data.target_names or [f"y{j}" for j in range(np.size(f.y_true[i]))]
                for j, t in enumerate(targets):
                    row[f"true_{t}"] = f"{np.ravel(f.y_true[i])[j]:.6g}"
                    row[f"pred_{t}"] = f"{np.ravel(f.y_pred[i])[j]:.6g}"
            rows.append(row)
    workspace.write_csv(run.path / "predictions.csv", rows)
    workspace.write_csv(run.path / "history.csv", history,
                        None if history else ["fold", "epoch", "n_epochs", "train_loss"])
    workspace.write_json(run.path / "metrics.json", metrics)
    if config.output.figures:
        confusion = None
        if "confusion" in spec.figures:
            confusion = np.sum([f.metrics["confusion"] for f in result.folds], axis=0)
        trajectory = None
        if "trajectories" in spec.figures and result.folds:
            f = result.folds[0]
            trajectory = (f.y_true, f.y_pred, list(data.target_names))
        if "reconstructions" in spec.figures and result.folds and np.ndim(result.folds[0].y_pred) == 3:
            from .reconstruction_figure import draw_reconstruction_grid

            f = result.folds[0]
            draw_reconstruction_grid(run.path / "figures" / "reconstructions.png", f.y_true,
                                     {"reconstructed": f.y_pred}, data.subject[f.test_index])
        workspace.draw_figures(run.path / "figures", history=history, task=result.task,
                               confusion=confusion, class_names=list(data.class_names), trajectory=trajectory)


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True)
