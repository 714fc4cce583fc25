/* views/qjson.c: query tables as typed JSON (views/qjson.h). Moved here from kioskctl's
 * print.c so that kiosk-web renders exactly what kioskctl prints. */
#include "views/qjson.h"

#include <stdio.h>
#include <stdlib.h>

#include <kf/time.h>

static int type_of(const struct kf_qtable *t, size_t c)
{
    return t->types[c] & KF_QT_TYPE_MASK;
}

const char *kf_view_qjson_time(int64_t ms, int rfc3339, char *buf, size_t cap)
{
    int64_t sod;
    char day[16];

    sod = kf_time_floor_div(ms + KF_CST_OFFSET_MS, 1000) % 86400;
    if (sod < 0)
        sod += 86400;
    kf_day_format(kf_local_day(ms), day, sizeof(day));
    snprintf(buf, cap, "%s%c%02d:%02d:%02d%s", day, rfc3339 ? 'T' : ' ', (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), rfc3339 ? "+08:00" : "");
    return buf;
}

json_t *kf_view_qjson_cell(const struct kf_qtable *t, size_t r, size_t c)
{
    const char *v = kf_store_query_table_cell(t, r, c);
    char b[64];

    if (!v)
        return json_null();
    switch (type_of(t, c)) {
    case KF_QT_INT:
    case KF_QT_SECONDS:
    case KF_QT_BP:
        return json_integer(strtoll(v, NULL, 10));
    case KF_QT_DECIMAL:
        return json_real(strtod(v, NULL));
    case KF_QT_BOOL:
        return json_boolean(v[0] == '1');
    case KF_QT_TIME:
        return json_string(kf_view_qjson_time(strtoll(v, NULL, 10), 1, b, sizeof(b)));
    default:
        return json_string(v);
    }
}

json_t *kf_view_qjson_rows(const struct kf_qtable *t, size_t from, size_t n)
{
    json_t *rows = json_array();
    size_t end = from < t->nrows ? (n < t->nrows - from ? from + n : t->nrows) : from;

    for (size_t r = from; rows && r < end; r++) {
        json_t *o = json_object();

        for (size_t c = 0; o && c < t->ncols; c++) {
            if (json_object_set_new(o, t->cols[c], kf_view_qjson_cell(t, r, c)) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(rows, o) < 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

json_t *kf_view_qjson_table(const struct kf_qtable *t)
{
    return kf_view_qjson_rows(t, 0, t->nrows);
}

json_t *kf_view_qjson_report(const struct kf_qreport *rep, int one_record)
{
    json_t *root = json_object();

    for (size_t i = 0; root && i < rep->n; i++) {
        const struct kf_qtable *t = rep->tables[i];
        json_t *rows = kf_view_qjson_table(t);

        if (rows && one_record && t->record && json_array_size(rows) == 1) {
            json_t *one = json_incref(json_array_get(rows, 0));

            json_decref(rows);
            rows = one;
        }
        if (rows && json_object_set_new(root, t->name ? t->name : "table", rows) < 0)
            rows = NULL;
        if (!rows) {
            json_decref(root);
            root = NULL;
        }
    }
    return root;
}
