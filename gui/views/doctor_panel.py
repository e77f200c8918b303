"""The Doctor panel beside the Gradients view: what `zoo.doctor.diagnose` finds in each run shown, most serious
first, each finding with its severity, layers, evidence, why and fix; selecting one highlights its evidence on the
Norms plot; "Try the fix" trains the fixed spec (`zoo.doctor.fixed_spec`) in the training process and says
whether the finding is gone.

The panel only displays: `diagnose` runs on a worker thread (it reads the run's CSV files: about 10 ms for a
10-epoch deep-sigmoid run on digits), again whenever a run's record files change, so a finding shows up as soon as
it holds in a run that is training.
"""
from __future__ import annotations

import html
import itertools
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout,
                               QWidget)

from zoo.errors import ZooError
from zoo.runs import (ACTIVATIONS, GRADIENT_DETAILS, GRADIENTS, HISTORY, INPUT_GRADIENTS, SPEC_FILE, STATUS,
                      read_status)

from ..training_process import TrainingOptions

SEVERITY_COLOURS = {"critical": "#c62828", "warning": "#b26a00"}  # text on white: both readable (contrast > 4.5)
SEVERITY_TINTS = {"critical": "#fdeeee", "warning": "#fff5e3"}
SELECTED_COLOUR = "#1f5fa8"
GONE_COLOUR, STILL_COLOUR = "#2e7d32", "#c62828"
PANEL_WIDTH = (250, 380)  # px: the panel's narrowest and widest when the view opens it
BUSY_SHARE = 0.1  # a growing run is diagnosed again at most this share of the time (every 1.5 s for a 150 ms read)
WATCHED = (STATUS, HISTORY, GRADIENTS, ACTIVATIONS, GRADIENT_DETAILS, INPUT_GRADIENTS, SPEC_FILE)  # what diagnose reads


# -- the work, off the GUI thread -------------------------------------------------------------------------
@dataclass
class Diagnosis:
    """What the panel shows of one run: its `findings` (most serious first), per finding the change zoo would make
    to its spec to fix it (None: no fix zoo can apply to this spec), why no finding of it can be tried (`no_try`,
    '' when the run has a spec.toml), or the `error` that stopped the diagnosis; `seconds` it took; `ticket`: the
    request it answers."""

    path: Path
    findings: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    no_try: str = ""
    error: str = ""
    unread: list = field(default_factory=list)  # the run's files the doctor could not read (the rules said nothing)
    seconds: float = 0.0
    ticket: int = 0


def examine(path: Path, ticket: int = 0) -> Diagnosis:
    """Diagnose a run folder and work out which of its findings zoo can fix (reads files only: any thread)."""
    from zoo import doctor
    from zoo.remedy import run_spec

    started = time.perf_counter()
    result = Diagnosis(Path(path), ticket=ticket)
    try:
        result.findings, result.unread = doctor.examine(path)
    except ZooError as e:
        result.error = str(e)
    except Exception as e:  # an unexpected failure is one line in the panel, never a crash of the window
        result.error = f"{type(e).__name__}: {e}"
    result.changes = [None] * len(result.findings)
    if result.findings and result.unread:  # as `zoo doctor --try`: advice from part of the run may be the wrong one
        result.no_try = "the doctor could not read all of this run (see above): mend or remove that file first"
    elif result.findings:
        try:
            spec = run_spec(path)
        except ZooError as e:
            result.no_try = str(e)
        else:
            for i, finding in enumerate(result.findings):
                try:
                    fixed = doctor.fixed_spec(spec, finding)
                except Exception:  # a spec the fix cannot be applied to: no button, the fix as text
                    fixed = None
                result.changes[i] = fixed[1] if fixed else None
    result.seconds = time.perf_counter() - started
    return result


class Diagnoser(QObject):
    """Diagnoses run folders on a daemon thread, one at a time, the oldest request first (a run asked for again
    while waiting keeps its place); `done(Diagnosis)` arrives in the GUI thread. The thread ends when nothing is
    left to do (a view that is closed leaves none behind)."""

    done = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: dict[Path, int] = {}
        self._tickets = itertools.count(1)
        self._working = False
        self.last_ticket = 0

    def request(self, path: Path) -> int:
        """Diagnose `path` (again); the ticket of this request (a Diagnosis answers it when its ticket is as high)."""
        with self._lock:
            ticket = next(self._tickets)
            self._pending[Path(path)] = ticket
            self.last_ticket = ticket
            if not self._working:
                self._working = True
                threading.Thread(target=self._work, daemon=True, name="doctor").start()
        return ticket

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._working and not self._pending

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._working = False
                    return
                path = next(iter(self._pending))
                ticket = self._pending.pop(path)
            result = examine(path, ticket)
            try:
                self.done.emit(result)
            except RuntimeError:  # the panel was closed meanwhile
                with self._lock:
                    self._working = False
                return


