#!/usr/bin/env bash
# Exactly once from the application's journal (docs/AGENT.md): a scripted kiosk application
# writes a journal of transactions, each line with its journal number as app_id, and resends
# any line that got no "ok" within its reply timeout, on a new connection, until it does.
# Meanwhile the agent is killed with SIGKILL and restarted, then frozen with SIGSTOP past
# the application's reply timeout and resumed. The server's usage must equal the journal
# exactly, per item and outcome. Then, after another restart, the application replays its
# whole journal (the records long acknowledged and gone from the outbox): every line gets
# the seq it got the first time, nothing is stored, and a journal number reused for another
# transaction is refused with app_id_reused.
source "$(dirname "$0")/lib.sh"

N=${KF_IT_JOURNAL:-150}
REPLY_TIMEOUT=2.5
FREEZE=6
DEV=KF-AJ-0001

it_init 0
it_provision_device "$DEV" A-000001 Z-WG-001 "$IT_DIR/dev"
INI=$IT_DIR/dev/$DEV.ini
SOCK=$IT_DIR/dev/$DEV.sock
it_ini_set "$INI" batch flush_interval_ms 200
it_ini_set "$INI" batch ack_timeout_ms 3000
it_ini_set "$INI" mqtt reconnect_min_ms 100
it_ini_set "$INI" mqtt reconnect_max_ms 500
it_ini_set "$INI" mqtt reconnect_spread_ms 0
it_start_broker
it_start_kioskd

RUN=0
start_agent() {
    rm -f "$SOCK" # a SIGKILLed agent leaves its socket file behind
    RUN=$((RUN + 1))
    kf_spawn "$IT_DIR/agent-$RUN.log" "$KF_BIN_AGENT" -c "$INI"
    AGENT_PID=$KF_LAST_PID
    it_wait_for 10 'test -S "$SOCK"' || fail "agent run $RUN: socket never appeared"
}

# The application. "run": write the journal (JOURNAL, one JSON object a line: app_id, the
# line as sent, the seq of its ok) at about N / SPREAD lines a second, each line resent
# until ok; prints a summary. "replay": send every journal line again, once, and check
# each ok carries the journal's seq.
cat >"$IT_DIR/app.py" <<'PY'
import json, random, socket, sys, time

mode, path, journal = sys.argv[1], sys.argv[2], sys.argv[3]
timeout = float(sys.argv[4])
ITEMS = ["HF-001", "HF-002", "SS-001", "SS-004", "HR-002", "MI-003"]
OUTCOMES = ["ok", "ok", "ok", "failed", "abandoned"]
conn, buf = None, b""
st = {"sends": 0, "resends": 0, "timeouts": 0, "closed": 0, "refused": 0, "not_ok": 0}


def log(msg):
    sys.stderr.write("%.3f app: %s\n" % (time.time(), msg))


def drop():
    global conn, buf
    if conn is not None:
        conn.close()
    conn, buf = None, b""


def ask(line):
    """One request, one reply: the reply (dict) or None (no reply: timeout, closed, refused)."""
    global conn, buf
    if conn is None:
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(path)
        except OSError:
            drop()
            st["refused"] += 1
            time.sleep(0.1)
            return None
    st["sends"] += 1
    end = time.monotonic() + timeout
    try:
        conn.sendall(line + b"\n")
        while b"\n" not in buf:
            conn.settimeout(max(0.01, end - time.monotonic()))
            chunk = conn.recv(4096)
            if not chunk:
                st["closed"] += 1
                drop()
                return None
            buf += chunk
    except socket.timeout:
        # A late reply on this connection would be taken for the next line's: start over.
        st["timeouts"] += 1
        drop()
        return None
    except OSError:
        st["closed"] += 1
        drop()
        return None
    reply, buf = buf.split(b"\n", 1)
    return json.loads(reply)


