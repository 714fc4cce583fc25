#!/usr/bin/env bash
# The worked month of docs/BILLING.md ("A worked month, to the fen"), reproduced exactly:
# one bank (BOC, 中国银行), one zone (Z-XH-006, 焦店支行: kiosks 08:00-17:30 on weekdays and
# make-up days, 09:00-16:00 at weekends, closed on public holidays; the ITM in a 24 h lobby),
# September 2026 (中秋节 25-27, make-up working day Sunday 20) and its next month.
#
#   contract    tests/data/worked-month/BOC-2026-v{1,2}.json: version 1 until the 15th,
#               version 2 (lease down, maintenance up) from the 16th
#   A-000001    kiosk, all month; its board is swapped on the 10th (kiosk-provision replace:
#               A-000001.1 revoked, the replacement reports as A-000001.2, same asset);
#               a critical screen fault on the 22nd
#   A-000002    kiosk commissioned on the 9th at 10:00, first reports at 12:00; a fault on
#               the 28th that arrives late, after the month ended and before the close
#   A-000003    kiosk decommissioned on the 20th at 10:00; a fault on the 14th that arrives
#               after the month's bill was issued: an adjustment on October's bill
#   A-000004    ITM, all month; a power cut on the 5th attributed to the bank, and a company
#               outage on the 17th
#
# Every instant is fixed: the facts are written into sla_facts at their instants (as the
# ingest writes them, docs/SLA.md 10.1; as bench/bill-speed does), kioskd is run over them so
# that its own engine decides and seals the incidents, kioskctl's issuing commands run under
# faketime (frozen) after the close. Every figure of the document is asserted here, to the fen,
# and kf-bill-check must say OK on both bills' bundles.
source "$(dirname "$0")/lib.sh"

CHECK=$KF_BIN_CHECK
DATA=$KF_ROOT/tests/data/worked-month
it_need_faketime

