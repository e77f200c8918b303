"""The `zoo` command: a thin layer over the library. Bad input is one line on stderr and exit status 2."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import ZooError
from .runs import STATUS
from .spec import OPTIMIZER_NAMES


def _batch_size(text: str) -> int | str:
    if text == "full":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', received {text!r}")
    return value


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, received {text!r}")
        return value
    return parse


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0 (0: off), received {_short(text)}")
    return value


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 10 (there are 10 digits), received {text!r}")
    return value


def parse_setting(text: str) -> tuple[str, object]:
    """`KEY=VALUE` with a TOML value (`training.augment=0`, `optimizer.schedule="cosine"`; a bare word is a string)."""
    import tomllib

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a dotted spec key, received {_short(text)}")
    try:
        parsed = tomllib.loads(f"v = {value}")
    except tomllib.TOMLDecodeError:
        return key.strip(), value
    except (RecursionError, ValueError) as e:  # nesting thousands deep; integers of thousands of digits
        raise argparse.ArgumentTypeError(f"cannot read the value of {_short(key)} ({type(e).__name__})") from None
    if len(parsed) != 1:
        raise argparse.ArgumentTypeError(f"one value per --set, received {_short(text)}")
    return key.strip(), parsed["v"]


def _short(text: str, limit: int = 60) -> str:
    """A user's text for a one-line message: quoted, escaped, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def cmd_list(args) -> int:
    from . import list_models, load_spec

    names = list_models(args.filter or "*")
    width = max((len(n) for n in names), default=0)
    for name in names:
        try:
            description = load_spec(name).description
        except ZooError as e:
            description = f"(invalid: {e})"
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_show(args) -> int:
    from . import build, load_spec

    spec = load_spec(args.model)
    model = build(spec)  # a layer Keras refuses: its one line, not after a page of spec
    print(f"# {spec.name}: {spec.description}\n# from {spec.source}\n")
    print(spec.to_toml())
    model.summary()
    return 0


def cmd_train(args) -> int:
    from .training import train

    flags = {"dataset": args.dataset, "training.epochs": args.epochs, "training.batch_size": args.batch_size,
             "optimizer.learning_rate": args.lr, "training.seed": args.seed, "optimizer.name": args.optimizer,
             "optimizer.momentum": args.momentum, "optimizer.global_clipnorm": args.clipnorm}
    overrides = dict(args.set)
    if twice := sorted(key for key, value in flags.items() if value is not None and key in overrides):
        raise ZooError(f"`{twice[0]}` is given both by --set and by its own option; give it once")
    overrides.update({key: value for key, value in flags.items() if value is not None})
    result = train(args.model, overrides=overrides, out=args.out,
                   record_every=args.record_every, tensorboard=args.tensorboard,
                   progress="json" if args.json else True)
    return _report(result, args.json)


def _report(result, as_json: bool) -> int:
    """The end of `zoo train` and `zoo resume`: a JSON "end" event, or lines for people; the exit status."""
    code = {"completed": 0, "stopped": 130, "diverged": 1}.get(result.state, 1)
    if as_json:
        print(json.dumps({"event": "end", "run": str(result.path), "state": result.state, "message": result.message,
                          "step": result.step, "test": result.test}), flush=True)
        return code
    if result.state == "diverged":
        print(f"zoo: {result.message}", file=sys.stderr)
    elif result.state == "stopped" and result.model is not None:
        print(f"zoo: stopped; the model was saved in {result.path}", file=sys.stderr)
    elif result.message:  # interrupted inside a step (no model saved), or before a resume began
        print(f"zoo: {result.message} ({result.path})", file=sys.stderr)
    test = "  ".join(f"test {k} {v:.4f}" for k, v in result.test.items())
    print(f"{result.state}: {result.path}" + (f"  ({test})" if test else ""))
    if result.state == "completed" and result.message:
        print(result.message)  # the perceptron's convergence
    return code


def cmd_resume(args) -> int:
    from .training import resume

    result = resume(args.run_dir, record_every=args.record_every, progress="json" if args.json else True)
    return _report(result, args.json)


