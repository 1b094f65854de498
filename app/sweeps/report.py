"""The sweep report: CSV tables, an HTML page and PNG figures in ``<sweep>/report/``.

- runs.csv: every planned run with its labels, state, metrics, seconds and error.
- summary.csv: per decoder (condition), the main metric's mean and std over subjects x seeds.
- paired_tests.csv / index.html: for each pair of decoders (conditions), a Wilcoxon
  signed-rank test paired by subject: each subject's main metric is first averaged over its
  seeds (seeds of one subject share its data, so they are not independent pairs), then the
  per-subject means are compared (scipy.stats.wilcoxon). A run over several subjects
  contributes its per-subject scores (metrics.json's by_subject).
- index.html: the comparison table, the main metric per subject per decoder, the paired tests,
  time per run, failed runs, and the figures (accuracy_per_subject.png, time_per_run.png).
"""
from __future__ import annotations

import html
import itertools
import json
import math
from pathlib import Path
from typing import Any

from decoders.tasks import headline_order

def collect(folder: str | Path) -> list[dict[str, Any]]:
    """One row per planned run: id, labels, condition, state, metrics (summary means), seconds."""
    from .folder import STATE, finished_runs

    folder = Path(folder)
    plan = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))["runs"]
    finished = finished_runs(folder)
    rows = []
    for run in plan:
        labels = run.get("labels", {})
        row: dict[str, Any] = {"id": run["id"], **{k: labels.get(k, "") for k in ("decoder", "subject", "seed", "protocol", "dataset")},
                               "state": "pending", "metrics": {}, "seconds": math.nan, "error": "", "run_dir": ""}
        row["condition"] = " ".join(labels[k] for k in ("decoder", "protocol", "dataset") if labels.get(k))
        if run["id"] in finished:
            m = json.loads((finished[run["id"]] / "metrics.json").read_text(encoding="utf-8"))
            row.update(state="done", run_dir=finished[run["id"]].name,
                       metrics={k: v["mean"] for k, v in m.get("summary", {}).items() if isinstance(v, dict)},
                       by_subject={str(s): v for s, v in (m.get("by_subject") or {}).items() if isinstance(v, dict)},
                       seconds=float(m.get("timings", {}).get("total_seconds", math.nan)))
        else:
            try:
                status = json.loads((folder / STATE / "status" / f"{run['id']}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                status = None
            if status:
                row.update(state=status.get("status", "failed"), error=status.get("error", ""),
                           seconds=float(status.get("run_seconds", math.nan)))
        rows.append(row)
    return rows


def main_metric(rows: list[dict[str, Any]]) -> str | None:
    """The metric the report compares conditions by: the first of the tasks' headline metrics
    (`decoders.tasks.headline_order`) that the finished runs report."""
    names = [k for r in rows for k in r["metrics"]]
    return next((p for p in headline_order() if p in names), names[0] if names else None)


def subject_means(rows: list[dict[str, Any]], metric: str) -> dict[str, dict[str, float]]:
    """Per condition, each subject's ``metric`` averaged over its seeds (finished runs only).

    A run of one subject (its ``subject`` label) gives that subject one value; a run over
    several subjects gives each of them its value from the run's ``by_subject`` scores.

    Returns
    -------
    dict
        ``condition -> {subject: mean over seeds}``.
    """
    values: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        if r["state"] != "done":
            continue
        per_subject = {str(r["subject"]): r["metrics"].get(metric)} if r["subject"] not in ("", None) else {
            s: scores.get(metric) for s, scores in r.get("by_subject", {}).items()} or {"": r["metrics"].get(metric)}
        for subject, value in per_subject.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                values.setdefault(r["condition"], {}).setdefault(subject, []).append(float(value))
    return {c: {s: sum(v) / len(v) for s, v in subjects.items()} for c, subjects in values.items()}


def paired_tests(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Wilcoxon signed-rank test for each pair of conditions, paired by subject.

    Each subject's score is first averaged over its seeds (`subject_means`); the test then
    compares the two conditions over the subjects both have (``scipy.stats.wilcoxon``,
    two-sided). ``n_pairs`` counts subjects, ``n_runs`` the finished runs behind them.
    """
    from scipy.stats import wilcoxon

    means = subject_means(rows, metric)
    runs = {c: sum(1 for r in rows if r["condition"] == c and r["state"] == "done") for c in means}
    out = []
    for a, b in itertools.combinations(sorted(means), 2):
        keys = sorted(set(means[a]) & set(means[b]))
        diffs = [means[a][k] - means[b][k] for k in keys]
        stat = p = math.nan
        if len(diffs) >= 2 and any(d != 0 for d in diffs):
            res = wilcoxon([means[a][k] for k in keys], [means[b][k] for k in keys])
            stat, p = float(res.statistic), float(res.pvalue)
        out.append({"a": a, "b": b, "n_pairs": len(keys), "n_runs": runs[a] + runs[b],
                    "mean_difference": sum(diffs) / len(diffs) if diffs else math.nan,
                    "a_better": sum(d > 0 for d in diffs), "b_better": sum(d < 0 for d in diffs),
                    "statistic": stat, "p_value": p})
    return out


def summarise(rows: list[dict[str, Any]], metric: str | None) -> list[dict[str, Any]]:
    import numpy as np

    out = []
    for cond in dict.fromkeys(r["condition"] for r in rows):
        mine = [r for r in rows if r["condition"] == cond]
        values = [r["metrics"][metric] for r in mine if r["state"] == "done" and metric in r["metrics"]]
        seconds = [r["seconds"] for r in mine if r["state"] == "done"]
        out.append({"condition": cond, "metric": metric or "", "n_done": len(values), "n_runs": len(mine),
                    "n_failed": sum(r["state"] == "failed" for r in mine),
                    "mean": float(np.mean(values)) if values else math.nan,
                    "std": float(np.std(values)) if values else math.nan,
                    "seconds_per_run": float(np.mean(seconds)) if seconds else math.nan})
    return out


def write_report(folder: str | Path) -> Path:
    """Write report/ (CSV, PNG, index.html) for the sweep folder; returns the HTML path."""
    from app.workspace import write_csv, write_text

    folder = Path(folder)
    out = folder / "report"
    out.mkdir(exist_ok=True)
    rows = collect(folder)
    metric = main_metric(rows)
    metric_names = sorted({k for r in rows for k in r["metrics"]})
    flat = [{**{k: r[k] for k in ("id", "condition", "decoder", "subject", "seed", "protocol", "dataset", "state")},
             **{m: r["metrics"].get(m, "") for m in metric_names}, "seconds": r["seconds"], "error": r["error"],
             "run_dir": r["run_dir"]} for r in rows]
    write_csv(out / "runs.csv", flat)
    summary = summarise(rows, metric)
    write_csv(out / "summary.csv", summary)
    tests = paired_tests(rows, metric) if metric else []
    write_csv(out / "paired_tests.csv", tests, columns=["a", "b", "n_pairs", "n_runs", "mean_difference", "a_better",
                                                         "b_better", "statistic", "p_value"])
    figures = _figures(rows, metric, out)
    page = out / "index.html"
    write_text(page, _html(folder.name, rows, summary, tests, metric, metric_names, figures))
    return page


def _figures(rows, metric, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    from data.atomic import atomic_path

    names = []
    conds = list(dict.fromkeys(r["condition"] for r in rows))
    subjects = list(dict.fromkeys(r["subject"] for r in rows))
    if metric:
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(subjects) * max(1, len(conds)) / 2), 3.5))
        width = 0.8 / max(1, len(conds))
        for i, cond in enumerate(conds):
            means = []
            for s in subjects:
                v = [r["metrics"][metric] for r in rows if r["condition"] == cond and r["subject"] == s
                     and r["state"] == "done" and metric in r["metrics"]]
                means.append(np.mean(v) if v else np.nan)
            ax.bar(np.arange(len(subjects)) + i * width, means, width, label=cond)
        ax.set_xticks(np.arange(len(subjects)) + width * (len(conds) - 1) / 2, [s or "all" for s in subjects])
        ax.set_ylabel(f"{metric} (mean over seeds)")
        ax.set_xlabel("subject")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        names.append(_save(fig, out / "accuracy_per_subject.png", atomic_path))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    data = [[r["seconds"] for r in rows if r["condition"] == c and r["state"] == "done"] for c in conds]
    ax.boxplot([d or [np.nan] for d in data], showfliers=True)
    ax.set_xticks(range(1, len(conds) + 1), conds, rotation=20, fontsize=8)
    ax.set_ylabel("seconds per run")
    names.append(_save(fig, out / "time_per_run.png", atomic_path))
    plt.close("all")
    return names


def _save(fig, path: Path, atomic_path) -> str:
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(fig)
    return path.name


def _fmt(v, digits=4) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


def _table(table_id: str, header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _html(name, rows, summary, tests, metric, metric_names, figures) -> str:
    subjects = list(dict.fromkeys(r["subject"] for r in rows))
    conds = list(dict.fromkeys(r["condition"] for r in rows))
    per_subject = []
    for s in subjects:
        line = [s]
        for c in conds:
            v = [r["metrics"][metric] for r in rows if r["subject"] == s and r["condition"] == c
                 and r["state"] == "done" and metric in r["metrics"]]
            line.append(sum(v) / len(v) if v else math.nan)
        per_subject.append(line)
    failed = [[r["id"], r["state"], r["error"]] for r in rows if r["state"] in ("failed", "cancelled")]
    parts = [
        f"<h1>Sweep {html.escape(name)}</h1>",
        f"<p>{sum(r['state'] == 'done' for r in rows)} of {len(rows)} runs finished; main metric: "
        f"{html.escape(metric or 'none')}.</p>",
        "<h2>Comparison</h2>",
        _table("comparison", ["condition", f"{metric} mean", "std", "runs done", "runs", "failed", "seconds/run"],
               [[s["condition"], s["mean"], s["std"], s["n_done"], s["n_runs"], s["n_failed"], s["seconds_per_run"]]
                for s in summary]),
        f"<h2>{html.escape(metric or '')} per subject (mean over seeds)</h2>",
        _table("per-subject", ["subject", *conds], per_subject),
        "<h2>Paired statistics (Wilcoxon signed-rank over subjects)</h2>",
        "<p>Each pair is one subject both decoders finished, its score averaged over its seeds first (seeds "
        "of one subject share its data, so they are not independent pairs); two-sided, exact for few "
        "subjects, no correction for the number of decoder pairs. With fewer than six subjects no "
        "two-sided p can fall below 0.05: read it as descriptive.</p>",
        _table("paired", ["A", "B", "subjects", "runs", "mean A-B", "A better", "B better", "W", "p"],
               [[t["a"], t["b"], t["n_pairs"], t["n_runs"], t["mean_difference"], t["a_better"], t["b_better"],
                 t["statistic"], t["p_value"]] for t in tests]),
        "<h2>Runs</h2>",
        _table("runs", ["id", "condition", "subject", "seed", "state", *metric_names, "seconds", "run folder"],
               [[r["id"], r["condition"], r["subject"], r["seed"], r["state"],
                 *[r["metrics"].get(m, math.nan) for m in metric_names], r["seconds"], r["run_dir"]] for r in rows]),
    ]
    if failed:
        parts += ["<h2>Failed runs</h2>", _table("failed", ["id", "state", "error"], failed)]
    parts += ["<h2>Figures</h2>", *(f'<img src="{html.escape(f)}" alt="{html.escape(f)}">' for f in figures)]
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
             "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}img{max-width:48%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sweep {html.escape(name)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
