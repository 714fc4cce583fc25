/* kioskctl/quarantine.c: kioskctl quarantine [list [--all] | show ID | replay ID|all]: the frames
 * the store refused and kept (store/quarantine.h, docs/KIOSKD.md "Quarantine"). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/quarantine.h"

static int usage_err(void)
{
    fprintf(stderr, "usage: kioskctl quarantine [list [--all]] | show ID | replay ID|all\n");
    return 2;
}

static const char *kind_name(uint8_t kind)
{
    switch (kind) {
    case KF_MSG_RECORDS:
        return "records";
    case KF_MSG_HELLO:
        return "hello";
    case KF_MSG_STATE:
        return "state";
    case KF_MSG_IDENT:
        return "ident";
    default:
        return "?";
    }
}

static const char *state_of(const struct kf_quarantined *q)
{
    return q->released_ms ? "released" : q->replay_ms ? "replay asked" : "held";
}

struct list_ctx {
    struct kf_qtable *t;
    int64_t want; /* show: the id; list: 0 */
    int found;
};

static int list_row(void *ud, const struct kf_quarantined *q, const char *topic, const uint8_t *raw,
                    size_t raw_len)
{
    struct list_ctx *c = ud;
    char id[24], first[24], last[24], at[24], tries[24];
    const char *cells[] = {
        kf_ctl_int(q->id, id),
        q->device_id,
        kind_name(q->kind),
        kf_ctl_int((int64_t)q->seq_first, first),
        kf_ctl_int((int64_t)(q->seq_first + (q->count > 0 ? q->count - 1 : 0)), last),
        kf_ctl_int(q->quarantined_ms, at),
        state_of(q),
        kf_ctl_int(q->attempts, tries),
        q->reason};

    (void)topic;
    (void)raw;
    (void)raw_len;
    return kf_store_query_table_add_row(c->t, cells) < 0 ? -ENOMEM : 0;
}

static int cmd_list(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    static const char *const cols[] = {"id", "device", "kind",    "seq_first", "seq_last",
                                       "at", "state",  "replays", "reason",    NULL};
    struct list_ctx lc = {0};
    struct kf_store *st;
    int all = 0, ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch != 'a')
            return usage_err();
        all = 1;
    }
    if (optind != argc)
        return usage_err();
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    lc.t = kf_store_query_table_new("quarantine", all ? "quarantine (all)" : "quarantine (held)",
                                    cols, "ixxiitxix");
    r = lc.t ? kf_store_quarantine_each(st, !all, list_row, &lc) : -ENOMEM;
    if (r < 0) {
        kf_store_query_table_free(lc.t);
        r = kf_ctl_fail(st, "quarantine", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "quarantine", lc.t);
}

static int show_row(void *ud, const struct kf_quarantined *q, const char *topic, const uint8_t *raw,
                    size_t raw_len)
{
    struct list_ctx *c = ud;
    struct kf_env_view v;
    char at[40], recv[40], *hex;

    if (q->id != c->want)
        return 0;
    c->found = 1;
    kf_ctl_local_time(q->quarantined_ms, at, sizeof(at));
    kf_ctl_local_time(q->recv_ms, recv, sizeof(recv));
    printf("id          %" PRId64 "\ndevice      %s (key epoch %u)\nkind        %s\n"
           "seqs        %" PRIu64 " + %u\ntopic       %s\nreceived    %s\nquarantined %s\n"
           "state       %s, %u replay(s)\nreason      %s\n",
           q->id, q->device_id, q->key_epoch, kind_name(q->kind), q->seq_first, q->count, topic,
           recv, at, state_of(q), q->attempts, q->reason);
    if (kf_env_parse(raw, raw_len, &v) == 0)
        printf("header      seq %" PRIu64 ", %u record(s), device time %" PRId64
               " ms, flags 0x%02x\n",
               v.hdr.seq, v.hdr.count, v.hdr.device_ms, v.hdr.flags);
    hex = malloc(2 * raw_len + 1);
    if (hex == NULL)
        return -ENOMEM;
    kf_hex_encode(raw, raw_len, hex, 2 * raw_len + 1);
    printf("frame       %zu bytes, as received (hex):\n%s\n", raw_len, hex);
    free(hex);
    return 1; /* found: stop */
}

static int cmd_show(const struct kf_ctl *c, int argc, char **argv)
{
    struct list_ctx lc = {0};
    struct kf_store *st;
    char *end;
    int r;

    if (argc != 2)
        return usage_err();
    lc.want = strtoll(argv[1], &end, 10);
    if (*end != '\0' || lc.want <= 0)
        return usage_err();
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_quarantine_each(st, 0, show_row, &lc);
    if (r < 0)
        kf_ctl_fail(st, "quarantine show", r);
    kf_store_free(st);
    if (r < 0)
        return 1;
    if (!lc.found) {
        fprintf(stderr, "kioskctl: quarantine: no row %" PRId64 "\n", lc.want);
        return 1;
    }
    return 0;
}

static int cmd_replay(const struct kf_ctl *c, int argc, char **argv)
{
    struct kf_store *st;
    int64_t id = 0;
    uint32_t n = 0;
    char *end;
    int r;

    if (argc != 2)
        return usage_err();
    if (strcmp(argv[1], "all") != 0) {
        id = strtoll(argv[1], &end, 10);
        if (*end != '\0' || id <= 0)
            return usage_err();
    }
    if (kf_ctl_open_store(c, 1, &st) < 0)
        return 1;
    r = kf_store_quarantine_request(st, id, kf_now_ms(), &n);
    if (r < 0)
        kf_ctl_fail(st, "quarantine replay", r);
    kf_store_free(st);
    if (r < 0)
        return 1;
    if (n == 0) {
        fprintf(stderr, "kioskctl: quarantine: nothing held%s\n", id ? " under that id" : "");
        return 1;
    }
    printf("%u frame(s) to replay: kioskd takes them on its next store tick ([sla] tick_s) and "
           "verifies and commits them like frames just received\n",
           n);
    return 0;
}

int kf_ctl_quarantine(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        return cmd_list(c, argc, argv); /* "quarantine [--all]" */
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return cmd_show(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "replay") == 0)
        return cmd_replay(c, argc - 1, argv + 1);
    return usage_err();
}
