/* kf-usage-gen: a city's year of transactions, written into a fresh store through the ingest's
 * own commit (bench/usage-scale/README.md).
 *
 *   kf-usage-gen --db PATH [--terminals 2000] [--txns 70000000] [--from 2026-01-01]
 *                [--to 2026-12-31] [--seed 2026] [--quiet-zones 4] [--batch-min 20]
 *                [--batch-max 50] [--commit-frames 2000] [--fixtures FILE] [--calendar FILE]
 *
 * The store is created with the deployment fixtures, then --terminals terminals are
 * registered over the zones' planned kiosk and ITM positions, round robin over the units (as
 * kiosk-provision fleet places them), each with an Ed25519 key derived from the seed and its
 * id. For every terminal and local day, a count of transactions is drawn (Poisson) around a
 * mean that follows the zone's activity (busy and quiet zones, --quiet-zones with none at
 * all), the terminal, the kind of day (working day, make-up working day, weekend, public
 * holiday: fixtures/calendar), the month, and the terminal's service hours that day (a kiosk
 * keeps its zone's hours, closed on public holidays; an ITM in a 24-hour lobby serves every
 * day); the means are scaled so that the expected total is --txns. Each transaction gets a
 * time inside those hours (busier mid-morning and mid-afternoon), an item of the catalog
 * (by its weight, with each family's season; cash items on ITMs only), an outcome (ok,
 * failed, abandoned) and a duration. A terminal's records go out as the agent sends them:
 * RECORDS frames of batch-min to batch-max records, or fewer at the close of its service
 * day, compressed with the v1 dictionary and signed with the terminal's key. The frames go
 * through kf_store_ingest_commit, --commit-frames at a time: records, envelopes (the signed
 * frames as received), usage and every other table the ingest writes are what kioskd would
 * have written. Only the connection is set for bulk loading (synchronous off, an in-memory
 * rollback journal); the store is left in WAL mode at the end.
 *
 * Deterministic: the same arguments give the same frames, byte for byte (each terminal-day
 * draws from its own generator, seeded from --seed, the terminal and the day). The receipt
 * and device times are the generated ones; only commit_ms (the server's wall clock at each
 * commit) and the registration times are not.
 *
 * Progress on stderr, one JSON object on stdout (counts and the time each stage took).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/record.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "../bench_util.h"
#include "rules/calendar.h"
#include "rules/holidays.h"
#include "store/ingest.h"
#include "store/registry.h"
#include "store/store.h"
#include "store/sqlite/int.h" /* the connection, for the bulk-loading pragmas */

#define MAX_BATCH 200      /* records in one generated frame */
#define FRAME_CAP 16384    /* bytes of one generated frame (50 records are ~2 KB) */
#define MAX_TXNS_DAY 20000 /* one terminal's transactions on one day */
#define NFAM 8             /* fixtures' service families */
#define UNIT_KINDS 3       /* district, city, county */

struct item {
    char code[KF_ITEM_CODE_MAX + 1];
    int fam;      /* index in fam_codes */
    int weight;   /* the catalog's popularity */
    int itm_only; /* needs cash_in or cash_out */
    double dur_s; /* median duration of a completed transaction */
    double fail, abandon;
};

struct zone {
    char id[KF_ZONE_ID_MAX + 1];
    char unit[8];
    int unit_kind; /* 0 district, 1 county-level city, 2 county */
    int kiosks, itms;
    char *weekday, *weekend, *itm_hours; /* owned; NULL: closed / none */
    double factor;                       /* activity; 0: a zone with no transactions */
};

struct term {
    char device_id[KF_DEVICE_ID_MAX + 1];
    char asset_id[KF_ASSET_ID_MAX + 1];
    char topic[KF_TOPIC_MAX + 1];
    size_t zone;
    int kind;        /* enum kf_device_kind */
    double factor;   /* this terminal against its zone's others */
    double flaky;    /* failure multiplier */
    int64_t skew_ms; /* server time - device time, as measured by the agent */
    uint64_t next_seq;
    struct kf_week week;
    uint8_t sk[64];
};

struct frame {
    struct kf_ingest in;
    struct kf_record recs[MAX_BATCH];
    uint8_t raw[FRAME_CAP];
};

struct opts {
    const char *db, *fixtures, *calendar, *seed;
    uint64_t terminals, txns, quiet_zones, batch_min, batch_max, commit_frames;
    int32_t from, to;
};

static const char *const fam_codes[NFAM] = {"HF", "SS", "HR", "MI", "PS", "RE", "HE", "CA"};

/* Each family's season, by month (1.0: its usual share). Medical insurance: the residents'
 * yearly contribution is collected from September to December; social security: the
 * pensioners' yearly certification early in the year; human resources: graduates in summer. */
