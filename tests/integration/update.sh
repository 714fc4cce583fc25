#!/usr/bin/env bash
# Software updates on the real broker (issue 18; docs/AGENT.md "Updates", docs/PROTOCOL.md
# "FETCH", "PART", section 14): the agent fetches a stored artifact chunk by chunk, checks it
# under the release key it pins, installs it through its install hook (here dpkg on a private
# root: nothing touches this machine's packages), health-checks it (the application reports
# in on the app socket) and reports done; a version whose application never reports in is
# rolled back to the previous package and reported failed; an agent killed with SIGKILL
# mid-download resumes where its files say and installs once; one killed while the install
# hook runs never runs it again and finishes the health check in the new process; the
# agent's own package is health-checked by the program it installed; the root-run installer
# of a real terminal checks every package again before dpkg sees it.
source "$(dirname "$0")/lib.sh"

it_init 0
D=KF-UPD-0001
it_provision_device $D A-000001 Z-WG-001 "$IT_DIR/dev"
INI=$IT_DIR/dev/$D.ini
SOCK=$IT_DIR/dev/$D.sock
K=$KF_BIN_KIOSKCTL
REL=$IT_DIR/release
ROOT=$IT_DIR/root # the private dpkg root the hook installs into
mkdir -p "$REL" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates"
touch "$ROOT/var/lib/dpkg/status"
"$K" artifact keygen --out "$REL/release.key" >/dev/null || fail "keygen"

# Packages: kf-testapp VERSION with KB kilobytes of random bytes (not compressible: one chunk
# per 32 KB); a version with opt/kf-testapp/broken is one whose application never reports in.
package() { # VERSION KB [broken]
    local d=$IT_DIR/pkg-$1
    mkdir -p "$d/DEBIAN" "$d/opt/kf-testapp"
    printf 'Package: kf-testapp\nVersion: %s\nArchitecture: all\nMaintainer: it <it@example.invalid>\nDescription: update test\n' \
        "$1" >"$d/DEBIAN/control"
    head -c "$(($2 * 1024))" /dev/urandom >"$d/opt/kf-testapp/blob"
    if [ "${3:-}" = broken ]; then touch "$d/opt/kf-testapp/broken"; fi
    dpkg-deb -Znone --root-owner-group --build "$d" "$IT_DIR/app-$1.deb" >/dev/null
    "$K" artifact sign --release-key "$REL/release.key" --name kf-testapp --version "$1" \
        --kinds kiosk "$IT_DIR/app-$1.deb" -o "$REL/app-$1.manifest" 2>/dev/null || fail "sign $1"
    ctl artifact add "$IT_DIR/app-$1.deb" "$REL/app-$1.manifest" \
        --release-pub "$REL/release.key.pub" --by ops:it --reason "update test" \
        --server-key "$IT_DIR/server.key" >/dev/null || fail "add $1"
}
package 1 100
package 2 4096
package 3 100 broken
package 4 100
# The agent's own package ([update] agent_package): its health check is the new program's.
d=$IT_DIR/pkg-agent
mkdir -p "$d/DEBIAN" "$d/opt/kf-testagent"
printf 'Package: kf-testagent\nVersion: 1.0\nArchitecture: all\nMaintainer: it <it@example.invalid>\nDescription: update test\n' >"$d/DEBIAN/control"
echo agent >"$d/opt/kf-testagent/version"
dpkg-deb -Znone --root-owner-group --build "$d" "$IT_DIR/agent-1.0.deb" >/dev/null
"$K" artifact sign --release-key "$REL/release.key" --name kf-testagent --version 1.0 \
    --kinds kiosk "$IT_DIR/agent-1.0.deb" -o "$REL/agent-1.0.manifest" 2>/dev/null || fail "sign agent"
ctl artifact add "$IT_DIR/agent-1.0.deb" "$REL/agent-1.0.manifest" --release-pub "$REL/release.key.pub" \
    --by ops:it --reason "update test" --server-key "$IT_DIR/server.key" >/dev/null || fail "add agent"

