#!/usr/bin/env bash
# Builds the Debian package of Ops Console from this source tree, in one command:
#
#     packaging/build-deb.sh            -> dist/opsconsole_<version>_<arch>.deb
#
#   1. the Debian packages the build needs (scripts/system-deps.sh package);
#   2. its own virtualenv, .venv-package, with the project and its `package` extra (PyInstaller);
#   3. the one-folder bundle from packaging/opsconsole.spec, system libraries left to Depends;
#   4. the package tree: the bundle in /opt/opsconsole, /usr/bin/opsconsole and opsconsole-gui, the
#      desktop entry, hicolor icons (SVG and PNGs rendered here with Qt), AppStream metainfo, the
#      example managed profiles in /etc/xdg/opsconsole (a conffile), the docs;
#   5. validation (desktop-file-validate, appstreamcli validate --no-net), Depends from ldd and dpkg -S,
#      and dpkg-deb.
# Environment: OPSCONSOLE_DIST (output folder, default dist), OPSCONSOLE_DEB_COMPRESSION (xz, the
# default: the smallest download, about 3 minutes; zstd: seconds, 30 % larger, dpkg 1.21.18 or later),
# OPSCONSOLE_REUSE_BUNDLE=1 (skip step 3 when the bundle exists: for working on the package layout).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist=${OPSCONSOLE_DIST:-$root/dist}
work=$root/build/deb
venv=$root/.venv-package
started=$(date +%s)
say() { echo "build-deb: $*" >&2; }

say "system packages"
scripts/system-deps.sh package

say "virtualenv $venv"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e ".[package]"

app_id=$("$venv/bin/python" -c 'import sys; sys.path.insert(0, "desktop"); import opsconsole; print(opsconsole.APP_ID)')
version=$("$venv/bin/python" -c 'import sys; sys.path.insert(0, "desktop"); import opsconsole; print(opsconsole.__version__)')
arch=$(dpkg --print-architecture)
bundle=$work/bundle/opsconsole

if [ "${OPSCONSOLE_REUSE_BUNDLE:-}" = 1 ] && [ -x "$bundle/opsconsole" ]; then
    say "reusing the bundle in $bundle"
else
    say "bundle (PyInstaller)"
    OPSCONSOLE_SYSTEM_LIBS=debian "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
        --distpath "$work/bundle" --workpath "$work/pyinstaller" packaging/opsconsole.spec
fi
"$bundle/opsconsole" --version >/dev/null

say "package tree"
tree=$work/root
rm -rf "$tree"
install -d "$tree/DEBIAN" "$tree/opt" "$tree/usr/bin" "$tree/usr/share/applications" \
    "$tree/usr/share/metainfo" "$tree/usr/share/icons/hicolor/scalable/apps" \
    "$tree/usr/share/doc/opsconsole" "$tree/etc/xdg/opsconsole"
cp -a "$bundle" "$tree/opt/opsconsole"
# Both names of the wheel's console scripts; the executable picks its entry point by the name it was
# started by (packaging/opsconsole_main.py).
ln -s /opt/opsconsole/opsconsole "$tree/usr/bin/opsconsole"
ln -s /opt/opsconsole/opsconsole "$tree/usr/bin/opsconsole-gui"
resources=desktop/opsconsole/resources
install -m 644 "$resources/$app_id.desktop" "$tree/usr/share/applications/$app_id.desktop"
install -m 644 "$resources/$app_id.metainfo.xml" "$tree/usr/share/metainfo/$app_id.metainfo.xml"
install -m 644 "$resources/icons/$app_id.svg" "$tree/usr/share/icons/hicolor/scalable/apps/$app_id.svg"
QT_QPA_PLATFORM=offscreen "$venv/bin/python" packaging/render_icons.py "$resources/icons/$app_id.svg" \
    "$tree/usr/share/icons/hicolor"
install -m 644 packaging/debian/profiles.toml "$tree/etc/xdg/opsconsole/profiles.toml"
install -m 644 packaging/debian/copyright "$tree/usr/share/doc/opsconsole/copyright"
install -m 644 docs/admin.md docs/configuration.md "$tree/usr/share/doc/opsconsole/"
find "$tree" -type d -exec chmod 755 {} +

say "validating the desktop entry and the AppStream metainfo"
desktop-file-validate "$tree/usr/share/applications/$app_id.desktop"
appstreamcli validate --no-net --explain "$tree/usr/share/metainfo/$app_id.metainfo.xml"

say "Depends (ldd on every ELF file of the bundle, dpkg -S)"
mapfile -t libs < <("$venv/bin/python" packaging/deb_depends.py "$tree/opt/opsconsole")
# Not seen by ldd: a font for Qt to draw with (fontconfig finds it), and a D-Bus session bus, which the
# keyring's Secret Service backend talks to (through the bundled secretstorage and jeepney, pure Python:
# no client library from the system) and Qt's desktop portal theme uses.
depends=$(printf '%s\n' "${libs[@]}" fonts-dejavu-core "default-dbus-session-bus | dbus-session-bus" \
    | sort -u | paste -sd, - | sed 's/,/, /g')
# The xcb plugin's libraries the console names when one is missing (display.py) must all be there.
"$venv/bin/python" - "${libs[@]}" <<'PY'
import sys
sys.path.insert(0, "desktop")
from opsconsole.display import XCB_LIBRARIES
missing = sorted(set(XCB_LIBRARIES.values()) - set(sys.argv[1:]))
if missing:
    sys.exit(f"build-deb: Depends lacks packages display.py names for Qt's xcb plugin: {' '.join(missing)}")
PY
installed_size=$(du -sk --apparent-size "$tree" | cut -f1)
cat > "$tree/DEBIAN/control" <<EOF
Package: opsconsole
Version: $version
Architecture: $arch
Maintainer: Ops Console engineers <opsconsole@example.invalid>
Installed-Size: $installed_size
Depends: $depends
Recommends: gnome-keyring | kwalletmanager | keepassxc, xdg-utils
Section: admin
Priority: optional
Homepage: https://example.invalid/opsconsole
Description: desktop console for operating a web system
 Ops Console signs in to the system's identity provider and shows users and
 roles, live notifications, Prometheus metrics and traces in one window, with
 a command line (opsconsole) for the same tasks.
 .
 This package carries its own Python and Qt in /opt/opsconsole. Profiles an
 administrator manages for every user go in /etc/xdg/opsconsole/profiles.toml.
 It never checks for updates and sends no telemetry.
EOF
printf '/etc/xdg/opsconsole/profiles.toml\n' > "$tree/DEBIAN/conffiles"

mkdir -p "$dist"
deb=$dist/opsconsole_${version}_${arch}.deb
dpkg-deb --root-owner-group -Z"${OPSCONSOLE_DEB_COMPRESSION:-xz}" --build "$tree" "$deb" >/dev/null
say "$deb: $(du -h --apparent-size "$deb" | cut -f1), bundle $(du -sh --apparent-size "$bundle" | cut -f1)," \
    "in $(( $(date +%s) - started )) s"
echo "$deb"
