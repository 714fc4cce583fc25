/* broker.c: broker accounts and broker-sync for kiosk-provision (broker.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/brokerpw.h>
#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>

#include "broker.h"
#include "prov.h"
#include "store/broker.h"
#include "store/store.h"

#define KF_PASSWD_MAX (64u << 20) /* an old password file larger than this is not ours */

/* Mosquitto 2.0 acl_file syntax: "topic" lines after "user X" apply to X only. Mosquitto
 * 2.0 does not check SUBSCRIBE against these rules: "read" is checked when a message is
 * delivered, so a client may subscribe to another's topic but never receives anything on
 * it. The file is this head, then one section per device and per enrollment account,
 * written from the store's accounts (acl_add): no "pattern" rule, since a pattern applies
 * to every client and an enrolling client may publish on its enroll topic only. */
static const char acl_head[] =
    "# kioskfleet broker ACL, written by kiosk-provision broker-sync: do not edit.\n"
    "# docs/OPERATIONS.md, \"Broker credentials\".\n"
    "\n"
    "# The server reads every device's topics and the broker's counters, and writes acks\n"
    "# and commands.\n"
    "user " KF_BROKER_USER_SERVER "\n"
    "topic read kf/v1/+/hello\n"
    "topic read kf/v1/+/telemetry\n"
    "topic read kf/v1/+/events\n"
    "topic read kf/v1/+/state\n"
    "topic read kf/v1/+/enroll\n"
    "topic read kf/v1/+/blob\n"
    "topic write kf/v1/+/ack\n"
    "topic write kf/v1/+/cmd\n"
    "topic read $SYS/#\n"
    "# ... and announces incidents and SLA breaches (docs/KIOSKD.md, [sla] notify_topic).\n"
    "topic write kf/v1/_notify/#\n"
    "\n"
    "# Readers of the announcements (an operations dashboard): read only.\n"
    "user _notify\n"
    "topic read kf/v1/_notify/#\n"
    "\n"
    "# Each device publishes only on its own device-to-server topics and reads only its own\n"
    "# acks and commands; an enrolling client (\"_enroll-<token id>\") publishes only its\n"
    "# enrollment request and reads only the answer.\n";

/* ---- accounts ---- */

int kf_prov_broker_account_create(struct kf_store *st, const char *username, const char *role,
                                  const char *device_id, const char *pw_path, int reuse)
{
    char pw[KF_BROKERPW_MAX + 1], verifier[KF_BROKERPW_VERIFIER_LEN + 1];
    int r = -ENOENT;

    if (reuse)
        r = kf_brokerpw_read(pw_path, pw, sizeof(pw));
    if (r == -ENOENT) {
        kf_brokerpw_generate(pw);
        r = kf_brokerpw_write(pw_path, pw);
        if (r < 0) {
            kf_err("cannot write broker password %s: %s", pw_path, kf_strerror(r));
            goto out_wipe;
        }
    } else if (r < 0) {
        kf_err("cannot read broker password %s: %s", pw_path,
               r == -EPERM ? "readable by group or others" : kf_strerror(r));
        goto out_wipe;
    }
    r = kf_brokerpw_verifier(pw, verifier, sizeof(verifier));
    if (r == 0)
        r = kf_store_broker_put(st, username, role, device_id, verifier, 0, kf_now_ms());
    if (r < 0)
        kf_err("cannot store the broker account %s: %s", username,
               *kf_store_errmsg(st) ? kf_store_errmsg(st) : kf_strerror(r));
out_wipe:
    sodium_memzero(pw, sizeof(pw));
    return r;
}

/* ---- broker-sync ---- */

struct text {
    char *buf;
    size_t len, cap;
};

/* Append "a:b\n" (b NULL: a alone). */
static int text_add(struct text *t, const char *a, const char *b)
{
    size_t need = strlen(a) + 1 + (b ? strlen(b) : 0) + 1;

    if (t->len + need + 1 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4096;
        char *nb;

        while (ncap < t->len + need + 1)
            ncap *= 2;
        nb = realloc(t->buf, ncap);
        if (!nb)
            return -ENOMEM;
        t->buf = nb;
        t->cap = ncap;
    }
    if (b)
        t->len += (size_t)snprintf(t->buf + t->len, t->cap - t->len, "%s:%s\n", a, b);
    else
        t->len += (size_t)snprintf(t->buf + t->len, t->cap - t->len, "%s", a);
    return 0;
}

struct sync_text {
    struct text passwd, acl;
};

