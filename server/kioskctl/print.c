/* kioskctl/print.c: kioskctl's output: tables (with CJK display width), CSV and JSON. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/err.h>

#include "kioskctl/ctl.h"

/* Display columns of one code point: 2 for East Asian wide/fullwidth, 0 for combining
 * marks and zero-width characters, else 1. Enough for Chinese names and ASCII codes. */
static int cp_width(uint32_t c)
{
    if (c == 0x200B || (c >= 0x0300 && c <= 0x036F) || (c >= 0xFE00 && c <= 0xFE0F))
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
        (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
        (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

/* Display width of a UTF-8 string; an invalid byte counts as one column. */
static size_t str_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;

    while (*p) {
        uint32_t c;
        int n;

        if (*p < 0x80) {
            c = *p;
            n = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1Fu;
            n = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0Fu;
            n = 3;
        } else if ((*p & 0xF8) == 0xF0) {
            c = *p & 0x07u;
            n = 4;
        } else {
            w++;
            p++;
            continue;
        }
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                n = 1;
                c = 0xFFFD;
                break;
            }
            c = (c << 6) | (p[i] & 0x3Fu);
        }
        w += (size_t)cp_width(c);
        p += n;
    }
    return w;
}

static void pad(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

static const char *cell_text(const struct kf_qtable *t, size_t r, size_t c)
{
    const char *v = kf_store_query_table_cell(t, r, c);

    return v ? v : "-";
}

/* A one-row table with many columns reads better as "name  value" lines. */
static void print_vertical(FILE *f, const struct kf_qtable *t)
{
    size_t w = 0;

    for (size_t c = 0; c < t->ncols; c++) {
        size_t cw = str_width(t->cols[c]);
        w = cw > w ? cw : w;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        fputs(t->cols[c], f);
        pad(f, w - str_width(t->cols[c]) + 2);
        fprintf(f, "%s\n", cell_text(t, 0, c));
    }
}

static int print_table(FILE *f, const struct kf_qtable *t)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof(*w));

    if (!w)
        return -ENOMEM;
    if (t->title)
        fprintf(f, "== %s ==\n", t->title);
    if (t->nrows == 1 && t->ncols > 8) {
        print_vertical(f, t);
        free(w);
        return 0;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = str_width(t->cols[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = str_width(cell_text(t, r, c));
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (size_t r = 0; r <= t->nrows + 1; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v;
            size_t vw;

            if (r == 1) { /* the rule under the header */
                for (size_t i = 0; i < w[c]; i++)
                    fputc('-', f);
                if (c + 1 < t->ncols)
                    fputs("  ", f);
                continue;
            }
            v = r == 0 ? t->cols[c] : cell_text(t, r - 2, c);
            vw = str_width(v);
            if (t->numeric[c]) {
                pad(f, w[c] - vw);
                fputs(v, f);
            } else {
                fputs(v, f);
                if (c + 1 < t->ncols)
                    pad(f, w[c] - vw);
            }
            if (c + 1 < t->ncols)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
    if (t->nrows == 0)
        fputs("(none)\n", f);
    free(w);
    return 0;
}

static void csv_field(FILE *f, const char *v)
{
    if (!v)
        return;
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void print_csv(FILE *f, const struct kf_qtable *t)
{
    if (t->title)
        fprintf(f, "# %s\n", t->title);
    for (size_t c = 0; c < t->ncols; c++) {
        csv_field(f, t->cols[c]);
        fputc(c + 1 < t->ncols ? ',' : '\n', f);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            csv_field(f, kf_store_query_table_cell(t, r, c));
            fputc(c + 1 < t->ncols ? ',' : '\n', f);
        }
    }
}

static json_t *json_cell(const struct kf_qtable *t, size_t r, size_t c)
{
    const char *v = kf_store_query_table_cell(t, r, c);
    char *end;

    if (!v)
        return json_null();
    if (t->numeric[c]) {
        if (strpbrk(v, ".eE")) {
            double d = strtod(v, &end);
            if (*end == '\0')
                return json_real(d);
        } else {
            long long i = strtoll(v, &end, 10);
            if (*end == '\0')
                return json_integer(i);
        }
    }
    return json_string(v);
}

/* An array of row objects; NULL on allocation failure. */
static json_t *table_json(const struct kf_qtable *t)
{
    json_t *rows = json_array();

    for (size_t r = 0; rows && r < t->nrows; r++) {
        json_t *o = json_object();

        for (size_t c = 0; o && c < t->ncols; c++) {
            if (json_object_set_new(o, t->cols[c], json_cell(t, r, c)) < 0) {
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

int kf_ctl_emit_json(json_t *j)
{
    int r;

    if (!j)
        return -ENOMEM;
    r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
    return r < 0 ? -EIO : 0;
}

int kf_ctl_print_table(const struct kf_qtable *t, enum kf_ctl_format fmt)
{
    switch (fmt) {
    case KF_FMT_CSV:
        print_csv(stdout, t);
        return 0;
    case KF_FMT_JSON:
        return kf_ctl_emit_json(table_json(t));
    default:
        return print_table(stdout, t);
    }
}

/* Reports: tables one after another (table, CSV) or one object keyed by title (JSON).
 * single_row: titles whose table is one row print as an object, not an array. */
int kf_ctl_print_report(const struct kf_qreport *rep, enum kf_ctl_format fmt)
{
    json_t *root;
    int r;

    if (fmt != KF_FMT_JSON) {
        for (size_t i = 0; i < rep->n; i++) {
            if (i > 0)
                fputc('\n', stdout);
            r = kf_ctl_print_table(rep->tables[i], fmt);
            if (r < 0)
                return r;
        }
        return 0;
    }
    root = json_object();
    for (size_t i = 0; root && i < rep->n; i++) {
        const struct kf_qtable *t = rep->tables[i];
        json_t *rows = table_json(t);

        if (rows && json_object_set_new(root, t->title ? t->title : "table", rows) < 0)
            rows = NULL;
        if (!rows) {
            json_decref(root);
            root = NULL;
        }
    }
    return kf_ctl_emit_json(root);
}

int kf_ctl_fail(struct kf_store *st, const char *what, int r)
{
    const char *msg = kf_store_errmsg(st);

    fprintf(stderr, "kioskctl: %s: %s\n", what, *msg ? msg : kf_strerror(r));
    return 1;
}
