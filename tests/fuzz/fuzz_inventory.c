/* fuzz_inventory: a HELLO's "inv" as the server reads it (docs/PROTOCOL.md "HELLO"): parsed
 * under its bounds and, when taken, rendered again, which must succeed and parse back to the
 * same bytes (the canonical form the store compares). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/inventory.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kf_inventory a, b;
    char why[96], j1[KF_INV_JSON_MAX], j2[KF_INV_JSON_MAX];
    json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *o2;

    if (o == NULL)
        return 0;
    if (kf_inv_parse(o, &a, why, sizeof(why)) == 0) {
        if (kf_inv_render(&a, j1, sizeof(j1)) < 0)
            abort(); /* what the bounds let in must render */
        o2 = json_loads(j1, 0, NULL);
        if (o2 == NULL || kf_inv_parse(o2, &b, why, sizeof(why)) != 0 ||
            kf_inv_render(&b, j2, sizeof(j2)) < 0 || strcmp(j1, j2) != 0)
            abort();
        json_decref(o2);
    }
    json_decref(o);
    return 0;
}