static const double fam_season[NFAM][12] = {
    {1, 1, 1, 1, 1, 1, 1.1, 1.1, 1, 1, 1, 1},                     /* HF */
    {1.3, 1.2, 1.3, 1.1, 1, 1, 1, 1, 1, 1, 1, 1},                 /* SS */
    {1, 0.9, 1.1, 1, 1, 1.3, 1.4, 1.3, 1, 1, 1, 0.9},             /* HR */
    {0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.5, 1.7, 1.8, 1.9}, /* MI */
    {1, 1.2, 1, 1, 1, 1, 1.2, 1.2, 1, 1, 1, 1},                   /* PS */
    {1, 0.8, 1.1, 1.1, 1.1, 1, 1, 1, 1.1, 1, 1, 1},               /* RE */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},                         /* HE */
    {1.2, 1.3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.1},                   /* CA */
};
/* Which families the three kinds of unit lean to (urban districts: housing and property;
 * counties: medical insurance and civil affairs). */
static const double fam_unit[UNIT_KINDS][NFAM] = {
    {1.2, 1, 1.1, 0.9, 1, 1.2, 1, 0.8},
    {1, 1, 1, 1, 1, 1, 1, 1},
    {0.7, 1.1, 0.9, 1.3, 1, 0.8, 1, 1.3},
};
static const double month_factor[12] = {1.08, 0.85, 1.05, 1.0,  0.95, 1.0,
                                        1.05, 1.0,  1.0,  0.95, 1.0,  1.08};
/* Monday .. Friday of a working week; weekend; public holiday; make-up working day. */
static const double dow_factor[7] = {1.15, 1.05, 1.0, 0.98, 1.02, 0.55, 0.55};
#define HOLIDAY_FACTOR 0.35
#define MAKEUP_FACTOR 0.9
/* When people come, by local hour (a terminal serves only inside its hours). */
static const double hour_profile[24] = {0.03, 0.02, 0.02, 0.02, 0.02, 0.04, 0.1,  0.3,
                                        0.8,  1.4,  1.6,  1.3,  0.7,  0.8,  1.3,  1.4,
                                        1.2,  0.8,  0.6,  0.5,  0.4,  0.3,  0.15, 0.08};
#define DOWN_PER_MILLE 15 /* terminal-days out of service all day (a fault, a move) */

/* ---- Random numbers: a splitmix64 per terminal-day --------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(struct rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(rng_unit(r) * n);
}

static double rng_normal(struct rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);

    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static void rng_seed(struct rng *r, uint64_t a, uint64_t b, uint64_t c)
{
    r->s = a;
    r->s = rng_next(r) ^ b;
    r->s = rng_next(r) ^ c;
    (void)rng_next(r);
}

static uint32_t rng_poisson(struct rng *r, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda < 40) {
        double l = exp(-lambda), p = 1;
        uint32_t k = 0;

        do {
            k++;
            p *= rng_unit(r);
        } while (p > l);
        return k - 1;
    }
    double x = lambda + sqrt(lambda) * rng_normal(r) + 0.5;
    return x < 0 ? 0 : (uint32_t)x;
}

/* ---- The deployment ------------------------------------------------------------------- */

static char *dup_or_null(const json_t *v)
{
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int fam_index(const char *code)
{
    for (int f = 0; f < NFAM; f++)
        if (strcmp(fam_codes[f], code) == 0)
            return f;
    return -1;
}

/* Items and zones of the fixtures file. Durations, failure and abandonment rates are derived
 * from what an item needs: a query is quick, an application with documents scanned is not. */
static int load_deployment(const char *path, uint64_t seed, struct item **ret_items, size_t *ret_ni,
                           struct zone **ret_zones, size_t *ret_nz)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err), *v;
    struct item *items = NULL;
    struct zone *zones = NULL;
    size_t ni = 0, nz = 0, i;
    struct rng g;

    if (!root) {
        fprintf(stderr, "kf-usage-gen: %s:%d: %s\n", path, err.line, err.text);
        return -EINVAL;
    }
    rng_seed(&g, seed, 0x17e45, 0);
    items = calloc(json_array_size(json_object_get(root, "items")) + 1, sizeof(*items));
    zones = calloc(json_array_size(json_object_get(root, "zones")) + 1, sizeof(*zones));
    if (!items || !zones)
        goto out_fail;
    json_array_foreach(json_object_get(root, "items"), i, v)
    {
        struct item *it = &items[ni];
        const json_t *needs = json_object_get(v, "needs"), *n;
        size_t k;

        snprintf(it->code, sizeof(it->code), "%s", json_string_value(json_object_get(v, "code")));
        it->fam = fam_index(json_string_value(json_object_get(v, "family")));
        it->weight = (int)json_integer_value(json_object_get(v, "weight"));
        if (it->fam < 0 || it->weight <= 0)
            goto out_fail;
        it->dur_s = 25;
        json_array_foreach(needs, k, n)
        {
            const char *p = json_string_value(n);

            it->itm_only |= strcmp(p, "cash_in") == 0 || strcmp(p, "cash_out") == 0;
            it->dur_s += strcmp(p, "scanner") == 0      ? 120
                         : strcmp(p, "camera") == 0     ? 40
                         : strcmp(p, "a4_printer") == 0 ? 35
                                                        : 10;
        }
        it->dur_s *= 0.8 + 0.4 * rng_unit(&g);
        it->fail = 0.015 + 0.004 * (double)json_array_size(needs) + 0.01 * rng_unit(&g);
        it->abandon = 0.03 + 0.0003 * it->dur_s + 0.02 * rng_unit(&g);
        ni++;
    }
    json_array_foreach(json_object_get(root, "zones"), i, v)
    {
        struct zone *z = &zones[nz];
        const json_t *hours = json_object_get(v, "hours");
        const char *unit = json_string_value(json_object_get(v, "unit"));
        const json_t *u;
        size_t k;

        snprintf(z->id, sizeof(z->id), "%s", json_string_value(json_object_get(v, "id")));
        snprintf(z->unit, sizeof(z->unit), "%s", unit ? unit : "");
        z->kiosks = (int)json_integer_value(json_object_get(v, "kiosks"));
        z->itms = (int)json_integer_value(json_object_get(v, "itms"));
        z->weekday = dup_or_null(json_object_get(hours, "weekday"));
        z->weekend = dup_or_null(json_object_get(hours, "weekend"));
        z->itm_hours = dup_or_null(json_object_get(v, "itm_hours"));
        z->unit_kind = 1;
        json_array_foreach(json_object_get(root, "units"), k, u)
        {
            const char *kind = json_string_value(json_object_get(u, "kind"));

            if (unit && kind && strcmp(json_string_value(json_object_get(u, "code")), unit) == 0)
                z->unit_kind = strcmp(kind, "district") == 0 ? 0
                               : strcmp(kind, "city") == 0   ? 1
                                                             : 2;
        }
        nz++;
    }
    json_decref(root);
    if (ni == 0 || nz == 0) {
        free(items);
        free(zones);
        return -EINVAL;
    }
    *ret_items = items;
    *ret_ni = ni;
    *ret_zones = zones;
    *ret_nz = nz;
    return 0;

