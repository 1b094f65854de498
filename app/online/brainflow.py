"""A BrainFlow board as the input of an online session (optional: ``pip install neurodeck[brainflow]``).

`BrainFlowInput(board="synthetic")` starts a board session and hands its EEG rows to the
session like `StreamInput` does (volts, with the board's own timestamps); BrainFlow boards
carry numeric markers only, so there is no marker stream and decoding is sliding.
"""
from __future__ import annotations

import numpy as np

from data.errors import InputError


class BrainFlowInput:
    def __init__(self, board: str | int = "synthetic", *, serial_port: str = ""):
        try:
            from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams
        except ImportError:
            raise InputError("BrainFlow is not installed; install it with "
                             "`pip install neurodeck[brainflow]`.") from None
        BoardShim.disable_board_logger()
        try:
            board_id = int(board) if str(board).lstrip("-").isdigit() else BoardIds[
                f"{str(board).upper()}_BOARD"].value
        except KeyError:
            raise InputError(f"unknown BrainFlow board '{board}' (e.g. synthetic, cyton, ganglion, "
                             "or a board id).") from None
        params = BrainFlowInputParams()
        params.serial_port = serial_port
        self.board = BoardShim(board_id, params)
        try:
            self.board.prepare_session()
            self.board.start_stream()
        except Exception as exc:  # noqa: BLE001 - BrainFlowError for a board that is not there
            raise InputError(f"cannot start BrainFlow board '{board}' ({exc}).") from None
        self.name = f"brainflow:{board}"
        self.label = f"BrainFlow board '{board}'"
        self.rows = BoardShim.get_eeg_channels(board_id)
        self.ts_row = BoardShim.get_timestamp_channel(board_id)
        self.ch_names = list(BoardShim.get_eeg_names(board_id))
        self.sfreq = float(BoardShim.get_sampling_rate(board_id))
        self.markers, self.marker_name = None, None

    def pull(self, timeout: float = 0.0):
        import time

        data = self.board.get_board_data()
        if data.shape[1] == 0 and timeout:
            time.sleep(timeout)
            data = self.board.get_board_data()
        return (np.ascontiguousarray(data[self.rows].T) * 1e-6, np.array(data[self.ts_row], dtype=float), [])

    def reconnect(self, timeout: float = 0.5) -> bool:
        return False

    def close(self) -> None:
        try:
            self.board.stop_stream()
        finally:
            self.board.release_session()
