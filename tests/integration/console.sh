#!/usr/bin/env bash
# The console in a real browser (docs/guides/CONSOLE.md): Debian's chromium driven by npm's
# playwright-core (tests/browser/console.test.mjs) against a real kiosk-web serving the
# built console (${KF_BUILD_DIR}/console) over a real store, with kioskd running so that a
# technician's acknowledgement is applied by the engine, as in production.
#
# The store: the deployment; an ITM of ICBC in a 24-hour lobby (Z-XH-004) whose agent runs
# and is then killed with SIGKILL, so kioskd opens a real offline incident (grace 3 s); a
# kiosk of PSBC (Z-XH-001), registered, so a bank's fleet has another bank's terminal to
# leave out; the contracts, the terminals in service from 2026-08-01, September's bills,
# the weekly report of 2026-W40 and the assessment of 2026-H1 issued; a user per role. The test logs in as each role and
# checks what it sees and does (CONSOLE.md "What the browser test checks"); screenshots of
# every page in both languages are kept in ${KF_BUILD_DIR}/test-artifacts/console.
source "$(dirname "$0")/lib.sh"
T_START=$(date +%s)
: "${KF_BIN_WEB:=$b/server/kiosk-web}" "${KF_BUILD_DIR:=$b}"

CONSOLE=$KF_BUILD_DIR/console
[ -f "$CONSOLE/assets/vendor/echarts.min.js" ] || fail "no built console in $CONSOLE (npm missing at configure time?)"
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (scripts/lib.sh kf_install_deps installs it)"

