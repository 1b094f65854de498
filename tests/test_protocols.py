"""The protocol registry (decoders.protocols): folds identical to the if-chain it replaced,
every fact read from the protocol's class, a plugin protocol reaching `neurodeck run`
validation and the GUI without editing NeuroDeck, and feasibility checks that say what to
choose instead."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from pydantic import Field

from data.decoding_set import DecodingSet
from decoders import protocols
from decoders.protocols import (Problem, Protocol, ProtocolError, ProtocolOptions, Requirements, Split,
                                available_protocols, make_splits, protocol, register_protocol,
                                unregister_protocol)


# ------------------------------------------------- folds fixed to those of the old make_splits
def small_sets() -> dict[str, DecodingSet]:
    """Trials: 3 subjects x 2 sessions x 2 runs x 8 trials (two classes); continuous: 60 samples."""
    rng = np.random.default_rng(0)
    n = 3 * 2 * 2 * 8
    subject = np.repeat(["1", "2", "3"], 32)
    session = np.tile(np.repeat(["a", "b"], 16), 3)
    run = np.tile(np.repeat(["1", "2"], 8), 6)
    trials = DecodingSet(rng.standard_normal((n, 2, 8)).astype(np.float32), np.tile([0, 1], n // 2),
                         "trials", "eeg", subject, session, run, sfreq=8.0, class_names=["a", "b"])
    ages = DecodingSet(rng.standard_normal((n, 2, 8)).astype(np.float32), rng.uniform(20, 40, n),
                       "trials", "fmri", subject, session, run)
    continuous = DecodingSet(rng.standard_normal((60, 3)), rng.standard_normal((60, 2)), "continuous",
                             "spikes", "1", "1", "1")
    return {"trials": trials, "ages": ages, "continuous": continuous}


CASES = {  # key: (set, protocol, options, seed)
    "kfold-session": ("trials", "kfold", {"n_folds": 4}, 0),
    "kfold-subject": ("trials", "kfold", {"n_folds": 3, "within": "subject"}, 5),
    "kfold-all": ("trials", "kfold", {"n_folds": 5, "within": "all"}, 1),
    "kfold-ages": ("ages", "kfold", {"n_folds": 3, "within": "subject"}, 2),
    "cross-session": ("trials", "cross-session", {}, 0),
    "cross-run": ("trials", "cross-session", {"split_by": "run"}, 0),
    "cross-session-named": ("trials", "cross-session", {"train_groups": ["a"], "test_groups": ["b"]}, 0),
    "loso": ("trials", "loso", {}, 0),
    "loso-some": ("trials", "loso", {"test_subjects": [3, "1"]}, 0),
    "leave-one-site-out": ("trials", "leave-one-site-out", {}, 0),
    "repeated-kfold": ("trials", "repeated-kfold", {"n_folds": 2, "n_repeats": 3}, 4),
    "repeated-kfold-ages": ("ages", "repeated-kfold", {"n_folds": 3, "n_repeats": 2}, 0),
    "finetune": ("trials", "finetune", {"n_folds": 2, "within": "subject", "n_calibration": 5}, 3),
    "finetune-session": ("trials", "finetune", {"n_folds": 2, "test_subjects": ["2"]}, 0),
    "holdout-trials": ("trials", "holdout", {"test_fraction": 0.25}, 0),
    "holdout-ranges": ("continuous", "holdout", {"train_range": [0, 40], "test_range": [45, 60]}, 0),
    "blocked-kfold": ("continuous", "blocked-kfold", {"n_folds": 4, "gap": 2}, 0),
}

# folds and sha256 of every fold's number, label, info and train / test / pretrain indices, as the
# if-chain make_splits of commit a547a30 gave them (the old and the new implementation were
# compared on these and on the three demo sets, 350 cases, before the old one was deleted)
EXPECTED = {
    "kfold-session": (24, "c56189a5c972d1ee09c7a2d5086260853a2c467a16d1569330b4ff7fd90d27a6"),
    "kfold-subject": (9, "7fbacb6c93c35486c8c7869e198bd5c9a4e62120645dd52707cfd6fb4e911145"),
    "kfold-all": (5, "534c4a1648093d3e5b8a32def46972d283595d08568e65fdf8f831e51cb51385"),
    "kfold-ages": (9, "c3f661b46caa8f5a7c6c2853ad73638f9be75e6d956ce98ccde4d369da96e509"),
    "cross-session": (6, "1e80fdb982ad9f5bb63a1414d50981d88880f88a909b0654a605cc1649e4515f"),
    "cross-run": (6, "3289ee36702f7cbeea22b4e84a57a01560869ca3efe6f96c0db28995b9cd4a62"),
    "cross-session-named": (3, "e0e04b145a03f5f640219177bd6207c817e82e716bf0c49044b14d3c824df049"),
    "loso": (3, "dc07aa40aa006110a45b4506e4a81308f3c84ec1c4c2d036eaa1dc59776b8302"),
    # issue 23: with test_subjects, no fold trains on another test subject (was a0471005...)
    "loso-some": (2, "a3e04c81f4c707cd2892311c70a0c1aa2946af9a71958bb516211f07c6fb8caa"),
    "leave-one-site-out": (2, "5927fedb302df033e748d740ed7b9c7440a33aba061ac60090409cf8455dd7ea"),
    "repeated-kfold": (12, "5700fe86f3b946e81eef9f1803ee15bbcb9c99e1f0fe3fb5b63e03039a0295cf"),
    "repeated-kfold-ages": (12, "dc70d21f66c3eb3d5a6f41d2f26b0ab8f4b893e44872830512fb8c4a98f323a7"),
    "finetune": (6, "cbfb30790d1b056305b3f3eb94ce49d6aab8b00af6f691ef2ae8b6583cff3bf5"),
    "finetune-session": (4, "8a0dda47cc2d3851cee9ce3a91b39b680af7ba9d41893bcd7708c3faf4bec762"),
    "holdout-trials": (1, "c7d94e8117ed5806fe4958b9fafac50dc28757fba4060191379a03f5d6e22f1f"),
    "holdout-ranges": (1, "0d122d0d1ae4231c010bc103101f31374763d610eda45b8b876fdedccebc9127"),
    "blocked-kfold": (4, "f329ec2faae2de2558c10cbab98e30c34e2630a67129071b1192f26ca2169f87"),
}


def digest(splits: list[Split]) -> str:
    h = hashlib.sha256()
    for s in splits:
        h.update(repr((s.fold, s.label, sorted((k, str(v)) for k, v in s.info.items()))).encode())
        for part in (s.train, s.test, s.pretrain):
            h.update(b"-" if part is None else np.asarray(part, np.int64).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("key", sorted(CASES))
def test_folds_are_those_of_the_old_if_chain(key):
    set_name, name, options, seed = CASES[key]
    splits = make_splits(small_sets()[set_name], name, seed=seed, **options)
    assert (len(splits), digest(splits)) == EXPECTED[key]
    again = protocol(name).splits(small_sets()[set_name], options, seed=seed)
    assert digest(again) == EXPECTED[key][1]


def test_a_seed_changes_shuffled_folds_only():
    data = small_sets()["trials"]
    assert digest(make_splits(data, "kfold", seed=0)) != digest(make_splits(data, "kfold", seed=1))
    assert digest(make_splits(data, "loso", seed=0)) == digest(make_splits(data, "loso", seed=1))


# ------------------------------------------------------------- facts come from the classes
def test_every_registered_protocols_facts_come_from_its_class():
    from app.experiment import EvaluationConfig
    from app.gui.models import DecoderModel, describe_params

    registered = available_protocols()
    assert [p.name for p in registered][:8] == ["kfold", "cross-session", "loso", "leave-one-site-out",
                                                "repeated-kfold", "finetune", "holdout", "blocked-kfold"]
    for p in registered:
        cls = type(p)
        assert protocol(p.name).__class__ is cls and cls.name == p.name
        assert cls.description and cls.__dict__.get("description") == p.description
        assert issubclass(cls.Options, ProtocolOptions) and isinstance(cls.requires, Requirements)
        defaults = cls.Options().model_dump()
        config = EvaluationConfig(protocol=p.name)   # the experiment schema reads the same options
        assert config.model_dump(exclude={"protocol"}) == defaults
        model = DecoderModel()
        model.protocol = p.name                        # and so does the GUI's form
        assert [f.name for f in model.evaluation_fields()] == [f.name for f in describe_params(cls.Options)]
        assert [f.name for f in model.evaluation_fields()] == list(cls.Options.model_fields)


def test_options_are_validated_with_bounds():
    with pytest.raises(ProtocolError, match="n_folds"):
        make_splits(small_sets()["trials"], "kfold", n_folds=1)
    with pytest.raises(ProtocolError, match="unknown option"):
        make_splits(small_sets()["trials"], "kfold", n_fold=3)
    # an option only another protocol reads is ignored, as one options dict serves several
    assert len(make_splits(small_sets()["trials"], "loso", n_folds=3)) == 3
    with pytest.raises(ProtocolError, match="unknown protocol 'nope'"):
        protocol("nope")


# ------------------------------------------------------------------ a plugin protocol
class FirstHalf(Protocol):
    """Train on each subject's first half of trials, test on the second."""

    name = "toy-first-half"
    description = "Each subject's first trials train, the rest test."
    requires = Requirements(groups="subject")

    class Options(ProtocolOptions):
        train_share: float = Field(0.5, gt=0, lt=1, description="Share of each subject's trials that trains.")

    def build_splits(self, data, options, seed):
        out = []
        for subject in data.subjects:
            idx = np.flatnonzero(data.subject == subject)
            cut = int(len(idx) * options.train_share)
            out.append(Split(len(out), idx[:cut], idx[cut:], f"subject {subject}", {"subject": subject}))
        return out


