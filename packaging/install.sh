#!/bin/sh
# Research Hub bundle: put this folder's research-hub on your PATH and in the desktop's
# application menu; `./install.sh --uninstall` takes out exactly that again.
#
#   ./install.sh               ~/.local/bin/research-hub (a link to this folder's executable),
#                              the .desktop file, icons and AppStream metainfo
#   ./install.sh --uninstall   remove them (the folder itself stays: delete it yourself)
#
# The folder must stay where it is: the link and the menu entry point into it.
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
exe="$here/research-hub"
bin="${HOME}/.local/bin"
link="$bin/research-hub"

case "${1:-}" in
    "")
        "$exe" --install-desktop-entry
        mkdir -p "$bin"
        if [ -e "$link" ] && [ ! -L "$link" ]; then
            echo "install.sh: $link exists and is not a link; left alone" >&2
        else
            ln -sfn "$exe" "$link"
            echo "install.sh: linked $link -> $exe"
            case ":${PATH}:" in
                *":$bin:"*) ;;
                *) echo "install.sh: add $bin to your PATH to type plain 'research-hub'" ;;
            esac
        fi
        ;;
    --uninstall)
        "$exe" --uninstall-desktop-entry
        # Only our link: another installation's research-hub is not ours to remove.
        if [ -L "$link" ] && [ "$(readlink "$link")" = "$exe" ]; then
            rm -f "$link"
            echo "install.sh: removed $link"
        fi
        ;;
    *)
        echo "usage: $0 [--uninstall]" >&2
        exit 2
        ;;
esac
