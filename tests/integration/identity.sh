#!/usr/bin/env bash
# Device identity against the real, locked-down broker and kioskd (docs/SECURITY.md):
#  - a terminal enrolls with a one-time token, making its own key on the spot, and commits
#    usage as the device the server names; a second use of the token and an expired token
#    are refused;
#  - a forged server ACK is ignored and the records stay in the outbox;
#  - the key is rotated (SIGUSR1): frames signed with the old key are refused as revoked,
#    while the evidence stored under it still verifies;
#  - the device is revoked: frames still reaching kioskd are counted as revoked, and after
#    broker-sync the broker shuts it out;
#  - the asset's terminal is replaced: the new one enrolls as <asset>.2 under the same
#    asset, so the asset's usage continues;
#  - the audit log lists every step and verifies; an edited entry is caught.
source "$(dirname "$0")/lib.sh"

it_init 0
cat >>"$IT_DIR/kioskd.ini" <<INI
[broker]
auth_dir = $AUTH
pid_file = $IT_DIR/broker.pid
provision_bin = $KF_BIN_PROVISION
INI
it_start_broker
echo "$BROKER_PID" >"$IT_DIR/broker.pid"
it_start_kioskd
PUB=$(cat "$IT_DIR/server.key.pub")

token() { # ASSET TTL OUT
    "$KF_BIN_PROVISION" token --db "$DB" --server-key "$IT_DIR/server.key" --asset "$1" \
        --kind kiosk --zone Z-XH-001 --lease L-IT-1 --ttl "$2" --by ops:it --reason "new installation" \
        --out "$3" --auth-dir "$AUTH" --pid-file "$IT_DIR/broker.pid" >>"$IT_DIR/provision.log" 2>&1
}
agent_ini() { # NAME TOKENFILE: an agent as the fleet image would ship it, plus the token
    local d=$IT_DIR/$1
    mkdir -p "$d/id"
    chmod 700 "$d/id"
    cat >"$d/agent.ini" <<INI
[device]
identity_dir = $d/id
kind = kiosk
server_public_key = $PUB
[enroll]
token_file = $2
[mqtt]
uri = $BROKER_URI
ca_file = $CA
reconnect_min_ms = 100
reconnect_max_ms = 1000
[outbox]
path = $d/outbox.db
[batch]
flush_interval_ms = 100
ack_timeout_ms = 2000
[probes]
health_interval_s = 3600
[app]
socket = $d/app.sock
INI
}
start_agent() { # NAME
    rm -f "$IT_DIR/$1/app.sock"
    kf_spawn "$IT_DIR/$1.log" "$KF_BIN_AGENT" -c "$IT_DIR/$1/agent.ini"
    AGENT_PID=$KF_LAST_PID
}
send_txns() { # NAME N
    local now i
    now=$(($(date +%s) * 1000))
    for ((i = 0; i < $2; i++)); do
        printf '{"t":"txn","ts":%d,"item":"SS-001","outcome":"ok","dur_ms":30000}\n' $((now - 1000 * i))
    done | nc -U -q 2 "$IT_DIR/$1/app.sock" | grep -c '"ok":true'
}
usage_of() { # DEVICE: committed transactions
    ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv | kf_csv_sum total device_id "$1"
}
stat_of() { python3 -c "import json,sys; print(json.load(open('$IT_DIR/kioskd.stats.json'))$1)"; }
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }

# ---- enrollment ----
token A-900001 10m "$IT_DIR/tok1"
[ "$(stat -c %a "$IT_DIR/tok1")" = 600 ] || fail "token file not mode 0600"
agent_ini t1 "$IT_DIR/tok1"
start_agent t1
T1_PID=$AGENT_PID
it_wait_for 30 'test -S "$IT_DIR/t1/app.sock"' || fail "the terminal never enrolled"
grep -q "enrolled as A-900001.1" "$IT_DIR/t1.log" || fail "enrolled under another id"
[ "$(stat -c %a "$IT_DIR/t1/id/key.1")" = 600 ] || fail "device key not mode 0600"
[ "$(sql "SELECT count(*) FROM enroll_tokens WHERE used_ms IS NOT NULL")" = 1 ] ||
    fail "token not consumed"
