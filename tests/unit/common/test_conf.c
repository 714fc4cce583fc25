/* test_conf.c: the INI table engine (kf/conf.h): two subsystems each register a section
 * from their own table; defaults, bounds, unknown and missing keys, file:line in errors. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kf/conf.h>
#include <kf/log.h>

/* ---- subsystem one: a "spool" with a path, limits and a log level ---- */

struct spool_conf {
    char dir[64];
    char label[8];
    uint32_t max_files;
    uint64_t max_bytes;
    int nice;
    int level;
};

static const struct kf_conf_key spool_keys[] = {
    KF_CONF_KEY_PATH("dir", struct spool_conf, dir, NULL, KF_CONF_REQUIRED),
    KF_CONF_KEY_STR("label", struct spool_conf, label, "main", 0),
    KF_CONF_KEY_U32("max_files", struct spool_conf, max_files, 1, 1000, "100", 0),
    KF_CONF_KEY_U64("max_bytes", struct spool_conf, max_bytes, 1024, UINT64_C(17179869184),
                    "1048576", 0),
    KF_CONF_KEY_INT("nice", struct spool_conf, nice, -20, 19, "0", 0),
    KF_CONF_KEY_LOG_LEVEL("level", struct spool_conf, level, "info", 0),
};

/* ---- subsystem two: a "door" with a custom type and a cross-key rule ---- */

enum door_side { DOOR_LEFT = 1, DOOR_RIGHT = 2 };

struct door_conf {
    int side;
    uint32_t open_s, close_s;
};

static int parse_side(const char *value, void *field, size_t size, char *err, size_t errcap)
{
    (void)size;
    if (strcmp(value, "left") == 0)
        *(int *)field = DOOR_LEFT;
    else if (strcmp(value, "right") == 0)
        *(int *)field = DOOR_RIGHT;
    else {
        snprintf(err, errcap, "must be left or right");
        return -EINVAL;
    }
    return 0;
}

static const struct kf_conf_key door_keys[] = {
    KF_CONF_KEY_CUSTOM("side", struct door_conf, side, parse_side, "left", 0),
    KF_CONF_KEY_U32("open_s", struct door_conf, open_s, 0, 86400, "0", 0),
    KF_CONF_KEY_U32("close_s", struct door_conf, close_s, 0, 86400, "60", 0),
};

static int door_check(struct kf_conf *c, const struct kf_conf_section *s)
{
    const struct door_conf *d = s->base;

    if (d->close_s < d->open_s) {
        kf_conf_fail(c, kf_conf_line(c, "door", "close_s"), "[door] close_s before open_s");
        return -EINVAL;
    }
    return 0;
}

/* ---- the program: registers both ---- */

static struct spool_conf spool;
static struct door_conf door;
static char err[256];

static int load(const char *text)
{
    const struct kf_conf_section secs[] = {
        {"spool", spool_keys, sizeof(spool_keys) / sizeof(spool_keys[0]), &spool, NULL},
        {"door", door_keys, sizeof(door_keys) / sizeof(door_keys[0]), &door, door_check},
    };
    struct kf_conf *c;
    int rc;

    memset(err, 0, sizeof(err));
    rc = kf_conf_new(secs, 2, err, sizeof(err), &c);
    cr_assert_eq(rc, 0, "%s", err);
    rc = kf_conf_load_string(c, text, "/etc/kf/test.ini");
    kf_conf_free(c);
    return rc;
}

Test(conf, defaults_fill_every_key_not_given)
{
    cr_assert_eq(load("[spool]\ndir = /var/spool\n"), 0, "%s", err);
    cr_assert_str_eq(spool.dir, "/var/spool");
    cr_assert_str_eq(spool.label, "main");
    cr_assert_eq(spool.max_files, 100);
    cr_assert_eq(spool.max_bytes, 1048576);
    cr_assert_eq(spool.nice, 0);
    cr_assert_eq(spool.level, KF_LOG_INFO);
    cr_assert_eq(door.side, DOOR_LEFT);
    cr_assert_eq(door.close_s, 60);
}

Test(conf, reads_every_type)
{
    cr_assert_eq(load("[spool]\ndir = spool.d\nlabel = spare\nmax_files = 1000\n"
                      "max_bytes = 17179869184\nnice = -20\nlevel = debug\n"
                      "[door]\nside = right\nopen_s = 30\nclose_s = 30\n"),
                 0, "%s", err);
    cr_assert_str_eq(spool.dir, "/etc/kf/spool.d", "relative to the file's directory");
    cr_assert_str_eq(spool.label, "spare");
    cr_assert_eq(spool.max_files, 1000);
    cr_assert_eq(spool.max_bytes, UINT64_C(17179869184));
    cr_assert_eq(spool.nice, -20);
    cr_assert_eq(spool.level, KF_LOG_DEBUG);
    cr_assert_eq(door.side, DOOR_RIGHT);
    cr_assert_eq(door.open_s, 30);
}