# The test's own npm dependency (playwright-core, pinned by its lockfile), installed once
# per build tree, outside the source tree; the browser is Debian's, never downloaded.
BT=$KF_BUILD_DIR/browser-test
if ! cmp -s "$KF_ROOT/tests/browser/package-lock.json" "$BT/package-lock.json" ||
    [ ! -d "$BT/node_modules/playwright-core" ]; then
    mkdir -p "$BT"
    cp "$KF_ROOT/tests/browser/package.json" "$KF_ROOT/tests/browser/package-lock.json" "$BT/"
    (cd "$BT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund \
        --loglevel=error) || fail "npm ci (tests/browser)"
fi
cp "$KF_ROOT/tests/browser/console.test.mjs" "$BT/"

it_init 0
ITM=KF-XH-0401
it_provision_device $ITM A-000401 Z-XH-004 "$IT_DIR/dev" itm
it_provision_device KF-XH-0101 A-000101 Z-XH-001 "$IT_DIR/dev"
printf '[batch]\nflush_interval_ms = 200\n' >>"$IT_DIR/dev/$ITM.ini"
it_calendar_dir
printf '[sla]\ncalendar_dir = %s\ngrace_s = 3\ntick_s = 1\n[reports]\nweekly = 0\n' "$CAL" \
    >>"$IT_DIR/kioskd.ini"

# A first kioskd run stores the calendars (the documents below read stored calendars only).
it_start_broker
it_start_kioskd
it_wait_for 30 'grep -q "ready: subscribed, serving" "$IT_DIR/kioskd.log"' || fail "kioskd not ready"
kf_stop "$KIOSKD_PID"

KEY=(--server-key "$IT_DIR/server.key")
WHO=(--by it --reason "console test")
ctl contract load "$KF_ROOT"/fixtures/contracts/*.json "${WHO[@]}" "${KEY[@]}" >/dev/null
ctl asset commission --all --at '2026-08-01 00:00' "${WHO[@]}" "${KEY[@]}" >/dev/null
ctl bill issue --all --month 2026-09 --by billing "${KEY[@]}" >"$IT_DIR/bills.out"
grep -q '^ICBC-' "$IT_DIR/bills.out" || fail "no ICBC bill: $(cat "$IT_DIR/bills.out")"
ctl report week --week 2026-W40 --issue --by it "${KEY[@]}" >/dev/null
ctl rubric load "$KF_ROOT/fixtures/rubric/default-2026.json" "${WHO[@]}" "${KEY[@]}" >/dev/null
ctl assess issue 2026-H1 --by it "${KEY[@]}" >/dev/null
printf '%s\n' 'console-pass-word' >"$IT_DIR/pw"
chmod 600 "$IT_DIR/pw"
for u in ops:operator tech:technician icbc:bank:ICBC bureau:bureau; do
    ctl user add "${u%%:*}" --role "${u#*:}" --password-file "$IT_DIR/pw" "${WHO[@]}" \
        "${KEY[@]}" >/dev/null
done

# A real incident: the ITM comes online, then its agent dies; the broker publishes its will
# and kioskd opens an offline incident after the grace.
it_start_kioskd
it_wait_for 30 'grep -q "ready: subscribed, serving" "$IT_DIR/kioskd.log"' || fail "kioskd not ready"
kf_spawn "$IT_DIR/agent.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/$ITM.ini"
AGENT_PID=$KF_LAST_PID
it_wait_for 30 'test "$(it_sql "SELECT online FROM devices WHERE device_id = '"'$ITM'"'")" = 1' ||
    fail "the ITM never came online"
kill -KILL "$AGENT_PID"
it_wait_for 30 'test -n "$(it_sql "SELECT id FROM sla_incidents WHERE asset_id = '"'A-000401'"'
    AND cause = '"'offline'"' AND state = '"'opened'"'")"' || fail "no offline incident opened"

# A rollout for the Commands page: a probe to Z-XH-001's kiosk (offline: it stays queued).
ctl cmd send probe --zone Z-XH-001 --canary 1 "${WHO[@]}" "${KEY[@]}" >/dev/null 2>&1 ||
    fail "the rollout"

PORT=$(kf_free_port)
cat >"$IT_DIR/kiosk-web.conf" <<INI
[web]
listen = 127.0.0.1:$PORT
console_dir = $CONSOLE
server_key = $IT_DIR/server.key
access_log = $IT_DIR/access.log
coverage_targets = $KF_ROOT/fixtures/targets.ini
[store]
path = $DB
INI
kf_spawn "$IT_DIR/kiosk-web.log" "$KF_BIN_WEB" -c "$IT_DIR/kiosk-web.conf"
WEB_PID=$KF_LAST_PID
kf_wait_port "$PORT" 20 || fail "kiosk-web does not listen"

SHOTS=$KF_BUILD_DIR/test-artifacts/console
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
users=$(printf '{"operator":{"user":"ops","password":"%s"},"technician":{"user":"tech","password":"%s"},"bank:ICBC":{"user":"icbc","password":"%s"},"bureau":{"user":"bureau","password":"%s"}}' \
    "$(cat "$IT_DIR/pw")" "$(cat "$IT_DIR/pw")" "$(cat "$IT_DIR/pw")" "$(cat "$IT_DIR/pw")")
t0=$(date +%s)
# The tour of every page in Chinese only, to keep the suite short (KF_WEB_TOUR=zh,en by hand);
# the English switch is checked on its own.
(cd "$BT" && KF_WEB_URL="http://127.0.0.1:$PORT" KF_WEB_USERS="$users" KF_WEB_SHOTS="$SHOTS" \
    KF_WEB_TOUR=${KF_WEB_TOUR:-zh} node console.test.mjs) >"$IT_DIR/browser.log" 2>&1 ||
    { cat "$IT_DIR/browser.log"; fail "console.test.mjs"; }
cat "$IT_DIR/browser.log"
echo "browser test: $(($(date +%s) - t0)) s (setup before it: $((t0 - T_START)) s); screenshots in $SHOTS"
[ "$(find "$SHOTS" -name '*.png' | wc -l)" -ge 10 ] || fail "too few screenshots"

# What the browser did is in the store: the technician's acknowledgement, applied by kioskd,
# and the bank's dispute, in the signed log.
[ -n "$(it_sql "SELECT id FROM sla_incidents WHERE asset_id = 'A-000401' AND acked_by IS NOT NULL")" ] ||
    fail "the acknowledgement is not in the store"
[ "$(it_sql "SELECT count(*) FROM audit_log WHERE action = 'bill.dispute'")" -ge 1 ] ||
    fail "the dispute is not in the signed log"
[ "$(it_sql "SELECT count(*) FROM commands WHERE by = 'tech' AND kind = 'probe'")" = 1 ] ||
    fail "the technician's probe is not in the store: $(it_sql "SELECT * FROM cmd_requests")"
[ "$(it_sql "SELECT count(*) FROM commands WHERE kind = 'reboot'")" = 0 ] || fail "a reboot was queued"
ctl audit verify --server-pub "$IT_DIR/server.key.pub" >/dev/null || fail "the signed log"

kill -TERM "$WEB_PID"
it_wait_for 15 '! kill -0 "$WEB_PID"' || fail "kiosk-web did not stop on SIGTERM"
! grep -q 'Sanitizer\|runtime error' "$IT_DIR/kiosk-web.log" || fail "sanitizer report"
echo "console: ok"
