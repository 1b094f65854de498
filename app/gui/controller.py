"""`Workbench`: every GUI action as a plain call on the models (views only draw).

Long work (opening data, loading trials, detecting devices, training) runs off the Qt
thread; results and errors come back as signals on the GUI thread.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from data.errors import InputError
from decoders.events import Progress

from .models import DataModel, DecoderModel, TrainingModel, list_devices, open_source
from .settings import Settings
from .training_process import train
from .worker import Worker, WorkerArg, WorkerGroup, failure_text

PROGRESS_INTERVAL_S = 0.05  # at most 20 progress updates a second reach the GUI


class ProgressThrottle:
    """A worker's ``keep`` filter: drops `Progress` events that come sooner than
    ``interval_s`` after the last one kept (never the final one); keeps everything else."""

    def __init__(self, interval_s: float = PROGRESS_INTERVAL_S):
        self.interval_s = interval_s
        self._last = 0.0

    def __call__(self, event) -> bool:
        if not isinstance(event, Progress):
            return True
        now = time.monotonic()
        if now - self._last < self.interval_s and event.fraction < 1:
            return False
        self._last = now
        return True


class Workbench(QObject):
    """The application state and its actions, without widgets.

    Signals: ``error(title, message)`` for anything the user should read;
    ``busy_changed(text)``: what runs now ("" when idle); ``devices_changed(list)``;
    ``runs_changed()`` when a run finished; ``training_done(state)``.
    """

    error = Signal(str, str)
    busy_changed = Signal(str)
    devices_changed = Signal(list)
    runs_changed = Signal()
    training_done = Signal(str)
    source_opened = Signal(str)
    trials_loaded = Signal()
    registry_ready = Signal()

    def __init__(self, settings: Settings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings or Settings()
        self.data = DataModel()
        self.decoder = DecoderModel()
        self.decoder.device = self.settings.device
        self.training = TrainingModel()
        self.devices: list[tuple[str, str]] = [("auto", "auto (best available)"), ("cpu", "CPU")]
        self.background = WorkerGroup(self)     # opening data, loading trials, listing devices ...
        self.background.busy_changed.connect(self._busy)
        self._training: Worker | None = None

    # ------------------------------------------------------------------ state text
    def _busy(self, _text: str = "") -> None:
        self.busy_changed.emit(self.busy_text())

    def busy_text(self) -> str:
        parts = []
        if self.training_running():
            parts.append(f"training {self.decoder.name or ''}".strip())
        if self.background.is_busy():
            parts.append(self.background.busy_text())
        return ", ".join(parts)

    @property
    def runs_dir(self) -> Path:
        return Path(self.settings.workspace)

    def set_runs_dir(self, folder: str | Path) -> None:
        self.settings.workspace = str(folder)
        self.runs_changed.emit()

    # ------------------------------------------------------------------------ data
    def open(self, source: str | Path, data_path: str | None = None, kind: str | None = None) -> None:
        """Open a file, folder, BIDS root, public dataset name or ``demo:NAME``, read as
        source kind ``kind`` (None: detected)."""
        from data.sources import names_a_path

        source = str(source)
        is_path = names_a_path(source)
        if is_path:
            path = Path(source).expanduser()
            if not path.exists():
                self.error.emit("Cannot open data", f"{path}: no such file or folder.")
                return
            source = str(path)
            self.settings.last_folder = path
        label = f"opening {Path(source).name if is_path else source}"

        def done(content) -> None:
            self.data.set_content(content)
            self.settings.add_recent_source(source)
            self.source_opened.emit(source)
            if not content.recordings:  # a demo that builds its trials directly
                self.load_trials()

        self.background.run(label, open_source, done, lambda exc: self._report("Cannot open data", exc),
                            source, data_path, kind)

    def update_spec(self, **changes: Any) -> bool:
        """Change dataset settings; a bad value becomes an error message. Returns success."""
        try:
            self.data.update_spec(**changes)
        except InputError as exc:
            self.error.emit("Invalid setting", str(exc))
            return False
        return True

    def load_trials(self) -> None:
        """Make the trials the current settings give (in the background)."""
        try:
            spec = self.data.run_spec()
        except InputError as exc:
            self.error.emit("Cannot load trials", str(exc))
            return

        def load():
            from data.loading import load_dataset

            return load_dataset(spec)

        def done(trials) -> None:
            if self.data.spec is not None and self.data.spec.source == spec.source:
                self.data.set_trials(trials)
                self.trials_loaded.emit()

        self.background.run("making trials", load, done, lambda exc: self._report("Cannot make trials", exc))

    def prepare(self) -> None:
        """After the window shows: read the decoder registry, then see what torch sees."""
        def done(entries) -> None:
            self.decoder.set_entries(entries)
            self.registry_ready.emit()
            self.detect_devices()

        def load():
            import decoders

            return decoders.available(load=True)   # read the classes' facts here, off the Qt thread

        self.background.run("loading decoders", load, done,
                               lambda exc: self._report("Cannot read the decoder registry", exc))

    # --------------------------------------------------------------------- devices
    def detect_devices(self) -> None:
        """List what torch sees (imports torch off the GUI thread)."""
        self.background.run("detecting devices", list_devices, self._set_devices,
                               lambda exc: self._report("Device detection failed", exc))

    def _set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.devices = devices
        self.devices_changed.emit(devices)

    def device_label(self) -> str:
        """Human name of the device training will use (the status bar's text)."""
        choice = self.decoder.device
        names = dict(self.devices)
        if choice == "auto":
            best = next((d for d, _ in self.devices if d not in ("auto", "cpu")), "cpu")
            return names.get(best, "CPU") if best != "cpu" else "CPU"
        return names.get(choice, choice)

    def set_device(self, device: str) -> None:
        self.decoder.set_device(device)
        self.settings.device = device

    # -------------------------------------------------------------------- training
    def training_running(self) -> bool:
        return self._training is not None and self._training.is_running()

    def experiment_config(self) -> dict:
        spec = self.data.run_spec()
        return self.decoder.experiment_config(spec, self.runs_dir)

    def start_training(self, runner=None) -> bool:
        """Start training the chosen decoder on the chosen data. Returns False (after an
        error message) if something is missing or invalid."""
        if self.training_running():
            self.error.emit("Training is running", "Cancel the current run before starting another.")
            return False
        try:
            config = self.experiment_config()
            self._validate(config)
            from app.preflight import check_before_start   # refused before any work (issue 20)
            check_before_start(config, self.data.trials)
        except InputError as exc:
            self.error.emit("Cannot start training", str(exc))
            return False
        class_names = list(self.data.trials.class_names) if self.data.trials is not None else \
            list(self.data.trial_counts)
        self.training.start(class_names)
        self.training.add_log(f"training {config['decoder']['name']} on {config['dataset']['source']} "
                              f"({config['evaluation']['protocol']}, device {config['training']['device']})")
        # By default the experiment runs in a child process, its events coming back through a
        # pipe; ``runner`` (run_experiment's signature) runs on a thread of this process instead.
        if runner is None:
            worker = Worker(train, config, None, WorkerArg.YIELD, WorkerArg.CANCEL, label="training",
                            in_process=True, keep=ProgressThrottle(), parent=self)
        else:
            worker = Worker(runner, config, label="training", keep=ProgressThrottle(), parent=self,
                            on_event=WorkerArg.YIELD, cancel=WorkerArg.CANCEL, out_dir=None)
        worker.yielded.connect(self._on_event)
        worker.returned.connect(self._finished)
        worker.aborted.connect(self._cancelled)
        worker.errored.connect(self._failed)
        worker.finished.connect(self._training_ended)
        self._training = worker.start()
        self._busy()
        return True

    @staticmethod
    def _validate(config: dict) -> None:
        """Check the config with the experiment schema before starting a thread."""
        try:
            from app.experiment import ExperimentConfig
        except ImportError:
            return
        from pydantic import ValidationError

        try:
            ExperimentConfig.model_validate(config)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(f"experiment setting '{where}': {err['msg']}.") from None

    def cancel_training(self) -> None:
        if self._training is not None:
            self.training.add_log("cancelling…")
            self._training.cancel()

    @Slot(object)
    def _on_event(self, event) -> None:
        self.training.apply(event)

    @Slot(object)
    def _finished(self, result) -> None:
        if self._training is not None and self._training.cancelled:
            self._cancelled()   # cancelled as it ended: reported as cancelled, as the user asked
            return
        metrics = getattr(result, "metrics", {}) or {}
        run_dir = getattr(result, "run_dir", None)
        self.training.finish(str(run_dir) if run_dir else None, metrics.get("summary"))
        self.training.add_log(f"finished: {run_dir}")

    @Slot()
    def _cancelled(self) -> None:
        self.training.cancel()

    @Slot(object)
    def _failed(self, exc: BaseException) -> None:
        message, details = failure_text(exc)
        self.training.fail(message)
        if details:
            self.training.add_log(details.rstrip())
        self.error.emit("Training failed", message)

    @Slot()
    def _training_ended(self) -> None:
        worker, self._training = self._training, None
        if worker is not None:
            worker.deleteLater()
        self._busy()
        self.runs_changed.emit()
        self.training_done.emit(self.training.state)

    def shutdown(self, timeout_ms: int = 20000) -> bool:
        """Cancel what runs and wait for it (closing the window)."""
        ok = True
        if self._training is not None:
            self._training.cancel()
            ok = self._training.wait(timeout_ms)
        return self.background.wait(timeout_ms) and ok

    # --------------------------------------------------------------------- results
    def list_runs(self) -> list:
        from app.workspace import list_runs

        return list_runs(self.runs_dir) if self.runs_dir.is_dir() else []

    @staticmethod
    def export_decoder(run_dir: str | Path, destination: str | Path) -> Path:
        """Export a run's trained decoder, as `neurodeck export` does, in the format the
        destination names: ``.onnx`` (checked against onnxruntime), ``.pt`` (TorchScript),
        otherwise a bundle (``.zip`` file or folder). Slow for ONNX: call it off the GUI thread."""
        from app.commands.export import example_input, resolve_bundle
        from decoders.bundle import load_bundle, save_bundle

        destination = Path(destination)
        bundle = resolve_bundle(run_dir)
        if not Path(bundle).exists():
            raise InputError(f"{run_dir}: this run has no trained decoder (model/ is missing).")
        decoder, manifest = load_bundle(bundle)
        destination.parent.mkdir(parents=True, exist_ok=True)
        suffix = destination.suffix.lower()
        if suffix in (".onnx", ".pt"):
            from decoders import export

            example = example_input(manifest, Path(bundle))
            if suffix == ".onnx":
                return Path(export.export_onnx(decoder, destination, example).path)
            return Path(export.export_torchscript(decoder, destination, example).path)
        if suffix != ".zip" and destination.exists():
            raise InputError(f"{destination}: already exists; choose a new name.")
        save_bundle(decoder, destination, input_spec=manifest.get("input", {}), metrics=manifest.get("metrics"),
                    provenance=manifest)
        return destination

    # ---------------------------------------------------------------------- errors
    def _report(self, title: str, exc: BaseException) -> None:
        from data.errors import as_input_error

        user_error = as_input_error(exc)   # the CLI's mapping: bad input is a message, not a crash
        if user_error is not None:
            self.error.emit(title, str(user_error))
        else:
            detail = getattr(exc, "traceback_text", "")
            self.training.add_log(f"{title}: {type(exc).__name__}: {exc}\n{detail}".rstrip())
            self.error.emit(title, f"{type(exc).__name__}: {exc}")
