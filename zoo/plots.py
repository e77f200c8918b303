"""Figures, drawn headless with matplotlib (the app embeds the same functions)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import RunError, ZooError
from .records import RunRecords, read_activations, read_input_gradients
from .runs import ACTIVATIONS

MAX_LEGEND_LAYERS = 12  # a deeper net's legend names the first and last layers and a few between


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _whole_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    low, high = axis.get_view_interval()
    if high - low < 2:  # one or two epochs: whole ticks and room either side, not 0.96 ... 1.04
        middle = round((low + high) / 2)
        axis.axes.set_xlim(middle - 1, middle + 1) if axis is axis.axes.xaxis else axis.axes.set_ylim(middle - 1, middle + 1)


def gradient_summary(run: RunRecords) -> dict:
    """First and last hidden layer's gradient norm at the first and the last recorded (finite) step (normalisation
    layers left out: `RunRecords.weighted`)."""
    norms = run.grad("grad_norm")[:, run.weighted]
    if not norms.shape[1]:  # no hidden layer (a logistic regression): nothing to compare
        nan = {"first_hidden": float("nan"), "last_hidden": float("nan"), "ratio": float("nan")}
        return {"run": run.name, "first_step": int(run.steps[0]), "last_step": int(run.steps[-1]), "start": nan,
                "end": nan}
    finite = np.where(np.all(np.isfinite(norms), axis=1))[0]
    first, last = (finite[0], finite[-1]) if len(finite) else (0, 0)
    out = {"run": run.name, "first_step": int(run.steps[first]), "last_step": int(run.steps[last])}
    for label, row in (("start", first), ("end", last)):
        a, b = float(norms[row, 0]), float(norms[row, -1])
        out[label] = {"first_hidden": a, "last_hidden": b, "ratio": a / b if b else float("nan")}
    return out


def format_table(summaries: list[dict]) -> str:
    width = max([20, *(len(s["run"]) for s in summaries)])
    lines = [f"{'run':<{width}} {'when':<12} {'first hidden':>13} {'last hidden':>13} {'first/last':>11}"]
    for s in summaries:
        for label, step in (("start", s["first_step"]), ("end", s["last_step"])):
            v = s[label]
            lines.append(f"{s['run']:<{width}} {label + ' @' + str(step):<12} {v['first_hidden']:>13.3e} "
                         f"{v['last_hidden']:>13.3e} {v['ratio']:>11.3e}")
    return "\n".join(lines)


def activation_profile(run: RunRecords) -> dict | None:
    """Mean squared activation of each hidden layer (E[a²] = mean² + std² over the probe batch and units), at the
    first record (initialisation) and the last; None where the run has no activation record."""
    try:
        records = read_activations(run.path / ACTIVATIONS)
    except RunError:
        return None
    if not len(records["steps"]) or not records["layers"]:
        return None
    square = records["act_mean"] ** 2 + records["act_std"] ** 2
    return {"layers": records["layers"], "steps": records["steps"], "first": square[0], "last": square[-1]}


def time_profile(run: RunRecords) -> dict | None:
    """||d loss / d x_t|| per input time step t at the first record and the last; None without input_gradients.csv."""
    try:
        found = read_input_gradients(run.path)
    except RunError:
        return None
    if found is None or not len(found[0]):
        return None
    steps, norms = found
    return {"steps": steps, "first": norms[0], "last": norms[-1]}


def format_activation_table(runs: list[RunRecords]) -> str:
    """Per run, at initialisation: the first and last hidden layers' mean squared activation and their ratio."""
    width = max([20, *(len(r.name) for r in runs)])
    lines = [f"{'run':<{width}} {'E[a²] first hidden':>19} {'E[a²] last hidden':>18} {'last/first':>11} {'log2':>7}"]
    for run in runs:
        profile = activation_profile(run)
        if profile is None:
            continue
        first, last = float(profile["first"][0]), float(profile["first"][-1])
        ratio = last / first if first > 0 else float("nan")
        log2 = float(np.log2(ratio)) if ratio > 0 else float("nan")
        lines.append(f"{run.name:<{width}} {first:>19.3e} {last:>18.3e} {ratio:>11.3e} {log2:>7.1f}")
    return "\n".join(lines)


