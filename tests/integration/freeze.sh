#!/usr/bin/env bash
# Terminals frozen past their keepalive come back by themselves. Two kiosk-agents and a
# kiosk-sim fleet run with a 5 s keepalive and are stopped with SIGSTOP for three
# keepalives: the broker drops them and fires their wills. After SIGCONT every terminal
# must be online again without a restart, each agent must log its new connection, and
# every txn fed before and during the freeze must be committed exactly once (the agents'
# acknowledged lines, the sim's ledger). The field trial's symptom was the opposite: Paho
# reconnected on its own at resume (falling back to MQTT 3.1), the link never heard of it,
# and nothing was subscribed or sent again until a restart.
source "$(dirname "$0")/lib.sh"

KEEPALIVE=5
FREEZE=$((3 * KEEPALIVE))
SIM_DEVICES=${KF_IT_DEVICES:-30}
it_init $((SIM_DEVICES + 2))
FLEET=$IT_DIR/fleet
# A reconnect floor of 3 s: at resume Paho notices the lost session within moments and,
# left to itself, reconnects before the link's first retry (as terminals in backoff did in
# the field; with this floor it happens every time).
for ini in "$FLEET"/*.ini; do
    it_ini_set "$ini" mqtt keepalive_s "$KEEPALIVE"
    it_ini_set "$ini" mqtt reconnect_min_ms 3000
    it_ini_set "$ini" mqtt reconnect_max_ms 6000
    it_ini_set "$ini" batch ack_timeout_ms 5000
done
# The first two terminals are real agents on their app sockets, the rest the sim's.
mapfile -t AGENTS < <(awk -F, 'NR > 1 && NR <= 3 {print $1}' "$FLEET/fleet.csv")
awk -F, 'NR == 1 || NR > 3' "$FLEET/fleet.csv" >"$FLEET/sim.csv"
it_start_broker
it_start_kioskd

declare -A AGENT_PID
for d in "${AGENTS[@]}"; do
    kf_spawn "$IT_DIR/agent-$d.log" "$KF_BIN_AGENT" -c "$FLEET/$d.ini"
    AGENT_PID[$d]=$KF_LAST_PID
done
for d in "${AGENTS[@]}"; do
    it_wait_for 10 "test -S '$FLEET/$d.sock'" || fail "$d: app socket never appeared"
done
# The sim generates until it is told to drain (its first SIGTERM, after the fleet is back):
# a fixed duration ran out before the resume on a loaded machine, and its terminals, gone
# home, were never online again.
kf_spawn "$IT_DIR/sim.log" "$KF_BIN_SIM" --fleet "$FLEET/sim.csv" \
    --catalog "$KF_ROOT/fixtures/deployment.json" --duration 600 --activity 1000 --seed 7 \
    --ledger "$IT_DIR/ledger.csv" --drain-timeout 60 --health-interval 2
SIM_PID=$KF_LAST_PID

online() { ctl devices --format csv | kf_csv_cols online | grep -cE '^(1|yes|true)$' || true; }
committed() { # DEVICE: its txns in the server's usage
    ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv |
        kf_csv_sum total device_id "$1"
}
connects() { grep -c "connected to $BROKER_URI" "$IT_DIR/agent-$1.log" || true; }

TOTAL=$((SIM_DEVICES + 2))
it_wait_for 30 'test "$(online)" = '$TOTAL || fail "$(online) of $TOTAL terminals online before the freeze"
declare -A FED
for d in "${AGENTS[@]}"; do
    FED[$d]=$(it_app_send "$FLEET/$d.sock" 40)
    [ "${FED[$d]}" = 40 ] || fail "$d: 40 lines sent before the freeze, ${FED[$d]} acknowledged"
done
sleep 2

echo "freezing ${AGENTS[*]} and the sim ($SIM_DEVICES terminals) for ${FREEZE}s (keepalive ${KEEPALIVE}s)"
kill -STOP "$SIM_PID" "${AGENT_PID[@]}"
frozen_at=$SECONDS
# Lines written while the agents are stopped wait in their sockets and are answered at
# resume: they count once acknowledged, like any other.
SENDERS=()
for d in "${AGENTS[@]}"; do
    it_app_send "$FLEET/$d.sock" 25 HF-001 $((FREEZE + 60)) >"$IT_DIR/during-$d.ok" &
    SENDERS+=($!)
done
sleep 1
it_wait_for $((FREEZE + 5)) 'test "$(online)" = 0' ||
    fail "the broker did not drop the frozen terminals ($(online) still online)"
rest=$((FREEZE - (SECONDS - frozen_at)))
if [ "$rest" -gt 0 ]; then sleep "$rest"; fi
kill -CONT "$SIM_PID" "${AGENT_PID[@]}"
echo "resumed"

it_wait_for 40 'test "$(online)" = '$TOTAL ||
    fail "$(online) of $TOTAL terminals online 40 s after the freeze ended"
echo "every terminal online again"
wait "${SENDERS[@]}" || true
for d in "${AGENTS[@]}"; do
    during=$(cat "$IT_DIR/during-$d.ok")
    [ "$during" = 25 ] || fail "$d: 25 lines sent during the freeze, $during acknowledged"
    FED[$d]=$((FED[$d] + during))
    [ "$(connects "$d")" -ge 2 ] || fail "$d: no new \"connected to\" line after the freeze"
done
for d in "${AGENTS[@]}"; do
    it_wait_for 30 'test "$(committed '"$d"')" = '"${FED[$d]}" ||
        fail "$d: committed $(committed "$d"), acknowledged ${FED[$d]}"
done

kill -TERM "$SIM_PID"
wait "$SIM_PID" || fail "kiosk-sim did not drain its fleet after the freeze (exit $?)"
awk -F, 'NR > 1 {n[$1]++} END {for (k in n) print k, n[k]}' "$IT_DIR/ledger.csv" |
    sort >"$IT_DIR/want.txt"
ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv |
    kf_csv_cols device_id total | sort >"$IT_DIR/got-all.txt"
grep -v -F -f <(printf '%s \n' "${AGENTS[@]}") "$IT_DIR/got-all.txt" >"$IT_DIR/got.txt" || true
if ! diff -u "$IT_DIR/want.txt" "$IT_DIR/got.txt" >"$IT_DIR/diff.log"; then
    head -20 "$IT_DIR/diff.log" >&2
    fail "the server's usage differs from the sim's ledger"
fi
sanitizers="ERROR: \(Address\|Leak\|UndefinedBehavior\)Sanitizer\|runtime error:"
for d in "${AGENTS[@]}"; do
    kf_stop "${AGENT_PID[$d]}"
done
if grep -l "$sanitizers" "$IT_DIR"/*.log; then
    grep -h -A30 "$sanitizers" "$IT_DIR"/*.log | head -60 >&2
    fail "a sanitizer reported an error"
fi
echo "freeze: $TOTAL terminals back online after ${FREEZE}s stopped; agents ${FED[*]} txns and the sim's $(awk '{s += $2} END {print s}' "$IT_DIR/want.txt") committed once each"
