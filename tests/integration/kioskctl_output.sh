#!/usr/bin/env bash
# kioskctl's output as a bank auditor or a bureau analyst receives it (docs/KIOSKCTL.md): a
# real broker, kioskd and one kiosk-agent; transactions (two with an item code the catalog
# does not know), a critical fault (an incident), a planned window. Then every command in
# every format:
#   (a) CSV is UTF-8 with a BOM; --encoding gbk is GBK that iconv reads back, and a
#       character GBK lacks is an error naming the row, with nothing written;
#   (b) names beside codes (bank, zone, unit, item, family), the SLA report's included;
#   (c) one table per CSV (--table, -o PREFIX), no comment lines;
#   (d) JSON: every field of every command has the one type docs/KIOSKCTL.md gives it;
#   (e) tables keep their shape (one row is still a row; --vertical on request);
#   (f) usage by zone, unit, bank, item, family lists every one, with zeros;
#   (g) unknown item codes are kept as records, left out of usage, listed by unknown-items.
# Every check runs and the failures are listed together at the end.
source "$(dirname "$0")/lib.sh"

A=KF-XH-0102 # an ITM in a 24-hour lobby: its fault opens an incident at any hour
DOC=$KF_ROOT/docs/KIOSKCTL.md
it_init 0
it_provision_device $A A-000002 Z-XH-004 "$IT_DIR/dev" itm
printf '[batch]\nflush_interval_ms = 200\nack_timeout_ms = 3000\n' >>"$IT_DIR/dev/$A.ini"
it_calendar_dir
printf '[sla]\ncalendar_dir = %s\ngrace_s = 3\ntick_s = 1\n' "$CAL" >>"$IT_DIR/kioskd.ini"
it_start_broker
it_start_kioskd
kf_spawn "$IT_DIR/agent.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/$A.ini"
it_wait_for 10 'test -S "$IT_DIR/dev/$A.sock"' || fail "agent socket never appeared"
app() { printf '%s\n' "$@" | nc -U -q 2 "$IT_DIR/dev/$A.sock" | grep -c '"ok":true'; }
now=$(($(date +%s) * 1000))
n=$(app "{\"t\":\"txn\",\"ts\":$now,\"item\":\"SS-001\",\"outcome\":\"ok\",\"dur_ms\":45000}" \
    "{\"t\":\"txn\",\"ts\":$now,\"item\":\"SS-001\",\"outcome\":\"failed\",\"dur_ms\":5000}" \
    "{\"t\":\"txn\",\"ts\":$now,\"item\":\"HF-001\",\"outcome\":\"ok\",\"dur_ms\":30000}" \
    "{\"t\":\"txn\",\"ts\":$now,\"item\":\"ZZ-901\",\"outcome\":\"ok\",\"dur_ms\":20000}" \
    "{\"t\":\"txn\",\"ts\":$now,\"item\":\"ZZ-901\",\"outcome\":\"abandoned\",\"dur_ms\":1000}" \
    '{"t":"fault","code":"SCR-TOUCH","sev":"critical","action":"raise","dev":"screen","text":"=touch panel, unresponsive"}')
[ "$n" = 6 ] || fail "the agent acknowledged $n of 6 lines"
it_wait_for 30 'test "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE type = 1")" = 5' ||
    fail "the five transactions were never committed"
it_wait_for 20 'test -n "$(sqlite3 "$DB" "SELECT max(id) FROM sla_incidents")"' ||
    fail "no incident opened"
INC=$(sqlite3 "$DB" "SELECT max(id) FROM sla_incidents")
ctl window add --device $A --from "$(TZ=Asia/Shanghai date -d '+2 days' '+%Y-%m-%d 09:00')" \
    --to "$(TZ=Asia/Shanghai date -d '+2 days' '+%Y-%m-%d 10:00')" --reason "panel swap" \
    --by wang >/dev/null
DAY=$(TZ=Asia/Shanghai date +%Y-%m-%d)
MONTH=${DAY%-*}
U=(usage --from "$DAY" --to "$DAY")

shopt -s nullglob
problems=()
bad() { problems+=("$*"); echo "  FAIL: $*" >&2; }
# csv_col FILE NAME: the values of the column named NAME (the header row, BOM stripped, says
# which). Good for columns without commas or quotes, which is all this test reads.
csv_col() {
    awk -F, -v name="$2" 'NR == 1 { sub(/^\xef\xbb\xbf/, ""); for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        c { print $c }' "$1"
}
run() { # OUT ARGS...: kioskctl ARGS into OUT; its exit status is kept in rc
    rc=0
    ctl "${@:2}" >"$1" 2>"$1.err" || rc=$?
}