def format_time_table(runs: list[RunRecords]) -> str:
    """Per run, at the first and last record: ||dL/dx_t|| at the first and the last time step, and their ratio."""
    width = max([20, *(len(r.name) for r in runs)])
    lines = [f"{'run':<{width}} {'when':<12} {'t = 0':>11} {'t = T-1':>11} {'first/last':>11}"]
    for run in runs:
        profile = time_profile(run)
        if profile is None:
            continue
        for label, row, step in (("start", profile["first"], profile["steps"][0]),
                                 ("end", profile["last"], profile["steps"][-1])):
            ratio = row[0] / row[-1] if row[-1] else float("nan")
            lines.append(f"{run.name:<{width}} {label + ' @' + str(step):<12} {row[0]:>11.3e} {row[-1]:>11.3e} "
                         f"{ratio:>11.3e}")
    return "\n".join(lines)


def _legend_layers(count: int) -> set[int]:
    """The layers a legend names: all of a shallow net; the first, the last and a few evenly between of a deep one."""
    if count <= MAX_LEGEND_LAYERS:
        return set(range(count))
    return {int(round(i)) for i in np.linspace(0, count - 1, MAX_LEGEND_LAYERS)}


def compare_figure(runs: list[RunRecords], out: str | Path | None = None):
    """Per run (columns, shared axes): gradient norm per layer over steps (log), norm by depth, loss curves; and,
    where every run has them, the mean squared activation by depth (activations.csv) and the gradient norm per
    input time step (input_gradients.csv), at initialisation and at the end."""
    plt = _pyplot()
    activations = [activation_profile(run) for run in runs]
    times = [time_profile(run) for run in runs]
    extra = [row for row, profiles in (("activations", activations), ("time", times)) if all(profiles)
             and (row != "activations" or min(len(p["layers"]) for p in profiles) > 2)]  # a profile needs depth
    rows = 3 + len(extra)
    fig, axes = plt.subplots(rows, len(runs), figsize=(5.2 * len(runs), 3.7 * rows), sharey="row", squeeze=False)
    for col, run in enumerate(runs):
        norms = run.grad("grad_norm")
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(run.layers)))
        named = _legend_layers(len(run.layers))
        ax = axes[0, col]
        for j, name in enumerate(run.layers):
            ax.plot(run.steps, norms[:, j], color=colours[j], lw=1, label=f"{j + 1}: {name}" if j in named else None,
                    marker="o" if len(run.steps) < 20 else None, ms=4)
        before, after = (np.sqrt(np.sum(run.grad(stat).astype(np.float64) ** 2, axis=1))
                         for stat in ("grad_norm", "grad_norm_clipped"))
        if np.any(np.isfinite(after) & (np.abs(after - before) > 1e-6 * before)):  # clipping was on and acted
            ax.plot(run.steps, before, color="black", lw=1.2, label="all layers, as computed")
            ax.plot(run.steps, after, color="black", lw=1.2, ls="--", label="all layers, after clipping")
        ax.set_yscale("log")
        ax.set_title(f"{run.name} ({run.status.state.value})")
        ax.set_xlabel("training step")
        _whole_ticks(ax.xaxis)
        axes[0, 0].set_ylabel("gradient L2 norm per layer")
        if run.status.state == "diverged":
            _mark_divergence(ax, run, norms)
        ax.legend(fontsize=6, ncol=2, title="depth: layer", title_fontsize=7)

        ax = axes[1, col]
        finite = np.where(np.all(np.isfinite(norms), axis=1))[0]
        outputs = set(range(len(run.layers))) - set(run.hidden)
        columns = sorted(set(run.weighted) | outputs)  # normalisation layers left out: theirs are other gradients
        depth = np.arange(1, len(columns) + 1)
        if len(finite):
            ax.plot(depth, norms[finite[0], columns], "o-", label=f"step {run.steps[finite[0]]}")
            ax.plot(depth, norms[finite[-1], columns], "s-", label=f"step {run.steps[finite[-1]]}")
        ax.set_yscale("log")
        shown = sorted(_legend_layers(len(columns)) | {k for k, j in enumerate(columns) if j in outputs})
        ax.set_xticks(depth[shown], ["out" if columns[k] in outputs else str(depth[k]) for k in shown])
        ax.set_xlabel("depth (1 = nearest the input)" + (", normalisation layers left out"
                                                          if len(columns) < len(run.layers) else ""))
        axes[1, 0].set_ylabel("gradient norm by depth")
        ax.legend(fontsize=8)

        ax = axes[2, col]
        drawn = False
        for key, style in (("loss", "-"), ("val_loss", "--")):
            values = np.array([np.nan if v is None else v for v in run.history.get(key, [])], float)
            if np.isfinite(values).any():
                ax.plot(run.history["epoch"], values, style, marker="o", label=key)
                drawn = True
        ax.set_xlabel("epoch")
        _whole_ticks(ax.xaxis)  # epochs are whole: no "1.5"
        axes[2, 0].set_ylabel("loss")
        if drawn:
            ax.legend(fontsize=8)
        else:  # a run that diverged in its first epoch has no finite epoch loss: say so, not an empty frame
            ax.text(0.5, 0.5, "no finite loss to plot:\n" + (f"diverged at step {run.status.step}"
                    if run.status.state == "diverged" else "no epoch finished"),
                    ha="center", va="center", color="red", transform=ax.transAxes)
            ax.set_xticks([])  # no epoch to mark
        for row, what in enumerate(extra, start=3):
            ax = axes[row, col]
            if what == "activations":
                profile = activations[col]
                depth = np.arange(1, len(profile["layers"]) + 1)
                for key, marker in (("first", "o-"), ("last", "s-")):
                    step = profile["steps"][0 if key == "first" else -1]
                    ax.plot(depth, np.where(profile[key] > 0, profile[key], np.nan), marker, ms=3,
                            label="initialisation" if step == 0 else f"step {step}")
                ax.set_xlabel("hidden layer (1 = nearest the input)")
                axes[row, 0].set_ylabel("mean squared activation E[a²]")
            else:
                profile = times[col]
                t = np.arange(len(profile["first"]))
                for key, marker in (("first", "-"), ("last", "--")):
                    step = profile["steps"][0 if key == "first" else -1]
                    ax.plot(t, np.where(profile[key] > 0, profile[key], np.nan), marker,
                            label="initialisation" if step == 0 else f"step {step}")
                ax.set_xlabel("input time step t")
                axes[row, 0].set_ylabel("||d loss / d x_t||")
            if not any(np.any(np.asarray(v) > 0) for k, v in profile.items() if k in ("first", "last")):
                ax.text(0.5, 0.5, "every value is exactly 0:\nnothing to draw on a log scale", ha="center",
                        va="center", color="red", transform=ax.transAxes)
                ax.set_yticks([])
                continue
            ax.set_yscale("log")
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out)


