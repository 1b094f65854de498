"""What each decoder and protocol accepts, declared once (issue 20): the facts each decoder
class declares, the reasons `decoders.compatibility` gives, the suggestion for every demo,
and the Decoder view that lists the decoders that fit first and greys out the others with
the reason."""
from __future__ import annotations

import numpy as np
import pytest

import decoders
from data.decoding_set import DecodingSet
from data.loading import load_dataset
from data.spec import DatasetSpec
from decoders.compatibility import (DataFacts, compatibility, fitting_decoders, protocol_compatibility,
                                    ranked_decoders, suggest)

EEG = {"eeg", "meg", "ieeg"}
# What each built-in decoder reads: (input kind, modalities, paradigms, task).
DECLARED = {
    "eeg-simpleconv": ("trials", EEG, set(), "classification"),
    "csp-lda": ("trials", EEG, set(), "classification"),
    "fbcsp-lda": ("trials", EEG, set(), "classification"),
    "tangent-space-lr": ("trials", EEG, set(), "classification"),
    "kalman": ("continuous", set(), set(), "regression"),
    "dkf": ("continuous", set(), set(), "regression"),
    "wiener": ("continuous", set(), set(), "regression"),
    "fc-lr": ("trials", {"fmri-roi"}, set(), "classification"),
    "tangent-fc-lr": ("trials", {"fmri-roi"}, set(), "classification"),
    "brainmae": ("trials", {"fmri-roi"}, set(), "classification"),
    "brainmae-regressor": ("trials", {"fmri-roi"}, set(), "regression"),
    "brainmae-pretrain": ("trials", {"fmri-roi"}, set(), "pretraining"),
    "voxel-lr": ("trials", {"fmri"}, set(), "classification"),
    "mindbridge": ("volumes", {"fmri"}, set(), "reconstruction"),
    "ridge-images": ("volumes", {"fmri"}, set(), "reconstruction"),
    "erp-lda": ("trials", {"eeg"}, {"erp", "speller"}, "classification"),
    "xdawn-ts-lr": ("trials", {"eeg"}, {"erp", "speller"}, "classification"),
    "eegnet-erp": ("trials", {"eeg"}, {"erp", "speller"}, "classification"),
}


@pytest.fixture(scope="module")
def demos() -> dict[str, DecodingSet]:
    return {name: load_dataset(DatasetSpec(source=f"demo:{name}", cache=False))
            for name in ("motor-imagery", "resting-state", "center-out", "visual-fmri")}


def _erp_set(n_runs: int = 2, per_run: int = 60) -> DecodingSet:
    rng = np.random.default_rng(0)
    n = n_runs * per_run
    y = (np.arange(n) % 6 == 0).astype(np.int64)          # one target flash in six
    return DecodingSet(X=rng.standard_normal((n, 8, 64)).astype(np.float32), y=y, kind="trials",
                       modality="eeg", subject="1", session="1", run=np.repeat([str(r + 1) for r in range(n_runs)], per_run),
                       sfreq=128.0, class_names=["nontarget", "target"], paradigm="erp")


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_each_decoder_declares_what_it_reads(name):
    entry = decoders.registry.entry(name)
    kind, modalities, paradigms, task = DECLARED[name]
    assert entry.input_kind == kind
    assert set(entry.modalities) == modalities
    assert set(entry.load().paradigms) == paradigms
    assert entry.task.value == task


def test_every_builtin_decoder_is_declared_here():
    builtin = {e.name for e in decoders.available() if e.target.startswith("decoders.")}
    assert builtin == set(DECLARED)


def test_reasons_name_the_decoder_and_what_the_data_is(demos):
    rest = demos["resting-state"]
    reasons = compatibility("csp-lda", rest)
    assert [r.blocking for r in reasons] == [True]
    assert "csp-lda" in reasons[0].text and "fmri-roi" in reasons[0].text and "eeg" in reasons[0].text
    assert compatibility("fc-lr", rest) == []
    kinds = [str(r) for r in compatibility("csp-lda", demos["center-out"])]
    assert any("continuous" in r for r in kinds) and any("classifies" in r for r in kinds)
    assert any("reconstructs" in str(r) for r in compatibility("mindbridge", demos["motor-imagery"]))
    assert any("continuous targets" in str(r) for r in compatibility("brainmae-regressor", rest))


