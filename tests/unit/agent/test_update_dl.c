/* An update's artifact downloaded into files (agent/core/update_dl.h): the manifest first,
 * checked against the command's hash, the pinned release key and the terminal's kind; the
 * package a window at a time, in order only (a lost chunk is asked again, nothing after a
 * gap is kept); resumed after a close from the last window synced; the whole checked
 * against the manifest's size and SHA-256, and fetched again when it does not match. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/fetch.h>
#include <kf/manifest.h>

#include "core/update_dl.h"

#define SEQ 7u
#define TOTAL (2u * KF_FETCH_WINDOW * KF_FETCH_CHUNK_BYTES + 3u * KF_FETCH_CHUNK_BYTES + 99u)

static char dir[64];
static uint8_t rpk[32], rsk[64], opk[32], osk[64], pkg[TOTAL], msha[32], fsha[32];
static char *signed_manifest;

static void setup(void)
{
    struct kf_manifest m = {
        .name = "kf-testapp", .version = "1.1", .kinds = KF_MANIFEST_KIOSK, .size = TOTAL};

    cr_assert_geq(sodium_init(), 0);
    snprintf(dir, sizeof(dir), "/tmp/kf-updl.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    crypto_sign_keypair(rpk, rsk);
    crypto_sign_keypair(opk, osk);
    randombytes_buf(pkg, sizeof(pkg));
    crypto_hash_sha256(fsha, pkg, sizeof(pkg));
    memcpy(m.sha256, fsha, 32);
    cr_assert_eq(kf_manifest_sign(&m, rsk, &signed_manifest), 0);
    crypto_hash_sha256(msha, (const uint8_t *)signed_manifest, strlen(signed_manifest));
}

static void teardown(void)
{
    kf_upd_dl_remove(dir, SEQ);
    rmdir(dir);
    free(signed_manifest);
}

TestSuite(update_dl, .init = setup, .fini = teardown);

/* What the server sends for (part, index). */
static struct kf_part part_of(uint8_t part, uint32_t index)
{
    struct kf_part p = {.cmd_seq = SEQ, .part = part, .state = KF_FETCH_OK, .index = index};

    if (part == KF_PART_MANIFEST) {
        p.total = strlen(signed_manifest);
        p.data = (const uint8_t *)signed_manifest;
        p.len = (size_t)p.total;
        memcpy(p.sha256, msha, 32);
    } else {
        p.total = TOTAL;
        p.data = pkg + (size_t)index * KF_FETCH_CHUNK_BYTES;
        p.len = kf_part_chunk_len(KF_PART_FILE, TOTAL, index);
        memcpy(p.sha256, fsha, 32);
    }
    p.nchunks = kf_part_nchunks(part, p.total);
    return p;
}

/* Answer FETCHes until done, losing chunk `lose` once (UINT32_MAX: none), stopping after
 * `stop` chunks taken (UINT32_MAX: never). Returns the FETCHes sent. */
static unsigned run(struct kf_upd_dl *d, uint32_t lose, uint32_t stop)
{
    struct kf_fetch f;
    unsigned fetches = 0, taken = 0;
    int lost = 0;

    while (kf_upd_dl_want(d, &f) == 0) {
        cr_assert_eq(f.cmd_seq, SEQ);
        cr_assert_eq(memcmp(f.manifest_sha256, msha, 32), 0);
        cr_assert(f.count >= 1 && f.count <= KF_FETCH_WINDOW);
        fetches++;
        cr_assert_lt(fetches, 100, "no progress");
        for (uint32_t i = f.first; i < f.first + f.count; i++) {
            struct kf_part p = part_of(f.part, i);
            int r;

            if (f.part == KF_PART_FILE && i == lose && !lost) {
                lost = 1;
                continue;
            }
            r = kf_upd_dl_take(d, &p);
            cr_assert_geq(r, 0, "take %u.%u: %d %s", f.part, i, r, kf_upd_dl_why(d));
            taken += r == 1;
            if (taken == stop)
                return fetches;
        }
    }
    return fetches;
}

static void check_ok(struct kf_upd_dl *d)
{
    struct kf_manifest m;
    const char *path;
    uint8_t *back = malloc(TOTAL + 1);
    int fd;

    cr_assert_eq(kf_upd_dl_check(d, &m, &path), 0, "%s", kf_upd_dl_why(d));
    cr_assert_str_eq(m.name, "kf-testapp");
    fd = open(path, O_RDONLY);
    cr_assert_eq(read(fd, back, TOTAL + 1), (ssize_t)TOTAL);
    close(fd);
    cr_assert_eq(memcmp(back, pkg, TOTAL), 0);
    free(back);
}

