"""Property-based fuzzing of the spec loader (hypothesis).

Thousands of malformed TOML documents and wrong values go through `zoo.load_spec(path)`. Every one
either loads (and then round-trips through `to_toml()`), or is refused with a `SpecError` whose
message is one printable line that names the file and
  * for a TOML syntax error: the line it is on ("line N", N within the file);
  * for a value the schema refuses: the dotted key that was changed (or its layer / a key inside it),
    and the received value;
  * for an unknown key: "Unknown key `that.key`";
  * for a cross-key check (loss against output, builder against layers, ...): one of the keys those
    checks are about, with the value it has.
Any other exception (ValueError, TypeError, RecursionError, ...) fails the test with its traceback.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from zoo.datasets import list_datasets
from zoo.errors import SpecError
from zoo.catalogue import load_spec
from zoo.registry import list_builders
from zoo.spec import SPEC_FORMAT, Initializer, Layer, ModelSpec, Optimizer, Output, Training

MODELS = Path(__file__).parent.parent / "models"
TEXTS = {p.stem: p.read_text(encoding="utf-8") for p in sorted(MODELS.glob("*.toml"))}
DATA = {name: tomllib.loads(text) for name, text in TEXTS.items()}
# The one-change mutations know the short forms' keys: specs in format 2's Keras layers and blocks (whose keys are
# a Keras class's arguments) have their own refusals tested in tests/test_spec_layers.py.
SHORT_FORM_DATA = {name: data for name, data in DATA.items() if "format" not in data}

# autouse fixtures of conftest.py are function-scoped: harmless here (the loader only reads the file).
# derandomize: the same examples on every run, so `make test` cannot pass one time and fail the next;
# FUZZ_EXPLORE=1 pytest tests/test_spec_fuzz.py draws new examples each run (to look for new bugs).
FUZZ = settings(deadline=None, database=None, print_blob=False, derandomize=not os.environ.get("FUZZ_EXPLORE"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Keys the cross-key checks (zoo.spec.check_consistency and the builders' checks) name.
CROSS_KEY = re.compile(r"builder|dataset|input_shape|layers|layers\[\d+\]\.(kind|activation|kernel_size|pool_size)|output|output\.(units|activation)"
                       r"|training\.(loss|metrics)|optimizer|optimizer\.(name|momentum)")
KNOWN_KEYS = {f for model in (ModelSpec, Layer, Output, Training, Optimizer, Initializer) for f in model.model_fields}


def _literal_values(annotation: Any) -> list:
    """Every Literal value inside a type annotation (Literal, Optional[Literal], list[Literal], unions)."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [v for arg in get_args(annotation) for v in _literal_values(arg)]


# Values the loader knows, by the key they belong to: right there (or across keys), wrong elsewhere.
SLOT_VALUES: dict[str, set] = {"builder": set(list_builders()), "dataset": set(list_datasets())}
for _model in (Layer, Output, Training, Optimizer, Initializer):
    for _key, _field in _model.model_fields.items():
        SLOT_VALUES.setdefault(_key, set()).update(_literal_values(_field.annotation))
SLOT_VALUES = {key: sorted(values) for key, values in SLOT_VALUES.items() if values}
VOCAB = sorted({v for values in SLOT_VALUES.values() for v in values} | KNOWN_KEYS)


def note_outcome(outcome: str) -> None:
    """Count outcomes (`pytest --hypothesis-show-statistics`) to see that the fuzzing reaches every kind of result."""
    if currently_in_test_context():
        event(outcome)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spec_fuzz")


# ------------------------------------------------------------------------------------------ checks
def printable_key(key: str) -> str:
    """How a key appears in a message: as is, or escaped like repr() when it holds control characters."""
    return key if key.isprintable() else repr(key)[1:-1]


