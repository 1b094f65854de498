"""Online classification on loopback LSL: a replayed eegbci run decoded event-locked and with
sliding windows equals the offline decoding of the same windows; stream loss; bad channels."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from app.cli import main
from app.online.replay import open_recording
from app.online.session import ClassificationSession, SessionLog
from app.online.stream import StreamInput
from app.online.windows import sliding_windows_offline
from app.workspace import list_runs
from decoders.bundle import load_bundle
from decoders.evaluation import predict_with_proba

MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]
RUN4 = "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf"


def train_bundle(folder: Path, datasets: Path, decoder: dict) -> Path:
    config = {"name": "s1-online", "decoder": decoder,
              "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                          "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(folder / "runs")}}
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path)]) == 0
    (info,) = list_runs(folder / "runs")
    return info.path / "model"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, datasets):
    """csp-lda trained on subject 1's other imagery runs (8, 12)."""
    return train_bundle(tmp_path_factory.mktemp("online-cls"), datasets, {"name": "csp-lda"})


def read_log(folder: Path) -> list[dict]:
    with open(folder / "log.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_event_locked_replay_equals_predict(bundle, datasets, tmp_path, capsys):
    assert_online_equals_predict(bundle, datasets, tmp_path)
    assert "accuracy" in capsys.readouterr().err


def test_event_locked_simpleconv_equals_predict(datasets, tmp_path):
    bundle = train_bundle(tmp_path, datasets, {"name": "eeg-simpleconv", "params": {"epochs": 2}})
    assert_online_equals_predict(bundle, datasets, tmp_path)


def assert_online_equals_predict(bundle, datasets, tmp_path):
    run4 = str(datasets / RUN4)
    session = tmp_path / "session"
    assert main(["online", str(bundle), "--replay", run4, "--speed", "10", "--out", str(session)]) == 0
    assert main(["predict", str(bundle), run4, "--out", str(tmp_path / "pred.csv")]) == 0
    with open(tmp_path / "pred.csv", encoding="utf-8") as f:
        offline = list(csv.DictReader(f))
    rows = read_log(session)
    online = [r for r in rows if r["kind"] == "decision"]
    assert len(offline) == 15 and len(online) == len(offline)
    assert [r["pred"] for r in online] == [r["pred"] for r in offline]
    assert [r["true"] for r in online] == [r["true"] for r in offline]
    for c in ("p_left", "p_right"):
        np.testing.assert_allclose([float(r[c]) for r in online], [float(r[c]) for r in offline],
                                   rtol=1e-4, atol=1e-6)   # predict writes 6 significant digits
    raw = open_recording(run4)
    assert [r["marker"] for r in rows if r["kind"] == "marker"] == list(raw.annotations.description)
    assert all(float(r["latency_ms"]) >= 0 for r in online)
    settings = json.loads((session / "settings.json").read_text())
    assert settings["decoder"] == load_bundle(bundle)[1]["decoder"] and len(settings["bundle_sha256"]) == 64
    assert settings["channels_used"] == MOTOR and "Fp1" in settings["channels_ignored"]


def test_sliding_windows_equal_offline_pass(bundle, datasets):
    decoder, manifest = load_bundle(bundle)
    run4 = str(datasets / RUN4)
    raw = open_recording(run4).crop(0, 30)
    player = start_replay_raw(raw)
    source = StreamInput(player.name, markers=player.marker_name)
    try:
        session = ClassificationSession(None, source, mode="sliding", step_ms=500, decoder=decoder,
                                        manifest=manifest)
        events = list(session.iter_events(stop=lambda: not player.running and session.idle_s > 1.0))
    finally:
        source.close()
        player.stop()
    decisions = [e for e in events if e["kind"] == "decision"]
    starts = np.array([e["window_start"] for e in decisions])
    assert len(decisions) >= 40 and np.all(np.diff(starts) == 80)   # 500 ms at 160 Hz
    X = sliding_windows_offline(raw, session.prep, starts)
    y, proba, _ = predict_with_proba(decoder, X)
    assert [e["class_index"] for e in decisions] == [int(v) for v in y]
    np.testing.assert_allclose([e["proba"] for e in decisions], proba, rtol=1e-6, atol=1e-9)


def start_replay_raw(raw, **kwargs):
    from app.online.replay import ReplayPlayer
    import uuid

    return ReplayPlayer(raw, name=f"nd-test-{uuid.uuid4().hex[:8]}", speed=10, wait_s=20,
                        **kwargs).start()


def test_stream_loss_is_reported_recovered_and_the_log_stays_complete(bundle, datasets, tmp_path):
    decoder, manifest = load_bundle(bundle)
    raw = open_recording(str(datasets / RUN4)).crop(0, 40)
    player = start_replay_raw(raw)
    name, source_id = player.name, player._source_id
    source = StreamInput(name, markers=player.marker_name)
    session = ClassificationSession(None, source, mode="sliding", step_ms=250, decoder=decoder,
                                    manifest=manifest, stall_s=3.0, reconnect_s=5.0)
    log = SessionLog(tmp_path / "s", {"test": True}, session.class_names)
    seen, players = [], [player]
    try:
        for event in session.iter_events(duration=120):
            log.write(event)
            seen.append(event)
            n_dec = sum(e["kind"] == "decision" for e in seen)
            if n_dec == 10 and len(players) == 1 and players[0].running:
                players[0].stop()                     # the stream goes away mid-session
            if event.get("status") == "lost" and len(players) == 1:
                players.append(start_again(raw, name, source_id))   # it comes back (same source)
            # the second replay ends by itself: gone for good, the session must stop
    finally:
        log.close()
        source.close()
        for p in players:
            if p.running:
                p.stop()
    statuses = [e.get("status") for e in seen if e["kind"] == "status"]
    assert statuses[0] == "connected" and "lost" in statuses and "recovered" in statuses
    assert statuses[-1] == "stopped" and seen[-1]["reason"] == "stream lost"
    rows = read_log(tmp_path / "s")
    assert len(rows) == len(seen) and [r["kind"] for r in rows] == [e["kind"] for e in seen]
    first_loss = next(i for i, e in enumerate(seen) if e.get("status") == "lost")
    assert sum(e["kind"] == "decision" for e in seen[:first_loss]) >= 10
    assert sum(e["kind"] == "decision" for e in seen[first_loss:]) > 0


def start_again(raw, name, source_id):
    from app.online.replay import ReplayPlayer

    return ReplayPlayer(raw, name=name, source_id=source_id, speed=10, wait_s=20).start()


def test_missing_channels_are_refused_by_name(bundle, datasets, tmp_path, capsys):
    raw = open_recording(str(datasets / RUN4)).crop(0, 10).drop_channels(["C3", "Cz"])
    fif = tmp_path / "no-c3_raw.fif"
    raw.save(fif)
    assert main(["online", str(bundle), "--replay", str(fif), "--speed", "10"]) == 2
    err = capsys.readouterr().err
    assert "C3" in err and "Cz" in err and "LSL stream" in err


def test_calibration_recording_holds_the_stream_and_its_markers(datasets, tmp_path):
    from app.online.record import record_events

    raw = open_recording(str(datasets / RUN4)).crop(0, 20)
    player = start_replay_raw(raw)
    source = StreamInput(player.name, markers=player.marker_name)
    try:
        events = list(record_events(source, tmp_path / "calib_raw.fif", stall_s=2.0))
    finally:
        source.close()
        player.stop()
    assert events[-1]["kind"] == "saved" and events[-1]["n_samples"] == raw.n_times
    saved = open_recording(str(tmp_path / "calib_raw.fif"))
    assert saved.ch_names == raw.ch_names and saved.info["sfreq"] == raw.info["sfreq"]
    np.testing.assert_allclose(saved.get_data(), raw.get_data(), rtol=1e-6, atol=1e-12)
    assert list(saved.annotations.description) == list(raw.annotations.description)
    np.testing.assert_allclose(saved.annotations.onset, raw.annotations.onset, atol=0.5 / 160)


def test_adaptive_recentring_aligns_each_window_on_the_windows_seen_so_far(datasets, tmp_path):
    from data.alignment import reference_matrix
    from data.errors import InputError

    config = {"name": "ea", "decoder": {"name": "csp-lda"},
              "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                          "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0], "align": "session"}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs")}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(tmp_path / "exp.yaml")]) == 0
    decoder, manifest = load_bundle(list_runs(tmp_path / "runs")[0].path / "model")
    raw = open_recording(str(datasets / RUN4)).crop(0, 60)
    player = start_replay_raw(raw)
    source = StreamInput(player.name, markers=player.marker_name)
    try:
        with pytest.raises(InputError, match="--adapt"):
            ClassificationSession(None, source, decoder=decoder, manifest=manifest)
        session = ClassificationSession(None, source, decoder=decoder, manifest=manifest, adapt=True)
        events = list(session.iter_events(stop=lambda: not player.running and session.idle_s > 1.0))
    finally:
        source.close()
        player.stop()
    decisions = [e for e in events if e["kind"] == "decision"]
    assert len(decisions) >= 5
    plain = session.prep.__class__(manifest["input"] | {"preprocessing": {
        **manifest["input"]["preprocessing"], "align": "none"}}, raw.ch_names, 160.0)
    X = sliding_windows_offline(raw, plain, np.array([e["window_start"] for e in decisions]))
    aligned = np.stack([reference_matrix(X[:k + 1]) @ X[k] for k in range(len(X))]).astype(np.float32)
    y, proba, _ = predict_with_proba(decoder, aligned)
    assert [e["class_index"] for e in decisions] == [int(v) for v in y]
    np.testing.assert_allclose([e["proba"] for e in decisions], proba, rtol=1e-4, atol=1e-6)
