"""Errors for bad user input. Every message names the file (or setting) and the problem."""
from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input from the user: a file, a config value, an argument. CLI exit code 2."""

    def __init__(self, message: str, path: str | Path | None = None, hint: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = message
        self.hint = hint
        text = f"{self.path}: {message}" if self.path else message
        if hint:
            text = f"{text} {hint}"
        super().__init__(text)


class DataError(InputError):
    """A recording or dataset cannot be read or turned into trials."""


class MissingFileError(DataError):
    pass


class UnsupportedFormatError(DataError):
    pass


class CorruptFileError(DataError):
    pass


class NoEventsError(DataError):
    pass


class UnknownEventError(DataError):
    pass


class TooFewClassesError(DataError):
    pass


class TooFewTrialsError(DataError):
    pass


class BadSamplesError(DataError):
    """NaN or Inf samples."""


class SfreqMismatchError(DataError):
    pass


class ChannelMismatchError(DataError):
    pass
