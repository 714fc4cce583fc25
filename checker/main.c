/* kf-bill-check BUNDLE.json --server-pub HEX|FILE: a bank's own check of an issued bill
 * (docs/BILLING.md "Checking a bill offline", docs/guides/BANK.md). Exit 0: OK; 1: the bill
 * does not follow from the evidence, or a signature or digest fails; 2: not a bundle it can
 * read (or bad arguments). Links kf_rules and kf_common only: no SQLite, no libuv, no
 * network; it reads one file. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include <kf/keyfile.h>

#include "checker/bundle.h"
#include "checker/check.h"

static int usage(void)
{
    fprintf(stderr, "usage: kf-bill-check BUNDLE.json --server-pub HEX|FILE\n"
                    "  BUNDLE.json from `kioskctl bill export NUMBER -o FILE`; the server's\n"
                    "  public key received out of band (64 hex digits, or a file whose first\n"
                    "  word is them), never the bundle's own server_pk\n");
    return 2;
}

/* The whole file, at most KF_BUNDLE_FILE_MAX bytes. */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *buf;
    size_t n;

    if (f == NULL)
        return -errno;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return -EINVAL;
    }
    if ((uint64_t)sb.st_size > KF_BUNDLE_FILE_MAX) {
        fclose(f);
        return -E2BIG;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    if (n != (size_t)sb.st_size) {
        free(buf);
        return -EIO;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *pub = NULL;
    struct kf_check_result res;
    struct kf_bundle b;
    struct timespec t0, t1;
    char *data = NULL, err[512];
    size_t len = 0;
    uint8_t pk[32];
    int r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--server-pub") == 0 && i + 1 < argc)
            pub = argv[++i];
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
        else
            return usage();
    }
    if (path == NULL || pub == NULL)
        return usage();
    if (sodium_init() < 0) {
        fprintf(stderr, "kf-bill-check: libsodium cannot start\n");
        return 2;
    }
    if ((r = kf_pubkey_read(pub, pk)) < 0) {
        fprintf(stderr,
                "kf-bill-check: --server-pub %s: neither 64 hex digits nor a key file (%s)\n", pub,
                strerror(-r));
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((r = read_file(path, &data, &len)) < 0) {
        fprintf(stderr, "kf-bill-check: %s: %s\n", path,
                r == -E2BIG ? "larger than this checker reads" : strerror(-r));
        return 2;
    }
    r = kf_bundle_parse(data, len, &b, err, sizeof(err));
    free(data);
    if (r < 0) {
        fprintf(stderr, "kf-bill-check: %s: not a bundle it can read: %s\n", path, err);
        return 2;
    }
    r = kf_check_bundle(&b, pk, &res);
    kf_bundle_free(&b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r < 0) {
        fprintf(stderr, "kf-bill-check: %s: %s\n", path, res.message);
        return 2;
    }
    if (r > 0) {
        printf("DIFFERENCE: %s\n", res.message);
        return 1;
    }
    printf("%s\n", res.message);
    fprintf(stderr, "kf-bill-check: %zu bytes checked in %.3f s\n", len,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
