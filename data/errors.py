"""Errors for bad user input. Every message names the file (or setting) and the problem."""
from __future__ import annotations

import errno
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


def excerpt(value: object, limit: int = 80) -> str:
    """A short quote of user input for a message: text as is, other values as a bounded repr
    (never the whole of a huge value: reprlib stops early)."""
    text = value if isinstance(value, str) else quote(value, limit)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def quote(value: object, limit: int = 80) -> str:
    """A bounded repr of a user's value (strings quoted), at most about ``limit`` characters."""
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, limit, limit
    short.maxlist = short.maxdict = short.maxtuple = short.maxset = 8
    text = short.repr(value)
    return text if len(text) <= limit + 10 else f"{text[:limit]}..."


_OS_PROBLEMS = {"PermissionError": "permission denied", "IsADirectoryError": "is a folder, not a file",
                "NotADirectoryError": "a part of the path is a file, not a folder",
                "FileNotFoundError": "no such file or folder", "FileExistsError": "already exists"}


def input_error_from_os(exc: OSError, path: str | Path | None = None, error: type[InputError] = DataError,
                        action: str = "read") -> InputError | None:
    """The one mapping of file-access errors on a user's path to input errors ("FILE: cannot
    read it: permission denied"). None for errors that are not the user's (disk full, I/O
    errors): those stay failures of the run."""
    problem = _OS_PROBLEMS.get(type(exc).__name__)
    if problem is None and getattr(exc, "errno", None) in (errno.ENAMETOOLONG, errno.ELOOP, errno.EROFS):
        problem = (exc.strerror or type(exc).__name__).lower()
    if problem is None:
        return None
    return error(f"cannot {action} it: {problem}.", path if path is not None else exc.filename)


def as_input_error(exc: BaseException) -> InputError | None:
    """The input error an exception stands for (the CLI's exit 2, the GUI's message), or None
    for a genuine failure of the run."""
    if isinstance(exc, InputError):
        return exc
    if isinstance(exc, OSError):
        return input_error_from_os(exc, action="read or write", error=InputError)
    return None