out_fail:
    fprintf(stderr, "kf-usage-gen: %s: an item or zone the generator cannot read\n", path);
    json_decref(root);
    free(items);
    free(zones);
    return -EINVAL;
}

/* Busy and quiet zones: a zone's activity is log-normal around its unit kind's level (urban
 * districts busiest, counties least), and quiet zones (the seed picks them) have none. */
static void zones_activity(struct zone *zones, size_t nz, uint64_t seed, uint64_t quiet)
{
    static const double unit_level[UNIT_KINDS] = {1.25, 1.0, 0.75};
    struct rng g;

    rng_seed(&g, seed, 0x20e5, 0);
    for (size_t z = 0; z < nz; z++)
        zones[z].factor = unit_level[zones[z].unit_kind] * exp(0.6 * rng_normal(&g) - 0.18);
    for (uint64_t q = 0; q < quiet && q < nz; q++) {
        size_t z = rng_below(&g, (uint32_t)nz);

        while (zones[z].factor == 0)
            z = (z + 1) % nz;
        zones[z].factor = 0;
    }
}

/* ---- Terminals ------------------------------------------------------------------------ */

struct slot {
    size_t zone;
    int kind;
};

/* The zones' planned positions (kiosks first, then ITMs, zone by zone), interleaved round
 * robin over the units so that any prefix represents every unit, as kiosk-provision fleet
 * does. */
static struct slot *plan_slots(const struct zone *zones, size_t nz, size_t *ret_n)
{
    size_t total = 0, n = 0, *cur, *pos;
    struct slot *slots;

    for (size_t z = 0; z < nz; z++)
        total += (size_t)(zones[z].kiosks + zones[z].itms);
    slots = calloc(total + 1, sizeof(*slots));
    cur = calloc(nz + 1, sizeof(*cur)); /* per zone: the next zone of its unit to take from */
    pos = calloc(nz + 1, sizeof(*pos)); /* per zone: positions taken */
    if (!slots || !cur || !pos) {
        free(slots);
        free(cur);
        free(pos);
        return NULL;
    }
    /* Units in order of first appearance; cur[u] walks that unit's zones. */
    size_t units[64], nu = 0;
    for (size_t z = 0; z < nz; z++) {
        size_t u = 0;

        while (u < nu && strcmp(zones[units[u]].unit, zones[z].unit) != 0)
            u++;
        if (u == nu && nu < 64) {
            units[nu] = z;
            cur[nu] = z;
            nu++;
        }
    }
    while (n < total) {
        for (size_t u = 0; u < nu && n < total; u++) {
            size_t z = cur[u];

            while (z < nz && (strcmp(zones[z].unit, zones[units[u]].unit) != 0 ||
                              pos[z] >= (size_t)(zones[z].kiosks + zones[z].itms)))
                z++;
            cur[u] = z;
            if (z == nz)
                continue;
            slots[n].zone = z;
            slots[n].kind = pos[z] < (size_t)zones[z].kiosks ? KF_KIND_KIOSK : KF_KIND_ITM;
            pos[z]++;
            n++;
        }
    }
    free(cur);
    free(pos);
    *ret_n = n;
    return slots;
}

