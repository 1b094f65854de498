"""The NeuroDeck window (PySide6 + pyqtgraph), a thin front over plain-Python models.

models/         DataModel, DecoderModel, TrainingModel (no Qt), one module each: the state
                views subscribe to
controller.py   Workbench: every action as a call (open, update_spec, start_training, export ...)
worker.py       the training worker (QThread relaying a spawned training process) and a pool
                for short background calls; training_process.py is the child's entry point
main_window.py  the workflow Data -> Decoder -> Train -> Results -> Online, menus, status bar
*_view.py       one view per step; signal_browser.py, epochs_view.py, reconstruction.py,
                param_form.py are their parts; theme.py and settings.py the look and memory
"""