# The install hook: dpkg on the private root, then "restart the application" (postinst's
# job on a terminal; a maintainer script would run chrooted here, so the hook does it).
cat >"$IT_DIR/hook.sh" <<'SH'
dir=$1
echo "$2" >>"$dir/hook.runs"
sleep "$(cat "$dir/hook.delay" 2>/dev/null || echo 0)"
dpkg --root="$dir/root" --force-not-root --force-bad-path -i "$2" || exit $?
python3 "$dir/app.py" "$dir" >/dev/null 2>&1 </dev/null &
SH
# The application stand-in: one at a time (a new one stops the one before, as a service
# restart would); unless its installed files say broken it connects to the agent's socket
# and sends its inventory line, again after every reconnect (docs/AGENT.md "Inventory").
cat >"$IT_DIR/app.py" <<'PY'
import json, os, signal, socket, subprocess, sys, time
d = sys.argv[1]
try:
    os.kill(int(open(d + "/app.pid").read()), signal.SIGTERM)
except Exception:
    pass
open(d + "/app.pid", "w").write(str(os.getpid()))
def alive():  # until the test ends (its directory goes) or another one takes over
    try:
        return open(d + "/app.pid").read() == str(os.getpid())
    except OSError:
        return False
if os.path.exists(d + "/root/opt/kf-testapp/broken"):
    while alive():
        time.sleep(0.2)
    sys.exit(0)
ver = subprocess.run(["dpkg-query", "--admindir=" + d + "/root/var/lib/dpkg", "-W",
                      "-f=${Version}", "kf-testapp"], capture_output=True, text=True).stdout
line = json.dumps({"t": "inventory", "app": "kf-testapp", "app_version": ver}).encode() + b"\n"
while alive():
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d + "/dev/KF-UPD-0001.sock")
        s.sendall(line)
        while s.recv(4096):
            pass
    except OSError:
        pass
    time.sleep(0.2)
PY
# The stand-in stops by itself once app.pid is gone (the test's directory removed on exit).
stop_app() { if [ -f "$IT_DIR/app.pid" ]; then kill "$(cat "$IT_DIR/app.pid")" 2>/dev/null || true; fi; }

it_ini_set "$INI" update release_public_key "$(cat "$REL/release.key.pub")"
it_ini_set "$INI" update install_hook "/bin/sh $IT_DIR/hook.sh $IT_DIR"
it_ini_set "$INI" update health_s 5
it_ini_set "$INI" update agent_package kf-testagent
printf '[sla]\ntick_s = 1\n' >>"$IT_DIR/kioskd.ini" # commands go out at kioskd's tick
it_start_broker
it_start_kioskd
it_wait_for 20 'grep -q "ready: subscribed" "$IT_DIR/kioskd.log"' || fail "kioskd not ready"
OUTBOX=$(it_ini_get "$INI" outbox path)
DATA=$(dirname "$OUTBOX")
start_agent() {
    rm -f "$SOCK"
    kf_spawn "$IT_DIR/agent.log" "$KF_BIN_AGENT" -c "$INI"
    AGENT=$KF_LAST_PID
}
seq_of() { it_sql "SELECT seq FROM commands WHERE id = $1"; }
results() { it_sql "SELECT count(*) FROM records WHERE device_id = '$D' AND type = 6"; }
detail() { ctl cmd show "$1" --format csv | tail -1; }
installed() { dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Version}' kf-testapp 2>/dev/null; }
runs() { wc -l <"$IT_DIR/hook.runs" 2>/dev/null || echo 0; }
parts() { sed -n 's/.*"parts_sent":\([0-9]*\).*/\1/p' "$IT_DIR/kioskd.stats.json"; }

start_agent
it_wait_for 20 '[ "$(it_sql "SELECT online FROM devices WHERE device_id = '"'$D'"'")" = 1 ]' ||
    fail "the agent never came online"

