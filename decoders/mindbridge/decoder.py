"""`MindBridge`: one model that reconstructs the images seen by several subjects with
different voxel counts, and adapts to a new subject by reset-tuning.

fit(X, stimuli=, subject=) first fits the image codec on the stimuli (the embedding space and
the generator), then trains the network with

    loss = w_emb * MSE(pred, emb) + w_pix * MSE(decode(pred), image)
           + w_corr * (1 - pixel correlation(decode(pred), image)) + w_clip * soft-contrastive
           + w_rec * MSE(builder(embedder(v)), v) + w_cyc * MSE(e_a, embedder_b(builder_b(e_a)))

(``v``: the subject's pooled voxels, ``e_a`` its embedding, ``b`` another subject drawn per
batch). ``fine_tune`` is reset-tuning: the named subjects get a fresh embedder and builder and
only those train; the translator, head and codec stay frozen.

With ``ridge_blend`` > 0 a linear skip path is fitted beside the network: per subject, ridge
from voxels to pixels (penalty by leave-one-out on the training samples, ``RidgeImages``), and
``predict`` returns ``ridge_blend * ridge + (1 - ridge_blend) * network``. The weight is fixed
a priori (0.5: the plain average of two predictors of similar quality), never tuned on test data.

With ``intensity_map: auto`` each subject also gets a pixel-intensity map applied after the
blend (none, isotonic, or histogram matching to its training images; `intensity.choose_map`),
chosen by PixCorr + SSIM on out-of-fold predictions of its training samples from
``intensity_folds`` inner fits: restoring the contrast the blend averages away, at the cost of
that many extra fits. Subjects added by ``fine_tune`` get no map (identity).

With ``inner_ensemble`` (on by default, used only with ``intensity_map: auto``) those inner fits'
networks are kept, and for each subject ``predict`` averages their images with the full fit's
before the blend: a cross-fitted ensemble that costs no extra training (bundles hold every
network). Subjects that ``fine_tune`` refits leave the ensemble (the inner networks never saw them).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from data.errors import InputError

from ..base import DecoderParams, Task, state_list
from ..events import EpochEnd, ImageReconstruction, TrainingContext
from ..neural import NeuralDecoder
from ..reconstruction import ReconstructionScore
from ..reconstruction import inputs as _inputs
from ..reconstruction import subject_array as _subjects
from ..reconstruction import voxel_count as _voxel_count
from ..training_settings import with_training_settings

LOSS_TERMS = ("emb", "pix", "corr", "clip", "rec", "cyc")


class MindBridgeNetworkParams(DecoderParams):
    """Network, codec and loss weights of MindBridge (training settings follow)."""

    pooled: int = Field(1024, ge=8, description="Common length every subject's voxels are pooled to.")
    pooling: str = Field("max", pattern="^(max|avg|linear)$", description="Aggregation to the common length: adaptive max (reference), average pooling or linear resizing.")
    hidden: int = Field(256, ge=8, description="Width of embedder output, translator and builder input.")
    rank: int = Field(32, ge=1, description="Bottleneck of the low-rank adapters.")
    blocks: int = Field(2, ge=0, description="Residual blocks of the shared translator.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout after each subject's embedder.")
    translator_dropout: float = Field(0.15, ge=0, lt=1, description="Dropout inside the translator.")
    emb_dim: int = Field(32, ge=2, description="Size of the image codec's embedding.")
    codec_hidden: int = Field(256, ge=8, description="Hidden width of the image autoencoder.")
    codec_epochs: int = Field(300, ge=0, description="Epochs fitting the image autoencoder.")
    codec_extra: str = Field("none", pattern="^(none|sklearn-digits)$", description="Extra images for the autoencoder: scikit-learn's digits, resized.")
    w_emb: float = Field(1.0, ge=0, description="Weight of the embedding MSE.")
    w_pix: float = Field(1.0, ge=0, description="Weight of the pixel MSE of the decoded embedding.")
    w_corr: float = Field(0.0, ge=0, description="Weight of 1 - the per-image pixel correlation of the decoded embedding with the image (PixCorr as a loss).")
    w_clip: float = Field(0.1, ge=0, description="Weight of the soft contrastive loss between predicted and true embeddings.")
    temperature: float = Field(0.05, gt=0, description="Temperature of the contrastive loss.")
    w_rec: float = Field(1.0, ge=0, description="Weight of the voxel reconstruction loss (builder(embedder(v)) vs v).")
    w_cyc: float = Field(1.0, ge=0, description="Weight of the cycle loss through another subject's builder and embedder.")
    ridge_blend: float = Field(0.5, ge=0, le=1, description="Weight of the linear skip path (per-subject ridge to pixels, penalty by leave-one-out) averaged with the network's images; 0 = network only.")
    intensity_map: str = Field("none", pattern="^(none|auto)$", description="Per-subject pixel-intensity map after the blend: none, or auto (none / isotonic / histogram matching, chosen by PixCorr + SSIM on out-of-fold training predictions; costs intensity_folds extra fits).")
    intensity_folds: int = Field(5, ge=2, le=20, description="Inner folds whose out-of-fold predictions choose the intensity map (intensity_map: auto).")
    inner_ensemble: bool = Field(True, description="With intensity_map auto: keep the inner fits' networks and average their images with the full fit's (a cross-fitted ensemble, no extra training; bundles grow accordingly).")
    finetune_epochs: int = Field(200, ge=1, description="Epochs of reset-tuning on a new subject.")
    preview_every: int = Field(10, ge=1, description="Epochs between live reconstruction previews.")
    preview_images: int = Field(8, ge=1, description="Validation stimuli shown in the live preview.")


MindBridgeParams = with_training_settings(
    "MindBridgeParams", MindBridgeNetworkParams, epochs=300, batch_size=32, optimizer="adamw",
    lr=1e-3, weight_decay=1e-2, schedule="cosine")


QUICK = {"pooled": 128, "hidden": 64, "rank": 8, "blocks": 1, "emb_dim": 16, "codec_hidden": 64,
         "codec_epochs": 60, "epochs": 40, "finetune_epochs": 40}


class MindBridge(ReconstructionScore, NeuralDecoder):
    name: ClassVar[str] = "mindbridge"
    description: ClassVar[str] = ("MindBridge-style cross-subject image reconstruction: per-subject "
                                  "embedders, shared translator, reset-tuning of new subjects.")
    task: ClassVar[Task] = Task.RECONSTRUCTION
    input_kind: ClassVar[str] = "volumes"
    modalities: ClassVar[tuple[str, ...]] = ("fmri",)
    supports_fine_tune: ClassVar[bool] = True
    Params = MindBridgeParams
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        # the GUI's default (the first preset): a small network, measured on the demo's training
        # images (tests/benchmarks/RESULTS.md, "Quick presets (issue 20)")
        "quick": QUICK,
        "tiny": {"pooled": 128, "hidden": 64, "rank": 8, "blocks": 1, "emb_dim": 16,
                 "codec_hidden": 64, "codec_epochs": 60, "epochs": 40},
        # the reference's architecture and cross-subject recipe (Wang et al. 2024): pooled to 8192,
        # width 2048, adapters of rank 128, 4 translator blocks, dropout 0.5 / 0.15; AdamW (weight
        # decay 1e-2), OneCycle to 1.5e-4, 600 epochs, batch 50, soft-CLIP temperature 0.005,
        # reconstruction and cycle losses x1, reset-tuning 200 epochs. Our embedding is the local
        # image codec's, not CLIP's, so the embedding loss keeps its own weight.
        "paper": {"pooled": 8192, "pooling": "max", "hidden": 2048, "rank": 128, "blocks": 4,
                  "dropout": 0.5, "translator_dropout": 0.15, "epochs": 600, "lr": 1.5e-4,
                  "batch_size": 50, "optimizer": "adamw", "weight_decay": 1e-2, "schedule": "onecycle",
                  "temperature": 0.005, "w_rec": 1.0, "w_cyc": 1.0, "finetune_epochs": 200},
    }

    # ----------------------------------------------------------------- fitting
    def fit(self, X, y=None, *, stimuli=None, subject=None, context: TrainingContext | None = None):
        import torch

        from .codec import AutoencoderCodec, codec_images
        from .network import MindBridgeNet

        p = self.validated_params()
        X, images, subject = _inputs(X, y, stimuli, subject, "fit")
        names = list(dict.fromkeys(subject.tolist()))
        counts = [_voxel_count(X[subject == s], s) for s in names]
        torch.manual_seed(p.seed)
        device = self.training_device(context)
        codec = AutoencoderCodec(images.shape[1:], p.emb_dim, p.codec_hidden)
        codec.fit(codec_images(images, p.codec_extra), epochs=p.codec_epochs, seed=p.seed,
                  context=context, device=device)
        self.codec_ = codec
        self.subjects_ = names
        self.image_shape_ = tuple(images.shape[1:])
        self.network_ = MindBridgeNet(counts, p.emb_dim, p.pooled, p.hidden, p.rank, p.blocks,
                                      p.dropout, p.translator_dropout, p.pooling)
        self._set_voxel_stats(X, subject, names)
        self.history_ = self._train(X, images, subject, names, context, trainable=None)
        self.ridge_ = _fit_ridge(X, images, subject, p.ridge_blend)
        self.intensity_, self.inner_, self.ensemble_subjects_ = {}, [], []
        if p.intensity_map == "auto":
            self.intensity_ = self._choose_intensity_maps(X, images, subject, context)
        return self

    def _choose_intensity_maps(self, X, images, subject, context) -> dict:
        """Per subject, the intensity map scoring best on out-of-fold predictions of its
        training samples (inner K-fold within each subject; each inner fit sees every subject)."""
        from sklearn.model_selection import KFold

        from .intensity import choose_map

        p = self.validated_params()
        folds = np.full(len(X), -1)
        for s in dict.fromkeys(subject.tolist()):
            rows = np.flatnonzero(subject == s)
            if len(rows) >= 2 * p.intensity_folds:
                for k, (_, held) in enumerate(KFold(p.intensity_folds, shuffle=True,
                                                     random_state=p.seed).split(rows)):
                    folds[rows[held]] = k
        oof = np.zeros(images.shape, np.float32)
        quiet = replace(context, on_event=None) if context is not None else None
        for k in range(p.intensity_folds):
            held = folds == k
            if not held.any():
                continue
            if context is not None:
                if context.cancelled:
                    break
                context.log(f"mindbridge: intensity map, inner fit {k + 1}/{p.intensity_folds}")
            inner = self._inner_member().fit(X[~held], stimuli=images[~held], subject=subject[~held],
                                             context=quiet)
            oof[held] = inner.predict(X[held], subject=subject[held])
            if p.inner_ensemble:
                inner.ridge_ = None   # the ensemble averages networks; the skip path is the full fit's
                self.inner_.append(inner)
        maps, self.intensity_scores_, self.intensity_candidates_ = {}, {}, {}
        for s in dict.fromkeys(subject.tolist()):
            rows = (subject == s) & (folds >= 0)
            if not rows.any() or (context is not None and context.cancelled):
                continue
            maps[s], scores, self.intensity_candidates_[s] = choose_map(oof[rows], images[rows], folds[rows])
            self.intensity_scores_[s] = scores
            if context is not None:
                context.log(f"mindbridge: subject {s}: intensity map '{maps[s].label}' "
                            f"(out-of-fold PixCorr + SSIM: {scores})")
        if self.inner_ and not (context is not None and context.cancelled):
            self.ensemble_subjects_ = [s for s in dict.fromkeys(subject.tolist())
                                       if all(s in m.subjects_ for m in self.inner_)]
            if context is not None:
                context.log(f"mindbridge: images of {len(self.inner_) + 1} networks averaged (the full fit "
                            f"and the {len(self.inner_)} inner fits) for {self.ensemble_subjects_}")
        else:
            self.inner_ = []
        return maps

    def fine_tune(self, X, y=None, *, stimuli=None, subject=None, context: TrainingContext | None = None):
        """Reset-tuning: fresh embedder and builder for each subject named; only they train."""
        self._require_fitted("network_")
        X, images, subject = _inputs(X, y, stimuli, subject, "fine_tune")
        names = list(dict.fromkeys(subject.tolist()))
        for s in names:
            if s in self.subjects_:
                self.network_.reset_subject(self.subjects_.index(s))
                self.network_.n_voxels[self.subjects_.index(s)] = _voxel_count(X[subject == s], s)
            else:
                self.network_.add_subject(_voxel_count(X[subject == s], s))
                self.subjects_.append(s)
        self._set_voxel_stats(X, subject, names)
        for s in names:   # a map chosen for the old weights no longer applies, nor old inner networks
            getattr(self, "intensity_", {}).pop(s, None)
        self.ensemble_subjects_ = [s for s in getattr(self, "ensemble_subjects_", []) if s not in names]
        p = self.validated_params()
        self.history_ = self._train(X, images, subject, names, context, trainable=names,
                                    epochs=p.finetune_epochs)
        tuned = _fit_ridge(X, images, subject, p.ridge_blend)
        if tuned is not None:
            if getattr(self, "ridge_", None) is None:
                self.ridge_ = tuned
            else:
                self.ridge_.models_.update(tuned.models_)
        return self

    def _set_voxel_stats(self, X, subject, names) -> None:
        import torch

        net = self.network_
        for s in names:
            i = self.subjects_.index(s)
            n = net.n_voxels[i]
            block = X[subject == s][:, :n]
            if net.voxel_mean.shape[1] < n:  # a known subject re-tuned with more voxels
                raise InputError(f"subject '{s}' has {n} voxels, more than the model holds.")
            net.voxel_mean[i, :n] = torch.as_tensor(block.mean(0))
            net.voxel_std[i, :n] = torch.as_tensor(block.std(0) + 1e-6)

    def _train(self, X, images, subject, names, context, trainable, **overrides):
        import torch

        p = self.validated_params()
        net = self.network_
        for param in net.parameters():
            param.requires_grad = trainable is None
        if trainable is not None:
            for s in trainable:
                i = self.subjects_.index(s)
                for module in (net.embedders[i], net.builders[i]):
                    for param in module.parameters():
                        param.requires_grad = True
        idx = np.array([self.subjects_.index(s) for s in subject], dtype=np.int64)
        emb = self.codec_.encode(images).astype(np.float32)
        flat = images.reshape(len(images), -1).astype(np.float32)
        Xz = np.nan_to_num(X, nan=0.0).astype(np.float32)
        rng = np.random.default_rng(p.seed)
        order = rng.permutation(len(X))
        n_val = int(round(p.val_fraction * len(X)))
        val_rows, train_rows = order[:n_val], order[n_val:]
        arrays = lambda rows: (Xz[rows], idx[rows], emb[rows], flat[rows])  # noqa: E731
        preview = (val_rows if n_val else train_rows)[: p.preview_images]
        context = self._previewing(context, Xz[preview], subject[preview], images[preview], p.preview_every)
        result = self.train_network(net, self._loss(), arrays(train_rows),
                                     arrays(val_rows) if n_val else None, context=context, **overrides)
        net.cpu().eval()
        for param in net.parameters():
            param.requires_grad = True
        return result.history

    def _loss(self):
        import torch
        from torch.nn import functional as F

        p = self.validated_params()
        codec = self.codec_
        n_subjects = len(self.subjects_)
        generator = torch.Generator().manual_seed(p.seed)

        def loss_fn(net, batch):
            v, s, emb, img = batch
            codec.net.to(v.device)
            for q in codec.net.parameters():
                q.requires_grad_(False)
            pred = torch.zeros_like(emb)
            rec = cyc = v.new_zeros(())
            for k, rows, pooled in net.by_subject(v, s):
                e = net.embedders[k](pooled)
                pred[rows] = net.head(net.translator(e))
                rec = rec + F.mse_loss(net.builders[k](e), pooled) * len(rows) / len(v)
                if n_subjects > 1 and p.w_cyc > 0:
                    b = int(torch.randint(n_subjects - 1, (1,), generator=generator))
                    b = b + (b >= k)
                    cyc = cyc + F.mse_loss(net.embedders[b](net.builders[b](e)), e) * len(rows) / len(v)
            decoded = codec.decode_torch(pred)
            terms = {"emb": F.mse_loss(pred, emb),
                     "pix": F.mse_loss(decoded, img),
                     "corr": 1 - _pixel_correlation(decoded, img).mean(),
                     "clip": _soft_contrastive(pred, emb, p.temperature) if len(v) > 1 else v.new_zeros(()),
                     "rec": rec, "cyc": cyc}
            weights = {"emb": p.w_emb, "pix": p.w_pix, "corr": p.w_corr, "clip": p.w_clip, "rec": p.w_rec, "cyc": p.w_cyc}
            total = sum(weights[k] * terms[k] for k in LOSS_TERMS)
            return total, {k: terms[k].detach() for k in LOSS_TERMS}

        return loss_fn

    def _previewing(self, context, X, subject, truth, every):
        """A context that, every ``every`` epochs, emits the reconstructions of a fixed set of
        stimuli (the live grid of the Train view)."""
        if context is None or context.on_event is None:
            return context
        parent = context.on_event

        def on_event(event):
            parent(event)
            if isinstance(event, EpochEnd) and (event.epoch % every == 0 or event.epoch == event.n_epochs):
                epoch = event.epoch
                net = self.network_
                was_training = net.training
                net.eval()
                decoded = self._decode(X, subject)
                net.train(was_training)
                context.emit(ImageReconstruction(truth=truth, decoded=decoded, subjects=list(subject), epoch=epoch))

        return replace(context, on_event=on_event)

    # -------------------------------------------------------------- predicting
    def predict_embedding(self, X, *, subject=None) -> np.ndarray:
        """The predicted stimulus embeddings (n, emb_dim)."""
        import torch

        self._require_fitted("network_")
        X = np.asarray(X, np.float32)
        subject = _subjects(subject, len(X))
        unknown = sorted(set(subject.tolist()) - set(self.subjects_))
        if unknown:
            raise InputError(f"mindbridge: subject(s) {unknown} not trained; known: {self.subjects_}.",
                             hint="Adapt the model to a new subject with fine_tune (reset-tuning).")
        width = max(self.network_.n_voxels[self.subjects_.index(s)] for s in set(subject.tolist()))
        if X.ndim != 2 or X.shape[1] < width:
            raise InputError(f"mindbridge: X has shape {X.shape}; subjects need {width} voxel columns.")
        idx = torch.as_tensor([self.subjects_.index(s) for s in subject])
        net = self.network_.cpu().eval()
        with torch.no_grad():
            return net(torch.as_tensor(np.nan_to_num(X, nan=0.0)), idx).numpy()

    def _decode(self, X, subject) -> np.ndarray:
        import torch

        idx = torch.as_tensor([self.subjects_.index(s) for s in subject])
        with torch.no_grad():
            dev = next(self.network_.parameters()).device
            emb = self.network_(torch.as_tensor(X, device=dev), idx.to(dev)).cpu().numpy()
        self.codec_.net.cpu()
        return self.codec_.decode(emb)

    def predict(self, X, *, subject=None) -> np.ndarray:
        """Reconstructed images (n, H, W): the network's, averaged with the ridge skip path's
        (weight ``ridge_blend``) when one was fitted."""
        images = self.predict_network_images(X, subject=subject)
        ridge = getattr(self, "ridge_", None)
        subjects = _subjects(subject, len(X))
        images = self.average_inner_networks(images, X, subjects)
        if ridge is not None:
            b = self.validated_params().ridge_blend
            linear = ridge.predict(np.asarray(X, np.float32), subject=subjects)
            images = (b * linear + (1 - b) * images).astype(np.float32)
        for s, mapping in getattr(self, "intensity_", {}).items():
            rows = subjects == s
            if rows.any():
                images[rows] = mapping.apply(images[rows])
        return images

    def average_inner_networks(self, images, X, subjects) -> np.ndarray:
        """The full fit's network images ``images`` of ``X`` averaged with the inner fits' for the
        ensemble's subjects (updated in place and returned)."""
        inner = getattr(self, "inner_", [])
        for s in getattr(self, "ensemble_subjects_", []):
            rows = subjects == s
            if inner and rows.any():
                members = [m.predict_network_images(X[rows], subject=subjects[rows]) for m in inner]
                images[rows] = np.mean([images[rows], *members], axis=0)
        return images

    def predict_network_images(self, X, *, subject=None) -> np.ndarray:
        """This fit's network images alone (no ensemble, skip path or intensity map)."""
        emb = self.predict_embedding(X, subject=subject)
        self.codec_.net.cpu()
        return self.codec_.decode(emb)

    # ------------------------------------------------------------------ bundles
    def get_state(self):
        self._require_fitted("network_")
        arrays = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.network_.state_dict().items()}
        arrays.update(self.codec_.state())
        extra = {"subjects": list(self.subjects_), "n_voxels": list(self.network_.n_voxels),
                 "image_shape": list(self.image_shape_), "codec": self.codec_.config(), "ridge": None}
        if getattr(self, "ridge_", None) is not None:
            ridge_arrays, extra["ridge"] = self.ridge_.get_state()
            arrays.update({f"ridge.{k}": v for k, v in ridge_arrays.items()})
        extra["intensity"] = {}
        for i, (s, mapping) in enumerate(getattr(self, "intensity_", {}).items()):
            map_arrays, extra["intensity"][s] = mapping.state(f"intensity.{i}")
            extra["intensity"][s]["index"] = i
            arrays.update(map_arrays)
        extra["inner"], extra["ensemble_subjects"] = [], list(getattr(self, "ensemble_subjects_", []))
        for i, member in enumerate(getattr(self, "inner_", [])):
            member_arrays, member_extra = member.get_state()
            arrays.update({f"inner.{i}.{k}": v for k, v in member_arrays.items()})
            extra["inner"].append({k: member_extra[k] for k in ("subjects", "n_voxels", "image_shape", "codec")})
        return arrays, extra

    def set_state(self, arrays, extra):
        import torch

        from .codec import AutoencoderCodec
        from .network import MindBridgeNet

        p = self.validated_params()
        subjects = [str(s) for s in state_list(extra, "subjects", 1)]
        counts = [int(n) for n in state_list(extra, "n_voxels", 1)]
        if len(subjects) != len(counts):
            raise InputError("mindbridge bundle: 'subjects' and 'n_voxels' differ in length.")
        stats = np.shape(arrays.get("net.voxel_mean", ()))   # checked before any allocation
        if stats != (len(counts), max(counts)) or min(counts) < 1:
            raise InputError(f"mindbridge bundle: 'n_voxels' {counts[:5]} does not match the saved voxel "
                             f"statistics of shape {stats}.")
        net = MindBridgeNet(counts, p.emb_dim, p.pooled, p.hidden, p.rank, p.blocks, p.dropout,
                            p.translator_dropout, p.pooling)
        try:
            net.load_state_dict({k[4:]: torch.as_tensor(np.asarray(v)) for k, v in arrays.items()
                                 if k.startswith("net.")})
            self.codec_ = AutoencoderCodec.from_state(extra["codec"], arrays)
        except (RuntimeError, KeyError) as exc:
            raise InputError(f"mindbridge bundle: weights do not fit the parameters ({exc}).") from None
        self.network_ = net.eval()
        self.subjects_ = subjects
        self.image_shape_ = tuple(extra["image_shape"])
        self.ridge_ = None
        if extra.get("ridge"):
            from ..ridge_images import RidgeImages

            self.ridge_ = RidgeImages().set_state(
                {k[6:]: v for k, v in arrays.items() if k.startswith("ridge.")}, extra["ridge"])
        self.intensity_ = _intensity_maps(arrays, extra.get("intensity") or {}, subjects)
        self.inner_, self.ensemble_subjects_ = self._inner_networks(arrays, extra)
        return self

    def _inner_member(self) -> "MindBridge":
        """An unfitted decoder with these parameters that maps no intensities (so keeps no inner fits)."""
        return type(self)(**{**self.get_params(deep=False), "intensity_map": "none"})

    def _inner_networks(self, arrays, extra) -> tuple[list, list]:
        """The inner fits' networks of a bundle (older bundles have none) and the subjects they serve."""
        entries, served = extra.get("inner") or [], extra.get("ensemble_subjects") or []
        if not isinstance(entries, list) or len(entries) > 20 or not isinstance(served, list):
            raise InputError("mindbridge bundle: 'inner' must list at most 20 inner networks.")
        inner = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise InputError(f"mindbridge bundle: inner network {i} is not described by a mapping.")
            prefix = f"inner.{i}."
            member = self._inner_member().set_state(
                {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)},
                {**entry, "ridge": None, "intensity": {}, "inner": []})
            inner.append(member)
        served = [str(s) for s in served]
        for s in served:
            if s not in self.subjects_ or not all(s in m.subjects_ for m in inner):
                raise InputError(f"mindbridge bundle: the ensemble names subject '{s}', which its networks do not know.")
        return inner, (served if inner else [])


