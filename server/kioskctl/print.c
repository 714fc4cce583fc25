/* kioskctl/print.c: kioskctl's output (docs/KIOSKCTL.md, "Formats"). Every table goes
 * through kf_ctl_render_table: the table view for people at a terminal (CJK display
 * width), CSV for Excel on Chinese Windows (UTF-8 with a BOM by default, GBK on request:
 * glibc's iconv, a character GBK lacks is an error, never a '?') and JSON with one type per
 * field. A column's type (store/query.h) decides how each cell is shown. */
#define _GNU_SOURCE
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <kf/err.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "views/qcsv.h"
#include "views/qjson.h"

#define KF__BOM "\xef\xbb\xbf"

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

static int type_of(const struct kf_qtable *t, size_t c)
{
    return t->types[c] & KF_QT_TYPE_MASK;
}

static int right_aligned(int type)
{
    return type == KF_QT_INT || type == KF_QT_DECIMAL || type == KF_QT_SECONDS || type == KF_QT_BP;
}

/* An instant in local time: "2026-11-27 09:31:02", or with rfc3339 "2026-11-27T09:31:02+08:00". */
static const char *time_text(const char *ms_text, int rfc3339, char *buf, size_t cap)
{
    return kf_view_qjson_time(strtoll(ms_text, NULL, 10), rfc3339, buf, cap);
}

/* A column's header in the table view: a duration or a ratio is shown in its own units
 * there ("1h05m", "96.19%"), so its name drops the "_s" or "_bp" the files carry. */
static const char *view_header(const struct kf_qtable *t, size_t c, char *buf, size_t cap)
{
    const char *name = t->cols[c];
    size_t n = strlen(name);
    int type = type_of(t, c);

    if (type == KF_QT_SECONDS && n > 2 && strcmp(name + n - 2, "_s") == 0)
        snprintf(buf, cap, "%.*s", (int)(n - 2), name);
    else if (type == KF_QT_BP && n > 3 && strcmp(name + n - 3, "_bp") == 0)
        snprintf(buf, cap, "%.*s", (int)(n - 3), name);
    else
        snprintf(buf, cap, "%s", name);
    return buf;
}

/* A cell in the table view. */
static const char *view_cell(const struct kf_qtable *t, size_t r, size_t c, char *buf, size_t cap)
{
    const char *v = kf_store_query_table_cell(t, r, c);
    long long n;

    if (v == NULL)
        return "-";
    switch (type_of(t, c)) {
    case KF_QT_TIME:
        return time_text(v, 0, buf, cap);
    case KF_QT_BOOL:
        return v[0] == '1' ? "yes" : "no";
    case KF_QT_SECONDS:
        return kf_ctl_dur(strtoll(v, NULL, 10), buf, cap);
    case KF_QT_BP:
        n = strtoll(v, NULL, 10);
        snprintf(buf, cap, "%s%lld.%02lld%%", n < 0 ? "-" : "", llabs(n) / 100, llabs(n) % 100);
        return buf;
    default:
        return v;
    }
}

/* Name/value lines, one block per row. */
static void view_vertical(FILE *f, const struct kf_qtable *t)
{
    char h[64], b[64];
    size_t w = 0;

    for (size_t c = 0; c < t->ncols; c++) {
        size_t cw = str_width(view_header(t, c, h, sizeof(h)));
        w = cw > w ? cw : w;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        if (r > 0)
            fputc('\n', f);
        for (size_t c = 0; c < t->ncols; c++) {
            if (t->types[c] & KF_QT_FILE_ONLY)
                continue;
            view_header(t, c, h, sizeof(h));
            fputs(h, f);
            pad(f, w - str_width(h) + 2);
            fprintf(f, "%s\n", view_cell(t, r, c, b, sizeof(b)));
        }
    }
}