def until_ok(app_id, line):
    tries = 0
    while True:
        tries += 1
        if tries > 1:
            st["resends"] += 1
        r = ask(line)
        if r is None:
            continue
        if r.get("ok") is True:
            if tries > 1:
                log("%s: ok seq %d after %d sends" % (app_id, r["seq"], tries))
            return r["seq"]
        st["not_ok"] += 1
        log("%s: %s" % (app_id, json.dumps(r)))
        if r.get("error") not in ("busy", "internal", "outbox_full"):
            sys.exit("%s: refused for good: %s" % (app_id, json.dumps(r)))
        drop()
        time.sleep(0.2)


if mode == "run":
    n, spread = int(sys.argv[5]), float(sys.argv[6])
    rnd = random.Random(11)
    now = int(time.time() * 1000)
    t0 = time.monotonic()
    with open(journal, "w") as j:
        for i in range(n):
            rec = {"t": "txn"}
            if i % 2 == 0:  # half the lines give their ts, half leave it to the agent
                rec["ts"] = now - 1000 * (n - i)
            rec.update(item=rnd.choice(ITEMS), outcome=rnd.choice(OUTCOMES),
                       dur_ms=1000 * rnd.randint(5, 300), app_id="J-2026/%06d" % i)
            line = json.dumps(rec, separators=(",", ":")).encode()
            seq = until_ok(rec["app_id"], line)
            j.write(json.dumps({"app_id": rec["app_id"], "item": rec["item"],
                                "outcome": rec["outcome"], "dur_ms": rec["dur_ms"],
                                "line": line.decode(), "seq": seq}) + "\n")
            j.flush()
            wait = t0 + spread * (i + 1) / n - time.monotonic()
            if wait > 0:
                time.sleep(wait)
    print(json.dumps(st))
elif mode == "replay":
    same = 0
    entries = [json.loads(l) for l in open(journal)]
    for e in entries:
        r = ask(e["line"].encode())
        if r == {"ok": True, "seq": e["seq"]}:
            same += 1
        else:
            log("replay %s: %s, journal seq %d" % (e["app_id"], json.dumps(r), e["seq"]))
    # A journal number reused for another transaction.
    e = entries[0]
    rec = json.loads(e["line"])
    rec["dur_ms"] += 1000
    r = ask(json.dumps(rec, separators=(",", ":")).encode())
    reused = r == {"ok": False, "error": "app_id_reused", "seq": e["seq"]}
    if not reused:
        log("reuse of %s: %s" % (e["app_id"], json.dumps(r)))
    print("%d %d" % (same, 1 if reused else 0))
PY

# The server's usage of the terminal by item: item total ok failed abandoned duration_s.
server_usage() {
    ctl usage --from 2000-01-01 --to 2099-12-31 --by device,item --format csv |
        kf_csv_cols device_id item total ok failed abandoned duration_s |
        awk -v d="$DEV" '$1 == d {$1 = ""; sub(/^ /, ""); print}' | sort
}
# The same from the application's journal.
journal_usage() {
    python3 - "$IT_DIR/journal.jsonl" <<'PY'
import json, sys
u = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    r = u.setdefault(e["item"], {"total": 0, "ok": 0, "failed": 0, "abandoned": 0, "dur": 0})
    r["total"] += 1
    r[e["outcome"]] += 1
    r["dur"] += e["dur_ms"] // 1000
for k in sorted(u):
    r = u[k]
    print(k, r["total"], r["ok"], r["failed"], r["abandoned"], r["dur"])
PY
}
committed() { server_usage | awk '{s += $2} END {print s + 0}'; }
# The counts of an agent run's stop line: "lines ok repeats errors reused".
stop_counts() {
    sed -n 's/.*stopping: app socket \([0-9]*\) lines, \([0-9]*\) ok (\([0-9]*\) resent.*, \([0-9]*\) errors (\([0-9]*\) app_id_reused).*/\1 \2 \3 \4 \5/p' \
        "$IT_DIR/agent-$1.log" | tail -1
}

start_agent
python3 "$IT_DIR/app.py" run "$SOCK" "$IT_DIR/journal.jsonl" "$REPLY_TIMEOUT" "$N" 20 \
    >"$IT_DIR/app.out" 2>"$IT_DIR/app.log" &
APP_PID=$!
KF_PIDS+=("$APP_PID")

