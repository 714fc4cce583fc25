/* kioskctl/sla_act.c: the technicians' actions (docs/guides/TECHNICIAN.md):
 *
 *   ack|onsite|resolve|close|attribute|note|assign ID [ID...] | --outage ID  [options]
 *
 * Not applied here: kioskd's engine is the only one that decides (docs/SLA.md 10.3). The
 * actions are written in sla_actions, one per incident, in one transaction (all or none:
 * a bad id queues nothing and is named), then kioskctl waits for kioskd's outcomes; if
 * kioskd has not run for a while it says they are queued. An action on an outage
 * (rules/outage.h) is the same action on each of its children not closed. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kf/err.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/sla.h"
#include "views/outage.h"

#define KF__WAIT_DEFAULT_S 15
#define KF__KIOSKD_QUIET_MS (120LL * 1000) /* no engine run for this long: kioskd is down */

static int usage_err(const char *msg)
{
    fprintf(stderr, "kioskctl: %s (kioskctl --help)\n", msg);
    return 2;
}

static int parse_int(const char *s, long lo, long hi, int *ret)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

/* Wait until kioskd has answered every action (or the time is up). */
static int wait_outcomes(struct kf_store *st, struct kf_sla_action *acts, const int64_t *ids,
                         size_t n, int wait_s)
{
    int64_t until = kf_now_ms() + (int64_t)wait_s * 1000;
    struct timespec ts = {0, 100 * 1000 * 1000};

    for (;;) {
        size_t pending = 0;

        for (size_t i = 0; i < n; i++) {
            if (acts[i].status != KF_SLA_ACTION_PENDING && acts[i].id == ids[i])
                continue;
            int r = kf_store_sla_action(st, ids[i], &acts[i]);
            if (r < 0)
                return r;
            pending += acts[i].status == KF_SLA_ACTION_PENDING;
        }
        if (pending == 0 || kf_now_ms() >= until)
            return 0;
        nanosleep(&ts, NULL);
    }
}

/* What a technician sees once kioskd applied the action. */
static void print_applied(struct kf_store *st, const struct kf_sla_action *a)
{
    struct kf_incident inc;
    char when[32];

    printf("incident %lld: %s by %s at %s: %s", (long long)a->incident,
           kf_incident_ev_name(a->kind), a->who, kf_ctl_local_time(a->at_ms, when, sizeof(when)),
           a->result);
    if (kf_store_sla_incident(st, a->incident, &inc) == 0) {
        printf("; now %s (%s)", kf_incident_state_name(inc.state), kf_incident_attr_name(inc.attr));
        if (a->kind == KF_EV_ASSIGN)
            printf(inc.assignee[0] ? ", assigned to %s" : ", assigned to nobody%s", inc.assignee);
    }
    printf("\n");
}

/* Print each outcome; 1 if any was refused. */
static int report(struct kf_store *st, const struct kf_sla_action *acts, const int64_t *ids,
                  size_t n)
{
    struct kf_sla_cursor cur;
    size_t done = 0, refused = 0, queued = 0;
    char last[32];

    for (size_t i = 0; i < n; i++) {
        const struct kf_sla_action *a = &acts[i];

        if (a->status == KF_SLA_ACTION_DONE) {
            print_applied(st, a);
            done++;
        } else if (a->status == KF_SLA_ACTION_REFUSED) {
            fprintf(stderr, "kioskctl: incident %lld: %s %s\n", (long long)a->incident,
                    kf_incident_ev_name(a->kind), a->result);
            refused++;
        } else {
            queued++;
        }
    }
    if (queued > 0) {
        int known = kf_store_sla_cursor(st, &cur) == 0 && cur.updated_ms != 0;

        if (n == 1)
            printf("incident %lld: %s queued as action %lld; ", (long long)acts[0].incident,
                   kf_incident_ev_name(acts[0].kind), (long long)ids[0]);
        else
            printf("%zu actions queued (ids %lld..%lld); ", queued, (long long)ids[0],
                   (long long)ids[n - 1]);
        printf("kioskd applies %s on its next run (its SLA engine last ran %s)\n",
               n == 1 ? "it" : "them",
               known ? kf_ctl_local_time(cur.updated_ms, last, sizeof(last)) : "never");
    }
    if (n > 1)
        printf("%zu incidents: %zu done, %zu refused, %zu queued\n", n, done, refused, queued);
    return refused > 0 ? 1 : 0;
}

