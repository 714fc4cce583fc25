/* web/static.c: the console's files ([web] console_dir), read on a pool thread. A path is
 * taken only when, decoded, it has no "." or ".." segment, no backslash and no NUL (the
 * decoder refuses %00), and when the file it names, symbolic links resolved, is still inside
 * the console's directory. A path without an extension that names no file is one of the
 * console's own routes: index.html answers it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web/web.h"

#define FILE_MAX (32u << 20)

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

/* Read the regular file at rel inside root (real path root_real): 0, -ENOENT, -EACCES (it
 * leads outside), -EFBIG. */
static int read_inside(const char *root, const char *root_real, const char *rel, char **ret,
                       size_t *ret_len)
{
    char full[KF_WEB_PATH_MAX * 2], real[PATH_MAX];
    size_t rl = strlen(root_real);
    struct stat stb;
    ssize_t got;
    size_t off = 0;
    char *buf;
    int fd;

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
    buf = malloc((size_t)stb.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    while (off < (size_t)stb.st_size && (got = read(fd, buf + off, (size_t)stb.st_size - off)) > 0)
        off += (size_t)got;
    close(fd);
    *ret = buf;
    *ret_len = off;
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
    const char *type;
    char *buf = NULL;
    size_t len = 0;
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
    r = read_inside(cfg->console_dir, root_real, rel, &buf, &len);
    if (r == -ENOENT && !type_of(c->path)) {
        /* the console's own route (/fleet, /incidents/12): its page */
        snprintf(rel, sizeof(rel), "index.html");
        type = type_of(rel);
        r = read_inside(cfg->console_dir, root_real, rel, &buf, &len);
    }
    if (r < 0) {
        kf_web_problem(c, r == -EFBIG ? 500 : 404, "no such file");
        return;
    }
    c->cache_revalidate = strcmp(type, "text/html; charset=utf-8") == 0;
    c->cache_immutable = !c->cache_revalidate && hashed_name(rel);
    kf_web_reply_raw(c, 200, type, buf, len);
}
