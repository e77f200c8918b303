"""The Gradients view as a person sees it (issue 13): ranges that hold every run's data whatever the order,
a diverged run drawn and marked, clipping shown, figures saved as real files, legends off the data,
a modest minimum size, and presets that offer the last pair instead of training duplicates.

Run folders are written by hand (gradients.csv, activations.csv, histograms.npz, status.json, spec.toml),
shaped like what `zoo train` writes: no training here.
"""
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTabWidget

import zoo
from picture import (assert_all_visible, axis_labels, cut_labels, drawn_points, label_styles, overlapping_labels,
                     point_count, region_colours, scene_point, svg_texts, unreachable, visible_range)

pytest.importorskip("pytestqt")

from gui.plotting import depth_colors, save_figure  # noqa: E402
from gui.views.gradients_view import GradientsView  # noqa: E402

EDGES = np.linspace(-12.0, 2.0, 29)
LAYERS = [f"hidden_{i}" for i in range(1, 11)] + ["output"]


def make_run(folder: Path, model: str, norms: np.ndarray, *, clipped=None, state="completed", activation="relu",
             saturated=None, dead=None, act_steps=None, hist_steps=(1,), hist=None, message="", step=None,
             started="2026-01-01T10:00:00+00:00", spec: str | None = None, steps=None, layers=None,
             status=None) -> Path:
    """A run folder like `zoo train` leaves: norms (steps, layers), steps numbered from 1 unless given. `layers`:
    their names (default LAYERS: ten hidden layers and "output"); `status`: more fields of status.json (a
    RunRecorder run's source and output_layers)."""
    folder.mkdir(parents=True)
    layers = LAYERS if layers is None else list(layers)
    steps = np.arange(1, len(norms) + 1) if steps is None else np.asarray(steps)
    lines = ["step,epoch,layer,depth,grad_norm,grad_norm_clipped"]
    for i, (s, row) in enumerate(zip(steps, norms)):
        for d, (name, value) in enumerate(zip(layers, row), start=1):
            after = "nan" if clipped is None else f"{clipped[i, d - 1]:.7g}"
            lines.append(f"{s},1,{name},{d},{value:.7g},{after}")
    (folder / "gradients.csv").write_text("\n".join(lines) + "\n")
    act_steps = list(act_steps if act_steps is not None else (0, len(norms)))
    rows = ["step,epoch,layer,depth,activation,act_mean,act_std,saturated,dead"]
    for k, s in enumerate(act_steps):
        for d, name in enumerate(layers[:-1], start=1):
            sat = "nan" if saturated is None else saturated[k, d - 1]
            dd = "nan" if dead is None else dead[k, d - 1]
            rows.append(f"{s},{k},{name},{d},{activation},0.5,0.1,{sat},{dd}")
    (folder / "activations.csv").write_text("\n".join(rows) + "\n")
    counts = hist if hist is not None else np.tile(np.arange(28), (len(hist_steps), len(layers), 1))
    np.savez_compressed(folder / "histograms.npz", steps=np.array(hist_steps), layers=np.array(layers), edges=EDGES,
                        counts=counts.astype(np.int32))
    (folder / "status.json").write_text(json.dumps({"state": state, "model": model, "dataset": "digits", "seed": 0,
                                                    "epochs": 1, "epochs_completed": 1, "started": started,
                                                    "message": message, "step": step, "test": {}, **(status or {})}))
    if spec is not None:
        (folder / "spec.toml").write_text(spec)
    return folder


def exploding_pair(root: Path, steps: int = 200) -> tuple[Path, Path]:
    """`exploding`: one finite step (4e4..2.3e5), then inf, then NaN; `exploding-clipped`: 200 steps whose
    norms fall from 4e4 to ~10 (clipped to global norm 1)."""
    depth = np.linspace(1, 5.7, 11)
    first = 4e4 * depth
    exploding = np.vstack([first, np.full(11, np.inf), np.full(11, np.nan)])
    decay = np.geomspace(1, 2.5e-4, steps)[:, None]
    before = first[None, :] * decay
    global_norm = np.sqrt((before ** 2).sum(axis=1, keepdims=True))
    after = before / np.maximum(global_norm, 1.0)
    message = "Training diverged at step 3 (epoch 1): the loss became nan; try gradient clipping"
    a = make_run(root / "exploding", "exploding", exploding, state="diverged", message=message, step=3,
                 dead=np.array([[0.1] * 10, [0.0] * 10]), act_steps=(0, 3))
    b = make_run(root / "clipped", "exploding-clipped", before, clipped=after,
                 dead=np.tile(np.linspace(0.1, 0.3, 6)[:, None], (1, 10)), act_steps=(0, 40, 80, 120, 160, 200),
                 hist_steps=(1, 101), hist=np.tile(np.arange(28), (2, 11, 1)))
    return a, b


def vanishing_pair(root: Path) -> tuple[Path, Path]:
    """deep-relu (120 steps, norms 0.2..10: its hidden layers' within 2x, no vanishing) and deep-sigmoid (200 steps,
    norms 1e-7..1: ten decades)."""
    relu = np.r_[np.geomspace(0.2, 0.4, 10), 10][None, :] * np.linspace(1, 1.3, 120)[:, None]
    sigmoid = np.geomspace(1e-7, 1, 11)[None, :] * np.linspace(1, 0.8, 200)[:, None]
    counts = np.tile(np.arange(28), (2, 11, 1))
    counts[:, :, 0] = 5000  # the brightest bin: exact zeros (dead units)
    r = make_run(root / "relu", "deep-relu", relu, dead=np.tile([[0.05], [0.2]], (1, 10)), act_steps=(0, 120),
                 hist_steps=(1, 101), hist=counts)
    s = make_run(root / "sigmoid", "deep-sigmoid", sigmoid, activation="sigmoid", saturated=np.zeros((3, 10)),
                 act_steps=(0, 100, 200), hist_steps=(1, 101, 201), hist=np.tile(np.arange(28), (3, 11, 1)))
    return r, s


def settle(qtbot) -> None:
    """Let the window paint (pyqtgraph auto-ranges lazily, before painting): the picture as a person sees it."""
    qtbot.wait(30)


def open_tab(view: GradientsView, key: str, qtbot) -> None:
    """Show one tab of the view (by its key: "norms", "heatmap", "histograms", "units", "profile")."""
    view.tabs.setCurrentIndex(list(view.pages).index(key))
    settle(qtbot)


def draw_all_tabs(view: GradientsView, qtbot) -> None:
    for key in view.pages:
        open_tab(view, key, qtbot)


def covered_steps(view: GradientsView, key: str) -> list[np.ndarray]:
    """Per plot of a tab, in the runs' order: the x values its run has data at (steps; depths on the Profile;
    columns, one per recorded step, on the Histograms; input time steps on Through time)."""
    covered = []
    for run in view.runs:
        if key in ("norms", "heatmap"):
            xs = run.steps
        elif key == "units":
            xs = run.activations.get("steps", [])
        elif key == "profile":
            xs = np.arange(1, len(run.layers) + 1)
        elif key == "time":
            xs = np.arange(run.time_norms.shape[1]) if run.time_steps is not None and len(run.time_steps) else []
        else:
            xs = np.arange(len(run.histograms["steps"])) if run.histograms else []
        covered.append(np.asarray(xs, float))
    return covered


def assert_page_shows_everything(view: GradientsView, key: str) -> None:
    """Every finite point of every curve lies inside its plot's visible range; the plots of the row share one
    y range; each plot's x range covers its own run's steps, and not many more (a run that diverged at step 2 is
    not squeezed into a few pixels beside one that trained for 200)."""
    plots = [items[0] for items in view.plots[key]]
    assert len(plots) == len(view.runs), f"{key}: {len(plots)} plots for {len(view.runs)} runs"
    ranges = [visible_range(p) for p in plots]
    for other in ranges[1:]:
        assert np.allclose(other[1], ranges[0][1]), f"{key}: y ranges differ {ranges}"
    for plot, ((x0, x1), _), xs in zip(plots, ranges, covered_steps(view, key)):
        assert_all_visible(plot)
        if len(xs):
            assert x0 <= xs.min() and x1 >= xs.max(), f"{key}: x range {x0, x1} misses {xs.min()}..{xs.max()}"
            assert x1 - x0 <= 1.2 * (xs.max() - xs.min()) + 1.5, f"{key}: x range {x0, x1} is not its run's"


def assert_no_cross_on_a_ring(plot) -> None:
    """On screen, the inf/NaN crosses at the top edge keep clear of the rings on the last finite norms."""
    named = {c.name(): c for c in plot.listDataItems()}
    rings, crosses = named["last finite norm"], named["became inf/NaN"]
    reach = (rings.opts["symbolSize"] + crosses.opts["symbolSize"]) / 2
    for cx, cy in zip(*drawn_points(crosses)):
        cross = scene_point(plot, cx, cy)
        for rx, ry in zip(*drawn_points(rings)):
            ring = scene_point(plot, rx, ry)
            distance = np.hypot(cross.x() - ring.x(), cross.y() - ring.y())
            assert distance >= reach, f"the cross at step {cx} hides the ring at step {rx} ({distance:.1f} px)"


def image_inside(plot, image, tolerance=1e-6) -> bool:
    (x0, x1), (y0, y1) = visible_range(plot)
    rect = image.mapRectToView(image.boundingRect())
    return (rect.left() >= x0 - tolerance and rect.right() <= x1 + tolerance and rect.top() >= y0 - tolerance
            and rect.bottom() <= y1 + tolerance)


