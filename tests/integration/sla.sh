#!/usr/bin/env bash
# Fleet state, incidents and the SLA clock, end to end (docs/SLA.md, docs/KIOSKD.md "SLA"):
# a real broker, kioskd and two kiosk-agents. Through terminal A's app socket a critical
# fault is raised: an incident opens and is announced (log, MQTT notification topic read by
# the "_notify" account, webhook POST to a listener here); a technician acknowledges it with
# kioskctl, puts the terminal into maintenance mode at the terminal (on-site time measured),
# the fault clears (resolved, announced), and the incident is closed. Terminal B's agent is
# killed with SIGKILL: the broker publishes its will, and after the grace an offline incident
# opens; restarted, it resolves. The month's report printed twice is byte-identical.
# B is an ITM in a 24-hour self-service lobby: an offline terminal's grace runs in service
# time, so a kiosk killed outside its branch's hours would (rightly) open nothing, and this
# test must pass at any hour.
source "$(dirname "$0")/lib.sh"

A=KF-WG-0001 B=KF-XH-0102
it_init 0
it_provision_device $A A-000001 Z-WG-001 "$IT_DIR/dev"
it_provision_device $B A-000002 Z-XH-004 "$IT_DIR/dev" itm
# Short agent timers: records go out within 200 ms, and a HELLO whose answer was missed is
# sent again after 3 s rather than 30.
for d in $A $B; do
    printf '[batch]\nflush_interval_ms = 200\nack_timeout_ms = 3000\n' >>"$IT_DIR/dev/$d.ini"
done
# The shipped holiday files and, for a year without one, a test-only file (lib.sh).
it_calendar_dir
HOOK_PORT=$(kf_free_port)
cat >>"$IT_DIR/kioskd.ini" <<INI
[sla]
calendar_dir = $CAL
grace_s = 3
tick_s = 1
notify_topic = kf/v1/_notify/sla
webhook_url = http://127.0.0.1:$HOOK_PORT/kioskfleet/sla
webhook_timeout_ms = 2000
webhook_retries = 3
INI
# A reader of the announcements (the broker's ACL lets "_notify" read kf/v1/_notify/#).
"$KF_BIN_PROVISION" notify-account --db "$DB" --out "$IT_DIR/notify.password" \
    >>"$IT_DIR/provision.log" 2>&1
it_start_broker
it_start_kioskd

# The webhook's receiver: one connection at a time, answered 200, requests appended to a
# file. The loop stops its nc when it is stopped, so nothing outlives the test.
kf_spawn "$IT_DIR/hook.log" bash -c 'trap "kill \$p 2>/dev/null; exit 0" TERM
    while :; do
        printf "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" |
            nc -N -l 127.0.0.1 '"$HOOK_PORT"' >>"'"$IT_DIR"'/hook.requests" & p=$!
        wait $p
    done'
HOOK_PID=$KF_LAST_PID
kf_spawn "$IT_DIR/notify.log" stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" \
    --cafile "$CA" -u _notify -P "$(cat "$IT_DIR/notify.password")" -t 'kf/v1/_notify/sla' -q 1
SUB_PID=$KF_LAST_PID

declare -A AGENT_PID
start_agent() {
    local sock=$IT_DIR/dev/$1.sock # (it_wait_for evaluates its condition in its own scope)
    rm -f "$sock"
    kf_spawn "$IT_DIR/agent-$1.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/$1.ini"
    AGENT_PID[$1]=$KF_LAST_PID
    it_wait_for 10 'test -S "$sock"' || fail "agent $1: no app socket"
}
app() { # DEVICE JSON-LINE: one line to the terminal's app socket, the reply back
    printf '%s\n' "$2" | nc -U -q 2 "$IT_DIR/dev/$1.sock"
}
inc_col() { # ID COLUMN: one column of an incident, from the store
    sqlite3 "$DB" "SELECT $2 FROM sla_incidents WHERE id = $1"
}
incident_for() { # ASSET CAUSE: the newest incident's id
    sqlite3 "$DB" "SELECT max(id) FROM sla_incidents WHERE asset_id = '$1' AND cause = '$2'"
}

