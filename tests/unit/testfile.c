/* testfile.c: see testfile.h. */
#include "testfile.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>

char *kf_test_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *buf;
    long n;

    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n, "%s", path);
    buf[n] = '\0';
    fclose(f);
    return buf;
}
