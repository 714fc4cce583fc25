#!/usr/bin/env bash
# The locked-down broker (conf/mosquitto.conf: TLS only, a password per client, ACLs), with
# real clients (mosquitto_pub/sub/rr over MQTT 5, kiosk-agent) against the real broker and
# kioskd:
#   (a) device A cannot publish on device B's topics: the broker refuses (MQTT 5 "Not
#       authorized") and kioskd never sees the frame (nothing received, nothing rejected);
#   (b) A cannot read B's acks: B's agent gets its acks, A's subscription to B's ack topic
#       delivers nothing (Mosquitto 2.0 checks "read" on delivery; it grants the SUBSCRIBE);
#   (c) a plain TCP (no TLS) connection is refused;
#   (d) a client that trusts another CA refuses the broker (mosquitto_pub and kiosk-agent),
#       and a wrong password is refused;
#   (e) a device whose account is deleted is disconnected by broker-sync's SIGHUP and cannot
#       connect again, while every other client stays connected;
#   (f) a normal device commits end to end, before and after that reload;
#   (g) kioskd receives what a device sends on its enroll topic, and refuses a frame that
#       does not belong there without falling over;
#   (h) an enrolling client ("_enroll-<token id>") may publish on its enroll topic only:
#       the broker refuses its hello, telemetry, events and state.
source "$(dirname "$0")/lib.sh"

A=KF-XH-0101 B=KF-XH-0102 C=KF-XH-0103 D=KF-XH-0104
it_init 0
for id in $A $B $C $D; do
    it_provision_device "$id" "A-$id" Z-XH-001 "$IT_DIR/dev"
done
mkdir -p "$IT_DIR/frames-$A"
"$KF_BIN_FORGE" --key "$IT_DIR/dev/$A.key" --device $A --other $B --seq 1 --out "$IT_DIR/frames-$A"
it_start_broker
it_start_kioskd
it_wait_for 10 'grep -q ready "$IT_DIR/kioskd.log"' || fail "kioskd never became ready"

pw() { cat "$IT_DIR/dev/$1.password"; }
kstat() { grep -o "\"$1\":[0-9]*" "$IT_DIR/kioskd.stats.json" | head -1 | cut -d: -f2; }
committed() { # [DEVICE]: transactions committed (of that device)
    if [ -n "${1:-}" ]; then
        ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv | kf_csv_sum total device_id "$1"
    else
        ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv | kf_csv_sum total
    fi
}
rejected_total() { ctl rejects --format csv | awk -F, 'NR>1 {s += $2} END {print s+0}'; }
# settle: wait two stats intervals, so the stats file shows whatever kioskd received.
settle() { sleep 2.5; }
start_agent() { # ID
    rm -f "$IT_DIR/dev/$1.sock"
    kf_spawn "$IT_DIR/agent-$1.log" "$KF_BIN_AGENT" -c "$IT_DIR/dev/$1.ini"
    KF_AGENT_PID[$1]=$KF_LAST_PID
    it_wait_for 10 "test -S '$IT_DIR/dev/$1.sock'" || fail "agent $1: socket never appeared"
}
send_txns() { # ID N
    local now i
    now=$(($(date +%s) * 1000))
    for ((i = 0; i < $2; i++)); do
        printf '{"t":"txn","ts":%d,"item":"SS-001","outcome":"ok","dur_ms":45000}\n' $((now - 1000 * i))
    done | nc -U -q 2 "$IT_DIR/dev/$1.sock" | grep -c '"ok":true'
}
declare -A KF_AGENT_PID

# Control: A may publish on its own topics; its frame arrives and commits.
it_pub $A "$IT_DIR/dev/$A.password" -q 1 -t "kf/v1/$A/events" \
    -f "$IT_DIR/frames-$A/valid.bin" 2>"$IT_DIR/pub.err" || fail "A's own publish: $(cat "$IT_DIR/pub.err")"