Test(update_dl, whole_with_a_lost_chunk_asked_again)
{
    struct kf_upd_dl *d;
    uint32_t have, of;

    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "kiosk", &d), 0);
    /* The manifest, then 19 chunks: 0..7 (5 lost: 6 and 7 not kept), 5..12, 13..18. */
    cr_assert_eq(run(d, 5, UINT32_MAX), 4);
    kf_upd_dl_progress(d, &have, &of);
    cr_assert_eq(have, of);
    cr_assert_eq(of, kf_part_nchunks(KF_PART_FILE, TOTAL));
    check_ok(d);
    kf_upd_dl_close(d);
}

Test(update_dl, resumes_from_the_last_window_synced)
{
    struct kf_upd_dl *d;
    struct kf_fetch f;

    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "kiosk", &d), 0);
    run(d, UINT32_MAX, 1 + 11); /* the manifest and 11 chunks: 8 synced */
    kf_upd_dl_close(d);
    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "kiosk", &d), 0);
    cr_assert_eq(kf_upd_dl_want(d, &f), 0);
    cr_assert_eq(f.part, KF_PART_FILE, "the manifest is kept");
    cr_assert_eq(f.first, KF_FETCH_WINDOW);
    run(d, UINT32_MAX, UINT32_MAX);
    check_ok(d);
    kf_upd_dl_close(d);
}

Test(update_dl, a_damaged_package_is_fetched_again)
{
    struct kf_upd_dl *d;
    struct kf_manifest m;
    struct kf_fetch f;
    const char *path;
    char deb[128];
    int fd;

    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "kiosk", &d), 0);
    run(d, UINT32_MAX, UINT32_MAX);
    kf_upd_dl_close(d);
    snprintf(deb, sizeof(deb), "%s/update-%u.deb", dir, SEQ);
    fd = open(deb, O_WRONLY);
    cr_assert_eq(pwrite(fd, "X", 1, 100), 1);
    close(fd);
    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "kiosk", &d), 0);
    cr_assert_eq(kf_upd_dl_want(d, &f), 1);
    cr_assert_eq(kf_upd_dl_check(d, &m, &path), -EBADMSG);
    cr_assert(strstr(kf_upd_dl_why(d), "SHA-256") != NULL);
    cr_assert_eq(kf_upd_dl_want(d, &f), 0);
    cr_assert_eq(f.first, 0);
    run(d, UINT32_MAX, UINT32_MAX);
    check_ok(d);
    kf_upd_dl_close(d);
}

Test(update_dl, refusals)
{
    struct kf_upd_dl *d;
    struct kf_part p = part_of(KF_PART_MANIFEST, 0), u = {.cmd_seq = SEQ, .part = 1, .state = 1};
    uint8_t other[32];

    /* Another release key: the manifest does not verify. */
    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, opk, "kiosk", &d), 0);
    cr_assert_eq(kf_upd_dl_take(d, &p), -EKEYREJECTED);
    cr_assert(strstr(kf_upd_dl_why(d), "does not verify") != NULL);
    kf_upd_dl_close(d);
    /* Not for this kind. */
    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "itm", &d), 0);
    cr_assert_eq(kf_upd_dl_take(d, &p), -EMEDIUMTYPE);
    kf_upd_dl_close(d);
    /* Another manifest than the command names. */
    memcpy(other, msha, 32);
    other[0] ^= 1;
    cr_assert_eq(kf_upd_dl_open(dir, SEQ, other, rpk, "kiosk", &d), 0);
    cr_assert_eq(kf_upd_dl_take(d, &p), -EBADMSG);
    /* The server knows no such artifact; another command's PART is ignored. */
    cr_assert_eq(kf_upd_dl_take(d, &u), -ENOENT);
    u.cmd_seq = SEQ + 1;
    cr_assert_eq(kf_upd_dl_take(d, &u), 0);
    kf_upd_dl_close(d);
    /* A package part that contradicts the manifest. */
    cr_assert_eq(kf_upd_dl_open(dir, SEQ, msha, rpk, "kiosk", &d), 0);
    cr_assert_eq(kf_upd_dl_take(d, &p), 1);
    p = part_of(KF_PART_FILE, 0);
    p.sha256[3] ^= 1;
    cr_assert_eq(kf_upd_dl_take(d, &p), -EBADMSG);
    kf_upd_dl_close(d);
}
