"""Run folders: atomic creation and writing, listing for the results table, and figures.

A run is written into ``<runs>/.<decoder>-<hash>.partial/`` and renamed to
``<runs>/<time>-<decoder>-<hash>/`` only once every file is complete, so a folder without a
leading dot always holds a finished run. An interrupted run leaves only the hidden partial
folder (with the folds already done), which the next identical run resumes.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from data.atomic import atomic_path

PARTIAL_SUFFIX = ".partial"


# --------------------------------------------------------------------------- atomic files
def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def write_csv(path: str | Path, rows: Iterable[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Rows of dicts to CSV; columns default to the union of keys in first-seen order."""
    rows = list(rows)
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


# --------------------------------------------------------------------------- run folders
@dataclass
class RunFolder:
    """A run being written. ``path`` is the hidden partial folder until `finish` renames it."""

    runs_dir: Path
    stem: str               # "<decoder>-<hash>"
    path: Path
    resumed: bool = False

    @property
    def folds_dir(self) -> Path:
        return self.path / "folds"

    def log(self, message: str) -> None:
        """Append a time-stamped line to log.txt (the partial folder is never a finished run)."""
        with open(self.path / "log.txt", "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def finish(self) -> Path:
        """Drop resume-only files and rename to ``<time>-<stem>``; returns the final folder."""
        shutil.rmtree(self.folds_dir, ignore_errors=True)
        (self.path / LOCK).unlink(missing_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        final = self.runs_dir / f"{stamp}-{self.stem}"
        n = 1
        while final.exists():
            n += 1
            final = self.runs_dir / f"{stamp}-{self.stem}-{n}"
        os.replace(self.path, final)
        self.path = final
        return final

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def open_run_folder(runs_dir: str | Path, decoder: str, config_hash: str, *, restart: bool = False) -> RunFolder:
    """The partial folder for this decoder and configuration; reused (resume) when it exists.

    A lock file, created exclusively (``O_CREAT | O_EXCL``) and recording host, process id
    and the process's start time, keeps two processes from writing the same partial folder.
    A lock whose process is gone (or whose PID now belongs to another process) is stale and
    taken over; a lock from another host is honoured unless ``restart``.
    """
    runs_dir = Path(runs_dir)
    stem = f"{_safe(decoder)}-{config_hash[:8]}"
    partial = runs_dir / f".{stem}{PARTIAL_SUFFIX}"
    resumed = partial.is_dir()
    partial.mkdir(parents=True, exist_ok=True)
    _acquire(partial, restart)
    if restart and resumed:
        for item in partial.iterdir():
            if item.name != LOCK:
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
        resumed = False
    (partial / "folds").mkdir(exist_ok=True)
    return RunFolder(runs_dir, stem, partial, resumed)


LOCK = ".lock"


def release(folder: Path) -> None:
    """Remove the lock of a partial folder this process holds."""
    if _read_lock(folder / LOCK) == _this_process():
        (folder / LOCK).unlink(missing_ok=True)


def _acquire(partial: Path, restart: bool) -> None:
    from data.errors import InputError

    lock = partial / LOCK
    me = _this_process()
    for _ in range(50):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read_lock(lock)
            if owner == me:
                return
            if owner is None and _age(lock) < 5.0:   # being written by the process that created it
                time.sleep(0.1)
                continue
            if owner is not None and _holds(owner, restart):
                where = "" if owner["host"] == me["host"] else f" on host {owner['host']}"
                raise InputError(f"the same experiment is already running (process {owner['pid']}{where}, "
                                 f"started {owner.get('started', '?')}) and writing here.", partial,
                                 hint="Wait for it to finish, or change the experiment"
                                      + (" (or add --restart if no run is going on there)." if where else "."))
            _remove_stale(lock, owner)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        return
    raise InputError("cannot take the run lock (other processes keep taking it).", lock)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _this_process() -> dict[str, Any]:
    import socket

    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "pid_start": _process_start(pid), "started": _STARTED}


_STARTED = time.strftime("%Y-%m-%dT%H:%M:%S")   # when this process started (roughly)


def _read_lock(lock: Path) -> dict[str, Any] | None:
    """The lock's record, or None when it is unreadable (a half-written lock is not honoured)."""
    import socket

    try:
        text = lock.read_text(encoding="utf-8")
        record = {"pid": int(text), "host": socket.gethostname()} if text.strip().isdigit() else json.loads(text)
    except (OSError, ValueError):   # (a plain PID: a lock of an older NeuroDeck)
        return None
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return None
    return record


def _holds(owner: dict[str, Any], restart: bool) -> bool:
    """Whether the lock's process still runs (another host's lock: unless ``restart``)."""
    import socket

    if owner.get("host") != socket.gethostname():
        return not restart
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = _process_start(owner["pid"])
    return start is None or owner.get("pid_start") is None or start == owner["pid_start"]


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _remove_stale(lock: Path, owner: dict[str, Any] | None) -> None:
    """Remove a stale lock, unless another process replaced it meanwhile."""
    aside = lock.with_name(f"{LOCK}.stale.{os.getpid()}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    if _read_lock(aside) != owner:   # someone took it over between our read and rename: give it back
        try:
            os.link(aside, lock)
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


# --------------------------------------------------------------------------- listing
@dataclass
class RunInfo:
    """One finished run, as the results table shows it."""

    path: Path
    name: str
    decoder: str
    dataset: str
    protocol: str
    task: str
    date: str
    metrics: dict[str, float] = field(default_factory=dict)   # summary means
    stds: dict[str, float] = field(default_factory=dict)
    device: str = ""
    experiment: str = ""
    by_subject: dict[str, dict[str, float]] = field(default_factory=dict)   # metrics per test subject
    final_model: dict[str, Any] | None = None   # what the saved model was trained on (run_facts)
    data_fingerprint: str = ""                   # digest of the samples (older runs: "")
    n_samples: int | None = None
    subjects: list[str] = field(default_factory=list)


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Finished runs under ``runs_dir``, newest first. Partial and unreadable folders are skipped."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    out = []
    for folder in runs_dir.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        info = read_run(folder)
        if info is not None:
            out.append(info)
    return sorted(out, key=lambda r: (r.date, r.name), reverse=True)


def read_run(folder: str | Path) -> RunInfo | None:
    """A run folder's `RunInfo`, or None when it holds no readable metrics.json."""
    folder = Path(folder)
    try:
        m = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        summary = m.get("summary", {})
        return RunInfo(
            path=folder, name=folder.name, decoder=str(m.get("decoder", "")),
            dataset=str(m.get("dataset", "")), protocol=str(m.get("protocol", "")),
            task=str(m.get("task", "")), date=str(m.get("finished", m.get("created", ""))),
            metrics={k: v["mean"] for k, v in summary.items() if isinstance(v, dict) and "mean" in v},
            stds={k: v["std"] for k, v in summary.items() if isinstance(v, dict) and "std" in v},
            device=str(m.get("device", "")), experiment=str(m.get("name", "")),
            by_subject={str(k): v for k, v in (m.get("by_subject") or {}).items() if isinstance(v, dict)},
            final_model=m.get("final_model") if isinstance(m.get("final_model"), dict) else None,
            data_fingerprint=str(m.get("data_fingerprint") or ""), n_samples=m.get("n_samples"),
            subjects=[str(s) for s in m.get("subjects") or []])
    except (OSError, ValueError, AttributeError, TypeError):
        return None


# --------------------------------------------------------------------------- figures
def draw_figures(folder: str | Path, *, history: list[dict[str, Any]], task: str,
                 confusion=None, class_names: list[str] | None = None,
                 trajectory: tuple[Any, Any, list[str]] | None = None) -> list[Path]:
    """PNG figures into ``folder``: learning curves (from history rows), the summed confusion
    matrix (classification), true vs decoded trajectories (regression). Returns the files."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        path = folder / name
        try:
            with atomic_path(path, suffix=".png") as tmp:
                fig.savefig(tmp, dpi=100, bbox_inches="tight")
        finally:
            plt.close(fig)
        written.append(path)

    from decoders.tasks import get_task

    spec = get_task(task)
    curves = [k for k in spec.curves if "learning_curves" in spec.figures
              and any(k in row and row[k] not in (None, "") for row in history)]
    if curves:
        losses = [k for k in curves if k.endswith("loss")]
        scores = [k for k in curves if not k.endswith("loss")]
        fig, axes = plt.subplots(1, 2 if losses and scores else 1, figsize=(10 if losses and scores else 5, 3.6),
                                 squeeze=False)
        for ax, keys in zip(axes[0], [k for k in (losses, scores) if k]):
            for fold in dict.fromkeys(row.get("fold") for row in history):
                rows = [r for r in history if r.get("fold") == fold]
                for key, style in zip(keys, ("-", "--")):
                    pts = [(r["epoch"], float(r[key])) for r in rows if r.get(key) not in (None, "")]
                    if pts:
                        ax.plot(*zip(*pts), style, lw=1, alpha=0.7, label=f"{key} ({fold})")
            ax.set_xlabel("epoch")
            ax.set_ylabel(" / ".join(keys))
            ax.grid(alpha=0.3)
            if sum(1 for _ in ax.get_lines()) <= 10:
                ax.legend(fontsize=7)
        fig.suptitle("Learning curves per fold")
        save(fig, "learning_curves.png")

    if "confusion" in spec.figures and confusion is not None:
        cm = np.asarray(confusion, dtype=float)
        names = class_names or [str(i) for i in range(len(cm))]
        fig, ax = plt.subplots(figsize=(1.2 * len(cm) + 2.5, 1.2 * len(cm) + 2))
        norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(cm)):
            for j in range(len(cm)):
                ax.text(j, i, f"{int(cm[i, j])}\n{norm[i, j]:.0%}", ha="center", va="center",
                        color="white" if norm[i, j] > 0.5 else "black", fontsize=9)
        ax.set_xticks(range(len(cm)), names)
        ax.set_yticks(range(len(cm)), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("Confusion matrix (all test folds)")
        save(fig, "confusion.png")

    if "trajectories" in spec.figures and trajectory is not None:
        truth, decoded, names = trajectory
        truth, decoded = np.asarray(truth, float), np.asarray(decoded, float)
        truth, decoded = truth.reshape(len(truth), -1), decoded.reshape(len(decoded), -1)
        n = min(len(truth), 500)
        fig, axes = plt.subplots(truth.shape[1], 1, figsize=(9, 2.2 * truth.shape[1]), squeeze=False, sharex=True)
        for i, ax in enumerate(axes[:, 0]):
            ax.plot(truth[:n, i], "k", lw=1, label="true")
            ax.plot(decoded[:n, i], "C1", lw=1, label="decoded")
            ax.set_ylabel(names[i] if names and i < len(names) else f"y{i}")
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=8)
        axes[-1, 0].set_xlabel("test sample")
        fig.suptitle("True vs decoded (first test samples)")
        save(fig, "trajectories.png")
    return written
