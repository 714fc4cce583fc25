#!/usr/bin/env bash
# The README's operator's path, run as written, so that the document cannot drift from the
# programs, the units and the example configs again.
#
# It takes the ```sh blocks of README.md's section "The operator's path" and runs them, in
# order, in one shell, in a scratch root R that stands for the server's (and the terminal's)
# file system:
#  - every path of the installed layout (docs/OPERATIONS.md, "Where things live") is moved
#    under R, in the README's commands and in the installed units and example configs alike
#    (the table ROOTS below); a README command naming any other system path fails the test,
#    so a new path must be added to the layout first. "broker.example" is "localhost" and
#    port 8883 a free loopback port;
#  - a few commands are stood in for, each doing what the real one does to R: cmake
#    (the install step is DESTDIR=R cmake --install of this build; configure and build are
#    the build under test), systemd-sysusers (--root=R), install/chown/runuser (the user
#    kioskfleet exists in R/etc/passwd, not on this host: its files are this user's), and
#    systemctl (no systemd as PID 1 here: it reads the installed unit, makes its
#    StateDirectory=/RuntimeDirectory= under R with their modes, runs ExecStartPre=, starts
#    ExecStart= with NOTIFY_SOCKET and waits for READY=1 as Type=notify does; a .path unit
#    polls its PathModified= file and runs its service's ExecStart= as the service's
#    User=; mosquitto is Debian's unit: mosquitto -c R/etc/mosquitto/mosquitto.conf).
# Then: the transaction the README feeds to the agent's socket shows in kioskctl, every
# installed unit passes `systemd-analyze verify` with no complaint and scores 2.0 or better
# on `systemd-analyze security --offline=true` (but kiosk-agent-install@, dpkg as root), and every path the example configs tell
# kioskd and the agent to write lies inside what their units make writable.
# Everything it starts is stopped by pid.
source "$(dirname "$0")/lib.sh"

# The build to install: ctest passes it; by hand, the directory above kioskd with a CMakeCache.
BUILD=${KF_BUILD_DIR:-$(dirname "$KF_BIN_KIOSKD")}
while [ ! -f "$BUILD/CMakeCache.txt" ] && [ "$BUILD" != / ]; do BUILD=$(dirname "$BUILD"); done
[ -f "$BUILD/cmake_install.cmake" ] || fail "no build directory for $KF_BIN_KIOSKD"
R=$IT_DIR/root
PORT=$(kf_free_port)
ME=$(id -un)
chmod o+x "$IT_DIR" # the broker drops to the user mosquitto and reads R/etc/kioskfleet

# ---- the layout: the installed paths, moved under R ----
ROOTS='etc/kioskfleet|etc/mosquitto|var/lib/kioskfleet|var/lib/kiosk-agent|var/lib/mosquitto'
ROOTS+='|var/log/mosquitto|run/kioskd|run/kiosk-agent|run/mosquitto|usr/share/kioskfleet'
ROOTS+='|usr/share/doc/kioskfleet|usr/lib/systemd/system|usr/lib/sysusers.d|usr/bin/kiosk'
ROOTS+='|usr/lib/kioskfleet'
op_map() { # files...: rewrite in place
    sed -E -i -e "s#(^|[^A-Za-z0-9_./])/($ROOTS)#\\1$R/\\2#g" -e 's#broker\.example#localhost#g' \
        -e "s#^listener 8883\$#listener $PORT 127.0.0.1#" -e "s#:8883\\b#:$PORT#g" "$@"
}

# ---- what the Debian packages leave on the host: an /etc, and mosquitto's own config ----
mkdir -p "$R/etc/mosquitto/conf.d" "$R/var/lib/mosquitto"
cat >"$R/etc/mosquitto/mosquitto.conf" <<'CONF'
# Debian 12's /etc/mosquitto/mosquitto.conf (package mosquitto 2.0.11-1.2+deb12u1)
pid_file /run/mosquitto/mosquitto.pid

persistence true
persistence_location /var/lib/mosquitto/

log_dest file /var/log/mosquitto/mosquitto.log

