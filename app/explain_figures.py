"""Matplotlib figures of `decoders.explain.Explanation` maps (no Qt: the CLI and the GUI use them).

The figure follows the axes of the maps:

- ``(channel,)``: a topomap per output (MNE ``plot_topomap`` on standard 10-05 positions;
  channels without a position are left out, and with fewer than three positioned channels a
  bar chart is drawn instead);
- ``(frequency, channel)``: a topomap per output and band;
- ``(channel, time)``: a channel x time image per output, and topomaps of time windows;
- ``(channel, channel)`` / ``(roi, roi)``: a matrix per output;
- ``(roi_pair,)``: the strongest pairs as bars;
- ``(component,)`` / ``(frequency, component)``: bars / an image;
- ``(voxel,)`` with NIfTI positions: slices of the map over a background image (nilearn);
  with an ``image_shape`` (reconstruction decoders): the map summed over voxels as an image and
  the strongest voxels' maps over the pixels (their estimated receptive fields).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

MAX_OUTPUTS = 8        # maps drawn per figure (the first ones)
N_TIME_WINDOWS = 5     # topomaps along time
MIN_POSITIONED = 3
FULL_HEAD = 20         # channels from which topomaps extrapolate to the whole head (fewer: only near them)
TOP_PAIRS = 20
TOP_VOXELS = 8


def standard_positions(ch_names) -> dict[str, np.ndarray]:
    """Channel name -> position on MNE's standard 10-05 montage for the names it knows
    (case and trailing dots, as in EEGBCI's ``C3..``, ignored)."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    name = "colin27_1005" if "colin27_1005" in builtin else "standard_1005"   # renamed in MNE 1.13
    known = {k.lower(): v for k, v in mne.channels.make_standard_montage(name).get_positions()["ch_pos"].items()}
    return {ch: known[ch.rstrip(".").lower()] for ch in ch_names if ch.rstrip(".").lower() in known}


def figures(explanation, background=None) -> list[tuple[str, Figure]]:
    """``(name, figure)`` pairs drawing an explanation (name: a file stem, without extension).

    Parameters
    ----------
    explanation : decoders.explain.Explanation
    background : nibabel image, optional
        Drawn under voxel maps (e.g. the mean BOLD image).
    """
    kinds = tuple(a.kind for a in explanation.axes)
    draw = {
        ("channel",): _channel_maps, ("frequency", "channel"): _band_maps, ("channel", "time"): _channel_time,
        ("channel", "channel"): _matrix, ("roi", "roi"): _matrix, ("roi_pair",): _pairs,
        ("component",): _bars, ("frequency", "component"): _image, ("voxel",): _voxels,
    }.get(kinds)
    if draw is None:
        return []
    if kinds == ("voxel",):
        return draw(explanation, background)
    return draw(explanation)


def _title(e, output: str) -> str:
    return f"{e.decoder} {e.method}: {output}"


def _limits(values: np.ndarray, signed: bool) -> tuple[float, float]:
    top = float(np.abs(values).max()) or 1.0
    return (-top, top) if signed else (0.0, top)


def _info(names: list[str]):
    import mne

    positions = standard_positions(names)
    keep = [i for i, n in enumerate(names) if n in positions]
    if len(keep) < MIN_POSITIONED:
        return None, keep
    kept = [names[i] for i in keep]
    info = mne.create_info(kept, 100.0, "eeg")
    info.set_montage(mne.channels.make_dig_montage(ch_pos={n: positions[n] for n in kept}, coord_frame="head"))
    return info, keep


def _topomaps(fig: Figure, rows: list[tuple[str, np.ndarray]], names: list[str], signed: bool, ncols: int) -> bool:
    import mne

    info, keep = _info(names)
    if info is None:
        return False
    values = np.array([v for _, v in rows])[:, keep]
    vlim = _limits(values, signed)
    nrows = int(np.ceil(len(rows) / ncols))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    image = None
    for ax, (label, v) in zip(axes, rows):
        image, _ = mne.viz.plot_topomap(v[keep], info, axes=ax, show=False, vlim=vlim, contours=4,
                                        cmap="RdBu_r" if signed else "Reds", sensors=True,
                                        extrapolate="local" if len(keep) < FULL_HEAD else "head")
        ax.set_title(label, fontsize=8)
    for ax in axes[len(rows):]:
        ax.set_axis_off()
    fig.colorbar(image, ax=list(axes), shrink=0.6)
    return True


def _channel_maps(e) -> list[tuple[str, Figure]]:
    names = list(e.axis("channel").values)
    rows = list(zip(e.outputs[:MAX_OUTPUTS], e.maps[:MAX_OUTPUTS]))
    fig = Figure(figsize=(2.4 * min(len(rows), 4) + 1, 2.6 * int(np.ceil(len(rows) / 4))), layout="constrained")
    signed = bool(e.extra.get("signed", True))
    if not _topomaps(fig, rows, names, signed, min(len(rows), 4)):
        axes = np.atleast_1d(fig.subplots(len(rows), 1, squeeze=False)).ravel()
        for ax, (label, v) in zip(axes, rows):
            ax.bar(range(len(names)), v, color="tab:red")
            ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
            ax.set_title(label, fontsize=8)
    fig.suptitle(f"{e.decoder} {e.method}", fontsize=9)
    return [(e.method, fig)]


def _band_maps(e) -> list[tuple[str, Figure]]:
    names = list(e.axis("channel").values)
    bands = e.extra.get("bands") or [(f, f) for f in e.axis("frequency").values]
    out = []
    for o, (output, maps) in enumerate(zip(e.outputs[:MAX_OUTPUTS], e.maps[:MAX_OUTPUTS])):
        rows = [(f"{lo:g}-{hi:g} Hz", m) for (lo, hi), m in zip(bands, maps)]
        fig = Figure(figsize=(2.2 * min(len(rows), 4) + 1, 2.4 * int(np.ceil(len(rows) / 4))), layout="constrained")
        if not _topomaps(fig, rows, names, bool(e.extra.get("signed", True)), min(len(rows), 4)):
            ax = fig.subplots()
            _draw_image(fig, ax, maps, [r[0] for r in rows], names, True)
        fig.suptitle(_title(e, output), fontsize=9)
        out.append((f"{e.method}-{o + 1}", fig))
    return out


def _draw_image(fig, ax, values, row_labels, col_labels, signed, extent=None):
    vmin, vmax = _limits(values, signed)
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r" if signed else "Reds", vmin=vmin, vmax=vmax,
                      interpolation="nearest", extent=extent)
    if extent is None:
        ax.set_xticks(range(len(col_labels)), col_labels, rotation=90, fontsize=6)
    ax.set_yticks(range(len(row_labels)) if extent is None else [], row_labels if extent is None else [], fontsize=6)
    fig.colorbar(image, ax=ax, shrink=0.8)