# Four SIGKILLs at uneven moments while lines are in flight, each followed by a restart.
for pause in 1.3 2.1 1.7 2.4; do
    sleep "$pause"
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
    start_agent
done
sleep 1.5
kill -0 "$APP_PID" 2>/dev/null || fail "the application finished its journal before the freeze"
echo "freezing the agent for ${FREEZE}s (the application's reply timeout is ${REPLY_TIMEOUT}s)"
FROZEN_RUN=$RUN
kill -STOP "$AGENT_PID"
sleep "$FREEZE"
kill -CONT "$AGENT_PID"

wait "$APP_PID" || fail "the application gave up (exit $?)"
cat "$IT_DIR/app.out"
read -r timeouts resends closed < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["timeouts"], s["resends"], s["closed"])' "$IT_DIR/app.out")
[ "$(wc -l <"$IT_DIR/journal.jsonl")" = "$N" ] || fail "the journal has $(wc -l <"$IT_DIR/journal.jsonl") lines, want $N"
[ "$timeouts" -ge 1 ] || fail "no reply timed out: the freeze was not felt"
[ "$closed" -ge 1 ] || fail "no connection was lost: the kills were not felt"

journal_usage >"$IT_DIR/want.txt"
it_wait_for 30 'test "$(committed)" -ge '"$N" || fail "committed $(committed) of $N after 30 s"
sleep 2 # anything stored twice would arrive by now
server_usage >"$IT_DIR/got.txt"
if ! diff -u "$IT_DIR/want.txt" "$IT_DIR/got.txt" >"$IT_DIR/diff.log"; then
    cat "$IT_DIR/diff.log" >&2
    fail "the server's usage (item total ok failed abandoned duration_s) differs from the journal"
