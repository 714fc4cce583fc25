#!/usr/bin/env bash
# Serving an artifact to a terminal (issue 18; docs/PROTOCOL.md "FETCH", "PART"): an update
# command queued only for a stored artifact of the device's kind, with its signed manifest's
# SHA-256 added; kioskd answers a FETCH signed by the device with PARTs MAC'd under its ACK
# key, the manifest and the package byte for byte, a window at a time; a FETCH for another
# manifest, or once the command is cancelled, is answered "unknown"; a forged FETCH (another
# key) is refused. The terminal's side is played by kf-fetchtool here (the agent's: update.sh).
source "$(dirname "$0")/lib.sh"

it_init 0
D=KF-UPD-0001
it_provision_device $D A-000001 Z-WG-001 "$IT_DIR/dev"
it_provision_device KF-UPD-0002 A-000002 Z-WG-001 "$IT_DIR/dev" itm
REL=$IT_DIR/release
mkdir -p "$REL" "$IT_DIR/got"
K=$KF_BIN_KIOSKCTL
T=$KF_BIN_FETCHTOOL
# A package of about 100 KB that does not compress: 4 chunks.
d=$IT_DIR/pkg
mkdir -p "$d/DEBIAN" "$d/opt/kf-testapp"
printf 'Package: kf-testapp\nVersion: 1.1\nArchitecture: all\nMaintainer: it <it@example.invalid>\nDescription: test\n' >"$d/DEBIAN/control"
head -c 100000 /dev/urandom >"$d/opt/kf-testapp/blob"
dpkg-deb -Znone --root-owner-group --build "$d" "$IT_DIR/app.deb" >/dev/null
"$K" artifact keygen --out "$REL/release.key" >/dev/null || fail "keygen"
"$K" artifact sign --release-key "$REL/release.key" --name kf-testapp --version 1.1 --kinds kiosk \
    "$IT_DIR/app.deb" -o "$REL/app.manifest" 2>/dev/null || fail "sign"
ctl artifact add "$IT_DIR/app.deb" "$REL/app.manifest" --release-pub "$REL/release.key.pub" \
    --by ops:it --reason "fetch test" --server-key "$IT_DIR/server.key" >/dev/null || fail "add"

# Queued only for what is stored, for the device's kind.
it_cmd_send $D update kf-testapp 9.9 >/dev/null 2>"$IT_DIR/err" && fail "queued an update to an artifact not stored"
grep -q "no artifact kf-testapp 9.9" "$IT_DIR/err" || fail "9.9: $(cat "$IT_DIR/err")"
it_cmd_send KF-UPD-0002 update kf-testapp 1.1 >/dev/null 2>"$IT_DIR/err" && fail "queued a kiosk package to an ITM"
grep -q "is for kiosk terminals" "$IT_DIR/err" || fail "itm: $(cat "$IT_DIR/err")"
it_cmd_send $D update kf-testapp 1.1 >/dev/null || fail "send update"
# The signed manifest as stored (the file's text without its newline) is what is served.
it_sql "SELECT manifest FROM artifacts" | tr -d '\n' >"$IT_DIR/stored.manifest"
cmp -s "$IT_DIR/stored.manifest" <(tr -d '\n' <"$REL/app.manifest") || fail "stored manifest differs"
MSHA=$(sha256sum "$IT_DIR/stored.manifest" | cut -d' ' -f1)
args=$(it_sql "SELECT args FROM commands WHERE device_id = '$D' AND kind = 'update'")
[ "$args" = "[\"kf-testapp\",\"1.1\",\"$MSHA\"]" ] || fail "args $args, want the manifest's SHA-256 $MSHA"
SEQ=$(it_sql "SELECT seq FROM commands WHERE device_id = '$D' AND kind = 'update'")
echo "queued: update kf-testapp 1.1 seq $SEQ, manifest $MSHA"

