"""Sweeps on the shared EEGBCI subjects: expansion, local and Ray executors giving the same
metrics, SIGKILL then resume, a failing run recorded, and the HTML report against metrics.json."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from app.sweeps import SweepError, expand, finished_runs, load_sweep, parse_sweep, run_status, run_sweep

REPO = Path(__file__).resolve().parents[1]
QUICK = REPO / "resources" / "experiments" / "sweep-eegbci-quick.yaml"
CSP_BASE = REPO / "resources" / "experiments" / "eegbci-csp-lda.yaml"


def _spec(datasets, **axes):
    """A small csp-lda sweep on the shared EEGBCI recordings (imagery runs, 2 folds, no model)."""
    return {"name": "small", "base": str(CSP_BASE),
            "overrides": {"dataset": {"data_path": str(datasets / "eegbci"), "runs": [4, 8, 12]},
                          "evaluation": {"protocol": "kfold", "n_folds": 2, "within": "subject"},
                          "output": {"save_model": False, "figures": False}},
            "axes": {"decoders": ["csp-lda"], "seeds": [0], **axes}}


def _quick(datasets):
    spec, base_dir = load_sweep(QUICK)
    raw = spec.model_dump(mode="json")
    raw["overrides"]["dataset"]["data_path"] = str(datasets / "eegbci")
    return parse_sweep(raw), base_dir


def _comparable(metrics: dict) -> dict:
    """metrics.json without the wall-clock figures (the only thing allowed to differ)."""
    def clean(d):
        return {k: v for k, v in d.items() if "seconds" not in k and "_ms_" not in k}
    return {"folds": [clean(f) for f in metrics["folds"]], "summary": clean(metrics["summary"]),
            "by_subject": metrics.get("by_subject"), "seed": metrics["seed"], "subjects": metrics["subjects"]}


def _metrics(folder: Path) -> dict[str, dict]:
    return {rid: json.loads((path / "metrics.json").read_text()) for rid, path in finished_runs(folder).items()}


def test_expand_axes_grid_and_bad_input(datasets, tmp_path):
    raw = _spec(datasets, subjects=[1, [2, 3]], seeds=[0, 1],
                decoders=["csp-lda", {"name": "tangent-space-lr", "grid": {"C": [0.1, 1.0]}}])
    plans = expand(parse_sweep(raw))
    assert len(plans) == 2 * 3 * 2
    ids = [p.id for p in plans]
    assert ids[0] == "csp-lda-s1-seed0" and "tangent-space-lr_C=0.1-s2+3-seed1" in ids
    grid = next(p for p in plans if p.id == "tangent-space-lr_C=0.1-s2+3-seed1")
    assert grid.config["decoder"]["params"]["C"] == 0.1 and grid.config["dataset"]["subjects"] == [2, 3]
    assert grid.config["training"]["seed"] == 1 and grid.config["name"] == "small/tangent-space-lr_C=0.1-s2+3-seed1"

    with pytest.raises(SweepError, match="axes.seeds"):
        parse_sweep({**raw, "axes": {"seeds": []}})
    with pytest.raises(SweepError, match="decoder.name"):
        expand(parse_sweep({**raw, "axes": {"decoders": ["no-such-decoder"]}}))
    from app.cli import main

    assert main(["sweep", str(tmp_path / "missing.yaml")]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**raw, "axes": {"subjects": "1"}}))
    assert main(["sweep", str(bad)]) == 2


def test_ray_missing_is_a_clear_exit_2_and_local_never_imports_it(datasets, tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump(_spec(datasets, subjects=[1])))
    code = ("import sys; from app.cli import main; rc = main(['sweep', sys.argv[1], '--dry-run', '--out', sys.argv[2]]);"
            "assert 'ray' not in sys.modules, 'ray imported'; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(sweep), str(tmp_path / "out")], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "to run  csp-lda-s1-seed0" in done.stdout

    from app.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)   # import ray -> ImportError, as when not installed
    assert main(["sweep", str(sweep), "--executor", "ray", "--out", str(tmp_path / "out")]) == 2
    assert "pip install neurodeck[ray]" in capsys.readouterr().err


class _Tables(HTMLParser):
    """Every <table id=...> of a page as a list of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("id"), [])
        elif tag == "tr" and self.current is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None


def _check_report(folder: Path, metrics: dict[str, dict]) -> None:
    page = folder / "report" / "index.html"
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    header, *rows = parser.tables["runs"]
    assert len(rows) == len(metrics) == 18
    col = {name: i for i, name in enumerate(header)}
    for row in rows:
        m = metrics[row[col["id"]]]
        assert row[col["state"]] == "done"
        assert float(row[col["accuracy"]]) == pytest.approx(m["summary"]["accuracy"]["mean"], abs=1e-4)
        assert finished_runs(folder)[row[col["id"]]].name == row[col["run folder"]]
    header, *comparison = parser.tables["comparison"]
    for row in comparison:
        mine = [m["summary"]["accuracy"]["mean"] for m in metrics.values() if m["name"].split("/")[1].startswith(row[0])]
        assert len(mine) == 6 and float(row[1]) == pytest.approx(sum(mine) / 6, abs=1e-4)
    assert len(parser.tables["paired"]) == 1 + 3   # three decoder pairs, Wilcoxon over 3 subjects (seeds averaged)
    for name in ("accuracy_per_subject.png", "time_per_run.png"):
        assert (folder / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "report" / "summary.csv").read_text().count("\n") == 4