# -- 1. the exploding pair is readable ------------------------------------------------------------
def test_exploding_pair_shows_both_runs_the_divergence_and_clipping(qtbot, shown, tmp_path):
    exploding, clipped = exploding_pair(tmp_path)
    view = shown(GradientsView())
    if view.doctor_button.isChecked():  # the Doctor closed: the plots as wide as the view (test_gui_doctor opens it)
        view.doctor_button.click()
    view.show_runs([exploding, clipped])
    settle(qtbot)
    (boom,), (calm,) = view.plots["norms"]
    assert_page_shows_everything(view, "norms")
    (x0, x1), (y0, y1) = visible_range(boom)
    assert x1 - x0 < 3  # the exploding run's 3 steps fill its plot
    # the clipped run's 200 steps are all on screen (clip-to-view drops off-screen points: compare counts)
    layer_curves = [c for c in calm.listDataItems() if c.name() in LAYERS]
    assert sum(len(drawn_points(c)[0]) for c in layer_curves) == 200 * 11
    # ... and so are its norms after clipping (dashed), below 1
    after = [c for c in calm.listDataItems() if c.name().endswith("after clipping")]
    assert len(after) == 11 and all(c.opts["pen"].style() == Qt.PenStyle.DashLine for c in after)
    assert sum(len(drawn_points(c)[0]) for c in after) == 200 * 11
    assert max(drawn_points(c)[1].max() for c in after) <= np.log10(1.0) + 1e-6
    # the exploding panel is not blank: its last finite norms are ringed, crosses where they became inf/NaN
    named = {c.name(): c for c in boom.listDataItems()}
    xs, ys = drawn_points(named["last finite norm"])
    assert len(xs) == 11 and set(xs) == {1.0} and np.isclose(ys.max(), np.log10(4e4 * 5.7), rtol=1e-4)
    xs, ys = drawn_points(named["became inf/NaN"])  # one cross per inf/NaN step, at the top edge
    assert set(xs) == {2.0, 3.0} and (ys >= y1 - 0.05 * (y1 - y0)).all() and (ys > np.log10(4e4 * 5.7)).all()
    assert_no_cross_on_a_ring(boom)
    lines = [i for i in boom.items if isinstance(i, __import__("pyqtgraph").InfiniteLine) and i.isVisible()]
    assert [line.value() for line in lines] == [2.0] and "step 2" in lines[0].label.toPlainText()
    # the profile (its own tab) of the clipped run at the last step is there; the exploding one shows its last
    # finite step
    open_tab(view, "profile", qtbot)
    (boom_profile,), (calm_profile,) = view.plots["profile"]
    assert_page_shows_everything(view, "profile")
    assert view.slider.value() == 200 and view.step_label.text() == "step 200" and point_count(calm_profile) > 0
    assert "step 200" in calm_profile.titleLabel.text
    assert "last finite" in boom_profile.titleLabel.text and point_count(boom_profile) > 0
    # a story that fits each run
    text = view.status.text()
    assert "smaller than the last" not in text
    assert "diverged at step 2: norms reached 2.28e+05 (step 1), then inf, NaN from step 3" in text
    assert "clipping was active at 200 of 200 steps" in text and "cut the global gradient norm" in text


def test_exploding_pair_other_tabs_cover_both_runs(qtbot, shown, tmp_path):
    exploding, clipped = exploding_pair(tmp_path)
    view = shown(GradientsView())
    view.show_runs([exploding, clipped])
    settle(qtbot)
    open_tab(view, "units", qtbot)  # Units: not cut to the exploding run's steps 0-3
    assert_page_shows_everything(view, "units")
    (units,) = view.plots["units"][1]
    assert visible_range(units)[0][1] >= 200 and point_count(units) == 6 * 10
    open_tab(view, "heatmap", qtbot)  # Heatmap: both images inside, the non-finite cells crossed out
    assert_page_shows_everything(view, "heatmap")
    for (plot, image), extra in zip(view.plots["heatmap"], view.extras["heatmap"]):
        assert image_inside(plot, image)
        assert_all_visible(plot)
    boom, _ = view.plots["heatmap"][0]
    crosses = [c for c in boom.listDataItems() if c.name() == "inf/NaN"][0]
    assert len(drawn_points(crosses)[0]) == 22  # steps 2 and 3, eleven layers each


# -- 2. shared axes hold every run, in any order ---------------------------------------------------
@pytest.mark.parametrize("order", [("relu", "sigmoid"), ("sigmoid", "relu")])
def test_shared_axes_hold_every_run_whatever_the_order(qtbot, shown, tmp_path, order):
    relu, sigmoid = vanishing_pair(tmp_path)
    paths = {"relu": relu, "sigmoid": sigmoid}
    view = shown(GradientsView())
    view.show_runs([paths[name] for name in order])
    settle(qtbot)
    assert_page_shows_everything(view, "norms")
    for (curves,) in view.plots["norms"]:
        assert sum(len(drawn_points(c)[0]) for c in curves.listDataItems() if c.name() in LAYERS) in (120 * 11, 200 * 11)
    (_, (y0, y1)) = visible_range(view.plots["norms"][0][0])
    assert y0 <= -7 and y1 >= 1  # deep-sigmoid's ten decades and deep-relu's 10
    for key in ("units", "heatmap", "histograms", "profile"):
        open_tab(view, key, qtbot)
        assert_page_shows_everything(view, key)
    for key in ("heatmap", "histograms"):
        open_tab(view, key, qtbot)
        for plot, image in view.plots[key]:
            assert image_inside(plot, image)


def test_shared_ranges_follow_new_data_and_a_zoom_moves_the_whole_row(qtbot, shown, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path)
    view = shown(GradientsView())
    view.show_runs([relu])
    settle(qtbot)
    view.add_run(str(sigmoid))  # a second run arrives later (a preset's second training)
    settle(qtbot)
    assert_page_shows_everything(view, "norms")
    (first,), (second,) = view.plots["norms"]
    first.getViewBox().setRange(xRange=(10, 20), padding=0)
    first.getViewBox().sigRangeChangedManually.emit([True, True])  # as a mouse zoom does
    assert np.allclose(visible_range(second)[0], (10, 20))  # 120 and 200 steps: about the same, x follows too
    assert np.allclose(visible_range(second)[1], visible_range(first)[1])
    first.autoBtn.clicked.emit(first.autoBtn)  # "A": fit every run again
    assert_page_shows_everything(view, "norms")


# -- 3. saving figures ------------------------------------------------------------------------------
def _png(path: Path):
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _has_colour(pixels: np.ndarray, colour, tolerance: int = 40) -> int:
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return int((np.abs(pixels - target).sum(axis=2) < tolerance).sum())


def _assert_figure(png: Path, svg: Path, size=None) -> None:
    pixels = _png(png)
    if size is not None:
        assert pixels.shape[1::-1] == size
    assert pixels.shape[0] >= 300 and pixels.shape[1] >= 400
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # not blank: axes, text, curves
    colours = depth_colors(11)
    assert _has_colour(pixels, colours[0]) > 100 and _has_colour(pixels, colours[-1]) > 100  # curve pixels
    root = ET.parse(svg).getroot()
    shapes = [e for e in root.iter() if e.tag.split("}")[-1] in ("path", "polyline")]
    longest = max(len(e.get("d", e.get("points", "")).split()) for e in shapes)
    assert len(shapes) >= 11 and longest >= 100  # the curves, as vector paths


def test_save_figure_writes_a_png_and_an_svg_of_what_is_shown(qtbot, shown, tmp_path, recwarn):
    relu, sigmoid = vanishing_pair(tmp_path / "runs")
    view = shown(GradientsView())
    view.show_runs([relu, sigmoid])
    settle(qtbot)
    png, svg = view.save(str(tmp_path / "fig.png")), view.save(str(tmp_path / "fig.svg"))
    page = view.pages["norms"].viewport()
    _assert_figure(png, svg)
    height, width = _png(png).shape[:2]  # the figure as on screen, its caption under it
    assert width == 2 * page.width() and height > 2 * page.height()
    with pytest.raises(ValueError):
        view.save(str(tmp_path / "fig.jpg"))
    with pytest.raises(OSError):
        view.save(str(tmp_path / "missing" / "fig.png"))


def test_save_figure_before_the_view_was_ever_shown(qtbot, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path / "runs")
    view = GradientsView()
    qtbot.addWidget(view)
    view.show_runs([relu, sigmoid])  # never shown: nothing drawn yet
    settle(qtbot)
    _assert_figure(view.save(str(tmp_path / "fig.png")), view.save(str(tmp_path / "fig.svg")))


def test_save_figure_while_its_tab_is_hidden(qtbot, shown, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path / "runs")
    tabs = QTabWidget()
    view = GradientsView()
    tabs.addTab(QLabel("another view"), "Other")
    tabs.addTab(view, "Gradients")
    shown(tabs)
    view.show_runs([relu, sigmoid])  # the Gradients tab is not the current one
    settle(qtbot)
    assert not view.isVisible()
    _assert_figure(view.save(str(tmp_path / "fig.png")), view.save(str(tmp_path / "fig.svg")))


