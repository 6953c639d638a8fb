#!/usr/bin/env bash
# The installation check, end to end, on this machine (as root, or through sudo):
#
#     packaging/check-deb.sh
#
#   1. builds the bundle and the .deb (packaging/build-deb.sh), and checks the bundle is under 150 MB;
#   2. installs it with apt-get, so that its Depends are resolved from Debian;
#   3. runs the installed files with nothing of the source tree or its virtualenvs on PATH
#      (env -i PATH=/usr/bin:/bin): `opsconsole --version`, `opsconsole self-test` offscreen, under Xvfb
#      (the xcb platform too), with a real Secret Service (the keyring backend), and with an X display
#      that cannot be reached (the check fails, the self-test does not crash); `profiles list` on the
#      example managed file uncommented;
#   4. starts the app from its desktop entry under Xvfb and photographs the screen
#      (dist/opsconsole-desktop-entry.png);
#   5. `dpkg -r` (only the conffile, as the admin edited it, stays), `dpkg --purge` (nothing of the
#      package stays: every path `dpkg -L` listed is gone unless it was there before the install).
# Takes 5 to 8 minutes on a 2-core machine, most of it PyInstaller. The .deb is compressed with zstd
# here (seconds; xz takes minutes for the same contents): OPSCONSOLE_DEB_COMPRESSION overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)
say() { echo "check-deb: $*" >&2; }
fail() { echo "check-deb: FAILED: $*" >&2; exit 1; }
# The self-test's report ends "N passed, N failed" like a test runner's; it is kept in a file and shown
# only when the step fails, so that CI's log ends with the test suite's own count.
quiet() {
    local out=$1; shift
    local status=0
    "$@" > "$out" 2>&1 || status=$?
    [ "$status" -eq 0 ] || { cat "$out" >&2; fail "$* exited with $status"; }
}
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export OPSCONSOLE_DEB_COMPRESSION=${OPSCONSOLE_DEB_COMPRESSION:-zstd}
deb=$(packaging/build-deb.sh | tail -n 1)
built=$(date +%s)
[ -f "$deb" ] || fail "build-deb.sh made no package"
# The issue's limit for the bundle (decimal megabytes, as packaging/README.md counts): a library added
# or updated that crosses it fails here, not in someone's download.
bundle_bytes=$(du -sb --apparent-size build/deb/bundle/opsconsole | cut -f1)
[ "$bundle_bytes" -le 150000000 ] \
    || fail "the bundle is $bundle_bytes bytes, over 150 MB (packaging/README.md, Size, says where it goes)"

if dpkg-query -W -f='${Status}' opsconsole 2>/dev/null | grep -q "installed\|config-files"; then
    say "purging an earlier installation first"
    "${sudo[@]}" dpkg --purge opsconsole >/dev/null
fi
paths=$tmp/paths
dpkg-deb -c "$deb" | awk '{print $6}' | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^$' | sort -u > "$paths"
while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done < "$paths" > "$tmp/before" || true

say "installing $deb"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >/dev/null
dpkg -L opsconsole | grep -vx "/\." | sort > "$tmp/listed"

# The installed files only: no virtualenv, no source tree, nothing of this shell's environment.
home=$tmp/home
mkdir -p "$home"
clean=(env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8)
cd "$tmp"
[ "$(command -v opsconsole)" = /usr/bin/opsconsole ] || fail "opsconsole is not /usr/bin/opsconsole"
[ "$(readlink -f /usr/bin/opsconsole)" = /opt/opsconsole/opsconsole ] || fail "/usr/bin/opsconsole is not the bundle"
version=$("${clean[@]}" opsconsole --version)
say "$version"

say "self-test, offscreen"
quiet "$tmp/selftest.txt" "${clean[@]}" opsconsole self-test
grep -q "^OK    resources .* in /opt/opsconsole/_internal/opsconsole/resources" "$tmp/selftest.txt" \
    || { cat "$tmp/selftest.txt" >&2; fail "the resources were not read from /opt/opsconsole"; }

