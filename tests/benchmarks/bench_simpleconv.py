"""EEG-SimpleConv in NeuroDeck against a minimal plain-torch transcription of the published
architecture and recipe, on the same real EEGBCI trials and folds, in one run.

Data: EEGBCI (PhysioNet EEGMMIDB) subjects 1-3, runs 3/4/7/8/11/12, T1 left vs T2 right fist
(executed and imagined), 0-3 s, 64 channels at 160 Hz, no filtering (as the reference's
PhysionetMI setting); 90 trials per subject. Protocols: within-subject stratified k-fold, or
k-fold over the three subjects pooled (Euclidean alignment per subject).
Both implementations get the within-subject recipe: F=85, 1 block, kernel 15, resampling to
95 Hz, Adam 1e-3, StepLR x0.1 at 4/5, batch 16, mixup, Euclidean alignment and z-score from
the training fold. Classical baselines run on the same folds for context.

Measured: accuracy per fold, training throughput (trial passes per second), single-trial
inference latency (batch 1, CPU, median and p99) through each implementation's own
predict path (alignment + standardisation + network). Writes results/simpleconv.json.

    python tests/benchmarks/bench_simpleconv.py [--protocol within|pooled] [--folds 3] [--epochs 50]
                                                [--threads 1] [--timing-repeats 6]
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = REPO.parent / "shared" / "datasets"


# ----------------------------------------------------------------------------- data
def load_eegbci(trials: str | None = None):
    """The benchmark's trials, or the same trials saved earlier with DecodingSet.save (for a
    machine without MNE, e.g. a GPU box)."""
    if trials:
        from data.decoding_set import DecodingSet

        return DecodingSet.load(trials)
    from data.loading import load_dataset

    spec = {"source": "eegbci", "data_path": str(DATASETS / "eegbci"), "subjects": [1, 2, 3],
            "runs": [3, 4, 7, 8, 11, 12], "events": {"T1": "left", "T2": "right"},
            "window": [0.0, 3.0], "cache": False}
    return load_dataset(spec)


# ------------------------------------------------ the plain-torch transcription (reference)
def plain_transcription():
    """A minimal transcription of elouayas/EEGSimpleConv (models/EEGSimpleConv.py and the
    training loop of scripts/scripts.py), with torchaudio's default sinc Resample written out
    in torch. Resampling happens inside the model at every forward pass, as in the reference."""
    import torch
    import torch.nn.functional as F

    class Resample(torch.nn.Module):  # torchaudio.transforms.Resample defaults (hann, width 6, rolloff .99)
        def __init__(self, orig, new):
            super().__init__()
            g = math.gcd(int(orig), int(new))
            self.o, self.n = int(orig) // g, int(new) // g
            base = min(self.o, self.n) * 0.99
            self.w = math.ceil(6 * self.o / base)
            idx = torch.arange(-self.w, self.w + self.o, dtype=torch.float64)[None, None] / self.o
            t = (torch.arange(0, -self.n, -1, dtype=torch.float64)[:, None, None] / self.n + idx) * base
            t = t.clamp(-6, 6)
            window = torch.cos(t * math.pi / 12) ** 2
            t = t * math.pi
            k = torch.where(t == 0, torch.tensor(1.0, dtype=torch.float64), t.sin() / t) * window * base / self.o
            self.register_buffer("k", k.float())

        def forward(self, x):
            b, c, n = x.shape
            y = F.conv1d(F.pad(x.reshape(b * c, 1, n), (self.w, self.w + self.o)), self.k, stride=self.o)
            y = y.transpose(1, 2).reshape(b * c, -1)[:, :math.ceil(self.n * n / self.o)]
            return y.reshape(b, c, -1)

    class EEGSimpleConv(torch.nn.Module):
        def __init__(self, fm, n_convs, resampling, kernel_size, n_chan, n_classes, sfreq):
            super().__init__()
            self.rs = Resample(sfreq, resampling)
            self.conv = torch.nn.Conv1d(n_chan, fm, kernel_size=kernel_size, padding=kernel_size // 2, bias=False)
            self.bn = torch.nn.BatchNorm1d(fm)
            blocks, newfm, oldfm = [], fm, fm
            for i in range(n_convs):
                if i > 0:
                    newfm = int(1.414 * newfm)
                blocks.append(torch.nn.Sequential(
                    torch.nn.Conv1d(oldfm, newfm, kernel_size=kernel_size, padding=kernel_size // 2, bias=False),
                    torch.nn.BatchNorm1d(newfm), torch.nn.MaxPool1d(2), torch.nn.ReLU(),
                    torch.nn.Conv1d(newfm, newfm, kernel_size=kernel_size, padding=kernel_size // 2, bias=False),
                    torch.nn.BatchNorm1d(newfm), torch.nn.ReLU()))
                oldfm = newfm
            self.blocks = torch.nn.ModuleList(blocks)
            self.fc = torch.nn.Linear(oldfm, n_classes)

        def forward(self, x):
            y = torch.relu(self.bn(self.conv(self.rs(x))))
            for seq in self.blocks:
                y = seq(y)
            return self.fc(y.mean(dim=2))

    def ea_matrix(X):
        R = np.einsum("nct,ndt->cd", X.astype(np.float64), X.astype(np.float64)) / (X.shape[0] * X.shape[2])
        w, v = np.linalg.eigh(R)
        return ((v / np.sqrt(w)) @ v.T).astype(np.float32)

    class Plain:
        def fit(self, X, y, subjects, sfreq, epochs, seed, device="cpu"):
            torch.manual_seed(seed)
            np.random.seed(seed)
            self.classes = np.unique(y)
            yi = torch.as_tensor(np.searchsorted(self.classes, y))
            self.R = {s: ea_matrix(X[subjects == s]) for s in np.unique(subjects)}   # EA per subject
            Xa = np.empty_like(X)
            for s, R in self.R.items():
                Xa[subjects == s] = np.einsum("cd,ndt->nct", R, X[subjects == s])
            self.mean, self.std = Xa.mean(axis=(0, 2), keepdims=True)[0], Xa.std(axis=(0, 2), keepdims=True)[0]
            self.device = torch.device(device)
            Xt = torch.as_tensor((Xa - self.mean) / self.std, dtype=torch.float32, device=self.device)
            yi = yi.to(self.device)
            self.model = EEGSimpleConv(85, 1, 95, 15, X.shape[1], len(self.classes), sfreq).to(self.device)
            opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
            sched = torch.optim.lr_scheduler.StepLR(opt, max(1, int(epochs * 4 / 5)), 0.1)
            self.model.train()
            for _ in range(epochs):
                perm = torch.randperm(len(Xt), device=self.device)
                for i in range(0, len(Xt), 16):
                    idx = perm[i:i + 16]
                    xb, yb = Xt[idx], yi[idx]
                    lam = float(np.random.rand())          # mixup, lambda ~ U(0, 1)
                    mix = torch.randperm(len(xb), device=self.device)
                    out = self.model(lam * xb + (1 - lam) * xb[mix])
                    loss = lam * F.cross_entropy(out, yb) + (1 - lam) * F.cross_entropy(out, yb[mix])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                sched.step()
            self.model.eval()
            return self

        def predict_proba(self, X, subjects):
            Xa = np.empty_like(X)
            for s in np.unique(subjects):
                Xa[subjects == s] = np.einsum("cd,ndt->nct", self.R[s], X[subjects == s])
            with torch.no_grad():
                x = torch.as_tensor((Xa - self.mean) / self.std, dtype=torch.float32, device=self.device)
                return torch.softmax(self.model(x), 1).cpu().numpy()

    return Plain


# ------------------------------------------------------------------------ measuring
def latency_ms(fn, trials, repeats: int) -> dict:
    """Median and p99 wall time of ``fn(one_trial[None])`` after 10 warm-up calls."""
    for i in range(10):
        fn(trials[i % len(trials)][None])
    times = []
    for i in range(repeats):
        x = trials[i % len(trials)][None]
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": float(np.median(times)), "p99_ms": float(np.percentile(times, 99))}


def split_folds(protocol: str, n_folds: int, y: np.ndarray, subjects: np.ndarray):
    """(name, train index, test index): within-subject k-fold, or k-fold over the pooled
    subjects (stratified by subject and class; each model sees every subject)."""
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)
    if protocol == "pooled":
        strata = np.char.add(subjects.astype(str), y.astype(str))
        for k, (tr, te) in enumerate(cv.split(y, strata)):
            yield f"pooled fold {k}", k, tr, te
        return
    for subject in dict.fromkeys(subjects.tolist()):
        idx = np.flatnonzero(subjects == subject)
        for k, (tr, te) in enumerate(cv.split(idx, y[idx])):
            yield f"subject {subject} fold {k}", k, idx[tr], idx[te]


def timing(X, y, subjects, sfreq, epochs: int, repeats: int, Plain, device: str = "cpu") -> dict:
    """Training time of both on the same trials, alternated (ABAB...) so both see the same
    machine load; medians over the repeats."""
    from decoders import create

    times = {"neurodeck": [], "plain-torch": []}
    for r in range(repeats):
        for name in (("neurodeck", "plain-torch") if r % 2 == 0 else ("plain-torch", "neurodeck")):
            t0 = time.perf_counter()
            if name == "neurodeck":
                create("eeg-simpleconv", {"sfreq": sfreq, "epochs": epochs, "device": device, "seed": r},
                       preset="within-subject").fit(X, y, subject=subjects)
            else:
                Plain().fit(X, y, subjects, sfreq, epochs, seed=r, device=device)
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    passes = len(X) * epochs
    out = {name: {"median_s": float(np.median(t)), "train_trials_per_s": float(passes / np.median(t)),
                  "runs_s": [round(v, 3) for v in t]} for name, t in times.items()}
    out["ratio_neurodeck_over_plain"] = [round(a / b, 4) for a, b in zip(times["neurodeck"], times["plain-torch"])]
    out["setup"] = f"{len(X)} trials x {epochs} epochs, {repeats} alternated repeats"
    return out


def _warm_up(X, y, subjects, sfreq, Plain, device: str) -> None:
    """One short fit of each first, so one-time costs (CUDA context, kernel selection, lazy
    imports) are charged to neither side."""
    from decoders import create

    sel = np.arange(min(32, len(X)))
    create("eeg-simpleconv", {"sfreq": sfreq, "epochs": 1, "device": device}, preset="within-subject").fit(
        X[sel], y[sel], subject=subjects[sel])
    Plain().fit(X[sel], y[sel], subjects[sel], sfreq, 1, seed=0, device=device)
    _sync(device)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--protocol", choices=["within", "pooled"], default="within",
                    help="within: k-fold inside each subject; pooled: k-fold over all three subjects")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1, help="torch and BLAS threads for both (the machine is shared)")
    ap.add_argument("--latency-repeats", type=int, default=300)
    ap.add_argument("--timing-repeats", type=int, default=0,
                    help="also time training alone: alternated runs on subject 1's first training fold")
    ap.add_argument("--timing-epochs", type=int, default=10)
    ap.add_argument("--timing-only", action="store_true", help="only the alternated training timing")
    ap.add_argument("--no-classical", action="store_true")
    ap.add_argument("--device", default="cpu", help="device for both CNNs (NeuroDeck uses mixed precision on CUDA)")
    ap.add_argument("--trials", help="load the trials from a DecodingSet .npz instead of the recordings")
    args = ap.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    from decoders import create

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    ds = load_eegbci(args.trials)
    X, y, subjects = ds.X.astype(np.float32), ds.y, ds.subject
    print(f"EEGBCI: {X.shape[0]} trials, {X.shape[1]} channels x {X.shape[2]} samples at {ds.sfreq} Hz, "
          f"subjects {ds.subjects}, classes {ds.class_names}", flush=True)
    Plain = plain_transcription()
    if args.timing_only:
        results = _read_results()
        _timing_section(results, args, X, y, subjects, ds.sfreq, Plain)
        return
    _warm_up(X, y, subjects, ds.sfreq, Plain, args.device)
    names = ["neurodeck", "plain-torch"] + ([] if args.no_classical else ["csp-lda", "fbcsp-lda", "tangent-space-lr"])
    folds, train_time, train_passes, last = [], {n: 0.0 for n in names}, {n: 0 for n in names}, {}
    for label, k, tr, te in split_folds(args.protocol, args.folds, y, subjects):
        row = {"fold": label, "n_train": len(tr), "n_test": len(te)}
        for name in names:                 # interleaved, so both see the same machine load
            t0 = time.perf_counter()
            if name == "neurodeck":
                model = create("eeg-simpleconv", {"sfreq": ds.sfreq, "epochs": args.epochs, "device": args.device,
                                                  "seed": k}, preset="within-subject")
                model.fit(X[tr], y[tr], subject=subjects[tr])
                predict = lambda x, s, m=model: m.predict_proba(x, subject=s)  # noqa: E731
            elif name == "plain-torch":
                model = Plain().fit(X[tr], y[tr], subjects[tr], ds.sfreq, args.epochs, seed=k, device=args.device)
                predict = model.predict_proba
            else:
                model = create(name, {"sfreq": ds.sfreq} if name == "fbcsp-lda" else {}).fit(X[tr], y[tr])
                predict = lambda x, s, m=model: m.predict_proba(x)  # noqa: E731
            _sync(args.device)
            seconds = time.perf_counter() - t0
            acc = float(np.mean(np.argmax(predict(X[te], subjects[te]), 1) == np.searchsorted(np.unique(y[tr]), y[te])))
            row[name] = acc
            train_time[name] += seconds
            train_passes[name] += len(tr) * (args.epochs if name in ("neurodeck", "plain-torch") else 1)
            last[name] = (predict, X[te], subjects[te])
        folds.append(row)
        print(f"{label}: " + "  ".join(f"{n} {row[n]:.3f}" for n in names), flush=True)

    summary = {}
    for name in names:
        accs = np.array([f[name] for f in folds])
        summary[name] = {"accuracy_mean": float(accs.mean()), "accuracy_std": float(accs.std(ddof=1)),
                         "fit_seconds_total": train_time[name],
                         "fit_trials_per_s": train_passes[name] / train_time[name]}
    for name in ("neurodeck", "plain-torch"):
        predict, trials, subj = last[name]
        summary[name]["latency_batch1"] = latency_ms(lambda x: predict(x, subj[:1]), trials, args.latency_repeats)
    diff = np.array([f["neurodeck"] - f["plain-torch"] for f in folds])
    paired = {"mean_diff": float(diff.mean()), "std_diff": float(diff.std(ddof=1)),
              "se_diff": float(diff.std(ddof=1) / np.sqrt(len(diff)))}
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"2-core x86-64 CPU, no GPU ({platform.processor() or platform.machine()}), shared with other jobs",
        "torch": torch.__version__, "threads": args.threads,
        "data": "EEGBCI subjects 1-3, runs 3/4/7/8/11/12, T1 left / T2 right, 0-3 s, 64 ch, 160 Hz, unfiltered",
        "protocol": (f"within-subject stratified {args.folds}-fold" if args.protocol == "within" else
                     f"3 subjects pooled (EA per subject), {args.folds}-fold stratified by subject and class"),
        "recipe": f"within-subject preset, {args.epochs} epochs, batch 16, Adam 1e-3, StepLR 4/5, mixup, EA, z-score",
        "folds": folds, "summary": summary, "neurodeck_minus_plain": paired,
        "command": "python tests/benchmarks/bench_simpleconv.py " + " ".join(sys.argv[1:]),
    }
    results = _read_results()
    run["device"] = args.device
    if args.device != "cpu":
        run["machine"] = _gpu_machine()
    results["runs"][args.protocol if args.device == "cpu" else f"{args.protocol}-{args.device}"] = run
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "simpleconv.json").write_text(json.dumps(results, indent=2))

    print(f"\n{'decoder':18s} {'accuracy':>15s} {'fit trials/s':>13s} {'latency med ms':>15s} {'p99 ms':>8s}")
    for name in names:
        s = summary[name]
        lat = s.get("latency_batch1", {})
        print(f"{name:18s} {s['accuracy_mean']:7.3f} ± {s['accuracy_std']:5.3f} {s['fit_trials_per_s']:13.1f} "
              f"{lat.get('median_ms', float('nan')):15.2f} {lat.get('p99_ms', float('nan')):8.2f}")
    print(f"neurodeck - plain: {paired['mean_diff']:+.3f} (s.e. {paired['se_diff']:.3f}) over {len(diff)} folds")
    if args.timing_repeats:
        _timing_section(results, args, X, y, subjects, ds.sfreq, Plain)


def _timing_section(results, args, X, y, subjects, sfreq, Plain) -> None:
    """Alternated training-only timing on subject 1's first training fold; saved and printed."""
    import torch

    sel = next(split_folds("within", args.folds, y, subjects))[2]
    _warm_up(X, y, subjects, sfreq, Plain, args.device)
    print("timing training alone ...", flush=True)
    t = timing(X[sel], y[sel], subjects[sel], sfreq, args.timing_epochs, max(2, args.timing_repeats), Plain, args.device)
    t.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), threads=args.threads, torch=torch.__version__,
             device=args.device,
             command="python tests/benchmarks/bench_simpleconv.py " + " ".join(sys.argv[1:]))
    results["timing" if args.device == "cpu" else f"timing-{args.device}"] = t
    (RESULTS / "simpleconv.json").write_text(json.dumps(results, indent=2))
    print(f"training alone ({t['setup']}): neurodeck {t['neurodeck']['train_trials_per_s']:.1f} trials/s, "
          f"plain {t['plain-torch']['train_trials_per_s']:.1f} trials/s, ratios {t['ratio_neurodeck_over_plain']}")


def _gpu_machine() -> str:
    import torch

    return f"{torch.cuda.get_device_name(0)}, {__import__('os').cpu_count()} CPU cores"


def _read_results() -> dict:
    path = RESULTS / "simpleconv.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"benchmark": "simpleconv", "runs": {}}
    if "runs" not in results:          # a single run written by an earlier version of this script
        results = {"benchmark": "simpleconv", "runs": {"within": results}}
    return results


if __name__ == "__main__":
    main()