start_agent $A
start_agent $B
it_wait_for 30 'test "$(sqlite3 "$DB" "SELECT count(*) FROM devices WHERE online = 1")" = 2' ||
    fail "the two terminals never came online"
it_wait_for 15 'ctl state | grep -q "^A-000001 .* up "' || { ctl state; fail "A is not up"; }

# (a) A critical fault opens an incident at once and is announced three ways.
reply=$(app $A '{"t":"fault","code":"SCR-TOUCH","sev":"critical","action":"raise","dev":"screen","text":"touch panel unresponsive"}')
echo "$reply" | grep -q '"ok":true' || fail "fault refused: $reply"
it_wait_for 20 'test -n "$(incident_for A-000001 SCR-TOUCH)"' || fail "(a) no incident opened"
ID=$(incident_for A-000001 SCR-TOUCH)
ctl incidents
ctl --format csv incidents >"$IT_DIR/queue.csv"
grep -q "^$ID,A-000001,$A,Z-WG-001,[^,]*,[A-Z]*,[^,]*,SCR-TOUCH,screen,company,opened," "$IT_DIR/queue.csv" ||
    fail "(a) incident $ID not in the queue as expected: $(cat "$IT_DIR/queue.csv")"
ctl state --device $A >"$IT_DIR/state.txt"
# Every item needs the screen: a critical screen fault makes the terminal down, not degraded.
grep -q " down " "$IT_DIR/state.txt" && grep -q "SCR-TOUCH(critical)" "$IT_DIR/state.txt" ||
    fail "(a) A's state does not show the fault: $(cat "$IT_DIR/state.txt")"
it_wait_for 10 'grep -q "\"event\":\"opened\",\"incident\":$ID" "$IT_DIR/notify.log"' ||
    fail "(a) no MQTT notification of the opening"
it_wait_for 15 'grep -q "\"event\":\"opened\",\"incident\":$ID" "$IT_DIR/hook.requests"' ||
    fail "(a) the webhook received no POST"
grep -q "^POST /kioskfleet/sla HTTP/1.1" "$IT_DIR/hook.requests" || fail "(a) not a POST"
grep -q "sla: incident $ID opened" "$IT_DIR/kioskd.log" || fail "(a) no log line"
echo "(a) ok: incident $ID opened; announced in the log, on MQTT and to the webhook"

# (b) Acknowledged through kioskctl (an action kioskd applies), twice refused. A bulk with
# one wrong id queues nothing and names it (docs/KIOSKCTL.md, "Actions").
n_act=$(sqlite3 "$DB" "SELECT count(*) FROM sla_actions")
ctl ack "$ID" 999999 --by wang >"$IT_DIR/bulk.out" 2>&1 && fail "(b) a bulk with a bad id was queued"
grep -q "ack: no incident 999999; nothing was queued" "$IT_DIR/bulk.out" ||
    fail "(b) bulk: $(cat "$IT_DIR/bulk.out")"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM sla_actions")" = "$n_act" ] || fail "(b) bulk: half queued"
out=$(ctl ack "$ID" --by wang --note "on my way")
echo "$out"
echo "$out" | grep -q "now acknowledged" || fail "(b) ack not applied: $out"
ctl ack "$ID" --by wang >"$IT_DIR/ack2.out" 2>&1 && fail "(b) a second ack was accepted"
grep -q "refused" "$IT_DIR/ack2.out" || fail "(b) no refusal: $(cat "$IT_DIR/ack2.out")"
[ "$(inc_col "$ID" acked_by)" = wang ] || fail "(b) acked_by is not wang"
echo "(b) ok: acknowledged by wang through kioskctl; a second ack refused"

