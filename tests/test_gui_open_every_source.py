"""Issue 20: every built-in demo and every source kind in ../shared/datasets opens in the Data
view without an error banner, through the view's own open actions (the demo chooser, the
Open file / Open folder buttons with their dialogs answered, a public dataset's prompts), and
the view that opens fits the data: the tabs and controls come from what the set declares.
"""
from __future__ import annotations

import pytest

from tests.test_gui_workflow import isolated_settings, wait_until

pytestmark = pytest.mark.gui

OPEN_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    from app.gui.main_window import MainWindow

    root = tmp_path_factory.mktemp("gui-open-every-source")
    env = isolated_settings(root)
    win = MainWindow()
    win.resize(1280, 800)
    win.show()
    win.wb.set_runs_dir(root / "runs")
    yield win
    win.close()
    env.undo()


def _settled(qapp, window, what: str) -> None:
    """Wait until nothing runs in the background, then for the set (sets) to arrive."""
    wait_until(qapp, lambda: not window.wb.background.is_busy(), OPEN_TIMEOUT_S, what)
    qapp.processEvents()


def open_with_button(qapp, window, monkeypatch, path, folder: bool = False) -> None:
    """Press Open file… (or Open folder…) with the dialog answered ``path``."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QFileDialog, QPushButton

    view = window.view("data")
    window.hide_error()
    if folder:
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(path)))
    else:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    text = "Open folder…" if folder else "Open file…"
    button = next(b for b in view.findChildren(QPushButton) if b.text() == text)
    QTest.mouseClick(button, Qt.LeftButton)
    _settled(qapp, window, f"{path} to open")


def pick_in_chooser(qapp, window, value) -> None:
    view = window.view("data")
    window.hide_error()
    index = view.demo_box.findData(value)
    assert index > 0, f"{value} is offered in the chooser"
    view.demo_box.setCurrentIndex(index)
    view.demo_box.activated.emit(index)
    _settled(qapp, window, f"{value} to open")


def shown(view) -> dict:
    """What the Data view shows now: visible tabs, visible control groups, the summary text."""
    tabs = [view.tabs.tabText(i) for i in range(view.tabs.count()) if view.tabs.isTabVisible(i)]
    return {"tabs": tabs, "eeg_controls": view.preprocessing_box.isVisibleTo(view),
            "options": view.options_box.isVisibleTo(view), "summary": view.summary.text(),
            "source": view.source_label.text(), "current": view.tabs.tabText(view.tabs.currentIndex())}


def no_banner(window) -> None:
    assert not window.error_text(), window.error_text()


# ----------------------------------------------------------------------------------- demos
def demo_names():
    from data import demos

    return [d.name for d in demos.available()]


@pytest.mark.parametrize("name", demo_names())
def test_every_demo_opens_with_a_view_that_fits(qapp, window, name):
    from data import demos

    pick_in_chooser(qapp, window, f"demo:{name}")
    no_banner(window)
    view = window.view("data")
    seen = shown(view)
    model = window.wb.data
    demo = demos.get(name)
    if demo.kind == "raw":   # recordings: the EEG pipeline and its controls
        assert model.recordings and seen["eeg_controls"] and "Signal" in seen["tabs"], seen
        return
    data = model.trials
    assert data is not None, "the demo's set was built"
    assert not seen["eeg_controls"], f"EEG controls shown for {data.modality} {data.kind}: {seen}"
    assert "{" not in seen["summary"] and "[" not in seen["summary"], seen["summary"]   # readable
    if data.kind == "volumes" and data.stimuli is not None:
        assert seen["current"] == "Stimuli", seen
        assert view.stimuli.grid.n_shown > 0
        assert "voxels" in seen["summary"] and "train" in seen["summary"], seen["summary"]
    elif data.kind == "continuous":
        assert seen["current"] == "Features", seen
        assert view.continuous.n_curves > 0
    elif data.modality == "fmri-roi":
        assert seen["current"] == "fMRI", seen
        assert "control 40" in seen["summary"], seen["summary"]


def test_switching_sets_resets_every_pane(qapp, window):
    """The old set's text and plots never stay behind (issue 20: visual-fmri after resting-state)."""
    view = window.view("data")
    pick_in_chooser(qapp, window, "demo:resting-state")
    no_banner(window)
    assert view.fmri.roi_panel.isVisibleTo(view.fmri)
    roi_note = view.fmri.note.text()
    pick_in_chooser(qapp, window, "demo:visual-fmri")
    no_banner(window)
    assert view.fmri.note.text() != roi_note
    assert not view.tabs.isTabVisible(view.tabs.indexOf(view.fmri))
    assert view.stimuli.grid.n_shown > 0
    pick_in_chooser(qapp, window, "demo:motor-imagery")
    no_banner(window)
    assert view.stimuli.grid.n_shown == 0 and view.continuous.n_curves == 0
    assert view.fmri.data is None
    assert not view.tabs.isTabVisible(view.tabs.indexOf(view.stimuli))


# ----------------------------------------------------------------------- real datasets
def test_eegbci_from_its_local_copy(qapp, window, datasets, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(datasets / "eegbci")))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("2", True)))
    pick_in_chooser(qapp, window, "kind:eegbci")
    no_banner(window)
    seen = shown(window.view("data"))
    assert window.wb.data.recordings and seen["eeg_controls"] and seen["tabs"][:2] == ["Signal", "Epochs"], seen


