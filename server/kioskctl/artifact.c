/* kioskctl/artifact.c: software artifacts (docs/KIOSKCTL.md "artifact", kf/manifest.h,
 * store/artifacts.h):
 *   artifact keygen --out FILE                  a release key (on the release machine)
 *   artifact sign --release-key FILE --name N --version V --kinds K FILE.deb [-o MANIFEST]
 *   artifact add FILE.deb MANIFEST --release-pub FILE --by WHO --reason TEXT --server-key FILE
 *   artifact list
 * sign runs where the release key is kept, never on the server; add checks the signed
 * manifest against the release public key and the package against the manifest before it
 * stores anything. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/manifest.h>
#include <kf/time.h>

#include "kioskctl/ctl.h"
#include "store/artifacts.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: kioskctl artifact keygen --out FILE\n"
            "       kioskctl artifact sign --release-key FILE --name NAME --version VERSION\n"
            "           --kinds kiosk|itm|kiosk,itm FILE.deb [-o MANIFEST]\n"
            "       kioskctl --db DB artifact add FILE.deb MANIFEST --release-pub FILE\n"
            "           --by WHO --reason TEXT --server-key FILE\n"
            "       kioskctl --db DB artifact list\n");
}

/* A whole file of at most cap bytes into a malloc'd buffer. -EFBIG past cap. */
static int read_file(const char *path, size_t cap, uint8_t **ret, size_t *ret_len)
{
    struct stat sb;
    uint8_t *buf;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        r = -EINVAL; /* not a regular file */
        close(fd);
        return r;
    }
    if ((uint64_t)sb.st_size > cap) {
        close(fd);
        return -EFBIG;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (n < (size_t)sb.st_size) {
        ssize_t got = read(fd, buf + n, (size_t)sb.st_size - n);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            r = got < 0 ? -errno : -EIO;
            break;
        }
        n += (size_t)got;
    }
    close(fd);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    return 0;
}

static int parse_kinds(const char *s, unsigned *ret)
{
    if (strcmp(s, "kiosk") == 0)
        *ret = KF_MANIFEST_KIOSK;
    else if (strcmp(s, "itm") == 0)
        *ret = KF_MANIFEST_ITM;
    else if (strcmp(s, "kiosk,itm") == 0 || strcmp(s, "itm,kiosk") == 0)
        *ret = KF_MANIFEST_KIOSK | KF_MANIFEST_ITM;
    else
        return -EINVAL;
    return 0;
}

static int art_keygen(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    uint8_t pk[32], sk[64];
    char hex[65], pubpath[4096];
    const char *out = NULL;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch != 'o')
            goto usage;
        out = optarg;
    }
    if (out == NULL || optind != argc)
        goto usage;
    if (access(out, F_OK) == 0) {
        fprintf(stderr, "kioskctl: artifact keygen: %s exists: not overwritten\n", out);
        return 1;
    }
    crypto_sign_keypair(pk, sk);
    r = kf_keyfile_write(out, sk);
    sodium_memzero(sk, sizeof(sk));
    kf_hex_encode(pk, sizeof(pk), hex, sizeof(hex));
    snprintf(pubpath, sizeof(pubpath), "%s.pub", out);
    if (r == 0) {
        char line[80];
        int n = snprintf(line, sizeof(line), "%s\n", hex);
        r = kf_file_write_atomic(pubpath, line, (size_t)n, 0644, (gid_t)-1, 0);
    }
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact keygen: %s: %s\n", out, kf_strerror(r));
        return 1;
    }
    printf("release key %s (keep it off the server); its public key %s:\n%s\n", out, pubpath, hex);
    return 0;
usage:
    usage();
    return 2;
}

static int art_sign(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option lo[] = {
        {"release-key", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"version", required_argument, NULL, 'v'},
        {"kinds", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    const char *key = NULL, *name = NULL, *version = NULL, *kinds = NULL;
    struct kf_manifest m;
    uint8_t sk[64], *deb = NULL;
    char *text = NULL;
    size_t len;
    int ch, r;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'k':
            key = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'v':
            version = optarg;
            break;
        case 'K':
            kinds = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (!key || !name || !version || !kinds || optind != argc - 1)
        goto usage;
    memset(&m, 0, sizeof(m));
    if (strlen(name) > KF_MANIFEST_NAME_MAX || strlen(version) > KF_MANIFEST_VERSION_MAX ||
        parse_kinds(kinds, &m.kinds) < 0) {
        fprintf(stderr, "kioskctl: artifact sign: a name, version or kinds out of bounds\n");
        return 2;
    }
    snprintf(m.name, sizeof(m.name), "%s", name);
    snprintf(m.version, sizeof(m.version), "%s", version);
    r = read_file(argv[optind], KF_ARTIFACT_MAX_BYTES, &deb, &len);
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact sign: %s: %s\n", argv[optind],
                r == -EFBIG ? "larger than 64 MiB" : kf_strerror(r));
        return 1;
    }
    m.size = len;
    crypto_hash_sha256(m.sha256, deb, len);
    free(deb);
    if (!kf_manifest_valid(&m)) {
        fprintf(stderr, "kioskctl: artifact sign: name (Debian package name: [a-z0-9][a-z0-9.+-]+)"
                        " or version (a digit first, [A-Za-z0-9.+~:-]) not allowed\n");
        return 2;
    }
    r = kf_keyfile_read(key, sk);
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact sign: release key %s: %s\n", key,
                r == -EPERM ? "readable by group or others" : kf_strerror(r));
        return 1;
    }
    r = kf_manifest_sign(&m, sk, &text);
    sodium_memzero(sk, sizeof(sk));
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact sign: %s\n", kf_strerror(r));
        return 1;
    }
    if (c->out != NULL) {
        size_t n = strlen(text);
        text[n] = '\n';
        r = kf_file_write_atomic(c->out, text, n + 1, 0644, (gid_t)-1, 0);
        text[n] = '\0';
        if (r < 0) {
            fprintf(stderr, "kioskctl: artifact sign: %s: %s\n", c->out, kf_strerror(r));
            free(text);
            return 1;
        }
        fprintf(stderr, "%s %s: %llu bytes, signed manifest in %s\n", m.name, m.version,
                (unsigned long long)m.size, c->out);
    } else {
        printf("%s\n", text);
    }
    free(text);
    return 0;