# -- trying a fix ---------------------------------------------------------------------------------------
@dataclass
class FixPlan:
    """A finding's fix as a training: the `options` of the training process (the fixed spec's file, the run folder
    `out` beside the original), the `change` in words, and the spec file (temporary) to remove afterwards."""

    original: Path
    finding: object
    change: str
    out: Path
    spec_file: Path
    options: TrainingOptions


def plan_fix(run_dir: Path, finding) -> FixPlan:
    """The fixed spec written to a temporary file, and the training that trains it from the same seed (and on the
    same backend) into `RUN-fixed` beside the run (`-fixed-2`, ... when taken); `ZooError` when there is none."""
    from zoo.doctor import fixed_spec
    from zoo.remedy import fixed_run_dir, run_spec

    run_dir = Path(run_dir)
    spec = run_spec(run_dir)
    fixed = fixed_spec(spec, finding)
    if fixed is None:
        raise ZooError(f"zoo has no change to make to this spec for {finding.code}; try by hand: {finding.fix}")
    new_spec, change = fixed
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix="zoo-fix-"))
        spec_file = folder / f"{new_spec.name}.toml"  # its stem names the fixed run's model
        spec_file.write_text(new_spec.to_toml())
    except OSError as e:  # a full or read-only temporary folder
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise ZooError(f"cannot write the fixed spec to a temporary file ({e.strerror or e})") from None
    out = fixed_run_dir(run_dir)
    return FixPlan(run_dir, finding, change, out, spec_file,
                   TrainingOptions(str(spec_file), out=str(out), backend=_backend(run_dir)))


def _backend(run_dir: Path) -> str | None:
    """The Keras backend the run trained on, when it is installed here (the same seed on another backend starts
    from other weights)."""
    from zoo.backends import installed_backends

    try:
        backend = getattr(read_status(run_dir), "backend", None)  # never blocks on a FIFO, nor reads without bound
    except ZooError:
        return None
    return backend if backend in installed_backends() else None


def remove_plan(plan: FixPlan) -> None:
    """The temporary spec file, once the training read it."""
    for path in (plan.spec_file, plan.spec_file.parent):
        try:
            path.unlink() if path.is_file() else path.rmdir()
        except OSError:
            pass


@dataclass
class Trial:
    """A fix being tried: the finding it treats, the change, the fixed run and what became of it (`verdict`, once
    the fixed run ended and was diagnosed; `gone`)."""

    original: Path
    key: tuple
    code: str
    change: str
    out: Path
    state: str = "training"
    message: str = ""
    after: int = 0  # the diagnosis of `out` asked for after it ended: the verdict comes from it, not an older one
    verdict: str = ""
    gone: bool | None = None


# -- the widgets ------------------------------------------------------------------------------------------
def _breakable(text: str) -> str:
    """Escaped for rich text, with a place to wrap after each '/' (a layer path is one long word)."""
    return html.escape(text).replace("/", "/\u200b")


def finding_keys(findings) -> list[tuple]:
    """A key per finding that stays the same while the run grows and its evidence's numbers change: (code, n) for
    the n-th finding of that code."""
    seen: dict[str, int] = {}
    keys = []
    for f in findings:
        seen[f.code] = seen.get(f.code, -1) + 1
        keys.append((f.code, seen[f.code]))
    return keys


def where_text(finding) -> str:
    """Where the evidence lies: its layers, steps or epochs."""
    parts = []
    if finding.layers:
        parts.append("layers " + ", ".join(finding.layers[:4]) + (" …" if len(finding.layers) > 4 else ""))
    if finding.steps:
        a, b = finding.steps
        parts.append(f"step {a}" if a == b else f"steps {a}–{b}")
    if finding.epochs:
        a, b = finding.epochs
        parts.append(f"epoch {a}" if a == b else f"epochs {a}–{b}")
    return " · ".join(parts)


