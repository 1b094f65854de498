"""The Data view's ERP tab on the BCI2000 speller set: class averages, the difference, the
signed r² map and topomaps at the difference's peaks; shown for ERP sets only."""
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
    # topomaps at the peaks of target - nontarget (the P300 lies 0.25-0.5 s after the flash)
    assert len(pane.topo_times) == 3 and pane.topo_canvas.isVisibleTo(pane)
    assert all(0 <= t < 0.8 for t in pane.topo_times) and any(0.25 <= t <= 0.5 for t in pane.topo_times)
    assert len(pane.topo_figure.axes) == 4 and "standard 10-05 positions" in pane.topo_note.text()
    pane.channel_box.setCurrentIndex(0)
    assert pane.erp_plot.plotItem.titleLabel.text.endswith("Fz")
    pane.grab().save(str(tmp_path / "erp_pane.png"))
    assert (tmp_path / "erp_pane.png").stat().st_size > 10_000
    renamed = data.subset(np.arange(len(data)))
    renamed.ch_names = [f"Ch{k + 1}" for k in range(8)]   # as the oddball file names them: no positions
    pane.set_data(renamed)
    assert pane.topo_times == [] and not pane.topo_canvas.isVisibleTo(pane)
    assert "channel positions unknown" in pane.topo_note.text()
    motor = data.subset(np.arange(10))
    motor.paradigm = "motor-imagery"
    pane.set_data(motor)
    assert pane.data is None and not pane.erp_plot.listDataItems()


def test_peak_latencies_are_the_largest_separated_peaks_in_time_order():
    from app.gui.erp_panes import peak_latencies

    times = np.arange(100) / 100.0
    bumps = sum(h * np.exp(-((times - t) / 0.02) ** 2) for h, t in ((1.0, 0.3), (3.0, 0.5), (2.0, 0.7), (0.5, 0.1)))
    diff = np.vstack([bumps, -bumps])
    assert peak_latencies(diff, times) == [30, 50, 70]
    assert peak_latencies(diff, times, n=1) == [50]
    assert peak_latencies(np.vstack([times, times]), times) == [99]   # no local maximum: the largest value
