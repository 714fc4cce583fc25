/* web/static.c: the console's files ([web] console_dir), read on a pool thread. A path is
 * taken only when, decoded, it has no "." or ".." segment, no backslash and no NUL (the
 * decoder refuses %00), and when the file it names, symbolic links resolved, is still inside
 * the console's directory. A path without an extension that names no file is one of the
 * console's own routes: index.html answers it.
 *
 * A file read is kept as a body (web/body.h: its ETag and gzip copy made once) for as long
 * as the file on disk is the same one: same device, inode, size and modification time,
 * checked by an fstat on every call; a file replaced or rewritten is read again. At most
 * FILES_MAX files and FILES_BYTES bytes are kept, the least recently served forgotten
 * first; a file over FILE_KEPT_MAX is read and sent as it is on every call, uncompressed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web/body.h"
#include "web/web.h"

#define FILE_MAX (32u << 20)
#define FILES_MAX 256
#define FILES_BYTES ((size_t)64 << 20)
#define FILE_KEPT_MAX (FILES_BYTES / 4) /* a larger file is sent as read, not kept */

struct kept_file {
    char *path; /* the real path */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint64_t used; /* the table's tick when last served: the least recently used goes first */
    struct kf_web_body *body;
};

struct kf_web_files {
    pthread_mutex_t mu;
    struct kept_file f[FILES_MAX];
    size_t n, bytes;
    uint64_t tick;
};

int kf_web_files_new(struct kf_web_files **ret)
{
    struct kf_web_files *fs = calloc(1, sizeof(*fs));

    *ret = fs;
    if (!fs)
        return -ENOMEM;
    pthread_mutex_init(&fs->mu, NULL);
    return 0;
}

static size_t body_bytes(const struct kf_web_body *b)
{
    return b->len + b->gz_len;
}

/* Forget entry i (mu held): the last one takes its place. */
static void files_drop(struct kf_web_files *fs, size_t i)
{
    fs->bytes -= body_bytes(fs->f[i].body);
    kf_web_body_unref(fs->f[i].body);
    free(fs->f[i].path);
    fs->f[i] = fs->f[--fs->n];
}

void kf_web_files_free(struct kf_web_files *fs)
{
    if (!fs)
        return;
    while (fs->n)
        files_drop(fs, fs->n - 1);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

static int same_file(const struct kept_file *k, const struct stat *st)
{
    return k->dev == st->st_dev && k->ino == st->st_ino && k->size == st->st_size &&
           k->mtime.tv_sec == st->st_mtim.tv_sec && k->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The kept body of the file at real path as st describes it (a reference), or NULL; a body
 * kept for what the path was before is forgotten. */
static struct kf_web_body *files_find(struct kf_web_files *fs, const char *real,
                                      const struct stat *st)
{
    struct kf_web_body *b = NULL;

    pthread_mutex_lock(&fs->mu);
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].path, real) == 0) {
            if (same_file(&fs->f[i], st)) {
                fs->f[i].used = ++fs->tick;
                b = kf_web_body_ref(fs->f[i].body);
            } else {
                files_drop(fs, i);
            }
            break;
        }
    pthread_mutex_unlock(&fs->mu);
    return b;
}

/* Keep b for the file at real path, making room by forgetting the least recently used. */
static void files_keep(struct kf_web_files *fs, const char *real, const struct stat *st,
                       struct kf_web_body *b)
{
    char *path = strdup(real);
    struct kept_file *k;

    if (!path)
        return;
    pthread_mutex_lock(&fs->mu);
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].path, real) == 0) { /* another call kept it meanwhile */
            files_drop(fs, i);
            break;
        }
    while (fs->n && (fs->n == FILES_MAX || fs->bytes + body_bytes(b) > FILES_BYTES)) {
        size_t lru = 0;

        for (size_t i = 1; i < fs->n; i++)
            if (fs->f[i].used < fs->f[lru].used)
                lru = i;
        files_drop(fs, lru);
    }
    k = &fs->f[fs->n++];
    k->path = path;
    k->dev = st->st_dev;
    k->ino = st->st_ino;
    k->size = st->st_size;
    k->mtime = st->st_mtim;
    k->used = ++fs->tick;
    k->body = kf_web_body_ref(b);
    fs->bytes += body_bytes(b);
    pthread_mutex_unlock(&fs->mu);
}

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".ttf", "font/ttf"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

    if (!dot || (slash && dot < slash))
        return NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Is the decoded path made of plain segments only? */
