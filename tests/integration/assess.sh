#!/usr/bin/env bash
# The bureau's half-year assessment through kioskctl, end to end on a real store (docs/REPORTS.md
# 3.12): a rubric loaded (a bad one refused naming its field), a draft, an issue refused before
# the half-year is over, then 2026-H1 and 2026-H2 issued under faketime after each period,
# verified (digest, signature, log entry, recompute), a zone proposed after two failures and
# the bureau's decisions (one refused: a zone not proposed), the watchlist, a superseding
# version only with a reason, and an issued document edited by hand in the database: found.
#
# The store is filled as the ingest and kioskctl fill it (assets in service, usage_daily with
# what the commit writes beside it: its rollups, the device and its days; connection facts): the assessment reads tables, not processes, and a year of traffic
# through a broker would take a year.
source "$(dirname "$0")/lib.sh"

command -v faketime >/dev/null || fail "faketime is not installed (scripts/lib.sh KF_PACKAGES)"
it_init 0
KEY=(--server-key "$IT_DIR/server.key")
PUB=$IT_DIR/server.key.pub
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }
day() { echo $(($(TZ=Asia/Shanghai date -d "$1" +%s) / 86400)); } # local day, UTC+8: +8h < 1 day
ms() { echo "$(TZ=Asia/Shanghai date -d "$1" +%s)000"; }
# at 'YYYY-MM-DD HH:MM:SS' ARGS...: kioskctl with its clock frozen then.
# After usage_daily is written by hand: what the group commit writes with it (docs/STORE.md):
# the rollups by month and year, the device of each asset and device_days.
derived() {
    sql "DELETE FROM usage_monthly; DELETE FROM usage_yearly;
         INSERT INTO usage_monthly SELECT CAST(strftime('%Y%m', day * 86400, 'unixepoch') AS INTEGER),
         device_id, zone_id, item, sum(ok), sum(failed), sum(abandoned), sum(dur_ms_total)
         FROM usage_daily GROUP BY 1, device_id, zone_id, item;
         INSERT INTO usage_yearly SELECT month / 100, device_id, zone_id, item, sum(ok),
         sum(failed), sum(abandoned), sum(dur_ms_total) FROM usage_monthly
         GROUP BY 1, device_id, zone_id, item;
         INSERT OR IGNORE INTO devices(device_id, asset_id, created_ms, state_since_ms)
         SELECT DISTINCT device_id, asset_id, 0, 0 FROM usage_daily
         WHERE asset_id IN (SELECT asset_id FROM assets);
         INSERT OR IGNORE INTO device_days SELECT DISTINCT day, device_id FROM usage_daily"
}
at() {
    local t=$1
    shift
    TZ=Asia/Shanghai it_faketime "$t" "$KF_BIN_KIOSKCTL" --db "$DB" "$@"
}

# The 2026 calendar, as kioskd stores each file it loads.
python3 - "$DB" "$KF_ROOT/fixtures/calendar/cn-2026.ini" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO sla_calendars VALUES (2026, ?, 'fixtures', 0)", (open(sys.argv[2]).read(),))
db.commit()
PY
# Z-WG-001 (ABC): two kiosks, busy; Z-WG-002 (PDSRCB): two kiosks, never used. In service and
# reporting since December 2025.
T0=$(ms '2025-12-01 00:00')
for a in W1:Z-WG-001:ABC W2:Z-WG-001:ABC X1:Z-WG-002:PDSRCB X2:Z-WG-002:PDSRCB; do
    IFS=: read -r asset zone bank <<<"$a"
    sql "INSERT INTO assets VALUES ('$asset', 1, '$zone', NULL, $T0);
         INSERT INTO asset_service(asset_id, bank, zone_id, from_ms, commissioned_by, commission_reason)
         VALUES ('$asset', '$bank', '$zone', $T0, 'tech:li', 'accepted');
         INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value, src)
         VALUES ('$asset', 'D-$asset', 'presence', $T0, $T0, 1, 'connect')"
done
for asset in W1 W2; do
    sql "WITH RECURSIVE d(x) AS (SELECT $(day 2026-01-01) UNION ALL SELECT x + 1 FROM d
         WHERE x + 1 < $(day 2027-01-01))
         INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok, failed)
         SELECT x, 'Z-WG-001', '$asset', 'D-$asset', i.code, 6, 1 FROM d,
         (SELECT code FROM items ORDER BY code LIMIT 40) i"