/* The account's ACL section: what its role may publish and receive, on its own topics. */
static int acl_add(struct text *t, const struct kf_broker_account *a)
{
    static const char *const device_w[] = {"hello", "telemetry", "events",
                                           "state", "enroll",    "blob"};
    static const char *const device_r[] = {"ack", "cmd"};
    static const char *const enroll_w[] = {"enroll"};
    static const char *const enroll_r[] = {"ack"};
    const char *const *w, *const *rd;
    size_t nw, nr;
    char line[160];
    int r;

    if (strcmp(a->role, "device") == 0) {
        w = device_w, nw = 6, rd = device_r, nr = 2;
    } else if (strcmp(a->role, "enroll") == 0) {
        w = enroll_w, nw = 1, rd = enroll_r, nr = 1;
    } else {
        return 0; /* the server's and the readers' sections are in the head */
    }
    snprintf(line, sizeof(line), "user %s\n", a->username);
    r = text_add(t, line, NULL);
    for (size_t i = 0; i < nw + nr && r == 0; i++) {
        snprintf(line, sizeof(line), "topic %s kf/v1/%s/%s\n", i < nw ? "write" : "read",
                 a->username, i < nw ? w[i] : rd[i - nw]);
        r = text_add(t, line, NULL);
    }
    return r;
}

static int add_account(void *ud, const struct kf_broker_account *a)
{
    struct sync_text *st = ud;
    int r = text_add(&st->passwd, a->username, a->verifier);

    return r == 0 ? acl_add(&st->acl, a) : r;
}

/* "user:verifier" lines of a password file, in place: sorted pointers to each line. */
struct lines {
    char **v;
    size_t n;
};

static int cmp_line(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t xl = strcspn(x, ":"), yl = strcspn(y, ":");
    int c = memcmp(x, y, xl < yl ? xl : yl);

    return c ? c : (xl > yl) - (xl < yl);
}