Test(conf, defaults_alone_are_in_bounds)
{
    const struct kf_conf_section secs[] = {
        {"spool", spool_keys, sizeof(spool_keys) / sizeof(spool_keys[0]), &spool, NULL},
    };
    struct kf_conf *c;

    memset(&spool, 0xff, sizeof(spool));
    cr_assert_eq(kf_conf_new(secs, 1, err, sizeof(err), &c), 0, "%s", err);
    cr_assert_eq(kf_conf_defaults(c), 0, "%s", err);
    cr_assert_str_eq(spool.dir, "", "no default: zeroed");
    cr_assert_eq(spool.max_files, 100);
    kf_conf_free(c);
}

Test(conf, bounds_name_the_key_the_value_and_the_range)
{
    cr_assert_eq(load("[spool]\ndir = /s\nmax_files = 1001\n"), -EINVAL);
    cr_assert_str_eq(err,
                     "/etc/kf/test.ini:3: [spool] max_files = \"1001\": out of range (1..1000)");
    cr_assert_eq(load("[spool]\ndir = /s\nmax_files = 0\n"), -EINVAL);
    cr_assert(strstr(err, "out of range"), "%s", err);
    cr_assert_eq(load("[spool]\ndir = /s\nmax_files = -1\n"), -EINVAL);
    cr_assert(strstr(err, ":3: [spool] max_files = \"-1\": not an unsigned integer"), "%s", err);
    cr_assert_eq(load("[spool]\ndir = /s\nmax_bytes = 12k\n"), -EINVAL);
    cr_assert(strstr(err, "not an unsigned integer"), "%s", err);
    cr_assert_eq(load("[spool]\ndir = /s\nnice = 20\n"), -EINVAL);
    cr_assert(strstr(err, "out of range (-20..19)"), "%s", err);
    cr_assert_eq(load("[spool]\ndir = /s\nnice = x\n"), -EINVAL);
    cr_assert(strstr(err, "not an integer"), "%s", err);
    cr_assert_eq(load("[spool]\ndir = /s\nlevel = loud\n"), -EINVAL);
    cr_assert(strstr(err, "must be err, warning, notice, info or debug"), "%s", err);
    cr_assert_eq(load("[spool]\ndir = /s\nlabel = too-long\n"), -EINVAL);
    cr_assert(strstr(err, "value too long (at most 7 bytes)"), "%s", err);
    cr_assert_eq(load("[spool]\ndir =\n"), -EINVAL);
    cr_assert(strstr(err, "empty path"), "%s", err);
}

