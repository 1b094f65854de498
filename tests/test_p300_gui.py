"""The Data view's ERP tab on the BCI2000 speller set: class averages, the difference and the
signed r² map; shown for ERP sets only."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("BCI2000Tools")
pytest.importorskip("PySide6")
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "bci2000"
pytestmark = pytest.mark.skipif(not (DATA / "eeg3_1.dat").is_file(), reason="BCI2000 sample files not present")


def test_erp_pane_draws_the_speller_set(tmp_path):
    from PySide6.QtWidgets import QApplication

    from app.gui.erp_panes import ErpPane
    from data import sources
    from data.spec import DatasetSpec

    app = QApplication.instance() or QApplication([])
    data = sources.load(DatasetSpec.model_validate(dict(
        source=str(DATA), kind="bci2000", runs=["eeg3_1"], cache=False, options={"paradigm": "speller"})))
    pane = ErpPane()
    pane.resize(900, 700)
    assert not pane.applies_to(None)
    pane.set_data(data)
    pane.show()
    app.processEvents()
    assert pane.applies_to(data) and pane.channel_box.count() == 8
    names = [item.name() for item in pane.erp_plot.listDataItems()]
    assert names == ["nontarget", "target", "target − nontarget"]
    assert pane.r2_image.image.shape == (len(data.times), 8)
    assert "largest r²" in pane.note.text()
    pane.channel_box.setCurrentIndex(0)
    assert pane.erp_plot.plotItem.titleLabel.text.endswith("Fz")
    pane.grab().save(str(tmp_path / "erp_pane.png"))
    assert (tmp_path / "erp_pane.png").stat().st_size > 10_000
    motor = data.subset(np.arange(10))
    motor.paradigm = "motor-imagery"
    pane.set_data(motor)
    assert pane.data is None and not pane.erp_plot.listDataItems()