def dotted(path: tuple) -> str:
    """("layers", 0, "units") -> "layers[0].units", as the loader writes keys."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + printable_key(part)
    return out


def line_count(raw: bytes) -> int:
    """Lines as Python's universal newlines (and so the loader) count them."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def load_or_refusal(path: Path) -> tuple[ModelSpec | None, str | None]:
    """`(spec, None)` or `(None, message)`; a refusal must be one printable line naming the file.

    Any exception other than SpecError propagates and fails the test.
    """
    try:
        return load_spec(path), None
    except SpecError as e:
        message = str(e)
        assert_one_line(message, path)
        return None, message


def assert_one_line(message: str, path: Path) -> None:
    assert message.isprintable(), f"not one printable line: {message!r}"  # no \n, \r, \x85, \u2028 ...
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert str(path) in message, f"the file is not named: {message!r}"


def assert_syntax_error(message: str, path: Path, raw: bytes) -> None:
    assert message.startswith(f"Invalid TOML in {path}: "), message
    line = re.search(r"\bline (\d+)\b", message)
    assert line, f"a TOML error without its line: {message!r}"
    assert 1 <= int(line.group(1)) <= line_count(raw), message


def first_key(message: str) -> str:
    key = re.search(r"`([^`]*)`", message)
    assert key, f"no `key` named: {message!r}"
    return key.group(1)


def related(key: str, changed: str) -> bool:
    """The named key is the changed one, a key inside it, or the table / layer / list it belongs to."""
    return (key == changed or key.startswith((changed + ".", changed + "["))
            or changed.startswith((key + ".", key + "[")))


def check_raw(path: Path, raw: bytes) -> None:
    """Write `raw`, load it: a spec, a TOML error with its line, or a refusal naming a key."""
    path.write_bytes(raw)
    spec, message = load_or_refusal(path)
    note_outcome("loads" if spec else message.split(" in ")[0].split(":")[0][:40])
    if spec is not None:
        assert_round_trips(spec, path)
        return
    try:
        tomllib.loads(raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"))
    except Exception:  # noqa: BLE001  (not UTF-8, TOML syntax, too deep, too many digits: all are syntax to the user)
        assert_syntax_error(message, path, raw)
    else:
        assert not message.startswith("Invalid TOML"), message
        first_key(message)


def assert_round_trips(spec: ModelSpec, path: Path) -> None:
    """A spec that loads writes out (`to_toml`) to a file that loads to the same spec, with finite numbers only."""
    def floats(node):
        if isinstance(node, dict):
            return [f for v in node.values() for f in floats(v)]
        if isinstance(node, list):
            return [f for v in node for f in floats(v)]
        return [node] if isinstance(node, float) else []

    assert all(math.isfinite(f) for f in floats(spec.to_dict())), spec.to_dict()
    again_path = path.with_name(path.stem + "-again.toml")
    again_path.write_text(spec.to_toml(), encoding="utf-8")
    again = load_spec(again_path)
    assert again.to_dict() == spec.to_dict()
    assert again.model_copy(update={"name": spec.name, "source": spec.source}) == spec


# ------------------------------------------------------------------- 1. arbitrary text and bytes
TOKENS = ["[", "]", "[[", "]]", "{", "}", "=", " = ", ",", ".", '"', "'", '"""', "'''", "\\", "\\u", "#", "\n", "\r",
          "\r\n", "\t", " ", "\x00", "\x7f", "é", "\ufeff", "true", "inf", "nan", "-", "+", "1e999", "0x", "0o8",
          "1979-05-27T07:32:00Z", "24:00:00", "1_000", "__", "[layers]", "[[layers]]", "[output]", "[training]",
          "[optimizer]", "units = ", "name = ", 'kind = "', "description", "layers.units", "a.b.c = 1"]
HUGE = ["[" * 600, "{a=" * 400, "9" * 4400, "0x" + "f" * 4400, "1" + "0" * 400, "x" * 5000]
FRAGMENTS = st.one_of(st.sampled_from(TOKENS), st.sampled_from(HUGE), st.text(max_size=6))


@settings(FUZZ, max_examples=1000)
@given(text=st.text(max_size=200))
def test_arbitrary_text_loads_or_gets_one_line(folder, text):
    # surrogatepass: lone surrogates become invalid UTF-8 on disk
    check_raw(folder / "text.toml", text.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=500)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_load_or_get_one_line(folder, raw):
    check_raw(folder / "bytes.toml", raw)


@settings(FUZZ, max_examples=1200)
@given(name=st.sampled_from(sorted(TEXTS)), edits=st.lists(
    st.tuples(st.sampled_from(["insert", "delete", "replace", "dup-line"]), st.floats(0, 1), st.integers(1, 12), FRAGMENTS),
    min_size=1, max_size=3))
def test_edited_spec_text_loads_or_gets_one_line(folder, name, edits):
    """The real spec files with characters or TOML tokens inserted, deleted or replaced, and lines duplicated."""
    text = TEXTS[name]
    for op, where, length, fragment in edits:
        at = int(where * len(text))
        if op == "insert":
            text = text[:at] + fragment + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + length:]
        elif op == "replace":
            text = text[:at] + fragment + text[at + length:]
        else:
            lines = text.splitlines(keepends=True)
            i = int(where * (len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
    check_raw(folder / f"{name}.toml", text.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------- 2. structured mutations of the real specs
def value_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in a spec dict: ("dataset",), ("layers", 0), ("layers", 0, "units"), ..."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    out = []
    for key, value in items:
        out.append(prefix + (key,))
        out += value_paths(value, prefix + (key,))
    return out


def table_paths(node: Any) -> list[tuple]:
    """The root and every table (dict) in a spec, where a key can be added."""
    return [()] + [p for p in value_paths(node) if isinstance(get(node, p), dict)]


def get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


SCALARS = st.one_of(
    st.text(max_size=12), st.just(""), st.sampled_from(VOCAB),
    st.integers(-3, 70), st.integers(-10**30, 10**30), st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 10**30]),
    st.floats(), st.sampled_from([0.0, -0.0, 0.2, 0.5, 1.0, 5e-324, 1e300, math.inf, -math.inf, math.nan]),
    st.booleans(),
    st.datetimes(timezones=st.sampled_from([None, dt.timezone.utc])), st.dates(), st.times(),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(sorted(KNOWN_KEYS)) | st.text(max_size=8), inner, max_size=4), max_leaves=8)
