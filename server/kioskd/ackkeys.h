/* ackkeys.h: the keys that authenticate the server's ACKs, one per device key, derived once.
 *
 * An ACK carries a MAC under a key that the server and the device each derive with one X25519
 * (kf_ack_key_server, docs/PROTOCOL.md section 4). A MAC costs a hash where a signature cost
 * about a third of a verification, and a terminal that sends one frame a minute gets an
 * ACK for every frame. The derivation costs more than a signature (two curve operations:
 * kf-verify-speed measured ack_key 114-140 us against ack_sign 25-32 us), so its result is kept
 * here, keyed by the device's public key (the key depends on nothing else), in an open
 * addressing table that grows with the devices seen up to a bound and then starts over.
 *
 * Used by one thread at a time (the store job); no locks.
 */
#ifndef KF_KIOSKD_ACKKEYS_H
#define KF_KIOSKD_ACKKEYS_H

#include <stddef.h>
#include <stdint.h>

#include <kf/envelope.h>

struct kf_ackkeys;

struct kf_ackkeys_stats {
    uint64_t derived; /* X25519s done: cache misses */
    uint64_t hits;
    uint64_t resets; /* times the table reached its bound and was emptied */
    size_t held;     /* keys held now */
};

/* Copies server_sk (wiped on free). max: keys held before the table starts over, >= 1024.
 * 0 or -EINVAL, -ENOMEM. */
int kf_ackkeys_new(const uint8_t server_sk[64], size_t max, struct kf_ackkeys **ret);
void kf_ackkeys_free(struct kf_ackkeys *c); /* NULL: no-op */

/* The ACK key for the device whose public key is device_pk: held (returns 0), or derived
 * (returns 1) and held (unless the table cannot grow for want of memory). -EKEYREJECTED:
 * device_pk is no usable curve point (libsodium refuses to verify under such a key too, so
 * no frame of that device gets this far). */
int kf_ackkeys_get(struct kf_ackkeys *c, const uint8_t device_pk[32],
                   uint8_t key[KF_ACK_KEY_BYTES]);

void kf_ackkeys_stats(const struct kf_ackkeys *c, struct kf_ackkeys_stats *ret);

#endif
