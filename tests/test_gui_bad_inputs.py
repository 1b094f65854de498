"""The bad-input classes of issue 15 opened from the GUI: each shows a message in the window
naming the file, and the application keeps working (a good recording opens afterwards)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tests import bad_inputs as bad
from tests.simulated_mi import one_thread, simulate

pytestmark = pytest.mark.gui


@pytest.fixture()
def window(qtbot, tmp_path, monkeypatch):
    from app.gui.main_window import MainWindow

    monkeypatch.setenv("NEURODECK_SETTINGS", str(tmp_path / "settings.ini"))
    win = MainWindow()
    qtbot.addWidget(win)
    yield win
    win.close()


@pytest.fixture(scope="module")
def good_bundles(tmp_path_factory):
    from decoders.bundle import save_bundle
    from decoders.classical import CSPLDA

    folder = tmp_path_factory.mktemp("good-gui")
    with one_thread():
        X, y, _ = simulate(n_per_class=8, seed=3)
        csp = CSPLDA().fit(X, y)
    return {"folder": save_bundle(csp, folder / "csp", input_spec={}),
            "zip": save_bundle(csp, folder / "csp.zip", input_spec={})}


def _still_works(qtbot, window, tmp_path):
    """After the message, the window is alive and opens a good recording."""
    opened = []
    window.wb.source_opened.connect(opened.append)
    window.hide_error()
    window.wb.open(bad.edf(tmp_path, "good.edf"))
    qtbot.waitUntil(lambda: bool(opened or window.error_text()), timeout=60_000)
    assert opened and not window.error_text(), window.error_text()


def _open_and_expect(qtbot, window, path, *named):
    window.wb.open(path)
    qtbot.waitUntil(lambda: bool(window.error_text()), timeout=60_000)
    text = window.error_text()
    for part in (path.name, *named):
        assert part in text, text
    assert window.wb.data.source is None


RECORDINGS = {
    "absurd-sampling-rate": (lambda t: bad.edf(t, "fast.edf", duration="0.000001"), "1e+08 Hz"),
    "garbage": (lambda t: bad.text(t, "garbage.edf", b"not an edf" * 100), "EDF"),
    "truncated": (lambda t: bad.edf(t, "short.edf", truncate=100), "truncated"),
    "empty": (lambda t: bad.text(t, "empty.edf", b""), "empty"),
}


@pytest.mark.parametrize("kind", list(RECORDINGS))
def test_a_bad_recording_is_a_message_and_the_app_keeps_running(kind, qtbot, window, tmp_path):
    make, problem = RECORDINGS[kind]
    _open_and_expect(qtbot, window, make(tmp_path), problem)
    _still_works(qtbot, window, tmp_path)


def test_an_unreadable_recording_is_a_message(qtbot, window, tmp_path, monkeypatch):
    import data.readers

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data.readers, "_read", denied)
    _open_and_expect(qtbot, window, bad.edf(tmp_path, "locked.edf"), "permission denied")
    monkeypatch.undo()
    _still_works(qtbot, window, tmp_path)


BUNDLES = {
    "manifest-field-of-the-wrong-type": (lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m.update(decoder=["csp-lda"])), "'decoder'"),
    "weights-other-shapes-resigned": (lambda t, g: bad.resigned(
        g["folder"], t, "b", lambda a: a.update({"csp.filters": a["csp.filters"][:, :3]})), "csp.filters"),
    "nan-weights-resigned": (lambda t, g: bad.resigned(
        g["folder"], t, "b", lambda a: a.update({"clf.coef": a["clf.coef"] * np.nan})), "NaN"),
    "corrupt-zip": (lambda t, g: bad.corrupt_zip(g["zip"], t), "not a readable bundle"),
    "pickle-posing-as-bundle": (lambda t, g: bad.pickle_bundle(t), "not a NeuroDeck bundle"),
}


@pytest.mark.parametrize("kind", list(BUNDLES))
def test_exporting_a_bad_bundle_is_a_message(kind, qtbot, window, tmp_path, good_bundles):
    make, problem = BUNDLES[kind]
    source = make(tmp_path, good_bundles)
    _export_and_expect(qtbot, window, source, tmp_path / "out.zip", source.name, problem)
    assert not (tmp_path / "out.zip").exists()
    _still_works(qtbot, window, tmp_path)


def test_exporting_under_an_existing_file_is_a_message(qtbot, window, tmp_path, good_bundles):
    blocker = bad.text(tmp_path, "a-file", "x")
    _export_and_expect(qtbot, window, good_bundles["folder"], blocker / "out.zip", "a-file")
    _still_works(qtbot, window, tmp_path)


def _export_and_expect(qtbot, window, source, destination, *named):
    results = window.show_step("results")
    results.export(SimpleNamespace(name=source.name, path=source), destination)
    qtbot.waitUntil(lambda: bool(window.error_text()), timeout=60_000)
    text = window.error_text()
    assert "Cannot export the decoder" in text
    for part in named:
        assert part in text, text


def test_an_alias_bomb_typed_into_a_parameter_field_is_refused(qtbot, window):
    from app.gui.param_form import parse_text

    value = parse_text(bad.ALIAS_BOMB)   # refused by the safe parser: stays the typed text
    assert value == bad.ALIAS_BOMB.strip()
    model = window.wb.decoder
    model.set_decoder("csp-lda") if hasattr(model, "set_decoder") else model.choose("csp-lda")
    assert not model.set_param("n_components", value) and "n_components" in model.errors