PLAUSIBLE = st.one_of(st.integers(1, 64), st.floats(0.01, 0.99), st.booleans(), st.just("full"), st.just(["mae"]),
                      st.lists(st.integers(1, 28), min_size=1, max_size=3))


def replacements(key: Any) -> st.SearchStrategy:
    """Values for `key`: its own allowed names (right, or wrong across keys), plausible numbers, or anything."""
    return st.one_of(st.sampled_from(SLOT_VALUES.get(key, VOCAB)), PLAUSIBLE, VALUES)


NEW_KEYS = st.one_of(st.text(max_size=12), st.sampled_from(sorted(KNOWN_KEYS)),
                     st.sampled_from(["learning_rat", "unit", "Units", "activation ", "name", "source", "a.b", "", "\n"]))


@st.composite
def mutations(draw) -> tuple[str, dict, str, tuple, Any]:
    """(spec name, mutated data, operation, path changed, new value) for one random change to a real spec."""
    name = draw(st.sampled_from(sorted(SHORT_FORM_DATA)))
    data = tomllib.loads(TEXTS[name])  # a fresh copy
    op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    if op == "add":
        table = draw(st.sampled_from(table_paths(data)))
        key = draw(NEW_KEYS)
        assume(key not in get(data, table))
        path, value = table + (key,), draw(replacements(key))
        get(data, table)[key] = value
        return name, data, op, path, value
    paths = value_paths(data)
    if op == "delete":
        paths = [p for p in paths if isinstance(p[-1], str)]  # keys of tables (list items shift their neighbours)
    path = draw(st.sampled_from(paths))
    parent = get(data, path[:-1])
    if op == "delete":
        del parent[path[-1]]
        return name, data, op, path, None
    parent[path[-1]] = value = draw(replacements(path[-1]))
    return name, data, op, path, value


