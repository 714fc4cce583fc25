/* sim/workload.c: what a simulated terminal does: a daily pattern of transactions over the
 * service catalog, printer paper cycles, faults raised and cleared, synthetic health. */
#include "sim/sim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/time.h>

#define MIN_MS 60000LL
#define DAY_MS 86400000LL

/* Used when no --catalog is given: a few items of each family, weights by popularity. */
static const struct {
    const char *code;
    double weight;
} fallback_items[] = {
    {"GJJ-001", 8}, {"GJJ-002", 5}, {"GJJ-003", 3}, {"SB-001", 9},  {"SB-002", 6},
    {"SB-003", 4},  {"RS-001", 3},  {"RS-002", 2},  {"YB-001", 7},  {"YB-002", 5},
    {"YB-003", 2},  {"GA-001", 4},  {"GA-002", 3},  {"BDC-001", 2}, {"BDC-002", 1},
    {"WJ-001", 2},  {"WJ-002", 1},  {"MZ-001", 2},  {"MZ-002", 1},
};

static const struct {
    const char *code;
    uint8_t periph;
    uint8_t sev;
    int itm_only;
    const char *text;
} fault_kinds[] = {
    {"PRN-JAM", KF_PERIPH_RECEIPT_PRINTER, KF_SEV_MAJOR, 0, "paper jam at cutter"},
    {"CARD-READ", KF_PERIPH_CARD_READER, KF_SEV_MINOR, 0, "repeated card read errors"},
    {"IDR-NORESP", KF_PERIPH_ID_CARD_READER, KF_SEV_MAJOR, 0, "ID card reader not responding"},
    {"SCR-TOUCH", KF_PERIPH_SCREEN, KF_SEV_CRITICAL, 0, "touch panel unresponsive"},
    {"CAM-FAIL", KF_PERIPH_CAMERA, KF_SEV_MINOR, 0, "camera init failed"},
    {"CASH-JAM", KF_PERIPH_CASH_OUT, KF_SEV_CRITICAL, 1, "dispenser jam"},
};
#define NFAULT_KINDS (sizeof(fault_kinds) / sizeof(fault_kinds[0]))

#define FAULTS_PER_DAY 0.4
#define PAPER_CYCLES_PER_DAY 0.6

static uint64_t sim_rand(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double sim_uniform(uint64_t *s)
{
    return (double)(sim_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

static int64_t urange(uint64_t *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(sim_uniform(s) * (double)(hi - lo));
}

static unsigned poisson(uint64_t *s, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda > 30) {
        /* normal approximation (Box-Muller) */
        double u1 = sim_uniform(s), u2 = sim_uniform(s);
        double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-12)) * cos(2 * M_PI * u2);
        double v = lambda + z * sqrt(lambda) + 0.5;
        return v < 0 ? 0 : (unsigned)v;
    }
    double l = exp(-lambda), p = 1.0;
    unsigned k = 0;
    do {
        k++;
        p *= sim_uniform(s);
    } while (p > l);
    return k - 1;
}

/* ---- catalog ---- */

static int parse_hhmm(const char *s, int *ret)
{
    unsigned h, m;
    char tail;
    if (sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 24 || m > 59 || h * 60 + m > 1440)
        return -EINVAL;
    *ret = (int)(h * 60 + m);
    return 0;
}

