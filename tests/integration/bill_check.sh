#!/usr/bin/env bash
# The bank's offline check of an issued bill, end to end (docs/BILLING.md "Checking a bill
# offline", docs/guides/BANK.md): a real broker, kioskd and three kiosk-agents make real
# facts and incidents for this month: a critical fault raised and cleared through a kiosk's
# app socket, then attributed to the bank by kioskctl; an ITM killed with SIGKILL (its will,
# an offline incident) and restarted; a third terminal of another bank, whose evidence must
# stay out of ICBC's bundle; an A4-printer fault on the kiosk, which ICBC's contract here
# (the fixture's, turned to "availability": "items") counts only against the items that
# print. Contracts loaded, terminals commissioned with a backdated --at.
#
# A bill is issued only for a closed month, and this month closes next month: the issuer
# alone runs under faketime, its clock set past the close (kioskd and the agents keep the
# real clock, so the facts are real). Then `kioskctl bill export` and kf-bill-check: OK;
# and each tamper fails with its own message:
#   a fact edited in the database before export      -> the seal's digest
#   an incident's attribution edited in the database  -> still OK: the checker does not
#       read incidents, it recomputes them from the sealed facts and actions; kioskctl
#       verify (the operator's side) names the edit
#   the bill's text edited in the bundle              -> the bill's signature
#   a fact removed from the bundle                    -> the seal's count
#   a seal removed from the bundle                    -> facts sealed by no run
#   a contract's text edited in the bundle            -> the contract's signed digest
#   a line amount edited, the bill re-signed with another key -> the signature is not the
#       server key's (and with that other key, the signed log fails instead)
#   a byte of a device's signed frame changed in the bundle -> the frame's signature
#   a frame swapped for another device's (ABC's terminal, validly signed) -> the device fact
#       it backed has no signed frame
#   the catalog edited in the bundle (an item's peripherals) -> the bill's catalog digest
# (A fact edited in the bundle is already caught by its seal's digest, test 1.)
source "$(dirname "$0")/lib.sh"

CHECK=${KF_BIN_CHECK:?}
command -v faketime >/dev/null || fail "faketime is not installed (scripts/lib.sh KF_PACKAGES)"
A=KF-XH-0001 B=KF-XH-0102 C=KF-WG-0001
it_init 0
it_provision_device $A A-000001 Z-XH-003 "$IT_DIR/dev"     # ICBC, a kiosk
it_provision_device $B A-000002 Z-XH-004 "$IT_DIR/dev" itm # ICBC, an ITM in a 24 h lobby
it_provision_device $C A-000003 Z-WG-001 "$IT_DIR/dev"     # ABC: not in ICBC's bundle
for d in $A $B $C; do
    printf '[batch]\nflush_interval_ms = 200\nack_timeout_ms = 3000\n' >>"$IT_DIR/dev/$d.ini"
