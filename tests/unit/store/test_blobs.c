/* Bundles in the store (store/blobs.h, store/sqlite/blobs.c): chunks stored once whatever
 * their order and repeats; a logs command done only when its bundle is whole and matches the
 * SHA-256 its cmd_result named, whichever comes first; a bundle whose chunks do not hash to
 * their declaration refused and its chunks deleted; no logs command, or a full store:
 * refused, the command failed; a whole bundle past its retention deleted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kf/blob.h>
#include <kf/command.h>
#include <kf/record.h>

#include "kf_test_store.h"
#include "store/blobs.h"
#include "store/commands.h"
#include "store/ingest.h"
#include "store/sqlite/int.h"

#define NOW INT64_C(1767254400000)
#define TOTAL (3u * KF_BLOB_CHUNK_BYTES + 100u)

static struct kf_test_store t;
static uint8_t sk[64], pk[32], bundle[TOTAL], sha[32];

static void setup(void)
{
    struct kf_device_reg r = {.device_id = "D-1",
                              .asset_id = "A-000001",
                              .kind = 1,
                              .zone_id = "Z-XH-001",
                              .lease_ref = NULL};

    cr_assert_geq(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    kf_test_store_open(&t, "kf-blobs", KF_TEST_FIXTURES_SMALL);
    memcpy(r.pk, pk, sizeof(pk));
    cr_assert_eq(kf_store_register_device(t.st, &r), 0, "%s", kf_store_errmsg(t.st));
    randombytes_buf(bundle, sizeof(bundle));
    crypto_hash_sha256(sha, bundle, sizeof(bundle));
}

static void teardown(void)
{
    kf_test_store_close(&t);
}

TestSuite(blobs, .init = setup, .fini = teardown);

static int64_t queue(const char *kind)
{
    const char *args[] = {"kiosk-app.service", "3600"};
    struct kf_cmd_request q = {.kind = kind,
                               .args = args,
                               .nargs = strcmp(kind, "logs") == 0 ? 2 : 0,
                               .now_ms = NOW,
                               .expires_ms = NOW + 3600000,
                               .by = "T-0042",
                               .reason = "test"};
    int64_t id = 0;

    cr_assert_eq(kf_store_cmd_queue(t.st, "D-1", &q, sk, &id), 0, "%s", kf_store_errmsg(t.st));
    return id;
}

/* Chunk index of the bundle (with sha as its declaration) for command seq; its answer. */
static struct kf_commit_out chunk(uint64_t seq, uint32_t index, const uint8_t *decl)
{
    struct kf_ingest in;
    struct kf_commit_out o;

    memset(&in, 0, sizeof(in));
    memset(&o, 0, sizeof(o));
    snprintf(in.hdr.device_id, sizeof(in.hdr.device_id), "D-1");
    in.hdr.kind = KF_MSG_BLOB;
    in.hdr.seq = seq;
    in.blob.cmd_seq = seq;
    in.blob.index = index;
    in.blob.total = TOTAL;
    in.blob.nchunks = kf_blob_nchunks(TOTAL);
    memcpy(in.blob.sha256, decl, 32);
    in.blob.data = bundle + (size_t)index * KF_BLOB_CHUNK_BYTES;
    in.blob.len = kf_blob_chunk_len(TOTAL, index);
    cr_assert_eq(kf__store_blob_chunk(t.st, &in, NOW + 1000, &o), 0, "%s", kf_store_errmsg(t.st));
    return o;
}

static void result(int64_t id, uint64_t seq, uint64_t rec_seq, const uint8_t *named)
{
    struct kf_rec_cmd_result res;
    char hex[65];

    memset(&res, 0, sizeof(res));
    snprintf(res.cmd, sizeof(res.cmd), "C-%lld", (long long)id);
    res.cmd_seq = seq;
    res.status = KF_CMD_DONE;
    sodium_bin2hex(hex, sizeof(hex), named, 32);
    snprintf(res.output, sizeof(res.output), "sha256=%s bytes=%u raw=1 chunks=4 truncated=0 exit=0",
             hex, TOTAL);
    cr_assert_eq(kf__store_cmd_result(t.st, "D-1", rec_seq, &res, NOW + 500), 0);
}

