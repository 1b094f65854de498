"""The NeuroDeck window (PySide6 + pyqtgraph), a thin front over plain-Python models.

models/         DataModel, DecoderModel, TrainingModel (no Qt), one module each: the state
                views subscribe to
controller.py   Workbench: every action as a call (open, update_spec, start_training, export ...)
worker.py       Worker: one family (function or generator, on a thread or in a child
                process; started / yielded / returned / errored / aborted / finished) for
                training, background loads and live streams; training_process.py is its
                Qt-free half (the child's entry point)
main_window.py  the workflow Data -> Decoder -> Train -> Results -> Online, menus, status bar
*_view.py       one view per step; signal_browser.py, epochs_view.py, reconstruction.py,
                param_form.py are their parts; theme.py and settings.py the look and memory
"""
