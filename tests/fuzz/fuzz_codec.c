/* fuzz_codec: a frame's body after its signature held: one zstd frame, decompressed with
 * the v1 dictionary (or none) into a buffer bounded as kioskd bounds it. */
#include <stdlib.h>

#include <kf/codec.h>
#include <kf/envelope.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kf_zctx *z;
    static uint8_t *out;
    size_t n;

    if (z == NULL && kf_zctx_new(3, &z) != 0)
        abort();
    if (out == NULL && (out = malloc(KF_BODY_MAX_BYTES)) == NULL)
        abort();
    if (size < 1)
        return 0;
    /* The first byte picks the dictionary the header would name. */
    (void)kf_zctx_decompress(z, (data[0] & 1) ? KF_DICT_ID_V1 : 0, data + 1, size - 1, out,
                             KF_BODY_MAX_BYTES, &n);
    return 0;
}