# (c) The technician at the terminal: maintenance mode measures the visit.
app $A '{"t":"maint","state":"on","tech":"T-0042"}' | grep -q '"ok":true' || fail "(c) maint on refused"
it_wait_for 15 'test "$(inc_col "$ID" state)" = on_site' || fail "(c) not on site: $(inc_col "$ID" state)"
[ "$(inc_col "$ID" on_site_by)" = T-0042 ] || fail "(c) on site by $(inc_col "$ID" on_site_by)"
sleep 2
# (d) The fault clears: resolved and announced; then maintenance mode ends the visit.
app $A '{"t":"fault","code":"SCR-TOUCH","sev":"critical","action":"clear","dev":"screen"}' |
    grep -q '"ok":true' || fail "(d) clear refused"
app $A '{"t":"maint","state":"off","tech":"T-0042"}' | grep -q '"ok":true' || fail "(d) maint off refused"
it_wait_for 15 'test "$(inc_col "$ID" state)" = resolved' || fail "(d) not resolved: $(inc_col "$ID" state)"
it_wait_for 15 'test "$(inc_col "$ID" on_site_since_ms)" = ""' || fail "(d) the visit did not end"
onsite_ms=$(inc_col "$ID" on_site_total_ms)
[ "$onsite_ms" -ge 1500 ] || fail "(d) on-site time measured $onsite_ms ms, want >= 1500"
it_wait_for 10 'grep -q "\"event\":\"resolved\",\"incident\":$ID" "$IT_DIR/notify.log"' ||
    fail "(d) no MQTT notification of the resolution"
it_wait_for 15 'grep -q "\"event\":\"resolved\",\"incident\":$ID" "$IT_DIR/hook.requests"' ||
    fail "(d) no webhook POST of the resolution"
ctl incident "$ID" >"$IT_DIR/incident.txt"
cat "$IT_DIR/incident.txt"
grep -q "maintenance mode at the terminal" "$IT_DIR/incident.txt" ||
    fail "(d) the history does not show the measured visit"
out=$(ctl close "$ID" --by wang --note "panel replaced")
echo "$out" | grep -q "now closed" || fail "(d) close not applied: $out"
echo "(d) ok: on site ${onsite_ms} ms (measured), resolved when the fault cleared, closed"

# (e) A terminal killed outright: its will, the grace, an offline incident; back, resolved.
kill -KILL "${AGENT_PID[$B]}"
wait "${AGENT_PID[$B]}" 2>/dev/null || true
it_wait_for 30 'test -n "$(incident_for A-000002 offline)"' || fail "(e) no offline incident"
OFF=$(incident_for A-000002 offline)
inc_col "$OFF" detail | grep -q "last will" || fail "(e) not opened from the will: $(inc_col "$OFF" detail)"
start_agent $B
it_wait_for 30 'test "$(inc_col "$OFF" state)" = resolved' || fail "(e) offline incident not resolved"
echo "(e) ok: SIGKILL -> will -> incident $OFF after the grace -> back online -> resolved"

# (f') A planned window is entered ahead of time, never after the fact.
from=$(TZ=Asia/Shanghai date -d '+1 hour' '+%Y-%m-%d %H:%M')
to=$(TZ=Asia/Shanghai date -d '+3 hour' '+%Y-%m-%d %H:%M')
ctl window add --device $A --from "$from" --to "$to" --reason "touch panel swap" --by wang |
    grep -q "^window 1: terminal $A" || fail "(f') window not entered"
ctl window add --zone Z-WG-001 --from "2026-01-01 09:00" --to "2026-01-01 10:00" --reason late \
    --by wang >"$IT_DIR/window2.out" 2>&1 && fail "(f') a window in the past was accepted"
grep -q "ahead of time" "$IT_DIR/window2.out" || fail "(f') $(cat "$IT_DIR/window2.out")"
ctl --format csv window list | grep -q "^1,A-000001,,.*,touch panel swap,wang," ||
    fail "(f') window list: $(ctl --format csv window list)"
echo "(f') ok: a window entered ahead of time; one in the past refused"

