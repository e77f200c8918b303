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
PACKAGE_EXCEPTIONS = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0"}
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


def platform_name() -> str:
    """The platform plugin Qt will load: QT_QPA_PLATFORM's first choice, else Qt's default for this system."""
    requested = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
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


def problem() -> str | None:
    """One line saying why Qt cannot open a window here and what to do, or None when nothing is known to be wrong."""
    if platform_name() != "xcb" or not sys.platform.startswith("linux"):
        return None
    plugin = plugin_path("xcb")
    missing = missing_libraries(plugin) if plugin is not None else []
    if missing:
        packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
        return (f"The app cannot open a window: Qt's X11 (xcb) plugin needs system libraries that are missing "
                f"({', '.join(missing)}). On Debian or Ubuntu: sudo apt-get install {packages}")
    if not os.environ.get("DISPLAY"):
        return ("The app cannot open a window: no X display (DISPLAY is not set). Run it on a desktop, "
                "or headless with xvfb-run zoo gui")
    return None
