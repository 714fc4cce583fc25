#!/usr/bin/env bash
# kiosk-web against a real store (docs/WEB.md): one kiosk-web start, then web_api.py drives
# every route of docs/openapi.yaml as every role (generated from the file), the bad inputs,
# the static files' traversal attempts, and compares the file with the route table.
#
# The store: kiosk-provision's deployment, two terminals of two banks (ICBC, PSBC), the
# calendars stored by one short kioskd run (the SLA views read stored calendars only), the
# fixtures' contracts, a bill per bank for 2026-09, one open incident per terminal (written
# straight into sla_incidents: kioskd's engine makes them from a terminal's silence, which
# would cost this test minutes; the web reads them like any other) with the facts behind it
# (sla_facts, for the terminal's timeline), and a user per role.
source "$(dirname "$0")/lib.sh"
: "${KF_BIN_WEB:=$b/server/kiosk-web}"

it_init 0
it_provision_device KF-XH-0001 A-000001 Z-XH-003 "$IT_DIR/dev"
it_provision_device KF-XH-0002 A-000002 Z-XH-001 "$IT_DIR/dev"
it_calendar_dir
printf '[sla]\ncalendar_dir = %s\n[reports]\nweekly = 0\n' "$CAL" >>"$IT_DIR/kioskd.ini"
# kioskd's figures for /metrics (kioskd/metrics.c), written each stats interval (1 s here).
sed -i "s|^stats_file = .*|&\nmetrics_file = $IT_DIR/kioskd.prom|" "$IT_DIR/kioskd.ini"
it_start_broker
it_start_kioskd
it_wait_for 30 'grep -q "ready: subscribed, serving" "$IT_DIR/kioskd.log"' || fail "kioskd not ready"
it_wait_for 10 '[ -s "$IT_DIR/kioskd.prom" ]' || fail "kioskd wrote no metrics_file"
kf_stop "$KIOSKD_PID"
kf_stop "$BROKER_PID"