# ---- (a) BOM and GBK ------------------------------------------------------------------
echo "(a) CSV for Excel: a BOM by default, GBK on request"
for cmd in "devices" "rejects" "incidents" "state" "window list" "audit" "quarantine" \
    "${U[*]} --by zone" "unknown-items" "sla --month $MONTH --by bank"; do
    # shellcheck disable=SC2086
    run "$IT_DIR/bom.csv" --format csv $cmd
    [ "$rc" = 0 ] || { bad "(a) $cmd: exit $rc: $(head -2 "$IT_DIR/bom.csv.err")"; continue; }
    [ "$(head -c3 "$IT_DIR/bom.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ] ||
        bad "(a) $cmd --format csv does not start with the UTF-8 BOM (EF BB BF)"
done
run "$IT_DIR/zones.utf8.csv" --format csv "${U[@]}" --by zone
run "$IT_DIR/zones.gbk.csv" --format csv --encoding gbk "${U[@]}" --by zone
if [ "$rc" != 0 ]; then
    bad "(a) --encoding gbk: exit $rc: $(head -2 "$IT_DIR/zones.gbk.csv.err")"
elif ! iconv -f GBK -t UTF-8 "$IT_DIR/zones.gbk.csv" >"$IT_DIR/zones.back.csv"; then
    bad "(a) the GBK CSV is not GBK"
elif ! cmp -s <(tail -c +4 "$IT_DIR/zones.utf8.csv") "$IT_DIR/zones.back.csv"; then
    bad "(a) the GBK CSV read back is not the UTF-8 CSV without its BOM"
elif ! grep -q "新华区" "$IT_DIR/zones.back.csv"; then
    bad "(a) the GBK CSV has no Chinese names in it"
fi
# A zone whose name GBK cannot write (U+20BB7, as in some family names): an error naming
# the row, and no partial file.
cp "$DB" "$IT_DIR/copy.db"
sqlite3 "$IT_DIR/copy.db" "UPDATE zones SET name = '𠮷' || name WHERE id = 'Z-XH-004'"
rc=0
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/copy.db" --format csv --encoding gbk "${U[@]}" --by zone \
    >"$IT_DIR/nogbk.csv" 2>"$IT_DIR/nogbk.err" || rc=$?
if [ "$rc" = 0 ]; then
    bad "(a) a character GBK lacks was written anyway ($(grep -c '?' "$IT_DIR/nogbk.csv") '?')"
else
    grep -q "Z-XH-004" "$IT_DIR/nogbk.err" && grep -q "GBK" "$IT_DIR/nogbk.err" ||
        bad "(a) the GBK error does not name the row: $(head -2 "$IT_DIR/nogbk.err")"
    [ ! -s "$IT_DIR/nogbk.csv" ] || bad "(a) a partial GBK CSV was written before the error"
fi

# ---- (b) names beside codes --------------------------------------------------------------
echo "(b) names beside codes"
zone_name=$(sqlite3 "$DB" "SELECT name FROM zones WHERE id = 'Z-XH-004'")
bank=$(sqlite3 "$DB" "SELECT bank FROM zones WHERE id = 'Z-XH-004'")
bank_name=$(sqlite3 "$DB" "SELECT name FROM banks WHERE code = '$bank'")
check_names() { # FILE WHAT COLUMN-PAIRS...: each code column has its name column beside it
    local f=$1 what=$2 hdr pair
    hdr=$(head -1 "$f" | sed 's/^\xef\xbb\xbf//')
    shift 2
    for pair in "$@"; do
        [[ ",$hdr," == *",$pair,"* ]] || bad "(b) $what: no '$pair' in the header: $hdr"
    done
}
run "$IT_DIR/sla.csv" --format csv sla --month "$MONTH" --by terminal
check_names "$IT_DIR/sla.csv" "sla" "bank,bank_name" "zone,zone_name"
grep -q "A-000002,$bank,$bank_name,Z-XH-004,$zone_name," "$IT_DIR/sla.csv" ||
    bad "(b) the SLA CSV's row for A-000002 lacks its bank's and zone's names"
