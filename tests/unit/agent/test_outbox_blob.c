/* test_outbox_blob.c: bundles in the agent's outbox file (agent/core/outbox_blob.c): kept in
 * the transaction that reports their command, or not at all; read back chunk by chunk; the
 * server's mark only moves forward; forgotten when the server has them; kept across a close
 * and reopen (what a kill -9 leaves). */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/blob.h>
#include <kf/command.h>
#include <kf/record.h>

#include "core/outbox.h"
#include "core/outbox_blob.h"

#define TOTAL (2u * KF_BLOB_CHUNK_BYTES + 10u)

static char tmp_dir[256], ob_path[300];
static uint8_t bundle[TOTAL];

static void setup(void)
{
    cr_assert_geq(sodium_init(), 0);
    kf_test_tmpdir("kf-test-outbox-blob", tmp_dir, sizeof(tmp_dir));
    snprintf(ob_path, sizeof(ob_path), "%s/outbox.db", tmp_dir);
    randombytes_buf(bundle, sizeof(bundle));
}

static void cleanup(void)
{
    kf_test_rmtree(tmp_dir);
}

TestSuite(outbox_blob, .init = setup, .fini = cleanup);

static struct kf_outbox *open_ob(void)
{
    struct kf_outbox *ob = NULL;

    cr_assert_eq(kf_outbox_open(ob_path, NULL, &ob), 0);
    return ob;
}

/* Accept a logs command with seq, as the agent does before it runs it. */
static void accept(struct kf_outbox *ob, uint64_t seq)
{
    static const char body[] =
        "{\"args\":[\"kiosk-app.service\",\"60\"],\"expires\":1767258000000,\"id\":\"C-9\","
        "\"kind\":\"logs\"}";
    struct kf_cmd c;

    memset(&c, 0, sizeof(c));
    snprintf(c.device_id, sizeof(c.device_id), "KF-1");
    snprintf(c.id, sizeof(c.id), "C-9");
    snprintf(c.kind, sizeof(c.kind), "logs");
    c.seq = seq;
    c.issued_ms = INT64_C(1767254400000);
    c.expires_ms = INT64_C(1767258000000);
    cr_assert_eq(kf_outbox_cmd_accept(ob, &c, body, strlen(body), c.issued_ms), 0);
}

static int finish(struct kf_outbox *ob, uint64_t seq)
{
    static const char json[] =
        "{\"t\":\"cmd_result\",\"ts\":1767254401000,\"cmd\":\"C-9\",\"cmd_seq\":1,"
        "\"status\":\"done\",\"detail\":\"logs\"}";
    struct kf_outbox_rec rec = {.type = KF_REC_CMD_RESULT,
                                .ts_ms = INT64_C(1767254401000),
                                .json = json,
                                .json_len = strlen(json)};
    struct kf_outbox_blob b;

    memset(&b, 0, sizeof(b));
    b.cmd_seq = seq;
    crypto_hash_sha256(b.sha256, bundle, TOTAL);
    b.total = TOTAL;
    b.nchunks = kf_blob_nchunks(TOTAL);
    b.data = bundle;
    return kf_outbox_blob_finish(ob, seq, &rec, 1, &b);
}

Test(outbox_blob, kept_with_its_result_or_not_at_all)
{
    struct kf_outbox *ob = open_ob();
    struct kf_outbox_stats os;
    struct kf_outbox_blob b;
    uint32_t n;
    uint64_t bytes;

    /* No such command: the transaction rolls back, the record is not appended either. */
    cr_assert_eq(finish(ob, 1), -EALREADY);
    cr_assert_eq(kf_outbox_stats(ob, &os), 0);
    cr_assert_eq(os.records, 0);
    cr_assert_eq(kf_outbox_blob_next(ob, 0, &b), -ENOENT);
    accept(ob, 1);
    cr_assert_eq(finish(ob, 1), 0);
    cr_assert_eq(kf_outbox_stats(ob, &os), 0);
    cr_assert_eq(os.records, 1);
    cr_assert_eq(kf_outbox_blob_count(ob, &n, &bytes), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(bytes, TOTAL);
    /* Reported already: a second finish writes nothing. */
    cr_assert_eq(finish(ob, 1), -EALREADY);
    cr_assert_eq(kf_outbox_stats(ob, &os), 0);
    cr_assert_eq(os.records, 1);
    kf_outbox_free(ob);
}

Test(outbox_blob, read_back_marked_and_forgotten_across_a_reopen)
{
    struct kf_outbox *ob = open_ob();
    struct kf_outbox_blob b;
    static uint8_t chunk[KF_BLOB_CHUNK_BYTES];
    uint8_t back[TOTAL];
    size_t len, off = 0;

    accept(ob, 1);
    cr_assert_eq(finish(ob, 1), 0);
    kf_outbox_free(ob); /* what a kill -9 after the commit leaves */
    ob = open_ob();
    cr_assert_eq(kf_outbox_blob_next(ob, 0, &b), 0);
    cr_assert_eq(b.cmd_seq, 1);
    cr_assert_eq(b.nchunks, 3);
    cr_assert_eq(b.have, 0);
    for (uint32_t i = 0; i < b.nchunks; i++) {
        cr_assert_eq(kf_outbox_blob_chunk(ob, 1, i, chunk, sizeof(chunk), &len), 0);
        cr_assert_eq(len, kf_blob_chunk_len(TOTAL, i));
        memcpy(back + off, chunk, len);
        off += len;
    }
    cr_assert_eq(off, TOTAL);
    cr_assert_eq(memcmp(back, bundle, TOTAL), 0);
    cr_assert_eq(kf_outbox_blob_chunk(ob, 1, 3, chunk, sizeof(chunk), &len), -EIO);
    cr_assert_eq(kf_outbox_blob_chunk(ob, 2, 0, chunk, sizeof(chunk), &len), -ENOENT);
    /* The server's mark: forward only, never past the end. */
    cr_assert_eq(kf_outbox_blob_have(ob, 1, 2), 0);
    cr_assert_eq(kf_outbox_blob_have(ob, 1, 1), 0);
    cr_assert_eq(kf_outbox_blob_have(ob, 1, 9), 0);
    kf_outbox_free(ob);
    ob = open_ob();
    cr_assert_eq(kf_outbox_blob_next(ob, 0, &b), 0);
    cr_assert_eq(b.have, 2);
    cr_assert_eq(kf_outbox_blob_drop(ob, 1), 0);
    cr_assert_eq(kf_outbox_blob_next(ob, 0, &b), -ENOENT);
    kf_outbox_free(ob);
}