def cmd_runs(args) -> int:
    from .runs import list_runs, runs_dir

    folder = Path(args.folder) if args.folder is not None else runs_dir()
    if folder.exists() and not folder.is_dir() or args.folder is not None and not folder.exists():
        raise ZooError(f"{folder} is not a folder of runs")
    runs = list_runs(args.folder)
    if not runs:
        print(f"no runs in {args.folder or runs_dir()}")
        return 0
    rows = [tuple(_cell(v, limit) for v, limit in zip(
            (r.path.name, r.state, r.model, r.dataset, f"{r.accuracy:.2%}" if r.accuracy is not None else
             "no test set" if r.source == "RunRecorder" and r.state != "running" else "",
             f"{r.epochs_completed}/{r.epochs}" if r.epochs else "", r.started[:16].replace("T", " "),
             r.problem or (r.message if r.state != "completed" else "")), (80, 20, 40, 40, 20, 40, 20, 300)))
            for r in runs]
    header = ("RUN", "STATE", "MODEL", "DATASET", "ACCURACY", "EPOCHS", "STARTED", "NOTE")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(f"{str(v):<{w}}" for v, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _cell(value, limit: int) -> str:
    """A value for the runs table: control characters (newlines, terminal escapes) escaped, cut to `limit`."""
    text = str(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit * 4])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _figure_path(text: str) -> str:
    if not text.lower().endswith((".png", ".svg", ".pdf")):
        raise argparse.ArgumentTypeError(f"expected a .png, .svg or .pdf file name, received {text!r}")
    return text


def _compare(run_dirs, out, table: str | None = None) -> None:
    from .plots import compare_figure, format_activation_table, format_table, format_time_table, gradient_summary
    from .records import RunRecords
    from .runs import distinct_names

    runs = [RunRecords(d) for d in run_dirs]
    for run, name in zip(runs, distinct_names([run.name for run in runs], [run.path for run in runs])):
        run.name = name
    print(format_table([gradient_summary(r) for r in runs]))
    if table == "activations":
        print("\nmean squared activation at initialisation, first and last hidden layer")
        print(format_activation_table(runs))
    elif table == "time":
        print("\ngradient of the loss with respect to the input at its first and last time step")
        print(format_time_table(runs))
    if out:
        compare_figure(runs, out)
        print(f"figure: {out}")


def cmd_doctor(args) -> int:
    import json

    from .doctor import examine, format_findings
    from .runs import read_run

    if args.try_fix is None:
        found, unread = examine(args.run_dir)
        if args.json:
            print(json.dumps([f.to_dict() for f in found], indent=2))
            return 0
        print(format_findings(found, args.run_dir))
        for note in unread:  # the rules that needed it said nothing: say why
            print(f"(not read, so not checked: {_cell(note, 300)})")
        info = read_run(args.run_dir)
        if info.state == "running":
            print(f"(still training: {info.epochs_completed} of {info.epochs or '?'} epochs done; the findings are "
                  "those of its records so far)")
        return 0
    from .plots import check_figure_path
    from .remedy import try_fix

    if args.out:
        check_figure_path(args.out)  # before the training, not after it
    remedy = try_fix(args.run_dir, code=args.try_fix or None, progress=not args.json)
    if remedy is None:
        print(json.dumps({"findings": [], "tried": None}) if args.json else format_findings([], args.run_dir))
        return 0
    if args.json:
        print(json.dumps({"finding": remedy.finding.to_dict(), "change": remedy.change, "run": str(remedy.before),
                          "fixed_run": str(remedy.after), "fixed_state": remedy.state,
                          "gone": remedy.gone if remedy.finished else None,
                          "findings_before": [f.to_dict() for f in remedy.found_before],
                          "findings_after": [f.to_dict() for f in remedy.found_after]}, indent=2))
        return 0
    for skipped in remedy.skipped:
        print(f"no fix zoo can apply for {skipped.code} ({skipped.fix})")
    print(f"tried: {remedy.change}, for {remedy.finding.code}; the same seed, data and epochs")
    through_time = remedy.finding.evidence.startswith("through time")
    _compare([remedy.before, remedy.after], args.out, "time" if through_time else None)
    codes = [f.code for f in remedy.found_after]
    print(f"\nbefore ({remedy.before.name}): {', '.join(f.code for f in remedy.found_before)}")
    print(f"after ({remedy.after.name}): {', '.join(codes) or 'nothing found'}")
    if not remedy.finished:
        print(f"The fixed run was {remedy.state} before its last epoch: no verdict on the fix.")
        return 1
    if remedy.gone:
        print(f"{remedy.finding.code} is gone.")
    else:
        still = next(f for f in remedy.found_after if f.code == remedy.finding.code)
        print(f"{remedy.finding.code} is still there: {still.evidence}. Try `zoo doctor {remedy.after}` for its next fix.")
    return 0


