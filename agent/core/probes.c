/* core/probes.c: bounded reads of procfs/sysfs into a health record.
 *
 * Directories are listed with getdents64(2) into a stack buffer rather than opendir(3),
 * which mallocs its buffer: a sample allocates nothing.
 */
#define _GNU_SOURCE /* getdents64(2), struct dirent64 */
#include "core/probes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define KF_PROBES_ROOT_MAX (KF_PROBES_PATH_MAX - 64)
#define KF_PROBES_SMALL_BUF 4096
#define KF_PROBES_NETDEV_BUF 16384 /* ~140 interfaces */

static int pr_copy(char *dst, const char *src)
{
    size_t len = strlen(src);

    if (len == 0)
        return -EINVAL;
    if (len >= KF_PROBES_ROOT_MAX)
        return -ENAMETOOLONG;
    memcpy(dst, src, len + 1);
    return 0;
}

/* Read at most cap - 1 bytes of a file and NUL-terminate. Returns the length or -errno.
 * A longer file is cut: the parsers only use complete lines. */
static ssize_t pr_read(const char *path, char *buf, size_t cap)
{
    size_t off = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    while (off < cap - 1) {
        ssize_t n = read(fd, buf + off, cap - 1 - off);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            n = -errno;
            close(fd);
            return n;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    buf[off] = '\0';
    return (ssize_t)off;
}

/* Read a file under a root ("<root>/<name>"). */
static ssize_t pr_read_at(const char *root, const char *name, char *buf, size_t cap)
{
    char path[KF_PROBES_PATH_MAX * 2];
    int n = snprintf(path, sizeof(path), "%s/%s", root, name);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    return pr_read(path, buf, cap);
}

/* Parse an unsigned decimal at *s (leading blanks skipped); advance *s. 0 or -EINVAL. */
static int pr_u64(const char **s, uint64_t *ret)
{
    const char *p = *s;
    uint64_t v = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *s = p;
    *ret = v;
    return 0;
}

/* Parse a signed decimal (sysfs temperatures can be negative). */
static int pr_i64(const char **s, int64_t *ret)
{
    const char *p = *s;
    uint64_t v;
    int neg = 0, r;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    r = pr_u64(&p, &v);
    if (r < 0)
        return r;
    if (v > (uint64_t)INT64_MAX)
        return -ERANGE;
    *s = p;
    *ret = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The aggregate "cpu" line: busy and total jiffies. guest/guest_nice are already counted
 * in user/nice, so only the first eight fields are summed. */
static int pr_cpu(const struct kf_probes *p, uint64_t *ret_busy, uint64_t *ret_total)
{
    char buf[KF_PROBES_SMALL_BUF];
    uint64_t f[8] = {0}, total = 0, idle;
    const char *s;
    ssize_t n = pr_read_at(p->proc_root, "stat", buf, sizeof(buf));

    if (n < 0)
        return (int)n;
    if (strncmp(buf, "cpu ", 4) != 0)
        return -EINVAL;
    s = buf + 4;
    for (int i = 0; i < 8; i++) {
        /* Old kernels have fewer fields: missing ones count as 0, but four are required. */
        if (pr_u64(&s, &f[i]) < 0) {
            if (i < 4)
                return -EINVAL;
            break;
        }
    }
    for (int i = 0; i < 8; i++) {
        if (total + f[i] < total)
            return -ERANGE;
        total += f[i];
    }
    idle = f[3] + f[4]; /* idle + iowait */
    if (idle > total)
        return -EINVAL;
    *ret_busy = total - idle;
    *ret_total = total;
    return 0;
}

static int32_t pr_per_mille(uint64_t busy, uint64_t total)
{
    uint64_t pm;

    if (busy > total)
        busy = total;
    while (busy > UINT64_MAX / 1000) { /* not with real jiffies; keeps the product exact */
        busy >>= 10;
        total >>= 10;
    }
    if (total == 0)
        return 0;
    pm = (busy * 1000 + total / 2) / total;
    return pm > 1000 ? 1000 : (int32_t)pm;
}

static void pr_meminfo(const struct kf_probes *p, struct kf_rec_health *h)
{
    static const char *const keys[] = {
        "MemTotal:", "MemAvailable:", "MemFree:", "Buffers:", "Cached:"};
    char buf[KF_PROBES_SMALL_BUF];
    uint64_t v[5] = {0};
    int have[5] = {0};
    const char *line;
    ssize_t n = pr_read_at(p->proc_root, "meminfo", buf, sizeof(buf));

    if (n < 0)
        return;
    for (line = buf; *line != '\0';) {
        const char *eol = strchr(line, '\n');

        if (eol == NULL)
            break; /* cut off by the buffer, or no newline: not a complete line */
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            size_t kl = strlen(keys[k]);
            const char *s = line + kl;

            if (!have[k] && strncmp(line, keys[k], kl) == 0 && pr_u64(&s, &v[k]) == 0)
                have[k] = 1;
        }
        line = eol + 1;
    }
    if (have[0])
        h->mem_total_kb = v[0];
    if (have[1])
        h->mem_avail_kb = v[1];
    else if (have[2]) /* kernels before 3.14 have no MemAvailable: estimate it */
        h->mem_avail_kb = v[2] + v[3] + v[4];
}

static void pr_disk(const struct kf_probes *p, struct kf_rec_health *h)
{
    struct statvfs sv;
    uint64_t frsize;

    if (statvfs(p->disk_path, &sv) < 0)
        return;
    frsize = sv.f_frsize ? (uint64_t)sv.f_frsize : (uint64_t)sv.f_bsize;
    h->disk_total_kb = (uint64_t)sv.f_blocks * frsize / 1024;
    h->disk_avail_kb = (uint64_t)sv.f_bavail * frsize / 1024;
}

static void pr_uptime(const struct kf_probes *p, struct kf_rec_health *h)
{
    char buf[256];
    const char *s = buf;
    uint64_t v;

    if (pr_read_at(p->proc_root, "uptime", buf, sizeof(buf)) < 0)
        return;
    if (pr_u64(&s, &v) == 0)
        h->uptime_s = v; /* the fraction is dropped */
}

/* /proc/net/dev: two header lines, then "<if>: rx_bytes 7 more... tx_bytes 7 more". */
static void pr_netdev(const struct kf_probes *p, struct kf_rec_health *h)
{
    char buf[KF_PROBES_NETDEV_BUF];
    const char *line;
    int skip = 2;

    if (pr_read_at(p->proc_root, "net/dev", buf, sizeof(buf)) < 0)
        return;
    for (line = buf; *line != '\0';) {
        const char *eol = strchr(line, '\n');
        const char *colon, *name, *s;
        uint64_t f[9];
        size_t nl;
        int ok = 1;

        if (eol == NULL)
            break;
        if (skip > 0) {
            skip--;
            line = eol + 1;
            continue;
        }
        colon = memchr(line, ':', (size_t)(eol - line));
        if (colon == NULL) {
            line = eol + 1;
            continue;
        }
        for (name = line; name < colon && *name == ' '; name++)
            ;
        nl = (size_t)(colon - name);
        s = colon + 1;
        for (int i = 0; i < 9 && ok; i++)
            ok = pr_u64(&s, &f[i]) == 0 && s <= eol;
        if (ok && !(nl == 2 && memcmp(name, "lo", 2) == 0)) {
            h->net_rx += f[0];
            h->net_tx += f[8];
        }
        line = eol + 1;
    }
}

/* Call fn(ud, dirfd, name) for every entry of dir except "." and "..". */
static void pr_list(const char *dir, void (*fn)(void *ud, int dirfd, const char *name), void *ud)
{
    char buf[4096] __attribute__((aligned(8)));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return;
    for (;;) {
        ssize_t n = getdents64(fd, buf, sizeof(buf));

        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);

            if (d->d_reclen == 0)
                break;
            off += d->d_reclen;
            if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
                fn(ud, fd, d->d_name);
        }
    }
    close(fd);
}

