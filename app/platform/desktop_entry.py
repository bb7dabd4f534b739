"""Put Research Hub in the desktop's application menu, and take it out again.

Freedesktop.org desktops (GNOME, KDE, Xfce...) list an application when the user's
data folder (``$XDG_DATA_HOME``, else ``~/.local/share``) holds its ``.desktop``
file; they draw it with the icon theme's ``hicolor`` icons, and software centres
describe it from its AppStream metainfo. :func:`install` writes exactly those
files, with ``Exec=`` pointing at the executable that ran it (the bundle's, or
the venv's ``research-hub``); :func:`uninstall` removes exactly the same list.
The folders themselves are shared with other applications and stay.

No Qt here: ``research-hub --install-desktop-entry`` works without a display.
The PNG icons are rendered from the SVG by ``packaging/render_icons.py`` and kept
in ``resources/icons/hicolor`` (installing is then copying, with nothing to draw).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workers.files import write_whole

#: ``app.startup`` passes this name (without ".desktop") to ``setDesktopFileName``: the window
#: is matched to this file by that name (Wayland's app id, the X11 class), so the names must agree.
DESKTOP_FILE = "research-hub.desktop"
ICON_NAME = "research-hub"
METAINFO_FILE = "io.github.research_hub.metainfo.xml"
#: The hicolor sizes desktops ask for (menus 16–48, launchers and software centres up to 512).
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

#: The source tree, or the bundle's folder (which keeps the same layout).
ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


class DesktopEntryError(Exception):
    """Installing or removing could not be done; the message says why, for the user."""


@dataclass(frozen=True)
class Placed:
    """One file of the entry: where it comes from and where it goes."""

    source: Path
    target: Path


def data_home(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME`` if set to an absolute path (the spec says to ignore a relative
    one), else ``~/.local/share``."""
    value = env.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / ".local" / "share"


def placements(home: Path) -> list[Placed]:
    """Every file the entry consists of, in the order it is written."""
    hicolor = home / "icons" / "hicolor"
    files = [
        Placed(PACKAGING / DESKTOP_FILE, home / "applications" / DESKTOP_FILE),
        Placed(PACKAGING / METAINFO_FILE, home / "metainfo" / METAINFO_FILE),
        Placed(ICONS / f"{ICON_NAME}.svg", hicolor / "scalable" / "apps" / f"{ICON_NAME}.svg"),
    ]
    for size in PNG_SIZES:
        folder = f"{size}x{size}"
        files.append(Placed(ICONS / "hicolor" / folder / "apps" / f"{ICON_NAME}.png",
                            hicolor / folder / "apps" / f"{ICON_NAME}.png"))
    return files


def launch_command() -> list[str]:
    """The command that opens the app, as the desktop should run it.

    The bundle's executable is the app; in a venv it is the ``research-hub`` script
    beside the interpreter (``.venv/bin``), found without relying on ``PATH`` (which
    a desktop session does not share with the shell that ran ``make run``).
    """
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).with_name("research-hub")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("research-hub")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "app.launcher"]


def quote_exec_arg(arg: str) -> str:
    """One argument of an ``Exec=`` line, quoted as the Desktop Entry spec requires:
    inside double quotes, ``"``, backquote, ``$`` and backslash are escaped with a
    backslash; ``%`` is doubled (a lone one is a field code such as ``%F``)."""
    arg = arg.replace("%", "%%")
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if not reserved & set(arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def desktop_entry_text(template: str, command: Sequence[str]) -> str:
    """The packaged ``.desktop`` file with ``Exec=``/``TryExec=`` set to ``command``.

    The line-level escape (a backslash doubled in a string value) comes on top of the
    Exec quoting, as the spec says. ``%F``: the desktop hands over the PDFs the user
    opened with the app (they are added, as paths on the command line are).
    """
    exec_line = " ".join(quote_exec_arg(a) for a in command) + " %F"
    exec_line = exec_line.replace("\\", "\\\\")
    try_exec = command[0].replace("\\", "\\\\")
    lines = []
    for line in template.splitlines():
        if line.startswith("Exec="):
            line = "Exec=" + exec_line
        elif line.startswith("TryExec="):
            line = "TryExec=" + try_exec
        lines.append(line)
    return "\n".join(lines) + "\n"


def _write(target: Path, data: bytes) -> None:
    """Write whole or not at all: a desktop scanning the folder never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_whole(target, data)


def _refresh_caches(home: Path) -> None:
    """Tell the desktop what changed, where its cache tools are installed (the menu and
    "Open with" read ``mimeinfo.cache``; GTK reads the icon cache only if one exists).
    Best effort: without them, desktops notice the files on their own, a little later."""
    commands = [["update-desktop-database", "-q", str(home / "applications")]]
    if (home / "icons" / "hicolor" / "index.theme").exists():
        commands.append(["gtk-update-icon-cache", "-q", "-t", str(home / "icons" / "hicolor")])
    for command in commands:
        if shutil.which(command[0]) and Path(command[-1]).is_dir():
            subprocess.run(command, check=False, timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def check_supported(platform: str = sys.platform) -> None:
    if not platform.startswith("linux"):
        raise DesktopEntryError(
            "desktop entries are for Linux desktops (freedesktop.org); on this system, "
            "start Research Hub from the bundle's folder or pin it to the dock/taskbar")


def install(home: Path | None = None, command: Sequence[str] | None = None) -> list[Path]:
    """Write the entry (replacing an earlier one); returns the files written."""
    check_supported()
    home = data_home() if home is None else home
    command = list(command or launch_command())
    files = placements(home)
    missing = [str(f.source) for f in files if not f.source.is_file()]
    if missing:
        raise DesktopEntryError("this installation lacks the files of its desktop entry: "
                                + ", ".join(missing))
    written = []
    try:
        for placed in files:
            data = placed.source.read_bytes()
            if placed.source.name == DESKTOP_FILE:
                data = desktop_entry_text(data.decode("utf-8"), command).encode("utf-8")
            _write(placed.target, data)
            written.append(placed.target)
    except OSError as exc:
        raise DesktopEntryError(f"could not write {exc.filename or home}: {exc.strerror}") from exc
    _refresh_caches(home)
    return written


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove the files :func:`install` writes, where present; returns those removed."""
    check_supported()
    home = data_home() if home is None else home
    removed = []
    try:
        for placed in placements(home):
            if placed.target.is_file() or placed.target.is_symlink():
                placed.target.unlink()
                removed.append(placed.target)
    except OSError as exc:
        raise DesktopEntryError(f"could not remove {exc.filename}: {exc.strerror}") from exc
    _refresh_caches(home)
    return removed