/* The incidents an action on outage `id` goes to: its children not closed. */
static int outage_ids(const struct kf_ctl *c, const char *id, int64_t **ret, size_t *ret_n)
{
    struct kf_view_outage_queue *v = NULL;
    struct kf_store *st;
    char err[256] = "";
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return -EIO;
    r = kf_view_outage_queue(st, kf_now_ms(), &v, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: outage %s: %s\n", id, err);
        return r;
    }
    r = kf_view_outage_children(v, id, ret, ret_n);
    kf_view_outage_queue_free(v);
    if (r == -ENOENT)
        fprintf(stderr, "kioskctl: no outage %s now (kioskctl incidents lists them)\n", id);
    else if (r == 0 && *ret_n == 0)
        fprintf(stderr, "kioskctl: outage %s: every incident of it is closed\n", id);
    if (r == 0 && *ret_n == 0) {
        free(*ret);
        r = -ENOENT;
    }
    return r;
}

struct act_args {
    struct kf_sla_action a; /* the action, but for its incident */
    int wait_s, clear;
    const char *outage;
    int64_t *ids;
    size_t n;
};

static int parse_args(int argc, char **argv, int kind, struct act_args *x)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'},   {"note", required_argument, NULL, 'n'},
        {"text", required_argument, NULL, 't'}, {"reason", required_argument, NULL, 'r'},
        {"to", required_argument, NULL, 'o'},   {"wait", required_argument, NULL, 'w'},
        {"force", no_argument, NULL, 'f'},      {"outage", required_argument, NULL, 'O'},
        {"clear", no_argument, NULL, 'c'},      {NULL, 0, NULL, 0},
    };
    /* Which text option each action takes (0: none). */
    int text_opt = kind == KF_EV_NOTE        ? 't'
                   : kind == KF_EV_ATTRIBUTE ? 'r'
                   : kind == KF_EV_ON_SITE   ? 0
                                             : 'n';
    int ch, v, have_to = 0;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            if (strlen(optarg) > KF_WHO_MAX)
                return usage_err("--by: at most 31 bytes");
            snprintf(x->a.who, sizeof(x->a.who), "%s", optarg);
            break;
        case 'n':
        case 't':
        case 'r':
            if (ch != text_opt)
                return usage_err("that option does not go with this command");
            if (strlen(optarg) > KF_TEXT_MAX)
                return usage_err("the text is at most 255 bytes");
            snprintf(x->a.text, sizeof(x->a.text), "%s", optarg);
            break;
        case 'o':
            if (kind == KF_EV_ASSIGN) {
                if (optarg[0] == '\0' || strlen(optarg) > KF_WHO_MAX)
                    return usage_err("assign --to NAME: the technician, 1 to 31 bytes");
                snprintf(x->a.assignee, sizeof(x->a.assignee), "%s", optarg);
            } else if (kind != KF_EV_ATTRIBUTE || kf_incident_attr_parse(optarg, &v) < 0) {
                return usage_err("--to company|bank_power|bank_network|bank_consumables|"
                                 "bank_vandalism|force_majeure (attribute), --to NAME (assign)");
            } else {
                x->a.to = (uint8_t)v;
            }
            have_to = 1;
            break;
        case 'w':
            if (parse_int(optarg, 0, 300, &x->wait_s) < 0)
                return usage_err("--wait: seconds, 0..300");
            break;
        case 'f':
            if (kind != KF_EV_RESOLVE)
                return usage_err("--force goes with resolve only");
            x->a.flags = KF_EV_F_FORCED;
            break;
        case 'O':
            x->outage = optarg;
            break;
        case 'c':
            if (kind != KF_EV_ASSIGN)
                return usage_err("--clear goes with assign only");
            x->clear = 1;
            break;
        default:
            return 2;
        }
    }
    if (x->outage != NULL && optind != argc)
        return usage_err("incident ids or --outage ID, not both");
    if (x->outage == NULL && optind == argc)
        return usage_err("an incident id (or several, or --outage ID) is required");
    if (argc - optind > KF_SLA_ACTIONS_BULK_MAX)
        return usage_err("at most 1000 incidents at once");
    x->n = (size_t)(argc - optind);
    x->ids = calloc(x->n + 1, sizeof(*x->ids));
    if (x->ids == NULL)
        return 1;
    for (size_t i = 0; i < x->n; i++) {
        if (kf_ctl_parse_id(argv[optind + (int)i], &x->ids[i]) < 0) {
            fprintf(stderr, "kioskctl: not an incident id: '%s' (kioskctl --help)\n",
                    argv[optind + (int)i]);
            return 2;
        }
    }
    if (x->a.who[0] == '\0')
        return usage_err("--by WHO is required");
    if ((kind == KF_EV_RESOLVE || kind == KF_EV_NOTE || kind == KF_EV_ATTRIBUTE) &&
        x->a.text[0] == '\0')
        return usage_err(kind == KF_EV_RESOLVE ? "resolve needs --note"
                         : kind == KF_EV_NOTE  ? "note needs --text"
                                               : "attribute needs --reason");
    if (kind == KF_EV_ATTRIBUTE && x->a.to == 0)
        return usage_err("attribute needs --to");
    if (kind == KF_EV_ASSIGN && have_to == x->clear)
        return usage_err("assign needs --to NAME or --clear");
    return 0;
}

