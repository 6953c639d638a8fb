#!/usr/bin/env bash
# Installs the Debian packages the console needs for a purpose, when any is missing:
#   scripts/system-deps.sh run    a real window (Qt's xcb platform plugin) and the OS keyring
#   scripts/system-deps.sh test   also the real peers the tests start: PostgreSQL, a Secret Service, Xvfb,
#                                 Prometheus
#   scripts/system-deps.sh package  also what packaging/build-deb.sh and check-deb.sh use: objdump for
#                                 PyInstaller, the desktop entry and AppStream validators, Xvfb and
#                                 xwininfo, a Secret Service, icupkg (packaging/icu_data.py)
# Runs apt-get as root, through sudo otherwise; on a system without apt it lists what to install.
set -euo pipefail
purpose=${1:-run}

# Qt 6's xcb plugin: `ldd .../PySide6/Qt/plugins/platforms/libqxcb.so` lists these (some are missing on a
# fresh machine, and Qt then aborts with "could not load the Qt platform plugin xcb").
run_pkgs=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0
          libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1
          libdbus-1-3 fonts-dejavu-core python3-venv)
test_pkgs=(postgresql gnome-keyring dbus dbus-x11 libsecret-tools xvfb xauth prometheus)
package_pkgs=(binutils desktop-file-utils appstream xvfb xauth x11-utils dbus gnome-keyring icu-devtools)

pkgs=("${run_pkgs[@]}")
[ "$purpose" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$purpose" = package ] && pkgs+=("${package_pkgs[@]}")

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system-deps: not a Debian-like system; make sure these (or your system's equivalents) are installed:" >&2
    echo "  ${pkgs[*]}" >&2
    exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "system-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "system-deps: please install as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
# Debian's prometheus package enables and starts a system service on :9090. The tests start their own
# server on a free loopback port (tests/support/prometheus.py), so it is installed on its own with the
# packaged service kept from starting: a temporary policy-rc.d (exit 101, "action forbidden") where
# none exists yet, and the unit disabled afterwards where systemd runs.
others=()
for p in "${missing[@]}"; do [ "$p" = prometheus ] || others+=("$p"); done
if [ ${#others[@]} -gt 0 ]; then
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${others[@]}"
fi
if [ ${#others[@]} -lt ${#missing[@]} ]; then
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        trap '"${sudo[@]}" rm -f "$policy"' EXIT
    fi
    "${sudo[@]}" apt-get install -y -q --no-install-recommends prometheus
    if [ -d /run/systemd/system ]; then
        "${sudo[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    fi
fi
