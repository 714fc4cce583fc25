/* kf-verify-speed: what one message costs on this machine, before any server code runs.
 *
 *   kf-verify-speed [--n N] [--runs K] [--records R]
 *
 * Builds one realistic RECORDS frame (R records, dictionary-compressed, sealed) and times,
 * K runs of N operations each, median reported:
 *   verify      crypto_sign_verify_detached over exactly the bytes kf_env_verify checks
 *               (the floor no server that checks signatures can beat)
 *   env_verify  kf_env_parse + kf_env_verify on the frame (what kioskd calls)
 *   sign        kf_env_seal of the compressed body
 *   compress    kf_zctx_compress of the JSON body with the v1 dictionary
 *   decompress  kf_zctx_decompress of it
 *   parse       kf_records_parse of the JSON body (the strict byte reader)
 *   ack_sign    an ACK signed with Ed25519 (kf_env_seal: what kioskd paid per ACK before)
 *   ack_mac     the same ACK with its MAC (kf_env_seal_mac: what kioskd pays per ACK now)
 *   ack_key     deriving one device's ACK key (kf_ack_key_server: once per device key)
 * Per-op cost is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so time stolen by other
 * processes on a busy machine is not counted; wall-clock rates are printed beside it.
 * Prints a human summary on stderr and one JSON object on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/record.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "bench_util.h"

#define MAX_RUNS 50

enum op {
    OP_VERIFY,
    OP_ENV_VERIFY,
    OP_SIGN,
    OP_COMPRESS,
    OP_DECOMPRESS,
    OP_PARSE,
    OP_ACK_SIGN,
    OP_ACK_MAC,
    OP_ACK_KEY,
    OP_COUNT_
};

static const char *const op_names[OP_COUNT_] = {"verify",   "env_verify", "sign",
                                                "compress", "decompress", "parse",
                                                "ack_sign", "ack_mac",    "ack_key"};

struct fixture {
    uint8_t pk[32], sk[64];
    char topic[KF_TOPIC_MAX + 1];
    char body[KF_BODY_MAX_BYTES];
    size_t body_len;
    uint8_t frame[KF_ENV_MAX_BYTES];
    size_t frame_len;
    struct kf_env_view view;
    uint8_t *msg; /* the exact bytes the signature covers */
    size_t msg_len;
    uint8_t zbody[KF_ENV_MAX_BYTES];
    size_t zlen;
    uint8_t scratch[KF_ENV_MAX_BYTES];
    char out[KF_BODY_MAX_BYTES];
    struct kf_zctx *z;
    uint8_t server_pk[32], server_sk[64], ack_key[KF_ACK_KEY_BYTES];
    struct kf_env_header ack;
    char ack_topic[KF_TOPIC_MAX + 1];
};

static volatile int sink; /* keeps results alive */

static int count_cb(void *ud, uint32_t index, const struct kf_record *rec)
{
    (void)ud;
    (void)index;
    sink += rec->type;
    return 0;
}

static int run_op(struct fixture *f, enum op op)
{
    struct kf_env_view v;
    struct kf_env_header h;
    size_t n;
    uint32_t dict;

    switch (op) {
    case OP_VERIFY:
        return crypto_sign_verify_detached(f->view.signature, f->msg, f->msg_len, f->pk) == 0
                   ? 0
                   : -EKEYREJECTED;
    case OP_ENV_VERIFY:
        if (kf_env_parse(f->frame, f->frame_len, &v) < 0)
            return -EBADMSG;
        return kf_env_verify(&v, f->topic, f->pk);
    case OP_SIGN:
        h = f->view.hdr;
        return kf_env_seal(&h, f->topic, f->zbody, f->zlen, f->sk, f->scratch, sizeof(f->scratch),
                           &n);
    case OP_COMPRESS:
        return kf_zctx_compress(f->z, f->body, f->body_len, f->scratch, sizeof(f->scratch), &n,
                                &dict);
    case OP_DECOMPRESS:
        return kf_zctx_decompress(f->z, KF_DICT_ID_V1, f->zbody, f->zlen, f->out, sizeof(f->out),
                                  &n);
    case OP_PARSE:
        return kf_records_parse(f->body, f->body_len, f->view.hdr.count, count_cb, NULL);
    case OP_ACK_SIGN:
        return kf_env_seal(&f->ack, f->ack_topic, NULL, 0, f->server_sk, f->scratch,
                           sizeof(f->scratch), &n);
    case OP_ACK_MAC:
        return kf_env_seal_mac(&f->ack, f->ack_topic, NULL, 0, f->ack_key, f->scratch,
                               sizeof(f->scratch), &n);
    case OP_ACK_KEY:
        return kf_ack_key_server(f->server_sk, f->pk, f->ack_key);
    default:
        return -EINVAL;
    }
}