def cmd_compare(args) -> int:
    _compare(args.runs, args.out)
    return 0


def cmd_plot(args) -> int:
    from . import plots

    {"activations": plots.activations_figure, "losses": plots.losses_figure}[args.what](args.out)
    print(f"figure: {args.out}")
    return 0


def cmd_perceptron(args) -> int:
    from .demos import learn_truth_table

    result = learn_truth_table(args.table, epochs=args.epochs, learning_rate=args.lr, seed=args.seed)
    print(f"{args.table}: the perceptron rule, one example at a time, learning rate {args.lr:g}\n")
    print(result.format())
    return 0


def cmd_demo(args) -> int:
    if args.experiment == "optimizers":
        return _demo_optimizers(args)
    from .demos import DEMO_TABLES, DEMOS
    from .training import train

    if args.model:
        raise ZooError(f"--model is for `zoo demo optimizers`; the {args.experiment} demo trains "
                       f"{', '.join(DEMOS[args.experiment])}")
    paths = []
    for name in DEMOS[args.experiment]:
        print(f"== training {name}", file=sys.stderr)
        result = train(name, dataset=args.dataset, epochs=args.epochs, seed=args.seed)
        if result.state == "diverged":
            print(f"zoo: {name}: {result.message}", file=sys.stderr)
        paths.append(result.path)
    _compare(paths, args.out or f"{args.experiment}.png", DEMO_TABLES.get(args.experiment))
    return 0


def _demo_optimizers(args) -> int:
    from .demos import compare_optimizers, format_optimizer_table
    from .plots import optimizers_figure

    results = compare_optimizers(args.model or "mlp", args.dataset, args.epochs, args.seed,
                                 log=lambda line: print(line, file=sys.stderr))
    print(format_optimizer_table(results))
    for r in results:
        print(f"{r.variant.label}: {r.path}")
    out = args.out or "optimizers.png"
    optimizers_figure(results, out)
    print(f"figure: {out}")
    return 0


def cmd_predict(args) -> int:
    from .inference import predict_each

    failed = 0
    for _, line, error in predict_each(args.model, args.images, top=args.top):
        if error is None:
            print(line, flush=True)
        else:  # one line for this image; the others are still answered
            print(f"zoo: error: {error}", file=sys.stderr, flush=True)
            failed += 1
    return 2 if failed else 0


def cmd_export(args) -> int:
    from .export import export

    result = export(args.source, args.format, args.out, overwrite=args.force)
    print(f"wrote {result.path} ({result.format}); reloaded with {result.runtime}: largest output difference "
          f"{result.max_abs_diff:.2g} on {result.checked_on}; model card {result.card}")
    return 0


def cmd_fetch(args) -> int:
    from .datasets import fetch_mnist

    print("Fetching MNIST (about 11 MB) with Keras' mnist.load_data…", file=sys.stderr, flush=True)
    folder = fetch_mnist()
    print(f"MNIST is in {folder}: `zoo train mlp --dataset mnist` (the app's Train view now defaults to it)")
    return 0