done
derived

# A rubric with a weight that does not add up: refused, naming the field.
python3 - "$KF_ROOT/fixtures/rubric/default-2026.json" "$IT_DIR/bad.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["criteria"][0]["weight"] += 1
json.dump(r, open(sys.argv[2], "w"), ensure_ascii=False)
PY
rc=0
ctl rubric load "$IT_DIR/bad.json" --by bureau:zhao --reason test "${KEY[@]}" 2>"$IT_DIR/bad.err" || rc=$?
[ $rc = 2 ] && grep -q "weight" "$IT_DIR/bad.err" || fail "a bad rubric: rc $rc $(cat "$IT_DIR/bad.err")"
ctl rubric load "$KF_ROOT/fixtures/rubric/default-2026.json" --by bureau:zhao \
    --reason "the 2026 rubric, bureau meeting of 5 January" "${KEY[@]}" >/dev/null || fail "rubric load"

# A draft, and no issue before the half-year is over.
at '2026-06-20 10:00:00' --format csv assess run 2026-H1 >"$IT_DIR/draft.csv" 2>/dev/null || fail "draft"
grep -q '^Z-WG-001,WG,ABC,' "$IT_DIR/draft.csv" || fail "the draft has no Z-WG-001: $(head -3 "$IT_DIR/draft.csv")"
rc=0
at '2026-06-20 10:00:00' assess issue 2026-H1 --by bureau:zhao "${KEY[@]}" >"$IT_DIR/early.out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "issued before the period's end: rc $rc $(cat "$IT_DIR/early.out")"

at '2026-07-02 09:00:00' assess issue 2026-H1 --by bureau:zhao "${KEY[@]}" >"$IT_DIR/h1.out" ||
    fail "issue 2026-H1"
grep -q "assessment 2026-H1 version 1 issued" "$IT_DIR/h1.out" || fail "$(cat "$IT_DIR/h1.out")"
rc=0
at '2026-07-03 09:00:00' assess issue 2026-H1 --by bureau:zhao "${KEY[@]}" >"$IT_DIR/again.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "only with --reason" "$IT_DIR/again.out" || fail "issued twice: rc $rc"
at '2027-01-04 09:00:00' assess issue 2026-H2 --by bureau:zhao "${KEY[@]}" >/dev/null 2>"$IT_DIR/h2.err" ||
    fail "issue 2026-H2: $(cat "$IT_DIR/h2.err")"

ctl --format csv assess show 2026-H2 >"$IT_DIR/h2.csv" 2>/dev/null || fail "show"
python3 - "$IT_DIR/h2.csv" <<'PY' || fail "the 2026-H2 results"
import csv, sys
rows = {r["zone"]: r for r in csv.DictReader(l for l in open(sys.argv[1], encoding="utf-8-sig") if "," in l)}
assert rows["Z-WG-001"]["result"] == "pass", rows["Z-WG-001"]
assert rows["Z-WG-002"]["result"] == "fail" and rows["Z-WG-002"]["reason"] == "score", rows["Z-WG-002"]
assert rows["Z-BF-001"]["reason"] == "no_terminals", rows["Z-BF-001"]
PY
ctl --format json assess show 2026-H2 --view banks >"$IT_DIR/h2.json" 2>/dev/null || fail "show json"
jq -e '.doc == "kioskfleet.assessment/1" and .status == "issued" and (.inputs | has("plan", "usage", "availability", "response", "calendars"))' \
    "$IT_DIR/h2.json" >/dev/null || fail "the document: $(head -c 300 "$IT_DIR/h2.json")"

for p in 2026-H1 2026-H2; do
    ctl assess verify $p --server-pub "$PUB" >"$IT_DIR/verify-$p.out" || fail "verify $p: $(cat "$IT_DIR/verify-$p.out")"
    grep -q "recomputed to the same" "$IT_DIR/verify-$p.out" || fail "$(cat "$IT_DIR/verify-$p.out")"
done