def test_a_paradigm_decoder_is_ranked_after_but_not_refused():
    mi = DataFacts(kind="trials", modality="eeg", targets="classes")
    reasons = compatibility("erp-lda", mi)
    assert reasons and not any(r.blocking for r in reasons)
    names = fitting_decoders(mi)
    assert names.index("csp-lda") < names.index("erp-lda")
    erp = DataFacts.of(_erp_set())
    assert fitting_decoders(erp)[0] == "erp-lda"        # declared for ERP, classical


@pytest.mark.parametrize("demo, decoder, protocol", [
    ("motor-imagery", "csp-lda", "kfold"),
    ("resting-state", "fc-lr", "leave-one-site-out"),
    ("center-out", "kalman", "blocked-kfold"),
    ("visual-fmri", "ridge-images", "holdout"),
])
def test_suggestion_per_demo(demos, demo, decoder, protocol):
    data = demos[demo]
    advice = suggest(data)
    assert (advice.decoder, advice.protocol) == (decoder, protocol), advice
    assert compatibility(advice.decoder, data) == []
    assert protocol_compatibility(advice.protocol, data, advice.options, advice.decoder) == []


def test_suggestion_for_erp_trials():
    data = _erp_set()
    advice = suggest(data)
    assert advice.decoder == "erp-lda"
    assert advice.protocol in ("calibration", "kfold")
    assert protocol_compatibility(advice.protocol, data, advice.options, advice.decoder) == []


def test_protocol_reasons_come_from_the_protocols_check(demos):
    rest = demos["resting-state"]
    reasons = protocol_compatibility("kfold", rest)
    assert len(reasons) == 80                           # one sample per subject: one class each
    assert "only one class" in reasons[0].text and "loso" in reasons[0].hint
    assert protocol_compatibility("leave-one-site-out", rest) == []
    facts = DataFacts.of(demos["center-out"])
    assert any("continuous" in str(r) for r in protocol_compatibility("kfold", facts))
    # a fine-tuning protocol needs a decoder that can be fine-tuned
    assert any("fine-tune" in str(r) for r in protocol_compatibility("finetune", demos["motor-imagery"], decoder="csp-lda"))


def test_facts_from_a_recordings_summary():
    summary = {"kind": "recordings", "channel_counts": {"eeg": 36, "stim": 1}, "events": {"left": 1, "right": 1},
               "subjects": ["1", "2"], "sessions": ["1"]}
    facts = DataFacts.from_summary(summary)
    assert (facts.kind, facts.modality, facts.targets, facts.n_channels) == ("trials", "eeg", "classes", 36)
    ranked = ranked_decoders(facts)
    assert ranked[0][0].name == "csp-lda" and ranked[0][1] == []


# ------------------------------------------------------------------------ the view
@pytest.mark.gui
def test_decoder_view_greys_out_what_does_not_fit_with_the_reason(qapp, tmp_path):
    from PySide6.QtCore import Qt

    from app.gui.main_window import MainWindow
    from tests.test_gui_workflow import isolated_settings, wait_until

    env = isolated_settings(tmp_path)
    window = MainWindow()
    try:
        window.show()
        window.wb.set_runs_dir(tmp_path / "runs")
        wait_until(qapp, lambda: window.wb.decoder.entries, 120, "the decoder registry")
        window.wb.open("demo:resting-state")
        wait_until(qapp, lambda: window.wb.data.trials is not None or window.error_text(), 120, "the demo")
        assert not window.error_text(), window.error_text()
        view = window.show_step("decoder")
        items = [view.list.item(i) for i in range(view.list.count())]
        enabled = [bool(i.flags() & Qt.ItemIsEnabled) for i in items]
        assert enabled == sorted(enabled, reverse=True), "the decoders that fit come first"
        by_name = {i.data(Qt.UserRole): i for i in items}
        csp = by_name["csp-lda"]
        assert not csp.flags() & Qt.ItemIsEnabled
        assert "Not for this data" in csp.text() and "fmri-roi" in csp.text() and "fmri-roi" in csp.toolTip()
        assert by_name["fc-lr"].flags() & Qt.ItemIsEnabled
        # opening the data picked its suggestion; kfold is greyed out in the protocol list
        assert (window.wb.decoder.name, window.wb.decoder.protocol) == ("fc-lr", "leave-one-site-out")
        box = view.protocol_box
        kfold = box.model().item(box.findData("kfold"))
        assert not kfold.isEnabled() and "only one class" in box.itemData(box.findData("kfold"), Qt.ToolTipRole)
        assert "fits this data" in view.readiness.text()
    finally:
        window.wb.background.cancel_all()
        window.wb.background.wait(60000)
        window.close()
        env.undo()
