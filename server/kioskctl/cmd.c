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
#include "rules/rollout.h"
#include "store/commands.h"
#include "store/rollouts.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB cmd send DEVICE KIND [ARG...] --by WHO --reason TEXT\n"
            "           --server-key FILE [--expires DURATION]\n"
            "       kioskctl --db DB cmd send KIND [ARG...] SELECTOR... --by WHO --reason TEXT\n"
            "           --server-key FILE [--expires DURATION] [--dry-run]\n"
            "           [--canary N|P%% [--halt-failures N | --halt-rate P%%]]\n"
            "       kioskctl --db DB cmd list [--device DEVICE] [--status STATUS]\n"
            "       kioskctl --db DB cmd show ID\n"
            "       kioskctl --db DB cmd cancel ID --by WHO --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB cmd refused\n"
            "       kioskctl --db DB cmd logs ID [-o FILE]\n"
            "SELECTOR (all given must match): --device D (repeatable), --zone Z, --bank B,\n"
            "      --unit U, --kind kiosk|itm, --agent-version V, --app-version V (V or V.*).\n"
            "--dry-run lists the targets and changes nothing; --canary makes it a rollout\n"
            "      (kioskctl rollout): the canary wave first, the rest once it ended.\n"
            "KIND: probe | maintenance on|off [TECH] | restart-app | reboot | restart-agent |\n"
            "      set-config KEY VALUE | logs UNIT[,UNIT...] SPAN_S. DURATION: 30s, 15m,\n"
            "      1h (the default), 2d; at most 30d.\n"
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
    struct kf_cmd_select sel;
    const char *devices[KF_CMD_SELECT_DEVICES_MAX];
    struct kf_cmd_request req;
    struct kf_rollout_plan plan;
    int dry_run, rollout;
    struct kf_qtable *out;
};

static int send_targets(struct kf_store *st, struct send_op *o, char ***targets, size_t *n)
{
    int r = kf_store_cmd_targets(st, &o->sel, targets, n);

    if (r < 0)
        return kf_ctl_fail(st, "targets", r) + (r == -EINVAL);
    if (*n == 0) {
        fprintf(stderr, "kioskctl: cmd send: no active device matches the selectors\n");
        kf_store_cmd_targets_free(*targets, *n);
        return 2;
    }
    return 0;
}

