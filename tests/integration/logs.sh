#!/usr/bin/env bash
# Log collection on the real broker (issue 18; docs/PROTOCOL.md "BLOB", docs/AGENT.md "Logs"):
# a logs command runs the terminal's collector (a test script standing in for journalctl)
# once, its output compressed and sent in chunks; the server keeps the bundle, checks its
# SHA-256 against the one the cmd_result names, and only then marks the command done;
# `kioskctl cmd logs` gives back exactly what the collector printed. A unit outside the
# allowlist is refused. The agent killed with SIGKILL mid-transfer, and kioskd killed with
# SIGKILL mid-transfer: each bundle arrives once, whole, and the collector never runs twice.
source "$(dirname "$0")/lib.sh"

it_init 0
D=KF-WG-0001
it_provision_device $D A-000001 Z-WG-001 "$IT_DIR/dev"
INI=$IT_DIR/dev/$D.ini
# The collector: logs its arguments, prints N KB of hard-to-compress text (a bundle of many
# chunks), kept aside to compare; waits a moment first so the test can stop kioskd meanwhile.
cat >"$IT_DIR/collect.sh" <<'SH'
dir=$1
shift
n=$(($(wc -l <"$dir/runs" 2>/dev/null || echo 0) + 1))
echo "$*" >>"$dir/runs"
sleep "$(cat "$dir/delay" 2>/dev/null || echo 0)"
{ echo "run $n: $*"; head -c "$(cat "$dir/kb")K" /dev/urandom | base64; } | tee "$dir/collected.$n"
SH
echo 600 >"$IT_DIR/kb"
it_ini_set "$INI" commands log_units "kiosk-app.service, kiosk-agent.service"
it_ini_set "$INI" commands log_collector "/bin/sh $IT_DIR/collect.sh $IT_DIR %u --since=@%s"
it_ini_set "$INI" commands log_max_bytes 4194304
printf '[commands]\nresend_s = 30\n' >>"$IT_DIR/kioskd.ini"
it_start_broker
kioskd_ready() {
    it_start_kioskd
    it_wait_for 20 'test "$(grep -c "ready: subscribed" "$IT_DIR/kioskd.log")" -ge '"$1" ||
        fail "kioskd never subscribed"
}
kioskd_ready 1
OUTBOX=$(it_ini_get "$INI" outbox path)
start_agent() {
    rm -f "$IT_DIR/dev/$D.sock"
    kf_spawn "$IT_DIR/agent.log" "$KF_BIN_AGENT" -c "$INI"
    AGENT=$KF_LAST_PID
}
results() { it_sql "SELECT count(*) FROM records WHERE device_id = '$D' AND type = 6"; }
runs() { wc -l <"$IT_DIR/runs" 2>/dev/null || echo 0; }
held() { sqlite3 -cmd '.timeout 5000' "$OUTBOX" "SELECT count(*) FROM blobs"; }
chunks() { it_sql "SELECT count(*) FROM blob_chunks c JOIN commands m ON m.device_id = c.device_id AND m.seq = c.cmd_seq WHERE m.id = $1"; }
nchunks() { it_sql "SELECT nchunks FROM blobs b JOIN commands m ON m.device_id = b.device_id AND m.seq = b.cmd_seq WHERE m.id = $1"; }
have() { it_sql "SELECT coalesce((SELECT have FROM blobs b JOIN commands m ON m.device_id = b.device_id AND m.seq = b.cmd_seq WHERE m.id = $1), 0)"; }
same_text() { # ID RUN: kioskctl's text is the collector's output, byte for byte
    ctl -o "$IT_DIR/got.$1" cmd logs "$1" 2>>"$IT_DIR/ctl.err" || fail "cmd logs C-$1: $(tail -1 "$IT_DIR/ctl.err")"
    cmp -s "$IT_DIR/got.$1" "$IT_DIR/collected.$2" || fail "C-$1: the text differs from collector run $2"
}

