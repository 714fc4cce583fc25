/* kioskctl/rollout.c: rollouts in waves (docs/KIOSKCTL.md "rollout", store/rollouts.h):
 * rollout list, show, halt, resume, cancel. A rollout is started by cmd send --canary. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/rollouts.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl --db DB rollout list [--status running|halted|done|cancelled]\n"
            "       kioskctl --db DB rollout show ID\n"
            "       kioskctl --db DB rollout halt|resume|cancel ID --by WHO --reason TEXT\n"
            "           --server-key FILE\n"
            "Start one with kioskctl cmd send KIND SELECTOR... --canary N|P%%.\n");
}

/* "R-7" or "7" -> 7; -1 otherwise. */
static int64_t parse_id(const char *s)
{
    char *end;
    long long v;

    if (strncmp(s, "R-", 2) == 0)
        s += 2;
    v = strtoll(s, &end, 10);
    return end == s || *end != '\0' || v <= 0 ? -1 : (int64_t)v;
}

struct act_op {
    const char *verb;
    int64_t id;
    const char *by, *reason;
};

static int act_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct act_op *o = ud;
    int64_t now = kf_now_ms();
    int r;

    if (strcmp(o->verb, "halt") == 0)
        r = kf_store_rollout_halt(st, o->id, now, o->by, o->reason, sk);
    else if (strcmp(o->verb, "resume") == 0)
        r = kf_store_rollout_resume(st, o->id, now, o->by, o->reason, sk);
    else
        r = kf_store_rollout_cancel(st, o->id, now, o->by, o->reason, sk);
    if (r < 0)
        return kf_ctl_fail(st, o->verb, r) + (r == -ENOENT || r == -EALREADY || r == -EINVAL);
    return 0;
}

static int rollout_act(const struct kf_ctl *c, int argc, char **argv, const char *verb)
{
    struct act_op o = {verb, 0, NULL, NULL};
    const char *key = NULL;
    int rc;

    if (kf_ctl_signed_opts(argc, argv, &o.by, &o.reason, &key) < 0)
        goto usage;
    if (optind != argc - 1 || key == NULL || kf_ctl_who_why(o.by, o.reason) < 0 ||
        (o.id = parse_id(argv[optind])) < 0)
        goto usage;
    rc = kf_ctl_signed_txn(c, key, act_run, &o);
    if (rc == 0)
        printf("R-%lld %s\n", (long long)o.id,
               strcmp(verb, "halt") == 0     ? "halted"
               : strcmp(verb, "resume") == 0 ? "resumed"
                                             : "cancelled");
    return rc;
usage:
    usage();
    return 2;
}

static int rollout_read(const struct kf_ctl *c, int argc, char **argv, const char *what)
{
    static const struct option longopts[] = {
        {"status", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *status = NULL;
    struct kf_qtable *t = NULL, *w = NULL;
    struct kf_store *st;
    int64_t id = 0;
    int ch, r, show = strcmp(what, "show") == 0;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 's' && !show)
            status = optarg;
        else
            goto usage;
    }
    if (show ? optind != argc - 1 || (id = parse_id(argv[optind])) < 0 : optind != argc)
        goto usage;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = show ? kf_store_rollout_show(st, id, &t) : kf_store_rollout_list(st, status, &t);
    if (r == 0 && show)
        r = kf_store_rollout_waves(st, id, &w);
    if (r < 0) {
        r = kf_ctl_fail(st, "rollout", r) + (r == -ENOENT);
        kf_store_query_table_free(t);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    r = kf_ctl_print_table_free(c, "rollout", t);
    if (r == 0 && w != NULL) {
        printf("\n");
        r = kf_ctl_print_table_free(c, "rollout", w);
    } else {
        kf_store_query_table_free(w);
    }
    return r;
usage:
    usage();
    return 2;
}

int kf_ctl_rollout(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "show") == 0)
        return rollout_read(c, argc - 1, argv + 1, argv[1]);
    if (strcmp(argv[1], "halt") == 0 || strcmp(argv[1], "resume") == 0 ||
        strcmp(argv[1], "cancel") == 0)
        return rollout_act(c, argc - 1, argv + 1, argv[1]);
    usage();
    return 2;
}
