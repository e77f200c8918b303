"""Issue 18 in the app: the Doctor panel beside the Gradients view, read as a person reads it. A deep-sigmoid run's
findings, most serious first, in their severity's colour with layers, evidence, why and fix, readable at 1280x800
and 1024x700; "nothing found" for a deep-relu run; selecting a finding highlights its layers' curves and shades its
steps on the Norms plot; Try the fix trains the fixed spec (the training process stubbed: the test trains it here,
on small data) and says whether the finding is gone, or honestly that it is not; a RunRecorder run gets the fix as
text and why there is no button; a finding shows up as a run grows (diagnosed off the GUI thread); a line
gradients.csv left out is a one-line note in its run's plot."""
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

import zoo
from zoo.datasets import load_dataset
from zoo.doctor import diagnose

from conftest import shrink

pytest.importorskip("pytestqt")

from gui.views.doctor_panel import SEVERITY_COLOURS  # noqa: E402
from gui.views.gradients_view import DOCTOR_AUTO_WIDTH, HIGHLIGHT_WIDTH, GradientsView  # noqa: E402

EXAMPLES, EPOCHS = 512, 3  # as tests/test_doctor.py: enough for every rule, a few seconds each


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """name -> a run folder of that built-in trained for 3 epochs on 512 digits (seed 0), in a folder of its own."""
    runs = {}

    def get(name: str) -> Path:
        if name not in runs:
            spec = zoo.load_spec(name)
            out = tmp_path_factory.mktemp("runs") / name
            zoo.train(spec, data=shrink(load_dataset(spec.dataset), EXAMPLES), epochs=EPOCHS, seed=0, out=out,
                      progress=False, overrides={"training.augment": 0})
            runs[name] = out
        return runs[name]

    return get


def opened(qtbot, shown, paths, size=(1280, 800)) -> GradientsView:
    view = shown(GradientsView(), *size)
    view.show_runs([str(p) for p in paths])
    qtbot.waitUntil(lambda: view.doctor.settled, timeout=20_000)
    qtbot.wait(30)  # painted, laid out
    return view


def section_cards(view: GradientsView, path: Path):
    return view.doctor.sections[Path(path)].cards


def norms_curves(view: GradientsView, index: int) -> dict:
    return {item.name(): item for item in view._curves[index]}


def write_run(folder: Path, norms: np.ndarray, *, state="completed", source="zoo train", bad_line=None,
              layers=None) -> Path:
    """A run folder by hand, shaped like what zoo train (or RunRecorder) writes: gradient norms (steps, layers)."""
    folder.mkdir(parents=True, exist_ok=True)
    layers = layers or [f"hidden_{i}" for i in range(1, norms.shape[1])] + ["output"]
    lines = ["step,epoch,layer,depth,grad_norm,grad_norm_clipped"]
    for step, row in enumerate(norms, start=1):
        lines += [f"{step},1,{name},{d},{value:.7g},nan" for d, (name, value) in enumerate(zip(layers, row), start=1)]
    if bad_line is not None:
        lines[bad_line - 1] = "5,1,hidden_3,3,abc,nan"
    (folder / "gradients.csv").write_text("\n".join(lines) + "\n")
    status = {"state": state, "model": folder.name, "dataset": "digits", "seed": 0, "epochs": 1, "epochs_completed":
              0 if state == "running" else 1, "started": "2026-01-01T10:00:00+00:00", "source": source}
    if state == "running":
        from zoo.runs import process_start_time

        status["pid"], status["pid_started"] = os.getpid(), process_start_time(os.getpid())  # alive: followed live
    (folder / "status.json").write_text(json.dumps(status))
    return folder


def vanishing(steps: int = 60) -> np.ndarray:
    """Ten hidden layers whose gradient falls 1e-7..1 towards the input, and an output layer."""
    return np.tile(np.geomspace(1e-7, 1, 11), (steps, 1))