static int send_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct send_op *o = ud;
    char **targets = NULL, id[32];
    size_t n = 0;
    int r;

    if ((r = send_targets(st, o, &targets, &n)) != 0)
        return r;
    if (o->rollout) {
        int64_t rid;
        struct kf_qtable *w = NULL;

        r = kf_store_rollout_start(st, (const char *const *)targets, n, &o->req, &o->plan, sk,
                                   &rid);
        kf_store_cmd_targets_free(targets, n);
        if (r < 0)
            return kf_ctl_fail(st, "rollout", r) + (r == -EINVAL);
        r = kf_store_cmd_page(st, NULL, NULL, rid, 0, KF_ROLLOUT_TARGETS_MAX, 0, &w);
        if (r < 0)
            return kf_ctl_fail(st, "rollout", r);
        fprintf(stderr, "rollout R-%lld: %zu terminals, canary wave of %u queued\n", (long long)rid,
                n,
                kf_rollout_canary(
                    &(struct kf_rollout_plan){(uint32_t)n, o->plan.canary_n, o->plan.canary_bp,
                                              o->plan.halt_failures, o->plan.halt_rate_bp}));
        for (size_t i = 0; i < w->nrows; i++) {
            const char *row[4] = {kf_store_query_table_cell(w, i, 0),
                                  kf_store_query_table_cell(w, i, 1), o->req.kind, "queued"};

            if (kf_store_query_table_add_row(o->out, row) < 0) {
                kf_store_query_table_free(w);
                return 1;
            }
        }
        kf_store_query_table_free(w);
        return 0;
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

/* --dry-run: the targets and how the waves would cut them; nothing written. */
static int send_dry(const struct kf_ctl *c, struct send_op *o)
{
    static const char *const cols[] = {"n", "device", "wave", NULL};
    struct kf_store *st;
    struct kf_qtable *t;
    char **targets = NULL;
    size_t n = 0;
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = send_targets(st, o, &targets, &n);
    kf_store_free(st);
    if (r != 0)
        return r;
    o->plan.total = (uint32_t)n;
    if (o->rollout && kf_rollout_plan_check(&o->plan) < 0) {
        fprintf(stderr, "kioskctl: a rollout has 1..%d targets; %zu selected\n",
                KF_ROLLOUT_TARGETS_MAX, n);
        kf_store_cmd_targets_free(targets, n);
        return 2;
    }
    t = kf_store_query_table_new("dry_run", NULL, cols, "ixi");
    for (size_t i = 0; t != NULL && i < n; i++) {
        char num[24], wave[8];
        const char *row[3] = {num, targets[i], wave};

        snprintf(num, sizeof(num), "%zu", i + 1);
        snprintf(wave, sizeof(wave), "%d", o->rollout && i >= kf_rollout_canary(&o->plan) ? 2 : 1);
        if (kf_store_query_table_add_row(t, row) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    kf_store_cmd_targets_free(targets, n);
    if (t == NULL)
        return 1;
    fprintf(stderr, "dry run: %s to %zu terminals%s; nothing queued\n", o->req.kind, n,
            o->rollout ? " in waves (wave 1: the canary)" : "");
    return kf_ctl_print_table_free(c, "cmd send", t);
}

static int cmd_send(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"zone", required_argument, NULL, 'z'},
        {"bank", required_argument, NULL, 'B'},
        {"device", required_argument, NULL, 'd'},
        {"unit", required_argument, NULL, 'u'},
        {"kind", required_argument, NULL, 'K'},
        {"agent-version", required_argument, NULL, 'A'},
        {"app-version", required_argument, NULL, 'P'},
        {"dry-run", no_argument, NULL, 'n'},
        {"canary", required_argument, NULL, 'c'},
        {"halt-failures", required_argument, NULL, 'f'},
        {"halt-rate", required_argument, NULL, 'R'},
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {"expires", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    static const char *const cols[] = {"id", "device", "kind", "status", NULL};
    struct send_op *o;
    const char *key = NULL, *expires = "1h";
    int64_t life;
    int ch, pos, rc = 2, selectors = 0, thresholds = 0;
    uint32_t n, bp;

    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return 1;
    o->plan.halt_failures = -1;
    o->plan.halt_rate_bp = -1;
    o->sel.devices = o->devices;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'z':
            o->sel.zone = optarg;
            break;
        case 'B':
            o->sel.bank = optarg;
            break;
        case 'd':
            if (o->sel.ndevices == KF_CMD_SELECT_DEVICES_MAX) {
                fprintf(stderr, "kioskctl: at most %d --device\n", KF_CMD_SELECT_DEVICES_MAX);
                goto out;
            }
            o->devices[o->sel.ndevices++] = optarg;
            break;
        case 'u':
            o->sel.unit = optarg;
            break;
        case 'K':
            o->sel.kind = optarg;
            break;
        case 'A':
            o->sel.agent_version = optarg;
            break;
        case 'P':
            o->sel.app_version = optarg;
            break;
        case 'n':
            o->dry_run = 1;
            break;
        case 'c':
            if (kf_rollout_parse_share(optarg, KF_ROLLOUT_TARGETS_MAX, &n, &bp) < 0 ||
                (n == 0 && bp == 0)) {
                fprintf(stderr,
                        "kioskctl: --canary %s: a count (1..%d) or a share (0.01%%..100%%)\n",
                        optarg, KF_ROLLOUT_TARGETS_MAX);
                goto out;
            }
            o->plan.canary_n = n;
            o->plan.canary_bp = bp;
            o->rollout = 1;
            break;
        case 'f':
            if (kf_rollout_parse_share(optarg, KF_ROLLOUT_TARGETS_MAX, &n, &bp) < 0 || bp != 0 ||
                strchr(optarg, '%') != NULL) {
                fprintf(stderr, "kioskctl: --halt-failures %s: a count 0..%d\n", optarg,
                        KF_ROLLOUT_TARGETS_MAX);
                goto out;
            }
            o->plan.halt_failures = (int32_t)n;
            thresholds++;
            break;
        case 'R':
            if (kf_rollout_parse_share(optarg, 0, &n, &bp) < 0 || strchr(optarg, '%') == NULL) {
                fprintf(stderr, "kioskctl: --halt-rate %s: a share such as 10%%\n", optarg);
                goto out;
            }
            o->plan.halt_rate_bp = (int32_t)bp;
            thresholds++;
            break;
        case 'b':
            o->req.by = optarg;
            break;
        case 'r':
            o->req.reason = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'e':
            expires = optarg;
            break;
        default:
            usage();
            goto out;
        }
    }
    selectors = o->sel.ndevices > 0 || o->sel.zone || o->sel.bank || o->sel.unit || o->sel.kind ||
                o->sel.agent_version || o->sel.app_version;
    pos = optind;
    /* The first form: "cmd send DEVICE KIND": a device named first, no other selector. */
    if (!selectors && pos + 1 < argc && kf_cmd_kind_check(argv[pos], 0, NULL) == -ENOENT) {
        o->devices[o->sel.ndevices++] = argv[pos++];
        selectors = 1;
    }
    if (!selectors || pos >= argc || (key == NULL && !o->dry_run) ||
        (!o->dry_run && kf_ctl_who_why(o->req.by, o->req.reason) < 0) ||
        (thresholds > 0 && !o->rollout)) {
        if (thresholds > 0 && !o->rollout)
            fprintf(stderr, "kioskctl: --halt-failures and --halt-rate belong to a rollout "
                            "(--canary)\n");
        if (!selectors)
            fprintf(stderr, "kioskctl: cmd send needs a device or a selector\n");
        usage();
        goto out;
    }
    o->req.kind = argv[pos++];
    o->req.nargs = (uint32_t)(argc - pos);
    o->req.args = (const char *const *)(argv + pos);
    if ((life = parse_duration(expires)) < 0) {
        fprintf(stderr,
                "kioskctl: --expires %s: a duration such as 30s, 15m, 1h or 2d, at most "
                "30d\n",
                expires);
        goto out;
    }
    if (o->req.nargs > KF_CMD_ARGS_MAX ||
        (rc = kf_cmd_kind_check(o->req.kind, o->req.nargs, o->req.args)) < 0) {
        fprintf(stderr, "kioskctl: cmd send %s: %s\n", o->req.kind,
                o->req.nargs <= KF_CMD_ARGS_MAX && rc == -ENOENT
                    ? "not a command kind (probe, maintenance, restart-app, reboot, "
                      "restart-agent, set-config, logs, update)"
                    : "wrong arguments for this kind");
        usage();
        rc = 2;
        goto out;
    }
    rc = 2;
    for (uint32_t i = 0; i < o->req.nargs; i++) {
        if (!kf_cmd_arg_ok(o->req.args[i])) {
            fprintf(stderr, "kioskctl: argument \"%s\": at most %d printable ASCII characters\n",
                    o->req.args[i], KF_CMD_ARG_MAX);
            goto out;
        }
    }
    o->req.now_ms = kf_now_ms();
    o->req.expires_ms = o->req.now_ms + life;
    if (o->dry_run) {
        rc = send_dry(c, o);
        goto out;
    }
    o->out = kf_store_query_table_new("queued", NULL, cols, "xxxx");
    if (o->out == NULL) {
        rc = 1;
        goto out;
    }
    rc = kf_ctl_signed_txn(c, key, send_run, o);
    if (rc != 0) {
        kf_store_query_table_free(o->out);
        goto out;
    }
    rc = kf_ctl_print_table_free(c, "cmd send", o->out);
out:
    free(o);
    return rc;
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
    struct cancel_op o = {0, NULL, NULL};
    const char *key = NULL;
    int rc;

    if (kf_ctl_signed_opts(argc, argv, &o.by, &o.reason, &key) < 0)
        goto usage;
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