def test_save_figure_of_one_plot_item(qtbot, shown, tmp_path):
    relu, _ = vanishing_pair(tmp_path / "runs")
    view = shown(GradientsView())
    view.show_runs([relu])
    settle(qtbot)
    (curves,) = view.plots["norms"][0]
    out = save_figure(curves, tmp_path / "one.png")
    pixels = _png(out)
    rect = curves.sceneBoundingRect()
    assert pixels.shape[1::-1] == (2 * round(rect.width()), 2 * round(rect.height()))
    assert _has_colour(pixels, depth_colors(11)[0]) > 50


# -- 4. layout ----------------------------------------------------------------------------------------
def _overlaps(item, plots) -> list:
    rect = item.sceneBoundingRect()
    return [p for p in plots if rect.intersects(p.getViewBox().sceneBoundingRect())]


def test_legends_and_colour_bars_sit_beside_the_data(qtbot, shown, tmp_path):
    exploding, clipped = exploding_pair(tmp_path)
    view = shown(GradientsView())
    view.show_runs([exploding, clipped])
    settle(qtbot)
    draw_all_tabs(view, qtbot)
    for key in view.pages:
        plots = [p for items in view.plots[key] for p in items if hasattr(p, "getViewBox")]
        legends = [item for item in view.pages[key].scene().items() if type(item).__name__ == "LegendItem"]
        for legend in legends:
            assert legend.isVisible() and not _overlaps(legend, plots), f"{key}: a legend on the data"
    samples = {label.text: sample for legend in view.legends["norms"] for sample, label in legend.items}
    assert {"before clipping", "after clipping", "last finite", "inf/NaN (top)"} <= set(samples)
    dashed = samples["after clipping"]  # long enough to show its dashes
    assert dashed.item.opts["pen"].style() == Qt.PenStyle.DashLine and dashed.boundingRect().width() >= 30
    import pyqtgraph as pg

    for key, label in (("histograms", "share of |g| in bin"), ("heatmap", "log10 gradient norm")):
        [bar] = [item for item in view.legends[key] if isinstance(item, pg.ColorBarItem)]
        assert label in bar.getAxis("right").labelText + bar.getAxis("left").labelText
        plots = [p for p, _ in view.plots[key]]
        assert not _overlaps(bar, plots)
        open_tab(view, key, qtbot)  # as tall as the data beside it
        data, scale = plots[0].getViewBox().sceneBoundingRect(), bar.getViewBox().sceneBoundingRect()
        assert abs(scale.top() - data.top()) <= 2 and abs(scale.bottom() - data.bottom()) <= 2, (key, data, scale)


def test_the_rings_mark_the_true_last_values_on_a_drawn_curve_and_the_crosses_leave_them_free(qtbot, shown, tmp_path):
    """Smoothed (as TensorBoard does), the raw norms are drawn faint behind the smoothed lines; the rings mark the
    raw last finite norms, the true values the status gives, on those faint curves; the legend says so."""
    rng = np.random.default_rng(0)
    finite = np.geomspace(1, 1e4, 60)[:, None] * np.geomspace(1, 5, 11)[None, :] * rng.uniform(0.5, 2, (60, 11))
    run = make_run(tmp_path / "boom", "exploding", np.vstack([finite, np.full((3, 11), np.inf)]), state="diverged")
    view = shown(GradientsView(), 640, 420)
    view.show_runs([run])
    settle(qtbot)
    for weight in (0.0, 0.9, 0.5):
        view.smoothing.setValue(weight)
        settle(qtbot)
        (plot,) = view.plots["norms"][0]
        named = {c.name(): c for c in plot.listDataItems()}
        raw = [named[f"{name} (raw)"] for name in LAYERS]
        drawn = [c for c in raw if c.isVisible()] if weight else [named[name] for name in LAYERS]
        assert len(drawn) == 11, f"smoothing {weight}: the raw norms are not drawn"
        xs, ys = drawn_points(named["last finite norm"])
        ends = [drawn_points(c) for c in drawn]  # each layer's last raw point, as drawn
        assert np.allclose(xs, [x[-1] for x, _ in ends]) and np.allclose(ys, [y[-1] for _, y in ends])
        assert np.allclose(ys, np.log10(finite[-1]))  # the true values, smoothed or not
        assert set(xs) == {60.0} and set(drawn_points(named["became inf/NaN"])[0]) == {61.0, 62.0, 63.0}
        assert_all_visible(plot)
        assert_no_cross_on_a_ring(plot)
        legend = {label.text for legend in view.legends["norms"] for _, label in legend.items}
        if weight:  # faint (thin, semi-transparent) and behind the smoothed lines
            pen = drawn[0].opts["pen"]
            assert pen.color().alpha() <= 128 and pen.widthF() <= 1 and drawn[0].zValue() < named["hidden_1"].zValue()
            assert {f"smoothed {weight:.2f}", "faint: raw"} <= legend, legend
        else:
            assert not any("smoothed" in text or "raw" in text for text in legend), legend


def test_the_profile_slider_names_the_recorded_step_it_shows(qtbot, shown, tmp_path):
    norms = np.geomspace(1e-3, 1, 11)[None, :] * np.linspace(1, 2, 11)[:, None]
    run = make_run(tmp_path / "r", "deep-sigmoid", norms, steps=np.arange(0, 101, 10))
    view = shown(GradientsView())
    view.show_runs([run])
    open_tab(view, "profile", qtbot)
    (profile,) = view.plots["profile"][0]
    view.slider.setValue(view.slider.minimum())
    assert view.step_label.text() == "step 0" and re.search(r"step 0\b", profile.titleLabel.text)
    line = [c for c in profile.listDataItems() if c.name() == "step 0"][0]
    assert np.allclose(drawn_points(line)[1], np.log10(norms[0]))
    view.slider.setValue(15)  # between two recorded steps: the one drawn is named
    assert view.step_label.text() == "step 10" and re.search(r"step 10\b", profile.titleLabel.text)
    assert_page_shows_everything(view, "profile")


def test_heatmap_colours_are_each_runs_own_when_their_norms_are_decades_apart(qtbot, shown, tmp_path):
    import pyqtgraph as pg

    relu, sigmoid = vanishing_pair(tmp_path)  # largest norms 13 and 1: one colour scale
    huge = make_run(tmp_path / "huge", "exploding", np.geomspace(1e5, 1e7, 11)[None, :].repeat(5, axis=0))
    view = shown(GradientsView())

    def bars():
        return [item for item in view.legends["heatmap"] if isinstance(item, pg.ColorBarItem)]

    view.show_runs([relu, sigmoid])
    open_tab(view, "heatmap", qtbot)
    [bar] = bars()
    assert view.colour_scale.currentText() == "auto: shared"
    assert all(np.allclose(image.levels, bar.levels()) for _, image in view.plots["heatmap"])
    assert bar.levels()[0] <= np.log10(1e-7) + 0.1 and bar.levels()[1] >= np.log10(13) - 0.1
    view.show_runs([sigmoid, huge])  # 7 decades apart: one shared scale would make deep-sigmoid a single colour
    settle(qtbot)
    assert len(bars()) == 2 and view.colour_scale.currentText() == "auto: each run's own"
    for (plot, image), bar, run in zip(view.plots["heatmap"], bars(), view.runs):
        own = np.log10(np.nanmin(run.norms)), np.log10(np.nanmax(run.norms))
        assert np.allclose(image.levels, own) and np.allclose(bar.levels(), own)
        assert not _overlaps(bar, [p for p, _ in view.plots["heatmap"]])
        assert_all_visible(plot)
    view.colour_scale.setCurrentIndex(view.colour_scale.findData("shared"))
    settle(qtbot)
    [bar] = bars()
    assert all(np.allclose(image.levels, bar.levels()) for _, image in view.plots["heatmap"])
    assert_page_shows_everything(view, "heatmap")


def test_histograms_label_the_exact_zeros_bin(qtbot, shown, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path)
    view = shown(GradientsView())
    view.show_runs([relu, sigmoid])
    settle(qtbot)
    open_tab(view, "histograms", qtbot)
    plot, image = view.plots["histograms"][0]
    axis = plot.getAxis("left")
    zero = [plot.getViewBox().mapSceneToView(axis.mapToScene(rect.center())).y()
            for rect, text in axis_labels(axis) if text == "exact 0"]
    assert zero and EDGES[0] <= zero[0] <= EDGES[1]  # the bottom bin, where the brightest cell of deep-relu is
    brightest_row = int(np.unravel_index(np.nanargmax(image.image), image.image.shape)[0])
    assert brightest_row == 0
    assert [text for _, text in axis_labels(plot.getAxis("bottom"))] == ["1", "101"]  # the recorded steps
    assert not [i for i in plot.items if type(i).__name__ == "TextItem"]  # nothing written on the data
    note = view.histogram_note  # the share of exact zeros, beside the figure
    assert note.isVisible() and "exact 0" in note.text() and "dead" in note.text()
    assert re.search(r"Exact zeros</b> in hidden_1: deep-relu up to \d+%", note.text())


def test_units_tab_says_what_saturated_means_and_that_zero_is_measured(qtbot, shown, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path)
    view = shown(GradientsView())
    view.show_runs([sigmoid, relu])
    settle(qtbot)
    open_tab(view, "units", qtbot)
    assert view.units_note.isVisible()
    note = view.units_note.text()
    assert "0.02" in note and "0.98" in note and "dead" in note
    assert "0% saturated is a measurement" in note and "0.25" in note and "deep-sigmoid" in note