@pytest.mark.parametrize("relative", [
    "bci2000/eeg2_1.dat", "bci2000/eeg3_1.dat",
    "fmri-recon/digit69_28x28.mat", "fmri-recon/miyawaki_structured_28x28.mat",
])
def test_files_open(qapp, window, datasets, monkeypatch, relative):
    from PySide6.QtWidgets import QInputDialog

    asked = []

    def read_as(parent, title, label, items, *args, **kwargs):   # a .mat is a table or stimulus pairs
        asked.append(items)
        return next(i for i in items if i.startswith("stimulus-pairs")), True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(read_as))
    open_with_button(qapp, window, monkeypatch, datasets / relative)
    no_banner(window)
    view = window.view("data")
    seen = shown(view)
    if relative.endswith(".mat"):   # stimulus pairs: the gallery, voxels per subject, split sizes
        assert asked and any(i.startswith("continuous-table") for i in asked[0]), asked
        assert window.wb.data.spec.kind == "stimulus-pairs"
        assert seen["options"], "the stimulus-pair options are offered"
        view.options_form.edit("image_order", "F")   # MATLAB files store images column-major
        _settled(qapp, window, "the set read again")
        no_banner(window)
        assert window.wb.data.spec.options["image_order"] == "F"
        seen = shown(view)
        assert seen["current"] == "Stimuli" and not seen["eeg_controls"], seen
        assert view.stimuli.grid.n_shown > 0
        assert "voxels" in seen["summary"] and "train" in seen["summary"], seen["summary"]
    else:
        assert window.wb.data.recordings and seen["eeg_controls"], seen


def mne_format_files(root):
    """One source per file of mne-testing-formats (an .mff folder counts as a file)."""
    found = []
    for path in sorted((root / "mne-testing-formats").rglob("*")):
        if any(p.suffix == ".mff" for p in path.relative_to(root).parents) or path.name == "SOURCE.md":
            continue
        if path.suffix == ".mff" or path.is_file():
            found.append(path)
    return found


def test_every_mne_testing_format_file_opens_or_is_refused_clearly(qapp, window, datasets, monkeypatch):
    """Each file the file dialog offers opens; others (a sidecar such as .fdt or .vmrk) are
    refused with a message naming the file, never an unexpected error."""
    from data import sources

    opened, refused = [], []
    for path in mne_format_files(datasets):
        offered = _offered(sources, path)
        open_with_button(qapp, window, monkeypatch, path, folder=path.is_dir())
        text = window.error_text()
        assert "Unexpected error" not in text, (path, text)
        if offered:
            assert not text, (path, text)
            opened.append(path.name)
        else:
            assert not text or path.name in text, (path, text)
            refused.append(path.name)
    assert len(opened) >= 12, opened


def _offered(sources, path) -> bool:
    import fnmatch

    patterns = [p for k in sources.available() for p in k.extensions]
    return any(fnmatch.fnmatch(path.name.lower(), p.lower()) for p in patterns)


def test_abide_roi_folder(qapp, window, datasets, monkeypatch):
    open_with_button(qapp, window, monkeypatch, datasets / "abide-cc200" / "Caltech", folder=True)
    no_banner(window)
    view = window.view("data")
    seen = shown(view)
    assert window.wb.data.trials is not None and window.wb.data.trials.modality == "fmri-roi"
    assert seen["current"] == "fMRI" and not seen["eeg_controls"], seen
    assert "{" not in seen["summary"], seen["summary"]


def test_flint_feature_and_target_tables(qapp, window, datasets, monkeypatch):
    open_with_button(qapp, window, monkeypatch, datasets / "flint-run1", folder=True)
    no_banner(window)
    view = window.view("data")
    seen = shown(view)
    assert window.wb.data.trials.kind == "continuous"
    assert seen["current"] == "Features" and not seen["eeg_controls"], seen
    assert view.continuous.n_curves > 0


def test_haxby_nifti_with_its_options(qapp, window, datasets, monkeypatch):
    """The single-slice BOLD image needs its mask and per-volume labels: set in the source's
    option form, as a user types them; the set then loads and shows its slices."""
    open_with_button(qapp, window, monkeypatch, datasets / "haxby2001-sub001" / "single-slice" / "bold.nii.gz")
    view = window.view("data")
    assert view.options_box.isVisibleTo(view), "the NIfTI kind's options are offered"
    window.hide_error()
    view.options_form.edit("mask", "mask.nii.gz")
    view.options_form.edit("labels", "attributes_literal.txt")
    _settled(qapp, window, "the NIfTI set with its options")
    no_banner(window)
    data = window.wb.data.trials
    assert data is not None and data.modality == "fmri" and data.X.shape[1] == 530
    seen = shown(view)
    assert seen["current"] == "fMRI" and not seen["eeg_controls"], seen
    assert view.fmri.volume_plot.isVisibleTo(view.fmri)


def test_haxby_whole_brain_runs_folder(qapp, window, datasets, monkeypatch):
    """The 25 mm runs folder: the shipped example's options (pattern, mask, block samples) are
    suggested for it, shown in the option form, and the set opens with its slices."""
    open_with_button(qapp, window, monkeypatch, datasets / "haxby2001-sub001" / "sub001", folder=True)
    no_banner(window)
    view = window.view("data")
    assert view.options_box.isVisibleTo(view)
    assert view.options_form.editors["sample"].currentData() == "block"
    data = window.wb.data.trials
    assert data is not None and data.modality == "fmri" and len(set(data.run)) == 12
    assert shown(view)["current"] == "fMRI"