run "$IT_DIR/inc.csv" --format csv incidents
check_names "$IT_DIR/inc.csv" "incidents" "zone,zone_name" "bank,bank_name"
run "$IT_DIR/state.csv" --format csv state
check_names "$IT_DIR/state.csv" "state" "zone,zone_name" "bank,bank_name"
run "$IT_DIR/devices.csv" --format csv devices
check_names "$IT_DIR/devices.csv" "devices" "zone,zone_name" "unit,unit_name" "bank,bank_name"
run "$IT_DIR/win.csv" --format csv window list
check_names "$IT_DIR/win.csv" "window list" "zone,zone_name"
for by in zone:"zone,zone_name unit,unit_name bank,bank_name" unit:"unit,unit_name" \
    bank:"bank,bank_name" item:"item,item_name family,family_name" family:"family,family_name" \
    device:"zone,zone_name" device,item:"item,item_name family,family_name"; do
    run "$IT_DIR/u.csv" --format csv "${U[@]}" --by "${by%%:*}"
    # shellcheck disable=SC2086
    check_names "$IT_DIR/u.csv" "usage --by ${by%%:*}" ${by#*:}
done
grep -q "Z-XH-004,$zone_name,XH,新华区,$bank,$bank_name," "$IT_DIR/zones.utf8.csv" ||
    bad "(b) usage --by zone: Z-XH-004's row lacks its names"

# ---- (c) one table per CSV ---------------------------------------------------------------
echo "(c) one table per CSV file, no comment lines"
run "$IT_DIR/dev.csv" --format csv device $A
[ "$rc" = 2 ] && grep -q "keys" "$IT_DIR/dev.csv.err" ||
    bad "(c) device ID --format csv writes several tables into one CSV (exit $rc)"
run "$IT_DIR/keys.csv" --format csv --table keys device $A
[ "$rc" = 0 ] && [ "$(head -1 "$IT_DIR/keys.csv")" = $'\xef\xbb\xbfepoch,status,created,public_key' ] ||
    bad "(c) --table keys does not give the keys table alone: $(head -3 "$IT_DIR/keys.csv")"
mkdir -p "$IT_DIR/out"
run "$IT_DIR/o.txt" --format csv -o "$IT_DIR/out/sum" summary
for t in terminals usage_by_unit usage_by_family health rejections; do
    [ -s "$IT_DIR/out/sum-$t.csv" ] || bad "(c) -o PREFIX wrote no $IT_DIR/out/sum-$t.csv"
done
run "$IT_DIR/o.txt" --format csv -o "$IT_DIR/out/dev" device $A
for t in device keys health peripherals faults frames; do
    [ -s "$IT_DIR/out/dev-$t.csv" ] || bad "(c) -o PREFIX wrote no dev-$t.csv"
done
run "$IT_DIR/o.txt" --format csv -o "$IT_DIR/out/inc" incident "$INC"
[ -s "$IT_DIR/out/inc-history.csv" ] || bad "(c) incident ID -o PREFIX: no inc-history.csv"
for f in "$IT_DIR"/*.csv "$IT_DIR"/out/*.csv; do
    if grep -q '^\(\xef\xbb\xbf\)\?#' "$f"; then bad "(c) $(basename "$f") has a comment line"; fi
    if grep -q '^$' "$f"; then bad "(c) $(basename "$f") has an empty line (a second table?)"; fi
done

# ---- (d) JSON: one type per field, as documented -----------------------------------------
echo "(d) JSON types against docs/KIOSKCTL.md"
# doc_types NAME: "column type" lines of the table headed #### `NAME` in the reference.
doc_types() {
    [ -f "$DOC" ] || return 0
    awk -v h="#### \`$1\`" '$0 == h { on = 1; next } on && /^#/ { exit }
        on && /^\| `/ { split($0, c, "|"); n = c[2]; t = c[3]; gsub(/[ `]/, "", n); gsub(/ /, "", t); print n, t }' "$DOC"
}
# json_check NAME FILE [JQ-PATH]: every row of the array (at JQ-PATH) has exactly the
# documented keys, in order, each of its documented JSON type or null.
json_check() {
    local name=$1 f=$2 path=${3:-.} spec
    spec=$(doc_types "$name")
    [ -n "$spec" ] || { bad "(d) docs/KIOSKCTL.md has no columns for #### \`$name\`"; return; }
    local out
    out=$(jq -r --arg spec "$spec" "$path"' as $rows
        | ($spec | split("\n") | map(split(" ") | {k: .[0], t: .[1]})) as $cols
        | ($cols | map({text: "string", day: "string", time: "string", integer: "number",
                        seconds: "number", bp: "number", decimal: "number",
                        boolean: "boolean"}[.t] // ("unknown type " + .t))) as $want
        | if ($rows | type) != "array" then "not an array: \($rows | type)" else
          $rows[] | . as $row
          | if (keys_unsorted != ($cols | map(.k))) then "keys \(keys_unsorted) != documented \($cols | map(.k))"
            else (range(0; $cols | length) as $i | $cols[$i].k as $k
                | ($row[$k] | type) as $t
                | select($t != "null" and $t != $want[$i])
                | "\($k) is a \($t) (\($row[$k] | tojson)), documented \($cols[$i].t)"),
                 (range(0; $cols | length) as $i | $cols[$i] as $c
                  | select(($c.t == "integer" or $c.t == "seconds" or $c.t == "bp") and ($row[$c.k] | type) == "number" and ($row[$c.k] | floor) != $row[$c.k])
                  | "\($c.k) is not an integer"),
                 (range(0; $cols | length) as $i | $cols[$i] as $c
                  | select($c.t == "time" and ($row[$c.k] | type) == "string" and ($row[$c.k] | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\+08:00$") | not))
                  | "\($c.k) is not an RFC 3339 time: \($row[$c.k])")
            end end' "$f" 2>&1 | sort -u | head -5)
    [ -z "$out" ] || bad "(d) $name: $out"
}
jrun() { # NAME ARGS...: kioskctl --format json ARGS, checked against #### `NAME`
    local name=$1
    shift
    run "$IT_DIR/j.json" --format json "$@"
    [ "$rc" = 0 ] || { bad "(d) $*: exit $rc: $(head -2 "$IT_DIR/j.json.err")"; return; }
    json_check "$name" "$IT_DIR/j.json"
    [ "$(jq '[.. | select(. == "-")] | length' "$IT_DIR/j.json")" = 0 ] ||
        bad "(d) $*: \"-\" stands for a missing value"
}
jrun devices devices
for by in device zone unit bank item family device,item; do
    jrun "usage --by $by" "${U[@]}" --by "$by"
done
jrun unknown-items unknown-items
jrun rejects rejects
jrun incidents incidents
jrun state state
jrun "window list" window list
jrun quarantine quarantine
jrun audit audit
jrun sla sla --month "$MONTH" --by terminal
for t in device keys health peripherals faults frames; do
    jrun "device.$t" --table "$t" device $A
done
for t in terminals usage_by_unit usage_by_family health rejections; do
    jrun "summary.$t" --table "$t" summary
done
# Assigned through kioskd (docs/KIOSKCTL.md, "Actions"), then the queue filtered by it.
run "$IT_DIR/assign.out" assign "$INC" --to wang --by li --wait 30
grep -q "assigned to wang" "$IT_DIR/assign.out" ||
    bad "(d) assign: exit $rc: $(cat "$IT_DIR/assign.out" "$IT_DIR/assign.out.err")"
jrun incidents incidents --assignee wang
[ "$(jq length "$IT_DIR/j.json")" = 1 ] || bad "(d) incidents --assignee wang: $(cat "$IT_DIR/j.json")"
run "$IT_DIR/un.json" --format json incidents --unassigned
[ "$(jq length "$IT_DIR/un.json")" = 0 ] || bad "(d) incidents --unassigned: $(cat "$IT_DIR/un.json")"
jrun incidents incidents --flat
jrun "incident.incident" --table incident incident "$INC"
jq -e '.[0].assignee == "wang"' "$IT_DIR/j.json" >/dev/null || bad "(d) incident: no assignee"
jrun "incident.history" --table history incident "$INC"
jrun "state.items_out" --table items_out state --device $A
run "$IT_DIR/all.json" --format json device $A
for t in device keys health peripherals faults frames; do
    json_check "device.$t" "$IT_DIR/all.json" ".$t"
done
run "$IT_DIR/v.json" --format json verify
jq -e '.clean == true and (.envelopes | type) == "number"' "$IT_DIR/v.json" >/dev/null ||
    bad "(d) verify --format json: $(cat "$IT_DIR/v.json")"
run "$IT_DIR/i.json" --format json incident "$INC"
jq -e '(.incident[0].id | type) == "number" and (.incident[0].on_site_duration_s | type) == "number"' \
    "$IT_DIR/i.json" >/dev/null 2>&1 || bad "(d) incident ID: id or on_site_duration_s is not a number"
[ "$(jq '[.. | select(. == "-")] | length' "$IT_DIR/i.json")" = 0 ] ||
    bad "(d) incident ID: \"-\" stands for a missing value"

# ---- (e) tables keep their shape ----------------------------------------------------------
echo "(e) a one-row table is still a table"
run "$IT_DIR/one.txt" devices
grep -q '^device_id  *asset  *kind  *zone ' "$IT_DIR/one.txt" && grep -q "^$A  *A-000002  *itm " "$IT_DIR/one.txt" ||
    bad "(e) devices (one terminal) is not printed as a table: $(head -3 "$IT_DIR/one.txt" | cut -c1-60)"
run "$IT_DIR/vert.txt" --vertical devices
grep -q "^device_id  *$A\$" "$IT_DIR/vert.txt" && grep -q "^zone_name  *$zone_name\$" "$IT_DIR/vert.txt" ||
    bad "(e) --vertical does not print name/value lines: $(head -3 "$IT_DIR/vert.txt")"

# ---- (f) every zone, unit, bank, item and family, with zeros -----------------------------
echo "(f) usage by a dimension lists every member"
for by in zone:zones unit:units bank:banks item:items family:families; do
    run "$IT_DIR/f.csv" --format csv "${U[@]}" --by "${by%%:*}"
    want=$(sqlite3 "$DB" "SELECT count(*) FROM ${by#*:}")
    got=$(($(wc -l <"$IT_DIR/f.csv") - 1))
    [ "$got" = "$want" ] || bad "(f) usage --by ${by%%:*}: $got rows, the catalog has $want"
done
run "$IT_DIR/f.csv" --format csv "${U[@]}" --by zone
[ "$(csv_col "$IT_DIR/f.csv" total | grep -c '^0$')" -ge 200 ] ||
    bad "(f) usage --by zone: zones without transactions are not listed with 0"

# ---- (g) unknown item codes: kept, not counted, listed ------------------------------------
echo "(g) unknown item codes"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM records WHERE type = 1 AND item = 'ZZ-901'")" = 2 ] ||
    bad "(g) the two ZZ-901 records are not kept as evidence"
for by in device zone unit bank item family device,item; do
    run "$IT_DIR/g.csv" --format csv "${U[@]}" --by "$by"
    s=$(csv_col "$IT_DIR/g.csv" total | awk '{s += $1} END {print s + 0}')
    [ "$s" = 3 ] || bad "(g) usage --by $by counts $s transactions, want 3 (ZZ-901 left out)"
done
run "$IT_DIR/g.csv" --format csv "${U[@]}" --by family
if grep -q '^-\?,' "$IT_DIR/g.csv" || grep -q '^,' "$IT_DIR/g.csv"; then
    bad "(g) usage --by family has a row for no family"
fi
run "$IT_DIR/sum.csv" --format csv --table usage_by_unit summary
s=$(csv_col "$IT_DIR/sum.csv" total | awk '{s += $1} END {print s + 0}')
[ "$s" = 3 ] || bad "(g) summary usage_by_unit counts $s, want 3"
run "$IT_DIR/unk.csv" --format csv unknown-items
if [ "$rc" != 0 ]; then
    bad "(g) kioskctl unknown-items: exit $rc: $(head -2 "$IT_DIR/unk.csv.err")"
else
    [ "$(csv_col "$IT_DIR/unk.csv" item)" = ZZ-901 ] &&
        [ "$(csv_col "$IT_DIR/unk.csv" total)" = 2 ] &&
        [ "$(csv_col "$IT_DIR/unk.csv" terminals)" = 1 ] &&
        [ "$(csv_col "$IT_DIR/unk.csv" first_day)" = "$DAY" ] ||
        bad "(g) unknown-items: $(cat "$IT_DIR/unk.csv")"
fi
run "$IT_DIR/g.txt" "${U[@]}" --by zone
grep -q "unknown-items" "$IT_DIR/g.txt.err" || bad "(g) usage does not say transactions were left out"
ctl verify >/dev/null || bad "(g) kioskctl verify: the evidence does not verify"

# ---- a terminal's text is data, never an Excel formula -------------------------------------
run "$IT_DIR/faults.csv" --format csv --table faults device $A
grep -q "^SCR-TOUCH,critical,screen,\"'=touch panel, unresponsive\"," "$IT_DIR/faults.csv" ||
    bad "(a) a fault text starting with = reaches Excel as a formula: $(tail -1 "$IT_DIR/faults.csv")"

if ((${#problems[@]})); then
    printf '%d problem(s):\n' "${#problems[@]}" >&2
    printf '  %s\n' "${problems[@]}" >&2
    exit 1
fi
echo "kioskctl output: BOM and GBK, names beside codes, one table per CSV, typed JSON as documented, tables keep their shape, every member listed, unknown items apart"