def test_the_saturation_thresholds_are_zoos_one_definition():
    import gui.views.gradients_view as gv
    from zoo.activations import saturated

    low, high = gv.SIGMOID_SATURATED
    eps = 1e-4
    sigmoid = saturated("sigmoid", np.array([low - eps, low + eps, high - eps, high + eps]))
    tanh = saturated("tanh", np.array([-gv.TANH_SATURATED - eps, gv.TANH_SATURATED - eps, gv.TANH_SATURATED + eps]))
    assert list(sigmoid) == [True, False, False, True] and list(tanh) == [True, False, True]
    assert saturated("relu", np.zeros(3)) is None


INTEGER_AXES = {"norms": ("bottom",), "heatmap": ("bottom", "left"), "units": ("bottom",), "profile": ("bottom",),
                "histograms": ("bottom",)}  # steps, depths (a histogram's columns are named by their steps)


def assert_axes_readable(view: GradientsView, key: str) -> None:
    """Every axis of the tab: tick labels that do not touch, none cut off, whole numbers for steps and depths,
    no SI prefix in a label ("(x0.001)")."""
    for items, extra in zip(view.plots[key], view.extras[key]):
        plot = items[0]
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            if key == "time" and not axis.isVisible():  # a run with no record through time: its panel says why
                assert extra["note"].isVisible() and "no gradient by time step" in extra["note"].textItem.toPlainText()
                continue
            texts = [text for _, text in axis_labels(axis)]
            assert texts, f"{key} {side}: no tick labels"
            assert not overlapping_labels(axis), f"{key} {side}: labels overlap {overlapping_labels(axis)}"
            assert not cut_labels(axis), f"{key} {side}: labels cut off {cut_labels(axis)}"
            assert "(x" not in axis.labelString() and "×" not in axis.labelString(), axis.labelString()
            if side in INTEGER_AXES.get(key, ()):
                assert all(re.fullmatch(r"-?\d+", t) for t in texts), f"{key} {side}: {texts}"


def test_the_view_fits_a_small_window_without_growing_it(qtbot, shown, tmp_path):
    exploding, clipped = exploding_pair(tmp_path)
    view = shown(GradientsView(), 640, 420)
    view.show_runs([exploding, clipped])
    settle(qtbot)
    for key, page in view.pages.items():
        open_tab(view, key, qtbot)
        hint = view.minimumSizeHint()
        assert hint.width() <= 640 and hint.height() <= 420, (key, hint)
        assert (view.width(), view.height()) == (640, 420)
        # one row of plots, nothing of the figure cut off at the window's edge, every run's data on screen
        assert len({round(items[0].sceneBoundingRect().top()) for items in view.plots[key]}) == 1, key
        assert page.centralWidget.sceneBoundingRect().width() <= page.viewport().width() + 1, key
        assert_page_shows_everything(view, key)
        assert_axes_readable(view, key)
        for plot in (items[0] for items in view.plots[key]):
            assert plot.getViewBox().height() >= 100, f"{key}: plots {plot.getViewBox().height()} px tall"
    lines = view.status.fontMetrics().lineSpacing()  # the status scrolls rather than taking the plots' height
    assert view.status_box.height() <= 3 * lines + 8 and view.status_box.verticalScrollBar().maximum() > 0


def test_the_figure_follows_the_window_down_to_a_small_size(qtbot, shown, tmp_path):
    exploding, clipped = exploding_pair(tmp_path)
    view = shown(GradientsView(), 1300, 850)
    view.show_runs([exploding, clipped])
    settle(qtbot)
    if view.doctor_button.isChecked():  # the plots' own minimum is what this measures (the Doctor hides at 640)
        view.doctor_button.click()
    view.resize(640, 420)  # long titles wrap again, the plots get narrower: the figure still fits
    settle(qtbot)
    page = view.pages["norms"]
    assert (view.width(), view.height()) == (640, 420)
    assert page.centralWidget.sceneBoundingRect().width() <= page.viewport().width() + 1
    assert_page_shows_everything(view, "norms")


# -- 4b. a new user's walkthrough at 640x420 ----------------------------------------------------------
def _left_labels(view: GradientsView, key: str = "norms") -> list[list[str]]:
    return [[text for _, text in axis_labels(items[0].getAxis("left"))] for items in view.plots[key]]


def test_a_log_axis_always_has_several_labels_in_one_style(qtbot, shown, tmp_path):
    """A digits mlp's norms span 0.2 to 5: not one lone "1" on the axis; and never "0.001" beside "10⁻⁵"."""
    mlp = make_run(tmp_path / "mlp", "mlp", np.geomspace(0.2, 5, 3)[None, :] * np.linspace(1, 0.9, 50)[:, None])
    relu, sigmoid = vanishing_pair(tmp_path)
    view = shown(GradientsView(), 640, 420)
    view.show_runs([mlp])
    settle(qtbot)
    [texts] = _left_labels(view)
    assert len(texts) >= 3 and {"0.2", "1", "5"} <= set(texts) | {"0.2", "5"} and "1" in texts, texts
    assert label_styles(texts) == {"plain"}, texts
    assert_axes_readable(view, "norms")
    for size in ((640, 420), (1000, 650)):  # ten decades: powers of ten only, enough of them
        view.resize(*size)
        view.show_runs([sigmoid, relu])
        settle(qtbot)
        for key in ("norms", "profile"):
            open_tab(view, key, qtbot)
            for texts in _left_labels(view, key):
                assert len(texts) >= 3 and label_styles(texts) == {"power"}, (size, key, texts)
            assert_axes_readable(view, key)
        open_tab(view, "norms", qtbot)


def _key_pixels(view: GradientsView, key: str):
    page = view.pages[key]
    [depth_key] = view.keys[key]
    image = page.grab()
    rect = page.mapFromScene(depth_key.sceneBoundingRect()).boundingRect()
    return depth_key, region_colours(image, rect)


def test_every_layer_colour_is_keyed_on_norms_and_units(qtbot, shown, tmp_path):
    """Eleven coloured lines: a key of all eleven depth colours, depths numbered, first and last layer named;
    a 3-layer net: every layer named. On screen at 640x420, beside (not on) the data."""
    relu, sigmoid = vanishing_pair(tmp_path)
    small = make_run(tmp_path / "mlp", "mlp", np.geomspace(0.2, 5, 3)[None, :].repeat(20, axis=0))
    view = shown(GradientsView(), 640, 420)
    view.show_runs([sigmoid, relu])
    settle(qtbot)
    for key, layers in (("norms", LAYERS), ("units", LAYERS[:-1])):
        open_tab(view, key, qtbot)
        depth_key, pixels = _key_pixels(view, key)
        texts = depth_key.texts()
        assert any(layers[0] in t for t in texts) and any(layers[-1] in t for t in texts), texts
        assert any(t.startswith("1 ") for t in texts) and any(t.startswith(f"{len(layers)} ") for t in texts), texts
        for depth, colour in enumerate(depth_colors(len(layers))):  # every depth's colour is painted in the key
            assert _has_colour(pixels.reshape(-1, 1, 3), colour, tolerance=12) >= 6, (key, depth)
        assert not unreachable(view.pages[key], depth_key), key
        assert not _overlaps(depth_key, [items[0] for items in view.plots[key]]), key
    view.show_runs([small])
    settle(qtbot)
    open_tab(view, "norms", qtbot)
    depth_key, pixels = _key_pixels(view, "norms")
    assert depth_key.texts()[1:] == ["1 hidden_1", "2 hidden_2", "3 hidden_3"]
    assert not unreachable(view.pages["norms"], depth_key)


def test_four_runs_at_640x420_every_plot_and_legend_is_on_screen_or_scrolls_into_view(qtbot, shown, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path / "v")
    exploding, clipped = exploding_pair(tmp_path / "e")
    view = shown(GradientsView(), 640, 420)
    view.show_runs([sigmoid, relu, exploding, clipped])
    settle(qtbot)
    for key, page in view.pages.items():
        open_tab(view, key, qtbot)
        settle(qtbot)
        assert (view.width(), view.height()) == (640, 420)
        plots = [items[0] for items in view.plots[key]]
        assert len(plots) == 4
        items = plots + [legend.parentItem() if hasattr(legend, "items") else legend for legend in view.legends[key]]
        items += getattr(view, "keys", {}).get(key, [])  # the layers' colour key
        cut = [type(item).__name__ for item in items if unreachable(page, item)]
        assert not cut, f"{key}: cut off at the window's edge: {cut}"
        for plot in plots:
            assert plot.getViewBox().width() >= 80, f"{key}: a plot {plot.getViewBox().width()} px wide"
        assert_page_shows_everything(view, key)


def test_the_status_shows_every_runs_headline_at_640x420(qtbot, shown, tmp_path):
    """deep-relu's "no vanishing" (the point of the comparison) shows beside deep-sigmoid's "vanishing"; longer
    texts scroll, with a scroll bar to say so."""
    from PySide6.QtGui import QTextDocument

    relu, sigmoid = vanishing_pair(tmp_path)
    view = shown(GradientsView(), 640, 420)
    view.show_runs([sigmoid, relu])
    settle(qtbot)
    parts = view.status.text().split("<br>")
    assert "deep-sigmoid" in parts[0] and "vanish" in parts[0]
    assert "deep-relu" in parts[1] and "no vanishing" in parts[1]
    shown_lines = QTextDocument()  # the headlines, as the label lays them out: inside the box's visible part
    shown_lines.setDefaultFont(view.status.font())
    shown_lines.setDocumentMargin(0)
    shown_lines.setHtml("<br>".join(parts[:2]))
    shown_lines.setTextWidth(view.status.width())
    assert shown_lines.size().height() <= view.status_box.viewport().height() + 1
    bar = view.status_box.verticalScrollBar()
    if view.status.height() > view.status_box.viewport().height():
        assert bar.isVisible() and bar.maximum() > 0
    open_tab(view, "units", qtbot)  # the Units explanation: at least two lines, scrolling with a bar
    note = view.notes["units"]
    assert note.isVisible() and note.viewport().height() >= 2 * view.units_note.fontMetrics().lineSpacing()
    assert note.verticalScrollBar().isVisible() and note.verticalScrollBar().maximum() > 0
    for key, page in view.pages.items():
        open_tab(view, key, qtbot)
        for items in view.plots[key]:
            assert items[0].getViewBox().height() >= 100, f"{key}: plots {items[0].getViewBox().height()} px tall"


