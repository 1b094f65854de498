"""Explain tab of the Results view: what a run's saved (final) model responds to.

For the selected run, "Explain final model" loads the run's ``model/`` and its training data
(the run's ``config.yaml`` dataset), computes `decoders.explain.explain` on them off the GUI
thread (`app.gui.worker`, through the window's worker group) and draws each explanation with
`app.explain_figures` (topomaps over time windows and bands, channel x time images, ROI-pair
matrices and bars, voxel slices). A list picks the figure; "Save figure…" writes it as PNG,
SVG or PDF. Runs keep only their final model, not one per fold, so the maps are of that model
(the tab says so).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from .file_dialogs import remember_folder, start_folder

FOLD_NOTE = ("Per fold: this run kept only its final model (trained on all its data), not the fold models, "
             "so the maps are of the final model.")
SAVE_FILTERS = {"PNG image (*.png)": ".png", "SVG vector image (*.svg)": ".svg", "PDF (*.pdf)": ".pdf"}


@dataclass
class ExplainedRun:
    """What the worker hands back: the explanations and their figures ``(title, Figure)``."""

    run_dir: Path
    decoder: str
    explanations: list
    figures: list
    n_samples: int


def explain_run(run_dir: str | Path, max_per_class: int = 30) -> ExplainedRun:
    """Explain a run's saved model on its training data and draw the figures (no Qt).

    Parameters
    ----------
    run_dir : str or Path
        A finished run folder with ``model/`` and ``config.yaml``.
    max_per_class : int
        Samples attributed per class by the deep explainers (patterns use every sample).

    Raises
    ------
    data.errors.InputError
        The run has no saved model, or its model cannot be explained (the message says why).
    """
    from data.errors import InputError
    from data.loading import load_dataset
    from decoders.bundle import load_bundle
    from decoders.explain import ExplainError, explain, explainer_for
    from decoders.explain.data import explain_inputs

    from ..commands.explain import _background
    from ..experiment import load_config
    from ..explain_figures import figures

    run_dir = Path(run_dir)
    if not (run_dir / "model").exists():
        raise InputError("this run saved no model (output.save_model was off), so there is nothing to explain.",
                         run_dir)
    decoder, manifest = load_bundle(run_dir / "model")
    try:
        explainer_for(decoder.name)
    except ExplainError as exc:
        raise InputError(str(exc), run_dir) from None
    config = load_config(run_dir / "config.yaml")
    data = load_dataset(config.dataset)
    try:
        X, y, context = explain_inputs(data, (manifest.get("input") or {}).get("class_names"))
        explanations = explain(decoder, X, y, {**context, "max_per_class": max_per_class})
    except ExplainError as exc:
        raise InputError(f"cannot explain {decoder.name} on the run's data: {exc}", run_dir) from None
    background = _background(data)
    drawn = []
    for e in explanations:
        for name, fig in figures(e, background) or fallback_figures(e):
            drawn.append((_figure_title(e, name), fig))
        matrix = pair_matrix(e)
        if matrix is not None:
            for name, fig in figures(matrix):
                drawn.append((_figure_title(matrix, name), fig))
    return ExplainedRun(run_dir, decoder.name, explanations, drawn, len(X))


def pair_matrix(explanation):
    """An ROI-pair map as an ROI x ROI matrix (symmetric, zero diagonal), or None when the
    map is not over ROI pairs named ``"A-B"`` of one ROI list."""
    import numpy as np

    from decoders.explain import Axis, Explanation

    kinds = [a.kind for a in explanation.axes]
    rois = explanation.extra.get("roi_names")
    if kinds != ["roi_pair"]:
        return None
    pairs = [str(p) for p in explanation.axis("roi_pair").values]
    if not rois:
        rois = list(dict.fromkeys(r for p in pairs for r in p.split("-", 1)))
    index = {r: i for i, r in enumerate(rois)}
    try:
        ij = [tuple(index[r] for r in p.split("-", 1)) for p in pairs]
    except KeyError:
        return None
    maps = np.zeros((len(explanation.outputs), len(rois), len(rois)))
    for k, (i, j) in enumerate(ij):
        maps[:, i, j] = maps[:, j, i] = explanation.maps[:, k]
    return Explanation(f"{explanation.method}-matrix", maps, explanation.outputs,
                       (Axis("roi", tuple(rois)), Axis("roi", tuple(rois))), explanation.decoder,
                       {**explanation.extra, "how": explanation.extra.get("how", "") + " (as an ROI x ROI matrix)"})


def fallback_figures(explanation) -> list:
    """Figures of maps whose axes `app.explain_figures` does not draw (ROI bars, ROI x time):
    the strongest positions as bars for one axis, an image for two."""
    import numpy as np
    from matplotlib.figure import Figure

    e = explanation
    if len(e.axes) not in (1, 2):
        return []
    out = []
    for o, (output, m) in enumerate(zip(e.outputs[:8], e.maps[:8])):
        fig = Figure(figsize=(8, 5), layout="constrained")
        ax = fig.subplots()
        signed = bool(e.extra.get("signed", True))
        if len(e.axes) == 1:
            labels = np.asarray([str(v) for v in e.axes[0].values])
            top = np.argsort(-np.abs(m))[:30][::-1]
            ax.barh(range(len(top)), m[top], color=np.where(m[top] > 0, "tab:red", "tab:blue"))
            ax.set_yticks(range(len(top)), labels[top], fontsize=7)
            ax.set_xlabel("attribution")
            ax.set_title(f"{e.decoder} {e.method}: {output} (strongest {len(top)} {e.axes[0].kind}s)", fontsize=9)
        else:
            top = float(np.abs(m).max()) or 1.0
            image = ax.imshow(m, aspect="auto", cmap="RdBu_r" if signed else "Reds",
                              vmin=-top if signed else 0, vmax=top, interpolation="nearest")
            ax.set_ylabel(e.axes[0].kind)
            ax.set_xlabel(e.axes[1].kind)
            fig.colorbar(image, ax=ax, shrink=0.8)
            ax.set_title(f"{e.decoder} {e.method}: {output}", fontsize=9)
        out.append((f"{e.method}-{o + 1}", fig))
    return out


def _figure_title(explanation, name: str) -> str:
    stem = name.split("-")[-1]
    output = ""
    if stem.isdigit() and int(stem) <= len(explanation.outputs):
        output = f": {explanation.outputs[int(stem) - 1]}"
    subject = f", subject {explanation.extra['subject']}" if "subject" in explanation.extra else ""
    axes = " x ".join(a.kind.replace("_", "-") for a in explanation.axes)
    return f"{explanation.method} ({axes}){subject}{output}"


class ExplainPane(QWidget):
    """The Explain tab: compute, pick and save the maps of the selected run's final model."""

    explained = Signal(object)   # the ExplainedRun shown

    def __init__(self, workbench, parent: QWidget | None = None):
        super().__init__(parent)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.wb = workbench
        self.run = None
        self.result: ExplainedRun | None = None
        self.worker = None
        self.explain_button = QPushButton("Explain final model")
        self.explain_button.setObjectName("primary")
        self.explain_button.setToolTip("Attributions (deep decoders) or activation patterns (linear decoders) "
                                       "of the run's saved model on its training data")
        self.explain_button.clicked.connect(self.compute)
        self.samples = QSpinBox()
        self.samples.setRange(2, 500)
        self.samples.setValue(30)
        self.samples.setToolTip("Samples per class the attributions average over (patterns use all)")
        self.figure_box = QComboBox()
        self.figure_box.setMinimumContentsLength(40)
        self.figure_box.currentIndexChanged.connect(self._show_figure)
        self.save_button = QPushButton("Save figure…")
        self.save_button.setToolTip("Save the figure shown as PNG, SVG or PDF")
        self.save_button.clicked.connect(self.ask_save)
        self.status = QLabel("Select a run.")
        self.status.setWordWrap(True)
        self.fold_note = QLabel(FOLD_NOTE)
        self.fold_note.setWordWrap(True)
        self.fold_note.setProperty("class", "hint")
        self.how = QLabel("")
        self.how.setWordWrap(True)
        self.how.setProperty("class", "hint")
        self.canvas = FigureCanvasQTAgg(Figure(figsize=(8, 5)))
        row = QHBoxLayout()
        row.addWidget(self.explain_button)
        row.addWidget(QLabel("samples per class"))
        row.addWidget(self.samples)
        row.addWidget(QLabel("Map"))
        row.addWidget(self.figure_box, 1)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.fold_note)
        layout.addWidget(self.how)
        layout.addWidget(self.canvas, 1)
        self._update_buttons()

    # ------------------------------------------------------------------ state
    def set_run(self, run) -> None:
        """Show ``run`` (a `app.workspace.RunInfo`); maps already computed for it stay."""
        if self.run is not None and run is not None and Path(self.run.path) == Path(run.path):
            return
        self.run = run
        if self.result is not None and (run is None or self.result.run_dir != Path(run.path)):
            self._clear()
        if run is None:
            self.status.setText("Select a run.")
        elif not (Path(run.path) / "model").exists():
            self.status.setText(f"{run.name} saved no model; nothing to explain.")
        elif self.result is None:
            self.status.setText(f"{run.decoder}: press Explain final model to compute its maps on the run's data.")
        self._update_buttons()

    def _clear(self) -> None:
        self.result = None
        self.figure_box.blockSignals(True)
        self.figure_box.clear()
        self.figure_box.blockSignals(False)
        self.canvas.figure.clear()
        self.canvas.draw_idle()
        self.how.setText("")

    def _update_buttons(self) -> None:
        busy = self.worker is not None
        runnable = self.run is not None and (Path(self.run.path) / "model").exists()
        self.explain_button.setEnabled(runnable and not busy)
        self.save_button.setEnabled(self.result is not None and bool(self.result.figures))
        self.figure_box.setEnabled(self.result is not None)

    # ------------------------------------------------------------------ work
    def compute(self) -> None:
        """Explain the run's final model off the GUI thread."""
        if self.run is None or self.worker is not None:
            return
        run = self.run
        self._clear()
        self.status.setText(f"Explaining {run.decoder} of {run.name} on its data…")

        def done(result: ExplainedRun) -> None:
            self.worker = None
            if self.run is not None and Path(self.run.path) == result.run_dir:
                self.show_result(result)
            self._update_buttons()

        def failed(exc: BaseException) -> None:
            self.worker = None
            self.status.setText(f"Cannot explain {run.name}: {exc}")
            self._update_buttons()

        self.worker = self.wb.background.run(f"explaining {run.name}", explain_run, done, failed,
                                             run.path, self.samples.value())
        self._update_buttons()

    def show_result(self, result: ExplainedRun) -> None:
        self.result = result
        methods = ", ".join(dict.fromkeys(e.method for e in result.explanations))
        self.status.setText(f"{result.decoder}: {len(result.explanations)} explanation(s) ({methods}) on "
                            f"{result.n_samples} samples, {len(result.figures)} figure(s).")
        self.figure_box.blockSignals(True)
        self.figure_box.clear()
        self.figure_box.addItems([title for title, _ in result.figures])
        self.figure_box.blockSignals(False)
        if result.figures:
            self.figure_box.setCurrentIndex(0)
            self._show_figure(0)
        else:
            self.status.setText(self.status.text() + " These maps have no figure here.")
        self._update_buttons()
        self.explained.emit(result)

    def _show_figure(self, index: int) -> None:
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        if self.result is None or not 0 <= index < len(self.result.figures):
            return
        title, fig = self.result.figures[index]
        old = self.canvas
        self.canvas = FigureCanvasQTAgg(fig)
        self.layout().replaceWidget(old, self.canvas)
        old.setParent(None)
        old.deleteLater()
        self.canvas.draw_idle()
        explanation = self._explanation_of(title)
        self.how.setText(explanation.extra.get("how", "") if explanation is not None else "")

    def _explanation_of(self, title: str):
        for e in self.result.explanations:
            if title.startswith(f"{e.method} ("):
                return e
        return None

    def current_figure(self):
        """The matplotlib Figure shown (None before any)."""
        if self.result is None or not self.result.figures:
            return None
        return self.result.figures[self.figure_box.currentIndex()][1]

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> Path:
        """Write the figure shown to ``path`` (PNG, SVG or PDF by its suffix)."""
        from data.errors import InputError

        fig = self.current_figure()
        if fig is None:
            raise InputError("no figure to save: explain the run first.")
        path = Path(path)
        if path.suffix.lower() not in SAVE_FILTERS.values():
            raise InputError(f"save a figure as {', '.join(SAVE_FILTERS.values())}, not '{path.suffix}'.", path)
        fig.savefig(path, dpi=150)
        return path

    def ask_save(self) -> Path | None:
        """The Save figure dialog, then the file; errors are shown, not raised."""
        import re

        from data.errors import InputError

        stem = re.sub(r"[^\w.-]+", "-", self.figure_box.currentText()).strip("-.")[:60] or "explanation"
        start = Path(start_folder()) / f"{stem}.png"
        path, chosen = QFileDialog.getSaveFileName(self, "Save figure", str(start), ";;".join(SAVE_FILTERS))
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() not in SAVE_FILTERS.values():
            path = path.with_name(path.name + SAVE_FILTERS.get(chosen, ".png"))
        try:
            written = self.save(path)
        except (InputError, OSError) as exc:
            QMessageBox.warning(self, "Cannot save the figure", str(exc))
            return None
        remember_folder(written)
        return written