def _channel_time(e) -> list[tuple[str, Figure]]:
    names = list(e.axis("channel").values)
    times = np.asarray(e.axis("time").values, float)
    signed = bool(e.extra.get("signed", True))
    out = []
    for o, (output, m) in enumerate(zip(e.outputs[:MAX_OUTPUTS], e.maps[:MAX_OUTPUTS])):
        fig = Figure(figsize=(10, 7), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[2.2, 1])
        ax = top.subplots()
        vmin, vmax = _limits(m, signed)
        step = (times[-1] - times[0]) / max(len(times) - 1, 1)
        image = ax.imshow(m, aspect="auto", cmap="RdBu_r" if signed else "Reds", vmin=vmin, vmax=vmax,
                          interpolation="nearest", extent=(times[0] - step / 2, times[-1] + step / 2, len(names) - 0.5, -0.5))
        ax.set_yticks(range(len(names)), names, fontsize=5 if len(names) > 32 else 7)
        ax.set_xlabel("time (s)")
        top.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(_title(e, output), fontsize=9)
        edges = np.linspace(0, len(times), N_TIME_WINDOWS + 1).astype(int)
        rows = [(f"{times[a]:.2f}-{times[b - 1]:.2f} s", m[:, a:b].mean(axis=1)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        if not _topomaps(bottom, rows, names, signed, len(rows)):
            bottom.text(0.5, 0.5, "topomaps: channel positions unknown", ha="center")
        out.append((f"{e.method}-{o + 1}", fig))
    return out


def _matrix(e) -> list[tuple[str, Figure]]:
    names = list(e.axes[0].values)
    signed = bool(e.extra.get("signed", True))
    out = []
    for o, (output, m) in enumerate(zip(e.outputs[:MAX_OUTPUTS], e.maps[:MAX_OUTPUTS])):
        fig = Figure(figsize=(7, 6), layout="constrained")
        ax = fig.subplots()
        _draw_image(fig, ax, m, names, names, signed)
        ax.set_title(_title(e, output), fontsize=9)
        out.append((f"{e.method}-{o + 1}", fig))
    return out


def _pairs(e) -> list[tuple[str, Figure]]:
    names = np.asarray(e.axis("roi_pair").values)
    rows = e.maps[:MAX_OUTPUTS]
    fig = Figure(figsize=(7, 2 + 2.6 * len(rows)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(rows), 1, squeeze=False)).ravel()
    for ax, output, m in zip(axes, e.outputs, rows):
        top = np.argsort(-np.abs(m))[:TOP_PAIRS]
        ax.barh(range(len(top)), m[top][::-1], color=np.where(m[top][::-1] > 0, "tab:red", "tab:blue"))
        ax.set_yticks(range(len(top)), names[top][::-1], fontsize=6)
        ax.set_title(f"{_title(e, output)} (strongest {len(top)} pairs)", fontsize=9)
    return [(e.method, fig)]


def _bars(e) -> list[tuple[str, Figure]]:
    labels = list(e.axes[0].values)
    fig = Figure(figsize=(6, 1.5 + 1.8 * min(len(e.outputs), MAX_OUTPUTS)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(min(len(e.outputs), MAX_OUTPUTS), 1, squeeze=False)).ravel()
    for ax, output, m in zip(axes, e.outputs, e.maps):
        ax.bar(range(len(m)), m, color=np.where(m > 0, "tab:red", "tab:blue"))
        ax.set_xticks(range(len(m)), labels, fontsize=7)
        ax.set_title(_title(e, output), fontsize=9)
    return [(e.method, fig)]


def _image(e) -> list[tuple[str, Figure]]:
    rows = [f"{v:g} Hz" for v in e.axes[0].values]
    out = []
    for o, (output, m) in enumerate(zip(e.outputs[:MAX_OUTPUTS], e.maps[:MAX_OUTPUTS])):
        fig = Figure(figsize=(5, 4), layout="constrained")
        ax = fig.subplots()
        _draw_image(fig, ax, m, rows, list(e.axes[1].values), True)
        ax.set_title(_title(e, output), fontsize=9)
        out.append((f"{e.method}-{o + 1}", fig))
    return out


def _voxels(e, background) -> list[tuple[str, Figure]]:
    if e.extra.get("voxel_ijk") is not None:
        return _voxel_slices(e, background)
    if e.extra.get("image_shape") and e.extra.get("target") == "pixels":
        return _pixel_maps(e)
    fig = Figure(figsize=(7, 1.5 + 1.8 * min(len(e.outputs), MAX_OUTPUTS)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(min(len(e.outputs), MAX_OUTPUTS), 1, squeeze=False)).ravel()
    for ax, output, m in zip(axes, e.outputs, e.maps):
        ax.plot(m, lw=0.6)
        ax.set_xlabel("voxel")
        ax.set_title(_title(e, output), fontsize=9)
    return [(e.method, fig)]


def _voxel_slices(e, background) -> list[tuple[str, Figure]]:
    from nilearn import plotting

    from decoders.explain.data import voxel_image

    out = []
    for o, (output, m) in enumerate(zip(e.outputs[:MAX_OUTPUTS], e.maps[:MAX_OUTPUTS])):
        image = voxel_image(m, e.extra)
        fig = Figure(figsize=(9, 3.2))
        shape = e.extra["mask_shape"]
        thin = min(shape) == 1
        plotting.plot_stat_map(image, bg_img=background, figure=fig, title=_title(e, output),
                               display_mode="z" if thin else "ortho", cut_coords=1 if thin else None,
                               colorbar=True, draw_cross=False, black_bg=False, annotate=not thin)
        out.append((f"{e.method}-{o + 1}", fig))
    return out


def _pixel_maps(e) -> list[tuple[str, Figure]]:
    h, w = e.extra["image_shape"]
    maps = e.maps                               # (pixels, voxels)
    if e.extra.get("output_variance") is not None:   # covariance with each pixel: pixels that rarely vary not inflated
        maps = maps * np.asarray(e.extra["output_variance"])[:, None]
    per_pixel = np.abs(maps).sum(axis=1).reshape(h, w)
    strongest = np.argsort(-np.abs(maps).max(axis=0))[:TOP_VOXELS]
    fig = Figure(figsize=(2 * (TOP_VOXELS // 2 + 1), 4.4), layout="constrained")
    axes = fig.subplots(2, TOP_VOXELS // 2 + 1)
    axes[0, 0].imshow(per_pixel, cmap="Reds")
    axes[0, 0].set_title("Σ|cov| over voxels", fontsize=8)
    axes[1, 0].set_axis_off()
    for ax, v in zip(axes[:, 1:].ravel(), strongest):
        rf = maps[:, v].reshape(h, w)
        lim = float(np.abs(rf).max()) or 1.0
        ax.imshow(rf, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"voxel {v}", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{e.decoder} {e.method}, subject {e.extra.get('subject', '')}: pattern over pixels of the "
                 f"{TOP_VOXELS} strongest voxels (covariance with each pixel's output)", fontsize=9)
    return [(f"{e.method}-{e.extra.get('subject', '')}", fig)]
