"""`neurodeck predict` for reconstruction decoders: voxels -> images, written as an ``.npz``
(images, subject, session, index, and the true images when the data hold them) with a PNG
grid of true versus reconstructed images beside it. ``--adapt`` reset-tunes the decoder on
subjects it does not know (their ``train`` samples) before reconstructing their other samples."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from data.errors import DataError, InputError


def seen_in_training(X: np.ndarray, spec: dict) -> np.ndarray:
    """Samples whose voxels (NaN-padded to the training width, as in training) were trained on."""
    from data.fingerprint import seen_mask

    width = int((spec.get("shape") or [X.shape[1]])[0])
    if X.shape[1] > width:
        return np.zeros(len(X), bool)
    padded = np.full((len(X), width), np.nan, np.float32)
    padded[:, :X.shape[1]] = X
    return seen_mask(padded, spec.get("training_digests"))


def predict_images(decoder, data, args, spec: dict | None = None) -> int:
    from data.atomic import atomic_path
    from decoders import metrics

    from ..reconstruction_figure import draw_reconstruction_grid

    out = Path(args.out) if args.out else None
    if out is None or out.name.lower().rpartition(".")[2] != "npz":   # an output file's type, not a source
        raise InputError("--out: a reconstruction decoder writes images: give --out FILE.npz "
                         "(a PNG grid of the images is written beside it).")
    rows = np.arange(len(data))
    known = list(getattr(decoder, "subjects_", None) or getattr(decoder, "models_", {}) or [])
    unknown = [s for s in data.subjects if s not in known]
    if unknown and getattr(args, "adapt", False):
        if not getattr(decoder, "supports_fine_tune", False):
            raise InputError(f"--adapt: decoder '{decoder.name}' cannot adapt to new subjects.")
        tune = np.isin(data.subject, unknown) & (data.session == "train")
        if data.stimuli is None or not tune.any():
            raise DataError(f"--adapt: no 'train' samples with images for subject(s) {unknown}.", args.data)
        print(f"reset-tuning on {int(tune.sum())} samples of new subject(s) {', '.join(unknown)}",
              file=sys.stderr)
        decoder.fine_tune(data.X[tune], stimuli=data.stimuli[tune], subject=data.subject[tune])
        rows = np.flatnonzero(~tune)
    elif unknown:
        raise InputError(f"subject(s) {unknown} are not known to this decoder (it knows {known}).",
                         hint="Name each file's subject with --subjects, or add --adapt to reset-tune "
                              "on the new subject's train samples first.")
    images = decoder.predict(data.X[rows], subject=data.subject[rows])
    seen = seen_in_training(data.X[rows], spec or {})
    arrays = {"images": images.astype(np.float32), "subject": data.subject[rows],
              "session": data.session[rows], "index": rows, "seen_in_training": seen}
    if seen.any():
        print(f"warning: {int(seen.sum())} of {len(rows)} samples were used to train this decoder "
              "(npz 'seen_in_training'); their scores say nothing about new data.", file=sys.stderr)
    truth = None
    if data.stimuli is not None:
        truth = data.stimuli[rows]
        arrays["truth"] = truth.astype(np.float32)
        for s in dict.fromkeys(data.subject[rows].tolist()):
            for label, part in (("seen in training", seen), ("not seen in training", ~seen)):
                keep = (data.subject[rows] == s) & part
                if keep.sum() < 2:
                    continue
                m = metrics.reconstruction(truth[keep], images[keep])
                print(f"{s}, {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items())
                      + f" ({int(keep.sum())} images)", file=sys.stderr)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    grid = draw_reconstruction_grid(out.with_suffix(".png"), truth, {"reconstructed": images},
                                    data.subject[rows])
    print(f"{len(rows)} reconstructions written to {out} and {grid}", file=sys.stderr)
    return 0