def cmd_gui(args) -> int:
    from importlib.metadata import entry_points

    if args.runs is not None:
        from .runs import use_runs_dir

        use_runs_dir(args.runs)

    # the app registers itself as a plugin (pyproject's "zoo.apps" entry point): the core never imports it, and
    # the window opens in this process (no second Python, signals and the exit status are the app's own)
    app = next((ep for ep in entry_points(group="zoo.apps") if ep.name == "gui"), None)
    if app is None:
        raise ZooError("The app is not installed; install zoo with `pip install -e .` (or run `make app`)")
    try:
        main = app.load()
    except ImportError as e:
        raise ZooError(f"The app cannot start ({e}); reinstall with `make app`") from None
    return main(args.qt_args)


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's rule for bad input: one line on stderr (not the usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"zoo: error: {message} (see `{self.prog} --help`)\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="zoo", description="A declarative Keras model zoo: train, compare and look inside.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the models (built-in and ZOO_MODELS_DIR)")
    p.add_argument("filter", nargs="?", help="an fnmatch pattern, e.g. 'deep-*'")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("show", help="show a model's resolved spec and Keras summary")
    p.add_argument("model", help="a model name or a spec file")
    p.set_defaults(run=cmd_show)

    p = sub.add_parser("train", help="train a model and record the run")
    p.add_argument("model", help="a model name or a spec file")
    p.add_argument("--dataset", help="dataset to train on (default: the spec's)")
    p.add_argument("--epochs", type=_positive(int))
    p.add_argument("--batch-size", type=_batch_size, help="a positive integer, or 'full' for batch gradient descent")
    p.add_argument("--lr", type=_positive(float), help="learning rate")
    p.add_argument("--optimizer", choices=[name for name in OPTIMIZER_NAMES if name != "perceptron"],
                   help="default: the spec's")
    p.add_argument("--momentum", type=float, help="SGD/RMSprop momentum in [0, 1)")
    p.add_argument("--clipnorm", type=_positive(float), help="clip the global gradient norm to this value")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="run folder to create (default: a new folder under $ZOO_HOME/runs)")
    p.add_argument("--json", action="store_true", help="progress as JSON lines on stdout (for the app)")
    p.add_argument("--record-every", type=_non_negative_int, default=1, help="record gradients every k steps (0: off)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard summaries to RUN/tensorboard")
    p.add_argument("--set", type=parse_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="any spec value, by its dotted key, e.g. --set training.augment=0 (repeatable)")
    _backend_option(p)
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("predict", help="read handwritten digit images with a trained model")
    p.add_argument("model", help="a run folder or a .keras file")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...): dark on light or light on dark, any size")
    p.add_argument("--top", type=_top, default=1, metavar="1..10", help="also show the runners-up (default: 1)")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("export", help="export a trained model: .keras, SavedModel, TFLite or ONNX, verified")
    p.add_argument("source", metavar="RUN_DIR", help="a run folder (or a .keras file)")
    p.add_argument("--format", required=True, choices=["keras", "saved_model", "tflite", "onnx"])
    p.add_argument("--out", required=True, help="file (or folder, for saved_model) to write")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("fetch", help="download a dataset zoo did not find (mnist: 70,000 real handwritten digits)")
    p.add_argument("dataset", choices=["mnist"])
    p.set_defaults(run=cmd_fetch)

    p = sub.add_parser("gui", help="the desktop app: browse, train, watch gradients, draw a digit")
    p.add_argument("--runs", metavar="DIR", help="the folder of runs to show and follow live (default: $ZOO_RUNS_DIR, "
                                                 "else $ZOO_HOME/runs)")
    p.set_defaults(run=cmd_gui)  # arguments after `gui` go to Qt, e.g. `zoo gui -platform offscreen`

    p = sub.add_parser("resume", help="continue an interrupted or stopped run from its last epoch checkpoint")
    p.add_argument("run_dir", help="the run folder")
    p.add_argument("--record-every", type=_non_negative_int, default=1, help="record gradients every k steps (0: off)")
    p.add_argument("--json", action="store_true", help="progress as JSON lines on stdout (for the app)")
    _backend_option(p)
    p.set_defaults(run=cmd_resume)

    p = sub.add_parser("runs", help="list the runs with their state (broken ones say what is wrong)")
    p.add_argument("folder", nargs="?", help="a folder of runs (default: $ZOO_HOME/runs)")
    p.set_defaults(run=cmd_runs)

    p = sub.add_parser("perceptron", help="the perceptron rule on a truth table: answers, weights, decision line")
    p.add_argument("--table", default="concert", choices=["concert", "and", "or", "xor"], help="default: concert")
    p.add_argument("--epochs", type=_positive(int), default=20)
    p.add_argument("--lr", type=_positive(float), default=1.0, help="learning rate of the rule")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_perceptron)

    p = sub.add_parser("plot", help="textbook figures: activations and their derivatives, losses")
    p.add_argument("what", choices=["activations", "losses"])
    p.add_argument("--out", type=_figure_path, required=True, help="figure to write (.png, .svg or .pdf)")
    p.set_defaults(run=cmd_plot)

    p = sub.add_parser("compare", help="gradient and loss curves of runs side by side, and a table")
    p.add_argument("runs", nargs="+", help="run folders")
    p.add_argument("--out", type=_figure_path, help="figure to write (.png, .svg or .pdf)")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("doctor", help="name what is wrong with a training, with the evidence and the fix to try")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (zoo train's, the app's, or RunRecorder's)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON objects")
    p.add_argument("--try", dest="try_fix", nargs="?", const="", metavar="CODE",
                   help="apply the first finding's fix (or CODE's) to the run's spec, train it from the same seed and "
                        "show both runs")
    p.add_argument("--out", type=_figure_path, help="--try: also write the two runs' figure here")
    _backend_option(p)  # --try trains on the run's own backend unless told otherwise
    p.set_defaults(run=cmd_doctor)

    from .demos import DEMOS

    p = sub.add_parser("demo", help="textbook experiments: vanishing or exploding gradients, initialisation, the fixes "
                                    "(ReLU, BatchNorm, residual), recurrence through time, gradient-descent variants")
    p.add_argument("experiment", choices=sorted([*DEMOS, "optimizers"]))
    p.add_argument("--model", help="optimizers: the network to train with each variant (default: mlp)")
    p.add_argument("--dataset", help="dataset (default: the specs', the offline digits)")
    p.add_argument("--epochs", type=_positive(int))
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=_figure_path, help="figure to write (default: EXPERIMENT.png)")
    p.set_defaults(run=cmd_demo)
    return parser


