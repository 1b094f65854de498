"""GUI pieces without a training run: the signal browser, the schema-built form, the
epochs statistics, the reconstruction pane, settings, errors, the `gui` command."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


# ------------------------------------------------------------------- signal browser
def test_minmax_decimation_keeps_every_extreme():
    from app.gui.signal_browser import minmax_decimate

    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 10_007)).astype(np.float32)
    data[1, 5_003] = 40.0  # a spike must survive decimation
    x, env = minmax_decimate(data, 500)
    assert env.shape[1] <= 2 * 500 + 2 and len(x) == env.shape[1]
    assert env.max() == 40.0 and np.allclose(env.max(axis=1), data.max(axis=1))
    assert np.allclose(env.min(axis=1), data.min(axis=1))
    assert np.all(np.diff(x) >= 0) and x[-1] < data.shape[1]
    short = data[:, :800]
    x, env = minmax_decimate(short, 500)
    assert np.array_equal(env, short)


def test_browser_draws_only_the_visible_window_of_an_hour(qtbot):
    from app.gui.signal_browser import ArraySource, SignalBrowser

    sfreq, n_ch = 160.0, 64
    data = np.random.default_rng(1).standard_normal((n_ch, int(3600 * sfreq))).astype(np.float32) * 20
    events = [(float(t), "T1" if t % 8 else "T2") for t in range(2, 3600, 4)]
    browser = SignalBrowser()
    qtbot.addWidget(browser)
    browser.resize(1200, 700)
    browser.show()
    browser.set_source(ArraySource(data, sfreq, [f"EEG{i:02d}" for i in range(n_ch)], events=events))
    browser.set_page_size(32)
    assert browser.visible_channels() == [f"EEG{i:02d}" for i in range(32)]
    width = int(browser.plot.getViewBox().width())
    assert 0 < browser.last_points <= 32 * 2 * (max(width, 200) + 1)
    browser.set_view(start_s=1800, duration_s=20)
    assert browser.start_s == 1800
    drawn_x = browser.curve.xData
    assert np.nanmin(drawn_x) >= 1800 - 1 / sfreq and np.nanmax(drawn_x) <= 1820 + 1 / sfreq
    visible_labels = [label for label in browser._event_labels if label.isVisible()]
    assert len(visible_labels) == 5  # events at 1802, 1806, ..., 1818
    browser.scroll(1.0)
    assert browser.start_s == pytest.approx(1820)
    browser.set_view(start_s=10_000)  # clamped to the end
    assert browser.start_s == pytest.approx(3600 - 20)
    browser.page(1)
    assert browser.visible_channels()[0] == "EEG32"
    spacing = browser.spacing
    browser.scale_by(0.5)
    assert browser.spacing == pytest.approx(spacing / 2)


def test_clicking_a_trace_marks_its_channel_bad(qtbot):
    from PySide6.QtCore import QPointF, Qt

    from app.gui.signal_browser import ArraySource, SignalBrowser

    data = np.random.default_rng(2).standard_normal((8, 1600)).astype(np.float32)
    browser = SignalBrowser()
    qtbot.addWidget(browser)
    browser.resize(900, 500)
    browser.show()
    qtbot.waitExposed(browser)
    browser.set_source(ArraySource(data, 160.0, [f"C{i}" for i in range(8)]))
    toggled = []
    browser.bad_toggled.connect(toggled.append)
    view = browser.plot.getViewBox()
    scene_point = view.mapViewToScene(QPointF(5.0, -3.0))  # on the 4th trace
    widget_point = browser.plot.mapFromScene(scene_point)
    qtbot.mouseClick(browser.plot.viewport(), Qt.LeftButton, pos=widget_point)
    assert toggled == ["C3"] and browser.bads == {"C3"}
    assert browser.bad_curve.yData is not None and len(browser.bad_curve.yData) > 0
    browser.toggle_bad("C3")
    assert browser.bads == set()


# ----------------------------------------------------------------- decoder form
def test_form_follows_the_decoder_schema(qtbot):
    from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

    from app.gui.models import DecoderModel, describe_params
    from app.gui.param_form import ParamForm
    from decoders.simpleconv import EEGSimpleConv

    fields = {f.name: f for f in describe_params(EEGSimpleConv.Params)}
    assert fields["epochs"].kind == "int" and fields["epochs"].minimum == 0
    assert fields["schedule"].kind == "choice" and "cosine" in fields["schedule"].choices
    assert fields["resample_hz"].optional and fields["resample_hz"].exclusive_min
    form = ParamForm()
    qtbot.addWidget(form)
    model = DecoderModel()
    model.load_entries()
    model.choose("eeg-simpleconv")
    form.set_fields(model.fields, model.values)
    assert isinstance(form.editors["epochs"], QSpinBox) and form.editors["epochs"].minimum() == 0
    assert isinstance(form.editors["lr"], QDoubleSpinBox) and form.editors["lr"].minimum() > 0
    assert isinstance(form.editors["mixup"], QCheckBox)
    assert isinstance(form.editors["schedule"], QComboBox)
    assert isinstance(form.editors["grad_clip"], QLineEdit)
    assert "Training epochs." in form.editors["epochs"].toolTip()
    assert model.preset == "quick" and model.values["filters"] == 32   # the quick default (issue 20)
    model.apply_preset("cross-subject")
    assert model.values["n_blocks"] == 4 and model.values["batch_size"] == 288
    assert model.set_param("epochs", 3) and model.overrides() == {"epochs": 3}
    assert not model.set_param("lr", -1.0) and "lr" in model.errors
    from data.errors import InputError
    from data.spec import DatasetSpec

    with pytest.raises(InputError, match="lr"):
        model.experiment_config(DatasetSpec(source="demo:motor-imagery"), "runs")
    assert model.set_param("lr", 0.01)
    config = model.experiment_config(DatasetSpec(source="demo:motor-imagery"), "runs")
    assert config["decoder"] == {"name": "eeg-simpleconv", "preset": "cross-subject",
                                 "params": {"epochs": 3, "lr": 0.01}}
    from app.experiment import ExperimentConfig

    ExperimentConfig.model_validate(config)


def test_evaluation_options_follow_the_protocol():
    from app.gui.models import DecoderModel
    from data.errors import InputError

    model = DecoderModel()
    assert {f.name for f in model.evaluation_fields()} == {"n_folds", "within"}
    model.set_evaluation(n_folds=3)
    model.set_evaluation(protocol="loso")
    assert model.evaluation_config() == {"protocol": "loso"}  # n_folds is not a loso option
    model.set_evaluation(protocol="kfold")
    assert model.evaluation_config() == {"protocol": "kfold", "n_folds": 3}
    with pytest.raises(InputError, match="n_folds"):
        model.set_evaluation(n_folds=1)


# ------------------------------------------------------------------- epochs stats
def _two_class_trials(n=60, sfreq=160.0, seconds=2.0, seed=0):
    """Class 1 has less 10 Hz power on channel 0 (an ERD), class 0 the full rhythm."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sfreq * seconds)) / sfreq
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, 3, t.size))
    amplitude = np.where(y == 1, 0.5, 3.0)[:, None]
    X[:, 0] += amplitude * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    return X, y, sfreq, t


