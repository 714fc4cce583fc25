/* fuzz_holidays: a yearly holiday file (docs/SLA.md 2.2) as kioskd loads it. */
#include <stdlib.h>
#include <string.h>

#include "rules/holidays.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kf_holidays *h = kf_holidays_new();
    char *text = malloc(size + 1), err[512];

    if (h != NULL && text != NULL) {
        memcpy(text, data, size);
        text[size] = '\0';
        (void)kf_holidays_load_string(h, text, "cn-2026.ini", err, sizeof(err));
    }
    free(text);
    kf_holidays_free(h);
    return 0;
}
