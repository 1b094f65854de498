"""Persistent GUI settings (QSettings): last folders, window layout, device, theme, workspace.

``NEURODECK_SETTINGS`` names an INI file to use instead of the platform's default store
(tests and screenshots use it so they never touch a user's settings).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "NeuroDeck"
APPLICATION = "NeuroDeck"


class Settings:
    """Typed access to the few values NeuroDeck remembers between sessions."""

    def __init__(self, store: QSettings | None = None):
        if store is None:
            path = os.environ.get("NEURODECK_SETTINGS")
            store = QSettings(path, QSettings.IniFormat) if path else QSettings(ORGANIZATION, APPLICATION)
        self.store = store

    # -- plain values ----------------------------------------------------------------
    def _get(self, key: str, default):
        value = self.store.value(key, default)
        return default if value is None else value

    @property
    def theme(self) -> str:
        value = str(self._get("theme", "light"))
        return value if value in ("light", "dark") else "light"

    @theme.setter
    def theme(self, value: str) -> None:
        self.store.setValue("theme", value)

    @property
    def device(self) -> str:
        return str(self._get("device", "auto"))

    @device.setter
    def device(self, value: str) -> None:
        self.store.setValue("device", value)

    @property
    def last_folder(self) -> str:
        """The folder the user last opened or saved something in; else the workspace folder
        (or its nearest existing parent), never the home folder."""
        return self.remembered_folder or str(nearest_folder(Path(self.workspace)))

    @property
    def remembered_folder(self) -> str:
        """The folder last used in a file dialog ("" when none is remembered or it is gone)."""
        folder = str(self._get("last_folder", ""))
        return folder if folder and Path(folder).is_dir() else ""

    @last_folder.setter
    def last_folder(self, value: str | Path) -> None:
        path = Path(value)
        self.store.setValue("last_folder", str(path if path.is_dir() else path.parent))

    @property
    def workspace(self) -> str:
        """Folder holding the run folders (the same `runs/` the CLI writes by default)."""
        return str(self._get("workspace", str(Path.cwd() / "runs")))

    @workspace.setter
    def workspace(self, value: str | Path) -> None:
        self.store.setValue("workspace", str(value))

    @property
    def recent_sources(self) -> list[str]:
        value = self._get("recent_sources", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value][:8]

    def add_recent_source(self, source: str) -> None:
        items = [source] + [s for s in self.recent_sources if s != source]
        self.store.setValue("recent_sources", items[:8])

    # -- window layout ---------------------------------------------------------------
    def save_layout(self, geometry: QByteArray, state: QByteArray, view: int) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
        self.store.setValue("window/view", int(view))

    def layout(self) -> tuple[QByteArray | None, QByteArray | None, int]:
        geometry = self.store.value("window/geometry")
        state = self.store.value("window/state")
        try:
            view = int(self._get("window/view", 0))
        except (TypeError, ValueError):
            view = 0
        return geometry, state, view

    def value(self, key: str, default=None):
        return self._get(key, default)

    def set_value(self, key: str, value) -> None:
        self.store.setValue(key, value)

    def sync(self) -> None:
        self.store.sync()


def nearest_folder(path: Path) -> Path:
    """``path`` if it is a folder, else its nearest existing parent folder (the working directory at worst)."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path.cwd()
