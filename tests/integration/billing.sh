#!/usr/bin/env bash
# The bank's bill end to end (docs/BILLING.md "Operating it"): a store from kiosk-provision
# and the fixtures, kioskd started once so that it stores the holiday calendars it loads
# (the SLA report, and so the bill, reads only stored calendars), terminals commissioned
# with backdated times, the fixtures' contracts loaded; then a draft in four forms, issue
# refused before the close and done after it (2026-09 is long closed), numbering, show,
# verify, a dispute accepted into a credit note, a bank's own check of the signature with
# openssl, and a tampered copy caught by verify.
source "$(dirname "$0")/lib.sh"

it_init 0
it_provision_device KF-XH-0001 A-000001 Z-XH-003 "$IT_DIR/dev"
it_provision_device KF-XH-0002 A-000002 Z-XH-003 "$IT_DIR/dev" itm
it_provision_device KF-XH-0003 A-000003 Z-XH-001 "$IT_DIR/dev"
it_calendar_dir
printf '[sla]\ncalendar_dir = %s\n' "$CAL" >>"$IT_DIR/kioskd.ini"
it_start_broker
it_start_kioskd
it_wait_for 30 'grep -q "ready: subscribed, serving" "$IT_DIR/kioskd.log"' || fail "kioskd not ready"
kf_stop "$KIOSKD_PID"
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM sla_calendars WHERE year = 2026')" = 1 ] ||
    fail "kioskd stored no 2026 calendar"

