#!/usr/bin/env bash
# Software artifacts on the server (issue 18; docs/KIOSKCTL.md "artifact", docs/PROTOCOL.md
# section 14): test packages built with dpkg-deb; a release key made and used away from the
# database; a signed manifest checked against the release public key and the package against
# its size and SHA-256 before anything is stored; refusals change nothing.
source "$(dirname "$0")/lib.sh"

it_init 0
REL=$IT_DIR/release
mkdir -p "$REL"
deb() { # NAME VERSION: a package whose one file says its version
    local d=$IT_DIR/pkg-$1-$2
    mkdir -p "$d/DEBIAN" "$d/opt/$1"
    printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: it <it@example.invalid>\nDescription: test package\n' \
        "$1" "$2" >"$d/DEBIAN/control"
    echo "$1 $2" >"$d/opt/$1/VERSION"
    dpkg-deb --root-owner-group --build "$d" "$IT_DIR/$1_$2.deb" >/dev/null
}
deb kiosk-app 1.0
deb kiosk-app 1.1
K=$KF_BIN_KIOSKCTL
W=(--by ops:it --reason "artifact test" --server-key "$IT_DIR/server.key")
count() { it_sql "SELECT count(*) FROM $1"; }

# The release machine: no database.
"$K" artifact keygen --out "$REL/release.key" >/dev/null || fail "keygen"
[ "$(stat -c %a "$REL/release.key")" = 600 ] || fail "the release key is not 0600"
"$K" artifact keygen --out "$REL/release.key" 2>/dev/null && fail "keygen overwrote a key"
"$K" artifact sign --release-key "$REL/release.key" --name kiosk-app --version 1.0 --kinds kiosk \
    "$IT_DIR/kiosk-app_1.0.deb" -o "$REL/app-1.0.manifest" 2>/dev/null || fail "sign 1.0"
"$K" artifact sign --release-key "$REL/release.key" --name kiosk-app --version 1.1 \
    --kinds kiosk,itm "$IT_DIR/kiosk-app_1.1.deb" -o "$REL/app-1.1.manifest" 2>/dev/null || fail "sign 1.1"
grep -q "\"size\":$(stat -c %s "$IT_DIR/kiosk-app_1.0.deb")," "$REL/app-1.0.manifest" || fail "manifest size"
grep -q "$(sha256sum "$IT_DIR/kiosk-app_1.0.deb" | cut -d' ' -f1)" "$REL/app-1.0.manifest" || fail "manifest sha256"

# The server: only what verifies is stored.
add() { ctl artifact add "$1" "$2" --release-pub "${3:-$REL/release.key.pub}" "${W[@]}"; }
add "$IT_DIR/kiosk-app_1.0.deb" "$REL/app-1.0.manifest" >"$IT_DIR/add.out" || fail "add 1.0"
grep -q "kiosk-app 1.0 (kiosk, $(stat -c %s "$IT_DIR/kiosk-app_1.0.deb") bytes) stored" "$IT_DIR/add.out" || fail "add: $(cat "$IT_DIR/add.out")"
"$K" artifact keygen --out "$IT_DIR/other.key" >/dev/null
before=$(count artifact_chunks)
# (a) another release key's public half
add "$IT_DIR/kiosk-app_1.1.deb" "$REL/app-1.1.manifest" "$IT_DIR/other.key.pub" 2>"$IT_DIR/err" && fail "(a) stored under another key"
grep -q "does not verify" "$IT_DIR/err" || fail "(a) $(cat "$IT_DIR/err")"
# (b) the package is not the one the manifest describes (a wrong SHA-256)
add "$IT_DIR/kiosk-app_1.0.deb" "$REL/app-1.1.manifest" 2>"$IT_DIR/err" && fail "(b) stored a package the manifest does not describe"
grep -q "not the package the manifest describes" "$IT_DIR/err" || fail "(b) $(cat "$IT_DIR/err")"
# (c) the manifest edited (its version)
sed 's/"version":"1.1"/"version":"1.2"/' "$REL/app-1.1.manifest" >"$IT_DIR/edited.manifest"
add "$IT_DIR/kiosk-app_1.1.deb" "$IT_DIR/edited.manifest" 2>"$IT_DIR/err" && fail "(c) stored an edited manifest"
grep -q "does not verify" "$IT_DIR/err" || fail "(c) $(cat "$IT_DIR/err")"
# (d) not a manifest at all
echo '{"manifest":1}' >"$IT_DIR/junk.manifest"
add "$IT_DIR/kiosk-app_1.1.deb" "$IT_DIR/junk.manifest" 2>"$IT_DIR/err" && fail "(d) stored with junk"
[ "$(count artifacts)" = 1 ] && [ "$(count artifact_chunks)" = "$before" ] || fail "a refusal stored something"
echo "refusals ok: another key, a wrong package, an edited manifest, junk; nothing stored"

add "$IT_DIR/kiosk-app_1.1.deb" "$REL/app-1.1.manifest" >/dev/null || fail "add 1.1"
rc=0
add "$IT_DIR/kiosk-app_1.1.deb" "$REL/app-1.1.manifest" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "adding 1.1 twice: exit $rc, want 2"
[ "$(count artifacts)" = 2 ] || fail "$(count artifacts) artifacts"
[ "$(it_sql "SELECT count(*) FROM audit_log WHERE action = 'artifact.add'")" = 2 ] || fail "signed log"
# The stored chunks are the package, byte for byte.
it_sql "SELECT hex(data) FROM artifact_chunks WHERE artifact_id = 2 ORDER BY idx" | tr -d '\n' |
    xxd -r -p >"$IT_DIR/back.deb"
cmp -s "$IT_DIR/back.deb" "$IT_DIR/kiosk-app_1.1.deb" || fail "the stored package differs"
ctl artifact list --format csv | grep -q "kiosk-app,1.1,\"kiosk,itm\"" || fail "list: $(ctl artifact list --format csv)"
ctl audit verify --server-pub "$IT_DIR/server.key.pub" >/dev/null || fail "the signed log does not verify"
echo "PASS"
