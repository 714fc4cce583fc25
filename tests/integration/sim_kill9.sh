#!/usr/bin/env bash
# kiosk-sim's ledger survives kill -9: a txn an outbox has taken is in the ledger file as
# soon as its append has returned. The sim is killed with SIGKILL mid-run, a second run
# drains the outboxes it left, and the server's usage must equal the first run's ledger,
# but for at most the one append under way at the kill (taken by its outbox, not yet
# written to the ledger). The ledger used to be buffered and flushed every second: a kill
# lost the last second's lines.
source "$(dirname "$0")/lib.sh"

DEVICES=${KF_IT_DEVICES:-20}
it_init "$DEVICES"
it_start_broker
it_start_kioskd

kf_spawn "$IT_DIR/sim1.log" "$KF_BIN_SIM" --fleet "$IT_DIR/fleet/fleet.csv" \
    --catalog "$KF_ROOT/fixtures/deployment.json" --duration 60 --activity 4000 --seed 3 \
    --ledger "$IT_DIR/ledger1.csv" --health-interval 5
SIM_PID=$KF_LAST_PID
lines() { wc -l <"$IT_DIR/ledger1.csv"; }
it_wait_for 60 'test "$(lines)" -gt 300' || fail "the sim wrote $(lines) ledger lines in 60 s"
sleep 2.5
kill -KILL "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
tail -c 1 "$IT_DIR/ledger1.csv" | od -c | grep -q '\\n' || fail "the ledger ends in a partial line"
echo "killed kiosk-sim with SIGKILL after $(($(lines) - 1)) ledger lines"

# The outboxes persist: a second run with nothing to generate sends what they hold.
"$KF_BIN_SIM" --fleet "$IT_DIR/fleet/fleet.csv" --duration 0 --drain-timeout 90 \
    --ledger "$IT_DIR/ledger2.csv" >>"$IT_DIR/sim2.log" 2>&1 ||
    fail "the second run did not drain the outboxes (exit $?)"
[ "$(wc -l <"$IT_DIR/ledger2.csv")" = 1 ] || fail "the draining run generated txns"

ledger=$(($(lines) - 1))
server=$(ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv | kf_csv_sum total)
echo "ledger: $ledger txns; server: $server"
# Every ledger line is a txn the server holds (the same device and seq are never counted
# twice), and the server holds at most one txn the ledger does not: live txns are
# appended one at a time.
[ "$server" -ge "$ledger" ] || fail "the server has $server txns, fewer than the ledger's $ledger"
[ "$((server - ledger))" -le 1 ] ||
    fail "the ledger lost $((server - ledger)) txns the outboxes had taken when the sim was killed"
echo "sim ledger: $ledger txns written before SIGKILL, $server committed"