def test_signed_r2_erd_and_psd_show_the_known_difference():
    from data import spectra

    X, y, sfreq, t = _two_class_trials()
    freqs, r2 = spectra.signed_r2(X, y, sfreq)
    at10 = np.argmin(np.abs(freqs - 10))
    assert r2[0, at10] < -0.5  # class 1 has much less 10 Hz power on channel 0
    assert np.abs(r2[1:, at10]).max() < 0.2  # the other channels do not separate
    course, reference = spectra.erd_ers(X, y, sfreq, (8, 12), t)
    assert reference == "mean of all trials"
    assert course[1, 0].mean() < -50 and course[0, 0].mean() > 50
    freqs, psd = spectra.psd_per_class(X, y, sfreq)
    assert psd[0, 0, at10] - psd[1, 0, at10] > 10  # dB


def test_epochs_view_draws_each_mode(qtbot):
    from app.gui.epochs_view import MODES, EpochsView
    from data.decoding_set import DecodingSet

    X, y, sfreq, t = _two_class_trials()
    trials = DecodingSet(X=X.astype(np.float32), y=y, kind="trials", modality="eeg", subject="1", session="1",
                         run="1", sfreq=sfreq, ch_names=["C3", "Cz", "C4"], class_names=["left", "right"], times=t)
    view = EpochsView()
    qtbot.addWidget(view)
    view.set_trials(trials)
    assert view.channel_box.currentText() == "C3"
    for mode in MODES:
        view.mode_box.setCurrentText(mode)
        assert "trials" in view.status.text() or "ERD" in view.status.text()
    assert "C3" in view.status.text() and "10 Hz" in view.status.text()  # the strongest cell of the map
    assert view.map_image.image is not None
    assert view.topo_label.pixmap().isNull() and "no positions" in view.topo_label.text()  # no montage given


