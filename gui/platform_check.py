"""Before the QApplication: can Qt open a window here? One line naming what to install, not Qt's abort.

On Linux, PySide6 >= 6.5 needs system libraries for its xcb (X11) plugin that minimal systems lack
(libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxkbcommon-x11-0, ...). Without them Qt prints
"could not load the Qt platform plugin" and aborts the process. `problem()` finds the missing ones
first, from the plugin's shared-library dependencies (`ldd`), and names the Debian/Ubuntu packages.

No Qt is imported here: importing PySide6's modules is safe, but the check must run before a
QApplication exists, and it only needs the plugin's path.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

# Debian/Ubuntu package names that the soname rule below gets wrong
PACKAGE_EXCEPTIONS = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0", "libz.so.1": "zlib1g",
                      "libgcc_s.so.1": "libgcc-s1", "libGLdispatch.so.0": "libglvnd0", "libbrotlicommon.so.1": "libbrotli1",
                      "libbrotlidec.so.1": "libbrotli1", "libstdc++.so.6": "libstdc++6"}
# what the README's set-up section names: the xcb plugin's usual gaps on a minimal Debian or Ubuntu
README_PACKAGES = "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0"


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships a library: libxcb-cursor.so.0 -> libxcb-cursor0,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (a hyphen when the name ends in a digit)."""
    if soname in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[soname]
    match = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\.[\d.]+)?", soname)
    if not match:
        return soname
    name, major = match.group(1).lower(), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def platform_name(argv: list[str] | None = None) -> str:
    """The platform plugin Qt will load: a `-platform NAME` argument, else QT_QPA_PLATFORM's first choice, else
    Qt's default for this system (lower case, as Qt compares them)."""
    args = list(argv or [])
    requested = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-platform", "--platform")), None)
    requested = (requested or os.environ.get("QT_QPA_PLATFORM", "")).split(";")[0].split(":")[0].strip().lower()
    if requested:
        return requested
    if not sys.platform.startswith("linux"):
        return "native"
    if os.environ.get("XDG_SESSION_TYPE") == "wayland" and os.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def plugin_path(name: str) -> Path | None:
    spec = find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / f"libq{name}.so"
    return path if path.is_file() else None


def ldd_output(library: Path) -> str:
    """What `ldd` says of a shared library ("" when there is no ldd or it fails)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        return subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def missing_libraries(library: Path) -> list[str]:
    """The sonames `library` needs (directly or through its dependencies) that the dynamic loader cannot find."""
    missing = re.findall(r"^\s*(\S+)\s+=>\s+not found", ldd_output(library), flags=re.MULTILINE)
    return list(dict.fromkeys(missing))


def load_error(library: Path) -> str:
    """The dynamic loader's own error when it loads `library` in a child process ("" when it loads).

    Catches what ldd cannot see: a dependency that is found but broken (truncated, wrong architecture).
    """
    code = "import ctypes, sys\ntry:\n    ctypes.CDLL(sys.argv[1])\nexcept OSError as e:\n    print(e)"
    try:
        out = subprocess.run([sys.executable, "-c", code, str(library)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def local_display_socket(display: str) -> Path | None:
    """The X server socket of a local DISPLAY (":1", ":1.0", "unix:1"); None for a remote or unusual one."""
    match = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display.strip())
    return Path(f"/tmp/.X11-unix/X{match.group(1)}") if match else None


def problem(argv: list[str] | None = None) -> str | None:
    """One line saying why Qt cannot open a window here and what to do, or None when nothing is known to be wrong.

    `argv`: the app's arguments (Qt reads `-platform NAME` from them).
    """
    if platform_name(argv) != "xcb" or not sys.platform.startswith("linux"):
        return None
    plugin = plugin_path("xcb")
    if plugin is None and find_spec("PySide6") is not None:
        return ("The app cannot open a window: PySide6 has no X11 (xcb) platform plugin (Qt/plugins/platforms/libqxcb.so); "
                "reinstall it: pip install --force-reinstall PySide6-Essentials (or make app)")
    missing = missing_libraries(plugin) if plugin is not None else []
    if missing:
        packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
        return (f"The app cannot open a window: Qt's X11 (xcb) plugin needs system libraries that are missing "
                f"({', '.join(missing)}). On Debian or Ubuntu: sudo apt-get install {packages}")
    if plugin is not None and (error := load_error(plugin)):
        broken = re.match(r"(\S+?\.so[.\d]*)", error)
        fix = (f"; reinstall it: sudo apt-get install --reinstall {debian_package(Path(broken.group(1)).name)}"
               if broken and Path(broken.group(1)).name != plugin.name else "")
        return f"The app cannot open a window: Qt's X11 (xcb) plugin does not load ({error}){fix}"
    display = os.environ.get("DISPLAY", "")
    if not display:
        return ("The app cannot open a window: no X display (DISPLAY is not set). Run it on a desktop, "
                "or headless with xvfb-run zoo gui")
    socket = local_display_socket(display)
    if socket is not None and not socket.exists():
        return (f"The app cannot open a window: no X server is running on display {display} ({socket} is missing). "
                "Check DISPLAY, or run it headless with xvfb-run zoo gui")
    return None