it_wait_for 10 'test "$(committed $A)" = 1' || fail "A's frame on its own topic did not commit"
settle
received0=$(kstat received)
echo "control: A's frame on its own topic committed (kioskd received $received0)"

# (a) A on B's topics: every device-to-server kind, and B's server-to-device topics.
for kind in telemetry events hello state enroll blob ack cmd; do
    it_pub $A "$IT_DIR/dev/$A.password" -q 1 -t "kf/v1/$B/$kind" \
        -f "$IT_DIR/frames-$A/copied.bin" 2>"$IT_DIR/pub.err" || true
    grep -q "Not authorized" "$IT_DIR/pub.err" ||
        fail "(a) the broker did not refuse A's publish on kf/v1/$B/$kind: $(cat "$IT_DIR/pub.err")"
done
settle
[ "$(kstat received)" = "$received0" ] || fail "(a) kioskd received $(($(kstat received) - received0)) refused frames"
[ "$(rejected_total)" = 0 ] || { ctl rejects; fail "(a) kioskd rejected something: it saw a refused frame"; }
[ "$(committed $B)" = 0 ] || fail "(a) a frame for B committed"
echo "(a) ok: A's publishes on B's 8 topics refused by the broker (MQTT 5 reason: Not authorized); kioskd received none"

# (b) A subscribes to B's acks while B gets one.
kf_spawn "$IT_DIR/sub-a.log" stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$CA" -V 5 \
    -u $A -P "$(pw $A)" -t "kf/v1/$B/ack" -t "kf/v1/$B/cmd" -v -d
SUB_A=$KF_LAST_PID
it_wait_for 10 'grep -q "SUBACK" "$IT_DIR/sub-a.log"' || fail "(b) A's subscription was not answered"
grep -q "All subscription requests were denied" "$IT_DIR/sub-a.log" &&
    echo "(b) the broker refused the SUBSCRIBE itself" ||
    echo "(b) the broker granted A's SUBSCRIBE to kf/v1/$B/ack (Mosquitto 2.0 checks read access on delivery)"
acks0=$(kstat acks_sent)
start_agent $B
[ "$(send_txns $B 2)" = 2 ] || fail "(b) B's agent refused txns"
it_wait_for 30 'test "$(committed $B)" = 2' || fail "(b) B committed $(committed $B) of 2"
settle
kf_stop "${KF_AGENT_PID[$B]}"
grep -q "stopping: outbox 0 records (acked up to 2)" "$IT_DIR/agent-$B.log" ||
    fail "(b) B's agent did not get its acks: $(grep stopping "$IT_DIR/agent-$B.log")"
[ "$(kstat acks_sent)" -gt "$acks0" ] || fail "(b) kioskd sent no ack"
kf_stop "$SUB_A"
if grep -q "^kf/v1/$B/" "$IT_DIR/sub-a.log" || grep -q "received PUBLISH" "$IT_DIR/sub-a.log"; then
    fail "(b) A received a message on B's topics"
fi
echo "(b) ok: B's agent got its $(($(kstat acks_sent) - acks0)) acks; A, subscribed to kf/v1/$B/ack, received nothing"

# (c) Plain TCP to the TLS port.
rc=0
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -V 5 -u $A -P "$(pw $A)" -q 1 -t "kf/v1/$A/events" \
    -f "$IT_DIR/frames-$A/valid.bin" 2>"$IT_DIR/pub.err" || rc=$?
[ $rc != 0 ] || fail "(c) a plain TCP connection was accepted"
echo "(c) ok: plain TCP refused (mosquitto_pub exit $rc: $(head -1 "$IT_DIR/pub.err"))"

# (d) Another CA; a wrong password.
kf_pki "$IT_DIR/other-pki"
rc=0
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$IT_DIR/other-pki/ca.crt" -V 5 -u $A \
    -P "$(pw $A)" -q 1 -t "kf/v1/$A/events" -f "$IT_DIR/frames-$A/valid.bin" \
    2>"$IT_DIR/pub.err" || rc=$?
