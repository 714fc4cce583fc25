/* render/sheet.c: the table-writing helpers of render/sheet_int.h. */
#include "render/sheet_int.h"
#include "render/render_int.h"

#include <errno.h>
#include <unistd.h>

#include <stdio.h>
#include <string.h>

void kf__sheet_csv_field(FILE *out, const char *s)
{
    int guard;

    if (s == NULL) {
        s = "";
    }
    guard = (s[0] != '\0' && strchr("=+@\t\r", s[0]) != NULL &&
             !(s[0] == '+' && s[1] >= '0' && s[1] <= '9')) ||
            (s[0] == '-' && !(s[1] >= '0' && s[1] <= '9'));
    if (strpbrk(s, ",\"\r\n") == NULL) {
        if (guard) {
            fputc('\'', out);
        }
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (guard) {
        fputc('\'', out);
    }
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', out);
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

void kf__sheet_csv_row(FILE *out, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            fputc(',', out);
        }
        kf__sheet_csv_field(out, f[i]);
    }
    fputs("\r\n", out);
}

char *kf__sheet_fixed(int64_t v, int64_t div, int digits, int plus, const char *suffix, char *buf,
                      size_t cap)
{
    /* The magnitude as unsigned, so that every negative has one. */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    if (v == INT64_MIN) {
        buf[0] = '\0';
        return buf;
    }
    if (digits == 0) {
        snprintf(buf, cap, "%s%llu%s",
                 v < 0           ? "-"
                 : plus && v > 0 ? "+"
                                 : "",
                 (unsigned long long)(m / (uint64_t)div), suffix);
        return buf;
    }
    snprintf(buf, cap, "%s%llu.%0*llu%s",
             v < 0           ? "-"
             : plus && v > 0 ? "+"
                             : "",
             (unsigned long long)(m / (uint64_t)div), digits,
             (unsigned long long)(m % (uint64_t)div), suffix);
    return buf;
}

void kf__sheet_title(lxw_worksheet *ws, const char *text, lxw_format *fmt, const char *doc_name,
                     int draft)
{
    char head[160];

    worksheet_write_string(ws, 0, 0, text, fmt);
    worksheet_set_row(ws, 0, 22, NULL);
    snprintf(head, sizeof(head), "&C%s", draft ? "&\"-,Bold\"&14草稿 DRAFT" : doc_name);
    worksheet_set_header(ws, head);
    worksheet_set_footer(ws, "&C第 &P 页 共 &N 页");
    worksheet_set_paper(ws, 9); /* A4 */
}

lxw_workbook *kf__sheet_open(const char *path, char *tmp, size_t cap, const char *what, int *ret,
                             char *err, size_t errn)
{
    lxw_workbook *wb;
    int rc = kf__render_tmp_path(path, tmp, cap);

    if (rc != 0) {
        *ret = kf__render_fail(err, errn, rc, "%s: %s: path too long", what, path);
        return NULL;
    }
    wb = workbook_new(tmp);
    if (!wb)
        *ret = kf__render_fail(err, errn, -ENOMEM, "%s: cannot start a workbook", what);
    return wb;
}

int kf__sheet_commit(lxw_workbook *wb, const char *tmp, const char *path, const char *what,
                     char *err, size_t errn)
{
    lxw_error lerr = workbook_close(wb);

    if (lerr != LXW_NO_ERROR) {
        unlink(tmp);
        return kf__render_fail(err, errn, -EIO, "%s: %s: %s", what, tmp, lxw_strerror(lerr));
    }
    return kf__render_commit(tmp, path, err, errn);
}
