/* rules/week_json.c: the weekly report's canonical JSON and the canonical texts of its inputs
 * (week.h; docs/REPORTS.md "The document" and "Inputs"). */
#include "rules/week.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "rules/jsonw.h"

/* ---- The document ------------------------------------------------------------------------------
 */

static void j_int_na(struct kf__jw *w, const char *k, int64_t v)
{
    kf__jw_key(w, k);
    if (v == KF_WEEK_NA) {
        kf__jw_null(w);
    } else {
        kf__jw_int(w, v);
    }
}

static void j_int(struct kf__jw *w, const char *k, int64_t v)
{
    kf__jw_key(w, k);
    kf__jw_int(w, v);
}

static void j_str(struct kf__jw *w, const char *k, const char *v)
{
    kf__jw_key(w, k);
    kf__jw_str(w, v ? v : "");
}

static void j_day(struct kf__jw *w, const char *k, int32_t day)
{
    char b[16];

    j_str(w, k, kf_day_format(day, b, sizeof(b)));
}

enum view { V_ROLLUP, V_ZONE, V_FAMILY, V_ITEM };

/* The figures every row has, in the document's order. */
static void usage_figures(struct kf__jw *w, const struct kf_week_row *r)
{
    j_int(w, "ok", r->ok);
    j_int(w, "failed", r->failed);
    j_int(w, "abandoned", r->abandoned);
    j_int(w, "total", r->total);
    j_int_na(w, "ok_per_terminal_day_x100", r->ok_per_terminal_day_x100);
    j_int(w, "ok_prev", r->ok_prev);
    j_int(w, "ok_change", r->ok_change);
    j_int_na(w, "ok_change_pm", r->ok_change_pm);
}

static void row_json(struct kf__jw *w, const struct kf_week_row *r, enum view v, int named)
{
    kf__jw_obj(w);
    if (v == V_ZONE) {
        j_str(w, "zone", r->code);
        j_str(w, "name", r->name);
        j_str(w, "branch", r->branch);
        j_str(w, "unit", r->unit);
        j_str(w, "bank", r->bank);
        j_str(w, "status", kf_week_status_name(r->status));
    } else if (named) {
        j_str(w, "code", r->code);
        j_str(w, "name", r->name);
    }
    if (v == V_ITEM) {
        j_str(w, "family", r->family);
    }
    if (v == V_FAMILY) {
        j_int(w, "items", r->items);
    }
    if (v == V_FAMILY || v == V_ITEM) {
        j_int(w, "zones_active", r->zones_active);
        usage_figures(w, r);
        kf__jw_end(w, '}');
        return;
    }
    if (v == V_ROLLUP) {
        j_int(w, "zones", r->zones);
        j_int(w, "zones_commissioned", r->zones_commissioned);
        j_int(w, "zones_reporting", r->zones_reporting);
        j_int(w, "zones_active", r->zones_active);
    }
    j_int(w, "planned_kiosks", r->planned_kiosks);
    j_int(w, "planned_itms", r->planned_itms);
    j_int(w, "planned", r->planned);
    j_int(w, "commissioned", r->commissioned);
    j_int(w, "reporting", r->reporting);
    j_int(w, "active", r->active);
    if (v == V_ZONE) {
        j_int(w, "service_days", r->service_days);
    }
    j_int(w, "terminal_days", r->terminal_days);
    usage_figures(w, r);
    j_int(w, "owed_s", r->owed_s);
    j_int(w, "uptime_s", r->uptime_s);
    j_int_na(w, "availability_bp", r->availability_bp);
    j_int_na(w, "target_bp", r->target_bp);
    j_int_na(w, "availability_prev_bp", r->availability_prev_bp);
    j_int_na(w, "availability_change_bp", r->availability_change_bp);
    j_int(w, "open_incidents", r->open_incidents);
    kf__jw_end(w, '}');
}

static void rows_json(struct kf__jw *w, const char *k, const struct kf_week_row *rows, size_t n,
                      enum view v)
{
    kf__jw_key(w, k);
    kf__jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        row_json(w, &rows[i], v, 1);
    }
    kf__jw_end(w, ']');
}