# 1. A first install: fetched, checked, installed once, healthy, done; the package is kept.
t0=$(date +%s%N)
it_cmd_send $D update kf-testapp 1 >/dev/null || fail "send update 1"
ID=$(it_cmd_last)
it_cmd_wait "$ID" done 30
t1=$(date +%s%N)
[ "$(installed)" = 1 ] || fail "the dpkg root holds '$(installed)', want 1"
[ "$(runs)" = 1 ] || fail "the hook ran $(runs) times, want 1"
detail "$ID" | grep -q "kf-testapp 1 installed: the application reported in" || fail "C-$ID: $(detail "$ID")"
[ "$(cat "$DATA/installed-kf-testapp")" = 1 ] && [ -f "$DATA/installed-kf-testapp_1.deb" ] ||
    fail "package 1 not kept: $(ls "$DATA")"
ls "$DATA" | grep -q "^update-" && fail "download files left: $(ls "$DATA")"
echo "1. ok: C-$ID update to 1 done in $(((t1 - t0) / 1000000)) ms, installed once"

# 2. SIGKILL mid-download (4 MB: 129 chunks, the .have file moves every 8; killed at 24 or
# more, past the 16-chunk window, so that starting over shows in the PARTs): the new agent
# resumes from what its files say, and installs once.
N=$((($(stat -c %s "$IT_DIR/app-2.deb") + 32767) / 32768))
P0=$(parts)
# The watcher runs before the command is sent (the whole download can take less than a
# python start on a loaded machine): the command's seq is the device's next.
SEQ=$(($(it_sql "SELECT coalesce(max(seq), 0) FROM commands WHERE device_id = '$D'") + 1))
HAVE=$DATA/update-$SEQ.have
rm -f "$IT_DIR/watch.ready"
python3 - "$HAVE" "$AGENT" "$N" "$IT_DIR/watch.ready" >"$IT_DIR/watch.out" <<'PY' &
import os, signal, sys, time
have, pid, n_all = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
open(sys.argv[4], "w").close()
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        n = int(open(have).read() or 0)
    except (OSError, ValueError):
        n = 0
    if 24 <= n <= n_all - 8:
        os.kill(pid, signal.SIGKILL)
        print("killed at", n, "chunks")
        sys.exit(0)
    if n > n_all - 8:
        sys.exit(1)
    time.sleep(0.001)
sys.exit(1)
PY
WATCH=$!
it_wait_for 10 'test -f "$IT_DIR/watch.ready"' || fail "the watcher did not start"
it_cmd_send $D update kf-testapp 2 >/dev/null || fail "send update 2"
ID=$(it_cmd_last)
[ "$(seq_of "$ID")" = "$SEQ" ] || fail "C-$ID has seq $(seq_of "$ID"), not $SEQ"
wait "$WATCH" || fail "the download was not caught between 24 and $((N - 8)) chunks"
wait "$AGENT" 2>/dev/null || true
H=$(cat "$HAVE")
[ "$(runs)" = 1 ] || fail "the hook ran before the download was whole"
start_agent
it_cmd_wait "$ID" done 40
grep -q "resuming at chunk $H of $N" "$IT_DIR/agent.log" || fail "no resume at chunk $H: $(grep "update" "$IT_DIR/agent.log" | tail -5)"
[ "$(installed)" = 2 ] || fail "the dpkg root holds '$(installed)', want 2"
[ "$(runs)" = 2 ] || fail "the hook ran $(runs) times, want 2"
it_wait_for 5 'test "$(parts)" -gt "$P0"' || true
SENT=$(($(parts) - P0))
# The manifest and N chunks, plus at most the window past the synced mark asked again (and
# one in flight): never the whole package twice. Killed at 24 chunks or more, an agent that
# started over would have cost at least 1 + 24 + N: over this bound.
[ "$SENT" -le $((1 + N + 16)) ] || fail "kioskd sent $SENT PARTs for a $N-chunk package: not resumed"
echo "2. ok: C-$ID killed with $H of $N chunks on disk, resumed, installed once ($SENT PARTs sent)"