def _mark_divergence(ax, run: RunRecords, norms: np.ndarray) -> None:
    """The step the run diverged at (a red line), its last finite norms, and where the values became non-finite."""
    step = run.status.step or int(run.steps[-1])
    ax.axvline(step, color="red", ls="--", lw=1)
    finite = np.where(np.all(np.isfinite(norms), axis=1))[0]
    broken = np.where(~np.all(np.isfinite(norms), axis=1))[0]
    text = f"diverged at step {step}"
    if len(finite):
        text += f"\nlast finite norms (step {run.steps[finite[-1]]}): up to {np.nanmax(norms[finite[-1]]):.2g}"
    if len(broken):
        ax.plot(run.steps[broken], [1.0] * len(broken), "x", color="red", ms=9, mew=2,
                transform=ax.get_xaxis_transform(), clip_on=False, label="NaN or inf")
    ax.text(0.02, 0.02, text, color="red", transform=ax.transAxes, fontsize=8)


def optimizers_figure(results, out: str | Path | None = None):
    """Gradient-descent variants: training loss against epochs and against wall-clock seconds (`zoo demo optimizers`)."""
    plt = _pyplot()
    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for r in results:
        loss = [np.nan if v is None else v for v in r.history.get("loss", [])]
        label = f"{r.variant.label}: {r.updates_per_epoch} update{'s' if r.updates_per_epoch != 1 else ''}/epoch"
        line, = by_epoch.plot(r.history["epoch"], loss, marker="o", ms=3, label=label)
        by_time.plot(r.history["seconds"], loss, marker="o", ms=3, color=line.get_color())
    _whole_ticks(by_epoch.xaxis)
    by_epoch.set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss per epoch")
    by_time.set(xlabel="wall-clock seconds (log)", xscale="log", yscale="log", title="loss against time")
    by_epoch.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, out)