it_init 0
it_provision_device A-000001.1 A-000001 Z-XH-006 "$IT_DIR/dev"
it_provision_device A-000002.1 A-000002 Z-XH-006 "$IT_DIR/dev"
it_provision_device A-000003.1 A-000003 Z-XH-006 "$IT_DIR/dev"
it_provision_device A-000004.1 A-000004 Z-XH-006 "$IT_DIR/dev" itm
printf '[sla]\ncalendar_dir = %s\ntick_s = 1\n' "$KF_ROOT/fixtures/calendar" >>"$IT_DIR/kioskd.ini"
KEY=(--server-key "$IT_DIR/server.key")
PUB=$IT_DIR/server.key.pub
# (it_sql, it_ms, it_at, it_run_kioskd and the edit helpers: lib.sh, "A story told at its own
# instants".)
# bill_is FILE EXPECTED, sla_is MONTH EXPECTED: worked_month.py says what EXPECTED holds.
bill_is() { python3 "$KF_ROOT/tests/integration/worked_month.py" bill "$1" "$2" || fail "$1: not the worked month's figures"; }
# (the month's end as the cut: the engine last ran in the story's October, not today)
sla_is() {
    local end
    end=$(TZ=Asia/Shanghai date -d "$1-01 +1 month" '+%Y-%m-%d 00:00')
    it_at '2026-12-01 00:00:00' --format csv sla --month "$1" --by terminal --as-of "$end" \
        >"$IT_DIR/sla-$1.csv" || fail "sla $1"
    python3 "$KF_ROOT/tests/integration/worked_month.py" sla "$IT_DIR/sla-$1.csv" "$2" ||
        fail "the SLA figures of $1"
}
# check_ok BUNDLE OK_LINE: kf-bill-check says exactly OK_LINE's start.
check_ok() {
    "$CHECK" "$1" --server-pub "$PUB" >"$1.out" 2>&1 || fail "kf-bill-check on $1: $(cat "$1.out")"
    grep -qF "$2" "$1.out" || fail "kf-bill-check on $1: $(cat "$1.out"), want $2"
    grep '^OK' "$1.out"
}
SEQ=0
# presence ASSET DEVICE LOCAL_TIME 1|0 [RECV_LOCAL]: connect (1) or the broker's will (0).
presence() {
    local at recv
    at=$(it_ms "$3")
    recv=$(it_ms "${5:-$3}")
    it_sql "INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, value, src)
         VALUES ('$1', '$2', 'presence', $at, $recv, $4, '$( [ "$4" = 1 ] && echo connect || echo will)')"
}
# fault ASSET DEVICE LOCAL_TIME 1|0 CODE [RECV_LOCAL]: a critical fault on the screen, raised
# (1) or cleared (0), with the device's sequence number, and the device's signed frame that
# holds its record stored with it (with its record row, as the ingest stores them), so that
# the bank's checker finds the fact backed by it. The replacement board (never enrolled in
# this story) gets a key of its own registered directly.
fault() {
    local at recv key out topic hex pk
    at=$(it_ms "$3")
    recv=$(it_ms "${6:-$3}")
    SEQ=$((SEQ + 1))
    key=$IT_DIR/dev/$2.key
    local gen=()
    [ -e "$key" ] || gen=(--keygen)
    out=$("$KF_BIN_FORGE" frame --key "$key" --device "$2" --seq $SEQ --ms "$at" "${gen[@]}" \
        "{\"t\":\"fault\",\"ts\":$at,\"code\":\"$5\",\"sev\":\"critical\",\"action\":\"$( [ "$4" = 1 ] && echo raise || echo clear)\",\"dev\":\"screen\"}") ||
        fail "kf-forge frame $2 $SEQ"
    if [ ${#gen[@]} -gt 0 ]; then
        pk=$(head -1 <<<"$out")
        it_sql "INSERT INTO device_keys(device_id, epoch, pk, status, created_ms) VALUES ('$2', 1, X'$pk', 1, $at)"
    fi
    read -r topic hex <<<"$(tail -1 <<<"$out")"
    it_sql "INSERT INTO envelopes(device_id, key_epoch, kind, flags, seq_first, count, device_ms,
         clock_offset_ms, recv_ms, commit_ms, topic, raw)
         VALUES ('$2', 1, 1, 0, $SEQ, 1, $at, 0, $recv, $recv, '$topic', X'$hex');
         INSERT INTO records(device_id, seq, envelope_id, type, device_ts_ms, effective_ms, recv_ms,
         flags, asset_id) VALUES ('$2', $SEQ, last_insert_rowid(), 4, $at, $at, $recv, 0, '$1');
         INSERT INTO sla_facts(asset_id, device_id, kind, at_ms, recv_ms, seq, value, periph, code, sev)
         VALUES ('$1', '$2', 'fault', $at, $recv, $SEQ, $4, 'screen', '$5', 'critical')"
}
# ---- the setup -------------------------------------------------------------------------
ctl contract load "$DATA/BOC-2026-v1.json" "$DATA/BOC-2026-v2.json" --by ops \
    --reason "BOC 2026 contract, version 2 signed for the 16th" "${KEY[@]}" >/dev/null ||
    fail "contract load"
ctl asset commission A-000002 --at '2026-09-09 10:00' --by tech:li --reason 'accepted at 焦店' \
    "${KEY[@]}" >/dev/null || fail "commission A-000002"
ctl asset commission --all --at '2026-09-01 00:00' --by tech:li --reason 'in service' \
    "${KEY[@]}" >/dev/null || fail "commission --all"
ctl asset decommission A-000003 --at '2026-09-20 10:00' --by tech:li --reason 'moved out' \
    "${KEY[@]}" >/dev/null || fail "decommission A-000003"
"$KF_BIN_PROVISION" replace --db "$DB" --server-key "$IT_DIR/server.key" --asset A-000001 \
    --by tech:wang --reason "main board failed" --out "$IT_DIR/replace.token" \
    >>"$IT_DIR/provision.log" 2>&1 || fail "replace"

# ---- the month's facts, at their instants ----------------------------------------------
for a in A-000001 A-000002 A-000003 A-000004; do
    [ $a = A-000002 ] && continue
    presence $a $a.1 '2026-09-01 00:00' 1
done
presence A-000004 A-000004.1 '2026-09-05 02:00' 0 # power cut (the bank's)
presence A-000004 A-000004.1 '2026-09-05 08:00' 1
presence A-000002 A-000002.1 '2026-09-09 12:00' 1 # first report, 2 h after commissioning
presence A-000001 A-000001.1 '2026-09-10 09:00' 0 # the board fails
presence A-000001 A-000001.2 '2026-09-10 10:50' 1 # the replacement reports
presence A-000004 A-000004.1 '2026-09-17 21:00' 0 # a company outage
presence A-000004 A-000004.1 '2026-09-18 00:00' 1
fault A-000001 A-000001.2 '2026-09-22 09:00' 1 SCR-TOUCH
fault A-000001 A-000001.2 '2026-09-22 15:00' 0 SCR-TOUCH

it_start_broker
attribute_power_cut() {
    local id
    id=$(it_sql "SELECT id FROM sla_incidents WHERE asset_id = 'A-000004' AND cause = 'offline'
              AND start_ms = $(it_ms '2026-09-05 02:00')")
    [ -n "$id" ] || fail "no incident for the power cut: $(it_sql 'SELECT * FROM sla_incidents')"
    it_at "$KIOSKD_AT" attribute "$id" --to bank_power --by ops:zhao --reason "branch power cut (供电中断)" |
        grep -q now || fail "attribution not applied"
}
it_run_kioskd '2026-10-01 08:00:00' attribute_power_cut

# What the bill would say without the late fact: A-000002 met its target (2 h before its
# first report is its only downtime), so it had no credit.
sla_is 2026-09 "
A-000001 878400  0     28200 850200  9678  9800 0 2 0 1 0
A-000002 615600  0     7200  608400  9883  9800 1 0 0 0 0
A-000003 612000  0     0     612000  10000 9800 1 0 0 0 0
A-000004 2592000 21600 10800 2559600 9957  9900 1 1 1 1 0"
it_at '2026-10-02 12:00:00' bill draft --bank BOC --month 2026-09 >"$IT_DIR/draft-09.json" ||
    fail "draft"
python3 - "$IT_DIR/draft-09.json" <<'PY' || fail "the draft before the late fact"
import json, sys
b = json.load(open(sys.argv[1]))
assert not [l for l in b["lines"] if l["asset"] == "A-000002" and l["kind"] == "credit"], b["lines"]
assert b["totals"]["gross_fen"] == 445201, b["totals"]
PY

# ---- a late fact before the close: A-000002's fault of the 28th, received on 3 October ----
fault A-000002 A-000002.1 '2026-09-28 13:00' 1 PRN-A4 '2026-10-03 09:00'
fault A-000002 A-000002.1 '2026-09-28 14:55' 0 PRN-A4 '2026-10-03 09:00'
it_run_kioskd '2026-10-03 09:00:00'
sla_is 2026-09 "
A-000001 878400  0     28200 850200  9678  9800 0 2 0 1 0
A-000002 615600  0     14100 601500  9770  9800 0 1 0 0 0
A-000003 612000  0     0     612000  10000 9800 1 0 0 0 0
A-000004 2592000 21600 10800 2559600 9957  9900 1 1 1 1 0"

# ---- the bill, issued after the close ---------------------------------------------------
rc=0
it_at '2026-10-04 18:00:00' bill issue --bank BOC --month 2026-09 --by finance:qian "${KEY[@]}" \
    >/dev/null 2>"$IT_DIR/early.err" || rc=$?
[ $rc = 2 ] && grep -q 'not closed' "$IT_DIR/early.err" || fail "issued before the close: rc $rc"
it_at '2026-10-06 12:00:00' bill issue --bank BOC --month 2026-09 --by finance:qian "${KEY[@]}" \
    >"$IT_DIR/issue-09.out" || fail "issue: $(cat "$IT_DIR/issue-09.out")"
grep -q '^BOC-000001 ' "$IT_DIR/issue-09.out" || fail "not BOC-000001: $(cat "$IT_DIR/issue-09.out")"
ctl bill show BOC-000001 -o "$IT_DIR/bill-09.json" || fail "show"
bill_is "$IT_DIR/bill-09.json" "
1  lease       A-000001 15/30 122000  61000  7930  68930
2  lease       A-000001 15/30 118000  59000  7670  66670
3  maintenance A-000001 15/30 31000   15500  930   16430
4  maintenance A-000001 15/30 33000   16500  990   17490
5  credit      A-000001 -     -       -1600  -96   -1696  9678/9800/500/1 2026-09
6  penalty     A-000001 -     -       -5000  -300  -5300  9678/9800/500/1 2026-09
7  lease       A-000002 7/30  122000  28467  3701  32168
8  lease       A-000002 15/30 118000  59000  7670  66670
9  maintenance A-000002 7/30  31000   7233   434   7667
10 maintenance A-000002 15/30 33000   16500  990   17490
11 credit      A-000002 -     -       -1187  -71   -1258  9770/9800/500/0 2026-09
12 lease       A-000003 15/30 122000  61000  7930  68930
13 lease       A-000003 4/30  118000  15733  2045  17778
14 maintenance A-000003 15/30 31000   15500  930   16430
15 maintenance A-000003 4/30  33000   4400   264   4664
16 maintenance A-000004 15/30 52000   26000  1560  27560
17 maintenance A-000004 15/30 54000   27000  1620  28620
18 penalty     A-000004 -     -       -5000  -300  -5300  9957/9900/0/1 2026-09
rate 600  115846 6951  122797
rate 1300 284200 36946 321146
total 400046 43897 443943
capital 人民币肆仟肆佰叁拾玖元肆角叁分
issued_at 2026-10-06 12:00:00
contracts v1,v2"
# The cap: 15 % of the month's maintenance net (1,286.33) is 192.95; credits and penalties
# take 127.87, so no cap line.
python3 - "$IT_DIR/bill-09.json" <<'PY' || fail "the cap"
import json, sys
b = json.load(open(sys.argv[1]))
maint = sum(l["net_fen"] for l in b["lines"] if l["kind"] == "maintenance")
taken = -sum(l["net_fen"] for l in b["lines"] if l["kind"] in ("credit", "penalty"))
cap = (maint * 1500 + 5000) // 10000
assert (maint, cap, taken) == (128633, 19295, 12787), (maint, cap, taken)
assert not [l for l in b["lines"] if l["kind"] == "cap"]
PY
ctl bill export BOC-000001 -o "$IT_DIR/bundle-09.json" --server-pub "$PUB" 2>/dev/null ||
    fail "export"
check_ok "$IT_DIR/bundle-09.json" \
    "OK: BOC-000001 2026-09, 18 lines, total 4,439.43 yuan (人民币肆仟肆佰叁拾玖元肆角叁分)"

# ---- a credit note for one line: 100.00 yuan of line 7, tax included -----------------------
it_at '2026-10-08 10:00:00' bill credit BOC-000001 --line 7 --amount-fen 10000 \
    --reason "lease of the 9th disputed" --by finance:qian "${KEY[@]}" >"$IT_DIR/cn.out" ||
    fail "credit: $(cat "$IT_DIR/cn.out")"
ctl bill show BOC-CN-000001 -o "$IT_DIR/cn.json" || fail "show the credit note"
grep -q '"doc":"kioskfleet.credit-note/1","ref":{"number":"BOC-000001","line":7}' "$IT_DIR/cn.json" ||
    fail "the credit note's ref"
bill_is "$IT_DIR/cn.json" "
1 adjustment A-000002 - - -8850 -1150 -10000 BOC-000001:7 2026-09
rate 1300 -8850 -1150 -10000
total -8850 -1150 -10000
capital 人民币负壹佰元整
issued_at 2026-10-08 10:00:00"
ctl bill verify BOC-CN-000001 --server-pub "$PUB" >/dev/null || fail "verify the credit note"
# 321.68 - 100.00 = 221.68 is left of line 7: one fen more is refused.
rc=0
it_at '2026-10-08 10:05:00' bill credit BOC-000001 --line 7 --amount-fen 22169 \
    --reason "more than is left" --by finance:qian "${KEY[@]}" >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "a credit of more than is left of line 7: rc $rc"

# ---- a late fact after the close: A-000003's fault of the 14th, received on 20 October ----
fault A-000003 A-000003.1 '2026-09-14 09:00' 1 SCR-TOUCH '2026-10-20 09:00'
fault A-000003 A-000003.1 '2026-09-14 13:00' 0 SCR-TOUCH '2026-10-20 09:00'
it_run_kioskd '2026-10-20 09:00:00'
sla_is 2026-09 "
A-000001 878400  0     28200 850200  9678  9800 0 2 0 1 0
A-000002 615600  0     14100 601500  9770  9800 0 1 0 0 0
A-000003 612000  0     14400 597600  9764  9800 0 1 0 1 0
A-000004 2592000 21600 10800 2559600 9957  9900 1 1 1 1 0"
# The issued bill is never edited: its bundle (the evidence up to its issue) still checks,
# and bill verify, recomputing from today's facts, names the difference and the bill that
# adjusted it.
ctl bill export BOC-000001 -o "$IT_DIR/bundle-09b.json" --server-pub "$PUB" 2>/dev/null ||
    fail "export again"
check_ok "$IT_DIR/bundle-09b.json" "OK: BOC-000001 2026-09, 18 lines, total 4,439.43 yuan"
# By the rules September now carries A-000003's credit (-9.95) and penalty (-50.00): 187.82
# taken, still within the cap of 192.95.
it_at '2026-10-21 12:00:00' bill draft --bank BOC --month 2026-09 >"$IT_DIR/draft-09b.json" ||
    fail "draft after the late fact"
python3 - "$IT_DIR/draft-09b.json" <<'PY' || fail "September recomputed after the late fact"
import json, sys
b = json.load(open(sys.argv[1]))
got = [(l["kind"], l["net_fen"], l["tax_fen"]) for l in b["lines"] if l["asset"] == "A-000003"
       and l["kind"] in ("credit", "penalty")]
assert got == [("credit", -995, -60), ("penalty", -5000, -300)], got
taken = -sum(l["net_fen"] for l in b["lines"] if l["kind"] in ("credit", "penalty"))
assert taken == 18782 and not [l for l in b["lines"] if l["kind"] == "cap"], taken
PY

it_at '2026-11-06 12:00:00' bill issue --bank BOC --month 2026-10 --by finance:qian "${KEY[@]}" \
    >"$IT_DIR/issue-10.out" || fail "issue October: $(cat "$IT_DIR/issue-10.out")"
ctl bill show BOC-000002 -o "$IT_DIR/bill-10.json" || fail "show"
bill_is "$IT_DIR/bill-10.json" "
1 lease       A-000001 31/31 118000 118000 15340 133340
2 maintenance A-000001 31/31 33000  33000  1980  34980
3 lease       A-000002 31/31 118000 118000 15340 133340
4 maintenance A-000002 31/31 33000  33000  1980  34980
5 maintenance A-000004 31/31 54000  54000  3240  57240
6 adjustment  A-000003 -     -      -995   -60   -1055  BOC-000001:0 2026-09
7 adjustment  A-000003 -     -      -5000  -300  -5300  BOC-000001:0 2026-09
rate 600  114005 6840  120845
rate 1300 236000 30680 266680
total 350005 37520 387525
capital 人民币叁仟捌佰柒拾伍元贰角伍分
issued_at 2026-11-06 12:00:00
contracts v2"
sla_is 2026-10 "
A-000001 766800  0 0 766800  10000 9800 1 0 0 0 0
A-000002 766800  0 0 766800  10000 9800 1 0 0 0 0
A-000003 0       0 0 0       -     9800 - 0 0 0 0
A-000004 2678400 0 0 2678400 10000 9900 1 0 0 0 0"
ctl bill export BOC-000002 -o "$IT_DIR/bundle-10.json" --server-pub "$PUB" 2>/dev/null ||
    fail "export October"
check_ok "$IT_DIR/bundle-10.json" \
    "OK: BOC-000002 2026-10, 7 lines, total 3,875.25 yuan (人民币叁仟捌佰柒拾伍元贰角伍分)"
# September's bill still follows from the evidence as the engine had it at its close: the
# late fact changed October's bill, not this one.
ctl bill verify BOC-000001 --server-pub "$PUB" >"$IT_DIR/verify-09.out" 2>&1 ||
    fail "verify BOC-000001 after the late fact: $(cat "$IT_DIR/verify-09.out")"
ctl audit verify --server-pub "$PUB" >/dev/null || fail "the signed log"

# ---- any single edit is found (the issue: "any single edit of a fact, an action, a window
# or a contract row is caught by kioskctl verify and by the offline checker") ----
# On a copy of this store, one edit at a time, as the operator could make it: every fact's
# instant moved by a second and its value flipped, an applied action's author changed, a
# contract's price changed behind its trigger. (The worked month has no planned window:
# it_sla changes one.) kioskctl verify must fail on a fact or action edit, the bank's
# checker on a fact or contract edit in the bundle it is given. An action row is not read by
# the checker: it replays the action as sealed, so such an edit cannot change its bill.
n_edits=0
for id in $(it_sql "SELECT id FROM sla_facts ORDER BY id"); do
    it_edit "UPDATE sla_facts SET at_ms = at_ms + 1000 WHERE id = $id"
    it_edited_verify_fails "fact $id moved by a second"
    it_edited_check_fails BOC-000002 "fact $id moved by a second"
    it_edit "UPDATE sla_facts SET value = 1 - value WHERE id = $id"
    it_edited_verify_fails "fact $id flipped"
    it_edited_check_fails BOC-000002 "fact $id flipped"
    n_edits=$((n_edits + 2))
done
it_edit "UPDATE sla_actions SET who = 'ops:nobody' WHERE status = 'done'"
it_edited_verify_fails "an action's author"
n_edits=$((n_edits + 1))
it_edit "DROP TRIGGER contract_versions_no_update;
      UPDATE contract_versions SET text = replace(text, '\"kiosk_fen\": 31000', '\"kiosk_fen\": 30000')
      WHERE version = 1"
[ "$(sqlite3 "$IT_DIR/edit.db" "SELECT count(*) FROM contract_versions WHERE text LIKE '%30000%'")" -ge 1 ] ||
    fail "the contract edit did not apply"
it_edited_check_fails BOC-000002 "a contract's price"
rc=0
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/edit.db" bill verify BOC-000001 --server-pub "$PUB" >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "bill verify missed a contract's price (rc $rc)"
n_edits=$((n_edits + 1))
echo "ok: $n_edits single edits, each found"
echo "ok: worked_month"
