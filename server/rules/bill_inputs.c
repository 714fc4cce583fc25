/* rules/bill_inputs.c: a bill's inputs from the report and the service intervals
 * (rules/bill_inputs.h). */
#define _GNU_SOURCE
#include "rules/bill_inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/record.h>
#include <kf/time.h>

#define DAY_MS 86400000LL

/* Which bank holds the asset whose intervals are svc[0..n) at instant t ("" if none). */
static const char *holder(const struct kf_bill_service *svc, size_t n, int64_t t)
{
    for (size_t i = 0; i < n; i++)
        if (svc[i].w.start_ms <= t && t < svc[i].w.end_ms)
            return svc[i].bank;
    return "";
}

static const struct kf_report_row *report_row(const struct kf_report *rep, const char *asset)
{
    for (size_t i = 0; rep && i < rep->n; i++)
        if (rep->rows[i].scope == KF_SCOPE_TERMINAL && strcmp(rep->rows[i].key, asset) == 0)
            return &rep->rows[i];
    return NULL;
}

int kf_bill_inputs_assets(const char *bank, int year, int month, const struct kf_bill_service *svc,
                          size_t n_svc, const struct kf_report *rep,
                          struct kf_bill_asset **ret_assets, size_t *ret_n,
                          struct kf_window **ret_wins)
{
    struct kf_window *wins;
    struct kf_bill_asset *assets;
    int64_t from, to;
    int32_t first_day, n_days;
    size_t nw = 0, na = 0;

    if (kf_calendar_month_range(year, month, &from, &to) < 0)
        return -EINVAL;
    first_day = kf_local_day(from);
    n_days = (int32_t)((to - from) / DAY_MS);
    wins = calloc(n_svc + 1, sizeof(*wins));
    assets = calloc(n_svc + 1, sizeof(*assets));
    if (wins == NULL || assets == NULL) {
        free(wins);
        free(assets);
        return -ENOMEM;
    }
    for (size_t i = 0, j; i < n_svc; i = j) {
        const struct kf_bill_service *a = &svc[i];
        const struct kf_report_row *row;
        const char *last_holder = "", *zone = NULL;
        int mine = 0;
        size_t w0 = nw;

        for (j = i; j < n_svc && strcmp(svc[j].asset, a->asset) == 0; j++) {
            if (strcmp(svc[j].bank, bank) != 0)
                continue;
            wins[nw++] = svc[j].w;
            zone = svc[j].zone; /* the latest interval's zone */
        }
        for (int32_t d = 0; d < n_days; d++) {
            const char *h = holder(&svc[i], j - i, kf_day_start_ms(first_day + d + 1) - 1);

            if (h[0])
                last_holder = h;
            mine |= strcmp(h, bank) == 0;
        }
        if (!mine) {
            nw = w0;
            continue;
        }
        struct kf_bill_asset *b = &assets[na++];

        b->id = a->asset;
        b->kind = a->kind;
        b->model = NULL; /* the registry keeps no model yet: by_model prices wait for it */
        b->zone = zone;
        b->in_service = &wins[w0];
        b->n_in_service = nw - w0;
        b->availability_bp = KF_BILL_NA;
        b->items_availability_bp = KF_BILL_NA;
        row = report_row(rep, a->asset);
        b->target_bp = row && row->target_bp != KF_REPORT_NA ? row->target_bp : 0;
        if (row && strcmp(last_holder, bank) == 0) {
            b->scheduled_s = row->scheduled_s;
            b->excluded_s = row->excluded_s;
            b->downtime_s = row->downtime_s;
            b->availability_bp =
                row->availability_bp == KF_REPORT_NA ? KF_BILL_NA : row->availability_bp;
            b->items_availability_bp = row->items_availability_bp == KF_REPORT_NA
                                           ? KF_BILL_NA
                                           : row->items_availability_bp;
            b->response_breaches = row->response_breaches;
            b->restore_breaches = row->restore_breaches;
        }
    }
    *ret_assets = assets;
    *ret_n = na;
    *ret_wins = wins;
    return 0;
}

static int text_end(FILE *f, char **buf, size_t *len, char **ret, size_t *ret_len)
{
    if (fclose(f) != 0) {
        free(*buf);
        return -ENOMEM;
    }
    *ret = *buf;
    *ret_len = *len;
    return 0;
}

int kf_bill_inputs_availability_text(const struct kf_bill_asset *as, size_t n, char **ret,
                                     size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len); /* memory, not a file */

    if (f == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct kf_bill_asset *a = &as[i];

        fprintf(f, "%s\t%lld\t%lld\t%lld\t%d\t%d\t%u\t%u\t%d\n", a->id, (long long)a->scheduled_s,
                (long long)a->excluded_s, (long long)a->downtime_s, a->availability_bp,
                a->target_bp, a->response_breaches, a->restore_breaches, a->items_availability_bp);
    }
    return text_end(f, &buf, &len, ret, ret_len);
}

int kf_bill_inputs_service_text(const struct kf_bill_asset *as, size_t n, char **ret,
                                size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < as[i].n_in_service; k++) {
            const struct kf_window *w = &as[i].in_service[k];

            fprintf(f, "%s\t%lld\t%lld\n", as[i].id, (long long)w->start_ms,
                    w->end_ms == KF_TIME_NEVER ? -1LL : (long long)w->end_ms);
        }
    return text_end(f, &buf, &len, ret, ret_len);
}

int kf_bill_inputs_catalog_text(const char *const *codes, const uint32_t *needs, size_t n,
                                char **ret, size_t *ret_len)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *sep = "\t";

        fputs(codes[i], f);
        for (int p = 0; p < 32; p++) {
            if (needs[i] & (1u << p)) {
                const char *name = kf_periph_name(p);
                fprintf(f, "%s%s", sep, name ? name : "?");
                sep = ",";
            }
        }
        fputs(*sep == '\t' ? "\t\n" : "\n", f);
    }
    return text_end(f, &buf, &len, ret, ret_len);
}