def test_a_saved_figure_says_what_the_window_says_and_saving_moves_nothing(qtbot, shown, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    relu, sigmoid = vanishing_pair(tmp_path / "runs")
    view = shown(GradientsView(), 640, 420)
    view.show_runs([sigmoid, relu])
    view.smoothing.setValue(0.9)
    settle(qtbot)
    svg = view.save(str(tmp_path / "fig.svg"))
    text = svg_texts(svg)
    for run in ("deep-sigmoid", "deep-relu"):
        assert run in text
    assert "no vanishing" in text and "smoothed 0.90" in text and "faint: raw" in text
    tabs = view.tabs.geometry()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "fig.png"), "PNG image (*.png)"))
    view._save_dialog()
    settle(qtbot)
    assert (tmp_path / "fig.png").stat().st_size > 1000
    assert view.tabs.geometry() == tabs  # the user's next click lands on the tab it aimed at
    assert view.saved.isVisible() and "fig.png" in view.saved.text()
    assert "Saved" not in view.status.text()
    open_tab(view, "heatmap", qtbot)  # the Heatmap's caption has no smoothing note (it is not smoothed)
    assert "smoothed" not in svg_texts(view.save(str(tmp_path / "heat.svg")))


def test_the_heatmap_colours_box_shows_its_whole_choice(qtbot, shown, tmp_path):
    relu, sigmoid = vanishing_pair(tmp_path)
    huge = make_run(tmp_path / "huge", "exploding", np.geomspace(1e5, 1e7, 11)[None, :].repeat(5, axis=0))
    view = shown(GradientsView(), 640, 420)
    view.show_runs([sigmoid, huge])
    open_tab(view, "heatmap", qtbot)
    settle(qtbot)
    box = view.colour_scale
    assert box.currentText() == "auto: each run's own"
    needed = box.fontMetrics().horizontalAdvance(box.currentText())
    assert box.width() >= box.sizeHint().width() and box.width() >= needed + 20, (box.width(), needed)
    right = box.mapTo(view, box.rect().topRight()).x()
    assert right <= view.width(), right


# -- 5. presets offer the last pair ----------------------------------------------------------------
def _preset_runs(root: Path, key: str, tag: str = "a", **overrides) -> list[Path]:
    from zoo.demos import DEMOS
    from zoo.catalogue import load_spec

    paths = []
    for k, name in enumerate(DEMOS[key]):
        spec = load_spec(name)
        spec = spec.with_overrides(**overrides) if overrides else spec
        norms = np.geomspace(1, 10, 11)[None, :].repeat(5, axis=0)
        paths.append(make_run(root / f"{tag}-{name}", name, norms, spec=spec.to_toml(),
                              state="diverged" if name == "exploding" else "completed",
                              started=f"2026-01-01T10:0{k}:00+00:00"))
    return paths


def test_a_preset_offers_the_last_pair_instead_of_training_a_duplicate(qtbot, shown, monkeypatch):
    runs = zoo.runs.runs_dir()
    old = _preset_runs(runs, "exploding", "old")
    new = _preset_runs(runs, "exploding", "new")
    for path in new:  # newer than the old pair
        status = json.loads((path / "status.json").read_text())
        (path / "status.json").write_text(json.dumps({**status, "started": status["started"].replace("2026", "2027")}))
    answers, questions, started = [], [], []
    view = shown(GradientsView(ask_reuse=lambda parent, text: (questions.append(text), answers.pop(0))[1]))
    monkeypatch.setattr(view.process, "start", started.append)
    answers[:] = ["show"]
    qtbot.mouseClick(view.preset_buttons["exploding"], Qt.MouseButton.LeftButton)
    assert len(questions) == 1 and "exploding and exploding-clipped" in questions[0]
    assert started == [] and [r.path for r in view.runs] == new and old[0] not in [r.path for r in view.runs]
    assert view.train_again.isVisible() and view.preset_buttons["exploding"].isEnabled()
    qtbot.mouseClick(view.train_again, Qt.MouseButton.LeftButton)  # no second question: train
    assert [o.model for o in started] == ["exploding"] and len(questions) == 1
    assert not view.train_again.isVisible()


def test_a_preset_trains_when_asked_or_when_the_settings_differ(qtbot, shown, monkeypatch):
    _preset_runs(zoo.runs.runs_dir(), "vanishing", **{"training.epochs": 1})
    answers, started = [], []
    view = shown(GradientsView(ask_reuse=lambda parent, text: answers.pop(0)))
    monkeypatch.setattr(view.process, "start", started.append)
    view.run_preset("vanishing", epochs=2)  # other settings: no question (answers is empty), a new pair
    assert [o.model for o in started] == ["deep-sigmoid"] and view.busy
    view._queue, started[:] = [], []
    answers[:] = [None]  # cancel: nothing happens
    view.run_preset("vanishing", epochs=1)
    assert started == [] and answers == []
    answers[:] = ["train"]
    view.run_preset("vanishing", epochs=1)
    assert [o.model for o in started] == ["deep-sigmoid"] and [o.epochs for o in view._queue] == [1]


# -- 6. a new user's walkthrough: runs of other models side by side --------------------------------------
MLP_LAYERS, OWN_LAYERS = ["hidden_1", "hidden_2", "output"], ["h1", "h2", "probs"]


def mlp_and_own_run(root: Path, steps: int = 150) -> tuple[Path, Path]:
    """zoo's mlp (hidden_1, hidden_2, output) and a user's own model recorded by RunRecorder (h1, h2, probs)."""
    norms = np.geomspace(0.2, 3, 3)[None, :] * np.linspace(1, 0.7, steps)[:, None]
    hist = np.tile(np.arange(28), (2, 3, 1))
    mlp = make_run(root / "mlp", "mlp", norms, layers=MLP_LAYERS, hist_steps=(1, 101), hist=hist,
                   dead=np.array([[0.1, 0.2], [0.2, 0.3]]))
    own = make_run(root / "own", "my_net", norms * 0.5, layers=OWN_LAYERS, hist_steps=(1, 101), hist=hist,
                   dead=np.array([[0.0, 0.1], [0.1, 0.1]]),
                   status={"source": "RunRecorder", "output_layers": ["probs"]})
    return mlp, own


def _keys_by_title(view: GradientsView, key: str) -> dict[str, list[str]]:
    """The colour keys of a tab as shown: {title: the texts under it}."""
    return {depth_key.texts()[0]: depth_key.texts()[1:] for depth_key in view.keys[key]}


def test_each_run_keys_its_own_layer_names_on_norms_and_units(qtbot, shown, tmp_path):
    mlp, own = mlp_and_own_run(tmp_path)
    view = shown(GradientsView(), 640, 420)
    view.show_runs([mlp, own])
    settle(qtbot)
    for key, mlp_names, own_names in (("norms", MLP_LAYERS, OWN_LAYERS), ("units", MLP_LAYERS[:-1], OWN_LAYERS[:-1])):
        open_tab(view, key, qtbot)
        keys = _keys_by_title(view, key)
        assert keys == {"layers of mlp": [f"{d} {n}" for d, n in enumerate(mlp_names, start=1)],
                        "layers of my_net": [f"{d} {n}" for d, n in enumerate(own_names, start=1)]}, (key, keys)
        plots = [items[0] for items in view.plots[key]]
        for depth_key in view.keys[key]:  # on screen, beside the data, not on another key
            assert not unreachable(view.pages[key], depth_key), key
            assert not _overlaps(depth_key, plots), key
        first, second = (k.sceneBoundingRect() for k in view.keys[key])
        assert not first.intersects(second), (key, first, second)
        for items, names in zip(view.plots[key], (mlp_names, own_names)):  # each run's curves: its own layers
            assert {c.name().split(" (")[0] for c in items[0].listDataItems() if c.name() in names or
                    c.name().split(" (")[0] in names} == set(names), key
    view.show_runs([mlp, make_run(tmp_path / "mlp2", "mlp", np.ones((5, 3)), layers=MLP_LAYERS)])
    settle(qtbot)  # the same layers: one key for both
    open_tab(view, "norms", qtbot)
    assert _keys_by_title(view, "norms") == {"layer colours": ["1 hidden_1", "2 hidden_2", "3 output"]}
    names = [[f"{tag}{d}" for d in (1, 2, 3, 4)] for tag in "abcde"]  # more keys than one column holds
    view.show_runs([make_run(tmp_path / f"net_{layers[0]}", f"net_{layers[0]}", np.ones((5, 4)), layers=layers)
                    for layers in names])
    settle(qtbot)
    open_tab(view, "norms", qtbot)
    settle(qtbot)
    assert sorted(_keys_by_title(view, "norms").values()) == [[f"{d} {n}" for d, n in enumerate(layers, 1)]
                                                               for layers in names]
    rects = [k.sceneBoundingRect() for k in view.keys["norms"]]
    assert len({round(r.left()) for r in rects}) > 1  # in columns side by side
    assert not [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:] if a.intersects(b)]
    for depth_key in view.keys["norms"]:
        assert not unreachable(view.pages["norms"], depth_key)
        assert not _overlaps(depth_key, [items[0] for items in view.plots["norms"]])