Test(conf, custom_type_reports_its_own_reason)
{
    cr_assert_eq(load("[spool]\ndir = /s\n[door]\nside = up\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:4: [door] side = \"up\": must be left or right");
}

Test(conf, unknown_key_is_an_error_at_its_line)
{
    cr_assert_eq(load("[spool]\ndir = /s\n\n; a comment\nmax_file = 5\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:5: unknown key [spool] max_file");
}

Test(conf, unknown_section_is_an_error_at_its_first_key)
{
    cr_assert_eq(load("[spool]\ndir = /s\n[spoo1]\ndir = /t\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:4: unknown section [spoo1]");
    cr_assert_eq(load("dir = /s\n[spool]\ndir = /s\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:1: key dir outside any section");
}

Test(conf, required_key_missing_names_it_without_a_line)
{
    cr_assert_eq(load("[spool]\nlabel = x\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini: missing [spool] dir");
}

Test(conf, duplicate_key_is_an_error_even_across_repeated_sections)
{
    cr_assert_eq(load("[spool]\ndir = /s\nmax_files = 5\n[door]\n[spool]\nmax_files = 6\n"),
                 -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:6: [spool] max_files given twice");
    /* a section may be opened again for other keys */
    cr_assert_eq(load("[spool]\ndir = /s\n[door]\nside = right\n[spool]\nmax_files = 6\n"), 0, "%s",
                 err);
    cr_assert_eq(spool.max_files, 6);
}

Test(conf, syntax_error_names_its_line)
{
    cr_assert_eq(load("[spool]\ndir = /s\n[door\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:3: syntax error");
}

Test(conf, first_error_wins)
{
    cr_assert_eq(load("[spool]\ndir = /s\nbogus = 1\nmax_files = 0\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:3: unknown key [spool] bogus");
}

Test(conf, two_subsystems_each_check_their_own_section)
{
    /* door's rule runs after the file is read, and names the line of the key it blames */
    cr_assert_eq(load("[door]\nclose_s = 10\nopen_s = 20\n[spool]\ndir = /s\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:2: [door] close_s before open_s");
    /* a key of one section is unknown in the other */
    cr_assert_eq(load("[spool]\ndir = /s\nside = left\n"), -EINVAL);
    cr_assert_str_eq(err, "/etc/kf/test.ini:3: unknown key [spool] side");
}

Test(conf, caller_checks_across_sections_with_lines)
{
    const struct kf_conf_section secs[] = {
        {"spool", spool_keys, sizeof(spool_keys) / sizeof(spool_keys[0]), &spool, NULL},
        {"door", door_keys, sizeof(door_keys) / sizeof(door_keys[0]), &door, NULL},
    };
    struct kf_conf *c;

    cr_assert_eq(kf_conf_new(secs, 2, err, sizeof(err), &c), 0, "%s", err);
    cr_assert_eq(kf_conf_load_string(c, "[spool]\ndir = /s\n[door]\nside = right\n", "t.ini"), 0,
                 "%s", err);
    cr_assert_eq(kf_conf_line(c, "door", "side"), 4);
    cr_assert_eq(kf_conf_line(c, "door", "open_s"), 0, "not given");
    cr_assert_eq(kf_conf_line(c, "nope", "side"), 0);
    cr_assert_str_eq(spool.dir, "/s");
    kf_conf_fail(c, kf_conf_line(c, "door", "side"), "right needs %s", "a hinge");
    kf_conf_fail(c, 1, "a second error is not kept");
    cr_assert_str_eq(err, "t.ini:4: right needs a hinge");
    cr_assert_eq(kf_conf_load_string(c, "", "t.ini"), -EALREADY, "one load per kf_conf");
    kf_conf_free(c);
}

Test(conf, file_errors_name_the_file_and_line)
{
    char path[64], want[160];
    int fd;

    snprintf(path, sizeof(path), "/tmp/kf-test-conf-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "[spool]\ndir = d\nnice = 99\n", 26), 26);
    close(fd);

    const struct kf_conf_section secs[] = {
        {"spool", spool_keys, sizeof(spool_keys) / sizeof(spool_keys[0]), &spool, NULL},
    };
    struct kf_conf *c;

    cr_assert_eq(kf_conf_new(secs, 1, err, sizeof(err), &c), 0, "%s", err);
    cr_assert_eq(kf_conf_load_file(c, path), -EINVAL);
    snprintf(want, sizeof(want), "%s:3: [spool] nice = \"99\": out of range (-20..19)", path);
    cr_assert_str_eq(err, want);
    kf_conf_free(c);
    unlink(path);

    cr_assert_eq(kf_conf_new(secs, 1, err, sizeof(err), &c), 0, "%s", err);
    cr_assert_eq(kf_conf_load_file(c, "/nonexistent/kf.ini"), -ENOENT);
    cr_assert_str_eq(err, "/nonexistent/kf.ini: cannot open: No such file or directory");
    kf_conf_free(c);
}

Test(conf, table_bugs_are_found_before_any_file)
{
    static const struct kf_conf_key bad_u32[] = {
        KF_CONF_KEY_U32("n", struct spool_conf, max_bytes, 0, 10, "1", 0), /* an 8-byte field */
    };
    static const struct kf_conf_key bad_default[] = {
        KF_CONF_KEY_U32("n", struct spool_conf, max_files, 1, 10, "11", 0),
    };
    const struct kf_conf_section twice[] = {
        {"spool", spool_keys, 1, &spool, NULL},
        {"spool", spool_keys, 1, &spool, NULL},
    };
    const struct kf_conf_section wrong_size[] = {{"spool", bad_u32, 1, &spool, NULL}};
    const struct kf_conf_section out_of_bounds[] = {{"spool", bad_default, 1, &spool, NULL}};
    struct kf_conf *c;

    cr_assert_eq(kf_conf_new(twice, 2, err, sizeof(err), &c), -EINVAL);
    cr_assert(strstr(err, "section [spool] registered twice"), "%s", err);
    cr_assert_eq(kf_conf_new(wrong_size, 1, err, sizeof(err), &c), -EINVAL);
    cr_assert(strstr(err, "[spool] key 0 (n)"), "%s", err);
    cr_assert_eq(kf_conf_new(out_of_bounds, 1, err, sizeof(err), &c), 0, "%s", err);
    cr_assert_eq(kf_conf_defaults(c), -EINVAL);
    cr_assert(strstr(err, "[spool] n: default \"11\": out of range"), "%s", err);
    kf_conf_free(c);
    kf_conf_free(NULL);
}
