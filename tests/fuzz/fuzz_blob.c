/* fuzz_blob: the BLOB and BLOB_ACK decoders (docs/PROTOCOL.md "BLOB"): the bytes as a whole
 * frame through kf_env_parse then kf_blob_parse / kf_blob_ack_parse (structure only: the
 * signature is checked before them in the field, and would keep the fuzzer out), and as a
 * bundle through kf_blob_inflate with a small bound. A chunk that parses must reseal to a
 * frame that parses to the same chunk. */
#include <stdlib.h>
#include <string.h>

#include <kf/blob.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t sk[64]; /* any key: the reseal is checked for structure, not signature */
    static uint8_t frame[KF_BLOB_FRAME_MAX];
    struct kf_env_view v;
    struct kf_blob_chunk c, again;
    struct kf_blob_ack a;
    uint8_t *out = NULL;
    size_t len;

    if (kf_env_parse(data, size, &v) == 0) {
        if (kf_blob_parse(&v, &c) == 0) {
            struct kf_env_view v2;

            if (c.index >= c.nchunks || c.len != kf_blob_chunk_len(c.total, c.index))
                abort();
            if (kf_blob_seal(&v.hdr, &c, sk, frame, sizeof(frame), &len) != 0 ||
                kf_env_parse(frame, len, &v2) != 0 || kf_blob_parse(&v2, &again) != 0 ||
                again.index != c.index || again.total != c.total || again.len != c.len ||
                memcmp(again.data, c.data, c.len) != 0)
                abort();
        }
        if (kf_blob_ack_parse(&v, &a) == 0 && (a.have > KF_BLOB_CHUNKS_MAX || a.state > 2))
            abort();
    }
    if (kf_blob_inflate(data, size, 1u << 16, &out, &len) == 0) {
        if (len > 1u << 16 || out[len] != '\0')
            abort();
        free(out);
    }
    return 0;
}