class FindingCard(QFrame):
    """One finding: its severity in colour, code, where, evidence, why and fix; a Try the fix button (or why there
    is none) and what trying it showed. Clicking it selects it (clicking again, or another, deselects it)."""

    clicked = Signal(object)
    try_clicked = Signal(object)
    stop_clicked = Signal(object)
    show_clicked = Signal(object)

    def __init__(self, run: Path, key: tuple, finding, change: str | None, no_try: str, parent=None):
        super().__init__(parent)
        self.run, self.key, self.finding, self.change = run, key, finding, change
        self.mode = "try"  # what its button does: "try", "stop" (its fix is training) or "show" (tried: both runs)
        self.selected = False
        self.setObjectName("finding")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Click to highlight its evidence on the Norms plot" if finding.layers or finding.steps else
                        "Its evidence is per epoch (the loss): nothing to highlight on the gradient plots")
        colour = SEVERITY_COLOURS.get(finding.severity, "#444")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 6, 6)
        layout.setSpacing(3)
        self.header = self._label(f"<span style='color:{colour}'><b>{finding.severity.upper()}</b></span> "
                                  f"<b>{html.escape(finding.code)}</b>")
        layout.addWidget(self.header)
        where = where_text(finding)
        self.where = self._label(f"<span style='color:#555'>{_breakable(where)}</span>") if where else None
        if self.where:
            layout.addWidget(self.where)
        self.evidence = self._label(f"<b>Evidence:</b> {_breakable(finding.evidence)}")
        self.why = self._label(f"<b>Why:</b> {_breakable(finding.explanation)}")
        self.fix = self._label(f"<b>Fix:</b> {_breakable(finding.fix)}")
        for label in (self.evidence, self.why, self.fix):
            layout.addWidget(label)
        self.button = None
        self.no_button = None
        if change is not None:
            self.button = QPushButton("Try the fix")
            self.tip = (f"Train this run's spec with {change}, from the same seed, in a new run beside it; then show "
                        "both and say whether the finding is gone")
            self.button.setToolTip(self.tip)
            self.button.clicked.connect(lambda: (self.stop_clicked if self.mode == "stop" else
                                                 self.show_clicked if self.mode == "show" else self.try_clicked).emit(self))
            row = QHBoxLayout()
            row.addWidget(self.button)
            self.change_text = f"<span style='color:#555'>{html.escape(change)}</span>"
            self.beside = self._label(self.change_text)  # the change; why the button is off, while it is
            row.addWidget(self.beside, 1)
            layout.addLayout(row)
        else:
            why = no_try or "zoo has no change to make to this spec for it: try the fix by hand"
            self.no_button = self._label(f"<span style='color:#555'><i>No Try button: {_breakable(why)}.</i></span>")
            layout.addWidget(self.no_button)
        self.result = self._label("")
        self.result.hide()
        layout.addWidget(self.result)
        self._style()

    def _label(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wraps, never widens
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # a click selects the card
        return label

    def _style(self) -> None:
        colour = SEVERITY_COLOURS.get(self.finding.severity, "#444")
        tint = SEVERITY_TINTS.get(self.finding.severity, "#f4f4f4")
        edge = f"2px solid {SELECTED_COLOUR}" if self.selected else "1px solid #d0d0d0"
        self.setStyleSheet(f"QFrame#finding {{ background: {tint}; border: {edge}; border-left: 5px solid {colour};"
                           " border-radius: 3px; }")

    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        self._style()

    def set_result(self, text: str) -> None:
        self.result.setText(text)
        self.result.setVisible(bool(text))

    def set_trying(self, busy: bool, why: str = "", mode: str = "try") -> None:
        """The button: Try the fix; Stop while its own fix trains; Show both runs once it was tried; off (with why)
        while another training runs or the run itself still trains."""
        if self.button is None:
            return
        self.mode = mode
        text, tip = {"stop": ("Stop", "Stop training the fix (the verdict needs all its epochs)"),
                     "show": ("Show both runs", "Show this run and its fixed run side by side again")
                     }.get(mode, ("Try the fix", self.tip))
        self.button.setText(text)
        self.button.setEnabled(mode != "try" or not busy)
        self.button.setToolTip(why if mode == "try" and busy and why else tip)
        off = mode == "try" and busy and why
        self.beside.setText(f"<span style='color:#555'><i>{html.escape(why)}</i></span>" if off else self.change_text)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self)
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.clicked.emit(self)
            return
        super().keyPressEvent(event)


