"""`neurodeck predict` on a new site (issue 23 item 5): ROI-series decoders that declare
themselves length-free (fc-lr, tangent-fc-lr, BrainMAE) predict a site whose series have
another length; a fixed-length decoder keeps the refusal; ``--option KEY=VALUE`` reaches the
source (the TR) and bad options exit 2 naming the option. Real ABIDE sites: trained on
8 subjects each of Caltech and KKI (146 to 152 time points), predicted on OHSU (78)."""
from __future__ import annotations

import csv

import pytest
import yaml

import decoders
from app.cli import main
from app.workspace import list_runs
from decoders.connectivity import FCLR


def _train(tmp_path, decoder: dict) -> str:
    config = {"name": "predict-new-site",
              "dataset": {"source": "../shared/datasets/abide-cc200", "kind": "roi-series",
                          "options": {"sites": ["Caltech", "KKI"], "max_subjects_per_site": 8}},
              "decoder": decoder, "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "within": "all", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs"), "figures": False}}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 0
    (info,) = list_runs(tmp_path / "runs")
    return str(info.path)


@pytest.fixture(scope="module")
def fc_run(tmp_path_factory, datasets):
    return _train(tmp_path_factory.mktemp("fc"), {"name": "fc-lr"})


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_length_free_is_declared_by_each_decoder():
    assert decoders.get("fc-lr").length_free and decoders.get("tangent-fc-lr").length_free
    assert decoders.get("brainmae").length_free and decoders.get("brainmae-regressor").length_free
    assert not decoders.get("csp-lda").length_free and not decoders.get("eeg-simpleconv").length_free


def test_fc_lr_predicts_a_site_with_another_series_length(fc_run, datasets, tmp_path, capsys):
    out = tmp_path / "ohsu.csv"
    assert main(["predict", fc_run, str(datasets / "abide-cc200" / "OHSU"), "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 28 and {r["session"] for r in rows} == {"OHSU"}   # the site, not 'rois_cc200'
    assert {r["pred"] for r in rows} <= {"autism", "control"} and not any(r["seen_in_training"] == "True" for r in rows)
    assert "accuracy on the labelled trials: " in capsys.readouterr().err


def test_a_fixed_length_decoder_keeps_the_refusal(fc_run, datasets, monkeypatch, capsys):
    monkeypatch.setattr(FCLR, "length_free", False)
    assert main(["predict", fc_run, str(datasets / "abide-cc200" / "OHSU"), "--out", "-"]) == 2
    err = " ".join(capsys.readouterr().err.split())   # the message wraps at the terminal width
    assert "gives inputs of shape [200, 78] but the decoder expects [200, 152]" in err


def test_option_sets_the_tr_and_bad_options_exit_2(fc_run, datasets, tmp_path, capsys):
    site = str(datasets / "abide-cc200" / "OHSU")
    out = tmp_path / "tr.csv"
    assert main(["predict", fc_run, site, "--option", "tr=2.0", "--option", "max_subjects_per_site=5",
                 "--out", str(out)]) == 0
    assert len(_rows(out)) == 5
    assert main(["predict", fc_run, site, "--option", "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["predict", fc_run, site, "--option", "tr"]) == 2
    assert "predict: --option 'tr' is not KEY=VALUE" in capsys.readouterr().err
    assert main(["predict", fc_run, site, "--option", "tr=-1"]) == 2
    assert "tr" in capsys.readouterr().err


def test_brainmae_predicts_a_site_with_another_series_length(tmp_path, datasets):
    run = _train(tmp_path, {"name": "brainmae", "params": {"dim": 16, "depth": 1, "heads": 2, "epochs": 1}})
    out = tmp_path / "ohsu.csv"
    assert main(["predict", run, str(datasets / "abide-cc200" / "OHSU"),
                 "--option", "max_subjects_per_site=6", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 6 and {r["session"] for r in rows} == {"OHSU"}