/* "08:30-17:00", "24h", {"open":"08:30","close":"17:00"} or {"weekday":"08:30-17:00"}. */
static int parse_hours(const json_t *h, int *open, int *close)
{
    char a[8], b[8];
    if (json_is_object(h)) {
        const json_t *o = json_object_get(h, "open"), *c = json_object_get(h, "close");
        if (json_is_string(o) && json_is_string(c))
            return parse_hhmm(json_string_value(o), open) < 0 ||
                           parse_hhmm(json_string_value(c), close) < 0
                       ? -EINVAL
                       : 0;
        const json_t *w = json_object_get(h, "weekday");
        if (!w)
            w = json_object_get(h, "weekdays");
        return w ? parse_hours(w, open, close) : -EINVAL;
    }
    if (!json_is_string(h))
        return -EINVAL;
    const char *s = json_string_value(h);
    if (strcmp(s, "24h") == 0 || strcmp(s, "24x7") == 0) {
        *open = 0;
        *close = 1440;
        return 0;
    }
    if (sscanf(s, "%7[0-9:]-%7[0-9:]", a, b) != 2 || parse_hhmm(a, open) < 0 ||
        parse_hhmm(b, close) < 0 || *close <= *open)
        return -EINVAL;
    return 0;
}

static const json_t *find_array(const json_t *root, const char *const *names)
{
    for (; *names; names++) {
        const json_t *v = json_object_get(root, *names);
        if (json_is_array(v))
            return v;
        if (json_is_object(v) && json_is_array(json_object_get(v, "items")))
            return json_object_get(v, "items");
    }
    return NULL;
}

int kf__sim_catalog_load(struct sim_catalog *c, const char *path, char *err, size_t cap)
{
    static const char *const item_keys[] = {"items", "service_items", "catalog", "services", NULL};
    static const char *const zone_keys[] = {"zones", "service_zones", NULL};
    json_error_t jerr;
    json_t *root;
    const json_t *arr, *v;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (!path) {
        for (i = 0; i < sizeof(fallback_items) / sizeof(fallback_items[0]); i++) {
            snprintf(c->items[i].code, sizeof(c->items[i].code), "%s", fallback_items[i].code);
            c->items[i].weight = fallback_items[i].weight;
            c->total_weight += fallback_items[i].weight;
        }
        c->nitems = i;
        return 0;
    }
    root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(err, cap, "%s:%d: %s", path, jerr.line, jerr.text);
        return -EINVAL;
    }
    arr = find_array(root, item_keys);
    json_array_foreach(arr, i, v)
    {
        const json_t *code = json_object_get(v, "code"), *w = json_object_get(v, "weight");
        double weight = json_is_number(w) ? json_number_value(w) : 1.0;
        if (!json_is_string(code) || strlen(json_string_value(code)) > KF_ITEM_CODE_MAX ||
            weight <= 0 || c->nitems >= SIM_MAX_ITEMS)
            continue;
        snprintf(c->items[c->nitems].code, sizeof(c->items[0].code), "%s", json_string_value(code));
        c->items[c->nitems].weight = weight;
        c->total_weight += weight;
        c->nitems++;
    }
    arr = find_array(root, zone_keys);
    if (arr && json_array_size(arr) > 0) {
        size_t n = json_array_size(arr) < SIM_MAX_ZONES ? json_array_size(arr) : SIM_MAX_ZONES;
        c->zones = calloc(n, sizeof(*c->zones));
        json_array_foreach(arr, i, v)
        {
            const json_t *id = json_object_get(v, "id");
            struct sim_zone z;
            if (!c->zones || c->nzones >= n)
                break;
            if (!json_is_string(id))
                id = json_object_get(v, "zone_id");
            const json_t *hours = json_object_get(v, "hours"), *ih;
            if (!json_is_string(id) || parse_hours(hours, &z.open_min, &z.close_min) < 0)
                continue;
            /* weekends: {"weekend": "09:00-12:00"}, null (closed), or absent (as weekdays) */
            z.wk_open_min = z.open_min;
            z.wk_close_min = z.close_min;
            if (json_is_object(hours) && json_object_get(hours, "weekend") &&
                parse_hours(json_object_get(hours, "weekend"), &z.wk_open_min, &z.wk_close_min) < 0)
                z.wk_open_min = z.wk_close_min = -1;
            ih = json_object_get(v, "itm_hours");
            z.itm_24h = json_is_string(ih) && (strcmp(json_string_value(ih), "24h") == 0 ||
                                               strcmp(json_string_value(ih), "00:00-24:00") == 0);
            snprintf(z.id, sizeof(z.id), "%s", json_string_value(id));
            c->zones[c->nzones++] = z;
        }
    }
    json_decref(root);
    if (c->nitems == 0) {
        snprintf(err, cap, "%s: no service items (objects with \"code\" and \"weight\")", path);
        kf__sim_catalog_free(c);
        return -EINVAL;
    }
    return 0;
}

