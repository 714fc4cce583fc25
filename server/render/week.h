/* render/week.h: the bureau's weekly report (the canonical JSON "kioskfleet.week/1",
 * rules/week.h; docs/REPORTS.md) in the forms the bureau uses (DESIGN.md principle 11): CSV
 * for Excel, an XLSX workbook with one sheet per view, and a short printable bulletin (通报)
 * in Chinese as a PDF with charts. The JSON is the document; these are views of it: every
 * figure is copied from it, never recomputed (a rate is the document's integer, written as a
 * percentage), and a document that does not parse as the spec says is refused.
 *
 * Every function parses and checks the whole document first: malformed JSON, another "doc",
 * a missing key or one of the wrong type returns -EINVAL with a message naming it in err
 * (errn bytes; always NUL-terminated when errn > 0), and nothing is written. Files are
 * written to "<path>.tmp" and renamed over path only when complete. Returns 0 or a negative
 * errno (kf_strerror). All arguments are borrowed. Any thread; no shared state.
 */
#ifndef KF_RENDER_WEEK_H
#define KF_RENDER_WEEK_H

#include <stddef.h>
#include <stdio.h>

/* The views of the report, as CSV sections, XLSX sheets and kioskctl's --view. */
enum kf_render_week_view {
    KF_RENDER_WEEK_ALL = 0,
    KF_RENDER_WEEK_UNIT,     /* 区县: per county-level unit */
    KF_RENDER_WEEK_BANK,     /* 银行 */
    KF_RENDER_WEEK_ZONE,     /* 专区: every zone */
    KF_RENDER_WEEK_FAMILY,   /* 服务类别 */
    KF_RENDER_WEEK_ITEM,     /* 服务事项 */
    KF_RENDER_WEEK_INACTIVE, /* 无业务: zones with no transaction, then idle terminals */
    KF_RENDER_WEEK_VIEWS_,
};
/* "unit", "bank", "zone", "family", "item", "inactive" -> the view; -1 for anything else. */
int kf_render_week_view(const char *name);

/* CSV for Excel on a Chinese Windows: UTF-8 with a BOM, CRLF line ends, RFC 4180 quoting.
 * view KF_RENDER_WEEK_ALL: a block naming the report (week, dates, DRAFT when a draft), then
 * one section per view, each a title row, a header row of Chinese column names and its rows,
 * sections separated by a blank row. One view: its header row and rows only, so that the file
 * opens as one table. Counts are integers; per terminal per day "3.60"; rates "99.12%"; a
 * change "-53.4%"; n/a an empty field. Writes to out (not closed); -EIO if writing fails. */
int kf_render_week_csv(const char *json, int view, FILE *out, char *err, size_t errn);

/* XLSX (libxlsxwriter): sheets 概要 (the summary, the week's days, the busiest and quietest
 * zones, the inputs' digests), 区县, 银行, 专区, 服务类别, 服务事项, 无业务专区, 无业务终端:
 * numbers as numbers (rates as percentages, per terminal per day with two decimals), the header row
 * frozen, an autofilter, column widths; a draft says 草稿 DRAFT on every sheet. */
int kf_render_week_xlsx(const char *json, const char *path, char *err, size_t errn);

/* The bulletin (通报): A4 portrait, Chinese (libharu's CNS fonts, as the bill's PDF): the
 * week and its calendar, a short summary (zones active and inactive, transactions and the
 * change against the week before, availability, incidents open, the busiest and quietest
 * zones), two bar charts (completed transactions per county-level unit, this week against
 * last; availability per bank against its target), a compact table per unit; DRAFT banner
 * and watermark on a draft. */
int kf_render_week_pdf(const char *json, const char *path, char *err, size_t errn);

#endif
