"""``brainmae-pretrain``: self-supervised masked-segment pretraining of the BrainMAE encoder
(no labels). Its bundle is the pretrained encoder that a ``brainmae`` fine-tuning experiment
names (``encoder:``). Evaluated (task ``pretraining``) by masked-segment R^2 on held-out
subjects, beside the ROI-mean fill and linear interpolation across the gap.

While it trains it reports, per epoch, the training and validation losses and masked R^2
(``val_fraction`` of the subjects held out, drawn from the seed and the training subjects, so
each fold has its own) and a ``reconstruction`` event: a few ROIs of one held-out subject (by its
ID), the masked segments and the network's reconstruction of them.
"""
from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from ..base import Task, TensorSpec
from ..events import EpochEnd, SignalReconstruction, TrainingContext
from ..training_settings import with_training_settings
from .common import BrainMAEBase, BrainMAENetworkParams, masked_loss


class BrainMAEPretrainNetworkParams(BrainMAENetworkParams):
    preview_rois: int = Field(4, ge=1, description="ROIs of the held-out subject shown in the live reconstruction.")


BrainMAEPretrainParams = with_training_settings(
    "BrainMAEPretrainParams", BrainMAEPretrainNetworkParams, epochs=20, batch_size=32, optimizer="adamw",
    lr=1e-3, weight_decay=0.05, schedule="cosine", val_fraction=0.1)