void kf__sim_catalog_free(struct sim_catalog *c)
{
    free(c->zones);
    c->zones = NULL;
    c->nzones = 0;
}

const struct sim_zone *kf__sim_zone_find(const struct sim_catalog *c, const char *id)
{
    for (size_t i = 0; i < c->nzones; i++) {
        if (strcmp(c->zones[i].id, id) == 0)
            return &c->zones[i];
    }
    return NULL;
}

/* ---- the daily pattern ---- */

/* Relative intensity at minute m of an open day: peaks at 10:00 and 15:00. */
static double shape_at(int m)
{
    double a = ((double)m - 600.0) / 75.0, b = ((double)m - 900.0) / 75.0;
    return 0.25 + exp(-a * a) + 0.9 * exp(-b * b);
}

static double shape(const struct sim_gen *g, int64_t t)
{
    int64_t local = t + KF_CST_OFFSET_MS;
    int64_t day = local >= 0 ? local / DAY_MS : (local - DAY_MS + 1) / DAY_MS;
    int m = (int)((local - day * DAY_MS) / MIN_MS);
    int dow = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    int weekend = dow == 0 || dow == 6;
    double wk = weekend ? 0.35 : 1.0;

    if (weekend && g->close_min - g->open_min < 1440) {
        if (g->wk_open_min < 0 || m < g->wk_open_min || m >= g->wk_close_min)
            return 0;
        return shape_at(m) * wk;
    }
    if (m < g->open_min || m >= g->close_min)
        return 0;
    if (g->close_min - g->open_min >= 1440 && (m < 7 * 60 || m >= 22 * 60))
        return 0.08 * wk; /* a 24 h ITM at night */
    return shape_at(m) * wk;
}

static double shape_norm(const struct sim_gen *g)
{
    double sum = 0;
    for (int m = 0; m < 1440; m++) {
        if (m < g->open_min || m >= g->close_min)
            continue;
        if (g->close_min - g->open_min >= 1440 && (m < 7 * 60 || m >= 22 * 60))
            sum += 0.08;
        else
            sum += shape_at(m);
    }
    return sum > 0 ? sum : 1;
}

void kf__sim_gen_init(struct sim_gen *g, uint64_t seed, const char *device_id, int itm,
                      const struct sim_zone *zone, int64_t now_ms)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a of the id, mixed with the seed */
    for (const char *p = device_id; *p; p++)
        h = (h ^ (uint8_t)*p) * UINT64_C(1099511628211);
    memset(g, 0, sizeof(*g));
    g->rng = h ^ (seed * UINT64_C(0x9E3779B97F4A7C15));
    g->itm = itm;
    g->open_min = zone ? zone->open_min : 8 * 60 + 30;
    g->close_min = zone ? zone->close_min : 17 * 60;
    g->wk_open_min = zone ? zone->wk_open_min : 9 * 60;
    g->wk_close_min = zone ? zone->wk_close_min : 16 * 60;
    if (itm && (zone ? zone->itm_24h : sim_uniform(&g->rng) < 0.5)) {
        g->open_min = 0; /* some ITMs serve around the clock */
        g->close_min = 1440;
    }
    g->daily_txns = 20 + 40 * sim_uniform(&g->rng);
    g->boot_ms = now_ms - urange(&g->rng, 3600000LL, 30 * DAY_MS);
    g->net_rx = (uint64_t)urange(&g->rng, 1000000, 900000000);
    g->net_tx = g->net_rx / 3;
    g->cpu_pm = 80;
    g->mem_total_kb = itm ? 8u * 1024 * 1024 : 4u * 1024 * 1024;
}