# -- 1. what the panel lists ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1280, 800), (1024, 700)])
def test_a_deep_sigmoid_runs_findings_are_listed_most_serious_first_and_readable(qtbot, shown, trained, size):
    run = trained("deep-sigmoid")
    found = diagnose(run)
    assert found and found[0].code == "vanishing_gradients", found
    view = opened(qtbot, shown, [run], size)
    assert view.doctor.isVisible() and view.doctor_button.isChecked()
    # beside the plots, not over them: the panel starts right of the tabs, and the plots keep most of the width
    panel = view.doctor.mapTo(view, view.doctor.rect().topLeft())
    tabs = view.tabs.mapTo(view, view.tabs.rect().topRight())
    assert panel.x() > tabs.x() and view.tabs.width() >= 0.6 * view.width(), (panel.x(), tabs.x())
    cards = section_cards(view, run)
    assert [c.finding.code for c in cards] == [f.code for f in found]
    severities = [c.finding.severity for c in cards]
    assert severities == sorted(severities, key=("critical", "warning").index)
    first = cards[0]
    assert SEVERITY_COLOURS["critical"] in first.header.text() and "CRITICAL" in first.header.text()
    assert "vanishing_gradients" in first.header.text()
    text = view.doctor.text()
    for f in found:
        for part in (f.evidence, f.explanation, f.fix):
            assert part in text, part
    assert "layers hidden_1, hidden_10" in text and f"steps {found[0].steps[0]}–{found[0].steps[1]}" in text
    # every label wraps inside its card and shows all its lines: nothing cut at the panel's edge, no sideways scroll
    scroll = view.doctor.scroll
    assert not scroll.horizontalScrollBar().isVisible()
    for card in cards:
        assert card.mapTo(view.doctor.body, card.rect().topRight()).x() <= scroll.viewport().width() + 1
        for label in (card.header, card.evidence, card.why, card.fix):
            assert label.wordWrap() and label.width() <= card.width()
            assert label.height() >= label.heightForWidth(label.width()) - 1, (size, label.text()[:40])
    font = first.evidence.font()
    assert font.pointSizeF() >= 8 or font.pixelSize() >= 11
    assert view.doctor_button.text() == f"Doctor ({len(found)})"


def test_a_deep_relu_run_says_nothing_found(qtbot, shown, trained):
    run = trained("deep-relu")
    assert diagnose(run) == []
    view = opened(qtbot, shown, [run])
    assert section_cards(view, run) == []
    heading = view.doctor.sections[run].heading.text()
    assert "nothing found" in heading and "deep-relu" in heading
    assert view.doctor_button.text() == "Doctor"


def test_two_runs_each_get_their_section_in_the_views_order(qtbot, shown, trained):
    sigmoid, relu = trained("deep-sigmoid"), trained("deep-relu")
    view = opened(qtbot, shown, [relu, sigmoid])
    text = view.doctor.text()
    assert text.index("deep-relu") < text.index("nothing found") < text.index("deep-sigmoid") \
        < text.index("vanishing_gradients")
    view.show_runs([str(sigmoid)])  # a run no longer shown leaves the panel
    qtbot.waitUntil(lambda: view.doctor.settled)
    assert "deep-relu" not in view.doctor.text() and list(view.doctor.sections) == [sigmoid]


# -- 2. the evidence on the curves --------------------------------------------------------------------------
def test_selecting_a_finding_highlights_its_layers_and_shades_its_steps(qtbot, shown, trained):
    sigmoid, relu = trained("deep-sigmoid"), trained("deep-relu")
    view = opened(qtbot, shown, [relu, sigmoid])
    view.tabs.setCurrentIndex(list(view.pages).index("heatmap"))
    card = next(c for c in section_cards(view, sigmoid) if c.finding.code == "vanishing_gradients")
    finding = card.finding
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    qtbot.wait(30)
    assert view._current_key() == "norms"  # the evidence is drawn there: the tab comes to the front
    assert card.selected and "2px solid" in card.styleSheet()
    curves = norms_curves(view, 1)
    for name, item in curves.items():
        pen = item.opts["pen"]
        if name in finding.layers:
            assert pen.widthF() == HIGHLIGHT_WIDTH and pen.color().alpha() == 255, name
        else:
            assert pen.widthF() < HIGHLIGHT_WIDTH and pen.color().alpha() < 100, name
    region = view.extras["norms"][1]["evidence"]
    assert region.isVisible() and tuple(region.getRegion()) == finding.steps
    (x0, x1), _ = view.plots["norms"][1][0].getViewBox().viewRange()
    assert x0 <= finding.steps[0] and finding.steps[1] <= x1  # on screen
    assert "steps" in region.label.format and str(finding.steps[1]) in region.label.format
    # the other run's plot is left as it was
    assert not view.extras["norms"][0]["evidence"].isVisible()
    assert all(item.opts["pen"].widthF() == 1.5 for item in norms_curves(view, 0).values())
    # it stays through a redraw (the view redraws every second while a run trains)
    view.redraw()
    assert region.isVisible() and curves[finding.layers[0]].opts["pen"].widthF() == HIGHLIGHT_WIDTH
    # clicked again: nothing selected, every curve as before
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    assert view.doctor.selection is None and not region.isVisible()
    assert all(item.opts["pen"].widthF() == 1.5 and item.opts["pen"].color().alpha() == 255
               for item in curves.values())


