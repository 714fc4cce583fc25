/* fuzz_fetch: the FETCH and PART decoders (docs/PROTOCOL.md "FETCH", "PART"): the bytes as a
 * whole frame through kf_env_parse then kf_fetch_parse / kf_part_parse (structure only: the
 * signature or MAC is checked before them in the field, and would keep the fuzzer out). A
 * frame that parses must reseal to a frame that parses to the same fields. */
#include <stdlib.h>
#include <string.h>

#include <kf/fetch.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t sk[64];                   /* any key: the reseal is checked for structure */
    static uint8_t mac[KF_ACK_KEY_BYTES];    /* likewise */
    static uint8_t frame[KF_PART_FRAME_MAX]; /* the larger of the two */
    struct kf_env_view v, v2;
    struct kf_fetch f, f2;
    struct kf_part p, p2;
    size_t len;

    if (kf_env_parse(data, size, &v) != 0)
        return 0;
    if (kf_fetch_parse(&v, &f) == 0) {
        if (f.count < 1 || f.count > KF_FETCH_WINDOW || f.part > KF_PART_FILE)
            abort();
        if (kf_fetch_seal(&v.hdr, &f, sk, frame, sizeof(frame), &len) != 0 ||
            kf_env_parse(frame, len, &v2) != 0 || kf_fetch_parse(&v2, &f2) != 0 ||
            f2.cmd_seq != f.cmd_seq || f2.part != f.part || f2.first != f.first ||
            f2.count != f.count || memcmp(f2.manifest_sha256, f.manifest_sha256, 32) != 0)
            abort();
    }
    if (kf_part_parse(&v, &p) == 0) {
        if (p.state == KF_FETCH_OK && p.len != kf_part_chunk_len(p.part, p.total, p.index))
            abort();
        if (kf_part_seal(v.hdr.device_id, v.hdr.key_epoch, &p, v.hdr.device_ms, mac, frame,
                         sizeof(frame), &len) != 0 ||
            kf_env_parse(frame, len, &v2) != 0 || kf_part_parse(&v2, &p2) != 0 ||
            p2.index != p.index || p2.total != p.total || p2.len != p.len || p2.state != p.state ||
            memcmp(p2.data, p.data, p.len) != 0)
            abort();
    }
    return 0;
}
