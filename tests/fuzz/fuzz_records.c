/* fuzz_records: a RECORDS body (docs/PROTOCOL.md section 7), as the header's count says. */
#include <kf/envelope.h>
#include <kf/record.h>

#include "fuzz.h"

static int count_cb(void *ud, uint32_t index, const struct kf_record *rec)
{
    (void)index;
    (void)rec;
    (*(uint32_t *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t seen = 0, expect;

    if (size < 1)
        return 0;
    /* The first byte is the header's count (0..255; the limit is KF_ENV_MAX_RECORDS). */
    expect = data[0];
    (void)kf_records_parse((const char *)data + 1, size - 1, expect, count_cb, &seen);
    (void)kf_records_parse((const char *)data + 1, size - 1, expect, NULL, NULL);
    return 0;
}