/* Read a small file relative to a directory fd. */
static ssize_t pr_read_rel(int dirfd, const char *name, const char *file, char *buf, size_t cap)
{
    char rel[KF_PROBES_PATH_MAX];
    int n = snprintf(rel, sizeof(rel), "%s/%s", name, file);
    size_t off = 0;
    int fd;

    if (n < 0 || (size_t)n >= sizeof(rel))
        return -ENAMETOOLONG;
    fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (off < cap - 1) {
        ssize_t r = read(fd, buf + off, cap - 1 - off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    buf[off] = '\0';
    return (ssize_t)off;
}

static void pr_thermal_zone(void *ud, int dirfd, const char *name)
{
    int64_t *max = ud, v;
    char buf[64];
    const char *s = buf;

    if (strncmp(name, "thermal_zone", 12) != 0)
        return;
    if (pr_read_rel(dirfd, name, "temp", buf, sizeof(buf)) <= 0)
        return;
    if (pr_i64(&s, &v) < 0 || v <= (int64_t)KF_TEMP_NONE || v > INT32_MAX)
        return;
    if (v > *max)
        *max = v;
}

static void pr_net_iface(void *ud, int dirfd, const char *name)
{
    uint8_t *up = ud;
    char buf[64];

    if (strcmp(name, "lo") == 0)
        return;
    if (pr_read_rel(dirfd, name, "operstate", buf, sizeof(buf)) <= 0)
        return;
    if (strcmp(buf, "up\n") == 0 || strcmp(buf, "up") == 0)
        *up = 1;
}

static void pr_net_up(const struct kf_probes *p, struct kf_rec_health *h)
{
    char dir[KF_PROBES_PATH_MAX];
    int n = snprintf(dir, sizeof(dir), "%s/class/net", p->sys_root);

    if (n > 0 && (size_t)n < sizeof(dir))
        pr_list(dir, pr_net_iface, &h->net_up);
}

int kf_probes_init(struct kf_probes *p, const char *proc_root, const char *sys_root,
                   const char *disk_path)
{
    struct kf_probes tmp;
    int r, n;

    if (p == NULL)
        return -EINVAL;
    memset(&tmp, 0, sizeof(tmp));
    if ((r = pr_copy(tmp.proc_root, proc_root ? proc_root : "/proc")) < 0 ||
        (r = pr_copy(tmp.sys_root, sys_root ? sys_root : "/sys")) < 0 ||
        (r = pr_copy(tmp.disk_path, disk_path ? disk_path : "/")) < 0)
        return r;
    n = snprintf(tmp.thermal_dir, sizeof(tmp.thermal_dir), "%s/class/thermal", tmp.sys_root);
    if (n < 0 || (size_t)n >= KF_PROBES_ROOT_MAX)
        return -ENAMETOOLONG;
    tmp.have_prev = pr_cpu(&tmp, &tmp.prev_busy, &tmp.prev_total) == 0;
    *p = tmp;
    return 0;
}

int kf_probes_set_thermal_dir(struct kf_probes *p, const char *thermal_dir)
{
    if (p == NULL || thermal_dir == NULL)
        return -EINVAL;
    return pr_copy(p->thermal_dir, thermal_dir);
}

void kf_probes_close(struct kf_probes *p)
{
    /* Nothing is held between samples; clear so a stale struct is not mistaken for live. */
    if (p != NULL)
        memset(p, 0, sizeof(*p));
}

int kf_probes_sample(struct kf_probes *p, int64_t now_ms, struct kf_record *ret)
{
    struct kf_record rec;
    struct kf_rec_health *h = &rec.u.health;
    uint64_t busy, total;
    int64_t temp = KF_TEMP_NONE;

    if (p == NULL || ret == NULL || p->proc_root[0] == '\0')
        return -EINVAL;
    memset(&rec, 0, sizeof(rec));
    rec.type = KF_REC_HEALTH;
    rec.ts_ms = now_ms;

    if (pr_cpu(p, &busy, &total) == 0) {
        if (p->have_prev && total > p->prev_total && busy >= p->prev_busy)
            h->cpu_pm = pr_per_mille(busy - p->prev_busy, total - p->prev_total);
        else if (p->have_prev && total == p->prev_total)
            h->cpu_pm = 0; /* no time passed */
        else
            h->cpu_pm = pr_per_mille(busy, total); /* no usable baseline: since boot */
        p->prev_busy = busy;
        p->prev_total = total;
        p->have_prev = 1;
    }
    pr_meminfo(p, h);
    pr_disk(p, h);
    pr_list(p->thermal_dir, pr_thermal_zone, &temp);
    h->temp_mc = (int32_t)temp;
    pr_uptime(p, h);
    pr_netdev(p, h);
    pr_net_up(p, h);
    *ret = rec;
    return 0;
}