def _backend_hints(args) -> tuple[str | None, str | None]:
    """(bound, default) for `training_backend`: the backend the model must train on (the perceptron rule's),
    and the one it trains on unless told otherwise (a resumed run's own, else the spec's `training.backend`).
    Unreadable specs and runs give no hint: their own errors come later, in one line."""
    from .spec import OPTIMIZER_BACKENDS

    try:
        if args.command == "train":
            from .catalogue import load_spec

            spec = load_spec(args.model)
            settings = dict(args.set)
            optimizer = settings.get("optimizer.name") or args.optimizer or spec.optimizer.name
            return OPTIMIZER_BACKENDS.get(optimizer), settings.get("training.backend") or spec.training.backend
        from .runs import read_json, read_run_spec

        optimizer = ((read_run_spec(args.run_dir) or {}).get("optimizer") or {}).get("name")
        status = read_json(Path(args.run_dir) / STATUS)
        backend = status.get("backend", "tensorflow") if isinstance(status, dict) else None  # older runs: TensorFlow
        return OPTIMIZER_BACKENDS.get(optimizer), backend if isinstance(backend, str) else None
    except (ZooError, OSError, ValueError, AttributeError, TypeError):
        return None, None


def _backend_option(p) -> None:
    from .backends import BACKENDS

    p.add_argument("--backend", choices=BACKENDS,
                   help="Keras backend to train on (default: $ZOO_BACKEND, else $KERAS_BACKEND, else the run's own "
                        "(resume) or the spec's training.backend, else the fastest installed: jax)")


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "gui":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.qt_args = extra
    try:
        if hasattr(args, "backend"):
            from .backends import training_backend, use_backend

            bound, default = _backend_hints(args)
            use_backend(training_backend(args.backend, bound=bound, default=default))
        return args.run(args)
    except ZooError as e:
        print(f"zoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `zoo runs | head`: the reader has gone; say nothing more (Python's documented recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