pk_db=$(sql "SELECT hex(pk) FROM device_keys WHERE device_id = 'A-900001.1' AND epoch = 1")
[ -n "$pk_db" ] || fail "device key not registered"
ok=$(send_txns t1 20)
[ "$ok" = 20 ] || fail "20 lines sent, $ok acknowledged"
it_wait_for 30 'test "$(usage_of A-900001.1)" = 20' || fail "committed $(usage_of A-900001.1), want 20"
echo "enrollment: A-900001.1 enrolled with its own key; 20 transactions committed"

# the same token again (another terminal, another key): refused, and the agent says so
agent_ini t2 "$IT_DIR/tok1"
if timeout 30 "$KF_BIN_AGENT" -c "$IT_DIR/t2/agent.ini" >"$IT_DIR/t2.log" 2>&1; then
    fail "a used token enrolled a second terminal"
fi
# The token's broker account went with its first use: the broker refuses the second
# terminal before kioskd ever hears of it (had it got through, kioskd says token_used).
grep -qE "token_used|refused by the broker" "$IT_DIR/t2.log" || fail "reuse not refused"
# an expired token
token A-900002 1s "$IT_DIR/tok2"
sleep 1.5
agent_ini t3 "$IT_DIR/tok2"
if timeout 30 "$KF_BIN_AGENT" -c "$IT_DIR/t3/agent.ini" >"$IT_DIR/t3.log" 2>&1; then
    fail "an expired token enrolled a terminal"
fi
# kioskd refuses it (token_expired); once a broker-sync has run after the expiry, the
# broker already has (refused by the broker).
grep -qE "token_expired|refused by the broker" "$IT_DIR/t3.log" || fail "expired token not refused"
[ "$(sql "SELECT count(*) FROM devices")" = 1 ] || fail "a refused enrollment registered something"
echo "enrollment: a reused token and an expired token refused; nothing registered"

# ---- a forged server ACK is ignored ----
kf_stop "$KIOSKD_PID"
ok=$(send_txns t1 5)
[ "$ok" = 5 ] || fail "5 lines sent, $ok acknowledged"
held=$(sqlite3 "$IT_DIR/t1/outbox.db" "SELECT count(*) FROM records")
[ "$held" -ge 5 ] || fail "outbox holds $held records, want >= 5"
"$KF_BIN_FORGE" ack --key "$IT_DIR/t1/id/key.1" --device A-900001.1 --seq 1000000 \
    --out "$IT_DIR/forged-ack.bin"
it_pub _kioskd "$IT_DIR/kioskd.password" -q 1 -t kf/v1/A-900001.1/ack -f "$IT_DIR/forged-ack.bin"
sleep 1
[ "$(sqlite3 "$IT_DIR/t1/outbox.db" "SELECT count(*) FROM records")" = "$held" ] ||
    fail "a forged ACK deleted records from the outbox"
it_start_kioskd
it_wait_for 30 'test "$(usage_of A-900001.1)" = 25' || fail "committed $(usage_of A-900001.1), want 25"
echo "forged ack: ignored by the agent; its 5 records stayed and committed once kioskd came back"

# ---- key rotation ----
cp "$IT_DIR/t1/id/key.1" "$IT_DIR/old.key"
kill -USR1 "$T1_PID"
it_wait_for 30 'test "$(sql "SELECT status FROM device_keys WHERE device_id = '"'"'A-900001.1'"'"' AND epoch = 2")" = 1' ||
    fail "rotation to epoch 2 not recorded"
it_wait_for 10 'grep -q "key_epoch = 2" "$IT_DIR/t1/id/identity"' || fail "agent did not record epoch 2"
[ ! -e "$IT_DIR/t1/id/key.1" ] || fail "the retired key was not destroyed"
ok=$(send_txns t1 10)
[ "$ok" = 10 ] || fail "10 lines sent after rotation, $ok acknowledged"
it_wait_for 30 'test "$(usage_of A-900001.1)" = 35' || fail "committed $(usage_of A-900001.1) after rotation, want 35"
[ "$(sql "SELECT count(*) FROM envelopes WHERE device_id = 'A-900001.1' AND key_epoch = 2")" -ge 1 ] ||
    fail "no frame stored under the new key"
# a frame signed with the old key is refused as revoked
mkdir -p "$IT_DIR/forge"
"$KF_BIN_FORGE" --key "$IT_DIR/old.key" --device A-900001.1 --other A-900002.1 --seq 900 \
    --out "$IT_DIR/forge" >/dev/null
