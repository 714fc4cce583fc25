#!/usr/bin/env bash
# Inventory, targeting and rollouts on the real broker (issue 18; docs/PROTOCOL.md "HELLO",
# docs/AGENT.md "Inventory", docs/KIOSKCTL.md "inventory", "cmd send", "rollout"): three
# agents report their inventory, their applications add theirs on the app socket and one
# changes it (a new HELLO, a change in the history); a malformed inventory line is refused
# and the agent keeps serving; the inventory groups; a dry run lists targets and changes
# nothing; a version selector picks the right terminals; a rollout whose canary holds a
# terminal whose restart-app hook fails halts by itself and never reaches the third; a probe
# rollout goes canary, then the rest, then done; every move in the signed log.
source "$(dirname "$0")/lib.sh"

it_init 0
Z=Z-WG-001
for i in 1 2 3; do
    it_provision_device KF-WG-000$i A-00000$i $Z "$IT_DIR/dev"
    it_ini_set "$IT_DIR/dev/KF-WG-000$i.ini" commands restart_app "/bin/echo app restarted"
done
# Agent 1's application cannot be restarted: its hook exits 1.
printf 'echo "the application did not come back"\nexit 1\n' >"$IT_DIR/fail.sh"
it_ini_set "$IT_DIR/dev/KF-WG-0001.ini" commands restart_app "/bin/sh $IT_DIR/fail.sh"
printf '[sla]\ntick_s = 1\n[commands]\nresend_s = 30\n' >>"$IT_DIR/kioskd.ini"
it_start_broker
it_start_kioskd
it_wait_for 20 'grep -q "ready: subscribed" "$IT_DIR/kioskd.log"' || fail "kioskd never subscribed"

declare -A PID
for i in 1 2 3; do
    rm -f "$IT_DIR/dev/KF-WG-000$i.sock"
    kf_spawn "$IT_DIR/agent$i.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/KF-WG-000$i.ini"
    PID[$i]=$KF_LAST_PID
done
inv() { it_sql "SELECT $2 FROM inventory WHERE device_id = 'KF-WG-000$1'"; }
# app_inv N LINE: one line on agent N's app socket; prints the reply.
app_inv() {
    python3 - "$IT_DIR/dev/KF-WG-000$1.sock" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PY
}
T0=$(date +%s%N)
for i in 1 2 3; do
    it_wait_for 20 "test -S $IT_DIR/dev/KF-WG-000$i.sock" || fail "agent $i: no app socket"
    it_wait_for 20 "test -n \"\$(inv $i kernel)\"" || fail "agent $i: no inventory from its HELLO"
done
[ "$(inv 1 agent)" = 0.1.0 ] || fail "agent version: $(inv 1 agent)"
[ "$(inv 1 "kernel = '$(uname -r)' AND mem_mb > 0 AND disk_gb > 0 AND cores > 0")" = 1 ] ||
    fail "the host's inventory: $(inv 1 inv)"

# 1. The applications report themselves; one on 2.4.1, two on 2.5.0.
P='"periph":[{"name":"receipt_printer","model":"EPSON TM-T88VI","fw":"30.11"}]'
for i in 1 2 3; do
    v=2.5.0
    [ $i = 1 ] && v=2.4.1
    r=$(app_inv $i '{"t":"inventory","app":"gov-kiosk","app_version":"'$v'",'"$P"'}')
    [ "$r" = '{"ok":true}' ] || fail "agent $i: inventory line answered $r"
    it_wait_for 10 "test \"\$(inv $i app_version)\" = $v" || fail "agent $i: app $v never arrived"
done
[ "$(it_sql "SELECT count(*) FROM inventory_changes")" = 6 ] ||
    fail "history: $(it_sql "SELECT device_id, inv FROM inventory_changes")"
ctl inventory --by app_version --format csv >"$IT_DIR/by_app.csv"
grep -q '^2.5.0,2' "$IT_DIR/by_app.csv" && grep -q '^2.4.1,1' "$IT_DIR/by_app.csv" ||
    fail "grouped: $(cat "$IT_DIR/by_app.csv")"
ctl inventory --by agent --where app_version=2.5 --format csv | grep -q '^0.1.0,2' ||
    fail "filtered: $(ctl inventory --by agent --where app_version=2.5 --format csv)"
ctl inventory --by periph --format csv | grep -q 'receipt_printer EPSON TM-T88VI 30.11,3' ||
    fail "by peripheral: $(ctl inventory --by periph --format csv)"

# 2. Malformed: refused with the key, nothing changes, the agent keeps serving.
r=$(app_inv 2 '{"t":"inventory","app":"gov-kiosk","periph":[{"model":"no name"}]}')
case $r in *bad_inventory*"periph[0].name: missing"*) ;; *) fail "malformed answered $r" ;; esac
[ "$(it_app_send "$IT_DIR/dev/KF-WG-0002.sock" 1)" = 1 ] || fail "agent 2 stopped serving"
[ "$(inv 2 app_version)" = 2.5.0 ] || fail "a refused inventory changed the row"