static int fixture_init(struct fixture *f, uint32_t nrec)
{
    struct kf_bench_term t;
    int r;

    crypto_sign_keypair(f->pk, f->sk);
    r = kf_zctx_new(3, &f->z);
    if (r < 0)
        return r;
    kf_bench_term_init(&t, 42, kf_now_ms() - 3600000);
    r = kf_bench_frame(&t, f->z, "KF-BENCH-0001", 1, nrec, f->sk, f->body, sizeof(f->body),
                       f->frame, sizeof(f->frame), &f->frame_len, f->topic, &f->body_len);
    if (r < 0)
        return r;
    r = kf_env_parse(f->frame, f->frame_len, &f->view);
    if (r < 0)
        return r;
    memcpy(f->zbody, f->view.body, f->view.body_len);
    f->zlen = f->view.body_len;
    f->msg = kf_bench_signed_msg(&f->view, f->frame, f->topic, &f->msg_len);
    if (!f->msg)
        return -ENOMEM;
    crypto_sign_keypair(f->server_pk, f->server_sk);
    memset(&f->ack, 0, sizeof(f->ack));
    f->ack.kind = KF_MSG_ACK;
    memcpy(f->ack.device_id, f->view.hdr.device_id, sizeof(f->ack.device_id));
    f->ack.key_epoch = 1;
    f->ack.seq = 1000;
    f->ack.device_ms = kf_now_ms();
    r = kf_topic_format(f->ack_topic, sizeof(f->ack_topic), f->ack.device_id, KF_TOPIC_ACK);
    if (r < 0)
        return r;
    for (int op = 0; op < OP_COUNT_; op++) {
        r = run_op(f, (enum op)op);
        if (r < 0) {
            fprintf(stderr, "kf-verify-speed: self-check of %s failed: %s\n", op_names[op],
                    strerror(-r));
            return r;
        }
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: kf-verify-speed [--n N] [--runs K] [--records R]\n");
}

int main(int argc, char **argv)
{
    static struct fixture f;
    uint64_t n = 20000, runs = 5, nrec = 4;
    double cpu_us[OP_COUNT_][MAX_RUNS], wall_us[OP_COUNT_][MAX_RUNS];
    double med_cpu[OP_COUNT_], med_wall[OP_COUNT_];
    int r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--n") == 0 && kf_bench_parse_u64(v, 100, 100000000, &n) == 0)
            i++;
        else if (strcmp(a, "--runs") == 0 && kf_bench_parse_u64(v, 1, MAX_RUNS, &runs) == 0)
            i++;
        else if (strcmp(a, "--records") == 0 &&
                 kf_bench_parse_u64(v, 1, KF_ENV_MAX_RECORDS, &nrec) == 0)
            i++;
        else {
            usage();
            return 2;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "kf-verify-speed: sodium_init failed\n");
        return 1;
    }
    r = fixture_init(&f, (uint32_t)nrec);
    if (r < 0) {
        fprintf(stderr, "kf-verify-speed: cannot build a frame: %s\n", strerror(-r));
        return 1;
    }
    /* Interleave the operations run by run, so that a burst of load from elsewhere on the
     * machine spreads over all of them instead of skewing one. */
    for (uint64_t k = 0; k < runs; k++) {
        for (int op = 0; op < OP_COUNT_; op++) {
            uint64_t iters = op == OP_VERIFY || op == OP_ENV_VERIFY || op == OP_SIGN ? n : n * 4;
            double c0 = kf_bench_thread_cpu(), w0 = kf_bench_now();

            for (uint64_t i = 0; i < iters; i++) {
                if (run_op(&f, (enum op)op) < 0) {
                    fprintf(stderr, "kf-verify-speed: %s failed\n", op_names[op]);
                    return 1;
                }
            }
            cpu_us[op][k] = (kf_bench_thread_cpu() - c0) * 1e6 / (double)iters;
            wall_us[op][k] = (kf_bench_now() - w0) * 1e6 / (double)iters;
        }
    }
    for (int op = 0; op < OP_COUNT_; op++) {
        med_cpu[op] = kf_bench_median(cpu_us[op], runs);
        med_wall[op] = kf_bench_median(wall_us[op], runs);
        fprintf(stderr, "%-11s %8.2f us/op cpu  %9.0f op/s cpu  (%8.2f us/op wall)\n", op_names[op],
                med_cpu[op], 1e6 / med_cpu[op], med_wall[op]);
    }
    fprintf(stderr,
            "frame: %zu records, body %zu B JSON -> %zu B zstd+dict, frame %zu B, "
            "signed message %zu B\n",
            (size_t)nrec, f.body_len, f.zlen, f.frame_len, f.msg_len);

    printf("{\"n\":%llu,\"runs\":%llu,\"records\":%llu,\"body_bytes\":%zu,\"zbody_bytes\":%zu,"
           "\"frame_bytes\":%zu,\"signed_bytes\":%zu",
           (unsigned long long)n, (unsigned long long)runs, (unsigned long long)nrec, f.body_len,
           f.zlen, f.frame_len, f.msg_len);
    for (int op = 0; op < OP_COUNT_; op++)
        printf(",\"%s_us\":%.3f,\"%s_per_s\":%.0f,\"%s_wall_us\":%.3f", op_names[op], med_cpu[op],
               op_names[op], 1e6 / med_cpu[op], op_names[op], med_wall[op]);
    printf("}\n");
    free(f.msg);
    kf_zctx_free(f.z);
    sodium_memzero(f.sk, sizeof(f.sk));
    return 0;
}