# (f) The month's report: the same bytes every time, from the database alone.
month=$(TZ=Asia/Shanghai date +%Y-%m)
asof="$(TZ=Asia/Shanghai date '+%Y-%m-%d %H:%M:%S')"
for fmt in table csv json; do
    ctl --format $fmt sla --month "$month" --by bank --as-of "$asof" >"$IT_DIR/sla1.$fmt"
    ctl --format $fmt sla --month "$month" --by bank --as-of "$asof" >"$IT_DIR/sla2.$fmt"
    cmp "$IT_DIR/sla1.$fmt" "$IT_DIR/sla2.$fmt" || fail "(f) sla --format $fmt differs between runs"
done
cat "$IT_DIR/sla1.table"
grep -q "^$month,[^,]*,terminal,A-000001," <(ctl --format csv sla --month "$month" --as-of "$asof") ||
    fail "(f) no terminal row for A-000001"
kf_stop "$KIOSKD_PID"
ctl sla --month "$month" --format csv >"$IT_DIR/sla3.csv"
ctl sla --month "$month" --format csv >"$IT_DIR/sla4.csv"
cmp "$IT_DIR/sla3.csv" "$IT_DIR/sla4.csv" || fail "(f) the report changed between two runs"
echo "(f) ok: sla --month $month printed twice, byte-identical (table, CSV, JSON)"

# (g) kioskd is down: an action is queued, and applied when it is back.
out=$(ctl note "$OFF" --by wang --text "cable checked" --wait 2)
echo "$out" | grep -q "queued" || fail "(g) not reported as queued: $out"
it_start_kioskd
it_wait_for 20 'test "$(sqlite3 "$DB" "SELECT status FROM sla_actions ORDER BY id DESC LIMIT 1")" = done' ||
    fail "(g) the queued note was not applied after the restart"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM sla_notices WHERE kind = 'opened'")" = 2 ] ||
    fail "(g) announcements repeated after the restart"
echo "(g) ok: with kioskd down the note was queued, and applied once it was back; nothing announced twice"
kf_stop "$KIOSKD_PID"

# (h) Incidents are evidence: recomputed from the runs kioskd sealed in the signed log, they
# match across its restarts; the issue's tamper (an attribution rewritten, its events
# deleted) is named (docs/SLA.md 12).
ctl --format json verify >"$IT_DIR/verify.json" || { cat "$IT_DIR/verify.json"; fail "(h) verify not clean"; }
[ "$(jq .incidents_recomputed "$IT_DIR/verify.json")" -ge 2 ] || fail "(h) incidents not recomputed"
cp "$DB" "$IT_DIR/copy.db"
sqlite3 "$IT_DIR/copy.db" "UPDATE sla_incidents SET attr = 'force_majeure' WHERE id = $OFF;
    DELETE FROM sla_events WHERE kind = 'attribute'"
rc=0
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/copy.db" verify >"$IT_DIR/verify-tampered.txt" || rc=$?
[ "$rc" = 3 ] && grep -q "incident $OFF: attr: stored force_majeure" "$IT_DIR/verify-tampered.txt" ||
    { cat "$IT_DIR/verify-tampered.txt"; fail "(h) the rewritten attribution was not found (rc=$rc)"; }
[ "$(jq .windows_checked "$IT_DIR/verify.json")" -ge 1 ] || fail "(h) no planned window checked"
cp "$DB" "$IT_DIR/copy2.db"
sqlite3 "$IT_DIR/copy2.db" "UPDATE sla_windows SET end_ms = end_ms + 3600000"
rc=0
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/copy2.db" verify >"$IT_DIR/verify-window.txt" || rc=$?
[ "$rc" = 3 ] && grep -q "planned window .* was changed" "$IT_DIR/verify-window.txt" ||
    { cat "$IT_DIR/verify-window.txt"; fail "(h) a lengthened planned window was not found (rc=$rc)"; }
echo "(h) ok: $(jq .incidents_recomputed "$IT_DIR/verify.json") incidents recomputed from $(jq .sla_runs_sealed "$IT_DIR/verify.json") sealed runs; the tampered copies (an attribution, a planned window) fail verify"
kf_stop "$SUB_PID"
kf_stop "$HOOK_PID"
echo "sla: incidents opened, acknowledged, measured on site, resolved, closed and announced; reports reproducible"
