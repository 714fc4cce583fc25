/* kiosk-sim: many simulated terminals on one libuv loop, each a real struct kf_agent (own
 * outbox file, own MQTT connection), driven by a workload instead of an app socket.
 * docs/SIMULATOR.md describes the workload, the ledger and the exit codes. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>
#include <uv.h>

#include <kf/codec.h>
#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/mqtt.h>
#include <kf/time.h>

#include "core/agent.h"
#include "core/config.h"
#include "sim/sim.h"

#define SIM_TICK_MS 200
#define SIM_GEN_CAP 8192
#define SIM_BACKFILL_HEALTH_MS (10 * 60000LL)
#define SIM_DAY_MS 86400000LL
/* A Wednesday, 10:00 in Asia/Shanghai: where the "busy" pattern clock starts. */
#define SIM_BUSY_REF_MS 1704247200000LL

enum sim_phase { PH_LIVE, PH_DRAIN, PH_CLOSING };

struct sim;

struct sim_dev {
    struct sim *sim;
    char id[KF_DEVICE_ID_MAX + 1];
    struct kf_agent *agent;
    struct sim_gen gen;
    uint64_t acked_start;
    int64_t last_ms;
};

struct sim {
    uv_loop_t loop;
    uv_timer_t tick, flush, drain, starter;
    uv_signal_t sigterm, sigint;
    struct sim_dev *devs;
    size_t ndev;
    struct sim_catalog cat;
    struct kf_zctx *zctx;
    FILE *ledger;
    int ledger_failed;     /* a write failed (logged once) */
    struct kf_record *buf; /* SIM_GEN_CAP records of scratch */
    enum sim_phase phase;
    int signals;
    int64_t start_ms, live_end_ms, drain_deadline_ms;
    int64_t pattern_off_ms;
    double activity;
    uint32_t health_interval_s;
    uint64_t txns, refused, submitted;
    size_t started;    /* agents started so far (--start-rate) */
    double start_rate; /* agents started a second; 0: all at once */
    size_t closing;
    int drained;
    uint64_t last_report_ms;
};

struct sim_args {
    const char *fleet, *broker, *ledger, *catalog, *clock;
    double activity, duration_s, drain_timeout_s, start_rate;
    uint32_t backfill_days, health_interval_s;
    uint64_t seed;
    size_t limit;
};

/* The ledger is what a test compares the server against, so a line is in the file (the
 * kernel's, which a kill -9 does not lose) as soon as its append has returned: each
 * append's lines are buffered, then written out with ledger_sync before the sim goes on. */
static void ledger_txn(struct sim *s, const struct sim_dev *d, uint64_t seq,
                       const struct kf_record *r)
{
    if (!s->ledger)
        return;
    fprintf(s->ledger, "%s,%" PRIu64 ",txn,%s,%s,%" PRId64 "\n", d->id, seq, r->u.txn.item,
            kf_outcome_name(r->u.txn.outcome), r->ts_ms);
}

static void ledger_sync(struct sim *s)
{
    if (s->ledger && fflush(s->ledger) != 0 && !s->ledger_failed) {
        kf_err("ledger: %s (it no longer lists every txn taken)", strerror(errno));
        s->ledger_failed = 1;
    }
}

static void sim_submit_one(struct sim *s, struct sim_dev *d, const struct kf_record *r)
{
    uint64_t seq;
    int rc = kf_agent_submit(d->agent, r, &seq);
    if (rc < 0) {
        s->refused++; /* the app would keep it and retry; the ledger has only what was taken */
        return;
    }
    s->submitted++;
    if (r->type == KF_REC_TXN) {
        ledger_txn(s, d, seq, r);
        ledger_sync(s);
        s->txns++;
    }
}

static int sim_health_cb(void *ud, int64_t now_ms, struct kf_record *ret)
{
    struct sim_dev *d = ud;
    if (d->sim->phase != PH_LIVE)
        return -EAGAIN; /* draining: no new records of any kind */
    kf__sim_health(&d->gen, now_ms, ret);
    return 0;
}

/* ---- backfill: D days of history, appended in big transactions ---- */

