/* views/qcsv.c: query tables as CSV (views/qcsv.h). Moved here from kioskctl's print.c so
 * that kiosk-web's downloads are kioskctl's files. */
#include "views/qcsv.h"

#include <stdlib.h>
#include <string.h>

#include "views/qjson.h"

#define KF__BOM "\xef\xbb\xbf"

/* One CSV field as text: quoted when it holds a comma, a quote or a line break; a text
 * that Excel would take for a formula (=, +, -, @, a tab or CR first) is kept as text by a
 * leading apostrophe (docs/KIOSKCTL.md, "CSV"). */
void kf_view_qcsv_field(FILE *f, const struct kf_qtable *t, size_t r, size_t c)
{
    const char *v = kf_store_query_table_cell(t, r, c);
    char b[64];
    int guard, quote;

    if (v == NULL)
        return;
    if ((t->types[c] & KF_QT_TYPE_MASK) == KF_QT_TIME) {
        fputs(kf_view_qjson_time(strtoll(v, NULL, 10), 0, b, sizeof(b)), f);
        return;
    }
    if ((t->types[c] & KF_QT_TYPE_MASK) != KF_QT_TEXT) {
        fputs(v, f);
        return;
    }
    guard = v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL;
    quote = guard || strpbrk(v, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (guard)
        fputc('\'', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    if (quote)
        fputc('"', f);
}

void kf_view_qcsv_table(FILE *f, const struct kf_qtable *t,
                        int (*keep)(const struct kf_qtable *t, size_t r, void *ud), void *ud)
{
    fputs(KF__BOM, f);
    for (size_t c = 0; c < t->ncols; c++) /* our own names: no quoting needed */
        fprintf(f, "%s%c", t->cols[c], c + 1 < t->ncols ? ',' : '\n');
    for (size_t r = 0; r < t->nrows; r++) {
        if (keep && !keep(t, r, ud))
            continue;
        for (size_t c = 0; c < t->ncols; c++) {
            kf_view_qcsv_field(f, t, r, c);
            fputc(c + 1 < t->ncols ? ',' : '\n', f);
        }
    }
}
