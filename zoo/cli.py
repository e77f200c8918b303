"""The `zoo` command: a thin layer over the library. Bad input is one line on stderr and exit status 2."""
from __future__ import annotations

import argparse
import sys

from .errors import ZooError


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
    print(f"# {spec.name}: {spec.description}\n# from {spec.source}\n")
    print(spec.to_toml())
    build(spec).summary()
    return 0


def cmd_train(args) -> int:
    from .training import train

    result = train(args.model, dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size,
                   learning_rate=args.lr, seed=args.seed, out=args.out, record_every=args.record_every,
                   tensorboard=args.tensorboard)
    if result.state == "diverged":
        print(f"zoo: {result.message}", file=sys.stderr)
    elif result.state == "stopped":
        print(f"zoo: stopped; the model was saved in {result.path}", file=sys.stderr)
    test = "  ".join(f"test {k} {v:.4f}" for k, v in result.test.items())
    print(f"{result.state}: {result.path}" + (f"  ({test})" if test else ""))
    return {"completed": 0, "stopped": 130, "diverged": 1}.get(result.state, 1)


def _figure_path(text: str) -> str:
    if not text.lower().endswith((".png", ".svg", ".pdf")):
        raise argparse.ArgumentTypeError(f"expected a .png, .svg or .pdf file name, received {text!r}")
    return text


def _compare(run_dirs, out) -> None:
    from .plots import compare_figure, format_table, gradient_summary
    from .records import RunRecords

    runs = [RunRecords(d) for d in run_dirs]
    print(format_table([gradient_summary(r) for r in runs]))
    if out:
        compare_figure(runs, out)
        print(f"figure: {out}")


def cmd_compare(args) -> int:
    _compare(args.runs, args.out)
    return 0


DEMOS = {"vanishing": ("deep-sigmoid", "deep-relu"), "exploding": ("exploding", "exploding-clipped")}


def cmd_demo(args) -> int:
    from .training import train

    paths = []
    for name in DEMOS[args.experiment]:
        print(f"== training {name}", file=sys.stderr)
        result = train(name, dataset=args.dataset, epochs=args.epochs, seed=args.seed)
        if result.state == "diverged":
            print(f"zoo: {name}: {result.message}", file=sys.stderr)
        paths.append(result.path)
    _compare(paths, args.out or f"{args.experiment}.png")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A declarative Keras model zoo: train, compare and look inside.")
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
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="run folder to create (default: a new folder under $ZOO_HOME/runs)")
    p.add_argument("--record-every", type=int, default=1, help="record gradients every k steps (0: off)")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard summaries to RUN/tensorboard")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("compare", help="gradient and loss curves of runs side by side, and a table")
    p.add_argument("runs", nargs="+", help="run folders")
    p.add_argument("--out", type=_figure_path, help="figure to write (.png, .svg or .pdf)")
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("demo", help="train a textbook pair and compare: vanishing or exploding gradients")
    p.add_argument("experiment", choices=sorted(DEMOS))
    p.add_argument("--dataset", help="dataset (default: the specs', the offline digits)")
    p.add_argument("--epochs", type=_positive(int))
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=_figure_path, help="figure to write (default: EXPERIMENT.png)")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.run(args)
    except ZooError as e:
        print(f"zoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