static int split_lines(char *text, struct lines *ret)
{
    size_t cap = 0;
    char *p = text;

    ret->v = NULL;
    ret->n = 0;
    while (*p) {
        char *nl = strchr(p, '\n');

        if (nl)
            *nl = '\0';
        if (*p && *p != '#' && strchr(p, ':')) {
            if (ret->n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                char **nv = realloc(ret->v, ncap * sizeof(*nv));

                if (!nv)
                    return -ENOMEM;
                ret->v = nv;
                cap = ncap;
            }
            ret->v[ret->n++] = p;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (ret->n)
        qsort(ret->v, ret->n, sizeof(*ret->v), cmp_line);
    return 0;
}

/* Whole file into a NUL-terminated buffer (owned); a missing file is an empty one. */
static int read_all(const char *path, char **ret, size_t *ret_len)
{
    struct stat sb;
    char *buf;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT) {
        *ret = calloc(1, 1);
        *ret_len = 0;
        return *ret ? 0 : -ENOMEM;
    }
    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > KF_PASSWD_MAX) {
        close(fd);
        return -EBADMSG;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    while (len < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)sb.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* Replace dir/name atomically with mode 0640 and group gid (unless (gid_t)-1). */
static int write_in(const char *dir, const char *name, const char *text, size_t len, gid_t gid)
{
    char path[PATH_MAX];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return -ENAMETOOLONG;
    return kf_file_write_atomic(path, text, len, 0640, gid, 0);
}

/* The broker, started as root, re-reads its files as the user mosquitto after SIGHUP. */
static gid_t broker_gid(void)
{
    struct group *g;

    if (geteuid() != 0)
        return (gid_t)-1;
    g = getgrnam("mosquitto");
    return g ? g->gr_gid : (gid_t)-1;
}

/* Count what changed between two sorted sets of "user:verifier" lines. */
static void diff_lines(const struct lines *old, const struct lines *cur, size_t *added,
                       size_t *removed, size_t *changed)
{
    size_t i = 0, j = 0;

    *added = *removed = *changed = 0;
    while (i < old->n || j < cur->n) {
        int c = i == old->n ? 1 : j == cur->n ? -1 : cmp_line(&old->v[i], &cur->v[j]);

        if (c < 0) {
            (*removed)++;
            i++;
        } else if (c > 0) {
            (*added)++;
            j++;
        } else {
            if (strcmp(old->v[i], cur->v[j]) != 0)
                (*changed)++; /* a new password for the same name */
            i++;
            j++;
        }
    }
}

/* kf_prov_broker_sync_store, with its one-line report on out. */
static int broker_sync_to(struct kf_store *st, const char *dir, pid_t pid, int64_t now_ms,
                          FILE *out)
{
    struct sync_text sync = {{0}, {0}};
    struct text *t = &sync.passwd;
    struct lines old_l = {0}, new_l = {0};
    char *old = NULL, *old_acl = NULL, *copy = NULL, path[PATH_MAX];
    size_t old_len, acl_len, added, removed, changed;
    gid_t gid = broker_gid();
    int r, acl_same;

    if (mkdir(dir, 0750) == 0) {
        if (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) < 0)
            kf_warn("cannot give %s to the group mosquitto: %s", dir, strerror(errno));
    } else if (errno != EEXIST) {
        r = -errno;
        kf_err("cannot create %s: %s", dir, strerror(errno));
        return r;
    }
    t->cap = 4096;
    t->buf = malloc(t->cap); /* zero accounts make an empty file, not a missing one */
    if (!t->buf || text_add(&sync.acl, acl_head, NULL) < 0) {
        r = -ENOMEM;
        goto out_oom;
    }
    t->buf[0] = '\0';
    r = kf_store_broker_each(st, now_ms, add_account, &sync);
    if (r < 0) {
        kf_err("cannot read the broker accounts: %s",
               *kf_store_errmsg(st) ? kf_store_errmsg(st) : kf_strerror(r));
        goto out_free;
    }

    snprintf(path, sizeof(path), "%s/passwd", dir);
    r = read_all(path, &old, &old_len);
    if (r == 0) {
        snprintf(path, sizeof(path), "%s/acl", dir);
        r = read_all(path, &old_acl, &acl_len);
    }
    if (r < 0) {
        kf_err("cannot read the current files in %s: %s", dir, kf_strerror(r));
        goto out_free;
    }
    acl_same = strcmp(old_acl, sync.acl.buf) == 0;
    copy = strdup(t->buf);
    if (!copy || split_lines(old, &old_l) < 0 || split_lines(copy, &new_l) < 0) {
        r = -ENOMEM;
        goto out_oom;
    }
    diff_lines(&old_l, &new_l, &added, &removed, &changed);

    r = write_in(dir, "passwd", t->buf, t->len, gid);
    if (r == 0)
        r = write_in(dir, "acl", sync.acl.buf, sync.acl.len, gid);
    if (r < 0) {
        kf_err("cannot write %s/passwd and %s/acl: %s", dir, dir, kf_strerror(r));
        goto out_free;
    }
    if (pid > 0 && kill(pid, SIGHUP) < 0) {
        r = -errno;
        kf_err("files written, but cannot signal the broker (pid %ld): %s", (long)pid,
               strerror(errno));
        goto out_free;
    }
    fprintf(out,
            "broker-sync: %zu accounts in %s/passwd: %zu added, %zu removed, %zu changed; "
            "acl %s; ",
            new_l.n, dir, added, removed, changed, acl_same ? "unchanged" : "written");
    if (pid > 0)
        fprintf(out, "SIGHUP sent to the broker (pid %ld)\n", (long)pid);
    else
        fprintf(out, "broker not signalled (no pid given)\n");
    goto out_free;

out_oom:
    kf_err("out of memory");
out_free:
    free(old_l.v);
    free(new_l.v);
    free(copy);
    free(old);
    free(old_acl);
    free(sync.passwd.buf);
    free(sync.acl.buf);
    return r;
}

int kf_prov_broker_sync_store(struct kf_store *st, const char *dir, pid_t pid, int64_t now_ms)
{
    return broker_sync_to(st, dir, pid, now_ms, stdout);
}

int kf_prov_broker_pid_file(const char *path, pid_t *ret)
{
    char buf[32], *end;
    long v;
    FILE *f = fopen(path, "re");

    if (!f) {
        int r = -errno;

        kf_err("cannot read pid file %s: %s", path, strerror(errno));
        return r;
    }
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno || end == buf || (*end && *end != '\n') || v < 2 || v > INT_MAX) {
        kf_err("%s: not a process id", path);
        return -EBADMSG;
    }
    *ret = (pid_t)v;
    return 0;
}

int kf_prov_broker_sync(const char *db, const char *auth_dir, const char *pid_file)
{
    struct kf_store *st;
    pid_t pid = 0;
    int r;

    if (pid_file && kf_prov_broker_pid_file(pid_file, &pid) < 0)
        return 1;
    r = kf_store_open(db, KF_STORE_NOCREATE, &st);
    if (r < 0) {
        kf_err("cannot open database %s: %s", db, kf_strerror(r));
        return 1;
    }
    /* The identity commands print a token or a verdict on stdout (TOKEN=$(kiosk-provision
     * token ...) must capture the token alone): the sync's report goes with their notes. */
    r = broker_sync_to(st, auth_dir, pid, kf_now_ms(), stderr);
    kf_store_free(st);
    return r < 0 ? 1 : 0;
}
