/* kioskctl/cmd.c: commands to terminals (docs/KIOSKCTL.md "cmd", store/commands.h):
 * cmd send (to one device, a zone's or a bank's, each queued with its signed-log entry, who
 * and why, in one transaction), cmd list, cmd show, cmd cancel, cmd refused. kioskd sends
 * what is queued; the terminals' reports come back through it. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/command.h>
#include <kf/err.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/commands.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB cmd send DEVICE|--zone ZONE|--bank BANK KIND [ARG...]\n"
            "           --by WHO --reason TEXT --server-key FILE [--expires DURATION]\n"
            "       kioskctl --db DB cmd list [--device DEVICE] [--status STATUS]\n"
            "       kioskctl --db DB cmd show ID\n"
            "       kioskctl --db DB cmd cancel ID --by WHO --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB cmd refused\n"
            "       kioskctl --db DB cmd logs ID [-o FILE]\n"
            "KIND: probe | maintenance on|off [TECH] | restart-app | reboot | restart-agent |\n"
            "      set-config KEY VALUE | logs UNIT[,UNIT...] SPAN_S. DURATION: 30s, 15m, 1h (the "
            "default), 2d; at most 30d.\n"
            "STATUS: queued sent received done failed refused expired cancelled.\n");
}

/* "90s", "15m", "1h", "2d" -> ms; -1 when it is not one, or past KF_CMD_LIFE_MAX_MS. */
static int64_t parse_duration(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    int64_t unit;

    if (end == s || v <= 0 || end[0] == '\0' || end[1] != '\0')
        return -1;
    switch (*end) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60000;
        break;
    case 'h':
        unit = 3600000;
        break;
    case 'd':
        unit = 86400000;
        break;
    default:
        return -1;
    }
    if (v > KF_CMD_LIFE_MAX_MS / unit)
        return -1;
    return (int64_t)v * unit;
}

/* "C-42" or "42" -> 42; -1 otherwise. */
static int64_t parse_id(const char *s)
{
    char *end;
    long long v;

    if (strncmp(s, "C-", 2) == 0)
        s += 2;
    v = strtoll(s, &end, 10);
    return end == s || *end != '\0' || v <= 0 ? -1 : (int64_t)v;
}

struct send_op {
    const char *device, *zone, *bank;
    struct kf_cmd_request req;
    struct kf_qtable *out;
};

static int send_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct send_op *o = ud;
    char **targets = NULL, seq[24], id[32];
    size_t n = 0;
    int r;

    r = kf_store_cmd_targets(st, o->device, o->zone, o->bank, &targets, &n);
    if (r < 0)
        return kf_ctl_fail(st, "targets", r);
    if (n == 0) {
        fprintf(stderr, "kioskctl: cmd send: no active device %s %s\n",
                o->device ? "named"
                : o->zone ? "in zone"
                          : "of bank",
                o->device ? o->device
                : o->zone ? o->zone
                          : o->bank);
        kf_store_cmd_targets_free(targets, n);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t cid;
        const char *row[4];

        r = kf_store_cmd_queue(st, targets[i], &o->req, sk, &cid);
        if (r < 0) {
            int rc = kf_ctl_fail(st, targets[i], r) + (r == -EINVAL || r == -EPERM);

            kf_store_cmd_targets_free(targets, n); /* after: the message names targets[i] */
            return rc;
        }
        snprintf(id, sizeof(id), "C-%lld", (long long)cid);
        snprintf(seq, sizeof(seq), "%zu", i + 1);
        row[0] = id;
        row[1] = targets[i];
        row[2] = o->req.kind;
        row[3] = "queued";
        if (kf_store_query_table_add_row(o->out, row) < 0) {
            kf_store_cmd_targets_free(targets, n);
            return 1;
        }
    }
    kf_store_cmd_targets_free(targets, n);
    return 0;
}