def test_histograms_choose_a_layer_by_position_across_runs_with_other_names(qtbot, shown, tmp_path):
    mlp, own = mlp_and_own_run(tmp_path)
    view = shown(GradientsView(), 900, 600)
    view.show_runs([mlp, own])
    open_tab(view, "histograms", qtbot)
    entries = [view.layer.itemText(i) for i in range(view.layer.count())]
    assert entries == ["hidden 1: hidden_1 / h1", "hidden 2: hidden_2 / h2", "output: output / probs"], entries
    for index, (mine, theirs) in enumerate(zip(MLP_LAYERS, OWN_LAYERS)):
        view.layer.setCurrentIndex(index)
        settle(qtbot)
        titles = [plot.titleLabel.text for plot, _ in view.plots["histograms"]]
        assert titles == [f"mlp: {mine}", f"my_net: {theirs}"], titles
        for plot, image in view.plots["histograms"]:  # every run draws its own layer's histograms
            assert image.image is not None and image.image.shape == (28, 2) and image_inside(plot, image)
        assert_page_shows_everything(view, "histograms")
    # a deeper run beside them: positions it alone has say so in the others' panels; "last hidden" compares
    deep = make_run(tmp_path / "deep", "deep-relu", np.ones((5, 11)), hist_steps=(1, 101),
                    hist=np.tile(np.arange(28), (2, 11, 1)))
    view.show_runs([deep, own])
    settle(qtbot)
    entries = [view.layer.itemText(i) for i in range(view.layer.count())]
    assert entries[:2] == ["hidden 1: hidden_1 / h1", "hidden 2: hidden_2 / h2"] and "hidden 3: hidden_3" in entries
    assert entries[-2:] == ["last hidden: hidden_10 / h2", "output: output / probs"], entries
    view.layer.setCurrentIndex(entries.index("hidden 3: hidden_3"))
    settle(qtbot)
    (deep_plot, deep_image), (own_plot, own_image) = view.plots["histograms"]
    assert deep_plot.titleLabel.text == "deep-relu: hidden_3" and deep_image.image is not None
    assert own_plot.titleLabel.text == "my_net: no hidden layer 3 (it has 2)" and own_image.image is None
    view.layer.setCurrentIndex(entries.index("last hidden: hidden_10 / h2"))
    settle(qtbot)
    assert [plot.titleLabel.text for plot, _ in view.plots["histograms"]] == ["deep-relu: hidden_10", "my_net: h2"]
    assert all(image.image is not None for _, image in view.plots["histograms"])


def _label_heights(plot) -> list[float]:
    """Where the left axis' tick labels are shown, in view coordinates (log10 of the value)."""
    axis = plot.getAxis("left")
    box = plot.getViewBox()
    return sorted(box.mapSceneToView(axis.mapToScene(rect.center())).y() for rect, _ in axis_labels(axis))


@pytest.mark.parametrize("low", [1e-3, 1e-7])
def test_a_log_axis_is_labelled_up_to_its_ends(qtbot, shown, tmp_path, low):
    """Norms of 1 to 3.6 above a top label "1" (or 10⁰): a label there too, whatever the window; no end of the axis
    is more than a factor of 3 from a label."""
    norms = np.geomspace(low, 3, 11)[None, :] * np.linspace(1, 1.2, 50)[:, None]
    run = make_run(tmp_path / "r", "deep-sigmoid", norms)
    view = shown(GradientsView(), 640, 420)
    view.show_runs([run])
    for size in ((640, 420), (1000, 650)):
        view.resize(*size)
        settle(qtbot)
        for key in ("norms", "profile"):
            open_tab(view, key, qtbot)
            plot = view.plots[key][0][0]
            (_, _), (y0, y1) = visible_range(plot)
            heights = _label_heights(plot)
            assert y1 >= np.log10(3.6) and heights, (size, key)
            assert y1 - heights[-1] <= np.log10(3) and heights[0] - y0 <= np.log10(3), (size, key, heights, (y0, y1))
            assert heights[-1] > 0.2, (size, key, heights)  # a label above 1, where the largest norms are
            assert_axes_readable(view, key)


def test_the_units_note_counts_one_layer_as_one(qtbot, shown, tmp_path):
    one = make_run(tmp_path / "one", "tiny-sigmoid", np.ones((5, 2)), layers=["hidden_1", "output"],
                   activation="sigmoid", saturated=np.zeros((2, 1)))
    deep = make_run(tmp_path / "deep", "deep-sigmoid", np.ones((5, 11)), activation="sigmoid",
                    saturated=np.zeros((2, 10)))
    view = shown(GradientsView())
    view.show_runs([one, deep])
    open_tab(view, "units", qtbot)
    note = view.units_note.text()
    assert "1 layers" not in note and "its one sigmoid layer multiplies it by at most 0.25" in note, note
    assert "each of its 10 sigmoid layers multiplies it by at most 0.25" in note, note


def test_a_run_with_one_histogram_says_when_histograms_are_recorded(qtbot, shown, tmp_path):
    short = make_run(tmp_path / "short", "mlp", np.ones((60, 3)), layers=MLP_LAYERS, hist_steps=(1,),
                     hist=np.tile(np.arange(28), (1, 3, 1)))
    _, own = mlp_and_own_run(tmp_path)
    view = shown(GradientsView(), 640, 420)
    view.show_runs([short, own])
    open_tab(view, "histograms", qtbot)
    (plot, image), (other, _) = view.plots["histograms"]
    assert image.image.shape == (28, 1)  # one column: the run's only recorded step
    title = plot.titleLabel.text
    assert "one histogram (step 1)" in title and "recorded at step 1 and every 100th step" in title, title
    assert "this run has 60 steps" in title, title
    assert plot.titleLabel.isVisible() and not unreachable(view.pages["histograms"], plot.titleLabel)
    assert "every 100th" not in other.titleLabel.text  # two histograms: their columns say their steps
    assert [text for _, text in axis_labels(other.getAxis("bottom"))] == ["1", "101"]
    for p in (plot, other):
        assert p.getViewBox().height() >= 100, p.getViewBox().height()
    assert_page_shows_everything(view, "histograms")
    view.resize(1240, 700)  # its longer title does not make its plot wider than the other run's
    settle(qtbot)
    settle(qtbot)
    widths = [p.getViewBox().width() for p in (plot, other)]
    assert abs(widths[0] - widths[1]) <= 3, widths


# -- 7. the experiments of issue 17: four runs side by side, 31-layer nets, the gradient through time ---------------
def time_records(folder: Path, records: dict[int, np.ndarray]) -> np.ndarray:
    """Write input_gradients.csv as zoo train does: {step: ||dL/dx_t|| for t = 0..T-1}, step 0 = initialisation,
    each later step an epoch's end. Returns the norms (records, T) in step order."""
    lines = ["step,epoch,t,grad_norm"]
    for epoch, (step, norms) in enumerate(sorted(records.items())):
        lines += [f"{step},{epoch},{t},{value:.7g}" for t, value in enumerate(norms)]
    (folder / "input_gradients.csv").write_text("\n".join(lines) + "\n")
    return np.array([records[step] for step in sorted(records)])


RNN_LAYERS = ["simple_rnn_1/simple_rnn_cell", "output"]


def rnn_run(root: Path, name: str, records: dict[int, np.ndarray], **options) -> Path:
    norms = np.geomspace(0.1, 2, 2)[None, :].repeat(40, axis=0)
    folder = make_run(root / name, name, norms, layers=RNN_LAYERS, activation="tanh", hist_steps=(1,),
                      hist=np.tile(np.arange(28), (1, 2, 1)), **options)
    time_records(folder, records)
    return folder


def _named(plot) -> dict:
    return {c.name(): c for c in plot.listDataItems()}


def _legend_texts(view: GradientsView, key: str) -> list[str]:
    return [label.text for legend in view.legends[key] if isinstance(legend, __import__("pyqtgraph").LegendItem)
            for _, label in legend.items]


