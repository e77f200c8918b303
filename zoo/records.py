"""A run's gradient and activation records on disk: written by `zoo train`, read by `zoo compare` and the app."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .errors import RunError
from .runs import read_json, write_text_atomic

GRADIENT_COLUMNS = ("step", "epoch", "layer", "depth", "grad_norm", "grad_norm_clipped")
DETAIL_COLUMNS = ("step", "epoch", "layer", "depth", "grad_mean_abs", "grad_max_abs", "weight_norm", "update_ratio")
ACTIVATION_COLUMNS = ("step", "epoch", "layer", "depth", "activation", "act_mean", "act_std", "saturated", "dead")


class GradientCsv:
    """Appends a recorder's rows to `gradients.csv` as they are flushed (one row per step and layer)."""

    def __init__(self, path: Path, layer_names: list[str]):
        self.path, self.layer_names = Path(path), list(layer_names)
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerow(GRADIENT_COLUMNS)

    def append(self, steps, epochs, stats) -> None:
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f)
            for step, epoch, row in zip(steps, epochs, stats):
                for depth, (name, values) in enumerate(zip(self.layer_names, row), start=1):
                    writer.writerow([int(step), int(epoch), name, depth, *(f"{v:.7g}" for v in values)])


def write_details(path: Path, details: dict, layer_names: list[str]) -> None:
    """`gradient_details.csv`: one row per detail step and layer (see GradientRecorder.details)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DETAIL_COLUMNS)
    for k, (step, epoch) in enumerate(zip(details["step"], details["epoch"])):
        for depth, name in enumerate(layer_names, start=1):
            writer.writerow([int(step), int(epoch), name, depth, *(f"{details[c][k, depth - 1]:.7g}" for c in DETAIL_COLUMNS[4:])])
    write_text_atomic(path, out.getvalue())


def write_activations(path: Path, records: list[dict]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, ACTIVATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    write_text_atomic(path, out.getvalue())


class RunRecords:
    """A run folder's records as arrays: `steps` (n,), `layers` (names, depth order), `grad(stat)` (n, layers)."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir)
        self.status = read_json(self.path / "status.json")
        self.history = read_json(self.path / "history.json") if (self.path / "history.json").exists() else {}
        self.name = self.status.get("model", self.path.name)
        self._load_gradients()

    def _load_gradients(self) -> None:
        path = self.path / "gradients.csv"
        if not path.exists():
            raise RunError(f"{self.path} has no gradients.csv; train it with `zoo train` (recording is on by default)")
        try:
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise RunError(f"{path} is unreadable ({e})") from None
        depth = {r["layer"]: int(r["depth"]) for r in rows}
        self.layers = sorted(depth, key=depth.get)
        steps = sorted({int(r["step"]) for r in rows})
        self.steps = np.array(steps, np.int64)
        index = {s: i for i, s in enumerate(steps)}
        self._stats: dict[str, np.ndarray] = {}
        for stat in GRADIENT_COLUMNS[4:]:
            table = np.full((len(steps), len(self.layers)), np.nan)
            for r in rows:
                table[index[int(r["step"])], depth[r["layer"]] - 1] = float(r[stat]) if r[stat] else np.nan
            self._stats[stat] = table

    def grad(self, stat: str = "grad_norm") -> np.ndarray:
        return self._stats[stat]

    @property
    def hidden(self) -> list[int]:
        """Column indices of the hidden layers (everything but the output layer)."""
        return [i for i, name in enumerate(self.layers) if name != "output"]
