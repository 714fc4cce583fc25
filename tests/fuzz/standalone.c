/* standalone.c: replay files through a fuzz target without libFuzzer. Each argument is a
 * file or a directory of files (not recursive). Exits 0 when every input ran, 1 when none
 * was given or one could not be read; a crash is the sanitizer's report and exit. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (4u * 1024u * 1024u)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = malloc(INPUT_MAX);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, INPUT_MAX, f);
    fclose(f);
    /* An exact-size copy, so that a read past the input is the sanitizer's to report. */
    {
        uint8_t *exact = malloc(n > 0 ? n : 1);
        if (exact == NULL) {
            free(buf);
            return -1;
        }
        memcpy(exact, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

static int run_path(const char *path, size_t *count)
{
    struct stat sb;
    struct dirent *e;
    DIR *d;
    int rc = 0;

    if (stat(path, &sb) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL && rc == 0) {
        char sub[4096];
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= (int)sizeof(sub))
            continue;
        if (stat(sub, &sb) == 0 && S_ISREG(sb.st_mode)) {
            (*count)++;
            rc = run_file(sub);
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;

    for (int i = 1; i < argc; i++) {
        if (run_path(argv[i], &count) != 0)
            return 1;
    }
    printf("%s: %zu inputs replayed\n", argc > 0 ? argv[0] : "fuzz", count);
    return count > 0 ? 0 : 1;
}