# Two failures: proposed; the watchlist shows it. A zone that is not proposed cannot be decided on.
ctl --format csv assess watchlist >"$IT_DIR/watch.csv" || fail "watchlist"
grep -q '^Z-WG-002,WG,PDSRCB,proposed,2,2026-H2,fail,' "$IT_DIR/watch.csv" || fail "watchlist: $(cat "$IT_DIR/watch.csv")"
if grep -q '^Z-WG-001,' "$IT_DIR/watch.csv"; then fail "a passing zone on the watchlist"; fi
rc=0
at '2027-01-10 10:00:00' assess decide Z-WG-001 --period 2026-H2 --keep --by bureau:zhao \
    --reason "test" "${KEY[@]}" >"$IT_DIR/dec1.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "not proposed" "$IT_DIR/dec1.out" || fail "a decision on a passing zone: rc $rc $(cat "$IT_DIR/dec1.out")"
at '2027-01-10 10:00:00' assess decide Z-WG-002 --period 2026-H2 --delist --from 2027-01-15 \
    --by bureau:zhao --reason "两次考核不合格，局务会决定摘牌" "${KEY[@]}" >"$IT_DIR/dec2.out" ||
    fail "delist: $(cat "$IT_DIR/dec2.out")"
ctl --format csv assess standing --zone Z-WG-002 >"$IT_DIR/st.csv" || fail "standing"
grep -q '^Z-WG-002,WG,PDSRCB,delisted,.*,2027-01-15,$' "$IT_DIR/st.csv" || fail "standing: $(cat "$IT_DIR/st.csv")"
ctl --format csv audit --action zone. >"$IT_DIR/audit.csv" || fail "audit"
grep -q "zone.delist" "$IT_DIR/audit.csv" && grep -q "bureau:zhao" "$IT_DIR/audit.csv" ||
    fail "the decision is not in the signed log: $(cat "$IT_DIR/audit.csv")"

# A late usage file for 2026-H1: the issued version no longer recomputes (exit 3, the byte);
# a new version with its reason; it verifies.
sql "INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok)
     VALUES ($(day 2026-03-02), 'Z-WG-002', 'X1', 'D-X1', 'HF-001', 3)"
derived
rc=0
ctl assess verify 2026-H1 --server-pub "$PUB" >"$IT_DIR/v3.out" 2>&1 || rc=$?
[ $rc = 3 ] && grep -q "differs at byte" "$IT_DIR/v3.out" || fail "a changed input not found: rc $rc $(cat "$IT_DIR/v3.out")"
at '2027-01-12 10:00:00' assess issue 2026-H1 --by bureau:zhao --reason "舞钢 Z-WG-002 的补报数据" \
    "${KEY[@]}" >"$IT_DIR/v2.out" || fail "supersede"
grep -q "version 2 issued" "$IT_DIR/v2.out" || fail "$(cat "$IT_DIR/v2.out")"
ctl assess verify 2026-H1 --server-pub "$PUB" >/dev/null || fail "version 2 does not verify"
ctl --format json assess show 2026-H1 >"$IT_DIR/v2.json" 2>/dev/null
jq -e '.version == 2 and (.supersedes | length) == 64 and .reason == "舞钢 Z-WG-002 的补报数据"' \
    "$IT_DIR/v2.json" >/dev/null || fail "version 2's document"

# Edited by hand in the database (its triggers dropped): the digest no longer matches.
sql "DROP TRIGGER report_docs_no_update; UPDATE report_docs SET json = replace(json,
     '\"result\":\"fail\"', '\"result\":\"pass\"') WHERE period = '2026-H2'"
rc=0
ctl assess verify 2026-H2 --server-pub "$PUB" >"$IT_DIR/tamper.out" 2>&1 || rc=$?
[ $rc = 3 ] && grep -q "the stored bytes digest to" "$IT_DIR/tamper.out" ||
    fail "an edited assessment: rc $rc $(cat "$IT_DIR/tamper.out")"
# The standing still answers for every zone; the edited history is named where it breaks.
ctl --format csv assess standing >"$IT_DIR/st2.csv" || fail "standing after the edit"
grep -q '^Z-WG-002,WG,PDSRCB,?,.*not proposed' "$IT_DIR/st2.csv" || fail "standing: $(grep Z-WG-00 "$IT_DIR/st2.csv")"
ctl audit verify --server-pub "$PUB" >/dev/null || fail "the signed log"
echo "ok: assess"
