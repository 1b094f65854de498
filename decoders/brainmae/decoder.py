"""``brainmae``: a classifier of ROI series (one sample per subject), fine-tuned from a
BrainMAE encoder. The encoder is either a pretrained bundle named by ``encoder`` (a
``brainmae-pretrain`` run folder or exported bundle; its architecture is used), or pretrained
inside ``fit`` on the training subjects (``pretrain_epochs`` > 0, labels unused), or
initialised at random (``pretrain_epochs: 0``, the from-scratch arm). Fine-tuning trains the
whole network with a linear head through the shared engine; a subject's class probabilities
are the mean over its windows.

The head reads the upper triangle of the ROI tokens' cosine similarities (``pool:
similarity``, a learned connectivity); the mean token (``pool: mean``) carries less of the
between-ROI coupling that separates the classes on demo:resting-state (first two
leave-one-site-out folds, dim 32, depth 1, 10 epochs, from scratch: 0.66 mean token vs 0.77
similarity).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from data.errors import InputError

from ..base import ClassifierDecoder, ParameterError, Task, TensorSpec, state_list
from ..events import TrainingContext
from ..training_settings import with_training_settings
from .common import ARCHITECTURE, BrainMAEBase, BrainMAENetworkParams


# Windows per forward pass when predicting: bounds the (windows, heads, rois, rois) attention
# held in memory at once; the outputs do not depend on it.
_EVAL_BATCH = 256


class BrainMAEFineTuneNetworkParams(BrainMAENetworkParams):
    encoder: str | None = Field(None, description="Pretrained encoder: a brainmae-pretrain run folder or bundle (its architecture is used); null: pretrain here or start from scratch.")
    pretrain_epochs: int = Field(0, ge=0, description="Without an encoder: masked-reconstruction epochs on the training subjects before fine-tuning (0: from scratch).")
    pretrain_lr: float = Field(1e-3, gt=0, description="Learning rate of that pretraining.")
    pool: str = Field("similarity", pattern="^(similarity|mean)$", description="Head input: upper triangle of the ROI tokens' cosine similarities (similarity) or the mean token (mean).")


BrainMAEParams = with_training_settings(
    "BrainMAEParams", BrainMAEFineTuneNetworkParams, epochs=10, batch_size=32, optimizer="adamw",
    lr=1e-3, weight_decay=0.05, schedule="cosine")


class BrainMAEFineTuning(BrainMAEBase):
    """What the fine-tuned BrainMAE decoders share (``brainmae``, ``brainmae-regressor``): the
    encoder to start from (a bundle, pretrained here, or fresh), a linear head on the pooled
    tokens trained with the whole network through the engine, per-window outputs averaged
    over each subject's windows, and the network's state. A subclass says what the head
    outputs (``_head_extra`` / ``_n_outputs``) and how it is trained (``_fine_tune``'s loss)."""

    Params: ClassVar[type] = BrainMAEParams
    renamed_params: ClassVar[dict[str, str]] = {"finetune_epochs": "epochs"}
    presets: ClassVar[dict[str, dict[str, Any]]] = {"tiny": {"dim": 16, "depth": 1, "epochs": 3}}

    def _fine_tune(self, X, tr, targets: np.ndarray, n_outputs: int, loss_fn, ctx: TrainingContext):
        """Fit the network with a head of ``n_outputs`` on ``targets`` (one row per subject,
        repeated for each of its windows); ``loss_fn(net, (windows, targets))``."""
        import torch

        from .sampling import training_batches

        p = self.validated_params()
        net, self.arch_ = self._initial_network(X, tr, ctx)
        W, owner = self._windows(X, tr, self.arch_)
        if W.shape[1] != net.n_rois:
            raise InputError(f"{self.name}: the data have {W.shape[1]} ROIs, the encoder {net.n_rois}.")
        net.head = torch.nn.Linear(net.pooled_size(p.pool, self.arch_["dim"]), n_outputs)
        train, val = _split_by_subject(owner, p.val_fraction, p.seed)
        arrays = lambda rows: (W[rows], targets[owner][rows])  # noqa: E731
        batches = training_batches(arrays(train), owner[train], p.windows_per_subject, p.batch_size, p.seed)
        result = self.train_network(net, loss_fn, batches, arrays(val) if len(val) else None, context=ctx)
        self.history_ = result.history
        self.n_rois_ = net.n_rois
        self.net_ = net.cpu().eval()
        return self

    def _initial_network(self, X, tr, ctx):
        """The encoder to fine-tune and its architecture: loaded, pretrained here, or fresh."""
        p = self.validated_params()
        if p.encoder:
            return self._load_encoder(p.encoder, ctx)
        arch = self.architecture()
        if not p.pretrain_epochs:
            import torch

            torch.manual_seed(p.seed)
            return self.build_network(X.shape[1], arch), arch
        from .pretrain import BrainMAEPretrain

        ctx.log(f"pretraining the encoder on {len(X)} training subjects ({p.pretrain_epochs} epochs)")
        fields = set(BrainMAEPretrain.Params.model_fields)
        pre = BrainMAEPretrain(**{k: v for k, v in p.model_dump().items() if k in fields})
        W, owner = pre._windows(X, tr)
        net = pre.fit_network(W, owner=owner, context=_pretraining_events(ctx), epochs=p.pretrain_epochs,
                              lr=p.pretrain_lr)
        return net, arch

    def _load_encoder(self, encoder: str, ctx):
        from ..bundle import load_bundle

        path = Path(encoder).expanduser()
        if (path / "model").is_dir():
            path = path / "model"    # a run folder: its saved model
        if not path.exists():
            raise ParameterError(f"encoder: '{encoder}' does not exist.",
                                 hint="Name a brainmae-pretrain run folder or an exported bundle.")
        decoder, manifest = load_bundle(path)
        if manifest["decoder"] != "brainmae-pretrain":
            raise ParameterError(f"encoder: {path} holds a '{manifest['decoder']}' decoder, not a brainmae-pretrain encoder.")
        arch = decoder.architecture()
        given = self.validated_params()
        defaults = type(given).model_fields
        ignored = [f"{k} {getattr(given, k)}" for k in ARCHITECTURE
                   if getattr(given, k) != arch[k] and getattr(given, k) != defaults[k].default]
        if ignored:
            ctx.log(f"using the encoder's architecture; ignored: {', '.join(ignored)}")
        ctx.log(f"fine-tuning the pretrained encoder {path}")
        return decoder.net_, arch

    @property
    def _arch(self) -> dict[str, Any]:
        return getattr(self, "arch_", None) or self.architecture()

    def _subject_outputs(self, X, tr, per_window=None) -> np.ndarray:
        """(subjects, outputs): the head's outputs (``per_window`` applied, e.g. softmax)
        averaged over each subject's windows."""
        import torch

        self._require_fitted("net_")
        W, owner = self._windows(np.asarray(X, dtype=np.float32), tr, self._arch)
        if W.shape[1] != self.n_rois_:
            raise InputError(f"{self.name}: the data have {W.shape[1]} ROIs, the model {self.n_rois_}.")
        pool = self.validated_params().pool
        with torch.inference_mode():
            out = torch.cat([self.net_.predict_head(torch.as_tensor(W[i:i + _EVAL_BATCH]), pool)
                             for i in range(0, len(W), _EVAL_BATCH)])
            out = (per_window(out) if per_window is not None else out).numpy()
        return np.stack([out[owner == i].mean(axis=0) for i in range(len(X))])

    # ------------------------------------------------------------------------ state
    def _head_extra(self) -> dict[str, Any]:
        """What the head's outputs mean, for the bundle's state (classes, targets)."""
        raise NotImplementedError

    def _n_outputs(self, extra) -> int:
        """The head's output count implied by a bundle's state (validated)."""
        raise NotImplementedError

    def _head_arrays(self) -> dict[str, np.ndarray]:
        """Arrays besides the network's that the state holds (none here)."""
        return {}

    def _expected_head_arrays(self, extra) -> dict[str, TensorSpec]:
        return {}

    def _restore_head(self, arrays, extra) -> None:
        """Set the head's meaning back from a bundle's state."""
        raise NotImplementedError

    def get_state(self):
        self._require_fitted("net_")
        return ({**self._net_state(), **self._head_arrays()},
                {"n_rois": int(self.n_rois_), "architecture": self._arch, **self._head_extra()})

    def _network_for(self, extra):
        import torch

        net = self.build_network(self._n_rois(extra), self._arch_from(extra))
        n_outputs = self._n_outputs(extra)
        net.head = torch.nn.Linear(net.pooled_size(self.validated_params().pool, extra["architecture"]["dim"]), n_outputs)
        return net

    def expected_tensors(self, extra) -> dict[str, TensorSpec]:
        return {**self._expected_net(self._network_for(extra)), **self._expected_head_arrays(extra)}

    def set_state(self, arrays, extra):
        self.net_ = self._network_for(extra)
        self.n_rois_, self.arch_ = self._n_rois(extra), self._arch_from(extra)
        self._restore_head(arrays, extra)
        self._load_net(arrays)
        self.history_ = []
        return self


class BrainMAEClassifierNetworkParams(BrainMAEFineTuneNetworkParams):
    windows_per_subject: int | None = Field(
        2, ge=1, description="Training (and in-fit pretraining): random windows of each subject per epoch, drawn "
        "afresh each epoch from the seed (null: every window every epoch). 2 trains ~4-5x faster on ABIDE "
        "(~9 windows a subject) at the same leave-one-site-out accuracy (RESULTS.md, issue 23).")
    head: Literal["network", "logistic"] = Field(
        "network", description="network: fine-tune the whole network with a linear head; logistic: keep the "
        "encoder frozen and fit an l2 logistic regression on each subject's standardised pooled token embeddings "
        "(C chosen by inner leave-one-site-out on the training subjects).")
    features: Literal["tokens", "tokens+fc"] = Field(
        "tokens", description="head logistic: the ROI tokens averaged over a subject's windows (tokens), "
        "or those beside the Fisher-z connectivity of its whole series (tokens+fc).")


BrainMAEClassifierParams = with_training_settings(
    "BrainMAEClassifierParams", BrainMAEClassifierNetworkParams, epochs=10, batch_size=32, optimizer="adamw",
    lr=1e-3, weight_decay=0.05, schedule="cosine")


class BrainMAE(BrainMAEFineTuning, ClassifierDecoder):
    name: ClassVar[str] = "brainmae"
    description: ClassVar[str] = "BrainMAE: region-aware masked autoencoder of ROI series, pretrained then fine-tuned."
    task: ClassVar[Task] = Task.CLASSIFICATION
    Params: ClassVar[type] = BrainMAEClassifierParams

    def fit(self, X, y=None, *, tr=None, subject=None, session=None, context: TrainingContext | None = None):
        p = self.validated_params()
        if y is None or len(np.unique(y)) < 2:
            raise InputError(f"{self.name} needs at least two classes to train.")
        X = np.asarray(X, dtype=np.float32)
        self.classes_ = np.unique(y)
        self.probe_ = None
        ctx = context or TrainingContext()
        if p.head == "logistic":
            return self._fit_probe(X, tr, np.asarray(y), session, ctx)
        codes = np.searchsorted(self.classes_, np.asarray(y))
        return self._fine_tune(X, tr, codes, len(self.classes_), _head_loss(p.pool), ctx)

    def _fit_probe(self, X, tr, y, session, ctx: TrainingContext):
        """Frozen encoder (loaded, pretrained here or random) + logistic regression on subject features."""
        from .probe import fit_probe

        net, self.arch_ = self._initial_network(X, tr, ctx)
        self.net_, self.n_rois_ = net.cpu().eval(), net.n_rois
        self.features_ = self.validated_params().features
        self.history_ = []
        F = self._subject_features(X, tr)
        self.probe_ = fit_probe(F, y, session)
        sel = self.probe_.selection
        ctx.log(f"{self.name}: frozen encoder, {F.shape[1]} {self.features_} features; C {sel['C']:g} chosen by "
                f"{sel['scheme']} on the training subjects (inner ROC AUC per C: "
                + ", ".join(f"{c} {a:.3f}" for c, a in sel["inner_auc"].items()) + ")")
        return self

    def _subject_features(self, X, tr) -> np.ndarray:
        from .probe import token_features

        W, owner = self._windows(np.asarray(X, dtype=np.float32), tr, self._arch)
        if W.shape[1] != self.n_rois_:
            raise InputError(f"{self.name}: the data have {W.shape[1]} ROIs, the model {self.n_rois_}.")
        F = token_features(self.net_, W, owner, len(X))
        if self.features_ == "tokens+fc":
            from ..connectivity import fisher_z_upper

            F = np.hstack([F, fisher_z_upper(X, self.name)])
        return F

    def predict_proba(self, X, *, tr=None, subject=None) -> np.ndarray:
        import torch

        if getattr(self, "probe_", None) is not None:
            return self.probe_.proba(self._subject_features(X, tr))
        return self._subject_outputs(X, tr, lambda logits: torch.softmax(logits, dim=1))

    def predict(self, X, *, tr=None, subject=None) -> np.ndarray:
        self._require_fitted("net_")
        return self.classes_[self.predict_proba(X, tr=tr).argmax(axis=1)]

    # ------------------------------------------------------------------------ state
    def _head_extra(self):
        extra = {"classes": self.classes_.tolist()}
        if getattr(self, "probe_", None) is not None:
            extra.update(head="logistic", features=self.features_, probe_selection=self.probe_.selection)
        return extra

    def _n_outputs(self, extra) -> int:
        return len(state_list(extra, "classes", min_len=2))

    def _is_probe(self, extra) -> bool:
        head = extra.get("head", "network")
        if head not in ("network", "logistic"):
            raise InputError("state.head must be network or logistic.")
        if head == "logistic" and extra.get("features") not in ("tokens", "tokens+fc"):
            raise InputError("state.features must be tokens or tokens+fc.")
        return head == "logistic"

    def _network_for(self, extra):
        if not self._is_probe(extra):
            return super()._network_for(extra)
        return self.build_network(self._n_rois(extra), self._arch_from(extra))

    def _head_arrays(self):
        p = getattr(self, "probe_", None)
        if p is None:
            return {}
        return {"probe.mean": p.mean, "probe.scale": p.scale, "probe.coef": p.coef, "probe.intercept": p.intercept}

    def _expected_head_arrays(self, extra) -> dict[str, TensorSpec]:
        if not self._is_probe(extra):
            return {}
        r, dim = self._n_rois(extra), self._arch_from(extra)["dim"]
        n = r * dim + (r * (r - 1) // 2 if extra["features"] == "tokens+fc" else 0)
        n_classes = self._n_outputs(extra)
        n_out = 1 if n_classes == 2 else n_classes
        return {"probe.mean": TensorSpec((n,)), "probe.scale": TensorSpec((n,)),
                "probe.coef": TensorSpec((n_out, n)), "probe.intercept": TensorSpec((n_out,))}

    def _restore_head(self, arrays, extra) -> None:
        from .probe import Probe

        self.classes_ = np.asarray(extra["classes"])
        self.probe_ = None
        if self._is_probe(extra):
            self.features_ = extra["features"]
            self.probe_ = Probe(*(np.asarray(arrays[f"probe.{k}"], dtype=np.float64)
                                  for k in ("mean", "scale", "coef", "intercept")),
                                classes=self.classes_, selection=dict(extra.get("probe_selection") or {}))


def _head_loss(pool: str):
    import torch.nn.functional as F

    def loss_fn(net, batch):
        logits = net.predict_head(batch[0], pool)
        return F.cross_entropy(logits, batch[1]), {"acc": (logits.argmax(1) == batch[1]).float().mean()}

    return loss_fn


def _split_by_subject(owner: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Window rows of training and validation subjects (all windows of a subject on one side)."""
    subjects = np.unique(owner)
    n_val = int(round(fraction * len(subjects)))
    held = np.random.default_rng(seed).permutation(subjects)[:n_val] if n_val and n_val < len(subjects) else []
    is_val = np.isin(owner, held)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _pretraining_events(ctx: TrainingContext) -> TrainingContext:
    """In-fit pretraining reports progress and logs, not epoch points (those are the fine-tuning curves)."""
    from dataclasses import replace

    from ..events import LogMessage, Progress

    if ctx.on_event is None:
        return ctx
    parent = ctx.on_event
    return replace(ctx, on_event=lambda e: parent(e) if isinstance(e, (LogMessage, Progress)) else None)