/* Queue them all or none. Ids typed are at most KF_SLA_ACTIONS_BULK_MAX (parse_args); an
 * outage can hold more (most of a 2,000-terminal fleet dropping together): its actions go in
 * bulks of that size inside one transaction, and kioskd applies them a bulk a run. */
static int queue_all(struct kf_store *st, const struct kf_sla_action *acts, size_t n, int64_t *ids)
{
    int r;

    if (n <= KF_SLA_ACTIONS_BULK_MAX)
        return kf_store_sla_actions_add(st, acts, n, ids, NULL);
    r = kf_store_begin(st);
    for (size_t off = 0; r == 0 && off < n; off += KF_SLA_ACTIONS_BULK_MAX) {
        size_t k = n - off < KF_SLA_ACTIONS_BULK_MAX ? n - off : KF_SLA_ACTIONS_BULK_MAX;

        r = kf_store_sla_actions_add(st, acts + off, k, ids + off, NULL);
    }
    if (r == 0)
        return kf_store_end(st, 1);
    kf_store_end(st, 0);
    return r;
}

static int cmd_action(const struct kf_ctl *c, int argc, char **argv, int kind)
{
    struct act_args x;
    struct kf_sla_action *acts = NULL;
    struct kf_sla_cursor cur;
    struct kf_store *st = NULL;
    int64_t *qids = NULL, now = kf_now_ms();
    int r;

    memset(&x, 0, sizeof(x));
    x.a.kind = (uint8_t)kind;
    x.wait_s = KF__WAIT_DEFAULT_S;
    r = parse_args(argc, argv, kind, &x);
    if (r == 0 && x.outage != NULL) {
        free(x.ids);
        x.ids = NULL;
        r = outage_ids(c, x.outage, &x.ids, &x.n) < 0 ? 1 : 0;
    }
    if (r != 0)
        goto out;
    acts = calloc(x.n + 1, sizeof(*acts));
    qids = calloc(x.n + 1, sizeof(*qids));
    if (acts == NULL || qids == NULL) {
        r = 1;
        goto out;
    }
    x.a.requested_ms = now;
    for (size_t i = 0; i < x.n; i++) {
        acts[i] = x.a;
        acts[i].incident = x.ids[i];
    }
    r = 1;
    if (kf_ctl_open_store(c, 1, &st) < 0)
        goto out;
    if (queue_all(st, acts, x.n, qids) < 0) {
        fprintf(stderr, "kioskctl: %s: %s; nothing was queued\n", argv[0], kf_store_errmsg(st));
        goto out;
    }
    if (kf_store_sla_cursor(st, &cur) < 0 ||
        wait_outcomes(st, acts, qids, x.n,
                      cur.updated_ms == 0 || now - cur.updated_ms > KF__KIOSKD_QUIET_MS
                          ? 0 /* kioskd is not running */
                          : x.wait_s) < 0) {
        kf_ctl_fail(st, argv[0], -EIO);
        goto out;
    }
    r = report(st, acts, qids, x.n);
    if (fflush(stdout) != 0)
        r = 1;
out:
    kf_store_free(st);
    free(acts);
    free(qids);
    free(x.ids);
    return r;
}

/* The actions kioskd applies, by the command's name (argv[0]). */
int kf_ctl_action(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct {
        const char *cmd;
        int kind;
    } actions[] = {
        {"ack", KF_EV_ACK},       {"onsite", KF_EV_ON_SITE},      {"resolve", KF_EV_RESOLVE},
        {"close", KF_EV_CLOSE},   {"attribute", KF_EV_ATTRIBUTE}, {"note", KF_EV_NOTE},
        {"assign", KF_EV_ASSIGN},
    };

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(argv[0], actions[i].cmd) == 0)
            return cmd_action(c, argc, argv, actions[i].kind);
    }
    return usage_err("ack|onsite|resolve|close|attribute|note|assign INCIDENT_ID ...");
}
