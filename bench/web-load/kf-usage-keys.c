/* kf-usage-keys: the key files of the terminals kf-usage-gen registered, so that kf-loadgen
 * can drive them (bench/web-load/README.md).
 *
 *   kf-usage-keys --seed 2026 --out DIR <device-ids
 *
 * kf-usage-gen derives each terminal's Ed25519 key from its --seed and the device id
 * (BLAKE2b-256 of seed then id, as the key's seed); this writes DIR/ID.key for each id read
 * from standard input, one a line, with kf_keyfile_write (mode 0600). The ids come from the
 * store (bench/web-load/run reads them with sqlite3), so no SQL lives here. Prints how many
 * keys it wrote. Benchmark use only: anyone who knows the seed knows every key.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <kf/envelope.h>
#include <kf/keyfile.h>

static int usage(void)
{
    fprintf(stderr, "usage: kf-usage-keys --seed S --out DIR <device-ids\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *seed = NULL, *out = NULL;
    char line[256], path[4096];
    unsigned long n = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            seed = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else
            return usage();
    }
    if (!seed || !out || argc % 2 == 0)
        return usage();
    if (sodium_init() < 0)
        return 1;
    while (fgets(line, sizeof(line), stdin)) {
        uint8_t kseed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
            sk[crypto_sign_SECRETKEYBYTES];
        crypto_generichash_state h;
        size_t len = strcspn(line, "\r\n");
        int r;

        line[len] = '\0';
        if (len == 0)
            continue;
        if (!kf_device_id_valid(line)) {
            fprintf(stderr, "kf-usage-keys: not a device id: %s\n", line);
            return 1;
        }
        /* As kf-usage-gen registers them (bench/usage-scale/kf-usage-gen.c). */
        crypto_generichash_init(&h, NULL, 0, sizeof(kseed));
        crypto_generichash_update(&h, (const uint8_t *)seed, strlen(seed));
        crypto_generichash_update(&h, (const uint8_t *)line, len);
        crypto_generichash_final(&h, kseed, sizeof(kseed));
        crypto_sign_seed_keypair(pk, sk, kseed);
        sodium_memzero(kseed, sizeof(kseed));
        if ((size_t)snprintf(path, sizeof(path), "%s/%s.key", out, line) >= sizeof(path)) {
            sodium_memzero(sk, sizeof(sk));
            return 1;
        }
        r = kf_keyfile_write(path, sk);
        sodium_memzero(sk, sizeof(sk));
        if (r < 0) {
            fprintf(stderr, "kf-usage-keys: %s: %s\n", path, strerror(-r));
            return 1;
        }
        n++;
    }
    printf("%lu\n", n);
    return 0;
}