static int sim_backfill(struct sim *s, struct sim_dev *d, uint32_t days, int64_t now)
{
    for (int64_t t0 = now - (int64_t)days * SIM_DAY_MS; t0 < now; t0 += SIM_DAY_MS) {
        int64_t t1 = t0 + SIM_DAY_MS < now ? t0 + SIM_DAY_MS : now;
        size_t n = kf__sim_generate(&d->gen, &s->cat, t0, t1, 0, 1.0, s->buf, SIM_GEN_CAP);
        size_t appended;
        uint64_t first;
        int rc;

        rc = kf_agent_submit_many(d->agent, s->buf, n, &appended, &first);
        if (rc < 0)
            return rc;
        s->submitted += appended;
        for (size_t i = 0; i < n; i++) {
            if (s->buf[i].type != KF_REC_TXN)
                continue;
            s->txns++;
            ledger_txn(s, d, first + i, &s->buf[i]);
        }
        ledger_sync(s);
        n = 0;
        for (int64_t t = t0; t < t1 && n < SIM_GEN_CAP; t += SIM_BACKFILL_HEALTH_MS)
            kf__sim_health(&d->gen, t, &s->buf[n++]);
        rc = kf_agent_submit_many(d->agent, s->buf, n, &appended, NULL);
        if (rc < 0)
            return rc;
        s->submitted += appended;
    }
    return 0;
}

/* ---- the loop ---- */

/* Start the agents not started yet, up to what --start-rate allows by now. All of a
 * fleet's TLS handshakes run on Paho's one thread in this process (~5 ms of CPU each here):
 * thousands started at once queue past their connect timeout, give up and retry, and the
 * fleet never comes up (6,500 at once did not, BENCHMARKS.md "The production path"). */
static void sim_start_agents(struct sim *s)
{
    size_t due = s->ndev;

    if (s->start_rate > 0) {
        double t = (double)(kf_now_ms() - s->start_ms) / 1000.0;
        due = (size_t)(s->start_rate * t) + 1;
        if (due > s->ndev)
            due = s->ndev;
    }
    for (; s->started < due; s->started++) {
        struct sim_dev *d = &s->devs[s->started];
        int rc = kf_agent_start(d->agent);
        if (rc < 0)
            kf_warn("%s: start: %s", d->id, kf_strerror(rc));
    }
    if (s->started == s->ndev)
        uv_timer_stop(&s->starter);
}

static void sim_starter_cb(uv_timer_t *t)
{
    sim_start_agents(t->data);
}

static void sim_finish(struct sim *s);

static void sim_stop_generating(struct sim *s)
{
    int64_t now = kf_now_ms();
    if (s->phase != PH_LIVE)
        return;
    s->phase = PH_DRAIN;
    uv_timer_stop(&s->tick);
    for (size_t i = 0; i < s->ndev; i++) {
        size_t n = kf__sim_settle(&s->devs[i].gen, now, s->buf, SIM_GEN_CAP);
        for (size_t k = 0; k < n; k++)
            sim_submit_one(s, &s->devs[i], &s->buf[k]);
    }
    s->drain_deadline_ms = now + (int64_t)(s->drain_deadline_ms);
    kf_info("generation stopped: %" PRIu64 " txns generated; draining", s->txns);
}

static void sim_tick_cb(uv_timer_t *t)
{
    struct sim *s = t->data;
    int64_t now = kf_now_ms();

    for (size_t i = 0; i < s->ndev; i++) {
        struct sim_dev *d = &s->devs[i];
        size_t n = kf__sim_generate(&d->gen, &s->cat, d->last_ms, now, s->pattern_off_ms,
                                    s->activity, s->buf, SIM_GEN_CAP);
        for (size_t k = 0; k < n; k++)
            sim_submit_one(s, d, &s->buf[k]);
        d->last_ms = now;
    }
    if (now >= s->live_end_ms)
        sim_stop_generating(s);
}

static void sim_totals(struct sim *s, uint64_t *acked, uint64_t *outstanding, size_t *online)
{
    struct kf_agent_stats st;
    *acked = *outstanding = 0;
    *online = 0;
    for (size_t i = 0; i < s->ndev; i++) {
        if (kf_agent_stats(s->devs[i].agent, &st) < 0)
            continue;
        *acked += st.outbox.acked_seq - s->devs[i].acked_start;
        *outstanding += st.outbox.records;
        *online += st.online ? 1 : 0;
    }
}

