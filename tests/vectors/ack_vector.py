#!/usr/bin/env python3
"""docs/PROTOCOL.md, vector 3, checked by a second implementation written from section 4
alone: X25519 from RFC 7748, the Ed25519-to-X25519 maps, BLAKE2b from hashlib. Nothing from
the C code or libsodium. Exit status 0 when the ACK key and the MAC match."""
import hashlib
import sys

P = 2**255 - 19


def x25519(k, u):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    x1, x2, z2, x3, z3, swap = int.from_bytes(u, "little") % P, 1, 0, 0, 1, 0
    x3 = x1
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = x2 + z2, x2 - z2
        aa, bb = a * a, b * b
        e = aa - bb
        c, d = x3 + z3, x3 - z3
        da, cb = d * a, c * b
        x3, z3 = (da + cb) ** 2 % P, x1 * (da - cb) ** 2 % P
        x2, z2 = aa * bb % P, e * (aa + 121665 * e) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


def curve_pk(ed_pk):
    y = int.from_bytes(ed_pk, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")


def curve_sk(seed):
    return hashlib.sha512(seed).digest()[:32]


DEVICE_SEED = bytes(range(32))
SERVER_SEED = bytes(range(0x20, 0x40))
DEVICE_PK = bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
SERVER_PK = bytes.fromhex("29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7")
ACK_KEY = "a48004e46c0a8a8d9cfde0e49df675607ecb204677da96f4c091b7f4eb7908d6"
FRAME = bytes.fromhex(
    "4b460104000a4b462d58482d3030303100000001000000000000000000000002"
    "000000000000019b789220d20000019b78921c0000000000d2cd30c3fedf12d6"
    "dd58b6a2cae289a36385757f9464f5d1b71abd8df4b38eaa54e87d7a8ed0cf3e"
    "114ec53a30d568354b465e19fecea6da603f55be7d2cf6c5")
TOPIC = b"kf/v1/KF-XH-0001/ack"

server_side = x25519(curve_sk(SERVER_SEED), curve_pk(DEVICE_PK))
device_side = x25519(curve_sk(DEVICE_SEED), curve_pk(SERVER_PK))
key = hashlib.blake2b(b"kioskfleet/ack-key/v1" + server_side + SERVER_PK + DEVICE_PK,
                      digest_size=32).digest()
msg = b"kioskfleet/env/v1" + len(TOPIC).to_bytes(2, "big") + TOPIC + FRAME[:-64]
mac = hashlib.blake2b(msg, key=key, digest_size=64).digest()
ok = server_side == device_side and key.hex() == ACK_KEY and mac == FRAME[-64:]
print("vector 3 (ACK): " + ("ACK key and MAC match" if ok else "MISMATCH"))
sys.exit(0 if ok else 1)