@pytest.mark.slow
def test_local_and_ray_give_identical_metrics_and_the_report_matches(datasets, tmp_path):
    import ray   # part of the test extras (pip install neurodeck[test]); the issue asks for this run on Ray
    spec, base_dir = _quick(datasets)
    local = run_sweep(spec, base_dir, out_dir=tmp_path / "local", executor="local", workers=2)
    assert not local.failed and len(local.executed) == 18
    from app.workspace import list_runs

    assert len(list_runs(local.folder)) == 18   # ordinary run folders: the results view lists them
    local_metrics = _metrics(local.folder)
    _check_report(local.folder, local_metrics)
    by_subject = {rid: m["summary"]["accuracy"]["mean"] for rid, m in local_metrics.items()}
    assert by_subject["csp-lda-s2-seed0"] > 0.75 and by_subject["tangent-space-lr-s2-seed0"] > 0.75  # real signal

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_sweep(spec, base_dir, out_dir=tmp_path / "ray", executor="ray")
    finally:
        ray.shutdown()
    assert not remote.failed and {r["executor"] for r in remote.executed} == {"ray"}
    ray_metrics = _metrics(remote.folder)
    assert set(ray_metrics) == set(local_metrics)
    for rid in local_metrics:
        assert _comparable(ray_metrics[rid]) == _comparable(local_metrics[rid]), rid


@pytest.mark.slow
def test_sigkill_midway_then_restart_runs_only_the_missing(datasets, tmp_path):
    sweep = tmp_path / "small.yaml"
    sweep.write_text(yaml.safe_dump(_spec(datasets, subjects=[1, 2, 3])))
    flag = tmp_path / "paused"
    env = {**os.environ, "NEURODECK_SWEEP_PAUSE_RUN": f"csp-lda-s3-seed0:{flag}"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "sweep", str(sweep), "--workers", "1",
                             "--out", str(tmp_path / "out")], cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    folder = tmp_path / "out" / "small"
    try:
        deadline = time.monotonic() + 300
        while not flag.exists():   # the third run has saved its first fold and waits there
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep never reached its third run"
            time.sleep(0.1)
        lock = next(folder.glob(".csp-lda-*.partial/.lock"))
        worker = json.loads(lock.read_text())["pid"]   # the pool process running that run
        assert worker != proc.pid
        os.kill(proc.pid, signal.SIGKILL)   # the sweep process only, mid-run
        proc.wait()
        deadline = time.monotonic() + 120
        while _alive(worker):   # the orphaned run notices, keeps its fold and exits
            assert time.monotonic() < deadline, "the orphaned pool process kept running"
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # nothing of that sweep may outlive the test
        except ProcessLookupError:
            pass
    assert sorted(finished_runs(folder)) == ["csp-lda-s1-seed0", "csp-lda-s2-seed0"]
    partial = [p for p in folder.iterdir() if p.name.endswith(".partial")]
    assert len(partial) == 1 and (partial[0] / "folds" / "fold_0000.json").is_file()
    assert not (partial[0] / "metrics.json").exists()

    spec, base_dir = load_sweep(sweep)
    again = run_sweep(spec, base_dir, out_dir=tmp_path / "out", workers=1)
    assert sorted(again.skipped) == ["csp-lda-s1-seed0", "csp-lda-s2-seed0"]
    assert [r["id"] for r in again.executed] == ["csp-lda-s3-seed0"] and not again.failed
    runs = finished_runs(folder)
    assert sorted(runs) == ["csp-lda-s1-seed0", "csp-lda-s2-seed0", "csp-lda-s3-seed0"]
    # resumed, not redone (the orphan may have finished its second fold before it noticed)
    assert re.search(r"resuming .* [12] fold\(s\) already done", (runs["csp-lda-s3-seed0"] / "log.txt").read_text())
    assert not [p for p in folder.iterdir() if p.name.endswith(".partial")]
    run_folders = [p for p in folder.iterdir() if p.is_dir() and (p / "metrics.json").exists()]
    assert len(run_folders) == 3
    assert {s["state"] for s in run_status(folder).values()} == {"done"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def test_a_failing_run_is_recorded_and_the_others_go_on(datasets, tmp_path):
    spec = parse_sweep(_spec(datasets, subjects=[2, 777]))
    result = run_sweep(spec, out_dir=tmp_path, workers=1)
    by_id = {r["id"]: r for r in result.executed}
    assert by_id["csp-lda-s2-seed0"]["status"] == "done"
    assert by_id["csp-lda-s2-seed0"]["summary"]["accuracy"] > 0.7
    failed = by_id["csp-lda-s777-seed0"]
    assert failed["status"] == "failed" and "777" in failed["error"]
    status = json.loads((result.folder / ".sweep" / "status" / "csp-lda-s777-seed0.json").read_text())
    assert status["status"] == "failed" and status["error"] == failed["error"]
    page = (result.folder / "report" / "index.html").read_text()
    parser = _Tables()
    parser.feed(page)
    assert parser.tables["failed"][1][:2] == ["csp-lda-s777-seed0", "failed"]
    assert run_status(result.folder)["csp-lda-s777-seed0"]["state"] == "failed"
