/* fuzz_manifest: the signed-manifest decoder a terminal runs on what the server hands it
 * (kf/manifest.h), under the release key of vector 7 (seed 40 41 ... 5f). A manifest that
 * opens must be valid, and re-signed (same key) must open to the same fields. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/manifest.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pk[32], sk[64];
    static int ready;
    struct kf_manifest m;
    char *again = NULL;

    if (!ready) {
        uint8_t seed[32];

        if (sodium_init() < 0)
            abort();
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(0x40 + i);
        crypto_sign_seed_keypair(pk, sk, seed);
        ready = 1;
    }
    if (kf_manifest_open((const char *)data, size, pk, &m) == 0) {
        struct kf_manifest m2;

        if (!kf_manifest_valid(&m) || kf_manifest_sign(&m, sk, &again) != 0 ||
            kf_manifest_open(again, strlen(again), pk, &m2) != 0 || memcmp(&m, &m2, sizeof(m)) != 0)
            abort();
        free(again);
    }
    return 0;
}