static int register_terminals(struct kf_store *st, const struct opts *o, const struct zone *zones,
                              size_t nz, struct term *terms)
{
    size_t nslots = 0, per_unit[64] = {0};
    char units[64][8];
    size_t nu = 0;
    struct slot *slots = plan_slots(zones, nz, &nslots);
    int r;

    if (!slots || nslots == 0) {
        free(slots);
        fprintf(stderr, "kf-usage-gen: no planned terminal positions in the fixtures\n");
        return -EINVAL;
    }
    r = kf_store_begin(st);
    for (uint64_t i = 0; r == 0 && i < o->terminals; i++) {
        const struct slot *sl = &slots[i % nslots];
        const struct zone *z = &zones[sl->zone];
        struct term *t = &terms[i];
        struct kf_device_reg reg = {0};
        uint8_t kseed[crypto_sign_SEEDBYTES];
        crypto_generichash_state h;
        char lease[48];
        size_t u = 0;
        struct rng g;

        while (u < nu && strcmp(units[u], z->unit) != 0)
            u++;
        if (u == nu) {
            snprintf(units[nu++], sizeof(units[0]), "%s", z->unit);
        }
        snprintf(t->device_id, sizeof(t->device_id), "KF-%s-%04zu", z->unit, ++per_unit[u]);
        snprintf(t->asset_id, sizeof(t->asset_id), "A-%06llu", (unsigned long long)i + 1);
        snprintf(lease, sizeof(lease), "L-%s", t->asset_id);
        t->zone = sl->zone;
        t->kind = sl->kind;
        t->next_seq = 1;
        rng_seed(&g, strtoull(o->seed, NULL, 10), 0x7e4a, i);
        t->factor = exp(0.25 * rng_normal(&g) - 0.03) * (t->kind == KF_KIND_ITM ? 0.7 : 1.0);
        t->flaky = rng_below(&g, 20) == 0 ? 3.0 : 1.0;
        t->skew_ms = (int64_t)rng_below(&g, 1601) - 800;
        r = kf_calendar_week_for_terminal(z->weekday, z->weekend, z->itm_hours,
                                          t->kind == KF_KIND_ITM, &t->week);
        if (r == 0)
            r = kf_topic_format(t->topic, sizeof(t->topic), t->device_id, KF_TOPIC_EVENTS);
        /* Reproducible keys, as kiosk-provision fleet --seed derives them. */
        crypto_generichash_init(&h, NULL, 0, sizeof(kseed));
        crypto_generichash_update(&h, (const uint8_t *)o->seed, strlen(o->seed));
        crypto_generichash_update(&h, (const uint8_t *)t->device_id, strlen(t->device_id));
        crypto_generichash_final(&h, kseed, sizeof(kseed));
        crypto_sign_seed_keypair(reg.pk, t->sk, kseed);
        reg.device_id = t->device_id;
        reg.asset_id = t->asset_id;
        reg.kind = t->kind;
        reg.zone_id = z->id;
        reg.lease_ref = t->kind == KF_KIND_KIOSK ? lease : NULL;
        if (r == 0)
            r = kf_store_register_device(st, &reg);
    }
    free(slots);
    if (r < 0) {
        fprintf(stderr, "kf-usage-gen: registering terminals: %s %s\n", strerror(-r),
                kf_store_errmsg(st));
        kf_store_end(st, 0);
        return r;
    }
    return kf_store_end(st, 1);
}

/* ---- One terminal's day --------------------------------------------------------------- */

/* The hours a terminal serves on a day, and how busy each hour would be. */
static const struct kf_dayspec *day_spec(const struct term *t, const struct kf_holidays *hol,
                                         int32_t day)
{
    enum kf_datekind k = kf_holidays_kind(hol, day);

    if (k == KF_DATE_HOLIDAY)
        return &t->week.day[KF_DAY_HOLIDAY];
    if (k == KF_DATE_MAKEUP)
        return &t->week.day[KF_DAY_MAKEUP];
    return &t->week.day[kf_calendar_weekday(day)];
}

/* Open seconds of each hour of the day (open[24]); returns the day's weight: the hour
 * profile over the open part. */
static double day_hours(const struct kf_dayspec *d, double open[24])
{
    double w = 0;

    for (int h = 0; h < 24; h++) {
        int32_t a = h * 3600, b = a + 3600, s = 0;

        for (uint32_t k = 0; k < d->n; k++) {
            int32_t lo = d->slot[k].start_s > a ? d->slot[k].start_s : a;
            int32_t hi = d->slot[k].end_s < b ? d->slot[k].end_s : b;

            s += hi > lo ? hi - lo : 0;
        }
        open[h] = s;
        w += hour_profile[h] * s / 3600.0;
    }
    return w;
}

static double day_factor(const struct kf_holidays *hol, int32_t day, int month)
{
    enum kf_datekind k = kf_holidays_kind(hol, day);
    double f = month_factor[month];

    if (k == KF_DATE_HOLIDAY)
        return f * HOLIDAY_FACTOR;
    if (k == KF_DATE_MAKEUP)
        return f * MAKEUP_FACTOR;
    return f * dow_factor[kf_calendar_weekday(day)];
}