class BrainMAEPretrain(BrainMAEBase):
    name: ClassVar[str] = "brainmae-pretrain"
    description: ClassVar[str] = ("BrainMAE encoder pretraining: masked-segment reconstruction of ROI series "
                                  "(no labels); its bundle is the encoder a brainmae fine-tuning names.")
    task: ClassVar[Task] = Task.PRETRAINING
    Params: ClassVar[type] = BrainMAEPretrainParams
    presets: ClassVar[dict[str, dict[str, Any]]] = {"tiny": {"dim": 16, "depth": 1, "epochs": 3}}

    def fit(self, X, y=None, *, tr=None, subject=None, context: TrainingContext | None = None):
        """Pretrain on every subject's windows (``y`` is ignored)."""
        p = self.validated_params()
        X = np.asarray(X, dtype=np.float32)
        tr = self._trs(X, tr)
        subject = np.asarray(subject if subject is not None else np.arange(len(X))).astype(str)
        # The held-out (validation) subjects are drawn from the seed and these training subjects,
        # so each fold holds out, and previews, subjects of its own rather than the same position.
        rng = np.random.default_rng([p.seed, zlib.crc32("\0".join(sorted(subject)).encode())])
        n_val = int(round(p.val_fraction * len(X))) if len(X) > 2 else 0
        val = np.zeros(len(X), bool)
        val[rng.permutation(len(X))[:n_val]] = True
        W, owner = self._windows(X[~val], tr[~val])
        self.n_rois_ = W.shape[1]
        self.net_ = self.fit_network(W, owner=owner, context=context,
                                     val=self._val_windows(X[val], tr[val], subject[val], rng))
        return self

    def fit_network(self, W, *, owner=None, context=None, val=None, epochs=None, lr=None):
        """Train a fresh network on windows ``W`` (``owner``: each window's subject, needed
        with ``windows_per_subject``); ``val``: (windows, masks, preview) or None."""
        from .sampling import training_batches

        p = self.validated_params()
        arch = self.architecture()
        net = self.build_network(W.shape[1], arch)
        loss_fn = masked_loss(p.mask_ratio, p.masked_weight, p.seed)
        ctx = context or TrainingContext()
        val_data = None
        if val is not None:
            val_data = val[:2]
            ctx = self._previewing(ctx, net, *val[2])
        overrides = {k: v for k, v in (("epochs", epochs), ("lr", lr)) if v is not None}
        per_subject = p.windows_per_subject if owner is not None else None
        train = training_batches((W,), owner, per_subject, p.batch_size, p.seed)
        self.history_ = self.train_network(net, loss_fn, train, val_data, context=ctx, **overrides).history
        return net.cpu().eval()

    def _val_windows(self, X, tr, subject, rng):
        """Held-out subjects' windows with fixed masks, and the preview of the first one."""
        if not len(X):
            return None
        from .masking import mask_segments

        p = self.validated_params()
        W, owner = self._windows(X, tr)
        M = mask_segments(W.shape[:3], p.mask_ratio, rng)
        rois = np.unique(np.linspace(0, W.shape[1] - 1, min(p.preview_rois, W.shape[1])).astype(int))
        preview = (W[0], M[0], rois, str(subject[owner[0]]), float(tr[owner[0]]) * self._resampling(tr[owner[0]]))
        return W, M, preview

    def _resampling(self, tr: float) -> float:
        """Segment samples per original time point (1 when no resampling happened)."""
        from .masking import points_per_segment

        p = self.validated_params()
        return points_per_segment(p.seg_seconds, tr) / p.seg_points

    def _previewing(self, context, net, W, M, rois, subject_id, sample_s):
        """A context that, after every epoch, emits the held-out subject's masked segments of
        a few ROIs and their reconstruction (the Train view's live pane)."""
        if context.on_event is None:
            return context
        import torch

        parent = context.on_event
        seg_points = W.shape[2]

        def on_event(event):
            parent(event)
            if not isinstance(event, EpochEnd):
                return
            was_training = net.training
            net.eval()
            device = next(net.parameters()).device
            with torch.no_grad():
                rec = net.reconstruct(torch.as_tensor(W[None], device=device),
                                      torch.as_tensor(M[None], device=device))[0].float().cpu().numpy()
            net.train(was_training)
            flat = lambda a: a[rois].reshape(len(rois), -1)  # noqa: E731
            context.emit(SignalReconstruction(
                truth=flat(W), decoded=flat(rec), mask=np.repeat(M[rois], seg_points, axis=1),
                channel_names=[f"roi{r + 1}" for r in rois], subject=subject_id, epoch=event.epoch, tr=sample_s))

        return replace(context, on_event=on_event)

    # ------------------------------------------------------------------ evaluating
    def reconstruct_masked(self, X, rng, *, tr=None):
        """Masked segments of ``X``'s windows (random masks from ``rng``), the network's
        reconstruction and the two trivial fills: (true, predicted, {fill: values})."""
        import torch

        from .masking import baseline_fills, mask_segments

        self._require_fitted("net_")
        W, _ = self._windows(np.asarray(X, dtype=np.float32), tr)
        M = mask_segments(W.shape[:3], self.validated_params().mask_ratio, rng)
        with torch.inference_mode():
            pred = self.net_.reconstruct(torch.as_tensor(W), torch.as_tensor(M)).numpy()
        fills = baseline_fills(W, M)
        return W[M], pred[M], {name: fill[M] for name, fill in fills.items()}

    def score(self, X, y=None, *, tr=None) -> float:
        """Masked-segment R^2 of held-out ROI series."""
        from ..metrics import pretraining

        true, pred, _ = self.reconstruct_masked(X, np.random.default_rng(0), tr=tr)
        return pretraining(true, pred)["masked_r2"]

    def predict(self, X, *, tr=None):
        """ROI token representations (subjects, rois, dim), averaged over each subject's windows."""
        import torch

        self._require_fitted("net_")
        W, owner = self._windows(np.asarray(X, dtype=np.float32), tr)
        with torch.inference_mode():
            z = self.net_.encode(torch.as_tensor(W)).numpy()
        return np.stack([z[owner == i].mean(axis=0) for i in range(len(X))])

    # ------------------------------------------------------------------------ state
    def get_state(self):
        self._require_fitted("net_")
        return self._net_state(), {"n_rois": int(self.n_rois_), "architecture": self.architecture()}

    def expected_tensors(self, extra) -> dict[str, TensorSpec]:
        return self._expected_net(self.build_network(self._n_rois(extra), self._arch_from(extra)))

    def set_state(self, arrays, extra):
        self.n_rois_ = self._n_rois(extra)
        self.net_ = self.build_network(self.n_rois_, self._arch_from(extra))
        self._load_net(arrays)
        self.history_ = []
        return self
