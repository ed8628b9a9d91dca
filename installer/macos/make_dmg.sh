#!/usr/bin/env bash
# Wrap dist/bmsflasher.app in a compressed disk image with an /Applications shortcut.
#
#   installer/macos/make_dmg.sh dist/bmsflasher.app dist/bmsflasher-0.1.0-macos-arm64.dmg
#
# Uses create-dmg (brew install create-dmg) for the drag-to-Applications window when it is
# installed, plain hdiutil otherwise. Signing and notarisation are optional and need an Apple
# Developer ID: set BMSFLASHER_CODESIGN_IDENTITY (also read by the PyInstaller spec) and, for
# notarisation, BMSFLASHER_NOTARY_PROFILE (a `xcrun notarytool store-credentials` profile name).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 APP_BUNDLE OUTPUT.dmg" >&2
    exit 2
fi
APP="$1"
DMG="$2"
VOLNAME="bmsflasher"

[[ -d "$APP/Contents/MacOS" ]] || { echo "error: $APP is not an app bundle; build it first" >&2; exit 1; }
command -v hdiutil >/dev/null || { echo "error: hdiutil is missing: run this on macOS" >&2; exit 1; }

if [[ -n "${BMSFLASHER_CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --deep --options runtime --timestamp \
        --sign "$BMSFLASHER_CODESIGN_IDENTITY" "$APP"
    codesign --verify --strict --verbose=2 "$APP"
fi

rm -f "$DMG"
if command -v create-dmg >/dev/null; then
    create-dmg \
        --volname "$VOLNAME" \
        --window-size 540 360 \
        --icon-size 96 \
        --icon "$(basename "$APP")" 140 170 \
        --app-drop-link 400 170 \
        --hide-extension "$(basename "$APP")" \
        --no-internet-enable \
        "$DMG" "$APP"
else
    STAGING=$(mktemp -d)
    trap 'rm -rf "$STAGING"' EXIT
    cp -R "$APP" "$STAGING/"
    ln -s /Applications "$STAGING/Applications"
    mkdir -p "$STAGING/Drivers"
    cp "$APP/Contents/Resources/drivers/macos/README.md" "$STAGING/Drivers/USB adapters on macOS.md" 2>/dev/null \
        || cp "$APP/Contents/Frameworks/drivers/macos/README.md" "$STAGING/Drivers/USB adapters on macOS.md" 2>/dev/null \
        || true
    hdiutil create -volname "$VOLNAME" -srcfolder "$STAGING" -fs HFS+ -format UDZO -ov "$DMG"
fi

if [[ -n "${BMSFLASHER_CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --sign "$BMSFLASHER_CODESIGN_IDENTITY" --timestamp "$DMG"
    if [[ -n "${BMSFLASHER_NOTARY_PROFILE:-}" ]]; then
        xcrun notarytool submit "$DMG" --keychain-profile "$BMSFLASHER_NOTARY_PROFILE" --wait
        xcrun stapler staple "$DMG"
    fi
fi
hdiutil verify "$DMG"
echo "Disk image: $DMG"