def test_r2_scalp_map_of_the_motor_imagery_demo_is_contralateral(qtbot):
    """Demo subject 1: the best band is mu/beta and left vs right imagery flips the sign
    between C3 and C4 (contralateral ERD); the view draws the scalp map beside the r² map."""
    from data import spectra
    from app.gui.epochs_view import MODES, EpochsView
    from data.loading import load_dataset
    from data.sources import open_for_browsing

    trials = load_dataset({"source": "demo:motor-imagery", "subjects": ["1"]})
    info = open_for_browsing("demo:motor-imagery", subjects=["1"])[0].raw.info
    freqs, r2 = spectra.signed_r2(trials.X, np.asarray(trials.y), trials.sfreq)
    band, values, placed = spectra.r2_band_topography(r2, freqs, info, trials.ch_names)
    assert 8 <= (band[0] + band[1]) / 2 <= 30 and band[1] - band[0] == pytest.approx(4)  # peak ± 2 Hz in mu/beta
    assert 6 <= band[0] and band[1] <= 32
    c3, c4 = values[trials.ch_names.index("C3")], values[trials.ch_names.index("C4")]
    assert c3 * c4 < 0 and min(abs(c3), abs(c4)) > 0.02
    assert placed == list(trials.ch_names)
    png = spectra.topomap_png(values, trials.ch_names, info, band)
    assert png.startswith(b"\x89PNG")

    view = EpochsView()
    qtbot.addWidget(view)
    view.set_info(info)
    view.set_trials(trials)
    view.mode_box.setCurrentText(MODES[2])
    assert view.topo_band == band and np.allclose(view.topo_values, values)
    assert not view.topo_label.pixmap().isNull() and view.topo_label.pixmap().width() > 100


# --------------------------------------------------------------- reconstruction
def test_reconstruction_pane_shows_each_view(qtbot):
    from app.gui.reconstruction import ReconstructionPane
    from decoders.events import ImageReconstruction, SignalReconstruction, TrajectoryReconstruction

    pane = ReconstructionPane()
    qtbot.addWidget(pane)
    rng = np.random.default_rng(0)
    pane.show_event(ImageReconstruction(fold=0, truth=rng.random((10, 28, 28)), decoded=rng.random((10, 28, 28))))
    assert pane.stack.currentWidget() is pane.images and pane.images.n_shown == 8
    mask = np.zeros(200, bool)
    mask[50:80] = True
    pane.show_event(SignalReconstruction(truth=np.sin(np.arange(200) / 9), decoded=np.cos(np.arange(200) / 9),
                                         mask=mask))
    assert pane.stack.currentWidget() is pane.signal and len(pane.signal.listDataItems()) == 2
    pane.show_event(TrajectoryReconstruction(truth=rng.random((100, 2)), decoded=rng.random((100, 2)),
                                             target_names=["vx", "vy"]))
    # true and decoded for each of the two targets, the last 400 samples of 100
    assert pane.stack.currentWidget() is pane.trajectory and len(pane.trajectory.listDataItems()) == 4
    assert all(len(item.xData) == 100 for item in pane.trajectory.listDataItems())
    assert pane.current == "trajectory"


