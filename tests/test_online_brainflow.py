"""A BrainFlow synthetic board decoded online with sliding windows (skipped without brainflow)."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

pytest.importorskip("brainflow", reason="brainflow is an optional extra (neurodeck[brainflow])")

from app.cli import main  # noqa: E402
from app.online.brainflow import BrainFlowInput  # noqa: E402
from app.online.session import ClassificationSession  # noqa: E402
from app.workspace import list_runs  # noqa: E402
from data.errors import InputError  # noqa: E402
from decoders.bundle import load_bundle  # noqa: E402


def test_synthetic_board_is_decoded_with_sliding_windows(tmp_path, datasets):
    config = {"name": "bf", "decoder": {"name": "csp-lda", "params": {"n_components": 2}},
              "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                          "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 1.5],
                          "preprocessing": {"picks": ["C3", "Cz", "C4"], "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs")}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(tmp_path / "exp.yaml")]) == 0
    decoder, manifest = load_bundle(list_runs(tmp_path / "runs")[0].path / "model")
    source = BrainFlowInput("synthetic")
    try:
        with pytest.raises(InputError, match="markers"):
            ClassificationSession(None, source, mode="events", decoder=decoder, manifest=manifest)
        session = ClassificationSession(None, source, mode="sliding", step_ms=200, decoder=decoder,
                                        manifest=manifest, stall_s=10.0)
        decisions = []
        for event in session.iter_events(duration=120):
            if event["kind"] == "decision":
                decisions.append(event)
                if len(decisions) >= 5:
                    break
    finally:
        source.close()
    assert len(decisions) == 5 and {d["pred"] for d in decisions} <= {"left", "right"}
    assert all(np.isclose(sum(d["proba"]), 1.0) for d in decisions)
    assert session.prep.ch_names == ["C3", "Cz", "C4"] and "Fz" in session.prep.ignored
    assert np.all(np.diff([d["window_start"] for d in decisions]) == 50)   # 200 ms at 250 Hz
