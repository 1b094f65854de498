"""Quick presets (issue 20): what a first-time user is offered is small by construction, and the
papers' settings stay one named preset away.

"Quick" is a structural bound, not a timing (no test depends on the machine's speed): the
training sample-epochs of a whole run, i.e. for every fit the run makes (each fold and the
final model) the number of training samples times the passes over them (``epochs``, plus
``pretrain_epochs`` and the image codec's ``codec_epochs``), on the folds the protocol really
cuts from the demo. The budget is per kind of sample: a trial (channels x times, through
convolutions or attention) costs far more than a volume row (a few hundred voxels through an
MLP) or a 28 x 28 stimulus image. The measured wall times that go with these settings are in
tests/benchmarks/RESULTS.md ("Quick presets (issue 20)", tests/benchmarks/bench_presets.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import decoders
from app.experiment import load_config
from data.loading import load_dataset
from decoders.protocols.registry import make_splits

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "resources" / "experiments"
DEMO_FILES = sorted(EXPERIMENTS.glob("demo-*.yaml"))
# The paper's within-subject EEG-SimpleConv run on demo:motor-imagery (50 epochs x (20 folds of 64
# trials + the final model's 320)) is 80,000 trial-epochs: the trials bound sits well below it.
QUICK_SAMPLE_EPOCHS = {"trials": 50_000, "volumes": 500_000, "continuous": 500_000}
# each demo as the benchmark and the demo experiments run it
DEMO_EXPERIMENT = {"demo:motor-imagery": "demo-motor-imagery-simpleconv.yaml",
                   "demo:resting-state": "demo-resting-state-fc-lr.yaml",
                   "demo:visual-fmri": "demo-visual-fmri-mindbridge.yaml",
                   "demo:center-out": "demo-center-out-kalman.yaml"}
DEMO_KIND = {"demo:motor-imagery": "trials", "demo:resting-state": "trials",
             "demo:visual-fmri": "volumes", "demo:center-out": "continuous"}
DEMO_MODALITY = {"demo:motor-imagery": "eeg", "demo:resting-state": "fmri-roi",
                 "demo:visual-fmri": "fmri", "demo:center-out": "spikes"}


def default_preset(cls) -> str | None:
    """The preset the GUI's Decoder view applies on choosing a decoder: the first one."""
    return next(iter(cls.presets), None)


def passes(cls, params: dict) -> int:
    """Passes over the training samples one fit makes with these parameters."""
    values = {k: f.get_default(call_default_factory=True) for k, f in cls.Params.model_fields.items()}
    values.update(params)
    if cls.name == "dkf" and values.get("f") != "neural":
        return 0   # only the neural f trains by epochs; the others fit in closed form
    return sum(int(values.get(k) or 0) for k in ("epochs", "pretrain_epochs", "codec_epochs"))


_DATA: dict = {}


def demo_data(demo: str):
    if demo not in _DATA:
        config = load_config(EXPERIMENTS / DEMO_EXPERIMENT[demo])
        _DATA[demo] = (load_dataset(config.dataset), config)
    return _DATA[demo]


def sample_epochs(cls, params: dict, data, evaluation) -> int:
    """Training sample-epochs of a whole run: every fold's training set and the final model."""
    options = evaluation.model_dump(exclude={"protocol"}, exclude_unset=True)
    splits = make_splits(data, evaluation.protocol, seed=0, **options)
    n_train = sum(len(s.train) + (0 if s.pretrain is None else len(s.pretrain)) for s in splits) + len(data)
    return n_train * passes(cls, params)


def default_runs():
    """(decoder, demo) for every decoder and every demo of the data kind and modality it takes."""
    out = []
    for entry in decoders.available(load=True):
        cls = entry.load()
        out += [(entry.name, demo) for demo, kind in DEMO_KIND.items() if kind == cls.input_kind
                and (not cls.modalities or DEMO_MODALITY[demo] in cls.modalities)
                and not getattr(cls, "paradigms", ())]   # ERP decoders: no demo has ERP epochs
    return out


