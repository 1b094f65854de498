"""PNG grid of true versus reconstructed images, one block of rows per subject."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data.atomic import atomic_path


def draw_reconstruction_grid(path: str | Path, truth: np.ndarray | None, rows: dict[str, np.ndarray],
                             subjects, max_images: int = 10) -> Path:
    """For each subject: the true images (unless ``truth`` is None), then one row per entry of
    ``rows`` (name -> images aligned with ``subjects``), up to ``max_images`` columns."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    subjects = np.asarray(subjects).astype(str)
    names = list(dict.fromkeys(subjects.tolist()))
    n_cols = min(max_images, max(int((subjects == s).sum()) for s in names))
    shown = ([("true", truth)] if truth is not None else []) + list(rows.items())
    n_rows = len(names) * len(shown)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols + 1.6, 1.1 * n_rows), squeeze=False)
    r = 0
    for s in names:
        idx = np.flatnonzero(subjects == s)[:n_cols]
        for label, images in shown:
            for c in range(n_cols):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c < len(idx):
                    ax.imshow(np.asarray(images[idx[c]], float), cmap="gray", vmin=0, vmax=1)
                else:
                    ax.axis("off")
            axes[r, 0].set_ylabel(f"{s}\n{label}", rotation=0, ha="right", va="center", fontsize=8)
            r += 1
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
