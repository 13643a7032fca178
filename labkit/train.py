"""Plain training loops a student can read top to bottom.

Each loop takes the model(s), the data, the optimiser(s) and the device as arguments and returns a
`history` dict of per-epoch numbers that labkit.plots draws. `start_epoch`/`history` let a caller
resume, and `on_epoch_end(epoch, history)` is the one hook (checkpoints, image grids).
"""
from __future__ import annotations