def _intensity_maps(arrays, entries, subjects) -> dict:
    """The per-subject intensity maps of a bundle (older bundles have none)."""
    from .intensity import IntensityMap

    if not isinstance(entries, dict):
        raise InputError("mindbridge bundle: 'intensity' must map subjects to intensity maps.")
    maps = {}
    for s, entry in entries.items():
        if s not in subjects or not isinstance(entry, dict):
            raise InputError(f"mindbridge bundle: intensity map for unknown subject '{s}'.")
        try:
            maps[s] = IntensityMap.from_state(arrays, entry, f"intensity.{int(entry.get('index', -1))}")
        except (TypeError, ValueError) as exc:
            raise InputError(f"mindbridge bundle: subject '{s}': {exc}.") from None
    return maps


def _fit_ridge(X, images, subject, blend: float):
    """The linear skip path: per-subject ridge to pixels (leave-one-out penalty), or None."""
    if blend <= 0:
        return None
    from ..ridge_images import RidgeImages

    return RidgeImages(target="pixels").fit(X, stimuli=images, subject=subject)


def _pixel_correlation(a, b):
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (flat images)."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-8)


def _soft_contrastive(pred, target, temperature: float):
    """Soft CLIP loss: predicted-to-true similarities against the true-to-true ones as soft labels."""
    import torch
    from torch.nn import functional as F

    a, b = F.normalize(pred, dim=1), F.normalize(target, dim=1)
    soft = torch.softmax(b @ b.T / temperature, dim=1)
    logits = a @ b.T / temperature
    return 0.5 * (torch.sum(-soft * F.log_softmax(logits, 1), 1).mean()
                  + torch.sum(-soft * F.log_softmax(logits.T, 1), 1).mean())