static int view_table(FILE *f, const struct kf_qtable *t, int vertical)
{
    size_t *w = calloc(t->ncols + 1, sizeof(*w)), last = 0;
    char h[64], b[64];

    if (!w)
        return -ENOMEM;
    if (t->title)
        fprintf(f, "== %s ==\n", t->title);
    if (t->nrows == 0) {
        fputs("(none)\n", f);
        free(w);
        return 0;
    }
    if (vertical || t->record) {
        view_vertical(f, t);
        free(w);
        return 0;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        if (t->types[c] & KF_QT_FILE_ONLY)
            continue;
        last = c;
        w[c] = str_width(view_header(t, c, h, sizeof(h)));
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = str_width(view_cell(t, r, c, b, sizeof(b)));
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (size_t r = 0; r <= t->nrows + 1; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v;
            size_t vw;

            if (t->types[c] & KF_QT_FILE_ONLY)
                continue;
            if (r == 1) { /* the rule under the header */
                for (size_t i = 0; i < w[c]; i++)
                    fputc('-', f);
            } else {
                v = r == 0 ? view_header(t, c, h, sizeof(h)) : view_cell(t, r - 2, c, b, sizeof(b));
                vw = str_width(v);
                if (right_aligned(type_of(t, c)))
                    pad(f, w[c] - vw);
                fputs(v, f);
                if (!right_aligned(type_of(t, c)) && c < last)
                    pad(f, w[c] - vw);
            }
            if (c < last)
                fputs("  ", f);
        }
        fputc('\n', f);
    }
    free(w);
    return 0;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* UTF-8 text -> GBK, appended to out. On a character GBK lacks: -EILSEQ and *bad_cp set. */
static int to_gbk(iconv_t cd, const char *s, FILE *out, uint32_t *bad_cp)
{
    char buf[256], *in = (char *)s;
    size_t inleft = strlen(s);

    iconv(cd, NULL, NULL, NULL, NULL);
    while (inleft > 0) {
        char *o = buf;
        size_t oleft = sizeof(buf);
        size_t n = iconv(cd, &in, &inleft, &o, &oleft);

        fwrite(buf, 1, (size_t)(o - buf), out);
        if (n == (size_t)-1 && errno != E2BIG) {
            const unsigned char *p = (const unsigned char *)in;
            uint32_t cp = p[0];
            int len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;

            if (len > 1)
                cp = p[0] & (0x3Fu >> (len - 1));
            for (int i = 1; i < len && p[i]; i++)
                cp = (cp << 6) | (p[i] & 0x3Fu);
            *bad_cp = cp;
            return -EILSEQ;
        }
    }
    return 0;
}

/* The first text cell of a row: what names the row in an error ("Z-XH-004"). */
static const char *row_key(const struct kf_qtable *t, size_t r)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (type_of(t, c) == KF_QT_TEXT && !(t->types[c] & KF_QT_FILE_ONLY) &&
            kf_store_query_table_cell(t, r, c) != NULL)
            return kf_store_query_table_cell(t, r, c);
    return "";
}

static int render_csv(FILE *out, const struct kf_qtable *t, enum kf_ctl_encoding enc, char *err,
                      size_t cap)
{
    iconv_t cd = (iconv_t)-1;
    char *cell = NULL;
    size_t cell_len = 0;
    int r = 0;

    if (enc == KF_ENC_GBK) {
        cd = iconv_open("GBK", "UTF-8");
        if (cd == (iconv_t)-1) {
            snprintf(err, cap, "iconv cannot convert to GBK here: %s", strerror(errno));
            return -errno;
        }
    } else {
        fputs(KF__BOM, out);
    }
    for (size_t row = 0; r == 0 && row <= t->nrows; row++) {
        for (size_t c = 0; r == 0 && c < t->ncols; c++) {
            FILE *f = cd == (iconv_t)-1 ? out : open_memstream(&cell, &cell_len);
            uint32_t cp = 0;

            if (f == NULL) {
                r = -ENOMEM;
                break;
            }
            if (row == 0)
                fputs(t->cols[c], f); /* our own names: no quoting needed */
            else
                kf_view_qcsv_field(f, t, row - 1, c);
            if (f != out) { /* GBK: convert the field as a whole, to name it if it fails */
                r = fclose(f) != 0 ? -ENOMEM : to_gbk(cd, cell, out, &cp);
                if (r == -EILSEQ)
                    snprintf(err, cap,
                             "--encoding gbk: line %zu of the CSV (row %zu, %s), column %s: "
                             "U+%04X has no GBK code; write UTF-8 (the default) instead",
                             row + 1, row, row ? row_key(t, row - 1) : "header", t->cols[c],
                             (unsigned)cp);
                free(cell);
                cell = NULL;
            }
            fputc(c + 1 < t->ncols ? ',' : '\n', out);
        }
    }
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    return r;
}

/* ---- JSON --------------------------------------------------------------------------------- */

/* An array of row objects (views/qjson.h, shared with kiosk-web); NULL on allocation failure. */
static json_t *table_json(const struct kf_qtable *t)
{
    return kf_view_qjson_table(t);
}

static int render_json(FILE *out, json_t *j)
{
    int r;

    if (!j)
        return -ENOMEM;
    r = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(j);
    return r < 0 ? -ENOMEM : 0;
}