def test_a_finding_per_epoch_shades_no_steps(qtbot, shown, trained):
    run = trained("deep-sigmoid")
    view = opened(qtbot, shown, [run])
    card = view.doctor.select(run, "not_learning")
    assert card is not None and card.finding.steps is None and card.finding.epochs
    extra = view.extras["norms"][0]
    assert not extra["evidence"].isVisible() and not extra["evidence_line"].isVisible()
    assert "epochs 1–3" in card.where.text()


def test_a_single_step_is_marked_by_a_line(qtbot, shown, tmp_path):
    """A finding of one step (here an explosion's) is a line at that step, not a region of no width."""
    norms = np.tile(np.geomspace(1, 2, 11), (40, 1))
    norms[30:] = np.inf
    run = write_run(tmp_path / "boom", norms, state="diverged")
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "step": 31, "message": "the loss became nan"}))
    view = opened(qtbot, shown, [run])
    card = view.doctor.select(run, "exploding_gradients")
    assert card is not None and card.finding.steps == (31, 31)
    line = view.extras["norms"][0]["evidence_line"]
    assert line.isVisible() and line.value() == 31 and not view.extras["norms"][0]["evidence"].isVisible()


# -- 3. trying the fix -------------------------------------------------------------------------------------
def stub_training(view, monkeypatch, train):
    """The training process replaced by `train(options)` run here: begun, then finished, as the real one says."""
    started = []

    def start(options):
        started.append(options)
        assert Path(options.model).is_file()  # the fixed spec, written where the training process can read it
        out = train(options)
        view.process.begun.emit(str(out))
        view.process.finished.emit({"run": str(out), "state": "completed", "message": "", "model": options.model})

    monkeypatch.setattr(view.process, "start", start)
    return started


def test_try_the_fix_trains_the_fixed_spec_from_the_same_seed_and_says_the_finding_is_gone(qtbot, shown, trained,
                                                                                              monkeypatch):
    sigmoid, relu = trained("deep-sigmoid"), trained("deep-relu")
    view = opened(qtbot, shown, [sigmoid, relu])
    seen = {}

    def train(options):  # what `zoo train SPEC.toml --out OUT` does, on the small data
        seen["spec"] = zoo.load_spec(options.model)
        seen["runs"] = [str(r.path) for r in view.runs]
        seen["result"] = section_cards(view, sigmoid)[0].result.text()
        seen["buttons"] = [(c.button.text(), c.button.isEnabled()) for c in view.doctor.cards() if c.button]
        zoo.train(options.model, data=shrink(load_dataset("digits"), EXAMPLES), out=options.out, progress=False)
        return Path(options.out)

    started = stub_training(view, monkeypatch, train)
    card = next(c for c in section_cards(view, sigmoid) if c.finding.code == "vanishing_gradients")
    assert card.button is not None and card.button.isVisible() and "ReLU with He" in card.button.toolTip()
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    [options] = started
    before = zoo.load_spec(sigmoid / "spec.toml")
    spec = seen["spec"]
    assert all(layer.activation == "relu" and layer.initializer.name == "he_normal" for layer in spec.layers)
    assert (spec.training.seed, spec.training.epochs, spec.dataset) == (before.training.seed, before.training.epochs,
                                                                       before.dataset)
    assert Path(options.out) == sigmoid.parent / "deep-sigmoid-fixed"
    assert seen["runs"] == [str(sigmoid)]  # the original alone, then the fixed one beside it
    # its own button stops it; every other Try is off: one training at a time
    assert "Training the fix" in seen["result"] and ("Stop", True) in seen["buttons"]
    assert all(not enabled for text, enabled in seen["buttons"] if text != "Stop"), seen["buttons"]
    assert not Path(options.model).exists()  # the temporary spec is gone once the training read it
    qtbot.waitUntil(lambda: any(t.verdict for t in view.doctor.trials.values()), timeout=20_000)
    qtbot.waitUntil(lambda: view.doctor.settled)
    assert [r.path for r in view.runs] == [sigmoid, Path(options.out)]
    assert len(view.plots["norms"]) == 2  # side by side
    gone = "vanishing_gradients" not in [f.code for f in diagnose(options.out)]
    assert gone  # what the doctor says of the fixed run
    card = next(c for c in section_cards(view, sigmoid) if c.finding.code == "vanishing_gradients")
    result = card.result.text()
    assert card.result.isVisible() and "vanishing_gradients is gone" in result and "ReLU with He" in result
    text = view.doctor.text()
    assert "deep-sigmoid-fixed\ntrained by Try the fix (ReLU with He" in text, text
    assert all(c.button.isEnabled() for c in view.doctor.cards() if c.button)
    assert card.button.text() == "Show both runs"  # tried: the same seed would train the same again
    view.show_runs([sigmoid])
    qtbot.waitUntil(lambda: view.doctor.settled)
    card = next(c for c in section_cards(view, sigmoid) if c.finding.code == "vanishing_gradients")
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    assert [r.path for r in view.runs] == [sigmoid, Path(options.out)] and len(started) == 1


