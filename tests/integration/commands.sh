#!/usr/bin/env bash
# Commands to terminals on the real broker (issue 18; docs/PROTOCOL.md "COMMAND", docs/AGENT.md
# "Commands"): a probe to a zone of three agents, each done once; a replayed command, one
# signed by another key and one already expired, refused and counted by the agent; an agent
# killed with SIGKILL while a command's hook runs, which reports it interrupted once and never
# runs it again; a terminal offline when its commands were queued, which gets the live one on
# its return and not the expired one; restart-agent, maintenance, and set-config kept, and
# rolled back when the new broker uri cuts the terminal off.
source "$(dirname "$0")/lib.sh"

it_init 0
Z=Z-WG-001
for i in 1 2 3; do
    it_provision_device KF-WG-000$i A-00000$i $Z "$IT_DIR/dev"
done
INI1=$IT_DIR/dev/KF-WG-0001.ini INI2=$IT_DIR/dev/KF-WG-0002.ini
# Agent 1's restart_app hook: its first run hangs (to be killed mid-command), later ones work.
cat >"$IT_DIR/hook.sh" <<'SH'
echo $$ >>"$1/hook.runs"
if [ "$(wc -l <"$1/hook.runs")" -eq 1 ]; then exec sleep 30; fi
echo "app restarted"
SH
it_ini_set "$INI1" commands restart_app "/bin/sh $IT_DIR/hook.sh $IT_DIR"
it_ini_set "$INI1" commands hook_timeout_s 20
it_ini_set "$INI2" commands config_trial_s 5
printf '[sla]\ntick_s = 1\n[commands]\nresend_s = 30\n' >>"$IT_DIR/kioskd.ini"
it_start_broker
kioskd_ready() { # kioskd subscribed: a HELLO published before that would wait for a resend
    it_start_kioskd
    it_wait_for 20 'test "$(grep -c "ready: subscribed" "$IT_DIR/kioskd.log")" -ge '"$1" ||
        fail "kioskd never subscribed"
}
kioskd_ready 1

declare -A PID
start_agent() {
    rm -f "$IT_DIR/dev/KF-WG-000$1.sock"
    kf_spawn "$IT_DIR/agent$1.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/KF-WG-000$1.ini"
    PID[$1]=$KF_LAST_PID
}
online() { [ "$(it_sql "SELECT online FROM devices WHERE device_id = 'KF-WG-000$1'")" = 1 ]; }
hello() { [ "$(it_sql "SELECT agent IS NOT NULL FROM devices WHERE device_id = 'KF-WG-000$1'")" = 1 ]; }
results() { it_sql "SELECT count(*) FROM records WHERE device_id = 'KF-WG-000$1' AND type = 6"; }

for i in 1 2 3; do start_agent $i; done
for i in 1 2 3; do it_wait_for 20 "online $i && hello $i" || fail "agent $i never came online"; done

# 1. A probe to the zone: three commands, three done, one result each.
it_cmd_send --zone $Z probe >"$IT_DIR/send.out"
[ "$(grep -c 'queued' "$IT_DIR/send.out")" = 3 ] || fail "a zone of 3: $(cat "$IT_DIR/send.out")"
for id in 1 2 3; do it_cmd_wait $id done 20; done
for i in 1 2 3; do [ "$(results $i)" = 1 ] || fail "agent $i: $(results $i) results, want 1"; done
[ "$(it_sql "SELECT count(*) FROM audit_log WHERE action = 'command.send'")" = 3 ] ||
    fail "every command in the signed log"

# 2. Agent 3 goes offline; a command that expires while it is away, and one that waits.
kf_stop "${PID[3]}"
it_wait_for 10 '! online 3' || fail "agent 3 still online"
it_cmd_send KF-WG-0003 maintenance on T-0042 --expires 2s >/dev/null
EXPIRING=$(it_cmd_last)
it_cmd_send KF-WG-0003 probe >/dev/null
WAITING=$(it_cmd_last)
it_cmd_wait "$EXPIRING" expired 10
[ "$(it_cmd_status "$WAITING")" = queued ] || fail "C-$WAITING went to an offline terminal"

# 3. Frames only the server's account may publish: kioskd steps aside (its session is kept).
kf_stop "$KIOSKD_PID"
row=($(it_sql -separator ' ' "SELECT seq, created_ms, expires_ms FROM commands WHERE id = 1"))
now=$(($(date +%s) * 1000))
T=kf/v1/KF-WG-0001/cmd
"$KF_BIN_FORGE" cmd --key "$IT_DIR/server.key" --device KF-WG-0001 --seq "${row[0]}" --id C-1 \
    --issued "${row[1]}" --expires "${row[2]}" --out "$IT_DIR/replay.bin" probe
"$KF_BIN_FORGE" cmd --key "$IT_DIR/other.key" --keygen --device KF-WG-0001 --seq 100 --id C-100 \
    --issued "$now" --expires $((now + 3600000)) --out "$IT_DIR/forged.bin" reboot
