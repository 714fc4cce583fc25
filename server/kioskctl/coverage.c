/* kioskctl/coverage.c: kioskctl coverage [--at YYYY-MM-DD] [--targets FILE] (docs/REPORTS.md
 * "Coverage", docs/KIOSKCTL.md): zones and terminals planned, commissioned and reporting per
 * county-level unit and per bank against the city's targets, and the service items on the
 * banks' ITMs, from the store (views/coverage.h). Tables (checks, units, banks, families) for
 * --format table|csv; --format json is the canonical document. Reads only. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "views/coverage.h"

/* Where `cmake --install` would put fixtures/targets.ini (docs/OPERATIONS.md's data folder). */
#define KF_TARGETS_DEFAULT "/usr/share/kioskfleet/targets.ini"
#define KF_TARGETS_MAX (64 * 1024)

static char *read_small(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(KF_TARGETS_MAX + 1) : NULL;
    size_t n = 0;

    if (f == NULL || buf == NULL) {
        if (f)
            fclose(f);
        return NULL;
    }
    n = fread(buf, 1, KF_TARGETS_MAX + 1, f);
    if (ferror(f) || n > KF_TARGETS_MAX) {
        errno = ferror(f) ? EIO : EFBIG;
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static const char *na(int64_t v, char *buf)
{
    return v == KF_WEEK_NA ? NULL : kf_ctl_int(v, buf);
}

static struct kf_qtable *checks_table(const struct kf_coverage *c)
{
    static const char *const cols[] = {"target",    "required", "planned",  "commissioned",
                                       "reporting", "met",      "plan_met", NULL};
    char title[96], at[16];
    struct kf_qtable *t;

    snprintf(title, sizeof(title), "coverage at the end of %s against the targets",
             kf_day_format(c->at_day, at, sizeof(at)));
    t = kf_store_query_table_new("checks", title, cols, "xiiiibb");
    for (int i = 0; t && i < KF_COVERAGE_CHECKS; i++) {
        const struct kf_coverage_check *k = &c->checks[i];
        char b[4][24];
        const char *cells[] = {k->name,
                               kf_ctl_int(k->required, b[0]),
                               kf_ctl_int(k->planned, b[1]),
                               kf_ctl_int(k->commissioned, b[2]),
                               kf_ctl_int(k->reporting, b[3]),
                               k->met ? "1" : "0",
                               k->plan_met ? "1" : "0"};
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

static struct kf_qtable *rows_table(const char *name, const char *title,
                                    const struct kf_coverage_row *rows, size_t n,
                                    const struct kf_coverage_row *total)
{
    static const char *const cols[] = {"code",
                                       "name",
                                       "zones_target",
                                       "zones_planned",
                                       "zones_delisted",
                                       "zones_commissioned",
                                       "zones_reporting",
                                       "planned",
                                       "commissioned",
                                       "commissioned_kiosks",
                                       "commissioned_itms",
                                       "reporting",
                                       "met",
                                       NULL};
    struct kf_qtable *t = kf_store_query_table_new(name, title, cols, "xxiiiiiiiiiib");

    for (size_t i = 0; t && i <= n; i++) {
        const struct kf_coverage_row *w = i < n ? &rows[i] : total;
        char b[11][24];
        const char *cells[] = {i < n ? w->code : "all",
                               i < n ? w->name : "全市",
                               na(w->zones_target, b[0]),
                               kf_ctl_int(w->zones_planned, b[1]),
                               kf_ctl_int(w->zones_delisted, b[2]),
                               kf_ctl_int(w->zones_commissioned, b[3]),
                               kf_ctl_int(w->zones_reporting, b[4]),
                               kf_ctl_int(w->planned, b[5]),
                               kf_ctl_int(w->commissioned, b[6]),
                               kf_ctl_int(w->commissioned_kiosks, b[7]),
                               kf_ctl_int(w->commissioned_itms, b[8]),
                               kf_ctl_int(w->reporting, b[9]),
                               na(w->met, b[10])};
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

static struct kf_qtable *families_table(const struct kf_coverage *c)
{
    static const char *const cols[] = {"code", "name", "items", NULL};
    char title[96];
    struct kf_qtable *t;

    snprintf(title, sizeof(title), "service items offered on the ITMs: %lld in %zu families",
             (long long)c->items, c->n_families);
    t = kf_store_query_table_new("families", title, cols, "xxi");
    for (size_t i = 0; t && i < c->n_families; i++) {
        char b[24];
        const char *cells[] = {c->families[i].code, c->families[i].name,
                               kf_ctl_int(c->families[i].items, b)};
        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}

int kf_ctl_coverage(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"at", required_argument, NULL, 'a'},
        {"targets", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    const char *targets_path = KF_TARGETS_DEFAULT;
    struct kf_coverage_targets targets;
    struct kf_view_coverage_opts o = {0};
    struct kf_view_coverage *v = NULL;
    struct kf_qreport rep = {0};
    struct kf_store *st;
    char err[256] = "", *text;
    int32_t at = kf_local_day(kf_now_ms());
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 'a' && kf_day_parse(optarg, &at) == 0)
            continue;
        if (ch == 't') {
            targets_path = optarg;
            continue;
        }
        fprintf(stderr, "usage: kioskctl --db DB coverage [--at YYYY-MM-DD] [--targets FILE]\n");
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: kioskctl --db DB coverage [--at YYYY-MM-DD] [--targets FILE]\n");
        return 2;
    }
    if ((text = read_small(targets_path)) == NULL) {
        fprintf(stderr,
                "kioskctl: coverage: targets %s: %s (give --targets FILE: "
                "fixtures/targets.ini)\n",
                targets_path, strerror(errno));
        return 1;
    }
    r = kf_coverage_targets_parse(text, targets_path, &targets, err, sizeof(err));
    free(text);
    if (r < 0) {
        fprintf(stderr, "kioskctl: coverage: %s\n", err);
        return 1;
    }
    /* No store of delisting decisions exists yet: none is passed (views/coverage.h). */
    o.at_day = at;
    o.targets = &targets;
    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_view_coverage(st, &o, &v, err, sizeof(err));
    kf_store_free(st);
    if (r < 0) {
        fprintf(stderr, "kioskctl: coverage: %s\n", err);
        return 1;
    }
    if (c->fmt == KF_FMT_JSON && c->table == NULL) {
        FILE *f = c->out ? fopen(c->out, "wb") : stdout;

        r = f != NULL && fwrite(v->json, 1, v->len, f) == v->len &&
                    (c->out != NULL || fputc('\n', f) != EOF)
                ? 0
                : 1;
        if (f && f != stdout && fclose(f) != 0)
            r = 1;
        if (f == stdout && fflush(f) != 0)
            r = 1;
        if (r)
            fprintf(stderr, "kioskctl: coverage: %s: %s\n", c->out ? c->out : "stdout",
                    strerror(errno));
        else if (c->out)
            printf("%s\n", c->out);
        kf_view_coverage_free(v);
        return r;
    }
    r = kf_store_query_report_add(&rep, checks_table(v->cov));
    if (r == 0)
        r = kf_store_query_report_add(&rep,
                                      rows_table("units", "per county-level unit", v->cov->units,
                                                 v->cov->n_units, &v->cov->fleet));
    if (r == 0)
        r = kf_store_query_report_add(
            &rep, rows_table("banks", "per bank", v->cov->banks, v->cov->n_banks, &v->cov->fleet));
    if (r == 0)
        r = kf_store_query_report_add(&rep, families_table(v->cov));
    if (r == 0) {
        r = kf_ctl_print_report(c, "coverage", &rep);
    } else {
        fprintf(stderr, "kioskctl: coverage: out of memory\n");
        r = 1;
    }
    for (size_t i = 0; i < rep.n; i++)
        kf_store_query_table_free(rep.tables[i]);
    free(rep.tables);
    kf_view_coverage_free(v);
    return r;
}
