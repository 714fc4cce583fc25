#!/usr/bin/env bash
# One kioskd per store, and kioskd never creates one (hardening issue, "Operating it"):
#   (a) a second kioskd on the same store exits at once, naming the first one's pid, and the
#       first keeps its broker session and keeps committing;
#   (b) a mistyped store path is an error that names kiosk-provision init, and no file is
#       created there;
#   (c) kioskd --check reads the store (read only): it fails for a store in a directory that
#       does not exist and for a file that is not a store, and reports the real one.
source "$(dirname "$0")/lib.sh"

A=KF-XH-0201
it_init 0
it_provision_device $A A-$A Z-XH-001 "$IT_DIR/dev"
mkdir -p "$IT_DIR/frames"
"$KF_BIN_FORGE" --key "$IT_DIR/dev/$A.key" --device $A --other $A --seq 1 --out "$IT_DIR/frames"
it_start_broker
it_start_kioskd
it_wait_for 10 'grep -q ready "$IT_DIR/kioskd.log"' || fail "kioskd never became ready"
kstat() { grep -o "\"$1\":[0-9]*" "$IT_DIR/kioskd.stats.json" | head -1 | cut -d: -f2; }
committed() { ctl usage --from 2000-01-01 --to 2099-12-31 --by device --format csv | kf_csv_sum total device_id $A; }

# (a) the same configuration again
start=$(date +%s%N)
rc=0
timeout 20 "$KF_BIN_KIOSKD" -c "$IT_DIR/kioskd.ini" >"$IT_DIR/second.log" 2>&1 || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc = 1 ] || fail "(a) a second kioskd exited $rc (want 1): $(cat "$IT_DIR/second.log")"
grep -q "another kioskd (pid $KIOSKD_PID)" "$IT_DIR/second.log" ||
    fail "(a) the second kioskd did not name the first: $(cat "$IT_DIR/second.log")"
! grep -q "ready" "$IT_DIR/second.log" || fail "(a) the second kioskd said ready"
kill -0 "$KIOSKD_PID" || fail "(a) the first kioskd died"
sleep 2
[ "$(kstat mqtt_lost)" = 0 ] || fail "(a) the first kioskd lost its broker session"
it_pub $A "$IT_DIR/dev/$A.password" -q 1 -t "kf/v1/$A/events" -f "$IT_DIR/frames/valid.bin" ||
    fail "(a) publish"
it_wait_for 10 'test "$(committed)" = 1' || fail "(a) the first kioskd stopped committing"
echo "(a) ok: a second kioskd exited in ${ms} ms naming pid $KIOSKD_PID; the first kept its session and committed"

# (b) a mistyped store path
sed "s|^path = .*|path = $IT_DIR/kiosk.db|" "$IT_DIR/kioskd.ini" >"$IT_DIR/typo.ini"
rc=0
timeout 20 "$KF_BIN_KIOSKD" -c "$IT_DIR/typo.ini" >"$IT_DIR/typo.log" 2>&1 || rc=$?
[ $rc = 1 ] || fail "(b) kioskd on a mistyped path exited $rc: $(cat "$IT_DIR/typo.log")"
grep -q "no such store; create it with kiosk-provision init" "$IT_DIR/typo.log" ||
    fail "(b) no pointer to kiosk-provision init: $(cat "$IT_DIR/typo.log")"
[ ! -e "$IT_DIR/kiosk.db" ] || fail "(b) kioskd created $IT_DIR/kiosk.db"
echo "(b) ok: a mistyped path is refused, nothing created"

# (c) --check reads the store
"$KF_BIN_KIOSKD" -c "$IT_DIR/kioskd.ini" --check >"$IT_DIR/check.log" 2>&1 ||
    fail "(c) --check on the real store: $(cat "$IT_DIR/check.log")"
grep -q "schema [0-9]*, [0-9]* units" "$IT_DIR/check.log" || fail "(c) --check did not report the store"
grep -q "served now by kioskd pid $KIOSKD_PID" "$IT_DIR/check.log" ||
    fail "(c) --check did not see the running kioskd: $(cat "$IT_DIR/check.log")"
sed "s|^path = .*|path = $IT_DIR/no/such/dir/kioskd.db|" "$IT_DIR/kioskd.ini" >"$IT_DIR/nodir.ini"
! "$KF_BIN_KIOSKD" -c "$IT_DIR/nodir.ini" --check >"$IT_DIR/check2.log" 2>&1 ||
    fail "(c) --check said OK for a store in a directory that does not exist"
grep -q "no such store" "$IT_DIR/check2.log" || fail "(c) $(cat "$IT_DIR/check2.log")"
: >"$IT_DIR/empty.db"
sed "s|^path = .*|path = $IT_DIR/empty.db|" "$IT_DIR/kioskd.ini" >"$IT_DIR/empty.ini"
! "$KF_BIN_KIOSKD" -c "$IT_DIR/empty.ini" --check >"$IT_DIR/check3.log" 2>&1 ||
    fail "(c) --check said OK for an empty file"
[ ! -s "$IT_DIR/empty.db" ] || fail "(c) --check wrote to the empty file"
echo "(c) ok: --check reports the store, refuses a missing directory and a file that is not a store"
echo "single writer: one kioskd per store, never a store made by mistake"