# 3. A version whose application never reports in: rolled back to 2, reported failed.
it_cmd_send $D update kf-testapp 3 >/dev/null || fail "send update 3"
ID=$(it_cmd_last)
it_cmd_wait "$ID" failed 40
[ "$(installed)" = 2 ] || fail "the dpkg root holds '$(installed)' after the rollback, want 2"
[ "$(runs)" = 4 ] || fail "the hook ran $(runs) times, want 4 (install 3, reinstall 2)"
tail -1 "$IT_DIR/hook.runs" | grep -q "installed-kf-testapp_2.deb$" || fail "not reinstalled from the kept package"
detail "$ID" | grep -q "did not report in.*rolled back to 2" || fail "C-$ID: $(detail "$ID")"
[ "$(cat "$DATA/installed-kf-testapp")" = 2 ] || fail "the kept version moved to $(cat "$DATA/installed-kf-testapp")"
echo "3. ok: C-$ID update to 3 unhealthy, rolled back to 2, failed: $(detail "$ID" | grep -o 'unhealthy[^,"]*')"

# 4. SIGKILL while the install hook runs: the new agent never runs it again; the health
# check, from the step on file, passes once the application reports in.
echo 2 >"$IT_DIR/hook.delay"
it_cmd_send $D update kf-testapp 4 >/dev/null || fail "send update 4"
ID=$(it_cmd_last)
it_wait_for 20 'test "$(runs)" = 5' || fail "the install hook did not start"
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null || true
rm -f "$IT_DIR/hook.delay"
start_agent
it_cmd_wait "$ID" done 30
[ "$(installed)" = 4 ] || fail "the dpkg root holds '$(installed)', want 4"
[ "$(runs)" = 5 ] || fail "the hook ran $(runs) times, want 5: run again after the kill"
grep -q "not run again: the health check decides" "$IT_DIR/agent.log" || fail "not resumed from its step"
[ "$(results)" = 4 ] || fail "$(results) cmd_result records for 4 commands"
ls "$DATA" | grep -q "^update-" && fail "download files left: $(ls "$DATA")"
echo "4. ok: C-$ID agent killed while the hook ran: installed once, done, $(results) results for 4 commands"

# 5. The agent's own package: installed, then the agent starts its program again (same pid,
# as a service manager sees it) and the new program finishes the health check from the step
# on file: done once it reaches the server.
starts() { grep -c "^<[0-9]>kiosk-agent: device $D: connecting" "$IT_DIR/agent.log"; }
S0=$(starts)
it_cmd_send $D update kf-testagent 1.0 >/dev/null || fail "send update kf-testagent"
ID=$(it_cmd_last)
it_cmd_wait "$ID" done 30
grep -q "restarting into kf-testagent 1.0 for its health check" "$IT_DIR/agent.log" || fail "no restart for the agent's package"
[ "$(starts)" = $((S0 + 1)) ] || fail "the agent's program started $(($(starts) - S0)) times, want once"
kill -0 "$AGENT" || fail "the agent's pid is gone"
detail "$ID" | grep -q "kf-testagent 1.0 installed: the agent reached the server" || fail "C-$ID: $(detail "$ID")"
[ "$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Version}' kf-testagent)" = 1.0 ] || fail "kf-testagent not installed"
[ "$(runs)" = 6 ] || fail "the hook ran $(runs) times, want 6"
[ "$(results)" = 5 ] || fail "$(results) cmd_result records for 5 commands"
echo "5. ok: C-$ID the agent's own package: restarted into it, done by the new program"
kf_stop "$AGENT"
stop_app

