#!/bin/sh
# Install bmsflasher from this unpacked archive (or remove it).
#
#   ./install.sh                  for the current user: ~/.local/opt/bmsflasher, commands in ~/.local/bin
#   sudo ./install.sh             for everyone: /opt/bmsflasher, commands in /usr/local/bin, plus the
#                                 udev rules that let users open USB-serial and USB-CAN adapters
#   ./install.sh --user           per-user install even when run as root (containers, root-only machines)
#   ./install.sh --prefix DIR     put the program folder at DIR instead
#   ./install.sh --no-udev        system-wide install without the udev rules
#   ./install.sh --uninstall      remove an installation made by this script (same --prefix)
#
# Exit codes: 0 done, 1 failed, 2 bad arguments.
set -eu

APP=bmsflasher
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
MARKER=".bmsflasher-install"
MODE=install
UDEV=yes
PREFIX=""
FORCE_USER=no

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "error: --prefix needs a folder" >&2; exit 2; }
                  PREFIX="$2"; shift 2 ;;
        --no-udev) UDEV=no; shift ;;
        --user) FORCE_USER=yes; shift ;;
        --uninstall) MODE=uninstall; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -eq 0 ] && [ "$FORCE_USER" = no ]; then
    SCOPE=system
    APPDIR="${PREFIX:-/opt/$APP}"
    BINDIR=/usr/local/bin
    SHAREDIR=/usr/local/share
else
    SCOPE=user
    [ -n "${HOME:-}" ] || { echo "error: HOME is not set" >&2; exit 1; }
    APPDIR="${PREFIX:-$HOME/.local/opt/$APP}"
    BINDIR="$HOME/.local/bin"
    SHAREDIR="${XDG_DATA_HOME:-$HOME/.local/share}"
fi

DESKTOP="$SHAREDIR/applications/$APP.desktop"
MIME="$SHAREDIR/mime/packages/$APP.xml"
ICON_PNG="$SHAREDIR/icons/hicolor/256x256/apps/$APP.png"
ICON_SVG="$SHAREDIR/icons/hicolor/scalable/apps/$APP.svg"

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$SHAREDIR/applications" 2>/dev/null || true
    fi
    if command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$SHAREDIR/mime" >/dev/null 2>&1 || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f "$SHAREDIR/icons/hicolor" 2>/dev/null || true
    fi
}

remove_links() {
    for name in "$APP" "$APP-gui"; do
        link="$BINDIR/$name"
        # Only our own links: never a file or a link to another program.
        if [ -L "$link" ] && [ "$(readlink "$link")" = "$APPDIR/$name" ]; then rm -f "$link"; fi
    done
}

if [ "$MODE" = uninstall ]; then
    if [ -d "$APPDIR" ] && [ ! -f "$APPDIR/$MARKER" ]; then
        echo "error: $APPDIR was not installed by this script; not touching it" >&2
        exit 1
    fi
    remove_links
    rm -f "$DESKTOP" "$MIME" "$ICON_PNG" "$ICON_SVG"
    rm -rf "$APPDIR"
    refresh_caches
    echo "Removed bmsflasher from $APPDIR."
    if [ "$SCOPE" = system ] && [ -f /etc/udev/rules.d/60-bmsflasher.rules ]; then
        rm -f /etc/udev/rules.d/60-bmsflasher.rules
        command -v udevadm >/dev/null 2>&1 && udevadm control --reload-rules || true
        echo "Removed the udev rules."
    fi
    echo "Your service history and settings are kept (see the user's data folder)."
    exit 0
fi

[ -x "$HERE/$APP/$APP" ] || { echo "error: $HERE/$APP/$APP is missing; unpack the whole archive first" >&2; exit 1; }
if [ -e "$APPDIR" ] && [ ! -f "$APPDIR/$MARKER" ]; then
    echo "error: $APPDIR exists and was not made by this script; choose another --prefix" >&2
    exit 1
fi

echo "Installing bmsflasher for the $SCOPE into $APPDIR"
rm -rf "$APPDIR"
mkdir -p "$(dirname "$APPDIR")" "$BINDIR" "$SHAREDIR/applications" "$SHAREDIR/mime/packages" \
         "$(dirname "$ICON_PNG")" "$(dirname "$ICON_SVG")"
cp -R "$HERE/$APP" "$APPDIR"
cp "$HERE/install.sh" "$APPDIR/install.sh"
chmod 0755 "$APPDIR/install.sh"
mkdir -p "$APPDIR/drivers"
cp -R "$HERE/drivers/linux" "$APPDIR/drivers/linux"
: > "$APPDIR/$MARKER"

remove_links
for name in "$APP" "$APP-gui"; do
    if [ -e "$BINDIR/$name" ] || [ -L "$BINDIR/$name" ]; then
        echo "warning: $BINDIR/$name already exists and belongs to something else; not replacing it" >&2
    else
        ln -s "$APPDIR/$name" "$BINDIR/$name"
    fi
done

# The menu entry points at the program itself, so it works even when BINDIR is not on PATH.
sed -e "s|^Exec=.*|Exec=\"$APPDIR/$APP-gui\" %f|" -e "s|^TryExec=.*|TryExec=$APPDIR/$APP-gui|" \
    "$HERE/share/applications/$APP.desktop" > "$DESKTOP"
chmod 0644 "$DESKTOP"
cp "$HERE/share/mime/packages/$APP.xml" "$MIME"
cp "$HERE/share/icons/hicolor/256x256/apps/$APP.png" "$ICON_PNG"
cp "$HERE/share/icons/hicolor/scalable/apps/$APP.svg" "$ICON_SVG"
refresh_caches

RULES_SCRIPT="$APPDIR/drivers/linux/install-udev-rules.sh"
if [ "$SCOPE" = system ] && [ "$UDEV" = yes ]; then
    sh "$RULES_SCRIPT"
elif [ "$SCOPE" = user ]; then
    echo "To let bmsflasher open USB-serial, RS485 and USB-CAN adapters, run once:"
    echo "    sudo sh '$RULES_SCRIPT' --user $(id -un)"
fi

case ":${PATH:-}:" in
    *":$BINDIR:"*) ;;
    *) echo "Note: $BINDIR is not on your PATH; add it, or start $APPDIR/$APP directly." ;;
esac
echo "Done. Start 'bmsflasher-gui' from the application menu or a terminal; 'bmsflasher --help' for the CLI."