KEY=(--server-key "$IT_DIR/server.key")
WHO=(--by it --reason "web test")
ctl contract load "$KF_ROOT"/fixtures/contracts/*.json "${WHO[@]}" "${KEY[@]}" >/dev/null
ctl asset commission --all --at '2026-08-01 00:00' "${WHO[@]}" "${KEY[@]}" >/dev/null
ctl bill issue --all --month 2026-09 --by billing "${KEY[@]}" >"$IT_DIR/bills.out"
grep -q '^ICBC-' "$IT_DIR/bills.out" && grep -q '^PSBC-' "$IT_DIR/bills.out" || fail "bills"
ctl report week --week 2026-W40 --issue --by it "${KEY[@]}" >/dev/null
now=$(($(date +%s) * 1000))
for n in 1 2; do
    it_sql "INSERT INTO sla_incidents(asset_id, cause, state, attr, breached, detail, opened_ms,
        on_site_total_ms, n_reopened, n_attr_changes, n_notes, start_ms, spans, updated_ms)
        VALUES ('A-00000$n', 'offline', 'opened', 'company', 0, 'test', $((now - 600000)), 0,
        0, 0, 0, $((now - 720000)), '[[$((now - 720000)),null]]', $now)"
    # Its facts, written straight into sla_facts like the incident (an agent's connection
    # and a heartbeat expiry would cost minutes): online ten days ago (before the timeline's
    # default week: its initial row), its receipt printer jammed and back, a visit in
    # maintenance mode, then silent: the incident's drop.
    d=KF-XH-000$n
    it_sql "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, seq, value, src,
        periph, state, code, sev, who) VALUES
        ('A-00000$n', '$d', 'presence', $((now - 864000000)), $((now - 864000000)), NULL, 1,
         'connect', NULL, NULL, NULL, NULL, NULL),
        ('A-00000$n', '$d', 'periph', $((now - 5400000)), $((now - 5400000)), 1, 0, NULL,
         'receipt_printer', 'media_jam', NULL, NULL, NULL),
        ('A-00000$n', '$d', 'fault', $((now - 5400000)), $((now - 5400000)), 2, 1, NULL,
         'receipt_printer', NULL, 'PRN_JAM', 'major', NULL),
        ('A-00000$n', '$d', 'maint', $((now - 4800000)), $((now - 4800000)), 3, 1, NULL, NULL,
         NULL, NULL, NULL, 'T-07'),
        ('A-00000$n', '$d', 'periph', $((now - 4200000)), $((now - 4200000)), 4, 1, NULL,
         'receipt_printer', 'online', NULL, NULL, NULL),
        ('A-00000$n', '$d', 'fault', $((now - 4200000)), $((now - 4200000)), 5, 0, NULL,
         'receipt_printer', NULL, 'PRN_JAM', 'major', NULL),
        ('A-00000$n', '$d', 'maint', $((now - 3900000)), $((now - 3900000)), 6, 0, NULL, NULL,
         NULL, NULL, NULL, 'T-07'),
        ('A-00000$n', '$d', 'presence', $((now - 720000)), $((now - 600000)), NULL, 0,
         'heartbeat', NULL, NULL, NULL, NULL, NULL)"
done

printf '%s\n' 'pass-word-operator' >"$IT_DIR/pw"
chmod 600 "$IT_DIR/pw"
for u in ops:operator tech:technician icbc:bank:ICBC psbc:bank:PSBC bureau:bureau \
    gone:technician; do
    ctl user add "${u%%:*}" --role "${u#*:}" --display "${u%%:*} 用户" --password-file "$IT_DIR/pw" \
        "${WHO[@]}" "${KEY[@]}" >/dev/null
done
ctl user disable gone "${WHO[@]}" "${KEY[@]}" >/dev/null
ctl user token add ops --label it "${WHO[@]}" "${KEY[@]}" >"$IT_DIR/token.ops"
ctl user token add icbc --label it "${WHO[@]}" "${KEY[@]}" >"$IT_DIR/token.icbc"
ctl user token add ops --label expired "${WHO[@]}" "${KEY[@]}" >"$IT_DIR/token.expired"
ctl user token add ops --label revoked "${WHO[@]}" "${KEY[@]}" >"$IT_DIR/token.revoked"
# Expired: its expiry moved into the past (a token cannot be made expired).
it_sql "UPDATE api_tokens SET expires_ms = 1000 WHERE label = 'expired'"
rid=$(it_sql "SELECT id FROM api_tokens WHERE label = 'revoked'")
ctl user token revoke "$rid" "${WHO[@]}" "${KEY[@]}" >/dev/null

# A console directory: a page, an asset, and what must never be served.
CON=$IT_DIR/console
mkdir -p "$CON/assets" "$IT_DIR/outside"
echo '<!doctype html><title>console</title>' >"$CON/index.html"
echo 'console.log(1)' >"$CON/assets/app-3f9a1c2b.js"
echo 'secret' >"$IT_DIR/outside/secret.txt"
ln -s "$IT_DIR/outside/secret.txt" "$CON/assets/link.txt"
ln -s "$IT_DIR/outside" "$CON/out"

PORT=$(kf_free_port)
cat >"$IT_DIR/kiosk-web.conf" <<INI
[web]
listen = 127.0.0.1:$PORT
console_dir = $CON
server_key = $IT_DIR/server.key
access_log = $IT_DIR/access.log
coverage_targets = $KF_ROOT/fixtures/targets.ini
kioskd_metrics = $IT_DIR/kioskd.prom
[store]
path = $DB
[limits]
body_max = 4096
[session]
login_fail_max = 3
login_window_s = 60
INI
"$KF_BIN_WEB" --routes >"$IT_DIR/routes.json"
"$KF_BIN_WEB" -c "$IT_DIR/kiosk-web.conf" --check >/dev/null || fail "kiosk-web --check"
kf_spawn "$IT_DIR/kiosk-web.log" "$KF_BIN_WEB" -c "$IT_DIR/kiosk-web.conf"
WEB_PID=$KF_LAST_PID
kf_wait_port "$PORT" 20 || fail "kiosk-web does not listen"

# A second kiosk-web for the answer cache's own checks: a long max age and small bounds
# (web_api.py answer_cache). The first keeps the default cache, under every other check.
CPORT=$(kf_free_port)
sed -e "s/^listen = .*/listen = 127.0.0.1:$CPORT/" -e "/^access_log/d" \
    -e "s/^body_max = 4096/&\nanswer_max_age_ms = 3000\nanswer_cache_entries = 6\nanswer_cache_kb = 4/" \
    "$IT_DIR/kiosk-web.conf" >"$IT_DIR/kiosk-web-cache.conf"
