/* fuzz_command: the COMMAND decoder as the agent meets it (docs/PROTOCOL.md "COMMAND"): a
 * whole frame through kf_cmd_open with the server key of the test vectors (seed 20 21 ...
 * 3f) on the device's cmd topic, and the same bytes as a body (kf_cmd_body_parse), which a
 * signature would otherwise keep the fuzzer from reaching. A body that parses must format
 * within the bounds, and its canonical form parse and format back to itself. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/command.h>

#include "fuzz.h"

#define FUZZ_TOPIC "kf/v1/KF-XH-0001/cmd"
#define FUZZ_NOW INT64_C(1767254400000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pk[32];
    static int ready;
    struct kf_cmd c;
    char *body = NULL;

    if (!ready) {
        uint8_t seed[32], sk[64];

        if (sodium_init() < 0)
            abort();
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(0x20 + i);
        crypto_sign_seed_keypair(pk, sk, seed);
        sodium_memzero(sk, sizeof(sk));
        ready = 1;
    }
    (void)kf_cmd_open(data, size, FUZZ_TOPIC, "KF-XH-0001", pk, FUZZ_NOW, &c);
    memset(&c, 0, sizeof(c));
    if (kf_cmd_body_parse((const char *)data, size, &c) == 0) {
        struct kf_cmd again;
        char *body2 = NULL;

        if (kf_cmd_body(&c, &body) != 0 || strlen(body) > KF_CMD_BODY_MAX)
            abort();
        /* The canonical form is a fixed point: it parses, and formats to itself. */
        memset(&again, 0, sizeof(again));
        if (kf_cmd_body_parse(body, strlen(body), &again) != 0 ||
            kf_cmd_body(&again, &body2) != 0 || strcmp(body, body2) != 0)
            abort();
        free(body2);
        free(body);
    }
    return 0;
}