usage:
    usage();
    return 2;
}

struct add_op {
    struct kf_manifest m;
    const char *manifest, *by, *reason;
    const uint8_t *deb;
    size_t len;
    int64_t id;
};

static int add_run(struct kf_store *st, const uint8_t sk[64], void *ud)
{
    struct add_op *o = ud;
    int r = kf_store_artifact_add(st, &o->m, o->manifest, o->deb, o->len, kf_now_ms(), o->by,
                                  o->reason, sk, &o->id);

    if (r < 0)
        return kf_ctl_fail(st, "artifact add", r) + (r == -EEXIST);
    return 0;
}

static int art_add(const struct kf_ctl *c, int argc, char **argv)
{
    static const struct option lo[] = {
        {"release-pub", required_argument, NULL, 'p'},
        {"by", required_argument, NULL, 'b'},
        {"reason", required_argument, NULL, 'r'},
        {"server-key", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    const char *pub = NULL, *key = NULL;
    struct add_op o;
    uint8_t pk[32], *deb = NULL, *man = NULL, sha[32];
    size_t mlen;
    int ch, r, status = 1;

    memset(&o, 0, sizeof(o));
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'p':
            pub = optarg;
            break;
        case 'b':
            o.by = optarg;
            break;
        case 'r':
            o.reason = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (!pub || !key || optind != argc - 2 || kf_ctl_who_why(o.by, o.reason) < 0)
        goto usage;
    if ((r = kf_pubkey_read(pub, pk)) < 0) {
        fprintf(stderr, "kioskctl: artifact add: release public key %s: %s\n", pub, kf_strerror(r));
        return 1;
    }
    r = read_file(argv[optind + 1], KF_MANIFEST_FILE_MAX + 1, &man, &mlen);
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact add: %s: %s\n", argv[optind + 1],
                r == -EFBIG ? "not a signed manifest (too large)" : kf_strerror(r));
        return 1;
    }
    while (mlen > 0 && (man[mlen - 1] == '\n' || man[mlen - 1] == '\r'))
        man[--mlen] = '\0';
    r = kf_manifest_open((const char *)man, mlen, pk, &o.m);
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact add: %s: %s\n", argv[optind + 1],
                r == -EKEYREJECTED ? "the signature does not verify under the release public key"
                                   : "not a signed manifest");
        goto out;
    }
    r = read_file(argv[optind], KF_ARTIFACT_MAX_BYTES, &deb, &o.len);
    if (r < 0) {
        fprintf(stderr, "kioskctl: artifact add: %s: %s\n", argv[optind],
                r == -EFBIG ? "larger than 64 MiB" : kf_strerror(r));
        goto out;
    }
    crypto_hash_sha256(sha, deb, o.len);
    if (o.len != o.m.size || sodium_memcmp(sha, o.m.sha256, 32) != 0) {
        fprintf(stderr,
                "kioskctl: artifact add: %s is not the package the manifest describes (%s)\n",
                argv[optind], o.len != o.m.size ? "size differs" : "SHA-256 differs");
        goto out;
    }
    o.manifest = (const char *)man;
    o.deb = deb;
    status = kf_ctl_signed_txn(c, key, add_run, &o);
    if (status == 0)
        printf("A-%lld %s %s (%s, %zu bytes) stored\n", (long long)o.id, o.m.name, o.m.version,
               o.m.kinds == (KF_MANIFEST_KIOSK | KF_MANIFEST_ITM) ? "kiosk,itm"
               : o.m.kinds == KF_MANIFEST_KIOSK                   ? "kiosk"
                                                                  : "itm",
               o.len);
out:
    free(deb);
    free(man);
    return status;
usage:
    usage();
    return 2;
}

static int art_list(const struct kf_ctl *c)
{
    struct kf_qtable *t = NULL;
    struct kf_store *st;
    int r;

    if (kf_ctl_open_store(c, 0, &st) < 0)
        return 1;
    r = kf_store_artifact_list(st, &t);
    if (r < 0) {
        r = kf_ctl_fail(st, "artifact list", r);
        kf_store_free(st);
        return r;
    }
    kf_store_free(st);
    return kf_ctl_print_table_free(c, "artifact list", t);
}

int kf_ctl_artifact(const struct kf_ctl *c, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return art_keygen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sign") == 0)
        return art_sign(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return art_add(c, argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return art_list(c);
    usage();
    return 2;
}