def toy_protocols():
    return [FirstHalf]


@pytest.fixture()
def toy_plugin(monkeypatch):
    from decoders.protocols import registry

    class FakePoint:
        name, value = "toy", "tests.test_protocols:toy_protocols"

        def load(self):
            return toy_protocols

    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group: [FakePoint()] if group == registry.ENTRY_POINT_GROUP else [])
    yield FirstHalf
    unregister_protocol("toy-first-half")


def test_a_plugin_protocol_reaches_run_validation_and_the_gui_model(toy_plugin, tmp_path):
    from app.experiment import ConfigError, validate_config
    from app.gui.models import DecoderModel

    assert "toy-first-half" in [p.name for p in available_protocols()]
    raw = {"dataset": {"source": "demo:motor-imagery"}, "decoder": {"name": "csp-lda"},
           "evaluation": {"protocol": "toy-first-half", "train_share": 0.75}}
    config = validate_config(raw)
    assert config.evaluation.train_share == 0.75
    with pytest.raises(ConfigError, match=r"evaluation\.train_share.*less than 1"):
        validate_config({**raw, "evaluation": {"protocol": "toy-first-half", "train_share": 2}})
    with pytest.raises(ConfigError, match="n_folds not used by protocol 'toy-first-half'"):
        validate_config({**raw, "evaluation": {"protocol": "toy-first-half", "n_folds": 3}})
    model = DecoderModel()
    assert "toy-first-half" in [p.name for p in model.protocols("trials")]
    model.set_evaluation(protocol="toy-first-half", train_share=0.6)
    assert model.evaluation_config() == {"protocol": "toy-first-half", "train_share": 0.6}
    folds = make_splits(small_sets()["trials"], "toy-first-half", train_share=0.25)
    assert [len(f.train) for f in folds] == [8, 8, 8]