static int path_ok(const char *p)
{
    if (strchr(p, '\\') || strstr(p, "//"))
        return 0;
    for (const char *seg = p; *seg;) {
        const char *end;
        size_t n;

        while (*seg == '/')
            seg++;
        end = strchr(seg, '/');
        n = end ? (size_t)(end - seg) : strlen(seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        seg += n;
    }
    return 1;
}

/* The regular file at rel inside root (real path root_real) as a body (a reference; type
 * decides its gzip copy): 0, -ENOENT, -EACCES (it leads outside), -EFBIG, -ENOMEM, -EIO
 * (not read whole). */
static int read_inside(struct kf_web_files *fs, const char *root, const char *root_real,
                       const char *rel, const char *type, struct kf_web_body **ret)
{
    char full[KF_WEB_PATH_MAX * 2], real[PATH_MAX];
    size_t rl = strlen(root_real);
    struct stat stb;
    ssize_t got;
    size_t off = 0;
    char *buf;
    int fd, keep;

    if ((size_t)snprintf(full, sizeof(full), "%s/%s", root, rel) >= sizeof(full))
        return -ENOENT;
    if (!realpath(full, real))
        return -ENOENT;
    if (strncmp(real, root_real, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return -EACCES;
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -ENOENT;
    if (fstat(fd, &stb) < 0 || !S_ISREG(stb.st_mode)) {
        close(fd);
        return -ENOENT;
    }
    if ((uint64_t)stb.st_size > FILE_MAX) {
        close(fd);
        return -EFBIG;
    }
    if ((*ret = files_find(fs, real, &stb))) {
        close(fd);
        return 0;
    }
    buf = malloc((size_t)stb.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    while (off < (size_t)stb.st_size && (got = read(fd, buf + off, (size_t)stb.st_size - off)) > 0)
        off += (size_t)got;
    close(fd);
    if (off != (size_t)stb.st_size) { /* a read error, or the file shrank while read */
        free(buf);
        return -EIO;
    }
    /* Kept: compressed once. Too large to keep: sent as read, not compressed per call. A
     * file rewritten while read is kept under the fstat before: the next call's differs. */
    keep = off <= FILE_KEPT_MAX;
    *ret = kf_web_body_new(buf, off, keep ? type : NULL);
    if (!*ret)
        return -ENOMEM;
    if (keep)
        files_keep(fs, real, &stb, *ret);
    return 0;
}

/* A name with a content hash in it ("app.3f9a1c2b.js", "index-B2x9Qk1d.css"): its bytes never
 * change, so it may be cached for a year. */
static int hashed_name(const char *path)
{
    const char *base = strrchr(path, '/'), *dot;
    size_t run = 0, best = 0;

    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    for (const char *p = base; p < (dot ? dot : base + strlen(base)); p++) {
        int alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= 'A' && *p <= 'Z') || *p == '_';
        run = alnum ? run + 1 : 0;
        best = run > best ? run : best;
    }
    return best >= 8 && (strchr(base, '.') != dot || strchr(base, '-') != NULL);
}

void kf_web_static(struct kf_web_call *c, struct kf_store *st)
{
    const struct kf_web_config *cfg = kf_web_server_config(c->srv);
    char root_real[PATH_MAX], rel[KF_WEB_PATH_MAX];
    struct kf_web_files *fs = kf_web_server_files(c->srv);
    struct kf_web_body *b = NULL;
    const char *type;
    int r;

    (void)st;
    if (!path_ok(c->path)) {
        kf_web_problem(c, 404, "no such file");
        return;
    }
    if (!realpath(cfg->console_dir, root_real)) {
        kf_web_problem(c, 404, "the console is not installed ([web] console_dir)");
        return;
    }
    snprintf(rel, sizeof(rel), "%s", c->path + 1);
    if (rel[0] == '\0' || rel[strlen(rel) - 1] == '/')
        snprintf(rel + strlen(rel), sizeof(rel) - strlen(rel), "index.html");
    type = type_of(rel);
    r = read_inside(fs, cfg->console_dir, root_real, rel, type, &b);
    if (r == -ENOENT && !type_of(c->path)) {
        /* the console's own route (/fleet, /incidents/12): its page */
        snprintf(rel, sizeof(rel), "index.html");
        type = type_of(rel);
        r = read_inside(fs, cfg->console_dir, root_real, rel, type, &b);
    }
    if (r < 0) {
        kf_web_problem(c,
                       r == -ENOENT || r == -EACCES ? 404
                       : r == -ENOMEM               ? 503
                                                    : 500,
                       "%s",
                       r == -ENOMEM ? "out of memory"
                       : r == -EIO  ? "the file could not be read whole"
                                    : "no such file");
        return;
    }
    c->cache_revalidate = strcmp(type, "text/html; charset=utf-8") == 0;
    c->cache_immutable = !c->cache_revalidate && hashed_name(rel);
    kf_web_reply_raw(c, 200, type, NULL, 0);
    c->kept = b; /* sent by reference, gzip-encoded to whoever accepts it (web/answer.c) */
}