def test_a_fix_that_leaves_the_finding_says_so(qtbot, shown, trained, monkeypatch, tmp_path):
    sigmoid = trained("deep-sigmoid")
    original = shutil.copytree(sigmoid, tmp_path / "runs" / "deep-sigmoid")
    view = opened(qtbot, shown, [original])

    def no_better(options):  # a "fixed" run whose gradient still vanishes
        shutil.copytree(original, options.out)
        return Path(options.out)

    stub_training(view, monkeypatch, no_better)
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(t.verdict for t in view.doctor.trials.values()), timeout=20_000)
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    assert "vanishing_gradients is still there" in card.result.text()
    assert "is gone" not in card.result.text()


def test_a_fixed_run_that_fails_says_why(qtbot, shown, trained, monkeypatch, tmp_path):
    original = shutil.copytree(trained("deep-sigmoid"), tmp_path / "runs" / "deep-sigmoid")
    view = opened(qtbot, shown, [original])
    monkeypatch.setattr(view.process, "start", lambda options: view.process.finished.emit(
        {"run": None, "state": "failed", "message": "Dataset 'digits' is not here", "model": options.model}))
    card = section_cards(view, original)[0]
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "failed" in section_cards(view, original)[0].result.text())
    assert "is not here" in section_cards(view, original)[0].result.text()


def test_the_verdict_comes_when_other_runs_are_shown_meanwhile(qtbot, shown, trained, monkeypatch, tmp_path):
    original = shutil.copytree(trained("deep-sigmoid"), tmp_path / "runs" / "deep-sigmoid")
    other = trained("deep-relu")
    view = opened(qtbot, shown, [original])
    pending = []
    monkeypatch.setattr(view.process, "start", pending.append)
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    [options] = pending
    view.show_runs([other])  # the learner looks at another run while the fix trains
    shutil.copytree(trained("deep-relu"), options.out)  # the fixed run: healthy
    view.process.finished.emit({"run": str(options.out), "state": "completed", "message": "", "model": options.model})
    qtbot.waitUntil(lambda: any(t.verdict for t in view.doctor.trials.values()), timeout=20_000)
    view.show_runs([original])
    qtbot.waitUntil(lambda: view.doctor.settled)
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    assert "vanishing_gradients is gone" in card.result.text() and card.button.text() == "Show both runs"


