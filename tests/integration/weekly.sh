#!/usr/bin/env bash
# The bureau's weekly report and coverage on a real store file (docs/REPORTS.md): the city's
# deployment (212 zones, 10 units, 6 banks, 75 items) from kiosk-provision, a few terminals
# commissioned with kioskctl (one mid-week), the stored 2026 calendar, and usage_daily rows
# as the group commit writes them (inserted with sqlite3: no broker or kioskd is needed to
# count). Then kioskctl report week for 2026-W41 (国庆节 Monday to Wednesday, the make-up
# Saturday 10 October) in every form, checked figure by figure; a recompute byte for byte;
# an open week refused without --draft; and kioskctl coverage against fixtures/targets.ini.
source "$(dirname "$0")/lib.sh"

it_init 0
it_provision_device KF-XH-0001 A-000001 Z-XH-001 "$IT_DIR/dev"
it_provision_device KF-XH-0002 A-000002 Z-XH-001 "$IT_DIR/dev" itm
it_provision_device KF-WG-0001 A-000003 Z-WG-001 "$IT_DIR/dev"
it_provision_device KF-RZ-0001 A-000004 Z-RZ-001 "$IT_DIR/dev"
KEY=(--server-key "$IT_DIR/server.key")

# The calendar kioskd would have stored from [sla] calendar_dir, and its engine's cursor.
sqlite3 "$DB" "INSERT INTO sla_calendars(year, text, source, loaded_ms)
    VALUES (2026, readfile('$KF_ROOT/fixtures/calendar/cn-2026.ini'), 'test', 0);
    UPDATE sla_cursor SET tick_ms = $(date -d '2026-10-20T00:00:00+08:00' +%s)000;"
# A-000003 was accepted at its zone on Thursday 8 October at 12:00, the others before.
ctl asset commission A-000003 --at '2026-10-08 12:00' --by tech --reason accepted "${KEY[@]}" \
    >/dev/null
ctl asset commission --all --at '2026-09-01 00:00' --by tech --reason fleet "${KEY[@]}" >/dev/null

day() { echo $(($(date -d "$1T00:00:00Z" +%s) / 86400)); }
usage() { # DAY ZONE ASSET DEVICE ITEM OK FAILED ABANDONED
    sqlite3 "$DB" "INSERT INTO usage_daily(day, zone_id, asset_id, device_id, item, ok, failed,
        abandoned, dur_ms_total) VALUES ($(day "$1"), '$2', '$3', '$4', '$5', $6, $7, $8, 0)"
}
usage 2026-10-08 Z-XH-001 A-000001 KF-XH-0001 HF-001 40 2 1
usage 2026-10-10 Z-XH-001 A-000001 KF-XH-0001 SS-001 8 0 0
usage 2026-10-05 Z-XH-001 A-000002 KF-XH-0002 HF-001 25 0 0
usage 2026-10-09 Z-WG-001 A-000003 KF-WG-0001 HF-001 6 1 0
usage 2026-09-29 Z-XH-001 A-000001 KF-XH-0001 HF-001 50 0 0
usage 2026-10-12 Z-XH-001 A-000001 KF-XH-0001 HF-001 99 0 0 # the week after: not counted

ctl --format json report week --week 2026-W41 >"$IT_DIR/w41.json" || fail "report week json"
python3 - "$IT_DIR/w41.json" <<'PY' || fail "W41 figures"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["doc"] == "kioskfleet.week/1" and d["week"] == "2026-W41" and d["draft"] is False
assert [x["kind"] for x in d["days"]] == ["holiday"] * 3 + ["normal", "normal", "makeup", "normal"]
assert len(d["zones"]) == 212 and len(d["units"]) == 10 and len(d["banks"]) == 6
assert len(d["families"]) == 8 and len(d["items"]) == 75
z = {x["zone"]: x for x in d["zones"]}
# Z-XH-001 keeps branch hours (no itm_hours), its ITM too: Thursday, Friday and the make-up
# Saturday for each (the ITM's Monday transactions count all the same).
a = z["Z-XH-001"]
assert (a["terminal_days"], a["service_days"], a["ok"], a["failed"], a["abandoned"]) == (6, 3, 73, 2, 1), a
assert a["ok_per_terminal_day_x100"] == 1216 and a["ok_prev"] == 50 and a["ok_change"] == 23, a
assert a["ok_change_pm"] == 460 and a["status"] == "active", a
# Z-WG-001 (open at weekends) opened on Thursday at 12:00: Thursday to Sunday.
b = z["Z-WG-001"]
assert (b["terminal_days"], b["ok"], b["ok_prev"], b["ok_change_pm"]) == (4, 6, 0, None), b
# A commissioned kiosk that never reported; a zone with nothing installed.
assert z["Z-RZ-001"]["status"] == "not_reporting" and z["Z-RZ-001"]["terminal_days"] == 4
c = z["Z-XH-002"]
assert c["status"] == "no_terminals" and c["commissioned"] == 0 and c["planned"] > 0, c
assert c["availability_bp"] is None and c["ok_per_terminal_day_x100"] is None, c
f = d["fleet"]
assert (f["zones"], f["zones_commissioned"], f["zones_active"], f["commissioned"]) == (212, 3, 2, 4), f
assert f["ok"] == 79 and f["terminal_days"] == 14 and f["ok_per_terminal_day_x100"] == 564, f
assert f["planned"] == 438, f
u = {x["code"]: x for x in d["units"]}
assert u["XH"]["ok"] == 73 and u["WG"]["ok"] == 6 and u["RZ"]["zones_reporting"] == 0
assert d["busiest"][0]["zone"] == "Z-XH-001" and d["quietest"][0]["zone"] == "Z-RZ-001"
assert len(d["inactive_zones"]) == 210
assert [t["asset"] for t in d["idle_terminals"]] == ["A-000004"]
assert set(d["inputs"]) == {"availability", "calendars", "incidents", "presence", "registry", "usage"}
it = {x["code"]: x for x in d["items"]}
assert it["HF-001"]["ok"] == 71 and it["HF-001"]["zones_active"] == 2, it["HF-001"]
PY