it_start_broker
it_start_kioskd
it_wait_for 20 'grep -q "ready: subscribed" "$IT_DIR/kioskd.log"' || fail "kioskd not ready"
PW=$IT_DIR/dev/$D.password
KEY=$IT_DIR/dev/$D.key
# As the device: kf-fetchtool ask publishes the FETCH on the blob topic and prints the
# frames heard on the ack topic, in hex (one connection does both: the broker takes one
# connection per device).
fetch() { # NAME SHA PART FIRST COUNT WANT [KEY [WAIT_S]]
    "$T" fetch --key "${7:-$KEY}" --device $D --seq "$SEQ" --sha "$2" --part "$3" --first "$4" \
        --count "$5" --out "$IT_DIR/$1.bin" || fail "fetchtool $1"
    "$T" ask --uri "$BROKER_URI" --ca "$CA" --device $D --password-file "$PW" \
        --frame "$IT_DIR/$1.bin" --want "$6" --wait "${8:-10}" >>"$IT_DIR/parts.hex"
}
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$IT_DIR/kioskd.stats.json"; }
fetch manifest "$MSHA" 0 0 8 1 || fail "no PART for the manifest" # one chunk: the window stops
fetch file0 "$MSHA" 1 0 2 2 || fail "no PARTs for chunks 0..1"       # a window of 2
fetch file2 "$MSHA" 1 2 8 2 || fail "no PARTs for chunks 2..3"       # 2 chunks left: it stops
OTHER=$(printf '%064d' 0)
fetch other "$OTHER" 1 0 1 1 || fail "no answer to a FETCH naming another manifest"
"$K" artifact keygen --out "$IT_DIR/forger.key" >/dev/null
fetch forged "$MSHA" 1 0 1 1 "$IT_DIR/forger.key" 3 && fail "a forged FETCH was answered"
it_wait_for 10 '[ "$(stat_of parts_sent)" = 6 ]' ||
    fail "kioskd sent $(stat_of parts_sent) PARTs, want 1 + 2 + 2 + 1 = 6"
grep -q '"bad_signature":[1-9]' "$IT_DIR/kioskd.stats.json" || fail "the forged FETCH not counted"
[ "$(wc -l <"$IT_DIR/parts.hex")" = 6 ] || fail "$(wc -l <"$IT_DIR/parts.hex") PARTs heard, want 6"
"$T" open --key "$KEY" --server-pub "$IT_DIR/server.key.pub" --device $D --dir "$IT_DIR/got" \
    <"$IT_DIR/parts.hex" >"$IT_DIR/parts.txt" || fail "a PART does not verify"
cat "$IT_DIR/parts.txt"
SIZE=$(stat -c %s "$IT_DIR/app.deb")
FSHA=$(sha256sum "$IT_DIR/app.deb" | cut -d' ' -f1)
[ "$(head -1 "$IT_DIR/parts.txt")" = "$SEQ 0 0 0 1 $(stat -c %s "$IT_DIR/stored.manifest") $MSHA $(stat -c %s "$IT_DIR/stored.manifest")" ] ||
    fail "manifest PART: $(head -1 "$IT_DIR/parts.txt")"
cmp -s "$IT_DIR/got/0.0" "$IT_DIR/stored.manifest" || fail "the manifest served differs"
[ "$(grep -c "^$SEQ 1 0 [0-3] 4 $SIZE $FSHA " "$IT_DIR/parts.txt")" = 4 ] || fail "file PARTs"
cat "$IT_DIR/got/1.0" "$IT_DIR/got/1.1" "$IT_DIR/got/1.2" "$IT_DIR/got/1.3" | cmp -s - "$IT_DIR/app.deb" ||
    fail "the package served differs"
[ "$(tail -1 "$IT_DIR/parts.txt")" = "$SEQ 1 1 0 0 0 $(printf '%064d' 0) 0" ] || fail "unknown: $(tail -1 "$IT_DIR/parts.txt")"
echo "served: the manifest and the package ($SIZE bytes, 4 chunks) byte for byte, MACs verified; another manifest unknown; a forged FETCH refused"

# Cancelled: no longer served. (The command was never sent to a device here: it is queued.)
ctl cmd cancel "C-$(it_sql "SELECT id FROM commands WHERE device_id = '$D'")" --by T-0042 \
    --reason "integration test" --server-key "$IT_DIR/server.key" >/dev/null 2>&1 ||
    fail "cancel"
fetch again "$MSHA" 1 0 1 1 || fail "no answer after the cancel"
"$T" open --key "$KEY" --server-pub "$IT_DIR/server.key.pub" --device $D --dir "$IT_DIR/got" \
    <"$IT_DIR/parts.hex" | tail -1 | grep -q "^$SEQ 1 1 0 0 0 " || fail "served after the cancel"
# Nothing of a FETCH is stored.
[ "$(it_sql "SELECT count(*) FROM envelopes WHERE kind = 10")" = 0 ] || fail "a FETCH was stored"
echo "PASS"