/* Expected txns per ms at local time t (pattern_ms: the instant the pattern is evaluated
 * at), times activity. */
static double sim_rate(const struct sim_gen *g, int64_t pattern_ms, double activity)
{
    return g->daily_txns * shape(g, pattern_ms) / (shape_norm(g) * (double)MIN_MS) * activity;
}

static void make_txn(struct sim_gen *g, const struct sim_catalog *c, int64_t end_ms,
                     struct kf_record *r)
{
    double pick = sim_uniform(&g->rng) * c->total_weight, u;
    size_t i = 0;

    while (i + 1 < c->nitems && pick >= c->items[i].weight) {
        pick -= c->items[i].weight;
        i++;
    }
    memset(r, 0, sizeof(*r));
    r->type = KF_REC_TXN;
    memcpy(r->u.txn.item, c->items[i].code, sizeof(r->u.txn.item));
    u = sim_uniform(&g->rng);
    r->u.txn.outcome = u < 0.93   ? KF_OUTCOME_OK
                       : u < 0.98 ? KF_OUTCOME_FAILED
                                  : KF_OUTCOME_ABANDONED;
    u = sim_uniform(&g->rng);
    r->u.txn.dur_ms = (uint32_t)(30000 + 330000 * u * u);
    r->ts_ms = end_ms - r->u.txn.dur_ms;
}

static void make_periph(int64_t ts, uint8_t periph, uint8_t state, struct kf_record *r)
{
    memset(r, 0, sizeof(*r));
    r->type = KF_REC_PERIPH;
    r->ts_ms = ts;
    r->u.periph.periph = periph;
    r->u.periph.state = state;
}

static void make_fault(const struct sim_gen *g, int64_t ts, int raise, const char *text,
                       struct kf_record *r)
{
    memset(r, 0, sizeof(*r));
    r->type = KF_REC_FAULT;
    r->ts_ms = ts;
    memcpy(r->u.fault.code, g->fault_code, sizeof(r->u.fault.code));
    r->u.fault.sev = g->fault_sev;
    r->u.fault.raise = (uint8_t)raise;
    r->u.fault.periph = g->fault_periph;
    snprintf(r->u.fault.text, sizeof(r->u.fault.text), "%s", raise && text ? text : "");
}

static int64_t scaled(uint64_t *rng, int64_t lo, int64_t hi, double div)
{
    int64_t v = (int64_t)((double)urange(rng, lo, hi) / (div > 1 ? div : 1));
    return v < 5000 ? 5000 : v;
}