static const char *day_kind(uint8_t kind)
{
    return kind == KF_DATE_HOLIDAY ? "holiday" : kind == KF_DATE_MAKEUP ? "makeup" : "normal";
}

static void ranked_json(struct kf__jw *w, const char *k, const struct kf_week_report *r,
                        const size_t *idx, size_t n)
{
    kf__jw_key(w, k);
    kf__jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        const struct kf_week_row *z = &r->zones[idx[i]];

        kf__jw_obj(w);
        j_int(w, "rank", (int64_t)i + 1);
        j_str(w, "zone", z->code);
        j_str(w, "name", z->name);
        j_str(w, "bank", z->bank);
        j_int(w, "ok", z->ok);
        j_int(w, "terminal_days", z->terminal_days);
        j_int_na(w, "ok_per_terminal_day_x100", z->ok_per_terminal_day_x100);
        kf__jw_end(w, '}');
    }
    kf__jw_end(w, ']');
}

int kf_week_json(const struct kf_week_report *r, char **ret, size_t *ret_len)
{
    struct kf__jw w;
    char b[32];
    int rc;

    kf__jw_init(&w);
    kf__jw_obj(&w);
    j_str(&w, "doc", KF_WEEK_DOC);
    j_str(&w, "week", kf_week_format(r->iso_year, r->iso_week, b, sizeof(b)));
    j_str(&w, "previous_week", kf_week_format(r->prev_year, r->prev_week, b, sizeof(b)));
    j_day(&w, "from", r->first_day);
    j_day(&w, "to", r->first_day + 6);
    kf__jw_key(&w, "draft");
    kf__jw_bool(&w, r->draft);
    j_str(&w, "availability_as_of", kf_ms_format(r->avail_as_of_ms, b, sizeof(b)));
    kf__jw_key(&w, "incidents_as_of");
    if (r->incidents_cut_ms != 0)
        kf__jw_str(&w, kf_ms_format(r->incidents_cut_ms, b, sizeof(b)));
    else
        kf__jw_null(&w);
    kf__jw_key(&w, "days");
    kf__jw_arr(&w);
    for (int d = 0; d < 7; d++) {
        kf__jw_obj(&w);
        j_day(&w, "date", r->days[d].day);
        j_str(&w, "kind", day_kind(r->days[d].kind));
        j_str(&w, "name", r->days[d].name);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "inputs");
    kf__jw_obj(&w);
    for (size_t i = 0; i < r->n_inputs; i++) {
        j_str(&w, r->inputs[i].name, r->inputs[i].hex);
    }
    kf__jw_end(&w, '}');
    kf__jw_key(&w, "fleet");
    row_json(&w, &r->fleet, V_ROLLUP, 0);
    j_int(&w, "uncounted", r->uncounted);
    rows_json(&w, "units", r->units, r->n_units, V_ROLLUP);
    rows_json(&w, "banks", r->banks, r->n_banks, V_ROLLUP);
    rows_json(&w, "zones", r->zones, r->n_zones, V_ZONE);
    rows_json(&w, "families", r->families, r->n_families, V_FAMILY);
    rows_json(&w, "items", r->items, r->n_items, V_ITEM);
    kf__jw_key(&w, "inactive_zones");
    kf__jw_arr(&w);
    for (size_t i = 0; i < r->n_inactive; i++) {
        const struct kf_week_row *z = &r->zones[r->inactive[i]];

        kf__jw_obj(&w);
        j_str(&w, "zone", z->code);
        j_str(&w, "name", z->name);
        j_str(&w, "unit", z->unit);
        j_str(&w, "bank", z->bank);
        j_str(&w, "status", kf_week_status_name(z->status));
        j_int(&w, "commissioned", z->commissioned);
        j_int(&w, "reporting", z->reporting);
        j_int(&w, "terminal_days", z->terminal_days);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    kf__jw_key(&w, "idle_terminals");
    kf__jw_arr(&w);
    for (size_t i = 0; i < r->n_idle; i++) {
        kf__jw_obj(&w);
        j_str(&w, "asset", r->idle[i].asset);
        j_str(&w, "zone", r->idle[i].zone);
        j_str(&w, "kind", r->idle[i].kind == 2 ? "itm" : "kiosk");
        kf__jw_key(&w, "reporting");
        kf__jw_bool(&w, r->idle[i].reporting);
        j_int(&w, "terminal_days", r->idle[i].terminal_days);
        kf__jw_end(&w, '}');
    }
    kf__jw_end(&w, ']');
    ranked_json(&w, "busiest", r, r->busiest, r->n_busiest);
    ranked_json(&w, "quietest", r, r->quietest, r->n_quietest);
    kf__jw_end(&w, '}');
    rc = kf__jw_finish(&w, ret);
    if (rc == 0) {
        *ret_len = strlen(*ret);
    }
    return rc;
}

/* ---- The inputs' canonical texts ------------------------------------------------------------ */

/* Lines, sorted and joined: the order the caller read the rows in never moves a byte. */
void kf__week_lines_add(struct kf__week_lines *l, struct kf__week_sb *sb)
{
    char *s = NULL;
    size_t len = 0;
    int rc = kf__week_sb_finish(sb, &s, &len);

    memset(sb, 0, sizeof(*sb));
    if (rc < 0 || l->err) {
        l->err = l->err ? l->err : rc;
        if (rc == 0) {
            free(s);
        }
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL) {
            free(s);
            l->err = -ENOMEM;
            return;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = s;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int kf__week_lines_join(struct kf__week_lines *l, const char *head, char **ret, size_t *ret_len)
{
    struct kf__week_sb sb = {0};

    if (l->n > 1) {
        qsort(l->v, l->n, sizeof(*l->v), str_cmp);
    }
    kf__week_sb_printf(&sb, "%s\n", head);
    for (size_t i = 0; i < l->n; i++) {
        kf__week_sb_printf(&sb, "%s\n", l->v[i]);
        free(l->v[i]);
    }
    free(l->v);
    if (l->err) {
        free(sb.buf);
        return l->err;
    }
    return kf__week_sb_finish(&sb, ret, ret_len);
}

static void name_lines(struct kf__week_lines *l, const char *kind, const struct kf_week_name *v,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct kf__week_sb sb = {0};

        kf__week_sb_printf(&sb, "%s\t", kind);
        kf__week_sb_field(&sb, v[i].code);
        kf__week_sb_printf(&sb, "\t");
        kf__week_sb_field(&sb, v[i].name);
        kf__week_lines_add(l, &sb);
    }
}

static int win_cmp(const void *a, const void *b)
{
    const struct kf_window *x = a, *y = b;

    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return (x->end_ms > y->end_ms) - (x->end_ms < y->end_ms);
}

static void terminal_line(struct kf__week_lines *l, const struct kf_week_terminal_in *t)
{
    struct kf__week_sb sb = {0};
    struct kf_window *w = calloc(t->n_service + 1, sizeof(*w));
    char spec[128];

    if (w == NULL) {
        l->err = -ENOMEM;
        return;
    }
    kf__week_sb_printf(&sb, "terminal\t");
    kf__week_sb_field(&sb, t->asset);
    kf__week_sb_printf(&sb, "\t");
    kf__week_sb_field(&sb, t->zone);
    kf__week_sb_printf(&sb, "\t%u\t", (unsigned)t->kind);
    for (int d = 0; t->hours && d < KF_DAY_KINDS; d++) {
        if (kf_calendar_dayspec_format(&t->hours->day[d], spec, sizeof(spec)) < 0) {
            sb.err = -EINVAL;
        }
        kf__week_sb_printf(&sb, "%s%s", d ? " " : "", spec);
    }
    kf__week_sb_printf(&sb, "\t");
    if (t->n_service > 0) {
        memcpy(w, t->service, t->n_service * sizeof(*w));
        qsort(w, t->n_service, sizeof(*w), win_cmp);
    }
    for (size_t k = 0; k < t->n_service; k++) {
        kf__week_sb_printf(&sb, "%s%lld-%lld", k ? "," : "", (long long)w[k].start_ms,
                           (long long)w[k].end_ms);
    }
    free(w);
    kf__week_lines_add(l, &sb);
}

static void registry_lines(struct kf__week_lines *l, const struct kf_week_input *in)
{
    name_lines(l, "unit", in->units, in->n_units);
    name_lines(l, "bank", in->banks, in->n_banks);
    name_lines(l, "family", in->families, in->n_families);
    for (size_t i = 0; i < in->n_items; i++) {
        struct kf__week_sb sb = {0};

        kf__week_sb_printf(&sb, "item\t");
        kf__week_sb_field(&sb, in->items[i].code);
        kf__week_sb_printf(&sb, "\t");
        kf__week_sb_field(&sb, in->items[i].family);
        kf__week_sb_printf(&sb, "\t");
        kf__week_sb_field(&sb, in->items[i].name);
        kf__week_lines_add(l, &sb);
    }
    for (size_t i = 0; i < in->n_zones; i++) {
        const struct kf_week_zone_in *z = &in->zones[i];
        struct kf__week_sb sb = {0};

        kf__week_sb_printf(&sb, "zone\t");
        kf__week_sb_field(&sb, z->id);
        kf__week_sb_printf(&sb, "\t");
        kf__week_sb_field(&sb, z->unit);
        kf__week_sb_printf(&sb, "\t");
        kf__week_sb_field(&sb, z->bank);
        kf__week_sb_printf(&sb, "\t%lld\t%lld\t", (long long)z->kiosks, (long long)z->itms);
        kf__week_sb_field(&sb, z->name);
        kf__week_sb_printf(&sb, "\t");
        kf__week_sb_field(&sb, z->branch);
        kf__week_lines_add(l, &sb);
    }
    for (size_t i = 0; i < in->n_terminals; i++) {
        terminal_line(l, &in->terminals[i]);
    }
}

/* Appends to a line of a known bound: the caller checked the room. */
static char *put_str(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* v in decimal, as %lld writes it. */
static char *put_i64(char *p, int64_t v)
{
    char d[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        d[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *p++ = '-';
    }
    while (n) {
        *p++ = d[--n];
    }
    return p;
}

/* A million rows for a city's two weeks: written by hand, not by snprintf (a sixth of the
 * weekly report's time was printf's), to the same bytes as
 * "%s\t%s\t%s\t%s\t%lld\t%lld\t%lld". */
int kf_week_usage_line(const struct kf_week_usage_in *u, const char *day, char *buf, size_t cap)
{
    const char *f[3] = {u->zone ? u->zone : "", u->asset ? u->asset : "", u->item ? u->item : ""};
    size_t len[3], dl, need;
    char b[16], *p = buf;

    if (day == NULL) {
        day = kf_day_format(u->day, b, sizeof(b));
    }
    dl = strlen(day);
    need = dl + 3 * 21 + 7; /* the numbers, the tabs and the NUL */
    for (int i = 0; i < 3; i++) {
        if (strpbrk(f[i], "\t\r\n") != NULL) {
            return -EINVAL;
        }
        len[i] = strlen(f[i]);
        need += len[i];
    }
    if (need > cap) {
        return -ENOSPC;
    }
    p = put_str(p, day, dl);
    for (int i = 0; i < 3; i++) {
        *p++ = '\t';
        p = put_str(p, f[i], len[i]);
    }
    *p++ = '\t';
    p = put_i64(p, u->ok);
    *p++ = '\t';
    p = put_i64(p, u->failed);
    *p++ = '\t';
    p = put_i64(p, u->abandoned);
    *p = '\0';
    return (int)(p - buf);
}

void kf__week_usage_line(struct kf__week_lines *l, const struct kf_week_usage_in *u)
{
    struct kf__week_sb sb = {0};
    char line[512];
    int n = kf_week_usage_line(u, NULL, line, sizeof(line));

    if (n < 0) {
        sb.err = n;
    } else {
        kf__week_sb_printf(&sb, "%s", line);
    }
    kf__week_lines_add(l, &sb);
}

static int in_weeks(const struct kf_week_input *in, int32_t day)
{
    int32_t first;

    return kf_week_first_day(in->iso_year, in->iso_week, &first) == 0 && day >= first - 7 &&
           day < first + 7;
}

int kf_week_text(const struct kf_week_input *in, int which, char **ret, size_t *ret_len)
{
    struct kf__week_lines l = {0};
    char b[32];
    const char *head;
    int py, pw;

    switch (which) {
    case KF_WEEK_TEXT_REGISTRY:
        head = "kioskfleet/week-registry/v1";
        registry_lines(&l, in);
        break;
    case KF_WEEK_TEXT_PRESENCE:
        head = "kioskfleet/week-presence/v1";
        for (size_t i = 0; i < in->n_terminals; i++) {
            struct kf__week_sb sb = {0};

            kf__week_sb_field(&sb, in->terminals[i].asset);
            kf__week_sb_printf(&sb, "\t");
            kf__week_sb_field(&sb, in->terminals[i].zone);
            kf__week_sb_printf(&sb, "\t%u", (unsigned)(in->terminals[i].online != 0));
            kf__week_lines_add(&l, &sb);
        }
        break;
    case KF_WEEK_TEXT_USAGE:
        head = KF_WEEK_USAGE_HEAD;
        for (size_t i = 0; i < in->n_usage; i++) {
            if (in_weeks(in, in->usage[i].day)) {
                kf__week_usage_line(&l, &in->usage[i]);
            }
        }
        break;
    case KF_WEEK_TEXT_AVAILABILITY:
        head = "kioskfleet/week-availability/v1";
        kf_week_prev(in->iso_year, in->iso_week, &py, &pw);
        for (int k = 0; k < 2; k++) {
            for (size_t i = 0; i < in->n_avail[k]; i++) {
                const struct kf_week_avail_in *a = &in->avail[k][i];
                struct kf__week_sb sb = {0};

                kf__week_sb_printf(&sb, "%s\t",
                                   k == 0 ? kf_week_format(in->iso_year, in->iso_week, b, sizeof(b))
                                          : kf_week_format(py, pw, b, sizeof(b)));
                kf__week_sb_field(&sb, a->zone);
                kf__week_sb_printf(&sb, "\t%lld\t%lld\t%lld", (long long)a->owed_s,
                                   (long long)a->uptime_s, (long long)a->target_owed);
                kf__week_lines_add(&l, &sb);
            }
        }
        break;
    case KF_WEEK_TEXT_INCIDENTS:
        head = "kioskfleet/week-incidents/v1";
        for (size_t i = 0; i < in->n_incidents; i++) {
            const struct kf_incident *inc = in->incidents[i].inc;
            struct kf__week_sb sb = {0};

            if (inc == NULL) {
                continue;
            }
            /* Zero-padded ids sort as numbers. */
            kf__week_sb_printf(&sb, "%020lld\t", (long long)inc->id);
            kf__week_sb_field(&sb, inc->terminal);
            kf__week_sb_printf(&sb, "\t");
            kf__week_sb_field(&sb, in->incidents[i].zone);
            kf__week_sb_printf(&sb, "\t%u\t", (unsigned)inc->attr);
            for (uint32_t k = 0; k < inc->n_spans && k < KF_INC_SPANS_MAX; k++) {
                kf__week_sb_printf(&sb, "%s%lld-%lld", k ? "," : "",
                                   (long long)inc->spans[k].start_ms,
                                   (long long)inc->spans[k].end_ms);
            }
            kf__week_lines_add(&l, &sb);
        }
        break;
    default:
        return -EINVAL;
    }
    return kf__week_lines_join(&l, head, ret, ret_len);
}