start_agent
it_wait_for 20 '[ "$(it_sql "SELECT online FROM devices WHERE device_id = '"'$D'"'")" = 1 ]' ||
    fail "the agent never came online"

# 1. Logs of one unit over an hour: collected once, sent in chunks, done when whole.
t0=$(date +%s%N)
it_cmd_send $D logs kiosk-app.service 3600 >/dev/null
ID=$(it_cmd_last)
it_cmd_wait "$ID" done 30
t1=$(date +%s%N)
same_text "$ID" 1
grep -q -- "-u kiosk-app.service --since=@[0-9]*$" "$IT_DIR/runs" || fail "collector args: $(cat "$IT_DIR/runs")"
N=$(nchunks "$ID")
[ "$N" -gt 10 ] || fail "a 600 KB bundle in $N chunks"
[ "$(chunks "$ID")" = "$N" ] || fail "C-$ID: $(chunks "$ID") chunks stored of $N"
it_wait_for 10 'test "$(held)" = 0' || fail "the agent still holds $(held) bundle(s)"
ctl cmd show "$ID" --format csv | grep -q "sha256=" || fail "C-$ID: the result names no sha256"
echo "1. ok: C-$ID done, $N chunks, $(( (t1 - t0) / 1000000 )) ms from send to done"

# 2. A unit outside the allowlist, and kioskctl on a command with no bundle.
it_cmd_send $D logs sshd.service 60 >/dev/null
it_cmd_wait "$(it_cmd_last)" refused 20
ctl cmd logs "$(it_cmd_last)" >/dev/null 2>&1 && fail "cmd logs on a refused command succeeded"
[ "$(runs)" = 1 ] || fail "the collector ran for a refused command"
echo "2. ok: a unit outside log_units refused, nothing collected"

# 3. SIGKILL of the agent mid-transfer: kioskd is stopped while the bundle is made, so the
# first chunks wait in the broker; the agent dies holding the bundle; kioskd then commits
# those chunks; the new agent sends from what its outbox says and the server holds.
echo 2 >"$IT_DIR/delay"
it_cmd_send $D logs kiosk-app.service,kiosk-agent.service 600 >/dev/null
ID=$(it_cmd_last)
it_cmd_wait "$ID" received 20
kill -STOP "$KIOSKD_PID"
it_wait_for 20 'grep -q "command C-'"$ID"' (logs): done" "$IT_DIR/agent.log"' || { kill -CONT "$KIOSKD_PID"; fail "no bundle made"; }
sleep 0.5
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null || true
kill -CONT "$KIOSKD_PID"
it_wait_for 20 'test "$(have "$ID")" -gt 0' || fail "kioskd committed no chunk sent before the kill"
h=$(have "$ID")
N=$(nchunks "$ID")
[ "$h" -lt "$N" ] || fail "the bundle was whole before the agent came back ($h of $N)"
[ "$(it_cmd_status "$ID")" = received ] || fail "C-$ID is $(it_cmd_status "$ID") with $h of $N chunks"
start_agent
it_cmd_wait "$ID" done 40
same_text "$ID" 2
[ "$(chunks "$ID")" = "$N" ] || fail "C-$ID: $(chunks "$ID") chunks of $N"
[ "$(runs)" = 2 ] || fail "the collector ran $(runs) times, want 2"
[ "$(results)" = 3 ] || fail "$(results) cmd_result records for 3 commands"
echo "3. ok: agent killed with $h of $N chunks held by the server; the bundle came once, whole"

