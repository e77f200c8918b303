"""Screenshots of every view for the README: `xvfb-run -s "-screen 0 1400x900x24" python -m gui.screenshots`.

Uses its own ZOO_HOME (default: a fresh temporary folder), trains what the views need (mlp on
MNIST when ZOO_DATA_DIR has it, else digits; the diverging `exploding`; the vanishing and exploding
presets; the rnn preset for 2 epochs and the init preset for 1, enough to show what they are about),
drives each view as a user would (the Doctor beside the vanishing pair too) and saves
`assets/screenshots/<view>.png`: what the X server shows in the window's place (a real screenshot, not a
rendering of the widget), so it needs a display (Xvfb), not Qt's offscreen platform. Also saves a figure
with the Gradients view's Save figure.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _train(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "zoo", "train", *args], check=False, stdout=subprocess.DEVNULL)


def _wait(app, condition, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.02)


def _settle(app, seconds: float = 0.5) -> None:
    _wait(app, lambda t=time.monotonic() + seconds: time.monotonic() > t)


def shoot_doctor(app, window, shoot) -> None:
    """The Doctor beside the vanishing pair, deep-sigmoid's vanishing gradient selected: its layers' curves stand
    out and its steps are shaded on the Norms."""
    doctor = window.gradients.doctor
    _wait(app, lambda: doctor.settled and bool(doctor.sections))
    sigmoid = next(r.path for r in window.gradients.runs if r.name.startswith("deep-sigmoid"))
    doctor.select(sigmoid, "vanishing_gradients")
    shoot(window.gradients, "doctor")
    doctor.select(sigmoid, None)


def shoot_doctor_try(app, window, shoot) -> None:
    """Try the fix on deep-sigmoid's vanishing gradient: the fixed run trained beside it, the verdict in the card."""
    view, doctor = window.gradients, window.gradients.doctor
    sigmoid = next(r.path for r in view.runs if r.name.startswith("deep-sigmoid"))
    view.show_runs([sigmoid])
    _wait(app, lambda: doctor.settled and bool(doctor.sections))
    next(c for c in doctor.cards() if c.finding.code == "vanishing_gradients").button.click()
    _wait(app, lambda: any(t.verdict for t in doctor.trials.values()))
    _wait(app, lambda: doctor.settled and not view.busy)
    shoot(view, "doctor-try")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="assets/screenshots")
    parser.add_argument("--home", help="ZOO_HOME to use (default: a new temporary folder)")
    args = parser.parse_args()
    os.environ["ZOO_HOME"] = args.home or tempfile.mkdtemp(prefix="zoo-shots-")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from zoo import DataError
    from zoo.datasets import load_dataset
    from zoo.runs import list_runs

    try:
        load_dataset("mnist")
        digits = "mnist"
    except DataError:
        digits = "digits"
    if not any(r.model == "mlp" and r.finished_ok for r in list_runs()):
        _train("mlp", "--dataset", digits, "--epochs", "3")
        _train("exploding")

    from PySide6.QtWidgets import QApplication

    from gui.window import MainWindow
    from gui.views.gradients_view import TABS

    app = QApplication([])
    window = MainWindow()
    window.resize(1400, 880)
    window.show()
    window.load_tensorflow()
    _wait(app, lambda: window.tensorflow_ready)

    if app.platformName() in ("offscreen", "minimal"):
        raise SystemExit("screenshots need a display: run under xvfb-run (see the docstring), not offscreen")

    def shoot(view, name: str) -> None:
        window.tabs.setCurrentWidget(view)
        _settle(app)
        frame = window.frameGeometry()
        screen = app.primaryScreen().grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
        screen.save(str(out / f"{name}.png"))
        print(out / f"{name}.png")

    window.zoo.select("deep-sigmoid")
    shoot(window.zoo, "zoo")

    window.gradients.run_preset("exploding", reuse=True)
    window.tabs.setCurrentWidget(window.gradients)
    _wait(app, lambda: not window.gradients.busy)
    shoot(window.gradients, "gradients-exploding")
    window.gradients.save(str(out / "gradients-exploding-saved.png"))  # what Save figure writes
    print(out / "gradients-exploding-saved.png")

    window.gradients.run_preset("vanishing", reuse=True)
    _wait(app, lambda: not window.gradients.busy)
    shoot(window.gradients, "gradients")
    keys = [key for key, _ in TABS]
    for key in keys[1:]:
        if key == "time":  # feed-forward nets have no gradient by input time step: the rnn preset shows it below
            continue
        window.gradients.tabs.setCurrentIndex(keys.index(key))
        shoot(window.gradients, f"gradients-{key}")
    window.gradients.tabs.setCurrentIndex(0)
    shoot_doctor(app, window, shoot)
    shoot_doctor_try(app, window, shoot)

    window.gradients.run_preset("rnn", reuse=True, epochs=2)
    _wait(app, lambda: not window.gradients.busy)
    window.gradients.tabs.setCurrentIndex(keys.index("time"))
    shoot(window.gradients, "gradients-through-time")
    window.gradients.tabs.setCurrentIndex(0)
    window.gradients.run_preset("init", reuse=True, epochs=1)
    _wait(app, lambda: not window.gradients.busy)
    shoot(window.gradients, "gradients-init")

    window.train.select_model("mlp")
    window.train.dataset.setCurrentText("digits")
    window.train.epochs.setValue(6)
    epochs = []
    window.train.process.epoch.connect(epochs.append)
    window.train.start()
    _wait(app, lambda: len(epochs) >= 4)
    shoot(window.train, "train")
    _wait(app, lambda: not window.train.process.running)

    mnist_mlp = next(r for r in list_runs() if r.model == "mlp" and r.finished_ok and r.dataset == digits)
    window.runs.refresh()
    window.runs.select(mnist_mlp.path)
    shoot(window.runs, "runs")
    diverged = next(r for r in list_runs() if r.state == "diverged")
    window.runs.select(diverged.path)
    shoot(window.runs, "runs-diverged")

    window.draw.refresh()
    window.draw.set_run(mnist_mlp.path)
    window.draw.pad.add_stroke([(70, 70), (150, 66), (215, 64)])  # a 7: the bar, then the stem
    window.draw.pad.add_stroke([(215, 64), (180, 140), (150, 215)])
    shoot(window.draw, "draw")

    window.perceptron.load_preset("concert")
    window.perceptron.train_to_end()
    shoot(window.perceptron, "perceptron")
    window.activations.select("sigmoid")
    window.activations.set_x(0.0)
    shoot(window.activations, "activations")
    window.close()


if __name__ == "__main__":
    main()