[ $rc != 0 ] || fail "(d) a client trusting another CA accepted the broker"
grep -q "TLS error" "$IT_DIR/pub.err" || fail "(d) unexpected failure: $(cat "$IT_DIR/pub.err")"
# The client aborted the handshake: the broker logs the client's "unknown ca" alert.
it_wait_for 5 'grep -q "alert unknown ca" "$IT_DIR/mosquitto.log"' ||
    fail "(d) the broker did not see the client refuse its certificate"
rc=0
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" --cafile "$CA" -V 5 -u $A -P "wrong-$(pw $A)" \
    -q 1 -t "kf/v1/$A/events" -f "$IT_DIR/frames-$A/valid.bin" 2>"$IT_DIR/pub.err" || rc=$?
[ $rc != 0 ] && grep -q "Not authorized" "$IT_DIR/pub.err" || fail "(d) a wrong password was not refused (exit $rc)"
# The agent's own TLS client (Paho) checks the broker too.
sed -e "s|^ca_file = .*|ca_file = $IT_DIR/other-pki/ca.crt|" \
    -e "s|^path = .*|path = $IT_DIR/wrongca.outbox.db|" \
    -e "s|^socket = .*|socket = $IT_DIR/wrongca.sock|" "$IT_DIR/dev/$C.ini" >"$IT_DIR/wrongca.ini"
kf_spawn "$IT_DIR/agent-wrongca.log" "$KF_BIN_AGENT" -c "$IT_DIR/wrongca.ini"
WRONGCA_PID=$KF_LAST_PID
it_wait_for 15 'grep -q "certificate verify failed" "$IT_DIR/agent-wrongca.log"' ||
    fail "(d) kiosk-agent did not refuse a broker its CA did not sign"
kf_stop "$WRONGCA_PID"
grep -q "New client connected.* u'$C'" "$IT_DIR/mosquitto.log" && fail "(d) the agent trusting another CA connected"
echo "(d) ok: clients trusting another CA refuse the broker (mosquitto_pub: TLS error, the broker saw \"unknown ca\"; kiosk-agent: certificate verify failed); a wrong password is refused"

# (f) A normal terminal: app socket -> agent -> broker -> kioskd, committed.
start_agent $C
start_agent $D
[ "$(send_txns $C 5)" = 5 ] || fail "(f) C's agent refused txns"
[ "$(send_txns $D 2)" = 2 ] || fail "(e) D's agent refused txns"
it_wait_for 30 'test "$(committed $C)" = 5' || fail "(f) C committed $(committed $C) of 5"
it_wait_for 30 'test "$(committed $D)" = 2' || fail "(e) D committed $(committed $D) of 2 before revocation"
echo "(f) ok: C's 5 txns committed end to end over TLS"

# (e) Revoke D's broker account (what kf_store_broker_del does) and sync: SIGHUP.
lost0=$(kstat mqtt_lost)
reloads0=$(grep -c "Reloading config" "$IT_DIR/mosquitto.log" || true)
sqlite3 -cmd ".timeout 5000" "$DB" "DELETE FROM broker_accounts WHERE username = '$D'"
it_broker_sync
grep "broker-sync:" "$IT_DIR/provision.log" | tail -1
tail -1 "$IT_DIR/provision.log" | grep -q "1 removed" || fail "(e) broker-sync did not report the removal"
it_wait_for 10 'test "$(grep -c "Reloading config" "$IT_DIR/mosquitto.log")" -gt "$reloads0"' ||
    fail "(e) the broker did not reload"
it_wait_for 10 'sed -n "/Reloading config/,\$p" "$IT_DIR/mosquitto.log" | grep -q "Client $D disconnected"' ||
    fail "(e) the broker did not disconnect $D after the reload"