def check_figure_path(out) -> None:
    """Refuse (`ZooError`, one line, as writing it would) a figure path that cannot be written, before the work
    that makes the figure: a folder that cannot be made or written, a name the file system refuses."""
    import os
    import tempfile

    out = Path(out)
    shown = str(out) if len(str(out)) <= 120 else str(out)[:120] + "…"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out.parent, prefix=".figure-", suffix=out.suffix)
        os.close(fd)
        os.unlink(probe)
    except (OSError, ValueError) as e:
        reason = (e.strerror if isinstance(e, OSError) else None) or str(e) or type(e).__name__
        raise ZooError(f"Cannot write the figure {shown}: {reason}") from None


def _save(fig, out):
    """Write `fig` to `out` (its format from the suffix) through a temporary file in the same folder, renamed into
    place: a failure (read-only folder, full disk, name too long) is one `ZooError` line and leaves no partial file."""
    if out is None:
        return fig
    import os
    import tempfile

    import matplotlib.pyplot as plt

    out = Path(out)
    shown = str(out) if len(str(out)) <= 120 else str(out)[:120] + "…"
    temporary = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=".figure-", suffix=out.suffix)
        mask = os.umask(0o022)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)  # as a plain open() would have made it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as file:
            fig.savefig(file, dpi=110, format=out.suffix.lstrip(".").lower() or None)
        os.replace(temporary, out)
        temporary = None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
        reason = (e.strerror if isinstance(e, OSError) else None) or str(e) or type(e).__name__
        raise ZooError(f"Cannot write the figure {shown}: {reason}") from None
    finally:
        plt.close(fig)
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
    return fig


def activations_figure(out: str | Path | None = None):
    """Each activation (solid) and its derivative (dashed) on [-5, 5]; softmax as the first of two scores [x, 0]."""
    from .activations import ACTIVATIONS

    plt = _pyplot()
    x = np.linspace(-5, 5, 401)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.4), sharex=True)
    for ax, act in zip(axes.ravel(), ACTIVATIONS.values()):
        if act.name == "softmax":
            scores = np.stack([x, np.zeros_like(x)], axis=1)
            y, dy = act.fn(scores)[:, 0], act.derivative(scores)[:, 0]
            title = "softmax([x, 0])[0]"
        else:
            y, dy = act.fn(x), act.derivative(x)
            title = f"{act.name}: {act.formula}"
        ax.plot(x, y, lw=2, label="f(x)")
        ax.plot(x, dy, "--", lw=2, label="f'(x)")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(title, fontsize=10)
        ax.text(0.03, 0.97, f"max f' = {np.max(dy):.2g}", transform=ax.transAxes, va="top", fontsize=8)
        ax.legend(fontsize=8, loc="lower right")
    for ax in axes[-1]:
        ax.set_xlabel("x")
    fig.suptitle("Activation functions (solid) and their derivatives (dashed)")
    fig.tight_layout()
    return _save(fig, out)


def losses_figure(out: str | Path | None = None):
    """How each loss punishes a prediction when the right answer is 1 (or the true class)."""
    from .losses import loss_of_prediction

    plt = _pyplot()
    p = np.linspace(0.001, 1.0, 500)
    losses = loss_of_prediction(p)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.plot(p, losses["mse"], lw=2, label="mean squared error: (1 - p)^2")
    ax.plot(p, losses["binary_crossentropy"], lw=2,
            label="cross-entropy: -log p\n(binary; categorical with p = probability of the true class)")
    ax.set(xlabel="predicted p (the right answer is 1)", ylabel="loss", ylim=(0, 7), xlim=(0, 1))
    ax.annotate("confident and wrong:\ncross-entropy 4.6 at p = 0.01,\nMSE at most 1", xy=(0.01, 4.6), xytext=(0.22, 5.2),
                arrowprops={"arrowstyle": "->"}, fontsize=9)
    ax.legend(fontsize=9)
    ax.set_title("How each loss punishes a prediction")
    fig.tight_layout()
    return _save(fig, out)