# ------------------------------------------------------------ window, settings, errors
def test_settings_persist_across_restarts(qtbot, settings_file, tmp_path):
    from app.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.resize(1240, 760)
    window.set_theme("dark")
    window.wb.set_device("cpu")
    window.wb.set_runs_dir(tmp_path / "my-runs")
    window.wb.settings.last_folder = tmp_path
    window.show_step("results")
    size = window.size()
    window.close()

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    assert again.wb.settings.theme == "dark" and again.dark_action.isChecked()
    assert again.wb.decoder.device == "cpu" and "CPU" in again.device_label.text()
    assert again.wb.runs_dir == tmp_path / "my-runs"
    assert again.wb.settings.last_folder == str(tmp_path)
    assert again.current_step() == "results"
    # the layout comes back (the offscreen screen may clamp the width; the height is kept)
    assert again.size().height() == size.height() == 760
    again.set_theme("light")
    again.close()


def test_bad_input_becomes_a_message_in_the_window(qtbot, settings_file, tmp_path):
    from app.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.wb.open(tmp_path / "missing.edf")
    assert "missing.edf" in window.error_text() and "no such file" in window.error_text()
    broken = tmp_path / "broken.edf"
    broken.write_bytes(b"0       not an EDF header at all")
    window.hide_error()
    window.wb.open(broken)
    qtbot.waitUntil(lambda: bool(window.error_text()), timeout=60_000)
    assert "broken.edf" in window.error_text()
    assert window.wb.data.source is None  # nothing half-loaded
    assert not window.start_training()  # no data: says so instead of starting
    assert "Choose data first" in window.error_text()
    window.close()


def test_gui_command_without_a_display_points_to_the_headless_command(monkeypatch, capsys):
    from app.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["gui"]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "neurodeck run resources/experiments/demo-motor-imagery-simpleconv.yaml" in err


def test_dropping_a_real_recording_then_mapping_classes_and_marking_bads(qtbot, settings_file, datasets):
    """An EEGBCI run dropped on the window: summary, class mapping with counts at once, a
    bad channel left out of what training gets."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from app.gui.main_window import MainWindow

    edf = datasets / "eegbci" / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / "S001" / "S001R04.edf"
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(edf))])
    window.dropEvent(QDropEvent(QPointF(300, 300), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    qtbot.waitUntil(lambda: bool(window.wb.data.recordings or window.error_text()), timeout=60_000)
    assert not window.error_text(), window.error_text()
    view = window.view("data")
    assert "64 eeg" in view.summary.text() and "160 Hz" in view.summary.text()
    assert "T1 ×" in view.summary.text() and "T2 ×" in view.summary.text()
    assert set(window.wb.data.trial_counts) == {"T0", "T1", "T2"}
    # Leave the rest events out and name the two imagery classes: counts follow at once.
    rows = {view.classes.item(r, 0).text(): r for r in range(view.classes.rowCount())}
    view.classes.item(rows["T0"], 1).setText("")
    view.classes.item(rows["T1"], 1).setText("left")
    view.classes.item(rows["T2"], 1).setText("right")
    assert window.wb.data.spec.events == {"T1": "left", "T2": "right"}
    counts = window.wb.data.trial_counts
    events = window.wb.data.content.summary["events"]
    assert counts == {"left": events["T1"], "right": events["T2"]}  # every T1/T2 fits in 0-3 s
    assert counts["left"] + counts["right"] == 15  # 15 imagery trials per EEGBCI run
    assert view.counts.text() == f"left {counts['left']}  ·  right {counts['right']}"
    # A window longer than the recording allows for the last events drops them at once.
    view.tmax_box.setValue(20.0)
    view.apply_controls()
    assert sum(window.wb.data.trial_counts.values()) < 15
    # Mark a channel bad in the browser: training picks leave it out.
    first = view.browser.visible_channels()[0]
    view.browser.toggle_bad(first)
    assert window.wb.data.bads == {first}
    picks = window.wb.data.run_spec().preprocessing.picks
    assert first not in picks and len(picks) == 63
    window.close()