def test_through_time_draws_each_runs_file_at_initialisation_and_the_latest_record(qtbot, shown, tmp_path):
    """rnn-simple's gradient falls 1e7-fold from t = 99 back to t = 0; the LSTM's 1e3-fold: each panel draws its own
    file's numbers, on one log scale that holds every record; a run without the file says so in its panel."""
    t = np.arange(100)
    simple = {0: 10.0 ** (-(99 - t) / 14.0), 20: 3e-3 * 10.0 ** (-(99 - t) / 10.0)}
    lstm = {0: 1e-2 * 10.0 ** (-(99 - t) / 33.0), 20: 5e-3 * 10.0 ** (-(99 - t) / 50.0)}
    a, b = rnn_run(tmp_path, "rnn-simple", simple), rnn_run(tmp_path, "rnn-lstm", lstm)
    relu, _ = vanishing_pair(tmp_path / "v")
    view = shown(GradientsView())
    view.show_runs([a, b, relu])
    open_tab(view, "time", qtbot)
    assert view.tabs.tabText(view.tabs.currentIndex()) == "Through time"
    plots = [items[0] for items in view.plots["time"]]
    assert len(plots) == 3
    assert_page_shows_everything(view, "time")
    assert_axes_readable(view, "time")
    everything = np.concatenate([np.concatenate(list(r.values())) for r in (simple, lstm)])
    (_, _), (y0, y1) = visible_range(plots[0])
    lo, hi = np.log10(everything.min()), np.log10(everything.max())
    assert y0 <= lo and y1 >= hi and (y1 - y0) <= 1.2 * (hi - lo), ((y0, y1), (lo, hi))  # every record: no more
    for plot, records in zip(plots, (simple, lstm)):
        named = _named(plot)
        for curve, step in (("initialisation", 0), ("slider's step", 20)):
            xs, ys = drawn_points(named[curve])
            assert np.array_equal(xs, t), curve
            assert np.allclose(ys, np.log10(records[step]), atol=1e-6), curve  # the file's numbers, on a log axis
        assert named["initialisation"].opts["pen"].style() == Qt.PenStyle.DashLine
        assert plot.titleLabel.text.endswith(": step 20"), plot.titleLabel.text
        assert plot.getAxis("left").isVisible() and "dL/dx" in plot.getAxis("left").labelText
        assert plot.getAxis("bottom").labelText == "input time step t"
    assert _legend_texts(view, "time") == ["initialisation", "slider's step"]
    # the feed-forward run has no record through time: no axes, its panel says why (not an empty frame)
    empty = plots[2]
    note = view.extras["time"][2]["note"]
    assert point_count(empty) == 0 and not empty.getAxis("left").isVisible()
    assert note.isVisible() and "no gradient by time step" in note.textItem.toPlainText()
    centre = note.mapToScene(note.boundingRect().center())
    assert empty.getViewBox().sceneBoundingRect().contains(centre)
    assert "deep-relu" in view.time_note.text() and "no input_gradients.csv" in view.time_note.text()
    # the headline says how much reaches t = 0: 10^(-99/14) at initialisation, 10^(-99/10) at step 20
    headline = view.status.text().split("<br>")[0]
    assert "rnn-simple" in headline and "vanishing through time" in headline, headline
    assert f"{10 ** (-99 / 14):.2g} at initialisation" in headline and f"{10 ** (-99 / 10):.2g} at step 20" in headline
    # the slider at its left end: the record at initialisation drawn solid too
    view.time_slider.setValue(view.time_slider.minimum())
    settle(qtbot)
    assert view.time_label.text() == "step 0"
    assert np.allclose(drawn_points(_named(plots[0])["slider's step"])[1], np.log10(simple[0]), atol=1e-6)
    assert plots[0].titleLabel.text.endswith(": step 0")
    assert_page_shows_everything(view, "time")


def test_through_time_grows_live_as_epochs_end(qtbot, shown, tmp_path):
    """A training run's file gains a record at each epoch's end: the slider (at its end) follows it, the solid line
    is the newest record, the axis takes in its smaller values."""
    t = np.arange(30)
    records = {0: 10.0 ** (-(29 - t) / 10.0)}
    run = rnn_run(tmp_path, "rnn-simple", records, state="running")
    view = shown(GradientsView(), 640, 420)
    view.show_runs([run])
    open_tab(view, "time", qtbot)
    (plot,), = view.plots["time"]
    assert view.time_label.text() == "step 0" and not view.time_slider.isEnabled()
    for step, decades in ((63, 6.0), (126, 9.0)):
        records[step] = 10.0 ** (-(29 - t) / 29.0 * decades)
        time_records(run, records)
        view.refresh()
        settle(qtbot)
        assert view.time_slider.value() == step and view.time_label.text() == f"step {step}"
        xs, ys = drawn_points(_named(plot)["slider's step"])
        assert np.allclose(ys, np.log10(records[step]), atol=1e-6) and len(xs) == 30
        assert np.allclose(drawn_points(_named(plot)["initialisation"])[1], np.log10(records[0]), atol=1e-6)
        assert f"step {step}" in plot.titleLabel.text
        (_, _), (y0, y1) = visible_range(plot)
        assert y0 <= -decades <= y1, (step, y0, y1)
        assert_all_visible(plot)
    assert view.time_slider.isEnabled()
    # the epoch between (step 63) is drawn faint behind, and the legend names it
    xs, ys = drawn_points(_named(plot)["other epochs"])
    assert np.array_equal(xs, t) and np.allclose(ys, np.log10(records[63]), atol=1e-6)
    assert _legend_texts(view, "time") == ["initialisation", "slider's step", "other epochs"]
    view.time_slider.setValue(70)  # between records: the last one at or before it
    settle(qtbot)
    assert view.time_label.text() == "step 63" and "step 63" in plot.titleLabel.text
    assert np.allclose(drawn_points(_named(plot)["slider's step"])[1], np.log10(records[63]), atol=1e-6)
    assert np.allclose(drawn_points(_named(plot)["other epochs"])[1], np.log10(records[126]), atol=1e-6)


def test_through_time_says_what_it_cannot_draw(qtbot, shown, tmp_path):
    """A record of exact zeros (nothing on a log axis), one of inf/NaN, an unreadable file, a file with no record
    yet: each panel says so; nothing is drawn off the view, no NaN range."""
    zeros = rnn_run(tmp_path, "zeros", {0: np.zeros(10)})
    broken = rnn_run(tmp_path, "broken", {0: np.full(10, np.nan)})
    bad = rnn_run(tmp_path, "bad", {0: np.ones(10)})
    (bad / "input_gradients.csv").write_text("not,a,record\n1,2,3\n")
    fresh = rnn_run(tmp_path, "fresh", {})
    view = shown(GradientsView())
    view.show_runs([zeros, broken, bad, fresh])
    open_tab(view, "time", qtbot)
    notes = [extra["note"] for extra in view.extras["time"]]
    texts = [note.textItem.toPlainText() if note.isVisible() else "" for note in notes]
    assert "every value is exactly 0" in texts[0] and "inf/NaN" in texts[1], texts
    assert "cannot read" in texts[2] and "no record yet" in texts[3], texts
    assert "input_gradients.csv" in view.time_note.text() and "bad" in view.time_note.text()
    for items in view.plots["time"]:
        (x0, x1), (y0, y1) = visible_range(items[0])
        assert np.isfinite([x0, x1, y0, y1]).all() and point_count(items[0]) == 0


def test_every_experiment_is_a_preset_button_that_fits_a_small_window(qtbot, shown, monkeypatch):
    from zoo.demos import DEMOS

    started = []
    view = shown(GradientsView(ask_reuse=lambda parent, text: "show"), 640, 420)
    monkeypatch.setattr(view.process, "start", started.append)
    assert list(view.preset_buttons) == list(DEMOS) == ["vanishing", "exploding", "init", "fixes", "rnn"]
    for key, button in view.preset_buttons.items():
        assert button.isVisible() and all(name in button.toolTip() for name in DEMOS[key]), key
        right = button.mapTo(view, button.rect().topRight()).x()
        assert right <= view.width() and button.width() >= button.sizeHint().width(), (key, right, button.width())
    assert view.minimumSizeHint().width() <= 640
    qtbot.mouseClick(view.preset_buttons["init"], Qt.MouseButton.LeftButton)  # nothing trained yet: trains
    assert [o.model for o in started] == ["init-zeros"]
    assert [o.model for o in view._queue] == ["init-small", "init-glorot", "init-he"]
    assert not any(b.isEnabled() for b in view.preset_buttons.values())
    view.stop()


def test_a_preset_of_four_offers_the_last_set(qtbot, shown, monkeypatch):
    runs = _preset_runs(zoo.runs.runs_dir(), "fixes")
    questions, started = [], []
    view = shown(GradientsView(ask_reuse=lambda parent, text: (questions.append(text), "show")[1]))
    monkeypatch.setattr(view.process, "start", started.append)
    view.run_preset("fixes")
    assert started == [] and [r.path for r in view.runs] == runs
    assert "deep-sigmoid, deep-relu, deep-sigmoid-bn and deep-residual were already trained" in questions[0]
    assert "Show that set" in questions[0]
    assert "The last set of the <i>Fixes</i> preset" in view.status.text()
    assert view.train_again.isVisible()
    open_tab(view, "norms", qtbot)
    assert len(view.plots["norms"]) == 4


def deep_runs(root: Path, layers: int = 31) -> list[Path]:
    """Four runs of one 30-layer ReLU net (init-zeros, -small, -glorot, -he): 31 recorded layers each."""
    names = [f"hidden_{i}" for i in range(1, layers)] + ["output"]
    depth = np.arange(layers)
    shapes = {"init-zeros": np.r_[np.zeros(layers - 1), 0.3], "init-small": 10.0 ** (-(layers - 1 - depth) * 0.6),
              "init-glorot": 10.0 ** (-(layers - 1 - depth) * 0.12), "init-he": np.full(layers, 0.8)}
    paths = []
    for name, shape in shapes.items():
        norms = shape[None, :] * np.linspace(1, 1.2, 40)[:, None]
        paths.append(make_run(root / name, name, norms, layers=names, hist=np.tile(np.arange(28), (1, layers, 1)),
                              dead=np.tile(np.linspace(0.1, 0.4, layers - 1), (2, 1))))
    return paths


