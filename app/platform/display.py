"""Can Qt open a window here? Checked before Qt is loaded, so a missing library is a
message and exit code 1, not a core dump.

On Linux, Qt's xcb platform plugin (X11) needs system libraries that PySide6's
wheel does not ship. When one is missing, Qt prints a hint and *aborts*
("From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb
platform plugin"), then another library turns out missing on the next try.
This module asks the dynamic loader which libraries the plugin cannot find
(``ldd`` on the plugin and on ``libQt6XcbQpa``, whose "not found" lines are
the real list for this PySide6 build; where ``ldd`` is missing it tries to
load a known list with ``ctypes``), and says every one of them at once with
the command that installs them. It also says so when there is no display at
all, and when ``DISPLAY`` names an X server that does not answer (a closed X
session, a stale SSH forward): it connects the way the plugin will, through
libxcb's ``xcb_connect`` (ctypes), instead of trusting that the variable is
set. Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Test hook, kept honest: extra library names the check must be able to load (it
#: tries to, exactly as for the plugin's own list), e.g. one that cannot exist.
ENV_EXTRA_LIBRARIES = "RESEARCH_HUB_XCB_EXTRA_LIBS"

#: soname -> (Debian/Ubuntu package, Fedora package).
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}

#: What the xcb plugin of Qt 6.5+ loads, for systems without ``ldd``.
KNOWN_XCB_LIBRARIES = (
    "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-image.so.0",
    "libxcb-render-util.so.0", "libxcb-xinerama.so.0", "libxcb-xkb.so.1",
    "libxkbcommon-x11.so.0", "libxkbcommon.so.0", "libxcb-shape.so.0", "libxcb-randr.so.0",
    "libxcb-render.so.0", "libxcb-shm.so.0", "libxcb-sync.so.1", "libxcb-xfixes.so.0",
    "libxcb.so.1", "libX11-xcb.so.1", "libX11.so.6", "libEGL.so.1", "libfontconfig.so.1",
    "libfreetype.so.6",
)

#: How long the check waits for the X server to accept a connection (a forward to a host
#: that drops packets would otherwise keep the check waiting for minutes).
CONNECT_TIMEOUT_S = 5.0

#: xcb_connection_has_error's codes (xcb.h) -> what they mean for the user.
_XCB_ERRORS = {
    1: "no X server answers there",
    2: "the X server lacks an extension Qt needs",
    3: "the X connection ran out of memory",
    4: "the X server refused a request",
    5: "it is not a display name X understands",
    6: "that X server has no such screen",
    7: "the X server refused to pass file descriptors",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


@dataclass
class DisplayProblem:
    """Why no window can open, and what to do about it."""

    platform: str
    no_display: str = ""
    missing: list[str] = field(default_factory=list)

    def explain(self) -> str:
        lines = ["Research Hub cannot open its window."]
        if self.no_display:
            lines.append(self.no_display)
        if self.missing:
            lines.append(
                f"Qt's {self.platform} platform plugin needs system libraries that are missing: "
                + ", ".join(self.missing) + "."
            )
            apt, dnf = install_commands(self.missing)
            lines.append("Install them with:")
            lines.append(f"  Debian/Ubuntu:  {apt}")
            lines.append(f"  Fedora:         {dnf}")
            unknown = [name for name in self.missing if name not in PACKAGES]
            if unknown:
                lines.append(
                    "  (no package known for " + ", ".join(unknown)
                    + ": search your distribution's packages for that file)"
                )
        lines.append(
            "Without a window, the command line works: research-hub --help."
        )
        return "\n".join(lines)


def install_commands(missing: Iterable[str]) -> tuple[str, str]:
    """The apt-get and dnf commands that install the packages holding ``missing``."""
    apt = sorted({PACKAGES[name][0] for name in missing if name in PACKAGES})
    dnf = sorted({PACKAGES[name][1] for name in missing if name in PACKAGES})
    return ("sudo apt-get install " + " ".join(apt), "sudo dnf install " + " ".join(dnf))


def qt_platform(environ: Mapping[str, str], system: str = sys.platform) -> str:
    """The platform plugin Qt will load, as QGuiApplication decides it (Qt 6, Linux)."""
    requested = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if requested:
        return requested
    if not system.startswith("linux"):
        return "native"
    if environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def qt_dir() -> Path | None:
    """PySide6's ``Qt`` folder, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def missing_libraries(qt: Path | None = None, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Libraries the xcb plugin needs that the loader cannot find, in a stable order."""
    qt = qt if qt is not None else qt_dir()
    missing: list[str] = []
    ldd = shutil.which("ldd")
    binaries = [] if qt is None else [qt / "plugins" / "platforms" / "libqxcb.so",
                                      *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    binaries = [b for b in binaries if b.exists()]
    if ldd and binaries:
        for binary in binaries:
            out = subprocess.run([ldd, str(binary)], capture_output=True, text=True,
                                 timeout=30, check=False)
            missing += _NOT_FOUND.findall(out.stdout)
    else:
        missing += [name for name in KNOWN_XCB_LIBRARIES if not _loadable(name)]
    extra = environ.get(ENV_EXTRA_LIBRARIES, "").split()
    missing += [name for name in extra if not _loadable(name)]
    return list(dict.fromkeys(missing))


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def x_connect_error(display: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str:
    """Why Qt's xcb plugin could not connect to ``display``, or "" when it can (or when
    libxcb itself is missing: :func:`missing_libraries` says so)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return ""
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.restype = None
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    result: list[int] = []

    def connect() -> None:
        # An unreachable display gives an error connection (never NULL), disconnected the same.
        connection = xcb.xcb_connect(display.encode(), None)
        result.append(xcb.xcb_connection_has_error(connection))
        xcb.xcb_disconnect(connection)

    # A thread, so a server that never answers costs timeout_s, not the TCP timeout.
    thread = threading.Thread(target=connect, name="display-check", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not result:
        return f"no X server answered within {timeout_s:g} s"
    code = result[0]
    return "" if code == 0 else _XCB_ERRORS.get(code, f"libxcb error {code}")


def check_display(
    environ: Mapping[str, str] = os.environ, system: str = sys.platform, qt: Path | None = None
) -> DisplayProblem | None:
    """None when Qt can be expected to open a window; else what stops it."""
    platform = qt_platform(environ, system)
    if platform != "xcb" or not system.startswith("linux"):
        return None  # offscreen, wayland, macOS, Windows: Qt brings what it needs
    problem = DisplayProblem(platform)
    if not environ.get("DISPLAY"):
        if environ.get("WAYLAND_DISPLAY"):
            problem.no_display = (
                "DISPLAY is not set, so the X11 (xcb) platform cannot connect; this looks like"
                " a Wayland session: run with QT_QPA_PLATFORM=wayland."
            )
        else:
            problem.no_display = (
                "There is no display: neither DISPLAY nor WAYLAND_DISPLAY is set (a terminal"
                " without a desktop session, e.g. over SSH). Start it from the desktop, or"
                " under xvfb-run for a virtual one."
            )
    problem.missing = missing_libraries(qt, environ)
    display = environ.get("DISPLAY", "")
    if display:
        why = x_connect_error(display)
        if why:
            problem.no_display = (
                f"DISPLAY is {display!r}, but the window cannot open there: {why} (a closed X"
                " session or a stale SSH forward?). Start it from the desktop, or under"
                " xvfb-run for a virtual one."
            )
    return problem if problem.no_display or problem.missing else None