static const char *status(int64_t id)
{
    static char buf[32];
    sqlite3_stmt *s;
    char sql[96];

    snprintf(sql, sizeof(sql), "SELECT status FROM commands WHERE id = %lld", (long long)id);
    cr_assert_eq(sqlite3_prepare_v2(t.rd, sql, -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

Test(blobs, whole_in_any_order_once_and_done_only_then)
{
    int64_t id = queue("logs");
    struct kf_commit_out o;
    uint8_t *back = NULL;
    size_t len = 0;

    result(id, 1, 10, sha); /* the result first: received until the bundle is whole */
    cr_assert_str_eq(status(id), "received");
    o = chunk(1, 2, sha);
    cr_assert_eq(o.blob_have, 0);
    cr_assert_eq(o.blob_state, KF_BLOB_PARTIAL);
    o = chunk(1, 0, sha);
    cr_assert_eq(o.blob_have, 1);
    o = chunk(1, 0, sha); /* sent twice: stored once, the same answer */
    cr_assert_eq(o.blob_have, 1);
    cr_assert_eq(kf_store_blob_read(t.st, id, &back, &len), -EAGAIN);
    o = chunk(1, 1, sha);
    cr_assert_eq(o.blob_have, 3);
    cr_assert_str_eq(status(id), "received");
    o = chunk(1, 3, sha);
    cr_assert_eq(o.blob_have, 4);
    cr_assert_eq(o.blob_state, KF_BLOB_COMPLETE);
    cr_assert_str_eq(status(id), "done");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blob_chunks"), 4);
    o = chunk(1, 2, sha); /* after: answered complete, nothing stored */
    cr_assert_eq(o.blob_state, KF_BLOB_COMPLETE);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blob_chunks"), 4);
    cr_assert_eq(kf_store_blob_read(t.st, id, &back, &len), 0);
    cr_assert_eq(len, TOTAL);
    cr_assert_eq(memcmp(back, bundle, TOTAL), 0);
    free(back);
}

Test(blobs, chunks_first_then_a_result_naming_another_sha_fails)
{
    int64_t id = queue("logs");
    uint8_t other[32];

    for (uint32_t i = 0; i < 4; i++)
        chunk(1, i, sha);
    cr_assert_str_eq(status(id), "queued");
    memcpy(other, sha, 32);
    other[0] ^= 1;
    result(id, 1, 10, other);
    cr_assert_str_eq(status(id), "failed");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT detail LIKE '%does not have the SHA-256%'"
                                      " FROM commands"),
                 1);
}

Test(blobs, chunks_that_do_not_hash_to_their_declaration_are_refused)
{
    int64_t id = queue("logs");
    uint8_t other[32];
    struct kf_commit_out o;

    memcpy(other, sha, 32);
    other[31] ^= 0x80;
    result(id, 1, 10, other);
    for (uint32_t i = 0; i < 4; i++)
        o = chunk(1, i, other);
    cr_assert_eq(o.blob_state, KF_BLOB_REFUSED);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blob_chunks"), 0);
    cr_assert_str_eq(status(id), "failed");
    o = chunk(1, 0, other);
    cr_assert_eq(o.blob_state, KF_BLOB_REFUSED);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blob_chunks"), 0);
}

Test(blobs, refused_without_a_logs_command_or_past_the_bound)
{
    int64_t probe = queue("probe"), logs;
    struct kf_commit_out o = chunk(1, 0, sha); /* seq 1 is a probe */

    (void)probe;
    cr_assert_eq(o.blob_state, KF_BLOB_REFUSED);
    o = chunk(7, 0, sha); /* no command at all */
    cr_assert_eq(o.blob_state, KF_BLOB_REFUSED);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blob_chunks"), 0);
    kf_store_blob_limits(t.st, TOTAL - 1, 30);
    logs = queue("logs");
    result(logs, 2, 10, sha);
    o = chunk(2, 0, sha);
    cr_assert_eq(o.blob_state, KF_BLOB_REFUSED);
    cr_assert_str_eq(status(logs), "failed");
    cr_assert_eq(kf_test_store_q1(&t, "SELECT detail LIKE '%full%' FROM commands WHERE id = 2"), 1);
}

Test(blobs, a_whole_bundle_is_kept_for_its_retention)
{
    int64_t a = queue("logs"), b = queue("logs");

    kf_store_blob_limits(t.st, 0, 1);
    for (uint32_t i = 0; i < 4; i++)
        chunk(1, i, sha);
    /* Completed two days ago. */
    cr_assert_eq(sqlite3_exec(kf__store_db(t.st),
                              "UPDATE blobs SET done_ms = done_ms - 2 * 86400000", NULL, NULL,
                              NULL),
                 SQLITE_OK);
    for (uint32_t i = 0; i < 4; i++)
        chunk(2, i, sha);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blobs"), 1);
    cr_assert_eq(kf_test_store_q1(&t, "SELECT count(*) FROM blob_chunks"), 4);
    {
        uint8_t *back = NULL;
        size_t len;

        cr_assert_eq(kf_store_blob_read(t.st, a, &back, &len), -EAGAIN);
        cr_assert_eq(kf_store_blob_read(t.st, b, &back, &len), 0);
        free(back);
    }
}