size_t kf__sim_generate(struct sim_gen *g, const struct sim_catalog *c, int64_t t0, int64_t t1,
                        int64_t pattern_off_ms, double activity, struct kf_record *out, size_t cap)
{
    size_t n = 0;

    for (int64_t a = t0; a < t1 && n < cap; a += MIN_MS) {
        int64_t b = a + MIN_MS < t1 ? a + MIN_MS : t1;
        double len = (double)(b - a);
        unsigned k = poisson(&g->rng, sim_rate(g, (a + b) / 2 + pattern_off_ms, activity) * len);

        for (unsigned i = 0; i < k && n < cap; i++)
            make_txn(g, c, urange(&g->rng, a, b), &out[n++]);

        /* printers: paper_low -> paper_out -> online */
        if (g->paper_stage && g->paper_next_ms < b && n < cap) {
            int64_t ts = g->paper_next_ms > a ? g->paper_next_ms : a;
            if (g->paper_stage == 1) {
                make_periph(ts, g->paper_periph, KF_PSTATE_PAPER_OUT, &out[n++]);
                g->paper_stage = 2;
                g->paper_next_ms = ts + scaled(&g->rng, 10 * MIN_MS, 60 * MIN_MS, activity);
            } else {
                make_periph(ts, g->paper_periph, KF_PSTATE_ONLINE, &out[n++]);
                g->paper_stage = 0;
            }
        } else if (!g->paper_stage && n < cap &&
                   sim_uniform(&g->rng) < PAPER_CYCLES_PER_DAY * activity * len / DAY_MS) {
            int64_t ts = urange(&g->rng, a, b);
            g->paper_periph = (!g->itm && sim_uniform(&g->rng) < 0.4) ? KF_PERIPH_A4_PRINTER
                                                                      : KF_PERIPH_RECEIPT_PRINTER;
            make_periph(ts, g->paper_periph, KF_PSTATE_PAPER_LOW, &out[n++]);
            g->paper_stage = 1;
            g->paper_next_ms = ts + scaled(&g->rng, 30 * MIN_MS, 120 * MIN_MS, activity);
        }

        /* faults: raise, then clear a few minutes later */
        if (g->fault_open && g->fault_clear_ms < b && n < cap) {
            make_fault(g, g->fault_clear_ms > a ? g->fault_clear_ms : a, 0, NULL, &out[n++]);
            g->fault_open = 0;
        } else if (!g->fault_open && n < cap &&
                   sim_uniform(&g->rng) < FAULTS_PER_DAY * activity * len / DAY_MS) {
            size_t f;
            do {
                f = (size_t)(sim_rand(&g->rng) % NFAULT_KINDS);
            } while (fault_kinds[f].itm_only && !g->itm);
            int64_t ts = urange(&g->rng, a, b);
            snprintf(g->fault_code, sizeof(g->fault_code), "%s", fault_kinds[f].code);
            g->fault_periph = fault_kinds[f].periph;
            g->fault_sev = fault_kinds[f].sev;
            make_fault(g, ts, 1, fault_kinds[f].text, &out[n++]);
            g->fault_open = 1;
            g->fault_clear_ms = ts + scaled(&g->rng, 2 * MIN_MS, 10 * MIN_MS, sqrt(activity));
        }
    }
    return n;
}

size_t kf__sim_settle(struct sim_gen *g, int64_t now_ms, struct kf_record *out, size_t cap)
{
    size_t n = 0;
    if (g->paper_stage && n < cap) {
        make_periph(now_ms, g->paper_periph, KF_PSTATE_ONLINE, &out[n++]);
        g->paper_stage = 0;
    }
    if (g->fault_open && n < cap) {
        make_fault(g, now_ms, 0, NULL, &out[n++]);
        g->fault_open = 0;
    }
    return n;
}

void kf__sim_health(struct sim_gen *g, int64_t now_ms, struct kf_record *r)
{
    struct kf_rec_health *h = &r->u.health;
    int64_t up = now_ms - g->boot_ms;

    memset(r, 0, sizeof(*r));
    r->type = KF_REC_HEALTH;
    r->ts_ms = now_ms;
    g->cpu_pm += (int32_t)urange(&g->rng, -40, 41);
    if (g->cpu_pm < 20)
        g->cpu_pm = 20;
    if (g->cpu_pm > 650)
        g->cpu_pm = 650;
    h->cpu_pm = g->cpu_pm;
    h->mem_total_kb = g->mem_total_kb;
    h->mem_avail_kb = g->mem_total_kb * (uint64_t)urange(&g->rng, 40, 70) / 100;
    h->disk_total_kb = UINT64_C(120) * 1024 * 1024;
    h->disk_avail_kb = h->disk_total_kb * (uint64_t)urange(&g->rng, 52, 58) / 100;
    h->temp_mc = (int32_t)(38000 + g->cpu_pm * 20 + urange(&g->rng, -1500, 1500));
    h->uptime_s = up > 0 ? (uint64_t)(up / 1000) : 0;
    g->net_rx += (uint64_t)urange(&g->rng, 20000, 200000);
    g->net_tx += (uint64_t)urange(&g->rng, 5000, 80000);
    h->net_rx = g->net_rx;
    h->net_tx = g->net_tx;
    h->net_up = 1;
}
