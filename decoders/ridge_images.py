"""`RidgeImages`: per-subject ridge regression from voxels to pixels, or to the embedding of an
image codec (whose decoder then draws the image): the baselines MindBridge is compared with.
The penalty is chosen per subject by efficient leave-one-out (scikit-learn's RidgeCV)."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from data.errors import InputError

from .base import Decoder, DecoderParams, Task, state_list
from .reconstruction import ReconstructionScore, inputs, subject_array, voxel_count


class RidgeImagesParams(DecoderParams):
    """Ridge from voxels to pixels or to a codec embedding, one model per subject."""

    target: str = Field("pixels", pattern="^(pixels|embedding)$", description="Regress pixels directly, or the image codec's embedding.")
    alphas: list[float] = Field([1e0, 1e1, 1e2, 1e3, 1e4, 1e5], min_length=1, description="Ridge penalties tried (leave-one-out) per subject.")
    emb_dim: int = Field(32, ge=2, description="Embedding size of the codec (target: embedding).")
    codec_hidden: int = Field(256, ge=8, description="Hidden width of the image autoencoder (target: embedding).")
    codec_epochs: int = Field(300, ge=0, description="Epochs fitting the image autoencoder (target: embedding).")
    codec_extra: str = Field("none", pattern="^(none|sklearn-digits)$", description="Extra images for the autoencoder.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the codec's training.")


class RidgeImages(ReconstructionScore, Decoder):
    name: ClassVar[str] = "ridge-images"
    description: ClassVar[str] = "Per-subject ridge regression from voxels to pixels (or to an image codec's embedding)."
    task: ClassVar[Task] = Task.RECONSTRUCTION
    input_kind: ClassVar[str] = "volumes"
    modalities: ClassVar[tuple[str, ...]] = ("fmri",)
    Params = RidgeImagesParams
    presets: ClassVar[dict[str, dict[str, Any]]] = {"embedding": {"target": "embedding"}}


    def fit(self, X, y=None, *, stimuli=None, subject=None, context=None):
        from sklearn.linear_model import RidgeCV


        p = self.validated_params()
        X, images, subject = inputs(X, y, stimuli, subject, "fit")
        self.image_shape_ = tuple(images.shape[1:])
        targets = images.reshape(len(images), -1)
        self.codec_ = None
        if p.target == "embedding":
            from .mindbridge.codec import AutoencoderCodec, codec_images

            self.codec_ = AutoencoderCodec(self.image_shape_, p.emb_dim, p.codec_hidden)
            self.codec_.fit(codec_images(images, p.codec_extra), epochs=p.codec_epochs, seed=p.seed,
                            context=context)
            targets = self.codec_.encode(images)
        self.models_ = {}
        for s in dict.fromkeys(subject.tolist()):
            rows = subject == s
            n = voxel_count(X[rows], s)
            block = X[rows][:, :n]
            mean, std = block.mean(0), block.std(0) + 1e-6
            ridge = RidgeCV(alphas=p.alphas).fit((block - mean) / std, targets[rows])
            self.models_[s] = (mean, std, ridge.coef_.astype(np.float32), np.asarray(ridge.intercept_, np.float32),
                               float(ridge.alpha_))
        return self

    def predict_embedding(self, X, *, subject=None) -> np.ndarray:
        """Ridge outputs: embeddings (target: embedding) or flat pixels (target: pixels)."""

        self._require_fitted("models_")
        X = np.asarray(X, np.float32)
        subject = subject_array(subject, len(X))
        out = None
        for s in dict.fromkeys(subject.tolist()):
            if s not in self.models_:
                raise InputError(f"ridge-images: subject '{s}' not trained; known: {list(self.models_)}.")
            mean, std, coef, intercept, _ = self.models_[s]
            if X.ndim != 2 or X.shape[1] < len(mean):
                raise InputError(f"ridge-images: X has shape {X.shape}; subject '{s}' needs {len(mean)} voxel columns.")
            rows = subject == s
            values = ((X[rows][:, :len(mean)] - mean) / std) @ coef.T + intercept
            out = np.zeros((len(X), values.shape[1]), np.float32) if out is None else out
            out[rows] = values
        return out

    def predict(self, X, *, subject=None) -> np.ndarray:
        """Reconstructed images (n, H, W)."""
        values = self.predict_embedding(X, subject=subject)
        if self.codec_ is not None:
            return self.codec_.decode(values)
        return values.reshape(len(values), *self.image_shape_)

    def get_state(self):
        self._require_fitted("models_")
        arrays = {}
        for i, (mean, std, coef, intercept, _) in enumerate(self.models_.values()):
            arrays.update({f"s{i}.mean": mean, f"s{i}.std": std, f"s{i}.coef": coef, f"s{i}.intercept": intercept})
        extra = {"subjects": list(self.models_), "alphas": [m[4] for m in self.models_.values()],
                 "image_shape": list(self.image_shape_), "codec": None}
        if self.codec_ is not None:
            arrays.update(self.codec_.state())
            extra["codec"] = self.codec_.config()
        return arrays, extra

    def set_state(self, arrays, extra):
        subjects = [str(s) for s in state_list(extra, "subjects", 1)]
        alphas = state_list(extra, "alphas", len(subjects))
        try:
            self.models_ = {s: (np.asarray(arrays[f"s{i}.mean"]), np.asarray(arrays[f"s{i}.std"]),
                                np.asarray(arrays[f"s{i}.coef"]), np.asarray(arrays[f"s{i}.intercept"]),
                                float(alphas[i])) for i, s in enumerate(subjects)}
        except KeyError as exc:
            raise InputError(f"ridge-images bundle: missing array {exc}.") from None
        self.image_shape_ = tuple(extra["image_shape"])
        self.codec_ = None
        if extra.get("codec"):
            from .mindbridge.codec import AutoencoderCodec

            self.codec_ = AutoencoderCodec.from_state(extra["codec"], arrays)
        return self
