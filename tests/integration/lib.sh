# tests/integration/lib.sh: a scratch directory, a locked-down broker (TLS, a password per
# client, ACLs: conf/mosquitto.conf), kioskd, a provisioned fleet. Sourced by each test.
# Everything started is stopped by pid on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# ctest passes the binaries' paths; by hand, name a build directory: KF_IT_BUILD=build.
b=${KF_IT_BUILD:-$KF_ROOT/build-test}
: "${KF_BIN_KIOSKD:=$b/server/kioskd}" "${KF_BIN_KIOSKCTL:=$b/server/kioskctl}"
: "${KF_BIN_PROVISION:=$b/provisioning/kiosk-provision}" "${KF_BIN_AGENT:=$b/agent/kiosk-agent}"
: "${KF_BIN_SIM:=$b/agent/kiosk-sim}" "${KF_BIN_FORGE:=$b/tests/integration/kf-forge}"
: "${KF_BIN_CHECK:=$b/checker/kf-bill-check}"

IT_NAME=$(basename "$0" .sh)
IT_DIR=$(mktemp -d "/tmp/kf-it-$IT_NAME.XXXXXX")
it_cleanup() {
    local rc=$?
    kf_stop_all
    if [ $rc -ne 0 ]; then
        echo "--- $IT_NAME failed (rc=$rc); logs from $IT_DIR:" >&2
        for f in "$IT_DIR"/*.log; do
            [ -f "$f" ] || continue
            # A sanitizer's report is the evidence a rare failure leaves, and its stacks
            # come before the 30 lines shown below (the shadow-byte map alone fills them).
            if grep -q "ERROR: \(Address\|Leak\|UndefinedBehavior\|Thread\)Sanitizer\|runtime error:" "$f"; then
                echo "--- $f (sanitizer report, stacks)" >&2
                grep -m1 -A60 "ERROR: \(Address\|Leak\|UndefinedBehavior\|Thread\)Sanitizer\|runtime error:" "$f" |
                    grep -v "^  0x\|^Shadow\|^  [A-Z][a-z ]*: *[0-9a-f]" >&2
            fi
            echo "--- $f (last 30 lines)" >&2
            tail -30 "$f" >&2
        done
    fi
    if [ "${KF_IT_KEEP:-0}" = 1 ]; then
        echo "kept: $IT_DIR" >&2
    else
        rm -rf "$IT_DIR"
    fi
    exit $rc
}
trap it_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# it_init N: a CA and the broker's certificate, database with the deployment, server key
# and broker account, a fleet of N terminals (broker port chosen now and written into every
# agent config, each with its own broker password), kioskd's and the broker's configs.
it_init() {
    BROKER_PORT=$(kf_free_port)
    BROKER_URI="ssl://127.0.0.1:$BROKER_PORT"
    DB=$IT_DIR/kioskd.db
    PKI=$IT_DIR/pki
    CA=$PKI/ca.crt
    AUTH=$IT_DIR/broker-auth
    kf_pki "$PKI"
    "$KF_BIN_PROVISION" init --db "$DB" --fixtures "$KF_ROOT/fixtures/deployment.json" \
        --server-key "$IT_DIR/server.key" --server-password-out "$IT_DIR/kioskd.password" \
        >"$IT_DIR/provision.log" 2>&1
    if [ "${1:-0}" -gt 0 ]; then
        "$KF_BIN_PROVISION" fleet --db "$DB" --count "$1" --broker "$BROKER_URI" --ca "$CA" \
            --server-pub "$IT_DIR/server.key.pub" --out "$IT_DIR/fleet" --seed 11 \
            >>"$IT_DIR/provision.log" 2>&1
    fi
    cat >"$IT_DIR/kioskd.ini" <<INI
[store]
path = $DB
[mqtt]
uri = $BROKER_URI
ca_file = $CA
username = _kioskd
password_file = $IT_DIR/kioskd.password
[server]
key_file = $IT_DIR/server.key
heartbeat_timeout_s = 60
stats_interval_s = 1
stats_file = $IT_DIR/kioskd.stats.json
INI
    kf_broker_conf "$BROKER_PORT" "$IT_DIR/broker" "$PKI" "$AUTH" "$IT_DIR/mosquitto.conf"
    BROKER_PID=''
}

# it_provision_device ID ASSET ZONE DIR: one more terminal (before it_start_broker, or
# followed by it_broker_sync).
# it_provision_device ID ASSET ZONE DIR [KIND]: KIND kiosk (default) or itm.
it_provision_device() {
    "$KF_BIN_PROVISION" device --db "$DB" --id "$1" --asset "$2" --kind "${5:-kiosk}" --zone "$3" \
        --broker "$BROKER_URI" --ca "$CA" --server-pub "$IT_DIR/server.key.pub" --out "$4" \
        >>"$IT_DIR/provision.log" 2>&1
}

# The store's broker accounts into the broker's password file; SIGHUP a running broker.
it_broker_sync() {
    local pid=()
    if [ -n "${BROKER_PID:-}" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        pid=(--pid "$BROKER_PID")
    fi
    "$KF_BIN_PROVISION" broker-sync --db "$DB" --dir "$AUTH" "${pid[@]}" \
        >>"$IT_DIR/provision.log" 2>&1
}

it_start_broker() {
    BROKER_PID=''
    it_broker_sync
    kf_spawn "$IT_DIR/mosquitto.log" mosquitto -c "$IT_DIR/mosquitto.conf"
    BROKER_PID=$KF_LAST_PID
    kf_wait_port "$BROKER_PORT"
}

# it_pub USER PASSWORD_FILE mosquitto_pub-args...: publish over TLS as USER (MQTT 5, so a
# refused publish is reported: "Not authorized" on stderr).
it_pub() {
    local user=$1 pwf=$2
    shift 2
    mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$CA" -V 5 -u "$user" \
        -P "$(cat "$pwf")" "$@"
}

it_start_kioskd() {
    kf_spawn "$IT_DIR/kioskd.log" "$KF_BIN_KIOSKD" -c "$IT_DIR/kioskd.ini"
    KIOSKD_PID=$KF_LAST_PID
}

# it_calendar_dir: CAL=$IT_DIR/calendar, the shipped holiday files plus, for a year the
# repository has no official file for yet, a test-only file with no holidays (the reports
# refuse a period no calendar covers, and a test must not start failing on 1 January); YEAR
# is this local year.
it_calendar_dir() {
    CAL=$IT_DIR/calendar
    mkdir -p "$CAL"
    cp "$KF_ROOT"/fixtures/calendar/*.ini "$CAL/"
    YEAR=$(TZ=Asia/Shanghai date +%Y)
    [ -e "$CAL/cn-$YEAR.ini" ] ||
        printf '# test only: no holidays\n[calendar]\nyear = %s\nregion = CN\nsource = test\n' \
            "$YEAR" >"$CAL/cn-$YEAR.ini"
}

# it_wait_for SECONDS 'shell condition': poll until it holds (re-evaluated every 100 ms).
it_wait_for() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 10; i++)); do
        eval "$*" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

ctl() { "$KF_BIN_KIOSKCTL" --db "$DB" "$@"; }

# it_app_send SOCKET N [ITEM] [TIMEOUT]: N txn lines (ts now, 1 s apart backwards) on an
# agent's app socket, one connection; waits for the N reply lines (or TIMEOUT seconds,
# default 60: a frozen agent answers once it runs again) and prints how many were
# {"ok":true,...}. Replies other than ok are written to standard error.
it_app_send() {
    python3 - "$1" "$2" "${3:-SS-001}" "${4:-60}" <<'PY'
import json, socket, sys, time
path, n, item, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
now = int(time.time() * 1000)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(limit)
s.connect(path)
s.sendall(b"".join(
    b'{"t":"txn","ts":%d,"item":"%s","outcome":"ok","dur_ms":45000}\n' % (now - 1000 * i, item.encode())
    for i in range(n)))
buf, ok, got, end = b"", 0, 0, time.monotonic() + limit
while got < n and time.monotonic() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        got += 1
        if json.loads(line).get("ok") is True:
            ok += 1
        else:
            sys.stderr.write("reply: %s\n" % line.decode())
print(ok)
PY
}

# it_ini_set FILE SECTION KEY VALUE: set KEY in [SECTION] of an agent INI (replaced when
# there, else added at the section's start; the section is added when missing).
it_ini_set() {
    local f=$1 sec=$2 key=$3 val=$4
    if ! grep -q "^\[$sec\]" "$f"; then
        printf '\n[%s]\n' "$sec" >>"$f"
    fi
    awk -v sec="[$sec]" -v key="$key" -v val="$val" '
        /^\[/ { in_sec = ($0 == sec) }
        in_sec && $0 ~ "^" key " *=" { next }
        { print }
        $0 == sec { print key " = " val }
    ' "$f" >"$f.new" && cat "$f.new" >"$f" && rm -f "$f.new"
}

# ---- A story told at its own instants (worked_month.sh, bill_props.sh) ---------------------
# Facts are written into the store at the instants the story gives them (as the ingest writes
# them, docs/SLA.md 10.1), kioskd runs over them with its clock at the story's time and
# kioskctl acts with its clock frozen at it (libfaketime; ASan must accept the preload).

it_sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }

# ---- commands to terminals (commands.sh, logs.sh, update.sh, fetch.sh) ----
# it_cmd_send ARGS...: kioskctl cmd send as technician T-0042, signed with the test's key.
it_cmd_send() { ctl cmd send "$@" --by T-0042 --reason "integration test" --server-key "$IT_DIR/server.key"; }
it_cmd_status() { it_sql "SELECT status FROM commands WHERE id = $1"; } # ID
it_cmd_last() { it_sql "SELECT max(id) FROM commands"; }
it_cmd_wait() { # ID STATUS SECONDS: until command ID has STATUS, or fail with its row
    it_wait_for "$3" "test \"\$(it_cmd_status $1)\" = $2" ||
        fail "command C-$1 is $(it_cmd_status "$1"), want $2 ($(ctl cmd show "$1" --format csv | tail -1))"
}
# it_ini_get FILE SECTION KEY: a value of an INI file ("key = value").
it_ini_get() {
    awk -F' *= *' -v sec="[$2]" -v key="$3" '$0 == sec {s=1; next} /^\[/ {s=0} s && $1 == key {print $2}' "$1"
}

# it_ms 'YYYY-MM-DD HH:MM[:SS]': a local (Asia/Shanghai) time as UTC milliseconds.
it_ms() { echo "$(TZ=Asia/Shanghai date -d "$1" +%s)000"; }

# Fails unless faketime and Debian's libfaketime are installed; sets IT_FAKETIME_LIB.
it_need_faketime() {
    command -v faketime >/dev/null || fail "faketime is not installed (scripts/lib.sh KF_PACKAGES)"
    IT_FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime.so.1$') ||
        fail "libfaketime.so.1 not found (Debian package libfaketime)"
}

# it_faketime SPEC COMMAND...: COMMAND with libfaketime preloaded, FAKETIME=SPEC ("T" frozen
# at T, "@T" starting at T; local time). Not the faketime wrapper: it keeps a semaphore and
# shared memory in /dev/shm named by its pid, leaves them behind when its child is killed
# (or forks), and a later wrapper that draws the same pid exits with "sem_open: File exists"
# (it did, in it_bill_props, on a machine with 29 such leftovers). Preloaded, there are none.
it_faketime() {
    local spec=$1
    shift
    [ -n "${IT_FAKETIME_LIB:-}" ] || it_need_faketime
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        LD_PRELOAD=$IT_FAKETIME_LIB FAKETIME="$spec" "$@"
}

# it_at 'YYYY-MM-DD HH:MM:SS' ARGS...: kioskctl on $DB with its clock frozen at that local
# time (the clock does not move, so an issued_at_ms or an action's instant is exact).
it_at() {
    local t=$1
    shift
    TZ=Asia/Shanghai it_faketime "$t" "$KF_BIN_KIOSKCTL" --db "$DB" "$@"
}

# it_run_kioskd 'YYYY-MM-DD HH:MM:SS' [COMMAND...]: kioskd (config $IT_DIR/kioskd.ini) run
# once over the facts, its clock starting at that local time (libfaketime, moving; the time
# is left in KIOSKD_AT): the engine takes the facts when they arrive, as it would have, so
# what it decided is dated before or after a month's close as in the story (an issued bill
# counts what the engine had by the close, docs/BILLING.md "The close"). Waited for until its
# engine has taken every fact (and, with a command, until the command is done), stopped.
# kioskd need not be connected to a broker: its engine runs on the facts in the store.
KIOSKD_AT=
it_run_kioskd() {
    local last
    KIOSKD_AT=$1
    shift
    [ -n "${IT_FAKETIME_LIB:-}" ] || it_need_faketime
    last=$(it_sql 'SELECT coalesce(max(id), 0) FROM sla_facts')
    # libfaketime preloaded into kioskd itself (the faketime wrapper would stand between the
    # pid we stop and kioskd): "@T" starts the clock at T and lets it run.
    TZ=Asia/Shanghai ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        LD_PRELOAD=$IT_FAKETIME_LIB FAKETIME="@$KIOSKD_AT" \
        kf_spawn "$IT_DIR/kioskd.log" "$KF_BIN_KIOSKD" -c "$IT_DIR/kioskd.ini"
    KIOSKD_PID=$KF_LAST_PID
    it_wait_for 60 'test "$(it_sql "SELECT fact_id FROM sla_cursor")" = "$last"' ||
        fail "kioskd did not take every fact"
    if [ $# -gt 0 ]; then "$@"; fi
    sleep 2
    kf_stop "$KIOSKD_PID"
}

# Single edits of a store, each on a fresh copy ($IT_DIR/edit.db), as its operator could
# make them; then the operator's own check and the bank's.
# it_edit SQL: the copy, edited.
it_edit() {
    rm -f "$IT_DIR/edit.db" "$IT_DIR/edit.db-wal" "$IT_DIR/edit.db-shm"
    cp "$DB" "$IT_DIR/edit.db"
    sqlite3 "$IT_DIR/edit.db" "$1" || fail "edit: $1"
}
# it_edited_verify: kioskctl verify on the copy (output in $IT_DIR/edit.verify); its status.
it_edited_verify() {
    "$KF_BIN_KIOSKCTL" --db "$IT_DIR/edit.db" verify >"$IT_DIR/edit.verify" 2>&1
}
# it_edited_check NUMBER: the bill's bundle exported from the copy, then kf-bill-check
# (output in $IT_DIR/edit.check); the checker's status.
it_edited_check() {
    "$KF_BIN_KIOSKCTL" --db "$IT_DIR/edit.db" bill export "$1" -o "$IT_DIR/edit.json" \
        >/dev/null 2>&1 || fail "export $1 from the edited copy"
    "$KF_BIN_CHECK" "$IT_DIR/edit.json" --server-pub "$IT_DIR/server.key.pub" \
        >"$IT_DIR/edit.check" 2>&1
}
# it_edited_verify_fails WHAT, it_edited_check_fails NUMBER WHAT: they must find it.
it_edited_verify_fails() {
    local rc=0
    it_edited_verify || rc=$?
    [ $rc = 3 ] || fail "kioskctl verify missed: $1 (rc $rc)"
}
it_edited_check_fails() {
    local rc=0
    it_edited_check "$1" || rc=$?
    [ $rc = 1 ] || fail "kf-bill-check missed: $2 (rc $rc: $(cat "$IT_DIR/edit.check"))"
}
