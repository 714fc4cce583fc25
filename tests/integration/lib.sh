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