[ "$(send_txns $D 3)" = 3 ] || fail "(e) D's agent refused txns into its outbox"
rc=0
it_pub $D "$IT_DIR/dev/$D.password" -q 1 -t "kf/v1/$D/events" -m x 2>"$IT_DIR/pub.err" || rc=$?
[ $rc != 0 ] && grep -q "Not authorized" "$IT_DIR/pub.err" || fail "(e) $D could still connect"
# Every other client stayed: C commits more, kioskd was never dropped.
[ "$(send_txns $C 2)" = 2 ] || fail "(f) C's agent refused txns after the reload"
it_wait_for 30 'test "$(committed $C)" = 7' || fail "(f) C committed $(committed $C) of 7 after the reload"
sleep 5 # D's agent keeps retrying (backoff from 0.5 s)
[ "$(committed $D)" = 2 ] || fail "(e) D committed after its revocation"
refused=$(sed -n "/Reloading config/,\$p" "$IT_DIR/mosquitto.log" | grep -c "disconnected, not authorised" || true)
[ "$refused" -ge 1 ] || fail "(e) D's agent was not seen retrying"
settle
[ "$(kstat mqtt_lost)" = "$lost0" ] || fail "(e) the reload disconnected kioskd"
echo "(e) ok: $D disconnected at the reload, refused since ($refused attempts), its 3 new txns held in its outbox; kioskd and C unaffected"

for id in $C $D; do kf_stop "${KF_AGENT_PID[$id]}"; done
[ "$(rejected_total)" = 0 ] || { ctl rejects; fail "kioskd rejected frames: something got past the broker"; }

# (g) kioskd's new subscription: a RECORDS frame on A's own enroll topic (the ACL allows it)
# is refused by kioskd and counted; kioskd keeps serving.
it_pub $A "$IT_DIR/dev/$A.password" -q 1 -t "kf/v1/$A/enroll" -f "$IT_DIR/frames-$A/valid.bin" \
    2>"$IT_DIR/pub.err" || fail "(g) publish on A's enroll topic: $(cat "$IT_DIR/pub.err")"
it_wait_for 10 'test "$(rejected_total)" = 1' || fail "(g) the frame on the enroll topic was not refused"
kill -0 "$KIOSKD_PID" || fail "(g) kioskd died"
echo "(g) ok: a RECORDS frame on an enroll topic reached kioskd and was refused ($(ctl rejects --format csv | awk -F, 'NR>1 && $2>0 {print $1}'))"
# (h) An enrollment account, as a terminal derives it from its token.
"$KF_BIN_PROVISION" token --db "$DB" --server-key "$IT_DIR/server.key" --asset A-EN-0001 \
    --kind kiosk --zone Z-XH-001 --lease L-IT-1 --ttl 1h --by ops:it --reason "enrollment ACL" \
    --out "$IT_DIR/enroll.token" --auth-dir "$AUTH" --pid-file <(echo "$BROKER_PID") \
    >>"$IT_DIR/provision.log" 2>&1 || fail "(h) token: $(tail -3 "$IT_DIR/provision.log")"
read -r EU EPW < <("$KF_BIN_FORGE" enroll-account "$IT_DIR/enroll.token") || fail "(h) no account"
printf '%s\n' "$EPW" >"$IT_DIR/enroll.password"
sleep 1 # the broker re-reads its files on the SIGHUP
for kind in hello telemetry events state blob; do
    it_pub "$EU" "$IT_DIR/enroll.password" -q 1 -t "kf/v1/$EU/$kind" -m x 2>"$IT_DIR/pub.err" || true
    grep -q "Not authorized" "$IT_DIR/pub.err" ||
        fail "(h) the broker let $EU publish on $kind: $(cat "$IT_DIR/pub.err")"
done
it_pub "$EU" "$IT_DIR/enroll.password" -q 1 -t "kf/v1/$EU/enroll" -m x 2>"$IT_DIR/pub.err" ||
    fail "(h) $EU's publish on its enroll topic: $(cat "$IT_DIR/pub.err")"
! grep -q "Not authorized" "$IT_DIR/pub.err" || fail "(h) the broker refused $EU's enroll topic"
echo "(h) ok: an enrollment account publishes on its enroll topic only"

echo "broker lockdown: TLS only, per-device credentials and ACLs enforced by the broker; revocation by SIGHUP"