static int month_of(int32_t day)
{
    char buf[16];

    kf_day_format(day, buf, sizeof(buf)); /* "YYYY-MM-DD" */
    return (buf[5] - '0') * 10 + (buf[6] - '0') - 1;
}

/* The expected transactions of a terminal on a day, before the city's scale. */
static double term_day_weight(const struct term *t, const struct zone *z,
                              const struct kf_holidays *hol, int32_t day, int month,
                              double open[24])
{
    double w = day_hours(day_spec(t, hol, day), open);

    return w * z->factor * t->factor * day_factor(hol, day, month);
}

/* Cumulative item weights per (terminal kind, unit kind, month). */
struct mix {
    double cum[2][UNIT_KINDS][12][128];
};

static void mix_build(struct mix *m, const struct item *items, size_t ni)
{
    for (int k = 0; k < 2; k++)
        for (int u = 0; u < UNIT_KINDS; u++)
            for (int mo = 0; mo < 12; mo++) {
                double c = 0;

                for (size_t i = 0; i < ni; i++) {
                    const struct item *it = &items[i];

                    if (!(it->itm_only && k == 0))
                        c += it->weight * fam_season[it->fam][mo] * fam_unit[u][it->fam];
                    m->cum[k][u][mo][i] = c;
                }
            }
}

