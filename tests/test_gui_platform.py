"""`zoo gui` on a Linux desktop without the xcb plugin's libraries: one line naming the packages, exit 2."""
import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from gui import app, platform_check
from gui.platform_check import debian_package, missing_libraries, plugin_path

LDD_MISSING = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /site/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f10)
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f00)
"""


@pytest.mark.parametrize("soname, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"), ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11-xcb.so.1", "libx11-xcb1"), ("libEGL.so.1", "libegl1"), ("libdbus-1.so.3", "libdbus-1-3"),
    ("libglib-2.0.so.0", "libglib2.0-0"), ("libfontconfig.so.1.12.0", "libfontconfig1"),
])
def test_debian_package_names(soname, package):
    assert debian_package(soname) == package


def test_a_missing_library_gives_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(platform_check, "plugin_path", lambda name: "libqxcb.so")
    monkeypatch.setattr(platform_check, "ldd_output", lambda library: LDD_MISSING)
    created = []
    monkeypatch.setattr("PySide6.QtWidgets.QApplication.__init__", lambda *a: created.append(a))
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and not created
    assert "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4\n" in err
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0, libxcb-icccm.so.4" in err


def test_no_display_is_said_plainly(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(platform_check, "ldd_output", lambda library: "")
    assert "DISPLAY is not set" in platform_check.problem()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # no window needed: nothing to check
    assert platform_check.problem() is None


@pytest.mark.skipif(not sys.platform.startswith("linux") or plugin_path("xcb") is None, reason="Linux xcb plugin only")
def test_the_real_plugin_is_read_as_the_loader_sees_it():
    """On this machine: every library reported missing really cannot be loaded, and the plugin's
    found dependencies can (checked with the dynamic loader itself, not with ldd)."""
    plugin = plugin_path("xcb")
    missing = missing_libraries(plugin)
    for soname in missing:
        with pytest.raises(OSError):
            ctypes.CDLL(soname)
    found = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    assert ("not found" in found) == bool(missing)
    if not missing:
        ctypes.CDLL(str(plugin))  # everything it needs is there


@pytest.mark.skipif(not sys.platform.startswith("linux") or plugin_path("xcb") is None, reason="Linux xcb plugin only")
def test_a_found_but_broken_library_is_named_with_its_package(monkeypatch, tmp_path):
    if "libxcb-cursor.so.0" not in platform_check.ldd_output(plugin_path("xcb")):
        pytest.skip("this PySide6's xcb plugin does not use libxcb-cursor")
    (tmp_path / "libxcb-cursor.so.0").write_bytes(b"")  # found by the loader first, and not a library
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    why = platform_check.problem()
    assert why is not None and "\n" not in why
    assert f"{tmp_path}/libxcb-cursor.so.0" in why and "sudo apt-get install --reinstall libxcb-cursor0" in why


def test_a_display_without_a_server_is_said_plainly(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(platform_check, "plugin_path", lambda name: Path("libqxcb.so"))
    monkeypatch.setattr(platform_check, "ldd_output", lambda library: "")
    monkeypatch.setattr(platform_check, "load_error", lambda library: "")
    display = next(f":{n}" for n in range(900, 1000) if not platform_check.local_display_socket(f":{n}").exists())
    monkeypatch.setenv("DISPLAY", display)
    assert f"no X server is running on display {display}" in platform_check.problem()
    monkeypatch.setenv("DISPLAY", "remote.example:0")  # remote displays are not second-guessed
    assert platform_check.problem() is None
    assert [platform_check.local_display_socket(d) for d in (":1", ":1.0", "unix:2", "host:0")] == [
        Path("/tmp/.X11-unix/X1"), Path("/tmp/.X11-unix/X1"), Path("/tmp/.X11-unix/X2"), None]


def test_the_platform_qt_will_use_is_read_as_qt_reads_it(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "XCB")  # Qt compares plugin names without case
    assert "DISPLAY is not set" in platform_check.problem()
    assert platform_check.problem(["-platform", "offscreen"]) is None  # an argument beats the environment
    monkeypatch.setattr(platform_check, "plugin_path", lambda name: None)
    assert "no X11 (xcb) platform plugin" in platform_check.problem()
    assert [debian_package(s) for s in ("libz.so.1", "libgcc_s.so.1", "libGLdispatch.so.0")] == [
        "zlib1g", "libgcc-s1", "libglvnd0"]


def test_zoo_gui_opens_the_app_in_its_own_process_with_qt_arguments(monkeypatch):
    import importlib.metadata
    import os

    from zoo.cli import main

    calls = []

    def fake_app(argv):
        calls.append((os.getpid(), argv))
        return 7

    entry = importlib.metadata.EntryPoint("gui", "fake:app", "zoo.apps")
    monkeypatch.setattr(importlib.metadata.EntryPoint, "load", lambda self: fake_app)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [entry] if group == "zoo.apps" else [])
    assert main(["gui", "-platform", "offscreen"]) == 7  # the app's own exit status
    assert calls == [(os.getpid(), ["-platform", "offscreen"])]  # no second Python process
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: [])
    assert main(["gui"]) == 2  # not installed: one line, exit 2