int kf_ctl_render_table(const struct kf_qtable *t, enum kf_ctl_format fmt, enum kf_ctl_encoding enc,
                        int vertical, char **ret_buf, size_t *ret_len, char *err, size_t cap)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int r;

    if (f == NULL)
        return -ENOMEM;
    err[0] = '\0';
    if (fmt == KF_FMT_CSV)
        r = render_csv(f, t, enc, err, cap);
    else if (fmt == KF_FMT_JSON)
        r = render_json(f, table_json(t));
    else
        r = view_table(f, t, vertical);
    if (fclose(f) != 0 && r == 0)
        r = -ENOMEM;
    if (r < 0) {
        free(buf);
        return r;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

/* ---- Where it goes ------------------------------------------------------------------------ */

static int write_all(const char *path, const char *buf, size_t len)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    int ok;

    if (f == NULL) {
        fprintf(stderr, "kioskctl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    ok = fwrite(buf, 1, len, f) == len;
    ok = (path ? fclose(f) : fflush(f)) == 0 && ok;
    if (!ok)
        fprintf(stderr, "kioskctl: %s: %s\n", path ? path : "output", strerror(errno));
    return ok ? 0 : 1;
}

/* Render t and write it to path (NULL: stdout). An exit status. */
static int emit(const struct kf_ctl *c, const struct kf_qtable *t, const char *path)
{
    char *buf = NULL, err[400];
    size_t len = 0;
    int r = kf_ctl_render_table(t, c->fmt, c->enc, c->vertical, &buf, &len, err, sizeof(err));

    if (r < 0) {
        fprintf(stderr, "kioskctl: %s\n", err[0] ? err : kf_strerror(r));
        return 1;
    }
    r = write_all(path, buf, len);
    free(buf);
    return r;
}

int kf_ctl_print_report(const struct kf_ctl *c, const char *cmd, const struct kf_qreport *rep)
{
    static const char *const ext[] = {"txt", "csv", "json"};
    const struct kf_qtable *only = NULL;
    json_t *root;
    char names[256] = "";
    size_t len = 0;
    int r = 0;

    for (size_t i = 0; i < rep->n; i++) {
        const char *name = rep->tables[i]->name ? rep->tables[i]->name : "table";

        len += (size_t)snprintf(names + len, len < sizeof(names) ? sizeof(names) - len : 0, "%s%s",
                                i ? ", " : "", name);
        if (c->table && strcmp(c->table, name) == 0)
            only = rep->tables[i];
    }
    if (c->table && only == NULL) {
        fprintf(stderr, "kioskctl: %s has no table '%s'; its tables: %s\n", cmd, c->table, names);
        return 2;
    }
    if (c->out) { /* one file per table */
        for (size_t i = 0; r == 0 && i < rep->n; i++) {
            const struct kf_qtable *t = rep->tables[i];
            char path[4096];

            if (only && t != only)
                continue;
            snprintf(path, sizeof(path), "%s-%s.%s", c->out, t->name ? t->name : "table",
                     ext[c->fmt]);
            r = emit(c, t, path);
            if (r == 0)
                printf("%s\n", path);
        }
        return r != 0 || fflush(stdout) != 0 ? 1 : 0;
    }
    if (only)
        return emit(c, only, NULL);
    if (rep->n == 1)
        return emit(c, rep->tables[0], NULL);
    if (c->fmt == KF_FMT_CSV) {
        fprintf(stderr,
                "kioskctl: %s has %zu tables (%s) and a CSV file holds one: name one with "
                "--table NAME, or write each to its own file with -o PREFIX\n",
                cmd, rep->n, names);
        return 2;
    }
    if (c->fmt == KF_FMT_TABLE) {
        for (size_t i = 0; r == 0 && i < rep->n; i++) {
            if (i > 0 && fputc('\n', stdout) == EOF)
                return 1;
            r = emit(c, rep->tables[i], NULL);
        }
        return r;
    }
    /* JSON: one object, each table's rows under its name. */
    root = kf_view_qjson_report(rep, 0);
    return kf_ctl_emit_json(root) < 0 ? 1 : 0;
}

int kf_ctl_print_table_free(const struct kf_ctl *c, const char *cmd, struct kf_qtable *t)
{
    struct kf_qreport rep = {1, &t};
    int r;

    if (t == NULL) {
        fprintf(stderr, "kioskctl: %s: out of memory\n", cmd);
        return 1;
    }
    r = kf_ctl_print_report(c, cmd, &rep);
    kf_store_query_table_free(t);
    return r;
}

int kf_ctl_emit_json(json_t *j)
{
    int r = render_json(stdout, j);

    return r < 0 || fflush(stdout) != 0 ? -EIO : 0;
}

int kf_ctl_fail(struct kf_store *st, const char *what, int r)
{
    const char *msg = st ? kf_store_errmsg(st) : "";

    fprintf(stderr, "kioskctl: %s: %s\n", what, *msg ? msg : kf_strerror(r));
    return 1;
}