static size_t mix_pick(const double *cum, size_t ni, struct rng *g)
{
    double x = rng_unit(g) * cum[ni - 1];
    size_t lo = 0, hi = ni - 1;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* ---- Frames and commits --------------------------------------------------------------- */

struct gen {
    struct kf_store *st;
    struct kf_zctx *z;
    struct frame *pool;
    struct kf_ingest **items;
    struct kf_commit_out *out;
    size_t npool, cap;
    uint64_t frames, records, commits;
    double seal_s, commit_s; /* wall seconds in kf_env_seal and in kf_store_ingest_commit */
    char body[MAX_BATCH * (KF_RECORD_JSON_MAX + 1) + 2];
    uint8_t zbuf[FRAME_CAP];
};

static int gen_commit(struct gen *g)
{
    double t0 = kf_bench_now();
    int r;

    if (g->npool == 0)
        return 0;
    for (size_t i = 0; i < g->npool; i++)
        g->items[i] = &g->pool[i].in;
    r = kf_store_ingest_commit(g->st, g->items, g->npool, g->out);
    g->commit_s += kf_bench_now() - t0;
    if (r < 0) {
        fprintf(stderr, "kf-usage-gen: commit: %s %s\n", strerror(-r), kf_store_errmsg(g->st));
        return r;
    }
    for (size_t i = 0; i < g->npool; i++) {
        if (g->out[i].inserted != g->pool[i].in.nrec) {
            fprintf(stderr, "kf-usage-gen: %s seq %llu: %u of %u records inserted\n",
                    g->pool[i].in.hdr.device_id, (unsigned long long)g->pool[i].in.hdr.seq,
                    g->out[i].inserted, g->pool[i].in.nrec);
            return -EPROTO;
        }
    }
    g->commits++;
    g->npool = 0;
    return 0;
}

/* Seal the frame at the pool's end (its records filled) and queue it for the commit. */
static int gen_seal(struct gen *g, struct term *t, uint32_t nrec, int64_t device_ms,
                    int64_t recv_ms)
{
    struct frame *f = &g->pool[g->npool];
    struct kf_ingest *in = &f->in;
    size_t n = 0, rl, zlen;
    uint32_t dict_id;
    double t0;
    int r;

    g->body[n++] = '[';
    for (uint32_t i = 0; i < nrec; i++) {
        if (i > 0)
            g->body[n++] = ',';
        r = kf_record_format(&f->recs[i], g->body + n, sizeof(g->body) - n - 2, &rl);
        if (r < 0)
            return r;
        n += rl;
    }
    g->body[n++] = ']';
    r = kf_zctx_compress(g->z, g->body, n, g->zbuf, sizeof(g->zbuf), &zlen, &dict_id);
    if (r < 0)
        return r;
    memset(&in->hdr, 0, sizeof(in->hdr));
    in->hdr.kind = KF_MSG_RECORDS;
    in->hdr.flags = KF_ENV_F_ZSTD | KF_ENV_F_CLOCK_SYNCED;
    snprintf(in->hdr.device_id, sizeof(in->hdr.device_id), "%s", t->device_id);
    in->hdr.key_epoch = 1;
    in->hdr.dict_id = dict_id;
    in->hdr.seq = t->next_seq;
    in->hdr.count = nrec;
    in->hdr.device_ms = device_ms;
    in->hdr.clock_offset_ms = t->skew_ms;
    t0 = kf_bench_now();
    r = kf_env_seal(&in->hdr, t->topic, g->zbuf, zlen, t->sk, f->raw, sizeof(f->raw), &in->raw_len);
    g->seal_s += kf_bench_now() - t0;
    if (r < 0)
        return r;
    snprintf(in->asset_id, sizeof(in->asset_id), "%s", t->asset_id);
    in->topic = t->topic;
    in->raw = f->raw;
    in->recv_ms = recv_ms;
    in->nrec = nrec;
    in->recs = f->recs;
    in->body_json = NULL;
    in->quarantine_id = 0;
    t->next_seq += nrec;
    g->frames++;
    g->records += nrec;
    if (++g->npool == g->cap)
        return gen_commit(g);
    return 0;
}

/* The second of the day x seconds into the open part of hour h (x < its open seconds). */
static int64_t open_second(const struct kf_dayspec *d, int h, double x)
{
    int32_t a = h * 3600, b = a + 3600;

    for (uint32_t k = 0; k < d->n; k++) {
        int32_t lo = d->slot[k].start_s > a ? d->slot[k].start_s : a;
        int32_t hi = d->slot[k].end_s < b ? d->slot[k].end_s : b;

        if (hi <= lo)
            continue;
        if (x < hi - lo)
            return lo + (int64_t)x;
        x -= hi - lo;
    }
    return a;
}

/* A terminal's day: its transactions in time order, in frames of batch-min..batch-max
 * records, the last one sealed at the close of its service day. */
static int gen_term_day(struct gen *g, const struct opts *o, struct term *t,
                        const struct item *items, size_t ni, const double *cum,
                        const struct kf_dayspec *ds, const double open[24], uint32_t n, int32_t day,
                        struct rng *rg, int64_t *times)
{
    int64_t day0 = kf_day_start_ms(day), close_ms;
    double hcum[24], c = 0;
    uint32_t target = 0, k = 0;

    if (n == 0 || ds->n == 0)
        return 0;
    close_ms = day0 + (int64_t)ds->slot[ds->n - 1].end_s * 1000;
    for (int h = 0; h < 24; h++) {
        c += hour_profile[h] * open[h];
        hcum[h] = c;
    }
    for (uint32_t i = 0; i < n; i++) {
        double x = rng_unit(rg) * c;
        int h = 0;

        while (h < 23 && (hcum[h] <= x || open[h] == 0))
            h++;
        times[i] = day0 + open_second(ds, h, rng_unit(rg) * open[h]) * 1000 + rng_below(rg, 1000);
    }
    qsort(times, n, sizeof(*times), cmp_i64);
    for (uint32_t i = 0; i < n; i++) {
        struct kf_record *rec;
        const struct item *it = &items[mix_pick(cum, ni, rg)];
        double u = rng_unit(rg), dur = it->dur_s * exp(0.45 * rng_normal(rg));

        if (g->npool == g->cap) {
            int r = gen_commit(g);
            if (r < 0)
                return r;
        }
        if (k == 0)
            target =
                (uint32_t)o->batch_min + rng_below(rg, (uint32_t)(o->batch_max - o->batch_min + 1));
        rec = &g->pool[g->npool].recs[k];
        memset(rec, 0, sizeof(*rec));
        rec->type = KF_REC_TXN;
        rec->ts_ms = times[i] - t->skew_ms; /* the device's clock: effective = ts + skew */
        snprintf(rec->u.txn.item, sizeof(rec->u.txn.item), "%s", it->code);
        if (u < it->fail * t->flaky) {
            rec->u.txn.outcome = KF_OUTCOME_FAILED;
            dur *= 0.3 + 0.7 * rng_unit(rg);
        } else if (u < it->fail * t->flaky + it->abandon) {
            rec->u.txn.outcome = KF_OUTCOME_ABANDONED;
            dur *= 0.1 + 0.6 * rng_unit(rg);
        } else {
            rec->u.txn.outcome = KF_OUTCOME_OK;
        }
        rec->u.txn.dur_ms = (uint32_t)(dur < 3 ? 3000 : dur > 3600 ? 3600000 : dur * 1000);
        if (++k == target || i + 1 == n) {
            /* Sealed a few seconds after its last record, or at the close for the day's
             * last frame; received within 2 s. */
            int64_t sealed = i + 1 == n && close_ms > times[i] ? close_ms : times[i] + 2000;
            int64_t recv = sealed + 50 + rng_below(rg, 2000);
            int r = gen_seal(g, t, k, sealed - t->skew_ms, recv);

            if (r < 0)
                return r;
            k = 0;
        }
    }
    return 0;
}

/* ---- Main ----------------------------------------------------------------------------- */

static int read_text(const char *path, char **ret)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return -errno;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -EIO;
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return -EIO;
    }
    buf[n] = '\0';
    fclose(f);
    *ret = buf;
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: kf-usage-gen --db PATH [--terminals N] [--txns N] [--from YYYY-MM-DD]\n"
            "                    [--to YYYY-MM-DD] [--seed S] [--quiet-zones N] [--batch-min N]\n"
            "                    [--batch-max N] [--commit-frames N] [--fixtures FILE]\n"
            "                    [--calendar FILE]\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;

        if (!ok)
            return -EINVAL;
        if (strcmp(a, "--db") == 0)
            o->db = v;
        else if (strcmp(a, "--fixtures") == 0)
            o->fixtures = v;
        else if (strcmp(a, "--calendar") == 0)
            o->calendar = v;
        else if (strcmp(a, "--seed") == 0) {
            uint64_t x;

            ok = kf_bench_parse_u64(v, 0, UINT64_MAX, &x) == 0;
            o->seed = v;
        } else if (strcmp(a, "--terminals") == 0)
            ok = kf_bench_parse_u64(v, 1, 100000, &o->terminals) == 0;
        else if (strcmp(a, "--txns") == 0)
            ok = kf_bench_parse_u64(v, 0, 10000000000ULL, &o->txns) == 0;
        else if (strcmp(a, "--quiet-zones") == 0)
            ok = kf_bench_parse_u64(v, 0, 1000, &o->quiet_zones) == 0;
        else if (strcmp(a, "--batch-min") == 0)
            ok = kf_bench_parse_u64(v, 1, MAX_BATCH, &o->batch_min) == 0;
        else if (strcmp(a, "--batch-max") == 0)
            ok = kf_bench_parse_u64(v, 1, MAX_BATCH, &o->batch_max) == 0;
        else if (strcmp(a, "--commit-frames") == 0)
            ok = kf_bench_parse_u64(v, 1, 100000, &o->commit_frames) == 0;
        else if (strcmp(a, "--from") == 0)
            ok = kf_day_parse(v, &o->from) == 0;
        else if (strcmp(a, "--to") == 0)
            ok = kf_day_parse(v, &o->to) == 0;
        else
            ok = 0;
        if (!ok)
            return -EINVAL;
        i++;
    }
    if (!o->db || o->batch_min > o->batch_max || o->from > o->to)
        return -EINVAL;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.fixtures = KF_SOURCE_DIR "/fixtures/deployment.json",
                     .calendar = KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini",
                     .seed = "2026",
                     .terminals = 2000,
                     .txns = 70000000,
                     .quiet_zones = 4,
                     .batch_min = 20,
                     .batch_max = 50,
                     .commit_frames = 2000};
    struct item *items = NULL;
    struct zone *zones = NULL;
    struct term *terms = NULL;
    struct kf_holidays *hol = NULL;
    struct mix *mix = NULL;
    struct gen *g = NULL;
    int64_t *times = NULL;
    size_t ni = 0, nz = 0;
    char *caltext = NULL, err[256];
    double t0 = kf_bench_now(), c0 = kf_bench_process_cpu(), weight = 0, scale, t_reg;
    uint64_t seed, txns = 0, days;
    char quiet[1024] = "";
    struct stat sb;
    int r;

    kf_day_parse("2026-01-01", &o.from);
    kf_day_parse("2026-12-31", &o.to);
    if (parse_opts(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    seed = strtoull(o.seed, NULL, 10);
    days = (uint64_t)(o.to - o.from + 1);
    if (sodium_init() < 0)
        return 1;
    if (stat(o.db, &sb) == 0) {
        fprintf(stderr, "kf-usage-gen: %s exists: the generator fills a new store only\n", o.db);
        return 1;
    }
    r = load_deployment(o.fixtures, seed, &items, &ni, &zones, &nz);
    if (r < 0)
        return 1;
    if (ni > 128) {
        fprintf(stderr, "kf-usage-gen: more than 128 items\n");
        return 1;
    }
    zones_activity(zones, nz, seed, o.quiet_zones);
    for (size_t z = 0, n = 0; z < nz; z++) {
        if (zones[z].factor == 0 && n + strlen(zones[z].id) + 4 < sizeof(quiet))
            n += (size_t)snprintf(quiet + n, sizeof(quiet) - n, "%s\"%s\"", n ? "," : "",
                                  zones[z].id);
    }
    hol = kf_holidays_new();
    r = hol ? read_text(o.calendar, &caltext) : -ENOMEM;
    if (r == 0)
        r = kf_holidays_load_string(hol, caltext, o.calendar, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "kf-usage-gen: %s: %s\n", o.calendar, r == -EINVAL ? err : strerror(-r));
        return 1;
    }
    terms = calloc(o.terminals, sizeof(*terms));
    mix = calloc(1, sizeof(*mix));
    g = calloc(1, sizeof(*g));
    times = calloc(MAX_TXNS_DAY, sizeof(*times));
    if (!terms || !mix || !g || !times)
        return 1;
    g->cap = o.commit_frames;
    g->pool = calloc(g->cap, sizeof(*g->pool));
    g->items = calloc(g->cap, sizeof(*g->items));
    g->out = calloc(g->cap, sizeof(*g->out));
    if (!g->pool || !g->items || !g->out)
        return 1;
    mix_build(mix, items, ni);
    r = kf_zctx_new(3, &g->z);
    if (r == 0)
        r = kf_store_open(o.db, 0, &g->st);
    if (r < 0) {
        fprintf(stderr, "kf-usage-gen: %s: %s\n", o.db, strerror(-r));
        return 1;
    }
    /* Bulk loading: no fsync, the rollback journal in memory (a failed run is started
     * again from nothing); WAL again at the end, as kioskd keeps it. */
    r = kf__store_exec_sql(g->st, "PRAGMA journal_mode = MEMORY");
    if (r == 0)
        r = kf__store_exec_sql(g->st, "PRAGMA synchronous = OFF");
    if (r == 0)
        r = kf_store_load_fixtures(g->st, o.fixtures);
    if (r == 0)
        r = register_terminals(g->st, &o, zones, nz, terms);
    if (r < 0) {
        fprintf(stderr, "kf-usage-gen: %s\n", kf_store_errmsg(g->st));
        return 1;
    }
    t_reg = kf_bench_now() - t0;
    /* The city's scale: the expected total over every terminal-day is --txns. */
    for (int32_t d = o.from; d <= o.to; d++) {
        int month = month_of(d);
        double open[24];

        for (uint64_t i = 0; i < o.terminals; i++)
            weight += term_day_weight(&terms[i], &zones[terms[i].zone], hol, d, month, open);
    }
    weight *= 1.0 - DOWN_PER_MILLE / 1000.0;
    scale = weight > 0 ? (double)o.txns / weight : 0;
    for (int32_t d = o.from; d <= o.to; d++) {
        int month = month_of(d);
        char dbuf[16];

        for (uint64_t i = 0; i < o.terminals; i++) {
            struct term *t = &terms[i];
            const struct zone *z = &zones[t->zone];
            double open[24], w = term_day_weight(t, z, hol, d, month, open);
            const struct kf_dayspec *ds = day_spec(t, hol, d);
            struct rng rg;
            uint32_t n;

            rng_seed(&rg, seed, i + 1, (uint64_t)(uint32_t)d);
            if (rng_below(&rg, 1000) < DOWN_PER_MILLE)
                continue;
            n = rng_poisson(&rg, w * scale);
            if (n > MAX_TXNS_DAY)
                n = MAX_TXNS_DAY;
            r = gen_term_day(g, &o, t, items, ni,
                             mix->cum[t->kind == KF_KIND_ITM][z->unit_kind][month], ds, open, n, d,
                             &rg, times);
            if (r < 0)
                goto out_fail;
            txns += n;
        }
        if (d == o.to || month_of(d + 1) != month) {
            fprintf(stderr, "kf-usage-gen: up to %s: %llu txns, %llu frames, %.0f s\n",
                    kf_day_format(d, dbuf, sizeof(dbuf)), (unsigned long long)txns,
                    (unsigned long long)g->frames, kf_bench_now() - t0);
        }
    }
    r = gen_commit(g);
    if (r < 0)
        goto out_fail;
    r = kf__store_exec_sql(g->st, "PRAGMA journal_mode = WAL");
    if (r < 0)
        goto out_fail;
    kf_store_free(g->st);
    g->st = NULL;
    if (stat(o.db, &sb) != 0)
        sb.st_size = 0;
    {
        double wall = kf_bench_now() - t0, cpu = kf_bench_process_cpu() - c0;
        char a[16], b[16];

        fprintf(stderr,
                "kf-usage-gen: %llu terminals, %llu days, %llu txns in %llu frames, %llu commits;"
                " %.1f s (%.1f s CPU; signing %.1f s, commits %.1f s), %lld bytes\n",
                (unsigned long long)o.terminals, (unsigned long long)days, (unsigned long long)txns,
                (unsigned long long)g->frames, (unsigned long long)g->commits, wall, cpu, g->seal_s,
                g->commit_s, (long long)sb.st_size);
        printf("{\"terminals\":%llu,\"from\":\"%s\",\"to\":\"%s\",\"days\":%llu,\"seed\":\"%s\","
               "\"txns_target\":%llu,\"txns\":%llu,\"frames\":%llu,\"records_per_frame\":%.2f,"
               "\"commits\":%llu,\"quiet_zones\":[%s],\"batch_min\":%llu,\"batch_max\":%llu,"
               "\"wall_s\":%.1f,\"cpu_s\":%.1f,\"setup_s\":%.1f,\"seal_s\":%.1f,"
               "\"seal_us_per_frame\":%.1f,\"commit_s\":%.1f,\"db_bytes\":%lld}\n",
               (unsigned long long)o.terminals, kf_day_format(o.from, a, sizeof(a)),
               kf_day_format(o.to, b, sizeof(b)), (unsigned long long)days, o.seed,
               (unsigned long long)o.txns, (unsigned long long)txns, (unsigned long long)g->frames,
               g->frames ? (double)g->records / (double)g->frames : 0.0,
               (unsigned long long)g->commits, quiet, (unsigned long long)o.batch_min,
               (unsigned long long)o.batch_max, wall, cpu, t_reg, g->seal_s,
               g->frames ? g->seal_s * 1e6 / (double)g->frames : 0.0, g->commit_s,
               (long long)sb.st_size);
    }
    r = 0;
out_fail:
    kf_store_free(g->st);
    kf_zctx_free(g->z);
    free(g->pool);
    free(g->items);
    free(g->out);
    free(g);
    for (size_t z = 0; z < nz; z++) {
        free(zones[z].weekday);
        free(zones[z].weekend);
        free(zones[z].itm_hours);
    }
    free(zones);
    free(items);
    free(terms);
    free(mix);
    free(times);
    free(caltext);
    kf_holidays_free(hol);
    return r < 0 ? 1 : 0;
}