@pytest.mark.parametrize("decoder,demo", default_runs())
def test_every_default_preset_is_quick_on_the_demos(decoder, demo):
    cls = decoders.get(decoder)
    data, config = demo_data(demo)
    preset = default_preset(cls)
    params = dict(cls.presets[preset]) if preset else {}
    cost = sample_epochs(cls, params, data, config.evaluation)
    bound = QUICK_SAMPLE_EPOCHS[cls.input_kind]
    assert cost <= bound, (f"{decoder} (default preset {preset}) on {demo}: {cost} training "
                           f"sample-epochs, over the quick bound {bound}")


@pytest.mark.parametrize("path", DEMO_FILES, ids=lambda p: p.stem)
def test_every_demo_experiment_is_quick(path):
    config = load_config(path)
    cls = decoders.get(config.decoder.name)
    params = dict(cls.presets.get(config.decoder.preset, {})) if config.decoder.preset else {}
    params.update(config.decoder.params)
    data = load_dataset(config.dataset)
    cost = sample_epochs(cls, params, data, config.evaluation)
    assert cost <= QUICK_SAMPLE_EPOCHS[cls.input_kind], f"{path.name}: {cost} training sample-epochs"


def test_the_demo_files_say_nothing_untrue_about_time():
    for path in DEMO_FILES:
        text = path.read_text().lower()
        assert "a minute on a laptop" not in text, path.name


@pytest.mark.parametrize("decoder,demo,paper", [("eeg-simpleconv", "demo:motor-imagery", "within-subject"),
                                                ("mindbridge", "demo:visual-fmri", "paper")])
def test_the_quick_bound_separates_quick_from_the_papers_settings(decoder, demo, paper):
    cls = decoders.get(decoder)
    data, config = demo_data(demo)
    papers = sample_epochs(cls, cls.presets[paper], data, config.evaluation)
    quick = sample_epochs(cls, cls.presets["quick"], data, config.evaluation)
    assert quick <= QUICK_SAMPLE_EPOCHS[cls.input_kind] < papers


def test_default_presets_are_not_the_papers():
    assert default_preset(decoders.get("eeg-simpleconv")) == "quick"
    assert default_preset(decoders.get("mindbridge")) == "quick"


@pytest.mark.parametrize("preset,filters,n_blocks,resample_hz,kernel_size,batch_size,head", [
    ("within-subject", 85, 1, 95.0, 15, 16, 0.0),
    ("cross-subject", 109, 4, 70.0, 8, 288, 0.0),
    ("cross-subject-subject-head", 160, 4, 70.0, 5, 288, 0.2)])
def test_eeg_simpleconv_paper_presets_keep_the_papers_values(preset, filters, n_blocks, resample_hz,
                                                             kernel_size, batch_size, head):
    """/work/shared/reference/eeg-simpleconv.md: the table and the training recipe."""
    decoder = decoders.create("eeg-simpleconv", {"sfreq": 160.0}, preset=preset)
    assert (decoder.filters, decoder.n_blocks, decoder.resample_hz, decoder.kernel_size) == (
        filters, n_blocks, resample_hz, kernel_size)
    assert (decoder.batch_size, decoder.subject_head_weight) == (batch_size, head)
    assert (decoder.epochs, decoder.optimizer, decoder.lr, decoder.weight_decay) == (50, "adam", 1e-3, 0.0)
    assert (decoder.schedule, decoder.step_at, decoder.gamma, decoder.mixup) == ("step", 0.8, 0.1, True)
    assert (decoder.fine_tune_epochs, decoder.fine_tune_batch_size, decoder.fine_tune_lr) == (60, 16, 1e-3)


def test_mindbridge_paper_preset_keeps_the_papers_values():
    """/work/shared/reference/mindbridge.md: architecture and cross-subject training recipe."""
    decoder = decoders.create("mindbridge", {}, preset="paper")
    assert (decoder.pooled, decoder.hidden, decoder.rank, decoder.blocks) == (8192, 2048, 128, 4)
    assert (decoder.dropout, decoder.translator_dropout, decoder.pooling) == (0.5, 0.15, "max")
    assert (decoder.epochs, decoder.lr, decoder.batch_size) == (600, 1.5e-4, 50)
    assert (decoder.optimizer, decoder.weight_decay, decoder.schedule) == ("adamw", 1e-2, "onecycle")
    assert (decoder.temperature, decoder.w_rec, decoder.w_cyc, decoder.finetune_epochs) == (0.005, 1.0, 1.0, 200)