fi
seqs=$(python3 -c '
import json, sys
print(len({json.loads(l)["seq"] for l in open(sys.argv[1])}))' "$IT_DIR/journal.jsonl")
[ "$seqs" = "$N" ] || fail "$N journal lines were answered with $seqs distinct seqs"

# The frozen run saw the same line on the old connection and on the new one: the one it
# read second was answered with the first answer.
kf_stop "$AGENT_PID"
read -r _ _ repeats _ reused < <(stop_counts "$FROZEN_RUN")
[ "${repeats:-0}" -ge 1 ] || fail "the frozen agent answered no resend with a first answer"
[ "$reused" = 0 ] || fail "the frozen agent refused $reused lines as app_id_reused"

# A restart, then the whole journal again: first answers, nothing stored.
start_agent
read -r same reused_ok < <(python3 "$IT_DIR/app.py" replay "$SOCK" "$IT_DIR/journal.jsonl" \
    "$REPLY_TIMEOUT" 2>>"$IT_DIR/app.log")
[ "$same" = "$N" ] || fail "replayed $N journal lines, $same got their first answer"
[ "$reused_ok" = 1 ] || fail "a journal number reused for another transaction was not refused"
sleep 2
server_usage >"$IT_DIR/got2.txt"
diff -u "$IT_DIR/want.txt" "$IT_DIR/got2.txt" >&2 || fail "the replay changed the server's usage"
kf_stop "$AGENT_PID"
[ "$(stop_counts "$RUN")" = "$((N + 1)) $N $N 1 1" ] ||
    fail "replay run: stop counts '$(stop_counts "$RUN")', want '$((N + 1)) $N $N 1 1'"

# The server's side: the journal reconciles with the server's records, id by id.
python3 -c '
import csv, json, sys
w = csv.writer(sys.stdout)
w.writerow(["app_id", "item", "outcome"])
for l in open(sys.argv[1]):
    e = json.loads(l)
    w.writerow([e["app_id"], e["item"], e["outcome"]])' "$IT_DIR/journal.jsonl" >"$IT_DIR/journal.csv"
rc=0
ctl reconcile --device "$DEV" "$IT_DIR/journal.csv" --format csv -o "$IT_DIR/rec" || rc=$?
[ $rc = 0 ] || fail "kioskctl reconcile: exit $rc on a journal the server holds exactly"
[ "$(kf_csv_cols journal matched missing_on_server not_in_journal differs <"$IT_DIR/rec-reconcile.csv")" = "$N $N 0 0 0" ] ||
    fail "reconcile: $(cat "$IT_DIR/rec-reconcile.csv")"

# An agent that lost its outbox (a disk replaced) takes resent lines as new: the server keeps
# those records apart, counts nothing twice, and reconcile still agrees.
outbox=$(awk -F' *= *' '/^\[outbox\]/ {o = 1; next} /^\[/ {o = 0} o && $1 == "path" {print $2}' "$INI")
[ -n "$outbox" ] && [ -f "$outbox" ] || fail "no outbox file in $INI"
rm -f "$outbox" "$outbox-wal" "$outbox-shm"
start_agent
it_wait_for 15 'grep -q "renumbering the outbox" "$IT_DIR/agent-$RUN.log"' || fail "the agent with a new outbox never rebased its seqs past the server's"
head -5 "$IT_DIR/journal.jsonl" >"$IT_DIR/journal5.jsonl"
read -r same _ < <(python3 "$IT_DIR/app.py" replay "$SOCK" "$IT_DIR/journal5.jsonl" \
    "$REPLY_TIMEOUT" 2>>"$IT_DIR/app.log")
[ "$same" = 0 ] || fail "an agent without its outbox answered $same resends with a first answer"
it_wait_for 20 'test "$(ctl app-duplicates --device "$DEV" --format csv | kf_csv_cols app_id | wc -l)" = 5' ||
    fail "the server did not keep the 5 repeated records apart: $(ctl app-duplicates --device "$DEV")"
server_usage >"$IT_DIR/got3.txt"
diff -u "$IT_DIR/want.txt" "$IT_DIR/got3.txt" >&2 || fail "records repeating an app_id were counted"
rc=0
ctl reconcile --device "$DEV" "$IT_DIR/journal.csv" --format csv -o "$IT_DIR/rec2" || rc=$?
[ $rc = 0 ] || fail "kioskctl reconcile: exit $rc with repeats kept apart"
[ "$(kf_csv_cols matched repeats_kept_apart <"$IT_DIR/rec2-reconcile.csv")" = "$N 5" ] ||
    fail "reconcile after the repeats: $(cat "$IT_DIR/rec2-reconcile.csv")"
# A journal line the server never saw, and a server record the journal lacks.
{ head -n -1 "$IT_DIR/journal.csv"; echo "J-2026/999999,HF-001,ok"; } >"$IT_DIR/journal-off.csv"
rc=0
ctl reconcile --device "$DEV" "$IT_DIR/journal-off.csv" --format csv -o "$IT_DIR/rec3" || rc=$?
[ $rc = 3 ] || fail "kioskctl reconcile: exit $rc on a journal that differs, want 3"
[ "$(kf_csv_cols missing_on_server not_in_journal <"$IT_DIR/rec3-reconcile.csv")" = "1 1" ] ||
    fail "reconcile of a differing journal: $(cat "$IT_DIR/rec3-reconcile.csv")"
rc=0
printf 'id,item\nJ-1,HF-001\n' | ctl reconcile --device "$DEV" - >/dev/null 2>"$IT_DIR/rec4.err" || rc=$?
[ $rc = 2 ] && grep -q "app_id" "$IT_DIR/rec4.err" || fail "a journal without an app_id column: exit $rc, $(cat "$IT_DIR/rec4.err")"
kf_stop "$AGENT_PID"
ctl verify >/dev/null || fail "kioskctl verify found problems after the repeats"

sanitizers="ERROR: \(Address\|Leak\|UndefinedBehavior\)Sanitizer\|runtime error:"
if grep -l "$sanitizers" "$IT_DIR"/*.log; then
    fail "a sanitizer reported an error"
fi
echo "app journal: $N transactions, $resends resends ($timeouts timeouts, $closed lost connections) across 4 SIGKILLs and a ${FREEZE}s freeze; the server counts each once; $repeats resends answered with the first answer when frozen, $N on a replay"