done
CAL=$IT_DIR/calendar
mkdir -p "$CAL"
cp "$KF_ROOT"/fixtures/calendar/*.ini "$CAL/"
YEAR=$(TZ=Asia/Shanghai date +%Y)
MONTH=$(TZ=Asia/Shanghai date +%Y-%m)
NEXT_YEAR=$((YEAR + 1))
# The report of a month reads the calendar up to its close, in the next month: test-only
# files without holidays for years the repository has no official file for.
for y in "$YEAR" "$NEXT_YEAR"; do
    [ -e "$CAL/cn-$y.ini" ] ||
        printf '# test only: no holidays\n[calendar]\nyear = %s\nregion = CN\nsource = test\n' \
            "$y" >"$CAL/cn-$y.ini"
done
printf '[sla]\ncalendar_dir = %s\ngrace_s = 3\ntick_s = 1\n' "$CAL" >>"$IT_DIR/kioskd.ini"
KEY=(--server-key "$IT_DIR/server.key")
PUB=$IT_DIR/server.key.pub

mkdir -p "$IT_DIR/contracts"
cp "$KF_ROOT"/fixtures/contracts/*.json "$IT_DIR/contracts/"
sed -i 's/"availability": "terminal"/"availability": "items"/' "$IT_DIR"/contracts/ICBC-*.json
grep -q '"availability": "items"' "$IT_DIR"/contracts/ICBC-2026-v1.json || fail "ICBC's terms"
ctl contract load "$IT_DIR"/contracts/*.json --by ops --reason "signed" "${KEY[@]}" \
    >/dev/null || fail "contract load"
ctl asset commission --all --at "$MONTH-01 00:00" --by tech --reason 'accepted' "${KEY[@]}" ||
    fail "commission"

it_start_broker
it_start_kioskd
declare -A AGENT_PID
start_agent() {
    local sock=$IT_DIR/dev/$1.sock
    rm -f "$sock"
    kf_spawn "$IT_DIR/agent-$1.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/$1.ini"
    AGENT_PID[$1]=$KF_LAST_PID
    it_wait_for 10 'test -S "$sock"' || fail "agent $1: no app socket"
}
app() { printf '%s\n' "$2" | nc -U -q 2 "$IT_DIR/dev/$1.sock"; }
inc_col() { sqlite3 "$DB" "SELECT $2 FROM sla_incidents WHERE id = $1"; }
incident_for() { sqlite3 "$DB" "SELECT max(id) FROM sla_incidents WHERE asset_id = '$1' AND cause = '$2'"; }

start_agent $A
start_agent $B
start_agent $C
it_wait_for 30 'test "$(sqlite3 "$DB" "SELECT count(*) FROM devices WHERE online = 1")" = 3' ||
    fail "the three terminals never came online"

# An A4-printer jam on A: a company incident that stops only the items that print.
app $A '{"t":"fault","code":"PRN-JAM","sev":"critical","action":"raise","dev":"a4_printer"}' |
    grep -q '"ok":true' || fail "printer fault refused"
it_wait_for 20 'test -n "$(incident_for A-000001 PRN-JAM)"' || fail "no printer incident"
PRN=$(incident_for A-000001 PRN-JAM)
sleep 2
app $A '{"t":"fault","code":"PRN-JAM","sev":"critical","action":"clear","dev":"a4_printer"}' |
    grep -q '"ok":true' || fail "printer clear refused"
it_wait_for 15 'test "$(inc_col "$PRN" state)" = resolved' || fail "printer incident not resolved"
# A critical fault through A's app socket: an incident; cleared: resolved; then attributed
# to the bank (vandalism) by an operator through kioskctl.
app $A '{"t":"fault","code":"SCR-TOUCH","sev":"critical","action":"raise","dev":"screen","text":"touch panel smashed"}' |
    grep -q '"ok":true' || fail "fault refused"
it_wait_for 20 'test -n "$(incident_for A-000001 SCR-TOUCH)"' || fail "no incident opened"
ID=$(incident_for A-000001 SCR-TOUCH)
sleep 1
app $A '{"t":"fault","code":"SCR-TOUCH","sev":"critical","action":"clear","dev":"screen"}' |
    grep -q '"ok":true' || fail "clear refused"
it_wait_for 15 'test "$(inc_col "$ID" state)" = resolved' || fail "not resolved"
ctl attribute "$ID" --to bank_vandalism --by wang --reason "panel broken by a customer" |
    grep -q "now" || fail "attribution not applied"
[ "$(inc_col "$ID" attr)" = bank_vandalism ] || fail "attribution not stored: $(inc_col "$ID" attr)"
# Assigned to a technician: sealed with the run, replayed by the bank's checker, no figure moves.
ctl assign "$ID" --to wang --by li --note "panel on order" | grep -q "assigned to wang" ||
    fail "assignment not applied"
# A transaction on ABC's terminal: a signed frame of another bank's device (test 9 swaps it in).
app $C "{\"t\":\"txn\",\"ts\":$(date +%s%3N),\"item\":\"SB-003\",\"outcome\":\"ok\",\"dur_ms\":1000}" |
    grep -q '"ok":true' || fail "txn refused"
it_wait_for 15 'test "$(sqlite3 "$DB" "SELECT count(*) FROM envelopes WHERE device_id = '"'$C'"' AND kind = 1")" -gt 0' ||
    fail "no frame of $C stored"
# B killed outright: the broker's will, the grace, an offline incident; back: resolved.
kill -KILL "${AGENT_PID[$B]}"
wait "${AGENT_PID[$B]}" 2>/dev/null || true
it_wait_for 30 'test -n "$(incident_for A-000002 offline)"' || fail "no offline incident"
OFF=$(incident_for A-000002 offline)
start_agent $B
it_wait_for 30 'test "$(inc_col "$OFF" state)" = resolved' || fail "offline incident not resolved"
sleep 2
for d in $A $B $C; do kf_stop "${AGENT_PID[$d]}"; done
sleep 2
kf_stop "$KIOSKD_PID"
echo "evidence: incident $ID (fault, attributed to the bank), $OFF (offline)"

# Issued after the close: only the issuer's clock is moved (faketime), to the 6th of next
# month at noon, past any close day. ASan must accept faketime's preload.
NEXT=$(date -d "$MONTH-01 +1 month" +%Y-%m)
it_faketime "@$NEXT-06 12:00:00" "$KF_BIN_KIOSKCTL" --db "$DB" bill issue --bank ICBC \
    --month "$MONTH" --by finance "${KEY[@]}" >"$IT_DIR/issue.out" 2>&1 ||
    fail "issue: $(cat "$IT_DIR/issue.out")"
NUMBER=$(ctl --format csv bill list --bank ICBC | grep -o 'ICBC-[0-9]*' | head -1)
[ -n "$NUMBER" ] || fail "no bill issued: $(cat "$IT_DIR/issue.out")"

# Refusals: a credit note is not exported; an unknown number is named.
rc=0
ctl bill export ICBC-999999 -o "$IT_DIR/none.json" 2>"$IT_DIR/none.err" || rc=$?
[ $rc = 2 ] && grep -q "no issued bill ICBC-999999" "$IT_DIR/none.err" || fail "unknown number: rc $rc"

ctl bill export "$NUMBER" -o "$IT_DIR/bundle.json" --server-pub "$PUB" 2>"$IT_DIR/export.err" ||
    fail "export: $(cat "$IT_DIR/export.err")"
cat "$IT_DIR/export.err"
python3 - "$IT_DIR/bundle.json" <<'PY' || fail "the bundle's shape"
import json, sys
b = json.load(open(sys.argv[1]))
assert list(b)[:7] == ["doc", "server_pk", "bill", "bill_sig", "bank", "period", "close_ms"], list(b)
assert b["doc"] == "kioskfleet.bundle/1" and b["bank"] == "ICBC"
terms = {t["asset"] for t in b["terminals"]}
assert terms == {"A-000001", "A-000002"}, terms            # not ABC's A-000003
assert all(f["asset"] in terms for f in b["facts"]) and b["facts"], "other banks' facts"
assert any(e["action"] == "bill.issue" for e in b["log"])
assert any(e["action"] == "sla.run" for e in b["log"])
assert not any(e["subject"].startswith("ABC/") for e in b["log"])
assert list(b)[-2:] == ["facts", "frames"], list(b)[-2:]
dev = [f for f in b["facts"] if f["kind"] != "presence"]
assert dev and all(isinstance(f["seq"], int) for f in dev), dev
assert b["frames"] and all(f["device"] == "KF-XH-0001" for f in b["frames"]), b["frames"]
assert not any(f["key_signed"] for f in b["frames"])  # provisioned directly: no enroll entry
assert len(b["catalog"]) > 50 and all(i["needs"] for i in b["catalog"]), b["catalog"][:3]
assert "catalog" in json.loads(b["bill"])["inputs"]
assert any('"availability": "items"' in c or '"availability":"items"' in c for c in b["contracts"])
PY
SIZE=$(stat -c %s "$IT_DIR/bundle.json")
start=$(date +%s%N)
"$CHECK" "$IT_DIR/bundle.json" --server-pub "$PUB" >"$IT_DIR/check.out" 2>"$IT_DIR/check.err" ||
    fail "the untouched bundle does not check: $(cat "$IT_DIR/check.out" "$IT_DIR/check.err")"
end=$(date +%s%N)
cat "$IT_DIR/check.out"
grep -q "^OK: $NUMBER $MONTH, " "$IT_DIR/check.out" || fail "no OK line"
grep -q ", [1-9][0-9]* device facts backed by [1-9][0-9]* signed frames, " "$IT_DIR/check.out" ||
    fail "the OK line does not count the signed frames"
echo "measured: bundle $SIZE bytes, checked in $(((end - start) / 1000000)) ms (with sanitizers)"
# The key as hex on the command line works alike.
"$CHECK" "$IT_DIR/bundle.json" --server-pub "$(head -c 64 "$PUB")" >/dev/null 2>&1 ||
    fail "--server-pub HEX"

# expect_diff FILE PATTERN WHAT: kf-bill-check exits 1 naming PATTERN.
expect_diff() {
    local rc=0
    "$CHECK" "$1" --server-pub "${4:-$PUB}" >"$1.out" 2>&1 || rc=$?
    [ $rc = 1 ] || fail "$3: exit $rc, want 1: $(cat "$1.out")"
    grep -q -- "$2" "$1.out" || fail "$3: not named: $(cat "$1.out")"
    echo "$3: $(cat "$1.out")"
}
edit() { # OUT PYTHON: a copy of the bundle edited by the python body (b is the bundle)
    python3 - "$IT_DIR/bundle.json" "$1" "$2" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], "w"), ensure_ascii=False)
PY
}

# 1. A fact edited in the database before the export: the seal's digest.
cp "$DB" "$IT_DIR/t1.db"
FID=$(sqlite3 "$IT_DIR/t1.db" "SELECT min(id) FROM sla_facts WHERE asset_id = 'A-000002'")
sqlite3 "$IT_DIR/t1.db" "UPDATE sla_facts SET at_ms = at_ms + 60000 WHERE id = $FID" ||
    fail "cannot edit a fact"
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/t1.db" bill export "$NUMBER" -o "$IT_DIR/t1.json" 2>/dev/null ||
    fail "export t1"
expect_diff "$IT_DIR/t1.json" "terminal A-000002: its [0-9]* facts digest to .*(a fact edited)" \
    "a fact edited in the database"

# 2. The attribution edited in sla_incidents: the checker recomputes incidents from the
# sealed evidence and never reads that table, so the bill still checks; the operator's
# kioskctl verify names the edit.
cp "$DB" "$IT_DIR/t2.db"
sqlite3 "$IT_DIR/t2.db" "UPDATE sla_incidents SET attr = 'company' WHERE id = $ID" ||
    fail "cannot edit an incident"
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/t2.db" bill export "$NUMBER" -o "$IT_DIR/t2.json" 2>/dev/null ||
    fail "export t2"
"$CHECK" "$IT_DIR/t2.json" --server-pub "$PUB" >"$IT_DIR/t2.out" 2>&1 ||
    fail "an edited incident row changed the check: $(cat "$IT_DIR/t2.out")"
rc=0
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/t2.db" verify >"$IT_DIR/t2.verify" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "incident $ID: attr" "$IT_DIR/t2.verify" ||
    fail "kioskctl verify missed the edited attribution: rc $rc $(cat "$IT_DIR/t2.verify")"
echo "an incident edited in the database: the checker still OK (it reads no incident row);" \
    "kioskctl verify: $(grep "incident $ID: attr" "$IT_DIR/t2.verify" | head -1)"

# 3. The bill's text edited in the bundle: its signature.
edit "$IT_DIR/t3.json" 'b["bill"] = b["bill"].replace("\"status\":\"issued\"", "\"status\":\"issued\" ", 1)'
expect_diff "$IT_DIR/t3.json" "the bill's signature (bill_sig) is not the server key's" \
    "the bill text edited"

# 4. A fact removed from the bundle: the seal's count.
edit "$IT_DIR/t4.json" 'i = next(i for i, f in enumerate(b["facts"]) if f["asset"] == "A-000002"); del b["facts"][i]'
expect_diff "$IT_DIR/t4.json" "terminal A-000002: the seal counts [0-9]* facts, the bundle has" \
    "a fact removed from the bundle"

# 5. A seal removed from the bundle: its facts are sealed by no run.
edit "$IT_DIR/t5.json" '
first = min(f["id"] for f in b["facts"])
i = next(i for i, e in enumerate(b["log"]) if e["action"] == "sla.run" and json.loads(e["detail"])["facts_to"] >= first)
del b["log"][i]'
expect_diff "$IT_DIR/t5.json" "is sealed by no run in the bundle" "a seal removed from the bundle"

# 6. A contract's text edited: its digest no longer the signed one.
edit "$IT_DIR/t6.json" '
c = json.loads(b["contracts"][0]); c["maintenance"]["kiosk_fen"] += 100; b["contracts"][0] = json.dumps(c, ensure_ascii=False)'
expect_diff "$IT_DIR/t6.json" "contract ICBC/.*the contract text was changed" "a contract edited"

# 7. A line amount edited and the bill re-signed with another key: not the server's key.
openssl genpkey -algorithm ed25519 -out "$IT_DIR/other.pem" 2>/dev/null
OTHER_PUB=$(openssl pkey -in "$IT_DIR/other.pem" -pubout -outform DER | tail -c 32 | xxd -p -c 64)
edit "$IT_DIR/t7.bill" '
bill = json.loads(b["bill"])
bill["lines"][0]["net_fen"] += 100
open(sys.argv[2] + ".txt", "w").write(json.dumps(bill, ensure_ascii=False, separators=(",", ":")))'
openssl pkeyutl -sign -inkey "$IT_DIR/other.pem" -rawin -in "$IT_DIR/t7.bill.txt" \
    -out "$IT_DIR/t7.sig" || fail "openssl sign"
SIG=$(xxd -p -c 128 "$IT_DIR/t7.sig")
edit "$IT_DIR/t7.json" "b['bill'] = open('$IT_DIR/t7.bill.txt').read(); b['bill_sig'] = '$SIG'"
expect_diff "$IT_DIR/t7.json" "the bill's signature (bill_sig) is not the server key's" \
    "a line edited and re-signed by another key"
expect_diff "$IT_DIR/t7.json" "log entry [0-9]* (.*): the signature is not the server key's" \
    "the same, with the other key as --server-pub" "$OTHER_PUB"

# 8. A byte of a device's signed frame changed in the bundle (the last byte of its body, so
# that the frame still parses): its signature.
edit "$IT_DIR/t8.json" '
f = b["frames"][0]; raw = bytearray.fromhex(f["frame"]); raw[-65] ^= 1; f["frame"] = raw.hex()'
expect_diff "$IT_DIR/t8.json" "frames\[0\] (device KF-XH-0001, .*the frame's signature does not verify" \
    "a frame's byte changed"

# 9. A frame swapped for another device's: ABC's terminal's frame, validly signed under its own
# key, in place of the one behind ICBC's fault: that fact has no signed frame.
read -r C_EP C_RECV C_TOPIC C_RAW C_PK <<<"$(sqlite3 -separator ' ' "$DB" "SELECT e.key_epoch,
    e.recv_ms, e.topic, hex(e.raw), hex(k.pk) FROM envelopes e JOIN device_keys k
    ON k.device_id = e.device_id AND k.epoch = e.key_epoch
    WHERE e.device_id = '$C' AND e.kind = 1 ORDER BY e.id LIMIT 1")"
[ -n "$C_RAW" ] || fail "no frame of $C in the store"
edit "$IT_DIR/t9.json" "b['frames'][0] = {'device': '$C', 'key_epoch': $C_EP, 'pk': '$C_PK'.lower(),
    'topic': '$C_TOPIC', 'frame': '$C_RAW'.lower(), 'recv_ms': $C_RECV, 'key_signed': False}"
expect_diff "$IT_DIR/t9.json" "fact [0-9]* (A-000001 KF-XH-0001 seq [0-9]*): no signed frame in the bundle holds its record" \
    "a frame swapped for another device's"

# 10. The catalog edited in the bundle: an item that prints said to need only the screen.
edit "$IT_DIR/t10.json" '
it = next(i for i in b["catalog"] if "a4_printer" in i["needs"]); it["needs"] = ["screen"]'
expect_diff "$IT_DIR/t10.json" "the bill's inputs name catalog .*, the bundle's service items digest to" \
    "the catalog edited"

# Not a bundle: exit 2.
head -c 100 "$IT_DIR/bundle.json" >"$IT_DIR/cut.json"
rc=0
"$CHECK" "$IT_DIR/cut.json" --server-pub "$PUB" >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "a truncated bundle: exit $rc, want 2"
echo "ok: bill_check"
