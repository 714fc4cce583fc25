/* kf-render-bill: a bill's JSON rendered to CSV, XLSX and PDF from the command line, for
 * the operator and the demo until kioskctl has bill commands.
 *
 *   kf-render-bill BILL.json [--csv OUT.csv] [--xlsx OUT.xlsx] [--pdf OUT.pdf]
 *
 * Exits 0 when every requested file was written, 1 on a refused bill or a failed write
 * (one line on stderr), 2 on a usage error.
 */
#include "render/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BILL (64L * 1024 * 1024)

static void usage(void)
{
    fprintf(stderr, "usage: kf-render-bill BILL.json [--csv OUT.csv] [--xlsx OUT.xlsx] "
                    "[--pdf OUT.pdf]\n");
}

/* The whole file, bounded (a bill of 200,000 lines is far below 64 MiB). */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 1 >= cap) {
            char *nb;
            cap = cap ? 2 * cap : 65536;
            if ((long)cap > MAX_BILL + 1 || !(nb = realloc(buf, cap))) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The CSV goes through path.tmp too, so that a refused bill leaves no file. */
static int write_csv(const char *json, const char *path, char *err, size_t errn)
{
    char tmp[4096];
    FILE *f;
    int rc;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errn, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    if (!(f = fopen(tmp, "wb"))) {
        snprintf(err, errn, "%s: %s", tmp, strerror(errno));
        return -errno;
    }
    rc = kf_render_bill_csv(json, f, err, errn);
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, errn, "%s: %s", tmp, strerror(errno));
        rc = -EIO;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, errn, "%s: %s", path, strerror(errno));
        rc = -errno;
    }
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    const char *csv = NULL, *xlsx = NULL, *pdf = NULL;
    char err[512];
    char *json;
    int rc = 0;

    if (argc < 3) {
        usage();
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--csv") == 0    ? &csv
                            : strcmp(argv[i], "--xlsx") == 0 ? &xlsx
                            : strcmp(argv[i], "--pdf") == 0  ? &pdf
                                                             : NULL;
        if (!slot || i + 1 >= argc) {
            usage();
            return 2;
        }
        *slot = argv[++i];
    }
    if (!(json = read_all(argv[1]))) {
        fprintf(stderr, "kf-render-bill: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (csv && (rc = write_csv(json, csv, err, sizeof err)) == 0)
        printf("%s\n", csv);
    if (rc == 0 && xlsx && (rc = kf_render_bill_xlsx(json, xlsx, err, sizeof err)) == 0)
        printf("%s\n", xlsx);
    if (rc == 0 && pdf && (rc = kf_render_bill_pdf(json, pdf, err, sizeof err)) == 0)
        printf("%s\n", pdf);
    free(json);
    if (rc != 0) {
        fprintf(stderr, "kf-render-bill: %s\n", err);
        return 1;
    }
    return 0;
}