rev0=$(stat_of "['rejected']['revoked']")
it_pub A-900001.1 "$IT_DIR/t1/id/broker.pw" -q 1 -t kf/v1/A-900001.1/events -f "$IT_DIR/forge/valid.bin"
it_wait_for 10 'test "$(stat_of "['"'"'rejected'"'"']['"'"'revoked'"'"']")" -gt "$rev0"' ||
    fail "a frame signed with the retired key was not counted as revoked"
ctl verify >"$IT_DIR/verify1.txt" || fail "evidence stored under the retired key no longer verifies"
echo "rotation: epoch 2 in use, old key refused (revoked), old evidence verifies"

# ---- revocation ----
rev0=$(stat_of "['rejected']['revoked']")
"$KF_BIN_PROVISION" revoke A-900001.1 --db "$DB" --server-key "$IT_DIR/server.key" \
    --by ops:it --reason "reported stolen" >>"$IT_DIR/provision.log" 2>&1
kill -HUP "$KIOSKD_PID" # reload the registry (the broker still has the account: not synced)
sleep 1
send_txns t1 3 >/dev/null
it_wait_for 20 'test "$(stat_of "['"'"'rejected'"'"']['"'"'revoked'"'"']")" -gt "$rev0"' ||
    fail "frames of a revoked device not counted as revoked"
it_broker_sync
it_wait_for 20 'grep -q "refused A-900001.1: not authorised" "$IT_DIR/t1.log"' ||
    fail "the broker did not shut the revoked device out"
if it_pub A-900001.1 "$IT_DIR/t1/id/broker.pw" -q 1 -t kf/v1/A-900001.1/hello -m x 2>/dev/null; then
    fail "a revoked device could still connect to the broker"
fi
kf_stop "$T1_PID"
echo "revocation: counted as revoked by kioskd, shut out by the broker"

# ---- replacement ----
before=$(usage_of A-900001.1)
"$KF_BIN_PROVISION" replace --asset A-900001 --db "$DB" --server-key "$IT_DIR/server.key" \
    --by tech:it --reason "disk failed" --ttl 10m --out "$IT_DIR/tok3" \
    --auth-dir "$AUTH" --pid-file "$IT_DIR/broker.pid" >>"$IT_DIR/provision.log" 2>&1
agent_ini t4 "$IT_DIR/tok3"
start_agent t4
it_wait_for 30 'test -S "$IT_DIR/t4/app.sock"' || fail "the replacement never enrolled"
grep -q "enrolled as A-900001.2" "$IT_DIR/t4.log" || fail "the replacement is not A-900001.2"
ok=$(send_txns t4 7)
[ "$ok" = 7 ] || fail "7 lines sent, $ok acknowledged"
it_wait_for 30 'test "$(usage_of A-900001.2)" = 7' || fail "replacement committed $(usage_of A-900001.2), want 7"
[ "$(sql "SELECT count(DISTINCT asset_id) FROM txns WHERE device_id LIKE 'A-900001.%'")" = 1 ] ||
    fail "the replacement's usage is not under the same asset"
[ "$(usage_of A-900001.1)" = "$before" ] || fail "the old identity's usage changed"
echo "replacement: A-900001.2 enrolled under asset A-900001; history kept"

# ---- the audit log ----
ctl audit --format csv >"$IT_DIR/audit.csv"
for a in token.issue device.enroll key.rotate device.revoke asset.replace; do
    grep -q ",$a," "$IT_DIR/audit.csv" || fail "audit log lacks $a"
done
ctl audit verify --server-pub "$IT_DIR/server.key.pub" >"$IT_DIR/audit-verify.txt" ||
    fail "audit log does not verify: $(cat "$IT_DIR/audit-verify.txt")"
kf_stop "$KIOSKD_PID"
cp "$DB" "$IT_DIR/copy.db"
sqlite3 "$IT_DIR/copy.db" "DROP TRIGGER audit_log_no_update;
    UPDATE audit_log SET actor = 'someone else' WHERE action = 'device.revoke'"
set +e
"$KF_BIN_KIOSKCTL" --db "$IT_DIR/copy.db" audit verify --server-pub "$IT_DIR/server.key.pub" \
    >"$IT_DIR/audit-broken.txt"
rc=$?
set -e
[ $rc = 3 ] || fail "an edited audit entry was not caught (rc=$rc)"
grep -q "BROKEN" "$IT_DIR/audit-broken.txt" || fail "no report of the broken entry"
echo "audit: $(wc -l <"$IT_DIR/audit.csv") lines, verifies; an edited entry is caught"
