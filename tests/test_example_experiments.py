"""Every example experiment in resources/experiments is a valid experiment (or sweep) file
whose decoder parameters validate against the decoder's schema."""
from pathlib import Path

import pytest

import decoders
from app.experiment import load_config

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "resources" / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in EXAMPLES if not p.name.startswith("sweep-")], ids=lambda p: p.stem)
def test_example_experiment_is_valid(path):
    config = load_config(path)
    decoder = decoders.create(config.decoder.name, config.decoder.params)
    decoder.validated_params()
    assert config.name == path.stem


def test_there_are_examples_for_every_decoder_family():
    names = {load_config(p).decoder.name for p in EXAMPLES if not p.name.startswith("sweep-")}
    assert {"eeg-simpleconv", "brainmae", "brainmae-pretrain", "kalman", "dkf", "mindbridge", "fc-lr",
            "tangent-fc-lr", "voxel-lr"} <= names