# 3. Targeting by version, and a dry run that changes nothing.
log0=$(it_sql "SELECT count(*) FROM audit_log")
ctl cmd send restart-app --app-version 2.5 --zone $Z --dry-run --format csv >"$IT_DIR/dry.csv" ||
    fail "dry run failed"
[ "$(tail -n +2 "$IT_DIR/dry.csv" | cut -d, -f2 | tr '\n' ' ')" = "KF-WG-0002 KF-WG-0003 " ] ||
    fail "dry run targets: $(cat "$IT_DIR/dry.csv")"
[ "$(it_sql "SELECT count(*) FROM commands") $(it_sql "SELECT count(*) FROM audit_log")" = \
    "0 $log0" ] || fail "the dry run wrote something"
ctl cmd send probe --app-version 2.4 --by op --reason "old build" --server-key "$IT_DIR/server.key" \
    --format csv >"$IT_DIR/v.csv"
[ "$(tail -n +2 "$IT_DIR/v.csv" | cut -d, -f2)" = KF-WG-0001 ] || fail "by version: $(cat "$IT_DIR/v.csv")"
it_wait_for 20 'test "$(it_sql "SELECT status FROM commands WHERE id = 1")" = done' ||
    fail "the probe: $(it_sql "SELECT status FROM commands WHERE id = 1")"

# 4. A changed application: a new HELLO, a change in the history, grouped anew.
changed0=$(inv 1 changed_ms)
app_inv 1 '{"t":"inventory","app":"gov-kiosk","app_version":"2.5.0",'"$P"'}' >/dev/null
it_wait_for 10 'test "$(inv 1 app_version)" = 2.5.0' || fail "the change never arrived"
[ "$(inv 1 changed_ms)" -gt "$changed0" ] || fail "changed_ms did not move"
[ "$(it_sql "SELECT count(*) FROM inventory_changes WHERE device_id = 'KF-WG-0001'")" = 3 ] ||
    fail "agent 1's history: $(ctl inventory show KF-WG-0001)"
ctl inventory --by app_version --format csv | grep -q '^2.5.0,3' || fail "regrouped"

# 5. A rollout whose canary meets a failing hook halts by itself; the third never gets it.
rsend() { ctl cmd send "$@" --zone $Z --by op --reason "new build" --server-key "$IT_DIR/server.key"; }
rsend restart-app --canary 2 --halt-failures 0 >/dev/null 2>&1 || fail "rollout start"
it_wait_for 30 'test "$(it_sql "SELECT status FROM rollouts WHERE id = 1")" = halted' ||
    fail "rollout 1 is $(it_sql "SELECT status FROM rollouts WHERE id = 1"): $(ctl rollout show 1)"
[ "$(it_sql "SELECT count(*) FROM commands WHERE rollout = 1 AND device_id = 'KF-WG-0003'")" = 0 ] ||
    fail "a halted rollout reached the third terminal"
[ "$(it_sql "SELECT count(*) FROM audit_log WHERE subject = 'R-1' AND action = 'rollout.halt'
    AND actor = 'kioskd' AND json_extract(detail, '$.failures') = 1")" = 1 ] ||
    fail "the halt is not in the signed log: $(it_sql "SELECT actor, action, detail FROM audit_log WHERE subject = 'R-1'")"
sleep 2
[ "$(it_sql "SELECT count(*) FROM commands WHERE rollout = 1")" = 2 ] || fail "halted, yet queued more"

# 6. A probe rollout: canary 1, then the rest, then done.
rsend probe --canary 1 >/dev/null 2>&1 || fail "rollout 2 start"
it_wait_for 30 'test "$(it_sql "SELECT status FROM rollouts WHERE id = 2")" = done' ||
    fail "rollout 2 is $(it_sql "SELECT status FROM rollouts WHERE id = 2"): $(ctl rollout show 2)"
[ "$(it_sql "SELECT group_concat(wave || ':' || status, ' ') FROM (SELECT wave, status FROM commands
    WHERE rollout = 2 ORDER BY device_id)")" = "1:done 2:done 2:done" ] || fail "waves: $(ctl rollout show 2)"
[ "$(it_sql "SELECT group_concat(action, ' ') FROM (SELECT action FROM audit_log WHERE subject = 'R-2'
    ORDER BY seq)")" = "rollout.start rollout.advance rollout.done" ] ||
    fail "rollout 2's log: $(it_sql "SELECT action FROM audit_log WHERE subject = 'R-2'")"
ctl rollout list --format csv >"$IT_DIR/rollouts.csv"
T1=$(date +%s%N)
for i in 1 2 3; do kf_stop "${PID[$i]}"; done
grep -q "ERROR: AddressSanitizer\|runtime error" "$IT_DIR"/agent*.log "$IT_DIR/kioskd.log" &&
    fail "a sanitizer report"
echo "rollout: inventory reported, changed, grouped; dry run, version targeting; a rollout halted" \
    "by itself, one done ($(((T1 - T0) / 1000000)) ms from the agents' start)"