def test_a_fix_being_tried_can_be_stopped_and_a_stopped_one_gives_no_verdict(qtbot, shown, trained, monkeypatch,
                                                                            tmp_path):
    original = shutil.copytree(trained("deep-sigmoid"), tmp_path / "runs" / "deep-sigmoid")
    view = opened(qtbot, shown, [original])
    pending, stops = [], []
    monkeypatch.setattr(view.process, "start", pending.append)
    monkeypatch.setattr(view.process, "stop", lambda: stops.append(1))
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    assert card.button.text() == "Stop" and card.button.isEnabled()
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    assert stops == [1]
    [options] = pending
    shutil.copytree(original, options.out)
    view.process.finished.emit({"run": str(options.out), "state": "stopped", "message": "", "model": options.model})
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    assert "stopped before its last epoch: no verdict" in card.result.text() and "is gone" not in card.result.text()


def test_planning_a_fix_never_blocks_on_a_fifo_and_a_full_disk_is_one_line(qtbot, shown, trained, monkeypatch,
                                                                           tmp_path):
    from conftest import fails_if_blocked
    from gui.views import doctor_panel

    original = shutil.copytree(trained("deep-sigmoid"), tmp_path / "runs" / "deep-sigmoid")
    view = opened(qtbot, shown, [original])
    card = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients")
    (original / "status.json").rename(original / "status.bak")
    os.mkfifo(original / "status.json")  # swapped in after the panel read it
    with fails_if_blocked(20):
        plan = doctor_panel.plan_fix(original, card.finding)
    doctor_panel.remove_plan(plan)
    (original / "status.json").unlink()
    (original / "status.bak").rename(original / "status.json")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(doctor_panel.tempfile, "mkdtemp", full)
    started = []
    monkeypatch.setattr(view.process, "start", started.append)
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    text = next(c for c in section_cards(view, original) if c.finding.code == "vanishing_gradients").result.text()
    assert "Cannot try the fix" in text and "No space left on device" in text and not started


def test_a_run_still_training_offers_no_try_yet(qtbot, shown, trained, tmp_path):
    running = shutil.copytree(trained("deep-sigmoid"), tmp_path / "runs" / "deep-sigmoid")
    from zoo.runs import RunLock

    status = json.loads((running / "status.json").read_text())
    (running / "status.json").write_text(json.dumps({**status, "state": "running", "pid": os.getpid()}))
    lock = RunLock(running).acquire()  # as the training holds it
    try:
        view = opened(qtbot, shown, [running])
        card = next(c for c in section_cards(view, running) if c.finding.code == "vanishing_gradients")
        assert view.runs[0].state == "running"
        assert not card.button.isEnabled() and "Still training" in card.button.toolTip()
        assert "Still training" in card.beside.text() and card.beside.isVisible()  # said, not only on hover
    finally:
        lock.release()


def test_a_run_recorder_run_gets_the_fix_as_text_and_why_there_is_no_button(qtbot, shown, tmp_path):
    run = write_run(tmp_path / "mine", vanishing(), source="RunRecorder")
    assert [f.code for f in diagnose(run)] == ["vanishing_gradients"]
    view = opened(qtbot, shown, [run])
    [card] = section_cards(view, run)
    assert card.button is None and not card.findChildren(type(view.doctor_button))
    note = card.no_button.text()
    assert "No Try button" in note and "RunRecorder" in note and "no spec.toml" in note
    assert card.finding.fix in view.doctor.text()


# -- 4. live, off the GUI thread ---------------------------------------------------------------------------
def test_a_finding_shows_up_when_it_first_holds_diagnosed_off_the_gui_thread(qtbot, shown, tmp_path, monkeypatch):
    import zoo.doctor

    threads = []
    real = zoo.doctor.examine

    def watched(run_dir):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(run_dir)

    monkeypatch.setattr(zoo.doctor, "examine", watched)
    healthy = np.tile(np.linspace(0.5, 1, 11), (30, 1))
    run = write_run(tmp_path / "growing", healthy, state="running")
    view = opened(qtbot, shown, [run])
    assert view.runs[0].state == "running"
    assert section_cards(view, run) == [] and "nothing found" in view.doctor.sections[run].heading.text()
    assert "so far" in view.doctor.sections[run].heading.text()
    asked = len(threads)
    view.refresh()  # nothing changed: not diagnosed again
    qtbot.wait(50)
    assert len(threads) == asked
    write_run(run, vanishing(80), state="running")  # the records now hold a vanishing gradient
    qtbot.waitUntil(lambda: [c.finding.code for c in section_cards(view, run)] == ["vanishing_gradients"],
                    timeout=10_000)  # the view's live timer reads it again
    assert threads and not any(threads), "diagnose ran on the GUI thread"


