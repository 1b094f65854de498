"""Workflow views and decoders added through the public registration only appear where users
meet them: a toy view in the workflow bar (built on first use, with its own shortcut and
step note), a toy decoder in the Decoder view's list."""
from __future__ import annotations

import importlib.metadata

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

pytestmark = pytest.mark.gui


def _toy_view(window):
    label = QLabel(f"toy view over {window.wb.data.source or 'nothing'}")
    label.setObjectName("toyView")
    return label


@pytest.fixture()
def toy_view():
    from app.gui import views

    entry = views.ViewEntry("toy", "Toy", _toy_view, lambda w: "a plug-in view", "A view from a plug-in")
    views.register_view(entry)
    yield entry
    views.unregister_view("toy")


def test_a_view_registered_publicly_appears_in_the_workflow_bar(qtbot, settings_file, toy_view):
    from app.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: bool(window.wb.decoder.entries), timeout=60000)
    keys = [window.steps.item(i).data(Qt.UserRole) for i in range(window.steps.count())]
    assert keys == ["data", "decoder", "train", "results", "online", "toy"]
    item = window.steps.item(keys.index("toy"))
    assert item.text() == "Toy\na plug-in view"
    assert "toy" not in window.views or window.views["toy"].objectName() == "toyView"
    window.steps.setCurrentRow(keys.index("toy"))
    widget = window.stack.currentWidget()
    assert widget.objectName() == "toyView" and "toy view over nothing" in widget.text()
    assert window.current_step() == "toy"
    shortcuts = {a.text(): a.shortcut().toString() for a in window.actions()}
    assert shortcuts["Toy"] == "Ctrl+6"
    window.close()


def test_register_view_before_an_existing_step_and_refuse_other_objects(toy_view):
    from app.gui import views

    views.register_view(views.ViewEntry("toy", "Toy", _toy_view), before="online")
    assert [e.key for e in views.available_views()][-2:] == ["toy", "online"]
    with pytest.raises(TypeError, match="ViewEntry"):
        views.register_view(("toy", "Toy"))


def test_views_from_the_entry_point_group(monkeypatch):
    from app.gui import views

    entry = views.ViewEntry("ep-toy", "EP toy", _toy_view)

    class FakeEntryPoint:
        def load(self):
            return entry

    monkeypatch.setattr(views, "_plugins_loaded", False)
    monkeypatch.setattr(views, "entry_points",
                        lambda group: [FakeEntryPoint()] if group == "neurodeck.views" else [])
    try:
        assert "ep-toy" in [e.key for e in views.available_views()]
    finally:
        views.unregister_view("ep-toy")
    assert importlib.metadata  # the real lookup is importlib.metadata.entry_points


def test_a_decoder_registered_publicly_is_in_the_decoder_view(qtbot, settings_file):
    import decoders
    from app.gui.main_window import MainWindow
    from tests.test_estimators import NearestMeanPower

    decoders.register("toy-nearest-mean", NearestMeanPower)
    try:
        window = MainWindow()
        qtbot.addWidget(window)
        view = window.show_step("decoder")
        qtbot.waitUntil(lambda: view.list.item(0).data(Qt.UserRole) is not None, timeout=60000)
        names = [view.list.item(i).data(Qt.UserRole) for i in range(view.list.count())]
        texts = [view.list.item(i).text() for i in range(view.list.count())]
        assert "toy-nearest-mean" in names
        assert any(t.startswith("toy-nearest-mean\nToy: nearest class mean") for t in texts)
        view.choose("toy-nearest-mean")
        assert window.wb.decoder.name == "toy-nearest-mean"
        window.close()
    finally:
        decoders.unregister("toy-nearest-mean")
