"""Where NeuroDeck's file dialogs open: the folder the user last used, else the workspace (the
runs folder) or the example experiments shipped with NeuroDeck, never the home folder."""
from __future__ import annotations

from pathlib import Path

import resources

from .settings import Settings, nearest_folder

EXAMPLES = Path(resources.path("experiments"))   # example experiment and sweep files


def start_folder(settings: Settings | None = None, fallback: str = "workspace") -> str:
    """The folder a file dialog starts in.

    Parameters
    ----------
    settings : Settings, optional
        The GUI settings (a fresh `Settings` when omitted).
    fallback : {"workspace", "examples"}
        Where to start when no folder is remembered: the workspace (run folders, exports,
        recordings next to them) or the example experiment and sweep files.

    Returns
    -------
    str
        An existing folder.

    Raises
    ------
    ValueError
        ``fallback`` is neither "workspace" nor "examples".
    """
    if fallback not in ("workspace", "examples"):
        raise ValueError(f"start_folder: fallback must be 'workspace' or 'examples', not {fallback!r}.")
    settings = settings or Settings()
    if settings.remembered_folder:
        return settings.remembered_folder
    if fallback == "examples" and EXAMPLES.is_dir():
        return str(EXAMPLES)
    return str(nearest_folder(Path(settings.workspace)))


def remember_folder(path: str | Path, settings: Settings | None = None) -> None:
    """Remember the folder of ``path`` (a file or a folder) for the next dialog."""
    (settings or Settings()).last_folder = path