# -- 5. a line gradients.csv left out --------------------------------------------------------------------
def test_a_left_out_line_of_gradients_csv_is_a_one_line_note_in_its_plot(qtbot, shown, tmp_path):
    run = write_run(tmp_path / "damaged", vanishing(), bad_line=40)
    view = opened(qtbot, shown, [run])
    problem = view.runs[0].tail.problem
    assert "line 40" in problem
    for key in ("norms", "heatmap", "profile"):
        view.tabs.setCurrentIndex(list(view.pages).index(key))
        qtbot.wait(30)
        note = view.extras[key][0]["problem"]
        text = note.textItem.toPlainText()
        assert note.isVisible() and text.startswith("⚠ left out: gradients.csv, line 40"), (key, text)
        assert "\n" not in text and str(tmp_path) not in text
        box = view.plots[key][0][0].getViewBox()
        assert note.mapRectToItem(box, note.boundingRect()).right() <= box.width() + 1  # one line, inside its plot
        assert "line 40" in note.toolTip()
    # the doctor, which reads whole files, says why its gradient rules are silent on this run
    assert "line 40" in view.doctor.sections[run].note.text() and view.doctor.sections[run].note.isVisible()
    healthy = write_run(tmp_path / "fine", vanishing())
    view.show_runs([str(healthy)])
    view.tabs.setCurrentIndex(0)
    qtbot.wait(30)
    assert not view.extras["norms"][0]["problem"].isVisible()


# -- 6. room -----------------------------------------------------------------------------------------------
def test_the_panel_folds_away_in_a_small_window_and_the_button_brings_it_back(qtbot, shown, tmp_path):
    run = write_run(tmp_path / "mine", vanishing())
    view = opened(qtbot, shown, [run], (640, 420))
    assert not view.doctor.isVisible() and not view.doctor_button.isChecked()
    assert view.doctor_button.text() == "Doctor (1)" and "color" in view.doctor_button.styleSheet()
    right = view.doctor_button.mapTo(view, view.doctor_button.rect().topRight()).x()
    assert right <= view.width() and view.minimumSizeHint().width() <= 640
    qtbot.mouseClick(view.doctor_button, Qt.MouseButton.LeftButton)
    assert view.doctor.isVisible() and view.doctor.width() >= 200
    view.resize(1300, 800)  # the user's choice holds
    qtbot.mouseClick(view.doctor_button, Qt.MouseButton.LeftButton)
    qtbot.wait(20)
    assert not view.doctor.isVisible()
    wide = opened(qtbot, shown, [run], (DOCTOR_AUTO_WIDTH + 100, 700))
    assert wide.doctor.isVisible()
    colour = QColor(SEVERITY_COLOURS["critical"])
    assert colour.red() > 150 and colour.green() < 80  # critical reads red


def test_a_run_that_changes_soon_after_a_slow_diagnosis_is_read_again_a_moment_later(qtbot, shown, tmp_path,
                                                                                       monkeypatch):
    """A long run's diagnosis takes a while (150 ms for 10 MNIST epochs): a growing run is read again at most a tenth
    of the time; a change in between is not lost, even when nothing refreshes the view any more (the run ended)."""
    from gui.views import doctor_panel

    real = doctor_panel.examine

    def slow(path, ticket=0):
        result = real(path, ticket)
        result.seconds = 0.15  # as if: the next read is due 1.5 s after this one was asked for
        return result

    monkeypatch.setattr(doctor_panel, "examine", slow)
    run = write_run(tmp_path / "ends", np.tile(np.linspace(0.5, 1, 11), (30, 1)))
    view = opened(qtbot, shown, [run])
    assert section_cards(view, run) == []
    asked = view.doctor.diagnoser.last_ticket
    write_run(run, vanishing(80))
    view.refresh()
    assert view.doctor.diagnoser.last_ticket == asked and not view.doctor.settled  # not at once: in a moment
    qtbot.waitUntil(lambda: [c.finding.code for c in section_cards(view, run)] == ["vanishing_gradients"],
                    timeout=5_000)
    assert view.doctor.diagnoser.last_ticket == asked + 1
