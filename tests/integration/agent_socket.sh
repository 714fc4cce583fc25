#!/usr/bin/env bash
# The kiosk application's path: JSON lines on the agent's Unix socket -> outbox -> broker ->
# kioskd. The agent is killed with SIGKILL halfway and restarted: every acknowledged line is
# committed exactly once; a bad line gets an error reply and the agent keeps serving. Then
# the terminal's outbox is wiped (a replaced disk, same identity): the new outbox follows
# the server's numbering, so its records are not mistaken for duplicates.
source "$(dirname "$0")/lib.sh"

it_init 0
it_provision_device KF-WG-0001 A-000001 Z-WG-001 "$IT_DIR/dev"
it_start_broker
it_start_kioskd

start_agent() {
    rm -f "$IT_DIR/dev/KF-WG-0001.sock" # a SIGKILLed agent leaves its socket file behind
    kf_spawn "$IT_DIR/agent.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/KF-WG-0001.ini"
    AGENT_PID=$KF_LAST_PID
    it_wait_for 10 'test -S "$IT_DIR/dev/KF-WG-0001.sock"' || fail "agent socket never appeared"
}
send_txns() { # N: send N txn lines, count ok replies
    local n=$1 now i
    now=$(($(date +%s) * 1000))
    for ((i = 0; i < n; i++)); do
        printf '{"t":"txn","ts":%d,"item":"SS-001","outcome":"ok","dur_ms":45000}\n' $((now - 1000 * i))
    done | nc -U -q 2 "$IT_DIR/dev/KF-WG-0001.sock" | grep -c '"ok":true'
}
committed() { ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv | kf_csv_sum total; }

start_agent
ok1=$(send_txns 50)
[ "$ok1" = 50 ] || fail "50 lines sent, $ok1 acknowledged"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true
start_agent
reply=$(printf '{"t":"txn","item":"bad code!"}\n' | nc -U -q 2 "$IT_DIR/dev/KF-WG-0001.sock")
echo "$reply" | grep -q '"ok":false' || fail "bad line not refused: $reply"
ok2=$(send_txns 30)
[ "$ok2" = 30 ] || fail "30 lines sent, $ok2 acknowledged"
it_wait_for 30 'test "$(committed)" = 80' || fail "committed $(committed), want 80"
sleep 2
[ "$(committed)" = 80 ] || fail "committed $(committed) after settling, want 80"

kf_stop "$AGENT_PID"
rm -f "$IT_DIR/dev/KF-WG-0001.outbox.db"*
start_agent
ok3=$(send_txns 20)
[ "$ok3" = 20 ] || fail "20 lines sent to the new outbox, $ok3 acknowledged"
it_wait_for 30 'test "$(committed)" = 100' || fail "committed $(committed) after the outbox was wiped, want 100"
grep -q "renumbering" "$IT_DIR/agent.log" || fail "the agent did not follow the server's numbering"
echo "agent socket: 100 acknowledged lines, 100 committed, across a SIGKILL and a wiped outbox"
