"""`pip install .` (not editable): the wheel holds every package, and the installed zoo trains and the app imports."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zoo

ROOT = Path(__file__).parent.parent

# Run from outside the repository, with only the installed copy on the path: imports every module of zoo and gui,
# lists the shipped specs and trains one epoch through the installed command line.
CHECK = """
import importlib, pkgutil, sys
from pathlib import Path
site = Path(sys.argv[1])
for package in ("zoo", "gui"):
    top = importlib.import_module(package)
    assert Path(top.__file__).is_relative_to(site), (package, top.__file__)
    for module in pkgutil.walk_packages(top.__path__, package + "."):
        if module.name.endswith("__main__"):  # runs the program
            continue
        imported = importlib.import_module(module.name)
        assert Path(imported.__file__).is_relative_to(site), imported.__file__
        print(module.name)
import zoo
print("models", ",".join(zoo.list_models()))
from importlib.metadata import entry_points
print("apps", *sorted({ep.value for ep in entry_points(group="zoo.apps")}))  # how `zoo gui` finds the app
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from a copy of the source tree, installed into a target folder."""
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                             "__pycache__", "runs", "demo"))
    wheels = tmp / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--no-index", "--wheel-dir", str(wheels), str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "deprecated" not in build.stderr.lower(), build.stderr  # e.g. the license as a table
    wheel = next(wheels.glob("zoo-*.whl"))
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, capture_output=True)
    return tmp, site


def run_installed(tmp: Path, site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "ZOO_HOME": str(tmp / "home"), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ZOO_MODELS_DIR", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp, env=env, timeout=600)


def test_the_wheel_holds_every_module_and_spec(installed):
    tmp, site = installed
    proc = run_installed(tmp, site, "-c", CHECK, str(site))
    assert proc.returncode == 0, proc.stderr
    modules = set(proc.stdout.splitlines())
    source = {".".join(p.relative_to(ROOT).with_suffix("").parts) for top in ("zoo", "gui")
              for p in (ROOT / top).rglob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert source <= modules, f"missing from the wheel: {sorted(source - modules)}"
    assert {"zoo.callbacks.gradient_recorder", "gui.views.draw_view"} <= modules
    assert f"models {','.join(zoo.list_models())}" in modules
    assert "apps gui.app:main" in modules


def test_the_installed_zoo_trains_one_epoch(installed):
    tmp, site = installed
    proc = run_installed(tmp, site, "-m", "zoo", "train", "mlp", "--epochs", "1", "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr
    status = zoo.runs.read_run(tmp / "run")
    assert status.state == "completed" and status.accuracy > 0.5