static int cmd_send(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"zone", required_argument, NULL, 'z'},
        {"bank", required_argument, NULL, 'B'},
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {"expires", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    static const char *const cols[] = {"id", "device", "kind", "status", NULL};
    struct send_op o;
    const char *key = NULL, *expires = "1h";
    int64_t life;
    int ch, pos, rc;

    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'z':
            o.zone = optarg;
            break;
        case 'B':
            o.bank = optarg;
            break;
        case 'b':
            o.req.by = optarg;
            break;
        case 'r':
            o.req.reason = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'e':
            expires = optarg;
            break;
        default:
            usage();
            return 2;
        }
    }
    pos = optind;
    if (o.zone == NULL && o.bank == NULL && pos < argc)
        o.device = argv[pos++];
    if ((o.device != NULL) + (o.zone != NULL) + (o.bank != NULL) != 1 || pos >= argc ||
        key == NULL || kf_ctl_who_why(o.req.by, o.req.reason) < 0) {
        usage();
        return 2;
    }
    o.req.kind = argv[pos++];
    o.req.nargs = (uint32_t)(argc - pos);
    o.req.args = (const char *const *)(argv + pos);
    if ((life = parse_duration(expires)) < 0) {
        fprintf(stderr,
                "kioskctl: --expires %s: a duration such as 30s, 15m, 1h or 2d, at most "
                "30d\n",
                expires);
        return 2;
    }
    if (o.req.nargs > KF_CMD_ARGS_MAX ||
        (rc = kf_cmd_kind_check(o.req.kind, o.req.nargs, o.req.args)) < 0) {
        fprintf(stderr, "kioskctl: cmd send %s: %s\n", o.req.kind,
                o.req.nargs <= KF_CMD_ARGS_MAX && rc == -ENOENT
                    ? "not a command kind (probe, maintenance, restart-app, reboot, "
                      "restart-agent, set-config, logs, update)"
                    : "wrong arguments for this kind");
        usage();
        return 2;
    }
    for (uint32_t i = 0; i < o.req.nargs; i++) {
        if (!kf_cmd_arg_ok(o.req.args[i])) {
            fprintf(stderr, "kioskctl: argument \"%s\": at most %d printable ASCII characters\n",
                    o.req.args[i], KF_CMD_ARG_MAX);
            return 2;
        }
    }
    o.req.now_ms = kf_now_ms();
    o.req.expires_ms = o.req.now_ms + life;
    o.out = kf_store_query_table_new("queued", NULL, cols, "xxxx");
    if (o.out == NULL)
        return 1;
    rc = kf_ctl_signed_txn(c, key, send_run, &o);
    if (rc != 0) {
        kf_store_query_table_free(o.out);
        return rc;
    }
    return kf_ctl_print_table_free(c, "cmd send", o.out);
}

struct cancel_op {
    int64_t id;
    const char *by, *reason;
};

static int cancel_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct cancel_op *o = ud;
    int r = kf_store_cmd_cancel(st, o->id, kf_now_ms(), o->by, o->reason, sk);

    if (r < 0)
        return kf_ctl_fail(st, "cmd cancel", r) + (r == -ENOENT || r == -EALREADY);
    return 0;
}

static int cmd_cancel(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    struct cancel_op o = {0, NULL, NULL};
    const char *key = NULL;
    int ch, rc;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'b')
            o.by = optarg;
        else if (ch == 'r')
            o.reason = optarg;
        else if (ch == 'k')
            key = optarg;
        else
            goto usage;
    }
    if (optind != argc - 1 || key == NULL || kf_ctl_who_why(o.by, o.reason) < 0 ||
        (o.id = parse_id(argv[optind])) < 0)
        goto usage;
    rc = kf_ctl_signed_txn(c, key, cancel_run, &o);
    if (rc == 0)
        printf("C-%lld cancelled\n", (long long)o.id);
    return rc;
usage:
    usage();
    return 2;
}

static int cmd_read(const struct kf_ctl *c, int argc, char **argv, const char *what)
{
    static const struct option longopts[] = {
        {"device", required_argument, NULL, 'd'},
        {"status", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *device = NULL, *status = NULL;
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    int64_t id = 0;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'd' && strcmp(what, "list") == 0)
            device = optarg;
        else if (ch == 's' && strcmp(what, "list") == 0)
            status = optarg;
        else
            goto usage;
    }
    if (strcmp(what, "show") == 0 ? optind != argc - 1 || (id = parse_id(argv[optind])) < 0
                                  : optind != argc)
        goto usage;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    if (strcmp(what, "list") == 0)
        r = kf_store_cmd_list(st, device, status, &t);
    else if (strcmp(what, "show") == 0)
        r = kf_store_cmd_show(st, id, &t);
    else
        r = kf_store_cmd_refusals(st, &t);
    if (r < 0) {
        r = kf_ctl_fail(st, "cmd", r) + (r == -ENOENT);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "cmd", t);
usage:
    usage();
    return 2;
}

int kf_ctl_cmd(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "send") == 0)
        return cmd_send(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "cancel") == 0)
        return cmd_cancel(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "show") == 0 ||
        strcmp(argv[1], "refused") == 0)
        return cmd_read(c, argc - 1, argv + 1, argv[1]);
    if (strcmp(argv[1], "logs") == 0)
        return kf_ctl_cmd_logs(c, argc - 1, argv + 1); /* kioskctl/cmd_logs.c */
    usage();
    return 2;
}
