"""liblsl's own log (its INFO lines, and an "ERR ... Stream transmission broke off" each time
a stream ends, a replay's normal end included) is quiet unless asked for.

liblsl reads its configuration once, at its first use in a process, so `configure` must run
before any stream, inlet or outlet is made; every LSL entry point of `app.online` calls it,
and `neurodeck online --verbose` calls it first with ``verbose=True``. A call after liblsl's
first use changes nothing (liblsl keeps what it read).
"""
from __future__ import annotations

QUIET_LEVEL = -3     # loguru's FATAL: liblsl prints nothing short of a crash
VERBOSE_LEVEL = 0    # INFO: connections, stream loss and recovery

_configured: bool | None = None   # the verbosity set in this process, None before the first call


def configure(verbose: bool = False) -> None:
    """Set liblsl's log level for this process (its first call wins).

    Parameters
    ----------
    verbose : bool
        True: liblsl's INFO lines and errors on standard error; False: nothing short of a
        fatal error.
    """
    global _configured
    if _configured is not None:
        return
    _configured = verbose
    try:
        from mne_lsl.lsl import set_config_content

        set_config_content(f"[log]\nlevel = {VERBOSE_LEVEL if verbose else QUIET_LEVEL}\n")
    except (ImportError, NotImplementedError):   # liblsl < 1.17.7: its log stays as it is
        pass