# 4. SIGKILL of kioskd mid-transfer: chunks in the broker and in kioskd's inbox are lost with
# it; the agent's stall timer sends again from what the server holds.
it_cmd_send $D logs kiosk-agent.service 60 >/dev/null
ID=$(it_cmd_last)
it_cmd_wait "$ID" received 20
kill -STOP "$KIOSKD_PID"
it_wait_for 20 'grep -q "command C-'"$ID"' (logs): done" "$IT_DIR/agent.log"' || { kill -CONT "$KIOSKD_PID"; fail "no bundle made"; }
sleep 0.5
kill -KILL "$KIOSKD_PID"
wait "$KIOSKD_PID" 2>/dev/null || true
kioskd_ready 2
it_cmd_wait "$ID" done 40
same_text "$ID" 3
[ "$(chunks "$ID")" = "$(nchunks "$ID")" ] || fail "C-$ID: chunks stored $(chunks "$ID") of $(nchunks "$ID")"
[ "$(runs)" = 3 ] || fail "the collector ran $(runs) times, want 3"
it_wait_for 15 'test "$(held)" = 0' || fail "the agent still holds $(held) bundle(s)"
[ "$(results)" = 4 ] || fail "$(results) cmd_result records for 4 commands"
echo "4. ok: kioskd killed mid-transfer; the bundle came whole, once"

# 5. A collector killed by the agent's SIGKILL while it runs: reported failed, never rerun.
echo 10 >"$IT_DIR/delay"
it_cmd_send $D logs kiosk-app.service 60 >/dev/null
ID=$(it_cmd_last)
it_wait_for 20 'test "$(runs)" = 4' || fail "the collector did not start"
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null || true
echo 0 >"$IT_DIR/delay"
start_agent
it_cmd_wait "$ID" failed 30
ctl cmd show "$ID" --format csv | grep -q interrupted || fail "C-$ID: not reported interrupted"
sleep 1
[ "$(runs)" = 4 ] || fail "the interrupted collection ran again"
[ "$(results)" = 5 ] || fail "$(results) cmd_result records for 5 commands"
echo "5. ok: a collection interrupted by SIGKILL is reported failed once, not run again"
kf_stop "$AGENT"

# 6. The same text from kiosk-web, for a technician; a bank's user is refused.
: "${KF_BIN_WEB:=$b/server/kiosk-web}"
W=(--by it --reason "logs test" --server-key "$IT_DIR/server.key")
printf '%s\n' 'pass-word-logs' >"$IT_DIR/pw" && chmod 600 "$IT_DIR/pw"
ctl user add tech --role technician --display tech --password-file "$IT_DIR/pw" "${W[@]}" >/dev/null
ctl user add icbc --role bank:ICBC --display icbc --password-file "$IT_DIR/pw" "${W[@]}" >/dev/null
TT=$(ctl user token add tech --label it "${W[@]}" | grep -o "kft_[A-Za-z0-9_-]*")
TB=$(ctl user token add icbc --label it "${W[@]}" | grep -o "kft_[A-Za-z0-9_-]*")
PORT=$(kf_free_port)
mkdir -p "$IT_DIR/console"
printf '[web]\nlisten = 127.0.0.1:%s\nconsole_dir = %s\n[store]\npath = %s\n' "$PORT" \
    "$IT_DIR/console" "$DB" >"$IT_DIR/kiosk-web.conf"
kf_spawn "$IT_DIR/kiosk-web.log" "$KF_BIN_WEB" -c "$IT_DIR/kiosk-web.conf"
WEB=$KF_LAST_PID
kf_wait_port "$PORT" 20 || fail "kiosk-web does not listen"
U=http://127.0.0.1:$PORT/api/v1/commands
st=$(curl -s -o "$IT_DIR/web.1" -w '%{http_code}' -H "Authorization: Bearer $TT" "$U/C-1/logs")
[ "$st" = 200 ] && cmp -s "$IT_DIR/web.1" "$IT_DIR/collected.1" || fail "GET C-1/logs as tech: $st"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TB" "$U/C-1/logs")
[ "$st" = 403 ] || fail "GET C-1/logs as a bank: $st"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TT" "$U/C-2/logs")
[ "$st" = 409 ] || fail "GET C-2/logs (refused, no bundle): $st"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TT" "$U/C-99/logs")
[ "$st" = 404 ] || fail "GET C-99/logs: $st"
kf_stop "$WEB"
echo "6. ok: kiosk-web serves the same text to a technician, refuses a bank"
echo "PASS"
