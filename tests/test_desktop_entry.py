"""``research-hub --install-desktop-entry`` / ``--uninstall-desktop-entry`` as a user runs
them, into a fresh ``XDG_DATA_HOME``, with what they write checked by the freedesktop
tools themselves (``desktop-file-validate``, ``appstreamcli validate``)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from app.platform import desktop_entry
from app.platform.desktop_entry import (
    DESKTOP_FILE,
    ICON_NAME,
    METAINFO_FILE,
    PNG_SIZES,
    desktop_entry_text,
)
from tests.helpers.app_process import app_env, run_launcher
from tests.helpers.skips import skip_or_fail


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} is not installed (Debian: desktop-file-utils, appstream)")
    return found


def xdg_env(home: Path) -> dict[str, str]:
    """No display at all: installing the entry must not need one."""
    env = app_env(XDG_DATA_HOME=str(home))
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def parse_exec(value: str) -> list[str]:
    """An ``Exec=`` value read back as the Desktop Entry spec says a desktop reads it:
    the string escapes first (``\\\\`` is one backslash), then arguments split on
    spaces, a double-quoted one with ``\\`` escaping the next character, ``%%`` a ``%``."""
    value = value.replace("\\\\", "\\")
    args: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in value:
        if escaped:
            current = (current or []) + [char]
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
            current = current or []
        elif char == " " and not quoted:
            if current is not None:
                args.append("".join(current))
            current = None
        else:
            current = (current or []) + [char]
    assert not quoted and not escaped, f"unbalanced quoting in {value!r}"
    if current is not None:
        args.append("".join(current))
    return [a.replace("%%", "%") for a in args]


def exec_argv(desktop_file: Path) -> list[str]:
    line = next(x for x in desktop_file.read_text().splitlines() if x.startswith("Exec="))
    return [a for a in parse_exec(line.removeprefix("Exec=")) if a != "%F"]


def test_install_writes_a_valid_entry_and_uninstall_removes_exactly_it(tmp_path: Path) -> None:
    validate, appstream = tool("desktop-file-validate"), tool("appstreamcli")
    home = tmp_path / "share"
    (home / "applications").mkdir(parents=True)
    theirs = home / "applications" / "someone-else.desktop"
    theirs.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other\n")

    installed = run_launcher("--install-desktop-entry", env=xdg_env(home))
    assert installed.returncode == 0, installed.stderr
    assert "added to the application menu" in installed.stdout

    entry = home / "applications" / DESKTOP_FILE
    metainfo = home / "metainfo" / METAINFO_FILE
    checked = subprocess.run([validate, str(entry)], capture_output=True, text=True)
    assert checked.returncode == 0 and "error" not in checked.stdout + checked.stderr, \
        checked.stdout + checked.stderr
    checked = subprocess.run([appstream, "validate", "--no-net", "--pedantic", str(metainfo)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Exec= runs this installation's launcher by its full path (a desktop session does not
    # have the shell's PATH); that command really starts and answers.
    argv = exec_argv(entry)
    assert Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK), argv
    answered = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60,
                              env=xdg_env(home))
    assert answered.returncode == 0 and "--install-desktop-entry" in answered.stdout
    assert f"TryExec={argv[0]}" in entry.read_text()

    hicolor = home / "icons" / "hicolor"
    for size in PNG_SIZES:
        assert png_size(hicolor / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png") == (size, size)
    svg = hicolor / "scalable" / "apps" / f"{ICON_NAME}.svg"
    assert svg.read_bytes() == (desktop_entry.ICONS / f"{ICON_NAME}.svg").read_bytes()
    # "Open with" knows the app for PDFs: the desktop's MIME cache, rebuilt by the install.
    mime_cache = home / "applications" / "mimeinfo.cache"
    assert f"application/pdf={DESKTOP_FILE};" in mime_cache.read_text()
    listed = {line.strip() for line in installed.stdout.splitlines()[1:]}
    assert listed == {str(home / p) for p in files_under(home)} - {str(theirs), str(mime_cache)}

    # Again: replaces, adds nothing.
    before = files_under(home)
    assert run_launcher("--install-desktop-entry", env=xdg_env(home)).returncode == 0
    assert files_under(home) == before

    removed = run_launcher("--uninstall-desktop-entry", env=xdg_env(home))
    assert removed.returncode == 0, removed.stderr
    assert "removed from the application menu" in removed.stdout
    # Only the other app's file stays, and the MIME cache, rebuilt without us.
    assert files_under(home) == {theirs.relative_to(home), mime_cache.relative_to(home)}
    assert DESKTOP_FILE not in mime_cache.read_text()

    again = run_launcher("--uninstall-desktop-entry", env=xdg_env(home))
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_an_unwritable_data_folder_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through permissions; a file where a folder must go stops anyone.
        home = tmp_path / "share"
        home.mkdir()
        (home / "applications").write_text("a file, not a folder")
    else:
        home = tmp_path / "share"
        home.mkdir(mode=0o500)
    out = run_launcher("--install-desktop-entry", env=xdg_env(home))
    assert out.returncode == 1
    assert out.stderr.startswith("research-hub: could not write ") and "Traceback" not in out.stderr
    assert not (home / "metainfo").exists()


@pytest.mark.parametrize("command", [
    ["/opt/Research Hub/research-hub"],
    ["/home/ana/100% papers/bin/research-hub"],
    ['/tmp/we"ird $dir/python', "-m", "app.launcher"],
    ["/srv/back\\slash/research-hub"],
])
def test_exec_lines_with_awkward_paths_validate(tmp_path: Path, command: list[str]) -> None:
    validate = tool("desktop-file-validate")
    template = (desktop_entry.PACKAGING / DESKTOP_FILE).read_text()
    entry = tmp_path / DESKTOP_FILE
    entry.write_text(desktop_entry_text(template, command))
    checked = subprocess.run([validate, str(entry)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert exec_argv(entry) == command