"$KF_BIN_FORGE" cmd --key "$IT_DIR/server.key" --device KF-WG-0001 --seq 101 --id C-101 \
    --issued $((now - 7200000)) --expires $((now - 3600000)) --out "$IT_DIR/expired.bin" probe
for f in replay forged expired; do
    it_pub _kioskd "$IT_DIR/kioskd.password" -q 1 -t $T -f "$IT_DIR/$f.bin"
done
it_wait_for 10 'test "$(grep -c "refused a command" "$IT_DIR/agent1.log")" -ge 1' ||
    fail "agent 1 logged no refusal"
sleep 1
kioskd_ready 2
[ "$(results 1)" = 1 ] || fail "a refused command was reported or run: $(results 1) results"

# 4. The offline terminal returns: the waiting command is done, the expired one never sent.
start_agent 3
it_cmd_wait "$WAITING" done 20
[ "$(it_cmd_status "$EXPIRING")" = expired ] || fail "C-$EXPIRING is $(it_cmd_status "$EXPIRING")"
[ "$(results 3)" = 2 ] || fail "agent 3: $(results 3) results, want 2 (probe, probe)"
[ "$(it_sql "SELECT count(*) FROM records WHERE device_id = 'KF-WG-0003' AND type = 5")" = 0 ] ||
    fail "the expired maintenance command ran"

# 5. SIGKILL while a command's hook runs: reported once, interrupted, never run again.
it_cmd_send KF-WG-0001 restart-app >/dev/null
HUNG=$(it_cmd_last)
it_wait_for 20 'test -s "$IT_DIR/hook.runs"' || fail "the restart_app hook never ran"
it_cmd_wait "$HUNG" received 5
kill -KILL "${PID[1]}"
wait "${PID[1]}" 2>/dev/null || true
kill -TERM "$(head -1 "$IT_DIR/hook.runs")" 2>/dev/null || true # the orphaned hook
start_agent 1
it_cmd_wait "$HUNG" failed 20
ctl cmd show "$HUNG" --format csv | grep -q interrupted || fail "C-$HUNG: not reported interrupted"
[ "$(wc -l <"$IT_DIR/hook.runs")" = 1 ] || fail "the interrupted hook ran again"
it_cmd_send KF-WG-0001 restart-app >/dev/null
OK=$(it_cmd_last)
it_cmd_wait "$OK" done 20
ctl cmd show "$OK" --format csv | grep -q "app restarted" || fail "C-$OK: the hook's output is missing"
[ "$(results 1)" = 3 ] || fail "agent 1: $(results 1) results, want 3"

# 6. Maintenance from afar, restart-agent, set-config kept and rolled back.
it_cmd_send KF-WG-0002 maintenance on T-0042 >/dev/null
it_cmd_wait "$(it_cmd_last)" done 20
[ "$(it_sql "SELECT count(*) FROM records WHERE device_id = 'KF-WG-0002' AND type = 5")" = 1 ] ||
    fail "no maint record from the maintenance command"
it_cmd_send KF-WG-0003 restart-agent >/dev/null
it_cmd_wait "$(it_cmd_last)" done 20
it_cmd_send KF-WG-0002 set-config batch.flush_interval_ms 500 >/dev/null
it_cmd_wait "$(it_cmd_last)" done 30
DEAD=$(kf_free_port)
it_cmd_send KF-WG-0002 set-config mqtt.uri "ssl://127.0.0.1:$DEAD" >/dev/null
CUT=$(it_cmd_last)
it_cmd_wait "$CUT" failed 40
ctl cmd show "$CUT" --format csv | grep -q "rolled back" || fail "C-$CUT: not rolled back"
grep -q "mqtt.uri = ssl://127.0.0.1:$DEAD (set by the server, on trial" "$IT_DIR/agent2.log" ||
    fail "agent 2 never tried the new uri"
it_wait_for 20 'online 2' || fail "agent 2 did not come back after the rollback"

# 7. The refusals, counted by the agent (its stop line) and reported in its HELLO.
kf_stop "${PID[1]}"
grep -q "refused: bad_signature 1, other_device 0, expired 1, replayed 1" "$IT_DIR/agent1.log" ||
    fail "agent 1's counters: $(grep 'commands accepted' "$IT_DIR/agent1.log" | tail -1)"
start_agent 1
it_wait_for 20 'test "$(it_sql "SELECT json_extract(refused, '"'"'$.replayed'"'"') FROM cmd_devices WHERE device_id = '"'"'KF-WG-0001'"'"'")" = 1' ||
    fail "the HELLO's refusals never reached the server: $(ctl cmd refused --format csv)"
ctl cmd list --format csv >"$IT_DIR/list.csv"
for i in 1 2 3; do kf_stop "${PID[$i]}"; done
grep -q "ERROR: AddressSanitizer\|runtime error" "$IT_DIR"/agent*.log "$IT_DIR/kioskd.log" &&
    fail "a sanitizer report"
echo "commands: $(($(wc -l <"$IT_DIR/list.csv") - 1)) commands, each reported once; refusals counted"