def test_a_plugin_protocol_is_in_the_decoder_views_list(qtbot, settings_file, toy_plugin):
    from app.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    view = window.show_step("decoder")
    names = [view.protocol_box.itemData(i) for i in range(view.protocol_box.count())]
    assert names[:2] == ["kfold", "cross-session"] and "toy-first-half" in names
    window.close()


def test_register_protocol_rejects_what_is_not_a_protocol():
    with pytest.raises(ProtocolError, match="not a Protocol subclass"):
        register_protocol(object)

    class Nameless(Protocol):
        pass

    with pytest.raises(ProtocolError, match="name and a description"):
        register_protocol(Nameless)


# ------------------------------------------------------------------------- feasibility
def test_check_names_what_to_choose_instead():
    data = small_sets()["trials"]
    assert protocol("kfold").check(data, {"n_folds": 4}) == []
    one_class = data.subset(~((data.subject == "2") & (data.y == 1)))
    problems = protocol("kfold").check(one_class, {"n_folds": 4, "within": "subject"})
    assert len(problems) == 1 and isinstance(problems[0], Problem)
    assert "subject 2" in problems[0].message and "only one class" in problems[0].message
    assert "loso" in problems[0].hint
    few = protocol("kfold").check(data, {"n_folds": 10})   # 8 trials per class in a subject+session
    assert len(few) == 6 and "n_folds: 8 or fewer" in few[0].hint
    single = data.subset(data.subject == "1")
    assert "at least two subjects" in str(protocol("loso").check(single)[0])
    assert "never shuffle" in str(protocol("kfold").check(small_sets()["continuous"])[0])
    assert "n_folds" in str(protocol("kfold").check(data, {"n_folds": 1})[0])
    assert protocols.protocol("holdout").check(small_sets()["continuous"], {"test_range": [70, 80]})
