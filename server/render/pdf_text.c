/* render/pdf_text.c: the PDF writers' document and text (render/pdf_text.h). */
#include "render/pdf_text.h"
#include "render/render_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    struct kf__pdf *t = user_data;

    if (!t->error) {
        t->error = error_no;
        t->detail = detail_no;
    }
}

int kf__pdf_open(struct kf__pdf *t, const char *title, int draft)
{
    t->cd = iconv_open("GBK", "UTF-8");
    if (t->cd == (iconv_t)-1)
        return -ENOTSUP;
    t->doc = HPDF_New(on_error, t);
    if (!t->doc)
        return -ENOMEM;
    HPDF_SetCompressionMode(t->doc, HPDF_COMP_ALL);
    HPDF_UseCNSFonts(t->doc);
    HPDF_UseCNSEncodings(t->doc);
    t->font = HPDF_GetFont(t->doc, "SimSun", "GBK-EUC-H");
    t->bold = HPDF_GetFont(t->doc, "SimHei", "GBK-EUC-H");
    t->latin = HPDF_GetFont(t->doc, "Helvetica", NULL);
    t->latin_bold = HPDF_GetFont(t->doc, "Helvetica-Bold", NULL);
    HPDF_SetInfoAttr(t->doc, HPDF_INFO_TITLE, title);
    HPDF_SetInfoAttr(t->doc, HPDF_INFO_CREATOR, "kioskfleet kf_render");
    if (draft)
        HPDF_SetInfoAttr(t->doc, HPDF_INFO_KEYWORDS, "DRAFT");
    return t->font && t->bold && t->latin && t->latin_bold && !t->error ? 0 : -EIO;
}

int kf__pdf_save(struct kf__pdf *t, int rc, const char *path, const char *what, char *err,
                 size_t errn)
{
    char tmp[4096];

    if (kf__render_tmp_path(path, tmp, sizeof(tmp)) != 0)
        return kf__render_fail(err, errn, -ENAMETOOLONG, "%s: %s: path too long", what, path);
    if (rc == 0 && t->doc && !t->error && HPDF_SaveToFile(t->doc, tmp) == HPDF_OK && !t->error)
        return kf__render_commit(tmp, path, err, errn);
    unlink(tmp);
    if (rc == -ENOTSUP)
        return kf__render_fail(err, errn, rc, "%s: iconv has no UTF-8 to GBK", what);
    return kf__render_fail(err, errn, rc ? rc : -EIO, "%s: %s: libharu error 0x%04X (%u)", what,
                           tmp, (unsigned)t->error, (unsigned)t->detail);
}

void kf__pdf_close(struct kf__pdf *t)
{
    if (t->doc)
        HPDF_Free(t->doc);
    if (t->cd && t->cd != (iconv_t)-1)
        iconv_close(t->cd);
    t->doc = NULL;
    t->cd = NULL;
}

/* UTF-8 to GBK into t->gbk; a character GBK lacks becomes '?', never a failure: a document
 * is printed with an odd model name rather than not at all. */
static const char *gbk(struct kf__pdf *t, const char *utf8)
{
    char *in = (char *)utf8, *out = t->gbk;
    size_t inleft = strlen(utf8), outleft = KF__PDF_GBK_CAP - 1;

    iconv(t->cd, NULL, NULL, NULL, NULL);
    while (inleft > 0 && outleft > 2) {
        if (iconv(t->cd, &in, &inleft, &out, &outleft) != (size_t)-1)
            break;
        if (errno == E2BIG)
            break;
        /* EILSEQ or a truncated sequence: skip one UTF-8 character. */
        *out++ = '?';
        outleft--;
        do {
            in++;
            inleft--;
        } while (inleft > 0 && ((unsigned char)*in & 0xC0) == 0x80);
    }
    *out = '\0';
    return t->gbk;
}

/* One run of text in one font; returns its width, draws it when draw is set. */
static float run(struct kf__pdf *t, int bold, float size, float x, float y, const char *s, size_t n,
                 int ascii, int draw)
{
    char buf[KF__PDF_GBK_CAP];
    const char *g = buf;
    HPDF_Font f;
    float w;

    snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
    if (ascii) {
        f = bold ? t->latin_bold : t->latin;
    } else {
        f = bold ? t->bold : t->font;
        g = gbk(t, buf);
    }
    HPDF_Page_SetFontAndSize(t->page, f, size);
    w = HPDF_Page_TextWidth(t->page, g);
    if (draw) {
        HPDF_Page_BeginText(t->page);
        HPDF_Page_SetFontAndSize(t->page, f, size);
        HPDF_Page_TextOut(t->page, x, y, g);
        HPDF_Page_EndText(t->page);
    }
    return w;
}

/* Whether byte i of s is drawn in the Latin font. A space beside a Chinese character is
 * drawn in the CJK font: its width then reads as a space to pdftotext and to a reader
 * copying "第 1 页" out of the document, where a narrow Helvetica space was dropped. */
static int latin_at(const char *s, size_t i, size_t n)
{
    if ((unsigned char)s[i] >= 0x80)
        return 0;
    if (s[i] != ' ')
        return 1;
    return !((i > 0 && (unsigned char)s[i - 1] >= 0x80) ||
             (i + 1 < n && (unsigned char)s[i + 1] >= 0x80));
}

float kf__pdf_mixed(struct kf__pdf *t, int bold, float size, float x, float y, const char *s,
                    size_t n, int draw)
{
    float w = 0.0f;
    size_t i = 0;

    while (i < n) {
        int latin = latin_at(s, i, n);
        size_t j = i;

        while (j < n && latin_at(s, j, n) == latin)
            j++;
        w += run(t, bold, size, x + w, y, s + i, j - i, latin, draw);
        i = j;
    }
    return w;
}

float kf__pdf_width(struct kf__pdf *t, int bold, float size, const char *s)
{
    return kf__pdf_mixed(t, bold, size, 0.0f, 0.0f, s, strlen(s), 0);
}

void kf__pdf_text(struct kf__pdf *t, int bold, float size, float x, float y, enum kf__pdf_align a,
                  const char *s)
{
    size_t n = strlen(s);
    float w = kf__pdf_mixed(t, bold, size, 0.0f, 0.0f, s, n, 0);

    kf__pdf_mixed(t, bold, size,
                  a == KF__PDF_LEFT    ? x
                  : a == KF__PDF_RIGHT ? x - w
                                       : x - w / 2,
                  y, s, n, 1);
}

size_t kf__pdf_u8len(const char *s)
{
    unsigned char c = (unsigned char)*s;

    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

void kf__pdf_hline(struct kf__pdf *t, float x0, float x1, float y, float width, float gray)
{
    HPDF_Page_SetLineWidth(t->page, width);
    HPDF_Page_SetGrayStroke(t->page, gray);
    HPDF_Page_MoveTo(t->page, x0, y);
    HPDF_Page_LineTo(t->page, x1, y);
    HPDF_Page_Stroke(t->page);
}

void kf__pdf_watermark(struct kf__pdf *t, float w, float h, float gray)
{
    const char *mark = "草稿 DRAFT";
    const float size = 72.0f, c = 0.7071f; /* 45 degrees */
    float mw = kf__pdf_width(t, 1, size, mark);

    HPDF_Page_GSave(t->page);
    HPDF_Page_Concat(t->page, c, c, -c, c, w / 2, h / 2);
    HPDF_Page_SetGrayFill(t->page, gray);
    kf__pdf_mixed(t, 1, size, -mw / 2, -size / 3, mark, strlen(mark), 1);
    HPDF_Page_GRestore(t->page);
}