# The same store, the same bytes.
ctl report week --week 2026-W41 -o "$IT_DIR/again.json" >/dev/null
cmp -s "$IT_DIR/w41.json" <(cat "$IT_DIR/again.json"; echo) || fail "a recompute differs"

# The forms: the bulletin's text, the workbook's sheets, the CSV with its BOM.
ctl report week --week 2026-W41 -o "$IT_DIR/w41.pdf" >/dev/null || fail "pdf"
pdftotext -enc UTF-8 "$IT_DIR/w41.pdf" "$IT_DIR/w41.txt"
for s in '政银通办服务专区运行周报' '2026年第41周（10月5日—10月11日）' '国庆节' '调休工作日' \
    '全市规划服务专区 212 个' '成功 79 笔' '各区县成功办理笔数' '各银行服务时段可用率' '新华区'; do
    grep -q "$s" "$IT_DIR/w41.txt" || fail "the bulletin lacks '$s'"
done
ctl report week --week 2026-W41 -o "$IT_DIR/w41.xlsx" >/dev/null || fail "xlsx"
unzip -p "$IT_DIR/w41.xlsx" xl/workbook.xml >"$IT_DIR/wb.xml"
for s in 概要 区县 银行 专区 服务类别 服务事项 无业务专区 无业务终端; do
    grep -q "<sheet name=\"$s\"" "$IT_DIR/wb.xml" || fail "no sheet $s"
done
ctl report week --week 2026-W41 --view zone -o "$IT_DIR/zones.csv" >/dev/null || fail "csv"
[ "$(head -c 3 "$IT_DIR/zones.csv" | xxd -p)" = efbbbf ] || fail "CSV without a BOM"
[ "$(wc -l <"$IT_DIR/zones.csv")" = 213 ] || fail "a header and 212 zones"
ctl report week --week 2026-W41 --view unit >"$IT_DIR/units.txt" || fail "table"
grep -q '新华区' "$IT_DIR/units.txt" || fail "the unit table"

# Issued: frozen (signed, stored, logged), once; verified by a recompute; a late usage row
# found by the recompute; a new version only with a reason.
PUB=$IT_DIR/server.key.pub
ctl report week --week 2026-W41 --issue --by bureau:zhao "${KEY[@]}" >"$IT_DIR/issue.out" ||
    fail "issue W41"
grep -q "week 2026-W41 version 1 issued" "$IT_DIR/issue.out" || fail "$(cat "$IT_DIR/issue.out")"
rc=0
ctl report week --week 2026-W41 --issue --by bureau:zhao "${KEY[@]}" >"$IT_DIR/again.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "only with a reason" "$IT_DIR/again.out" || fail "issued twice: rc $rc"
ctl report verify 2026-W41 --server-pub "$PUB" >"$IT_DIR/verify.out" || fail "verify: $(cat "$IT_DIR/verify.out")"
ctl --format csv report list >"$IT_DIR/list.csv"
grep -q "^week,2026-W41,1," "$IT_DIR/list.csv" || fail "report list: $(cat "$IT_DIR/list.csv")"
usage 2026-10-09 Z-XH-001 A-000001 KF-XH-0001 SS-001 5 0 0 # arrives after the issue
rc=0
ctl report verify 2026-W41 --server-pub "$PUB" >"$IT_DIR/verify2.out" || rc=$?
[ $rc = 3 ] && grep -q "differs at byte" "$IT_DIR/verify2.out" || fail "a late row not found: rc $rc"
ctl --format json report week --week 2026-W41 >"$IT_DIR/issued.json" 2>"$IT_DIR/issued.err"
grep -q "was issued (version 1) and its inputs have changed" "$IT_DIR/issued.err" || fail "no note"
cmp -s "$IT_DIR/issued.json" <(sqlite3 "$DB" "SELECT json FROM report_docs WHERE period = '2026-W41'") ||
    fail "report week does not print the issued document"
