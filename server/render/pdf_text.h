/* render/pdf_text.h: what the PDF writers share (render/pdf.c, the bill; render/week_pdf.c,
 * the weekly bulletin): a libharu document with the reader's CJK fonts, and text in them.
 * Chinese is drawn in SimSun and SimHei (libharu's CNS fonts, GBK), ASCII in Helvetica, so
 * that figures look like figures and copy out of the PDF as ASCII, which they would not
 * through GBK-EUC-H. Internal to kf_render.
 */
#ifndef KF_RENDER_PDF_TEXT_H
#define KF_RENDER_PDF_TEXT_H

#include <hpdf.h>
#include <iconv.h>
#include <stddef.h>

#define KF__PDF_GBK_CAP 8192

enum kf__pdf_align { KF__PDF_LEFT, KF__PDF_RIGHT, KF__PDF_CENTER };

struct kf__pdf {
    HPDF_Doc doc;
    HPDF_Page page;              /* the page drawn on */
    HPDF_Font font, bold;        /* CJK: SimSun, SimHei (GBK) */
    HPDF_Font latin, latin_bold; /* ASCII: Helvetica (WinAnsi) */
    iconv_t cd;
    HPDF_STATUS error, detail; /* libharu's first error: the cause; later ones follow from it */
    char gbk[KF__PDF_GBK_CAP];
};

/* A document with its fonts; title (ASCII: the info dictionary is not in GBK), and the
 * keyword DRAFT on a draft. 0, -ENOMEM, -ENOTSUP (no UTF-8 to GBK in iconv) or -EIO. t
 * arrives zeroed; kf__pdf_close frees what was made, whatever this returned. */
int kf__pdf_open(struct kf__pdf *t, const char *title, int draft);
/* Write the document to path atomically (a temporary file, then renamed) when rc is 0 and
 * libharu saw no error; otherwise (or when the write fails) nothing at path changes and
 * err says "<what>: <tmp>: libharu error ...". Returns 0 or -errno. */
int kf__pdf_save(struct kf__pdf *t, int rc, const char *path, const char *what, char *err,
                 size_t errn);
void kf__pdf_close(struct kf__pdf *t);

/* The first n bytes of s (UTF-8, whole characters) at (x, y), as runs of Latin and of the
 * rest; returns their width, and draws them when draw is set. */
float kf__pdf_mixed(struct kf__pdf *t, int bold, float size, float x, float y, const char *s,
                    size_t n, int draw);
float kf__pdf_width(struct kf__pdf *t, int bold, float size, const char *s);
/* Text at x (left), ending at x (right) or centred on x. */
void kf__pdf_text(struct kf__pdf *t, int bold, float size, float x, float y, enum kf__pdf_align a,
                  const char *s);
/* The length in bytes of the UTF-8 character at s (valid UTF-8). */
size_t kf__pdf_u8len(const char *s);
void kf__pdf_hline(struct kf__pdf *t, float x0, float x1, float y, float width, float gray);
/* "草稿 DRAFT" across the page (w by h) at 45 degrees in gray, behind everything drawn after,
 * so that no copy of a draft passes for an issued document. */
void kf__pdf_watermark(struct kf__pdf *t, float w, float h, float gray);

#endif