include_dir /etc/mosquitto/conf.d
CONF
op_map "$R/etc/mosquitto/mosquitto.conf"
kf_broker_drops_to_mosquitto && chown mosquitto "$R/var/lib/mosquitto"
mkdir -p "$R/var/log/mosquitto"
ln -s "$R/var/log/mosquitto/mosquitto.log" "$IT_DIR/mosquitto.log" # shown on failure

# ---- the README's commands ----
awk '
    /^## The operator.s path/ { on = 1; next }
    on && /^## / { exit }
    on && /^ *```sh *$/ { blk++; inb = 1; print "op_block " blk; next }
    on && inb && /^ *``` *$/ { inb = 0; next }
    on && inb { sub(/^   /, ""); print }
' "$KF_ROOT/README.md" >"$IT_DIR/readme.sh"
blocks=$(grep -c '^op_block ' "$IT_DIR/readme.sh" || true)
[ "$blocks" -ge 6 ] || fail "README.md: $blocks sh blocks in \"The operator's path\", want one per step"
op_map "$IT_DIR/readme.sh"
if grep -v '^op_block ' "$IT_DIR/readme.sh" | sed "s#$R/##g" | grep -nE "(^|[^A-Za-z0-9_./])/(etc|var|run|srv|opt|home|root|tmp|usr/lib|usr/share|usr/local)/"; then
    fail "the README's operator's path names a path outside the installed layout (add it to ROOTS and docs/OPERATIONS.md first)"
fi

cat >"$IT_DIR/prelude.sh" <<'SH'
set -euo pipefail
cd "$KF_ROOT"
PATH=$R/usr/bin:$PATH
op_log() { printf '[operator_path] %s\n' "$*" >&2; }
op_block() { op_log "---- README block $1"; }
# The service user lives in R/etc/passwd; on this host its files are this user's. mosquitto is
# real when the broker drops to it (root, and the user exists), as Debian's package has it.
op_user() {
    case $1 in
    mosquitto) if kf_broker_drops_to_mosquitto; then echo mosquitto; else echo "$ME"; fi ;;
    *) echo "$ME" ;;
    esac
}
op_group() {
    case $1 in
    mosquitto) if kf_broker_drops_to_mosquitto; then echo mosquitto; else id -gn; fi ;;
    *) id -gn ;;
    esac
}
op_pid() { echo "$1 $2" >>"$IT_DIR/op.pids"; }
op_spawn() { # NAME cmd...: in the background, logged, its pid kept for the test to stop
    local name=$1
    shift
    "$@" >>"$IT_DIR/unit-$name.log" 2>&1 &
    op_pid "$!" "$name"
    OP_LAST=$!
}
op_cmd() { # USER cmd...: OP_CMD, the command as the unit's User= where that user exists here
    local u
    u=$(op_user "$1")
    shift
    OP_CMD=("$@")
    [ "$u" = "$ME" ] || OP_CMD=(setpriv --reuid "$u" --regid "$(op_group "$u")" --init-groups -- "$@")
}
op_as() { op_cmd "$@" && "${OP_CMD[@]}"; }

