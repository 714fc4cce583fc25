/* render/assess.h: the bureau's half-year assessment (the canonical JSON
 * "kioskfleet.assessment/1", rules/assess.h; docs/REPORTS.md "The assessment document") in the
 * forms the bureau uses (DESIGN.md principle 11): an XLSX workbook with one sheet per view and
 * CSV for Excel. The JSON is the document; these are views of it: every figure is copied from
 * it, never recomputed (a rate is the document's integer, written as a percentage; a score its
 * hundredths as points), and a document that does not parse as the spec says is refused.
 *
 * Every function parses and checks the whole document first: malformed JSON, another "doc", a
 * missing or unknown key or one of the wrong type, a result and reason that do not go
 * together, a zone's criteria not the rubric's, return -EINVAL with a message naming the key
 * in err (errn bytes; always NUL-terminated when errn > 0), and nothing is written. Files are
 * written to "<path>.tmp" and renamed over path only when complete. Returns 0 or a negative
 * errno (kf_strerror). All arguments are borrowed. Any thread; no shared state.
 */
#ifndef KF_RENDER_ASSESS_H
#define KF_RENDER_ASSESS_H

#include <stddef.h>
#include <stdio.h>

/* The views of the assessment, as CSV sections, XLSX sheets and kioskctl's --view. */
enum kf_render_assess_view {
    KF_RENDER_ASSESS_ALL = 0,
    KF_RENDER_ASSESS_ZONES, /* 专区考核: every zone, its result, total and criteria */
    KF_RENDER_ASSESS_UNITS, /* 区县汇总: per county-level unit */
    KF_RENDER_ASSESS_BANKS, /* 银行排名: the banks in ranking order */
    KF_RENDER_ASSESS_VIEWS_,
};
/* "zones", "units", "banks" -> the view; -1 for anything else. */
int kf_render_assess_view(const char *name);

/* CSV for Excel on a Chinese Windows: UTF-8 with a BOM, CRLF line ends, RFC 4180 quoting.
 * view KF_RENDER_ASSESS_ALL: a block naming the document (period, days, status: 草稿 DRAFT on
 * a draft, version, issue time, rubric), then the three views as sections, each a title row,
 * a header row of Chinese column names and its rows, separated by a blank row. One view: its
 * header row and rows only, so that the file opens as one table. Results and reasons in
 * Chinese (合格, 不合格, 不参评); counts and seconds integers; points and activity "70.50";
 * shares "99.12%"; n/a an empty field. Writes to out (not closed); -EIO if writing fails. */
int kf_render_assess_csv(const char *json, int view, FILE *out, char *err, size_t errn);

/* XLSX (libxlsxwriter): sheets 专区考核 (every zone; per criterion of the rubric its value in
 * the measure's unit and its points; a failed zone's row filled red, a criterion below its
 * pass mark in red), 区县汇总, 银行排名 (rank first), 考核细则 (the rubric) and 依据 (period,
 * status, issue, version, what it supersedes and why, the inputs' digests). Numbers as
 * numbers (shares as percentages, points and activity with two decimals), the header rows
 * frozen, autofilters, column widths; a draft says 草稿 DRAFT on every sheet, in its printed
 * header and in the document properties. */
int kf_render_assess_xlsx(const char *json, const char *path, char *err, size_t errn);

#endif
