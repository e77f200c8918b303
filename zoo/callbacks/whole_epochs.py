"""Whether an epoch ran to its end: a stop (Ctrl-C, the app's Stop) cuts the last one short.

Keras calls `on_epoch_end` for a cut epoch too, with the metrics of the steps it ran. The run's history,
status and checkpoint keep whole epochs only, so a resumed run redoes the cut epoch from its start.
"""
from __future__ import annotations

import threading


class EpochSteps:
    """Counts the steps of the current epoch; `whole(params)` says whether it reached `params["steps"]`.

    A callback that keeps whole epochs only calls `begin()` in `on_epoch_begin`, `step(batch)` in
    `on_train_batch_end` (cheap: no tensor is read, so the callback stays `async_safe`) and asks
    `whole(self.params)` in `on_epoch_end`.
    """

    def __init__(self):
        self.last_batch: int | None = None
        self._lock = threading.Lock()

    def begin(self) -> None:
        self.last_batch = None

    def step(self, batch: int) -> None:
        # Keras runs async-safe batch hooks on a pool of threads: they may finish in any order.
        with self._lock:
            if self.last_batch is None or batch > self.last_batch:
                self.last_batch = batch

    def whole(self, params: dict | None) -> bool:
        steps = (params or {}).get("steps")
        return steps is None or (self.last_batch is not None and self.last_batch + 1 >= steps)
