/* render/render.h: a bill (the canonical JSON of /work/spec/bill-schema.md,
 * "kioskfleet.bill/1") in the forms people use (DESIGN.md principle 11): CSV with a BOM for
 * Excel, an XLSX workbook, a printable Chinese PDF. The JSON is the document; these are views
 * of it, so every figure is copied from it, never recomputed: amounts are formatted from
 * integer fen (principle 4), and a bill whose totals are not the sums of its lines is refused
 * rather than shown.
 *
 * Every function parses and checks the whole bill first: a bill that does not match the
 * spec (malformed JSON, a missing or unknown key, a wrong type, totals that do not add up)
 * returns -EINVAL with a message naming the key in err (errn bytes, the caller's; always
 * NUL-terminated when errn > 0), and nothing is written. Files are written to "<path>.tmp"
 * and renamed over path only when complete, so path never holds half a document.
 * Returns 0 or a negative errno (kf_strerror). All arguments are borrowed. Any thread; the
 * functions share no state (libharu and libxlsxwriter handles are per call).
 */
#ifndef KF_RENDER_RENDER_H
#define KF_RENDER_RENDER_H

#include <stddef.h>
#include <stdio.h>

/* CSV for Excel on a Chinese Windows: UTF-8 with a BOM, CRLF line ends, RFC 4180 quoting.
 * A block of the bill's identity (number or 草稿 DRAFT, bank, period, issue date, the total
 * in capital numerals), a blank row, the lines under a header row of Chinese column names,
 * a blank row, then one subtotal row per tax rate and the overall total, in the lines'
 * columns. Amounts are yuan with two decimals and no grouping ("-1234.56"), so that Excel
 * reads them as numbers; rates "13%". Writes to out (not closed); -EIO if writing fails. */
int kf_render_bill_csv(const char *bill_json, FILE *out, char *err, size_t errn);

/* XLSX (libxlsxwriter): sheet 账单 (a header block, then the lines as a table: amounts as
 * numbers in yuan formatted #,##0.00, the header row frozen, an autofilter, column widths),
 * sheet 汇总 (totals per rate and overall), sheet 依据 (the inputs' digests and the
 * contract versions). A draft says 草稿 / DRAFT on every sheet, in every sheet's printed
 * header and in the document properties. */
int kf_render_bill_xlsx(const char *bill_json, const char *path, char *err, size_t errn);

/* PDF (libharu), A4 portrait, Chinese in the reader's SimSun (libharu's CNS fonts, GBK):
 * title, bank, number or a 草稿 DRAFT banner and watermark on every page, period, issue date
 * (Asia/Shanghai), the lines with the header repeated on each page, "第 i 页 共 N 页", the
 * totals per rate and overall, the total in capital numerals, and the inputs' digests with
 * how to check them. */
int kf_render_bill_pdf(const char *bill_json, const char *path, char *err, size_t errn);

#endif