def check_mutation(folder: Path, name: str, data: dict, op: str, path: tuple, value: Any) -> None:
    file = folder / f"{name}.toml"
    file.write_text(tomli_w.dumps(data), encoding="utf-8")
    key_changed = dotted(path)
    spec, message = load_or_refusal(file)
    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    version = raw.pop("format", 1)  # the spec language's version: checked by parse_spec, as the schema checks keys
    try:
        ModelSpec.model_validate(raw)
        schema_ok = type(version) is int and 1 <= version <= SPEC_FORMAT
    except ValidationError:
        schema_ok = False

    note_outcome(f"{op}: " + ("loads" if spec else "schema" if not schema_ok else "cross-key"))
    if spec is not None:
        assert_round_trips(spec, file)
        if op == "replace" and isinstance(value, (str, int, float)) and path[-1] != "initializer":
            assert get(spec.to_dict(), path) == value  # the value written is the value loaded
        return

    key = first_key(message)
    if op == "add" and path[-1] not in KNOWN_KEYS:
        assert message.startswith(f"Unknown key `{key_changed}` in {file}"), message
    elif not schema_ok:
        # One change to a valid spec: whatever the schema refuses is that key, inside it, or its table/layer.
        assert related(key, key_changed), f"{key_changed} changed, but the message names {key}: {message}"
        if key == key_changed and "received" in message and isinstance(value, (str, int, float)) and len(repr(value)) < 60:
            assert f"received {value!r}" in message, message
    else:
        # The schema takes it; a cross-key check refuses it and names one of the keys it is about,
        # with the value that key has in the file.
        assert CROSS_KEY.fullmatch(key), f"unexpected key {key} in {message}"
        assert message.startswith((f"Invalid value for `{key}` in {file}", "Dataset ")), message
        try:
            actual = get(data, tuple(int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]\.?", key) if p))
        except (KeyError, IndexError, TypeError):
            return  # a default the loader filled in
        if ("received" in message and not isinstance(actual, (dict, list))) or key in ("input_shape", "training.metrics"):
            assert repr(actual) in message, message


@settings(FUZZ, max_examples=3000)
@given(mutation=mutations())
def test_one_wrong_value_is_named_by_its_key(folder, mutation):
    check_mutation(folder, *mutation)


@settings(FUZZ, max_examples=600)
@given(name=st.sampled_from(sorted(DATA)), changes=st.lists(st.tuples(st.floats(0, 1), VALUES), min_size=2, max_size=4))
def test_several_wrong_values_get_one_line_naming_a_key(folder, name, changes):
    """Several values replaced at once: the loader refuses with one line naming some key, or the spec round-trips."""
    data = tomllib.loads(TEXTS[name])
    for where, value in changes:
        paths = value_paths(data)
        path = paths[int(where * (len(paths) - 1))]
        get(data, path[:-1])[path[-1]] = value
    file = folder / f"{name}.toml"
    file.write_text(tomli_w.dumps(data), encoding="utf-8")
    spec, message = load_or_refusal(file)
    if spec is not None:
        assert_round_trips(spec, file)
    else:
        first_key(message)


# ----------------------------------------- 3. the checks above are real: known refusals, known bugs
def mutated(name: str, path: tuple, value: Any) -> dict:
    data = tomllib.loads(TEXTS[name])
    get(data, path[:-1])[path[-1]] = value
    return data


def test_known_bad_value_names_key_value_and_allowed_ones(folder):
    data = mutated("mlp", ("optimizer", "name"), "adamm")
    check_mutation(folder, "mlp", data, "replace", ("optimizer", "name"), "adamm")
    (folder / "mlp.toml").write_text(tomli_w.dumps(data))
    _, message = load_or_refusal(folder / "mlp.toml")
    assert message.startswith(f"Invalid value for `optimizer.name` in {folder / 'mlp.toml'}: received 'adamm'; expected one of ")
    assert all(repr(name) in message for name in ("sgd", "adam", "rmsprop", "adagrad", "perceptron")), message


def test_the_checks_refuse_what_they_should(folder):
    path = folder / "x.toml"
    with pytest.raises(AssertionError):
        assert_one_line(f"Invalid value for `a` in {path}: received 'x\ny'", path)
    with pytest.raises(AssertionError):
        assert_one_line("Invalid value for `a` in another.toml", path)
    with pytest.raises(AssertionError):
        assert_syntax_error(f"Invalid TOML in {path}: Invalid value (at end of document)", path, b"a =")
    with pytest.raises(AssertionError):
        assert_syntax_error(f"Invalid TOML in {path}: Invalid value (at line 9, column 1)", path, b"a =")
    assert not related("output.units", "training.loss") and not related("layers[1]", "layers[0].units")
    assert related("layers[0]", "layers[0].units") and related("output.initializer.name", "output.initializer")
    # a cross-key refusal: the message names the loss, though the output was changed
    data = mutated("mlp", ("output", "activation"), "sigmoid")
    check_mutation(folder, "mlp", data, "replace", ("output", "activation"), "sigmoid")
    _, message = load_or_refusal(folder / "mlp.toml")
    assert first_key(message) == "training.loss"


def test_fuzzed_values_reach_valid_specs_schema_errors_and_cross_key_errors(folder):
    """The mutation strategy is not vacuous: it produces all three outcomes."""
    outcomes = set()
    for path, value in [(("training", "epochs"), 3), (("training", "epochs"), -3), (("dataset",), "xor")]:
        file = folder / "mlp.toml"
        file.write_text(tomli_w.dumps(mutated("mlp", path, value)))
        spec, message = load_or_refusal(file)
        outcomes.add("valid" if spec else message.split("`")[1])
    assert outcomes == {"valid", "training.epochs", "input_shape"}


# Bugs the fuzzer found in the loader, kept as plain regressions (each used to escape as a traceback,
# a multi-line message, or a TOML error with no line).
REGRESSIONS = [
    ("a = " + "[" * 600 + "]" * 600, "nested too deeply"),             # RecursionError from tomllib
    ("description = 1\na = " + "9" * 5000, "line 2"),                 # ValueError: int() limit of 4300 digits
    ("x = 1\nx = 2", "line 2"),                                        # "(at end of document)": no line
    ('"un\\nits" = 3', "Unknown key `un\\nits`"),                      # a newline in the message
    (b"description = 1\n\xff\xfe = 2\n", "line 2"),                   # not UTF-8: no line
    (TEXTS["mlp"].replace("units = 10", "units = 0x" + "f" * 4400), "`output.units`"),  # ValueError from repr(received)
    (TEXTS["mlp"].replace("epochs = 20", "epochs = 9223372036854775808"), "`training.epochs`"),  # to_toml() could not write
]


@pytest.mark.parametrize("content,fragment", REGRESSIONS, ids=["deep", "digits", "eof", "newline-key", "utf8", "hex-int", "int64"])
def test_loader_bugs_found_by_fuzzing_stay_fixed(folder, content, fragment):
    path = folder / "regression.toml"
    raw = content if isinstance(content, bytes) else content.encode()
    check_raw(path, raw)
    _, message = load_or_refusal(path)
    assert fragment in message, message


@pytest.mark.parametrize("path,value", [(("optimizer", "learning_rate"), math.inf), (("optimizer", "learning_rate"), math.nan),
                                        (("layers", 0, "initializer"), {"name": "random_normal", "mean": math.nan}),
                                        (("training", "batch_size"), math.inf)])
def test_infinite_and_nan_numbers_are_refused(folder, path, value):
    data = mutated("exploding", path, value)
    check_mutation(folder, "exploding", data, "replace", path, value)
    _, message = load_or_refusal(folder / "exploding.toml")
    assert message and f"`{dotted(path)}" in message, message