@pytest.mark.parametrize("size", [(640, 420), (1400, 850)])
def test_four_deep_nets_keep_their_colour_key_beside_the_data_and_on_screen(qtbot, shown, tmp_path, size):
    """31 layers: one column of 31 colours (a few depths numbered, the first and last layer named) that fits the
    row, not 31 legend entries over the plots; four panels that fit a wide window side by side."""
    view = shown(GradientsView(), *size)
    view.show_runs(deep_runs(tmp_path))
    settle(qtbot)
    for key in ("norms", "units"):
        open_tab(view, key, qtbot)
        settle(qtbot)
        page = view.pages[key]
        plots = [items[0] for items in view.plots[key]]
        assert len(plots) == 4 and not _legend_texts(view, key)  # no entry per layer: the colour key says it
        depth_key, pixels = _key_pixels(view, key)
        texts = depth_key.texts()
        layers = 31 if key == "norms" else 30
        assert texts[1] == "1 hidden_1 (input)" and texts[-1] == f"{layers} {'output' if key == 'norms' else 'hidden_30'}"
        numbered = [int(text.split()[0]) for text in texts[1:]]
        assert 3 <= len(numbered) < layers, texts  # a few depths, not all 31 crowded
        rects = [rect for rect, _ in depth_key.labels[1:]]
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]), texts
        for depth, colour in enumerate(depth_colors(layers)):  # every depth's colour is painted
            assert _has_colour(pixels.reshape(-1, 1, 3), colour, tolerance=12) >= 2, (key, depth)
        bottom = page.mapFromScene(depth_key.sceneBoundingRect().bottomLeft()).y()
        assert bottom <= page.viewport().height(), (key, bottom, page.viewport().height())
        assert not unreachable(page, depth_key) and not _overlaps(depth_key, plots), key
        for plot in plots:
            assert not unreachable(page, plot) and plot.getViewBox().width() >= 80, key
        assert_page_shows_everything(view, key)
        if size[0] >= 1400:  # wide enough: the four panels side by side, no scrolling
            assert page.minimumWidth() <= view.scrolls[key].viewport().width(), key
            assert not view.scrolls[key].horizontalScrollBar().isVisible(), key
    headlines = view.status.text().split("<br>")[:4]
    assert "init-zeros" in headlines[0] and "every hidden layer's is exactly 0" in headlines[0], headlines
    assert "init-small" in headlines[1] and "vanishing" in headlines[1] and "exactly 0" not in headlines[1]
    assert "init-he" in headlines[3] and "no vanishing" in headlines[3], headlines


def test_four_runs_with_long_histogram_titles_keep_the_colour_bar_on_screen(qtbot, shown, tmp_path):
    """Each of four runs has one histogram: a three-line title; the row still fits the window, its colour bar
    and its labels inside (the titles wrap again once the axes' labels are known)."""
    view = shown(GradientsView(), 1400, 850)
    view.show_runs(deep_runs(tmp_path))
    settle(qtbot)  # the Norms first, as the app opens on them
    open_tab(view, "histograms", qtbot)
    settle(qtbot)
    page = view.pages["histograms"]
    [bar] = view.legends["histograms"]
    right = page.mapFromScene(bar.sceneBoundingRect().topRight()).x()
    assert right <= page.viewport().width() + 1, (right, page.viewport().width())
    assert page.centralWidget.sceneBoundingRect().width() <= page.viewport().width() + 1
    assert all("every 100th step" in items[0].titleLabel.text for items in view.plots["histograms"])
    assert not cut_labels(bar.axis), cut_labels(bar.axis)


def test_the_headline_compares_layers_of_one_kind(qtbot, shown, tmp_path):
    """deep-sigmoid-bn records hidden_k and batch_normalization_k in turn: its headline compares hidden_1 with
    hidden_10 (both Dense), not with batch_normalization_10 (a scale and shift, 20x smaller)."""
    names = [n for k in range(1, 11) for n in (f"hidden_{k}", f"batch_normalization_{k}")] + ["output"]
    row = np.array([1.0 if n.startswith("hidden") else 0.05 for n in names[:-1]] + [1.0])
    row[names.index("hidden_1")] = 1.75
    run = make_run(tmp_path / "bn", "deep-sigmoid-bn", row[None, :].repeat(5, axis=0), layers=names,
                   hist=np.tile(np.arange(28), (1, len(names), 1)))
    view = shown(GradientsView())
    view.show_runs([run])
    text = view.status.text()
    assert "no vanishing" in text and "within 1.75x" in text and "(hidden_1 vs hidden_10)" in text, text


def test_the_layer_choice_narrows_again_after_runs_with_long_layer_names(qtbot, shown, tmp_path):
    """An RNN and an LSTM side by side make a long layer choice ("hidden 1: simple_rnn_1/simple_rnn_cell /
    lstm_1/lstm_cell"); four runs of one net afterwards: the choice (and the corner it sits in) is as wide as its
    new entries, not as the old ones, so the tabs keep their room and the box is not stretched around "hidden_1"."""
    lstm = make_run(tmp_path / "lstm", "rnn-lstm", np.ones((5, 2)), layers=["lstm_1/lstm_cell", "output"],
                    hist=np.tile(np.arange(28), (1, 2, 1)))
    simple = rnn_run(tmp_path, "rnn-simple", {0: np.ones(5)})
    view = GradientsView()
    view.show_runs([simple, lstm])  # before the window is first shown, as the app's Runs view can
    shown(view, 1400, 850)
    open_tab(view, "histograms", qtbot)
    wide = view.layer.width()
    assert "simple_rnn_1/simple_rnn_cell / lstm_1/lstm_cell" in view.layer.currentText()
    open_tab(view, "norms", qtbot)
    view.show_runs(deep_runs(tmp_path / "deep"))  # the choice changes while its tab is hidden
    open_tab(view, "histograms", qtbot)
    settle(qtbot)
    box = view.layer
    assert box.currentText() == "hidden_1"
    assert box.width() <= box.fontMetrics().horizontalAdvance("hidden_30") + 60 < wide, (box.width(), wide)
    assert view.corner.width() <= box.width() + 80, (view.corner.width(), box.width())


def test_six_tabs_and_each_tabs_control_fit_a_small_window(qtbot, shown, tmp_path):
    """At 640x420, whichever tab is open: every tab's title whole and on screen beside the open tab's control (the
    Profile's and Through time's sliders, the Heatmap's colours); a long layer choice shortens the titles ("…")
    rather than hiding tabs or widening the window."""
    t = np.arange(20)
    runs = [rnn_run(tmp_path, name, {0: 10.0 ** (-(19 - t) / 5.0), 40: 10.0 ** (-(19 - t) / 4.0)})
            for name in ("rnn-simple", "rnn-lstm")]
    view = shown(GradientsView(), 640, 420)
    view.show_runs(runs)
    bar = view.tabs.tabBar()
    for key in ("norms", "heatmap", "profile", "time"):
        open_tab(view, key, qtbot)
        assert (view.width(), view.height()) == (640, 420)
        for i in range(bar.count()):
            rect = bar.tabRect(i)
            text = bar.tabText(i)
            assert rect.width() >= bar.fontMetrics().horizontalAdvance(text) + 4, (key, text, rect.width())
            assert bar.rect().contains(rect), (key, text)
        corner = view.corner.geometry()
        assert corner.left() >= bar.geometry().right() and corner.right() <= view.tabs.width(), (key, corner)
    view.show_runs([make_run(tmp_path / "lstm", "rnn-lstm", np.ones((5, 2)), layers=["lstm_1/lstm_cell", "output"],
                             hist=np.tile(np.arange(28), (1, 2, 1))), runs[0]])
    open_tab(view, "histograms", qtbot)  # "hidden 1: lstm_1/lstm_cell / simple_rnn_1/simple_rnn_cell"
    assert (view.width(), view.height()) == (640, 420) and view.minimumSizeHint().width() <= 640
    assert all(bar.rect().contains(bar.tabRect(i)) for i in range(bar.count()))
    assert view.layer.mapTo(view, view.layer.rect().topRight()).x() <= view.width()


def test_a_run_with_thousands_of_layers_draws_an_even_spread_and_says_so(qtbot, shown, tmp_path):
    """A hostile (or huge) record naming 3,000 layers: a curve, legend entry and heatmap row each would stall the
    window for minutes; it draws MAX_DRAWN_LAYERS of them, first and last included, and says how many there are."""
    from gui.views.gradients_view import MAX_DRAWN_LAYERS

    layers = [f"l{i}" for i in range(3000)]
    run = make_run(tmp_path / "huge", "huge", np.tile(np.geomspace(1e-3, 1, 3000), (3, 1)), layers=layers,
                   hist=np.ones((1, 3000, 28)))
    view = shown(GradientsView(), 1280, 800)
    view.show_runs([run])
    [data] = view.runs
    assert len(data.layers) == MAX_DRAWN_LAYERS == data.norms.shape[1] and data.layers[0] == "l0"
    assert data.layers[-1] == "l2999" and data.recorded_layers == 3000
    assert len(data.activations["layers"]) <= MAX_DRAWN_LAYERS and data.histograms["counts"].shape[1] <= MAX_DRAWN_LAYERS
    assert np.allclose(data.norms[0], np.geomspace(1e-3, 1, 3000)[np.round(np.linspace(0, 2999, 256)).astype(int)],
                       rtol=1e-6)
    assert "3,000 layers recorded; 256 drawn" in view.status.text()