ctl report week --week 2026-W41 --issue --by bureau:zhao --reason "XH-001 的补报数据" "${KEY[@]}" \
    >/dev/null || fail "supersede"
ctl report verify 2026-W41 --server-pub "$PUB" >/dev/null || fail "version 2 does not verify"

# kioskd issues the last closed week by itself at its close (Monday 09:00): W42, with its
# clock started at Monday 19 October 09:05 (libfaketime; no broker is needed for it).
FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime.so.1$') ||
    fail "libfaketime.so.1 not found (Debian package libfaketime)"
printf '[sla]\ncalendar_dir = %s\ntick_s = 1\n[reports]\nweekly_settle_min = 0\n' \
    "$KF_ROOT/fixtures/calendar" >>"$IT_DIR/kioskd.ini"
TZ=Asia/Shanghai ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    LD_PRELOAD=$FAKETIME_LIB FAKETIME="@2026-10-19 09:05:00" \
    kf_spawn "$IT_DIR/kioskd.log" "$KF_BIN_KIOSKD" -c "$IT_DIR/kioskd.ini"
KIOSKD_PID=$KF_LAST_PID
it_wait_for 60 'test "$(sqlite3 "$DB" "SELECT issued_by FROM report_docs WHERE period = '"'2026-W42'"'")" = kioskd' ||
    fail "kioskd did not issue 2026-W42: $(tail -5 "$IT_DIR/kioskd.log")"
kf_stop "$KIOSKD_PID"
grep -q "the weekly report 2026-W42 is issued" "$IT_DIR/kioskd.log" || fail "no log line"
ctl report verify 2026-W42 --server-pub "$PUB" >"$IT_DIR/verify42.out" ||
    fail "kioskd's W42 does not verify: $(cat "$IT_DIR/verify42.out")"
ctl audit verify --server-pub "$PUB" >/dev/null || fail "the signed log"

# The week in progress is refused, then drafted.
week=$(python3 -c 'import datetime; y, w, _ = (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).isocalendar(); print(f"{y}-W{w:02d}")')
rc=0
ctl report week --week "$week" 2>"$IT_DIR/open.err" >/dev/null || rc=$?
[ $rc = 2 ] && grep -q 'closes on' "$IT_DIR/open.err" || fail "an open week: rc $rc"
if [ "${week%-W*}" = 2026 ]; then
    ctl --format json report week --week "$week" --draft | grep -q '"draft":true' ||
        fail "the draft"
fi

# Coverage against the shipped targets at the end of W41.
ctl --format json coverage --at 2026-10-11 --targets "$KF_ROOT/fixtures/targets.ini" \
    >"$IT_DIR/cov.json" || fail "coverage"
python3 - "$IT_DIR/cov.json" <<'PY' || fail "coverage figures"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["doc"] == "kioskfleet.coverage/1" and c["at"] == "2026-10-11"
k = {x["target"]: x for x in c["checks"]}
assert (k["zones"]["required"], k["zones"]["planned"], k["zones"]["commissioned"]) == (200, 212, 3)
assert k["zones"]["plan_met"] is True and k["zones"]["met"] is False
assert k["units"]["planned"] == 10 and k["units"]["commissioned"] == 0
assert k["banks"]["planned"] == 6
assert (k["itm_items"]["planned"], k["itm_items"]["commissioned"], k["itm_items"]["met"]) == (75, 75, True)
assert k["families"]["commissioned"] == 8
assert c["fleet"]["commissioned_itms"] == 1 and c["fleet"]["reporting"] == 3
u = {x["code"]: x for x in c["units"]}
assert u["XH"]["zones_commissioned"] == 1 and u["XH"]["zones_target"] == 10
PY
ctl --format csv coverage --at 2026-10-11 --targets "$KF_ROOT/fixtures/targets.ini" --table units \
    >"$IT_DIR/units.csv"
[ "$(head -c 3 "$IT_DIR/units.csv" | xxd -p)" = efbbbf ] || fail "coverage CSV without a BOM"
[ "$(kf_csv_cols code zones_planned <"$IT_DIR/units.csv" | grep -c .)" = 11 ] ||
    fail "10 units and the city"
echo "weekly: ok"