kf_spawn "$IT_DIR/kiosk-web-cache.log" "$KF_BIN_WEB" -c "$IT_DIR/kiosk-web-cache.conf"
CWEB_PID=$KF_LAST_PID
kf_wait_port "$CPORT" 20 || fail "the second kiosk-web does not listen"

t0=$(date +%s.%N)
/usr/bin/python3 "$(dirname "$0")/web_api.py" --base "http://127.0.0.1:$PORT" --dir "$IT_DIR" \
    --openapi "$KF_ROOT/docs/openapi.yaml" --routes "$IT_DIR/routes.json" --db "$DB" \
    --cache-base "http://127.0.0.1:$CPORT" || fail "web_api.py"
echo "web_api.py: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

kill -TERM "$WEB_PID"
it_wait_for 15 '! kill -0 "$WEB_PID"' || fail "kiosk-web did not stop on SIGTERM"
wait "$WEB_PID" && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "kiosk-web exited $rc"
grep -q 'stopped' "$IT_DIR/kiosk-web.log" || fail "no clean stop"
kill -TERM "$CWEB_PID"
it_wait_for 15 '! kill -0 "$CWEB_PID"' || fail "the second kiosk-web did not stop on SIGTERM"
wait "$CWEB_PID" || fail "the second kiosk-web exited non-zero"
! grep -q 'Sanitizer\|runtime error' "$IT_DIR/kiosk-web-cache.log" || fail "sanitizer report (cache)"
! grep -q 'Sanitizer\|runtime error' "$IT_DIR/kiosk-web.log" || fail "sanitizer report"
[ "$(wc -l <"$IT_DIR/access.log")" -gt 50 ] || fail "access log"

# A call past request_ms (100 ms, the least): a login, whose password check (Argon2id, 64
# MiB) takes longer. The client gets a 504 problem that no cache keeps, while the check goes
# on on its pool thread; kiosk-web keeps serving, and stops cleanly after (the sanitizers
# watch the late answer and the work finishing after it).
LPORT=$(kf_free_port)
sed -e "s/^listen = .*/listen = 127.0.0.1:$LPORT/" -e "/^access_log/d" \
    -e "s/^body_max = 4096/&\nrequest_ms = 100/" "$IT_DIR/kiosk-web.conf" >"$IT_DIR/kiosk-web-late.conf"
printf '[log]\nlevel = info\n' >>"$IT_DIR/kiosk-web-late.conf"
kf_spawn "$IT_DIR/kiosk-web-late.log" "$KF_BIN_WEB" -c "$IT_DIR/kiosk-web-late.conf"
LWEB_PID=$KF_LAST_PID
kf_wait_port "$LPORT" 20 || fail "the third kiosk-web does not listen"
late=$(curl -s -D "$IT_DIR/late.h" -H 'Content-Type: application/json' \
    -d "{\"user\":\"ops\",\"password\":\"$(cat "$IT_DIR/pw")\"}" "http://127.0.0.1:$LPORT/api/v1/session")
grep -q '^HTTP/1.1 504' "$IT_DIR/late.h" && grep -qi '^cache-control: no-store' "$IT_DIR/late.h" &&
    [ "$(jq -r .status <<<"$late")" = 504 ] || fail "a late login: $(head -1 "$IT_DIR/late.h") $late"
! grep -qi '^set-cookie' "$IT_DIR/late.h" || fail "a late login set a session"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LPORT/healthz")" = 200 ] ||
    fail "kiosk-web after a late answer"
it_wait_for 15 'grep -q "login: ops from" "$IT_DIR/kiosk-web-late.log"' ||
    fail "the late login's work did not end"
kill -TERM "$LWEB_PID"
it_wait_for 15 '! kill -0 "$LWEB_PID"' || fail "the third kiosk-web did not stop on SIGTERM"
wait "$LWEB_PID" || fail "the third kiosk-web exited non-zero"
! grep -q 'Sanitizer\|runtime error' "$IT_DIR/kiosk-web-late.log" || fail "sanitizer report (late)"
echo "web_api: ok"
