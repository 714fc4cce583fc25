/* render/sheet_int.h: how the bureau's reports (render/week.c, render/assess.c) write a
 * table, shared inside kf_render and not part of its contract: the CSV Excel reads (RFC 4180
 * fields that never turn into formulas), fixed-point figures as text, and the first row and
 * printed page of a workbook's sheet, draft or not.
 */
#ifndef KF_RENDER_SHEET_INT_H
#define KF_RENDER_SHEET_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xlsxwriter.h>

/* One CSV field (NULL is empty): quoted per RFC 4180 when it holds a comma, a quote or a line
 * break; a text Excel would take for a formula (=, +, @, a tab or CR first, "-" not starting
 * a number) is kept as text by a leading apostrophe, while our own figures ("-53.4%", "+1.20")
 * stay numbers. */
void kf__sheet_csv_field(FILE *out, const char *s);
/* n fields separated by commas, then CRLF. */
void kf__sheet_csv_row(FILE *out, const char *const *f, size_t n);

/* v / div with digits decimals, exactly (integer arithmetic): a sign ("-", or "+" for a
 * positive v when plus), then suffix: (9912, 100, 2, 0, "%") "99.12%". INT64_MIN (the
 * reports' n/a) gives "". Returns buf (cap >= 24 holds any figure with a short suffix). */
char *kf__sheet_fixed(int64_t v, int64_t div, int digits, int plus, const char *suffix, char *buf,
                      size_t cap);

/* The first row of a sheet (text in fmt, a taller row) and its printed page: A4, the page
 * number in the footer, the header "草稿 DRAFT" on a draft (a draft printed and filed is
 * still a draft) or else doc_name (without "&", which starts a header's codes). Borrows all. */
void kf__sheet_title(lxw_worksheet *ws, const char *text, lxw_format *fmt, const char *doc_name,
                     int draft);

/* A workbook written at a temporary path beside path (tmp, cap bytes): NULL with *ret set and
 * err saying "<what>: ..." when the path is too long or libxlsxwriter cannot start one. */
lxw_workbook *kf__sheet_open(const char *path, char *tmp, size_t cap, const char *what, int *ret,
                             char *err, size_t errn);
/* Close wb and rename tmp onto path (render_int.h, kf__render_commit); on failure nothing at
 * path changes. 0 or -errno with err set. */
int kf__sheet_commit(lxw_workbook *wb, const char *tmp, const char *path, const char *what,
                     char *err, size_t errn);

#endif
