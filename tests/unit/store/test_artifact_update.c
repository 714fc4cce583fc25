/* The update command in the store (store/artifacts.h): queued only for an artifact that is
 * stored and for the device's kind, with the SHA-256 of its signed manifest added as the
 * third argument; its parts served chunk by chunk (the signed manifest, the package) only
 * to the device and command that name it, while the command is open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>

#include <kf/command.h>
#include <kf/fetch.h>
#include <kf/keyfile.h>
#include <kf/manifest.h>

#include "kf_test_store.h"
#include "store/artifacts.h"
#include "store/commands.h"
#include "store/sqlite/int.h"

#define NOW INT64_C(1767254400000)
#define TOTAL (3u * KF_FETCH_CHUNK_BYTES + 100u)

static struct kf_test_store t;
static uint8_t sk[64], pk[32], rsk[64], rpk[32], pkg[TOTAL], msha[32];
static char *signed_manifest, mhex[65];

static void reg(const char *dev, const char *asset, int kind)
{
    struct kf_device_reg r = {
        .device_id = dev, .asset_id = asset, .kind = kind, .zone_id = "Z-XH-001"};

    memcpy(r.pk, pk, sizeof(pk));
    cr_assert_eq(kf_store_register_device(t.st, &r), 0, "%s", kf_store_errmsg(t.st));
}

static void setup(void)
{
    struct kf_manifest m = {
        .name = "kf-testapp", .version = "1.1", .kinds = KF_MANIFEST_KIOSK, .size = TOTAL};
    int64_t id;

    cr_assert_geq(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(rpk, rsk);
    kf_test_store_open(&t, "kf-artupd", KF_TEST_FIXTURES_SMALL);
    reg("D-1", "A-000001", 1); /* a kiosk */
    reg("D-2", "A-000002", 2); /* an ITM */
    randombytes_buf(pkg, sizeof(pkg));
    crypto_hash_sha256(m.sha256, pkg, sizeof(pkg));
    cr_assert_eq(kf_manifest_sign(&m, rsk, &signed_manifest), 0);
    crypto_hash_sha256(msha, (const uint8_t *)signed_manifest, strlen(signed_manifest));
    kf_hex_encode(msha, 32, mhex, sizeof(mhex));
    cr_assert_eq(kf_store_artifact_add(t.st, &m, signed_manifest, pkg, sizeof(pkg), NOW, "T-1",
                                       "test", sk, &id),
                 0, "%s", kf_store_errmsg(t.st));
}

static void teardown(void)
{
    free(signed_manifest);
    kf_test_store_close(&t);
}

TestSuite(artupd, .init = setup, .fini = teardown);

static int queue(const char *dev, const char *const *args, uint32_t n, int64_t *id)
{
    struct kf_cmd_request q = {"update", args, n, NOW, NOW + 3600000, "T-0042", "test", 0, 0};

    return kf_store_cmd_queue(t.st, dev, &q, sk, id);
}

Test(artupd, queued_with_the_manifest_hash_for_the_right_kind_only)
{
    const char *ok[] = {"kf-testapp", "1.1"}, *missing[] = {"kf-testapp", "9.9"};
    const char *wrong[] = {"kf-testapp", "1.1",
                           "0000000000000000000000000000000000000000000000000000000000000000"};
    const char *right[] = {"kf-testapp", "1.1", mhex};
    sqlite3_stmt *s;
    json_t *a;
    int64_t id;

    cr_assert_eq(queue("D-1", ok, 2, &id), 0, "%s", kf_store_errmsg(t.st));
    cr_assert_eq(kf__store_prep(t.st, "SELECT args FROM commands WHERE id = ?1", &s), 0);
    sqlite3_bind_int64(s, 1, id);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    a = json_loads(kf__store_col_text(s, 0), 0, NULL);
    sqlite3_finalize(s);
    cr_assert_eq(json_array_size(a), 3);
    cr_assert_str_eq(json_string_value(json_array_get(a, 2)), mhex);
    json_decref(a);
    cr_assert_eq(queue("D-1", right, 3, &id), 0, "%s", kf_store_errmsg(t.st));
    cr_assert_eq(queue("D-1", wrong, 3, &id), -EINVAL);
    cr_assert_eq(queue("D-1", missing, 2, &id), -ENOENT);
    cr_assert(strstr(kf_store_errmsg(t.st), "no artifact") != NULL, "%s", kf_store_errmsg(t.st));
    cr_assert_eq(queue("D-2", ok, 2, &id), -EPERM);
    cr_assert(strstr(kf_store_errmsg(t.st), "for kiosk terminals") != NULL, "%s",
              kf_store_errmsg(t.st));
    cr_assert_eq(queue("D-9", ok, 2, &id), -ENOENT);
}

Test(artupd, serves_both_parts_to_the_open_command_only)
{
    const char *ok[] = {"kf-testapp", "1.1"};
    uint8_t back[TOTAL], other[32];
    struct kf_store_part p;
    int64_t id;

    cr_assert_eq(queue("D-1", ok, 2, &id), 0, "%s", kf_store_errmsg(t.st));
    /* Part 0: the signed manifest, one chunk, hashing to the command's third argument. */
    cr_assert_eq(kf_store_artifact_chunk(t.st, "D-1", 1, msha, KF_PART_MANIFEST, 0, &p), 0);
    cr_assert_eq(p.total, strlen(signed_manifest));
    cr_assert_eq(p.nchunks, 1);
    cr_assert_eq(memcmp(p.data, signed_manifest, p.len), 0);
    cr_assert_eq(memcmp(p.sha256, msha, 32), 0);
    kf_store_part_free(&p);
    /* Part 1: the package, chunk by chunk. */
    for (uint32_t i = 0; i < 4; i++) {
        cr_assert_eq(kf_store_artifact_chunk(t.st, "D-1", 1, msha, KF_PART_FILE, i, &p), 0, "%s",
                     kf_store_errmsg(t.st));
        cr_assert_eq(p.total, TOTAL);
        cr_assert_eq(p.nchunks, 4);
        cr_assert_eq(p.len, kf_part_chunk_len(KF_PART_FILE, TOTAL, i));
        memcpy(back + (size_t)i * KF_FETCH_CHUNK_BYTES, p.data, p.len);
        kf_store_part_free(&p);
    }
    cr_assert_eq(memcmp(back, pkg, TOTAL), 0);
    cr_assert_eq(kf_store_artifact_chunk(t.st, "D-1", 1, msha, KF_PART_FILE, 4, &p), -ERANGE);
    cr_assert_eq(p.nchunks, 4);
    /* Another device, another seq, another manifest: nothing. */
    cr_assert_eq(kf_store_artifact_chunk(t.st, "D-2", 1, msha, KF_PART_FILE, 0, &p), -ENOENT);
    cr_assert_eq(kf_store_artifact_chunk(t.st, "D-1", 2, msha, KF_PART_FILE, 0, &p), -ENOENT);
    memcpy(other, msha, 32);
    other[0] ^= 1;
    cr_assert_eq(kf_store_artifact_chunk(t.st, "D-1", 1, other, KF_PART_FILE, 0, &p), -ENOENT);
    /* Cancelled: no longer served. */
    cr_assert_eq(kf_store_cmd_cancel(t.st, id, NOW + 1, "T-0042", "test", sk), 0);
    cr_assert_eq(kf_store_artifact_chunk(t.st, "D-1", 1, msha, KF_PART_FILE, 0, &p), -ENOENT);
}