# 6. The root-run installer (agent/hooks/kiosk-agent-install, docs/AGENT.md "Installing as
# root") does not take the agent's word: only the agent's own package files, each checked
# again against its signed manifest, the release key and the terminal's kind, before dpkg.
[ -f "$DATA/installed-kf-testapp_4.manifest" ] || fail "the kept package's manifest is not kept: $(ls "$DATA")"
[ ! -e "$DATA/installed-kf-testapp_2.manifest" ] || fail "the replaced package's manifest is left"
inst() { # PKG: the installer's exit status
    local rc=0
    KF_AGENT_BIN=$KF_BIN_AGENT KF_AGENT_INI=$INI KF_AGENT_DIR=$DATA \
        KF_DPKG="dpkg --root=$ROOT --force-not-root --force-bad-path" \
        sh "$KF_ROOT/agent/hooks/kiosk-agent-install" "$1" >>"$IT_DIR/installer.log" 2>&1 || rc=$?
    echo $rc
}
"$KF_BIN_AGENT" -c "$INI" --verify-package "$DATA/installed-kf-testapp_4.deb" | grep -q "^verified: kf-testapp 4, " ||
    fail "--verify-package refused the kept package"
# A valid package (1) under the manifest of another (4): refused, dpkg not run.
cp "$IT_DIR/app-1.deb" "$DATA/update-901.deb"
cp "$DATA/installed-kf-testapp_4.manifest" "$DATA/update-901.manifest"
[ "$(inst "$DATA/update-901.deb")" = 1 ] || fail "a package under another's manifest was not refused"
grep -q "size or SHA-256 is not the manifest's" "$IT_DIR/installer.log" || fail "no reason: $(tail -3 "$IT_DIR/installer.log")"
# Signed by another release key: refused.
"$K" artifact keygen --out "$IT_DIR/other.key" >/dev/null
"$K" artifact sign --release-key "$IT_DIR/other.key" --name kf-testapp --version 1 --kinds kiosk \
    "$IT_DIR/app-1.deb" -o "$DATA/update-901.manifest" 2>/dev/null || fail "sign with another key"
[ "$(inst "$DATA/update-901.deb")" = 1 ] || fail "a manifest of another key was not refused"
grep -q "does not verify under the release key" "$IT_DIR/installer.log" || fail "no reason: $(tail -3 "$IT_DIR/installer.log")"
# Signed by the release key but for ITMs only: refused on a kiosk.
"$K" artifact sign --release-key "$REL/release.key" --name kf-testapp --version 1 --kinds itm \
    "$IT_DIR/app-1.deb" -o "$DATA/update-901.manifest" 2>/dev/null || fail "sign for itm"
[ "$(inst "$DATA/update-901.deb")" = 1 ] || fail "an ITM package was not refused on a kiosk"
grep -q "is not for kiosk terminals" "$IT_DIR/installer.log" || fail "no reason: $(tail -3 "$IT_DIR/installer.log")"
# Not one of the agent's files: refused before anything is read.
[ "$(inst "$IT_DIR/app-1.deb")" = 2 ] || fail "a path outside the agent's directory was not refused"
[ "$(inst "$DATA/../app-1.deb")" = 2 ] || fail "a path with .. was not refused"
ln -s "$IT_DIR/app-1.deb" "$DATA/update-902.deb"
[ "$(inst "$DATA/update-902.deb")" = 2 ] || fail "a symbolic link was not refused"
[ "$(installed)" = 4 ] || fail "a refused package reached dpkg: the root holds '$(installed)'"
# The release key's own package, properly signed: installed (a rollback's reinstall of 4).
[ "$(inst "$DATA/installed-kf-testapp_4.deb")" = 0 ] || fail "the kept package was refused: $(tail -3 "$IT_DIR/installer.log")"
[ "$(installed)" = 4 ] || fail "the root holds '$(installed)' after reinstalling 4"
echo "6. ok: the root installer refused a swapped package, another key, another kind, and 3 foreign paths; installed the signed one"
echo "PASS"