class RunSection(QWidget):
    """A run's heading and its findings (or "nothing found")."""

    def __init__(self, path: Path, parent=None):
        super().__init__(parent)
        self.path = path
        self.cards: list[FindingCard] = []
        self.shown: tuple | None = None  # what it shows: rebuilt only when that changes
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 4, 0, 6)
        self.layout_.setSpacing(5)
        self.heading = self._label("")
        self.note = self._label("")
        self.note.hide()
        self.layout_.addWidget(self.heading)
        self.layout_.addWidget(self.note)

    @staticmethod
    def _label(text: str) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        return label

    def clear_cards(self) -> None:
        for card in self.cards:
            self.layout_.removeWidget(card)
            card.deleteLater()
        self.cards = []


class DoctorPanel(QWidget):
    """For the runs the Gradients view shows: their findings, most serious first, re-diagnosed (off the GUI
    thread) whenever a run's records change.

    Signals:
        selected(selection): (run path, Finding) of the card clicked, or None when none is selected.
        try_fix(selection): (run path, Finding) whose Try the fix button was clicked.
        stop_trial(): the Stop of the fix being trained was clicked.
        show_pair((run, fixed run)): Show both runs of a fix tried was clicked.
    """

    selected = Signal(object)
    try_fix = Signal(object)
    stop_trial = Signal()
    show_pair = Signal(object)  # (run, its fixed run)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.diagnoser = Diagnoser(self)
        self.diagnoser.done.connect(self._diagnosed)
        self.results: dict[Path, Diagnosis] = {}
        self.sections: dict[Path, RunSection] = {}
        self.trials: dict[tuple, Trial] = {}  # (run, key) -> the fix tried for that finding
        self._runs: list = []
        self._stamps: dict[Path, tuple] = {}
        self._asked: dict[Path, int] = {}  # the ticket of the newest request per run
        self._asked_at: dict[Path, float] = {}  # when it was asked for (time.monotonic())
        self._recheck = QTimer(self, singleShot=True)  # a changed run left for later (BUSY_SHARE) is asked for then
        self._recheck.timeout.connect(self._poll)
        self._selection: tuple | None = None  # (run, key)
        self._busy = ""  # why Try buttons are off ('' when they are on)
        self.counts = {"critical": 0, "warning": 0}
        self.setMinimumWidth(1)  # never what keeps the view from getting narrower: it folds away instead

        title = QLabel("<b>Doctor</b>")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setStyleSheet("color: #555")
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(2, 0, 4, 0)
        self.body_layout.setSpacing(2)
        self.empty = QLabel("Open runs to see what the doctor finds in them.")
        self.empty.setWordWrap(True)
        self.body_layout.addWidget(self.empty)
        self.body_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # it wraps instead
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addWidget(self.scroll, 1)
        self.summary.setText("What zoo doctor finds in the runs shown; click a finding to see its evidence on the "
                             "Norms plot.")

    # -- the runs ---------------------------------------------------------------------------------------
    def show_runs(self, runs) -> None:
        """The view's runs (RunData: path, name, state, tail): a section each, in their order; each diagnosed again
        when its records changed since it last was."""
        self._runs = list(runs)
        paths = [run.path for run in self._runs]
        for path in list(self.sections):
            if path not in paths:
                section = self.sections.pop(path)
                self.body_layout.removeWidget(section)
                section.deleteLater()
                self.results.pop(path, None)
                self._stamps.pop(path, None)
                self._asked.pop(path, None)
                self._asked_at.pop(path, None)
        if self._selection and self._selection[0] not in paths:
            self._select(None)
        self.empty.setVisible(not paths)
        for index, run in enumerate(self._runs):
            section = self.sections.get(run.path)
            if section is None:
                section = self.sections[run.path] = RunSection(run.path)
            if self.body_layout.indexOf(section) != index + 1:  # after the "open runs" line, in the runs' order
                self.body_layout.insertWidget(index + 1, section)
            self._render(run)
        self._summarise()
        self._poll()

    def _poll(self) -> None:
        """Ask for the diagnosis of each run whose records changed since it was last asked for; a run that grows
        is asked for at most BUSY_SHARE of the time its diagnosis takes (a long MNIST run: 150 ms each), the rest
        a moment later."""
        now, wait = time.monotonic(), None
        for run in self._runs:
            stamp = _stamp(run.path)
            if stamp == self._stamps.get(run.path):
                continue
            last = self.results.get(run.path)
            due = self._asked_at.get(run.path, -1e9) + (last.seconds / BUSY_SHARE if last else 0.0)
            if now < due:
                wait = min(wait if wait is not None else 1e9, due - now)
                continue
            self._stamps[run.path], self._asked_at[run.path] = stamp, now
            self._asked[run.path] = self.diagnoser.request(run.path)
        if wait is not None:
            self._recheck.start(int(wait * 1000) + 10)

    def diagnose_again(self, path: Path) -> int:
        """Ask for a new diagnosis of `path` (whatever its files' times say); its ticket."""
        self._asked[Path(path)] = ticket = self.diagnoser.request(Path(path))
        return ticket

    @property
    def settled(self) -> bool:
        """Every run shown has the diagnosis of its current records (tests wait for this)."""
        return self.diagnoser.idle and not self._recheck.isActive() and all(
            run.path in self.results and self.results[run.path].ticket >= self._asked.get(run.path, 0)
            for run in self._runs)

    def _diagnosed(self, result: Diagnosis) -> None:
        for trial in self.trials.values():  # a fix's verdict, whichever runs are shown now
            if trial.out == result.path and trial.after and result.ticket >= trial.after and not trial.verdict:
                self._judge(trial, result)
                self._rerender(trial.original)
        if result.path not in self.sections:
            return
        old = self.results.get(result.path)
        if old is not None and old.ticket > result.ticket:
            return
        self.results[result.path] = result
        for run in self._runs:
            if run.path == result.path or any(t.out == result.path and t.original == run.path
                                              for t in self.trials.values()):
                self._render(run)
        self._summarise()

    def _summarise(self) -> None:
        counts = {"critical": 0, "warning": 0}
        for run in self._runs:
            for f in (self.results.get(run.path) or Diagnosis(run.path)).findings:
                counts[f.severity] = counts.get(f.severity, 0) + 1
        self.counts = counts

    def finding_count(self) -> tuple[int, int]:
        """(critical, warning) findings in the runs shown."""
        return self.counts.get("critical", 0), self.counts.get("warning", 0)

    # -- drawing a run's section ------------------------------------------------------------------------
    def _render(self, run) -> None:
        section = self.sections[run.path]
        result = self.results.get(run.path)
        problem = getattr(run.tail, "problem", "") if run.tail is not None else ""
        made_by = next((t for t in self.trials.values() if t.out == run.path), None)
        heading = f"<b>{html.escape(run.name or run.path.name)}</b>"
        if run.state and run.state not in ("completed",):
            heading += f" <span style='color:#555'>({html.escape(run.state)})</span>"
        if made_by is not None:
            heading += (f"<br><span style='color:#555'>trained by <i>Try the fix</i> ({html.escape(made_by.change)}) "
                        f"for {html.escape(made_by.code)}</span>")
            if made_by.verdict:
                heading += f"<br>{made_by.verdict}"
        if result is None:
            body = "<span style='color:#555'>diagnosing…</span>"
        elif result.error:
            body = f"<span style='color:{SEVERITY_COLOURS['critical']}'>{_breakable(result.error)}</span>"
        elif not result.findings:
            if not (run.path / GRADIENTS).exists():
                body = "nothing found <span style='color:#555'>(no gradient records to read yet)</span>"
            elif run.state == "running":
                body = "nothing found <span style='color:#555'>so far (it is training: read again as it grows)</span>"
            else:
                body = ("<span style='color:#2e7d32'><b>nothing found</b></span><span style='color:#555'>: the "
                        "gradients, activations, updates and losses look healthy</span>")
        else:
            n = len(result.findings)
            body = f"{n} finding{'s' if n != 1 else ''}, most serious first"
        section.heading.setText(f"{heading}<br>{body}")
        section.heading.setToolTip(f"{run.path}\nread by zoo doctor in {result.seconds * 1000:.0f} ms" if result else
                                   str(run.path))
        unread = [note.replace(str(run.path) + "/", "") for note in (result.unread if result else [])]
        if problem and not unread:
            name = Path(str(run.path / GRADIENTS)).name
            unread = [f"{problem.replace(str(run.path / GRADIENTS), name)}: the doctor reads whole files only"]
        if unread:
            section.note.setText(f"<span style='color:{SEVERITY_COLOURS['critical']}'>⚠ Not read, so not checked: "
                                 f"{'; '.join(_breakable(note[:300]) for note in unread[:3])}. The rules that need it "
                                 "said nothing</span>")
        section.note.setVisible(bool(unread))
        findings = result.findings if result is not None else []
        keys = finding_keys(findings)
        shown = tuple((k, f.to_dict(), c) for k, f, c in zip(keys, findings, result.changes if result else [])) + (
            (result.no_try if result else ""),)
        if shown != section.shown:
            section.shown = shown
            section.clear_cards()
            for key, finding, change in zip(keys, findings, result.changes if result else []):
                card = FindingCard(run.path, key, finding, change, result.no_try)
                card.clicked.connect(self._card_clicked)
                card.try_clicked.connect(lambda c: self.try_fix.emit((c.run, c.finding)))
                card.stop_clicked.connect(lambda c: self.stop_trial.emit())
                card.show_clicked.connect(self._show_pair)
                section.layout_.addWidget(card)
                section.cards.append(card)
            if self._selection and self._selection[0] == run.path:
                card = next((c for c in section.cards if c.key == self._selection[1]), None)
                self._select(card)  # the same finding, its evidence updated (or gone: nothing selected)
        for card in section.cards:
            trial = self.trials.get((run.path, card.key))
            card.set_result(_trial_text(trial) if trial else "")
            card.set_selected(self._selection == (run.path, card.key))
            busy = self._busy or ("Still training: the fix can be tried once it has ended" if run.state == "running"
                                  else "")
            card.set_trying(bool(busy), busy, _mode(trial))

    # -- selection --------------------------------------------------------------------------------------
    def cards(self) -> list[FindingCard]:
        return [card for run in self._runs if run.path in self.sections for card in self.sections[run.path].cards]

    def _card_clicked(self, card: FindingCard) -> None:
        self._select(None if self._selection == (card.run, card.key) else card)

    def select(self, run: Path, code: str) -> FindingCard | None:
        """Select the run's first finding with this code (as a click does); the card, or None."""
        card = next((c for c in self.sections[Path(run)].cards if c.finding.code == code), None) \
            if Path(run) in self.sections else None
        self._select(card)
        return card

    def _select(self, card: FindingCard | None) -> None:
        self._selection = (card.run, card.key) if card is not None else None
        for c in self.cards():
            c.set_selected(c is card)
        self.selected.emit((card.run, card.finding) if card is not None else None)

    @property
    def selection(self) -> tuple | None:
        """(run path, Finding) selected, or None."""
        if self._selection is None:
            return None
        card = next((c for c in self.cards() if (c.run, c.key) == self._selection), None)
        return (card.run, card.finding) if card is not None else None

    # -- trying fixes ---------------------------------------------------------------------------------
    def set_busy(self, why: str) -> None:
        """Try buttons off while a training runs ('' : on again)."""
        self._busy = why
        for run in self._runs:
            if run.path in self.sections:
                self._render(run)

    def _show_pair(self, card: FindingCard) -> None:
        trial = self.trials.get((card.run, card.key))
        if trial is not None:
            self.show_pair.emit((trial.original, trial.out))

    def start_trial(self, plan: FixPlan) -> Trial:
        key = next((k for k, f in zip(finding_keys(self._findings(plan.original)), self._findings(plan.original))
                    if f is plan.finding), (plan.finding.code, 0))
        trial = Trial(plan.original, key, plan.finding.code, plan.change, plan.out)
        self.trials[(plan.original, key)] = trial
        self._rerender(plan.original)
        return trial

    def cannot_try(self, run: Path, finding, message: str) -> None:
        key = next((k for k, f in zip(finding_keys(self._findings(run)), self._findings(run)) if f is finding),
                   (finding.code, 0))
        trial = Trial(Path(run), key, finding.code, "", Path(run), state="failed", message=message, verdict=message)
        self.trials[(Path(run), key)] = trial
        self._rerender(run)

    def end_trial(self, trial: Trial, end: dict) -> None:
        """The fixed run ended: diagnose it once more (its last records) for the verdict, or say why there is none."""
        trial.state, trial.message = end.get("state", "failed"), end.get("message") or ""
        if trial.state == "stopped":  # as `zoo doctor --try`: a part of the epochs gives no verdict on the fix
            what = f"The fixed run {html.escape(trial.out.name)} was" if trial.out.is_dir() else "The fix's training was"
            trial.verdict = (f"<span style='color:{STILL_COLOUR}'>✗ {what} stopped before its last epoch: no verdict "
                             "(it must train as long as the run)</span>")
        elif trial.state in ("completed", "diverged") and trial.out.is_dir():
            trial.after = self.diagnose_again(trial.out)
        else:
            trial.verdict = (f"<span style='color:{STILL_COLOUR}'>✗ The fixed run {html.escape(trial.state)}: "
                             f"{_breakable(trial.message or 'no message')}</span>")
        self._rerender(trial.original)
        self._rerender(trial.out)

    def _judge(self, trial: Trial, result: Diagnosis) -> None:
        if result.error:
            trial.verdict = (f"<span style='color:{STILL_COLOUR}'>✗ The fixed run cannot be diagnosed: "
                             f"{_breakable(result.error)}</span>")
            return
        trial.gone = trial.code not in {f.code for f in result.findings}  # `zoo doctor --try`'s rule (Remedy.gone)
        ended = "" if trial.state == "completed" else f" (it {trial.state})"
        others = [f.code for f in result.findings if f.code != trial.code]
        rest = (f"; it has {', '.join(others)}" if others else "; nothing else was found") if trial.gone else ""
        also = sorted({f.code for f in self._findings(trial.original)} - {trial.code} - set(others))
        rest += f" ({', '.join(also)}: gone too)" if also and trial.gone else ""
        if trial.gone:
            trial.verdict = (f"<span style='color:{GONE_COLOUR}'>✓ <b>{trial.code} is gone</b></span> in "
                             f"{html.escape(trial.out.name)}{ended}{html.escape(rest)}")
        else:
            still = next(f for f in result.findings if f.code == trial.code)
            trial.verdict = (f"<span style='color:{STILL_COLOUR}'>✗ <b>{trial.code} is still there</b></span> in "
                             f"{html.escape(trial.out.name)}{ended}: {_breakable(still.evidence)}")

    def _findings(self, run: Path) -> list:
        result = self.results.get(Path(run))
        return result.findings if result else []

    def _rerender(self, path: Path) -> None:
        for run in self._runs:
            if run.path == Path(path):
                self._render(run)

    def text(self) -> str:
        """Everything the panel says, as plain text (what a reader sees, for tests)."""
        parts = [self.summary.text()]
        for run in self._runs:
            section = self.sections.get(run.path)
            if section is None:
                continue
            parts += [section.heading.text(), section.note.text() if section.note.isVisible() else ""]
            for card in section.cards:
                parts += [label.text() for label in card.findChildren(QLabel) if label.text()]
        return _plain("\n".join(p for p in parts if p))


def _mode(trial: Trial | None) -> str:
    """What a card's button does for the fix tried on it (None: not tried)."""
    if trial is None or (trial.state == "failed" and not trial.change):
        return "try"
    if not trial.verdict and not trial.after:
        return "stop"
    return "show" if trial.verdict and trial.out.is_dir() and trial.out != trial.original else "try"


def _trial_text(trial: Trial) -> str:
    if trial.verdict:
        if trial.state == "failed" and not trial.change:  # it could not even start
            return f"<span style='color:{STILL_COLOUR}'>✗ {_breakable(trial.verdict)}</span>"
        return f"Tried: {html.escape(trial.change)}, same seed → {trial.verdict}"
    if trial.after:
        return f"Tried: {html.escape(trial.change)}; diagnosing {html.escape(trial.out.name)}…"
    return f"Training the fix ({html.escape(trial.change)}) as {html.escape(trial.out.name)}…"


def _plain(text: str) -> str:
    import re

    text = re.sub(r"<br\s*/?>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\u200b", "")


def _stamp(path: Path) -> tuple:
    """When the files diagnose reads last changed (and their sizes): a run diagnosed again only when it changed."""
    stamp = []
    for name in WATCHED:
        try:
            stat = (path / name).stat()
            stamp.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)