KEY=(--server-key "$IT_DIR/server.key")
ctl contract load "$KF_ROOT"/fixtures/contracts/*.json --by ops --reason "signed 2026" "${KEY[@]}" \
    >"$IT_DIR/load.out" || fail "contract load"
[ "$(ctl --format csv contracts | grep -c 2026)" = 7 ] || fail "7 versions expected"
rc=0
ctl contract load "$KF_ROOT/fixtures/contracts/ICBC-2026-v1.json" --by ops --reason again \
    "${KEY[@]}" 2>"$IT_DIR/dup.err" || rc=$?
[ $rc = 2 ] && grep -q 'duplicated' "$IT_DIR/dup.err" || fail "a duplicated version: rc $rc"

ctl asset commission A-000001 --at '2026-09-16 08:00' --by tech --reason 'accepted' "${KEY[@]}"
ctl asset commission --all --at '2026-08-01 00:00' --by tech --reason 'fleet' "${KEY[@]}"
# A-000003 moves from PSBC's zone to ICBC's on the 10th at 14:00: the 10th is ICBC's.
ctl asset move A-000003 --zone Z-XH-004 --at '2026-09-10 14:00' --by tech --reason move "${KEY[@]}"
ctl --format csv assets >"$IT_DIR/assets.csv"
[ "$(grep -c 'A-000003' "$IT_DIR/assets.csv")" = 2 ] || fail "a move is two intervals"

# The draft in its four forms.
ctl bill draft --bank ICBC --month 2026-09 >"$IT_DIR/draft.json"
python3 - "$IT_DIR/draft.json" <<'PY' || fail "draft JSON"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["status"] == "draft" and b["number"] is None, b
days = {(l["asset"], l["kind"]): l["days"] for l in b["lines"]}
assert days[("A-000001", "maintenance")] == 15, days   # from the 16th at 08:00
assert days[("A-000003", "maintenance")] == 21, days   # the 10th to the 30th
assert set(b["inputs"]) >= {"availability", "calendars", "in_service", "log_head"}, b["inputs"]
PY
ctl --format csv bill draft --bank ICBC --month 2026-09 -o "$IT_DIR/draft.csv"
[ "$(head -c 3 "$IT_DIR/draft.csv" | xxd -p)" = efbbbf ] || fail "CSV without a BOM"
ctl --format pdf bill draft --bank ICBC --month 2026-09 -o "$IT_DIR/draft.pdf"
pdftotext "$IT_DIR/draft.pdf" - >"$IT_DIR/draft.txt"
grep -q '草稿' "$IT_DIR/draft.txt" && grep -q '人民币' "$IT_DIR/draft.txt" || fail "PDF text"
ctl --format xlsx bill draft --bank ICBC --month 2026-09 -o "$IT_DIR/draft.xlsx"
# Into a file: grep -q stops reading at the match and, with pipefail, unzip's SIGPIPE failed it.
unzip -l "$IT_DIR/draft.xlsx" >"$IT_DIR/draft.list"
grep -q 'xl/workbook.xml' "$IT_DIR/draft.list" || fail "XLSX is not a workbook"

# Issue: refused while the month is open (this month closes next month), done after.
month=$(TZ=Asia/Shanghai date +%Y-%m)
rc=0
ctl bill issue --bank ICBC --month "$month" --by billing "${KEY[@]}" 2>"$IT_DIR/open.err" || rc=$?
[ $rc = 2 ] && grep -q 'not closed' "$IT_DIR/open.err" || fail "open month issued: rc $rc"
ctl bill issue --bank ICBC --month 2026-09 --by billing "${KEY[@]}" | grep -q '^ICBC-000001 ' ||
    fail "first number"
ctl bill issue --all --month 2026-08 --by billing "${KEY[@]}" >"$IT_DIR/aug.out"
grep -q '^ICBC-000002 ' "$IT_DIR/aug.out" && grep -q '^PSBC-000001 ' "$IT_DIR/aug.out" ||
    fail "numbers per bank"
rc=0
ctl bill issue --bank ICBC --month 2026-09 --by billing "${KEY[@]}" 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "issued twice: rc $rc"
[ "$(ctl --format csv bill list --bank ICBC | grep -c '^ICBC-')" = 2 ] || fail "bill list"

# Show: the stored bytes and their signature, which a bank checks with openssl alone.
ctl bill show ICBC-000001 -o "$IT_DIR/bill.json"
(printf '302a300506032b6570032100'; cat "$IT_DIR/server.key.pub") | xxd -r -p >"$IT_DIR/pub.der"
openssl pkey -pubin -inform DER -in "$IT_DIR/pub.der" -out "$IT_DIR/pub.pem"
xxd -r -p "$IT_DIR/bill.json.sig" >"$IT_DIR/bill.sig"
openssl pkeyutl -verify -pubin -inkey "$IT_DIR/pub.pem" -rawin -in "$IT_DIR/bill.json" \
    -sigfile "$IT_DIR/bill.sig" >/dev/null || fail "openssl does not verify the bill"
ctl --format pdf bill show ICBC-000001 -o "$IT_DIR/bill.pdf"
pdftotext "$IT_DIR/bill.pdf" - | grep -q 'ICBC-000001' || fail "issued PDF"
ctl bill verify ICBC-000001 --server-pub "$IT_DIR/server.key.pub" || fail "verify"

# A dispute, accepted: a credit note of its own series, signed, verified.
ctl bill dispute ICBC-000001 --line 1 --reason 'not in service on the 16th' --by icbc-audit \
    "${KEY[@]}" | grep -q '^dispute 1:' || fail "dispute"
ctl bill answer 1 --accept --reason 'agreed' --by billing "${KEY[@]}" |
    grep -q 'credit note ICBC-CN-000001' || fail "answer"
ctl bill show ICBC-CN-000001 | grep -q '"doc":"kioskfleet.credit-note/1","ref":{"number":"ICBC-000001","line":1}' ||
    fail "credit note"
ctl bill verify ICBC-CN-000001 --server-pub "$IT_DIR/server.key.pub" || fail "verify credit note"
ctl --format csv bill disputes | grep -q 'accepted' || fail "disputes"
ctl audit verify --server-pub "$IT_DIR/server.key.pub" >/dev/null || fail "signed log"
ctl --format csv audit >"$IT_DIR/audit.csv" # to a file: grep -q would cut the pipe short
for a in contract.load asset.commission asset.decommission bill.issue bill.dispute bill.answer bill.credit; do
    grep -q ",$a," "$IT_DIR/audit.csv" || fail "no $a in the signed log"
done

# A tampered copy: the stored bytes changed behind the trigger's back.
cp "$DB" "$IT_DIR/copy.db"
sqlite3 "$IT_DIR/copy.db" "DROP TRIGGER bill_docs_no_update;
    UPDATE bill_docs SET json = replace(json, '\"status\":\"issued\"', '\"status\":\"issued\" ')
    WHERE number = 'ICBC-000001'"
rc=0
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/copy.db" bill verify ICBC-000001 \
    --server-pub "$IT_DIR/server.key.pub" >"$IT_DIR/tamper.out" || rc=$?
[ $rc = 3 ] && grep -q 'signature' "$IT_DIR/tamper.out" || fail "tampered copy: rc $rc"
echo "billing: ok"