cmake() {
    if [ "${1:-}" = --install ]; then
        DESTDIR=$R command cmake --install "$BUILD" --prefix /usr >"$IT_DIR/install.log"
        op_map "$R"/usr/lib/systemd/system/* "$R"/usr/lib/sysusers.d/* \
            "$R"/usr/share/kioskfleet/*.ini "$R"/usr/share/kioskfleet/*.conf
    else
        op_log "cmake $*: the build under test ($BUILD) stands for it"
    fi
}
systemd-sysusers() { command systemd-sysusers --root="$R" "$@"; }
install() {
    local a=()
    while [ $# -gt 0 ]; do
        case $1 in
        -o) a+=(-o "$(op_user "$2")"); shift ;;
        -g) a+=(-g "$(op_group "$2")"); shift ;;
        *) a+=("$1") ;;
        esac
        shift
    done
    command install "${a[@]}"
}
chown() {
    local spec=$1 u g
    shift
    u=${spec%%:*} g=${spec#*:}
    [ "$g" = "$spec" ] && g=''
    command chown "$(op_user "$u")${g:+:$(op_group "$g")}" "$@"
}
runuser() {
    [ "$1" = -u ] && [ "$3" = -- ] || { op_log "runuser $*: only -u USER -- CMD"; return 2; }
    local u=$2
    shift 3
    op_as "$u" "$@"
}
op_unit_key() { sed -n "s/^$2=//p" "$R/usr/lib/systemd/system/$1"; }
op_dirs() { # UNIT KIND BASE: make the unit's {State,Runtime}Directory= as systemd would
    local d mode user
    mode=$(op_unit_key "$1" "${2}DirectoryMode")
    user=$(op_unit_key "$1" User)
    for d in $(op_unit_key "$1" "${2}Directory"); do
        mkdir -p "$3/$d"
        chmod "${mode:-0755}" "$3/$d"
        command chown "$(op_user "$user"):$(op_group "$user")" "$3/$d"
    done
}
op_start_service() { # UNIT (a .service of ours)
    local u=$1 user line t
    user=$(op_unit_key "$u" User)
    op_dirs "$u" State "$R/var/lib"
    op_dirs "$u" Runtime "$R/run"
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        # shellcheck disable=SC2086 # an Exec line is words, as systemd splits it
        op_as "$user" ${line#[-+!@]} >>"$IT_DIR/unit-${u%.service}.log" 2>&1 ||
            { op_log "$u: ExecStartPre failed: $line"; return 1; }
    done < <(op_unit_key "$u" ExecStartPre)
    line=$(op_unit_key "$u" ExecStart)
    t=$(op_unit_key "$u" Type)
    if [ "$t" = oneshot ]; then
        # shellcheck disable=SC2086
        op_as "$user" $line >>"$IT_DIR/unit-${u%.service}.log" 2>&1
        return
    fi
    [ "$t" = notify ] || { op_log "$u: Type=$t not emulated"; return 1; }
    local sock=$IT_DIR/notify-${u%.service}.sock msgs=$IT_DIR/notify-${u%.service}.txt
    rm -f "$sock" "$msgs"
    : >"$msgs"
    op_spawn "notify-${u%.service}" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace") + "\n")
        f.flush()' "$sock" "$msgs"
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    # shellcheck disable=SC2086
    op_cmd "$user" $line
    export NOTIFY_SOCKET=$sock
    op_spawn "${u%.service}" "${OP_CMD[@]}" # the daemon's own pid, as MAINPID
    unset NOTIFY_SOCKET
    local pid=$OP_LAST
    echo "$pid" >"$IT_DIR/main-${u%.service}.pid"
    for _ in $(seq 900); do # TimeoutStartSec's default, 90 s
        grep -q '^READY=1' "$msgs" && { op_log "$u: READY=1 (pid $pid)"; return 0; }
        kill -0 "$pid" 2>/dev/null || { op_log "$u: exited before READY=1"; return 1; }
        sleep 0.1
    done
    op_log "$u: no READY=1 in 90 s"
    return 1
}
op_start_path() { # UNIT (a .path of ours): what systemd's path unit does, polled
    local u=$1 watched svc
    watched=$(op_unit_key "$u" PathModified)
    svc=$(op_unit_key "$u" Unit)
    [ -f "$R/usr/lib/systemd/system/$svc" ] || { op_log "$u: Unit=$svc is not installed"; return 1; }
    op_spawn "${u%.path}" bash -c '
        last=$(stat -c "%i %Y %s" "$1" 2>/dev/null || true)
        while sleep 0.2; do
            cur=$(stat -c "%i %Y %s" "$1" 2>/dev/null || true)
            if [ "$cur" != "$last" ]; then
                last=$cur
                echo "$(date +%T.%N) $1 changed: starting $2"
                "$3" "$2" || echo "$2 failed"
            fi
        done' op-path "$watched" "$svc" "$IT_DIR/op-start-oneshot"
}
op_mosquitto() { # Debian's mosquitto.service: ExecStartPre makes /run/mosquitto, /var/log/mosquitto
    local pid
    if [ -f "$IT_DIR/main-mosquitto.pid" ]; then
        pid=$(cat "$IT_DIR/main-mosquitto.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    mkdir -p "$R/run/mosquitto" "$R/var/log/mosquitto"
    command chown "$(op_user mosquitto)" "$R/run/mosquitto" "$R/var/log/mosquitto"
    op_spawn mosquitto mosquitto -c "$R/etc/mosquitto/mosquitto.conf"
    echo "$OP_LAST" >"$IT_DIR/main-mosquitto.pid"
    kf_wait_port "$PORT"
}
systemctl() {
    local verb=$1 u
    shift
    [ "$verb" = enable ] && [ "${1:-}" = --now ] && { verb=start; shift; }
    for u in "$@"; do
        case $verb:$u in
        daemon-reload:*) ;;
        start:mosquitto | start:mosquitto.service | restart:mosquitto | restart:mosquitto.service) op_mosquitto ;;
        reload:*) kill -HUP "$(cat "$IT_DIR/main-${u%.service}.pid")" ;;
        start:*.path) op_start_path "$u" ;;
        start:*) op_start_service "${u%.service}.service" ;;
        *) op_log "systemctl $verb $u: not emulated"; return 2 ;;
        esac
    done
}
SH

# A path unit's service, started in the path unit's watcher process (a script of its own,
# since the watcher is a separate bash).
cat >"$IT_DIR/op-start-oneshot" <<SH
#!/usr/bin/env bash
source "$KF_ROOT/scripts/lib.sh"
R='$R' IT_DIR='$IT_DIR' KF_ROOT='$KF_ROOT' ME='$ME' PORT='$PORT' BUILD='$BUILD'
$(declare -f op_map)
ROOTS='$ROOTS'
source "$IT_DIR/prelude.sh"
op_start_service "\$1"
SH
chmod +x "$IT_DIR/op-start-oneshot"

DB=$R/var/lib/kioskfleet/kioskd.db
# Before the fleet view: the agent batches for up to flush_interval_ms and kioskd commits in
# groups, so wait (as a person would) for the transaction to be in.
python3 - "$IT_DIR/readme.sh" <<'PY'
import re, sys
p = sys.argv[1]
src = open(p).read()
out = []
for blk in re.split(r'(?m)^(?=op_block )', src):
    if 'kioskctl' in blk:
        head, _, body = blk.partition('\n')
        blk = head + '\nop_wait_committed\n' + body
    out.append(blk)
open(p, 'w').write(''.join(out))
PY
cat >>"$IT_DIR/prelude.sh" <<'SH'
op_wait_committed() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(kioskctl --db "$DB" usage --from 2000-01-01 --to 2099-12-31 --by device \
            --format csv 2>/dev/null | kf_csv_sum total device_id A-000101.1)" -gt 0 ] && return 0
        sleep 0.1
    done
    op_log "the transaction was not committed within 60 s"
    return 1
}
SH

export R IT_DIR KF_ROOT ME PORT BUILD ROOTS DB
op_cleanup() {
    local rc=$? pid name
    if [ -f "$IT_DIR/op.pids" ]; then
        # the last started first: agent, kioskd, the path watcher, the broker, the listeners
        while read -r pid name; do
            kf_stop "$pid"
        done < <(tac "$IT_DIR/op.pids")
    fi
    set +e
    (exit $rc)
    it_cleanup
}
trap op_cleanup EXIT

set +e
(
    source "$KF_ROOT/scripts/lib.sh"
    ROOTS=$ROOTS
    eval "$(declare -f op_map)"
    source "$IT_DIR/prelude.sh"
    source "$IT_DIR/readme.sh"
) >"$IT_DIR/readme.log" 2>&1
rc=$?
set -e
[ $rc -eq 0 ] || fail "the README's operator's path failed (rc=$rc): see readme.log above"
echo "README: $blocks blocks of the operator's path ran as written"

# ---- what the README promised ----
grep -q '"ok":true' "$IT_DIR/readme.log" || fail "the agent's socket did not accept the transaction"
grep -q "enrolled as A-000101.1" "$IT_DIR/unit-kiosk-agent.log" || fail "the agent did not enroll as A-000101.1"
# (the devices table's row: the line begins with the device id)
grep -q '^A-000101\.1 ' "$IT_DIR/readme.log" || fail "the README's kioskctl commands do not show A-000101.1"
grep -q '^commission: 1 asset' "$IT_DIR/readme.log" ||
    fail "the README's billing block did not commission the terminal"
grep -q '^rubric PDS-ZONE/v1 ' "$IT_DIR/readme.log" || fail "the README's bureau block did not load the rubric"
n=$("$R/usr/bin/kioskctl" --db "$DB" usage --from 2000-01-01 --to 2099-12-31 --by device \
    --format csv | kf_csv_sum total device_id A-000101.1)
[ "$n" = 1 ] || fail "kioskctl counts $n transactions for A-000101.1, want 1"
grep -q "Reloading config" "$R/var/log/mosquitto/mosquitto.log" ||
    fail "the broker was never reloaded by kioskfleet-broker-reload"
grep -q '^kioskfleet:' "$R/etc/passwd" || fail "systemd-sysusers did not create the user kioskfleet"
echo "fleet: A-000101.1 enrolled with its token, its transaction committed and shown by kioskctl"

# ---- the installed units ----
units=("$R"/usr/lib/systemd/system/*)
[ ${#units[@]} -ge 4 ] || fail "only ${#units[@]} units installed"
for f in "${units[@]}"; do
    out=$(cd "$(dirname "$f")" && systemd-analyze verify "./$(basename "$f")" 2>&1) ||
        fail "systemd-analyze verify $(basename "$f"): $out"
    [ -z "$out" ] || fail "systemd-analyze verify $(basename "$f"): $out"
done
for f in "$R"/usr/lib/systemd/system/*.service; do
    score=$(systemd-analyze security --offline=true "$f" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$score" ] || fail "no exposure level for $(basename "$f")"
    # The one exception, by design: kiosk-agent-install@ runs dpkg, which installs into the
    # whole system as root; what bounds it is the package's check against the release key
    # before dpkg runs (docs/AGENT.md "Installing as root"), not a sandbox.
    if [ "$(basename "$f")" = kiosk-agent-install@.service ]; then
        echo "security: $(basename "$f") $score (dpkg as root by design: not held to 2.0)"
        continue
    fi
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
        fail "$(basename "$f"): exposure $score, above 2.0"
    echo "security: $(basename "$f") $score"
done

# ---- every path the configs write is writable under the unit ----
ini() { # FILE SECTION KEY
    awk -F' *= *' -v s="[$2]" -v k="$3" '/^\[/ {in_s = ($0 == s)} in_s && $1 == k {print $2}' "$1"
}
writable() { # UNIT: the directories its sandbox lets it write
    local u=$R/usr/lib/systemd/system/$1 d
    for d in $(sed -n 's/^StateDirectory=//p' "$u"); do echo "$R/var/lib/$d"; done
    for d in $(sed -n 's/^RuntimeDirectory=//p' "$u"); do echo "$R/run/$d"; done
    sed -n 's/^ReadWritePaths=-\{0,1\}//p' "$u" | tr ' ' '\n' | sed 's/^-//'
}
inside() { # UNIT PATH
    local w
    while read -r w; do
        case $2 in "$w" | "$w"/*) return 0 ;; esac
    done < <(writable "$1")
    return 1
}
K=$R/etc/kioskfleet/kioskd.ini A=$R/etc/kioskfleet/agent.ini
for kv in "store path" "server stats_file" "broker auth_dir"; do
    p=$(ini "$K" $kv)
    [ -z "$p" ] || inside kioskd.service "$p" || fail "kioskd.ini [${kv% *}] ${kv#* } = $p: not writable under kioskd.service"
done
for kv in "outbox path" "device identity_dir" "app socket"; do
    p=$(ini "$A" $kv)
    [ -n "$p" ] || fail "agent.ini has no [${kv% *}] ${kv#* }"
    inside kiosk-agent.service "$p" || fail "agent.ini [${kv% *}] ${kv#* } = $p: not writable under kiosk-agent.service"
done
echo "sandbox: every path kioskd.ini and agent.ini write is in its unit's writable set"