static void sim_flush_cb(uv_timer_t *t)
{
    struct sim *s = t->data;
    uint64_t now = uv_now(&s->loop);

    if (now - s->last_report_ms >= 10000) {
        uint64_t acked, outstanding;
        size_t online;
        s->last_report_ms = now;
        sim_totals(s, &acked, &outstanding, &online);
        kf_info("%zu/%zu online, %" PRIu64 " txns generated, %" PRIu64 " acked, %" PRIu64
                " outstanding, %" PRIu64 " refused",
                online, s->ndev, s->txns, acked, outstanding, s->refused);
    }
}

static void sim_drain_cb(uv_timer_t *t)
{
    struct sim *s = t->data;
    uint64_t acked, outstanding;
    size_t online;

    if (s->phase != PH_DRAIN)
        return;
    sim_totals(s, &acked, &outstanding, &online);
    if (outstanding == 0) {
        s->drained = 1;
        sim_finish(s);
    } else if (kf_now_ms() >= s->drain_deadline_ms) {
        kf_warn("drain timeout: %" PRIu64 " records still outstanding", outstanding);
        sim_finish(s);
    }
}

static void sim_signal_cb(uv_signal_t *h, int signum)
{
    struct sim *s = h->data;
    kf_notice("signal %d", signum);
    if (++s->signals == 1 && s->phase == PH_LIVE) {
        sim_stop_generating(s);
        return;
    }
    if (s->phase != PH_CLOSING)
        sim_finish(s); /* a second signal: exit at once, whatever is outstanding */
}