say "self-test under Xvfb: the xcb platform too"
quiet "$tmp/selftest-x.txt" "${clean[@]}" xvfb-run -a -s "-screen 0 1280x800x24" opsconsole self-test
grep -q "^OK    qt xcb " "$tmp/selftest-x.txt" \
    || { cat "$tmp/selftest-x.txt" >&2; fail "no passing qt xcb check under Xvfb"; }

say "self-test with an X display nobody serves: a failed check, not a crash"
set +e
"${clean[@]}" DISPLAY=:4077 opsconsole self-test > "$tmp/selftest-nox.txt" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "^FAIL  qt xcb " "$tmp/selftest-nox.txt" \
    || { cat "$tmp/selftest-nox.txt" >&2; fail "expected exit 1 and FAIL qt xcb, got $status"; }

if command -v gnome-keyring-daemon >/dev/null && command -v dbus-run-session >/dev/null; then
    say "self-test with a real Secret Service (GNOME Keyring on a private session bus)"
    quiet "$tmp/selftest-keyring.txt" "${clean[@]}" dbus-run-session -- sh -c \
        'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && opsconsole self-test'
    grep -q "^OK    keyring .*SecretService" "$tmp/selftest-keyring.txt" \
        || { cat "$tmp/selftest-keyring.txt" >&2; fail "the bundle did not find keyring's Secret Service backend"; }
else
    say "gnome-keyring-daemon or dbus-run-session missing: the keyring backend is only reported"
fi

say "the example managed profiles, uncommented, through the installed console"
mkdir -p "$tmp/etc-xdg/opsconsole"
sed -n '/^# Example for a fleet/,$p' /etc/xdg/opsconsole/profiles.toml | tail -n +2 | sed -E 's/^# ?//' \
    > "$tmp/etc-xdg/opsconsole/profiles.toml"
quiet "$tmp/profiles.txt" "${clean[@]}" XDG_CONFIG_DIRS="$tmp/etc-xdg" opsconsole profiles list
grep -q "^\* prod .*production" "$tmp/profiles.txt" && grep -q "staging" "$tmp/profiles.txt" \
    || { cat "$tmp/profiles.txt" >&2; fail "the example's profiles were not read"; }

say "the app from its desktop entry, under Xvfb"
app_id=$(basename "$(ls /usr/share/applications/*.OpsConsole.desktop)" .desktop)
desktop-file-validate "/usr/share/applications/$app_id.desktop"
shot=$root/dist/opsconsole-desktop-entry.png
"${clean[@]}" XDG_CONFIG_DIRS="$tmp/etc-xdg" dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" \
    "$root/.venv-package/bin/python" "$root/packaging/desktop_screenshot.py" \
    "/usr/share/applications/$app_id.desktop" "$shot" --expect-production
say "screenshot: $shot"

say "an admin's edit of the conffile, then dpkg -r"
echo "# edited by the admin" | "${sudo[@]}" tee -a /etc/xdg/opsconsole/profiles.toml >/dev/null
"${sudo[@]}" dpkg -r opsconsole >/dev/null
[ ! -e /opt/opsconsole ] || fail "/opt/opsconsole is left after dpkg -r"
left=$(while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done < "$tmp/listed" | sort \
    | comm -23 - "$tmp/before" || true)
expected=$(printf '/etc/xdg/opsconsole\n/etc/xdg/opsconsole/profiles.toml\n')
[ "$left" = "$expected" ] || fail "after dpkg -r, expected only the conffile, found: $left"
grep -q "edited by the admin" /etc/xdg/opsconsole/profiles.toml || fail "dpkg -r lost the admin's edit"

say "dpkg --purge"
"${sudo[@]}" dpkg --purge opsconsole >/dev/null
left=$(while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done < "$tmp/listed" | sort \
    | comm -23 - "$tmp/before" || true)
[ -z "$left" ] || fail "after dpkg --purge, left behind: $left"
! dpkg-query -W opsconsole >/dev/null 2>&1 || fail "dpkg still knows opsconsole after the purge"

cd "$root"
say "passed: $version; .deb $(du -h --apparent-size "$deb" | cut -f1)," \
    "bundle $(du -sh --apparent-size build/deb/bundle/opsconsole | cut -f1);" \
    "build $(( built - started )) s, whole check $(( $(date +%s) - started )) s"
