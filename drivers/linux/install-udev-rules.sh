#!/bin/sh
# Install bmsflasher's udev rules and give a user access to USB-serial / RS485 and USB-CAN adapters.
#
#   sudo ./install-udev-rules.sh                 install for the user who ran sudo
#   sudo ./install-udev-rules.sh --user NAME     install for another user
#   sudo ./install-udev-rules.sh --uninstall     remove the rules (groups are left alone)
#   ./install-udev-rules.sh --check              report what is installed, change nothing
#
# Environment (for packagers and tests): UDEV_RULES_DIR (default /etc/udev/rules.d).
# Exit codes: 0 done, 1 failed, 2 bad arguments, 3 needs root.
set -eu

RULES_NAME="60-bmsflasher.rules"
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
SOURCE="$HERE/$RULES_NAME"
RULES_DIR="${UDEV_RULES_DIR:-/etc/udev/rules.d}"
TARGET_USER="${SUDO_USER:-}"
MODE="install"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --user) [ $# -ge 2 ] || { echo "error: --user needs a user name" >&2; exit 2; }
                TARGET_USER="$2"; shift 2 ;;
        --uninstall) MODE="uninstall"; shift ;;
        --check) MODE="check"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done

serial_group() {
    # The group that owns serial ports on this distribution.
    for group in dialout uucp; do
        if getent group "$group" >/dev/null 2>&1; then echo "$group"; return 0; fi
    done
    return 1
}

reload_udev() {
    if command -v udevadm >/dev/null 2>&1 && [ -z "${UDEV_RULES_DIR:-}" ]; then
        udevadm control --reload-rules || true
        udevadm trigger --subsystem-match=tty --subsystem-match=usb --action=change || true
    fi
}

if [ "$MODE" = "check" ]; then
    if [ -f "$RULES_DIR/$RULES_NAME" ]; then
        if cmp -s "$SOURCE" "$RULES_DIR/$RULES_NAME"; then
            echo "udev rules: installed and current ($RULES_DIR/$RULES_NAME)"
        else
            echo "udev rules: installed but different from this version ($RULES_DIR/$RULES_NAME)"
        fi
    else
        echo "udev rules: not installed (expected $RULES_DIR/$RULES_NAME)"
    fi
    who="${TARGET_USER:-$(id -un)}"
    for group in $(serial_group || true) bmsflasher; do
        if id -nG "$who" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
            echo "group $group: $who is a member"
        else
            echo "group $group: $who is not a member"
        fi
    done
    exit 0
fi

if [ -z "${UDEV_RULES_DIR:-}" ] && [ "$(id -u)" -ne 0 ]; then
    echo "error: installing udev rules needs root; run: sudo $0 $*" >&2
    exit 3
fi

if [ "$MODE" = "uninstall" ]; then
    rm -f "$RULES_DIR/$RULES_NAME"
    reload_udev
    echo "Removed $RULES_DIR/$RULES_NAME."
    exit 0
fi

[ -f "$SOURCE" ] || { echo "error: $SOURCE is missing; unpack the whole bmsflasher archive" >&2; exit 1; }
mkdir -p "$RULES_DIR"
install -m 0644 "$SOURCE" "$RULES_DIR/$RULES_NAME"
echo "Installed $RULES_DIR/$RULES_NAME."

if [ -z "${UDEV_RULES_DIR:-}" ]; then
    getent group bmsflasher >/dev/null 2>&1 || groupadd --system bmsflasher
    if [ -n "$TARGET_USER" ] && [ "$TARGET_USER" != "root" ]; then
        groups_to_add="bmsflasher"
        if group=$(serial_group); then groups_to_add="$group,bmsflasher"; fi
        usermod -a -G "$groups_to_add" "$TARGET_USER"
        echo "Added $TARGET_USER to: $groups_to_add (takes effect at the next login;" \
             "the desktop user has access right away through uaccess)."
    else
        echo "No user given: run again with --user NAME to add a user to the adapter groups."
    fi
fi
reload_udev
echo "Unplug and replug the adapter so the new permissions apply."