static void sim_agent_closed(void *ud)
{
    struct sim *s = ud;
    if (--s->closing > 0)
        return;
    uv_close((uv_handle_t *)&s->tick, NULL);
    uv_close((uv_handle_t *)&s->flush, NULL);
    uv_close((uv_handle_t *)&s->drain, NULL);
    uv_close((uv_handle_t *)&s->starter, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
}

static void sim_finish(struct sim *s)
{
    uint64_t acked, outstanding;
    size_t online;

    if (s->phase == PH_CLOSING)
        return;
    if (s->phase == PH_LIVE)
        sim_stop_generating(s);
    s->phase = PH_CLOSING;
    /* Every timer that reads the agents: they are freed one by one as their links close,
     * and the report timer firing between two of them read a freed one (ASan, it_exactly_once). */
    uv_timer_stop(&s->tick);
    uv_timer_stop(&s->drain);
    uv_timer_stop(&s->flush);
    uv_timer_stop(&s->starter);
    sim_totals(s, &acked, &outstanding, &online);
    if (s->ledger)
        fflush(s->ledger);
    printf("kiosk-sim: devices %zu, txns generated %" PRIu64 ", records acked %" PRIu64
           ", outstanding %" PRIu64 ", refused %" PRIu64 ", %s\n",
           s->ndev, s->txns, acked, outstanding, s->refused,
           s->drained ? "drained" : "NOT drained");
    fflush(stdout);
    s->closing = s->ndev + 1;
    for (size_t i = 0; i < s->ndev; i++)
        kf_agent_close(s->devs[i].agent, sim_agent_closed, s);
    sim_agent_closed(s);
}

/* ---- setup ---- */

static int split_csv(char *line, char **cols, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        cols[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

/* ---- a plausible, varied inventory (docs/SIMULATOR.md "Inventory") ----
 * Drawn from the device id and the seed, so a fleet says the same on every run: most
 * terminals on the current agent, some a release behind, a few on the next; two builds of
 * the kiosk application; peripherals by kind, with a firmware or two each. */

static uint32_t sim_hash(uint64_t seed, const char *id, uint32_t salt)
{
    uint32_t h = 2166136261u ^ salt ^ (uint32_t)seed ^ (uint32_t)(seed >> 32);

    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    return h ^ (h >> 15);
}

static const char *sim_agent_name(uint64_t seed, const char *id)
{
    uint32_t p = sim_hash(seed, id, 1) % 100;

    return p < 20 ? "kiosk-sim/1.2.4" : p < 90 ? "kiosk-sim/1.3.0" : "kiosk-sim/1.3.1";
}

static void sim_inventory(struct kf_agent *agent, uint64_t seed, const char *id, int itm)
{
    static const struct kf_inv_periph kiosk[] = {
        {"screen", "Hikvision DS-D5022 22in touch", "2.1.0"},
        {"id_card_reader", "Huashi CVR-100U", "3.2"},
        {"receipt_printer", "EPSON TM-T88VI", "30.11"},
        {"a4_printer", "HP LaserJet Pro M404", "002.2040A"},
        {"camera", "Logitech C920", "3.0"},
        {"scanner", "Honeywell 7580g", "BJ00-1"},
    };
    static const struct kf_inv_periph itm_p[] = {
        {"screen", "GRG 19in touch", "1.8"},
        {"card_reader", "Sankyo ICT3Q8", "5.10"},
        {"id_card_reader", "Huashi CVR-100U", "3.2"},
        {"pin_pad", "GRG EPP-003", "2.4"},
        {"receipt_printer", "Nantian PR2E", "1.07"},
        {"camera", "GRG CAM-200", "1.1"},
        {"cash_in", "GRG CRM9250 acceptor", "7.3.2"},
        {"cash_out", "GRG CRM9250 dispenser", "7.3.2"},
    };
    struct kf_inv_periph p[KF_INV_PERIPH_MAX];
    const struct kf_inv_periph *set = itm ? itm_p : kiosk;
    uint32_t n = itm ? 8 : 6, h = sim_hash(seed, id, 2);
    struct kf_inventory host;

    memset(&host, 0, sizeof(host));
    snprintf(host.os, sizeof(host.os), "%s", h % 10 < 7 ? "Debian GNU/Linux" : "Kylin");
    snprintf(host.os_version, sizeof(host.os_version), "%s", h % 10 < 7 ? "12" : "V10");
    snprintf(host.kernel, sizeof(host.kernel), "%s",
             h % 10 < 4   ? "6.1.0-18-amd64"
             : h % 10 < 7 ? "6.1.0-21-amd64"
                          : "4.19.90-52.22.v2207.ky10.x86_64");
    snprintf(host.cpu, sizeof(host.cpu), "%s",
             itm ? "Intel(R) Core(TM) i5-8500T CPU @ 2.10GHz"
                 : "Intel(R) Celeron(R) J4125 CPU @ 2.00GHz");
    host.cores = itm ? 6 : 4;
    host.mem_mb = (h >> 4) % 3 == 0 ? 8 * 1024 - 245 : 4 * 1024 - 190;
    host.disk_gb = (h >> 6) % 2 ? 238 : 119;
    host.disk_free_gb = host.disk_gb / 2 + (h >> 8) % 20;
    (void)kf_agent_inventory_host(agent, &host);
    memcpy(p, set, n * sizeof(*p));
    for (uint32_t i = 0; i < n; i++)
        if ((sim_hash(seed, id, 10 + i) % 4) == 0) /* a quarter on a newer firmware */
            snprintf(p[i].fw + strlen(p[i].fw), sizeof(p[i].fw) - strlen(p[i].fw), ".1");
    (void)kf_agent_inventory_app(agent, itm ? "itm-gov" : "gov-kiosk",
                                 (h >> 10) % 3 == 0 ? "2.4.1" : "2.5.0", p, n);
}

static int join_path(char *out, size_t cap, const char *dir, const char *rel)
{
    int n = rel[0] == '/' ? snprintf(out, cap, "%s", rel) : snprintf(out, cap, "%s/%s", dir, rel);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int sim_load_fleet(struct sim *s, const struct sim_args *a)
{
    char dir[PATH_MAX], line[2048], path[PATH_MAX], err[512];
    struct kf_agent_config *cfg = NULL;
    size_t cap = 1, lineno = 0;
    FILE *f;
    int rc = 0;

    const char *slash = strrchr(a->fleet, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - a->fleet) : 1, slash ? a->fleet : ".");
    f = fopen(a->fleet, "r");
    if (!f) {
        kf_err("%s: %s", a->fleet, strerror(errno));
        return -errno;
    }
    /* Size the device array once: each agent keeps a pointer to its sim_dev (health_ud),
     * so the array must never move. */
    while (fgets(line, sizeof(line), f))
        cap++;
    rewind(f);
    s->devs = calloc(cap, sizeof(*s->devs));
    cfg = malloc(sizeof(*cfg));
    if (!s->devs || !cfg) {
        rc = -ENOMEM;
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        char *col[8];
        uint8_t sk[64];
        struct kf_agent_opts ao;
        int nc;

        lineno++;
        nc = split_csv(line, col, 8);
        if (lineno == 1) {
            if (nc < 6 || strcmp(col[0], "device_id") != 0 || strcmp(col[5], "ini_file") != 0) {
                kf_err("%s:1: header must be device_id,asset_id,kind,zone_id,key_file,ini_file",
                       a->fleet);
                rc = -EINVAL;
                goto out;
            }
            continue;
        }
        if (nc == 1 && col[0][0] == '\0')
            continue;
        if (nc < 6) {
            kf_err("%s:%zu: expected 6 columns", a->fleet, lineno);
            rc = -EINVAL;
            goto out;
        }
        if (a->limit && s->ndev >= a->limit)
            break;
        if (s->ndev == cap) /* the file grew while we read it */
            break;
        if ((rc = join_path(path, sizeof(path), dir, col[5])) < 0)
            goto out;
        rc = kf_agent_config_load(path, cfg, err, sizeof(err));
        if (rc < 0) {
            kf_err("%s", err);
            goto out;
        }
        /* The csv names the key file; the ini's own key_file is the same file on a real
         * terminal. The csv wins so a fleet directory can be moved as a whole. */
        if ((rc = join_path(path, sizeof(path), dir, col[4])) < 0)
            goto out;
        rc = kf_keyfile_read(path, sk);
        if (rc < 0) {
            kf_err("%s: %s", path, kf_strerror(rc));
            goto out;
        }
        struct sim_dev *d = &s->devs[s->ndev];
        d->sim = s;
        snprintf(d->id, sizeof(d->id), "%s", cfg->device_id);
        kf__sim_gen_init(&d->gen, a->seed, d->id, strcmp(col[2], "itm") == 0,
                         kf__sim_zone_find(&s->cat, col[3]), s->start_ms);
        memset(&ao, 0, sizeof(ao));
        ao.uri = a->broker;
        ao.agent_name = sim_agent_name(a->seed, d->id);
        ao.zctx = s->zctx;
        ao.health_cb = sim_health_cb;
        ao.health_ud = d;
        ao.health_interval_s = a->health_interval_s;
        ao.seed = a->seed * 1000003u + s->ndev + 1;
        ao.outbox_process_durable = 1; /* docs/SIMULATOR.md, "Scale" */
        rc = kf_agent_new(&s->loop, cfg, sk, &ao, &d->agent);
        sodium_memzero(sk, sizeof(sk));
        if (rc < 0) {
            kf_err("%s: agent (outbox %s): %s", d->id, cfg->outbox_path, kf_strerror(rc));
            goto out;
        }
        sim_inventory(d->agent, a->seed, d->id, strcmp(col[2], "itm") == 0);
        s->ndev++;
    }
    if (s->ndev == 0) {
        kf_err("%s: no devices", a->fleet);
        rc = -EINVAL;
    }
out:
    if (cfg) {
        sodium_memzero(cfg, sizeof(*cfg));
        free(cfg);
    }
    fclose(f);
    return rc;
}

/* Each terminal holds three file descriptors (the outbox and its WAL, the MQTT socket):
 * raise the soft limit to the hard one and, where the process may (root), the hard one to
 * the kernel's ceiling (fs.nr_open), so the fleet's size is bounded by memory, not by a
 * default limit of a few thousand descriptors. Logged: the fleet a run can hold. */
static void raise_nofile(void)
{
    struct rlimit rl;
    unsigned long long nr_open = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");

    if (f != NULL) {
        if (fscanf(f, "%llu", &nr_open) != 1)
            nr_open = 0;
        fclose(f);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (nr_open > rl.rlim_max) {
        struct rlimit up = {.rlim_cur = (rlim_t)nr_open, .rlim_max = (rlim_t)nr_open};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        kf_info("open files: up to %llu (about %llu terminals at 3 each)",
                (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_cur / 3);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: kiosk-sim --fleet DIR/fleet.csv --duration SECONDS [options]\n"
        "  --catalog FILE         deployment JSON with the service items (default: built-in list)\n"
        "  --broker URI           overrides each ini's [mqtt] uri\n"
        "  --activity X           txn rate multiplier (default 1)\n"
        "  --ledger FILE          CSV of every txn taken by an outbox\n"
        "  --backfill-days D      D days of history before going live\n"
        "  --seed N               random seed (default 1)\n"
        "  --drain-timeout S      wait for the acks at most S seconds (default 60)\n"
        "  --health-interval S    health sample interval (default: each ini's)\n"
        "  --limit N              only the first N devices\n"
        "  --start-rate N         start N terminals a second (default: all at once)\n"
        "  --clock busy|real      daily pattern clock (default busy: starts at 10:00 on a\n"
        "                         weekday; real: the local time now)\n"
        "exit: 0 drained, 3 not drained in time, 1 error, 2 usage\n");
}

static int parse_num(const char *s, double lo, double hi, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -EINVAL;
    *ret = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    static const struct option lo[] = {
        {"fleet", required_argument, NULL, 'f'},
        {"broker", required_argument, NULL, 'b'},
        {"duration", required_argument, NULL, 'd'},
        {"activity", required_argument, NULL, 'a'},
        {"ledger", required_argument, NULL, 'l'},
        {"backfill-days", required_argument, NULL, 'B'},
        {"seed", required_argument, NULL, 's'},
        {"drain-timeout", required_argument, NULL, 'D'},
        {"health-interval", required_argument, NULL, 'H'},
        {"limit", required_argument, NULL, 'n'},
        {"start-rate", required_argument, NULL, 'r'},
        {"catalog", required_argument, NULL, 'c'},
        {"clock", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt, have_duration = 0;
    double v;

    memset(a, 0, sizeof(*a));
    a->activity = 1;
    a->drain_timeout_s = 60;
    a->seed = 1;
    a->clock = "busy";
    while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (opt) {
        case 'f':
            a->fleet = optarg;
            break;
        case 'b':
            a->broker = optarg;
            break;
        case 'l':
            a->ledger = optarg;
            break;
        case 'c':
            a->catalog = optarg;
            break;
        case 'C':
            if (strcmp(optarg, "busy") != 0 && strcmp(optarg, "real") != 0)
                return -EINVAL;
            a->clock = optarg;
            break;
        case 'd':
            if (parse_num(optarg, 0, 1e7, &a->duration_s) < 0)
                return -EINVAL;
            have_duration = 1;
            break;
        case 'a':
            if (parse_num(optarg, 0, 1e6, &a->activity) < 0)
                return -EINVAL;
            break;
        case 'B':
            if (parse_num(optarg, 0, 62, &v) < 0)
                return -EINVAL;
            a->backfill_days = (uint32_t)v;
            break;
        case 's':
            if (parse_num(optarg, 0, 1e15, &v) < 0)
                return -EINVAL;
            a->seed = (uint64_t)v;
            break;
        case 'D':
            if (parse_num(optarg, 0, 1e6, &a->drain_timeout_s) < 0)
                return -EINVAL;
            break;
        case 'H':
            if (parse_num(optarg, 1, 86400, &v) < 0)
                return -EINVAL;
            a->health_interval_s = (uint32_t)v;
            break;
        case 'r':
            if (parse_num(optarg, 0, 1e6, &a->start_rate) < 0)
                return -EINVAL;
            break;
        case 'n':
            if (parse_num(optarg, 1, 1e7, &v) < 0)
                return -EINVAL;
            a->limit = (size_t)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -EINVAL;
        }
    }
    if (!a->fleet || !have_duration || optind != argc)
        return -EINVAL;
    return 0;
}

int main(int argc, char **argv)
{
    static struct sim s;
    struct sim_args a;
    char err[512];
    int rc, ret = 1;

    kf_log_set_ident("kiosk-sim");
    if (parse_args(argc, argv, &a) < 0) {
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        kf_err("sodium_init failed");
        return 1;
    }
    kf_mqtt_global_init();
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    rc = kf__sim_catalog_load(&s.cat, a.catalog, err, sizeof(err));
    if (rc < 0) {
        kf_err("%s", err);
        return 1;
    }
    s.buf = calloc(SIM_GEN_CAP, sizeof(*s.buf));
    if (!s.buf || uv_loop_init(&s.loop) < 0 || kf_zctx_new(3, &s.zctx) < 0) {
        kf_err("out of memory");
        return 1;
    }
    s.activity = a.activity;
    s.start_ms = kf_now_ms();
    s.pattern_off_ms = strcmp(a.clock, "busy") == 0 ? SIM_BUSY_REF_MS - s.start_ms : 0;
    if (a.ledger) {
        s.ledger = fopen(a.ledger, "w");
        if (!s.ledger) {
            kf_err("%s: %s", a.ledger, strerror(errno));
            goto out_loop;
        }
        /* Big enough for a backfilled day of one device's txns: written out per append. */
        setvbuf(s.ledger, NULL, _IOFBF, 1 << 20);
        fprintf(s.ledger, "device_id,seq,type,item,outcome,ts_ms\n");
        ledger_sync(&s);
    }
    rc = sim_load_fleet(&s, &a);
    if (rc < 0) {
        for (size_t i = 0; i < s.ndev; i++)
            kf_agent_close(s.devs[i].agent, NULL, NULL);
        uv_run(&s.loop, UV_RUN_DEFAULT);
        goto out_ledger;
    }
    for (size_t i = 0; i < s.ndev; i++) {
        struct kf_agent_stats st;
        if (a.backfill_days && (rc = sim_backfill(&s, &s.devs[i], a.backfill_days, s.start_ms)) < 0)
            kf_warn("%s: backfill: %s", s.devs[i].id, kf_strerror(rc));
        if (kf_agent_stats(s.devs[i].agent, &st) == 0)
            s.devs[i].acked_start = st.outbox.acked_seq;
    }
    if (a.backfill_days)
        kf_info("backfill: %zu devices, %u days, %" PRIu64 " txns", s.ndev, a.backfill_days,
                s.txns);
    s.start_ms = kf_now_ms();
    s.live_end_ms = s.start_ms + (int64_t)(a.duration_s * 1000);
    s.drain_deadline_ms = (int64_t)(a.drain_timeout_s * 1000); /* relative until drain starts */
    for (size_t i = 0; i < s.ndev; i++)
        s.devs[i].last_ms = s.start_ms;
    uv_timer_init(&s.loop, &s.tick);
    uv_timer_init(&s.loop, &s.flush);
    uv_timer_init(&s.loop, &s.drain);
    uv_timer_init(&s.loop, &s.starter);
    s.starter.data = &s;
    s.start_rate = a.start_rate;
    sim_start_agents(&s);
    if (s.started < s.ndev)
        uv_timer_start(&s.starter, sim_starter_cb, 100, 100);
    uv_signal_init(&s.loop, &s.sigterm);
    uv_signal_init(&s.loop, &s.sigint);
    s.tick.data = s.flush.data = s.drain.data = s.sigterm.data = s.sigint.data = &s;
    uv_timer_start(&s.tick, sim_tick_cb, SIM_TICK_MS, SIM_TICK_MS);
    uv_timer_start(&s.flush, sim_flush_cb, 1000, 1000);
    uv_timer_start(&s.drain, sim_drain_cb, 250, 250);
    uv_signal_start(&s.sigterm, sim_signal_cb, SIGTERM);
    uv_signal_start(&s.sigint, sim_signal_cb, SIGINT);
    kf_info("%zu devices live for %.0f s at activity %g (%s clock)", s.ndev, a.duration_s,
            a.activity, a.clock);
    if (a.duration_s <= 0)
        sim_stop_generating(&s);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    ret = s.drained ? 0 : 3;

out_ledger:
    if (s.ledger && fclose(s.ledger) != 0) {
        kf_err("%s: %s", a.ledger, strerror(errno));
        ret = 1;
    }
out_loop:
    if (uv_loop_close(&s.loop) != 0) {
        kf_err("uv_loop_close: handles still open");
        ret = 1;
    }
    kf_zctx_free(s.zctx);
    kf__sim_catalog_free(&s.cat);
    free(s.devs);
    free(s.buf);
    return ret;
}
