/* kiosk-provision: create the server database and key, enroll devices (one or a fleet),
 * and write each device's secret key, broker password and agent configuration; render the
 * broker's password and ACL files (broker-sync, in broker.c). Run by operators; every
 * error is named on one line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <kf/brokerpw.h>
#include <kf/envelope.h>
#include <kf/err.h>
#include <kf/keyfile.h>
#include <kf/log.h>
#include <kf/time.h>

#include "broker.h"
#include "prov.h"
#include "store/registry.h"
#include "store/store.h"
#include "store/broker.h"
#include "store/query.h"

#define KF_FLEET_MAX 100000

struct opts {
    const char *db, *fixtures, *server_key, *id, *asset, *kind, *zone, *lease, *broker, *server_pub,
        *out, *seed, *server_pw_out, *ca, *dir, *pid_file;
    long count, pid;
};

static void usage(FILE *f)
{
    fputs("usage:\n"
          "  kiosk-provision init --db DB [--fixtures deployment.json] --server-key PATH\n"
          "                  [--server-password-out FILE]\n"
          "  kiosk-provision device --db DB --id DEVICE_ID --asset ASSET_ID --kind kiosk|itm\n"
          "                  --zone ZONE_ID [--lease REF] --broker URI [--ca CA.crt]\n"
          "                  --server-pub PATH.pub --out DIR\n"
          "  kiosk-provision fleet --db DB --count N --broker URI [--ca CA.crt]\n"
          "                  --server-pub PATH.pub --out DIR [--seed S]\n"
          "  kiosk-provision broker-sync --db DB --dir AUTHDIR [--pid-file FILE | --pid PID]\n"
          "  kiosk-provision notify-account --db DB --out FILE\n"
          "                  the read-only account for kioskd's announcements (kf/v1/_notify/#)\n"
          "identity (docs/SECURITY.md; each signs an audit entry with --server-key):\n"
          "  kiosk-provision token --db DB --server-key KEY --asset ASSET_ID [--kind kiosk|itm\n"
          "                  --zone ZONE_ID --lease REF] --by WHO --reason WHY [--ttl 72h]\n"
          "                  [--out FILE] [--auth-dir AUTHDIR [--pid-file FILE]]\n"
          "  kiosk-provision revoke DEVICE_ID --db DB --server-key KEY --by WHO --reason WHY\n"
          "                  [--auth-dir AUTHDIR [--pid-file FILE]]\n"
          "  kiosk-provision replace --db DB --server-key KEY --asset ASSET_ID --by WHO\n"
          "                  --reason WHY [--ttl 72h] [--out FILE] [--auth-dir AUTHDIR\n"
          "                  [--pid-file FILE]]\n",
          f);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"fixtures", required_argument, NULL, 'f'},
        {"server-key", required_argument, NULL, 'k'},
        {"id", required_argument, NULL, 'i'},
        {"asset", required_argument, NULL, 'a'},
        {"kind", required_argument, NULL, 't'},
        {"zone", required_argument, NULL, 'z'},
        {"lease", required_argument, NULL, 'l'},
        {"broker", required_argument, NULL, 'b'},
        {"server-pub", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},
        {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"server-password-out", required_argument, NULL, 'W'},
        {"ca", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'D'},
        {"pid-file", required_argument, NULL, 'P'},
        {"pid", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    memset(o, 0, sizeof(*o));
    o->count = -1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->db = optarg;
            break;
        case 'f':
            o->fixtures = optarg;
            break;
        case 'k':
            o->server_key = optarg;
            break;
        case 'i':
            o->id = optarg;
            break;
        case 'a':
            o->asset = optarg;
            break;
        case 't':
            o->kind = optarg;
            break;
        case 'z':
            o->zone = optarg;
            break;
        case 'l':
            o->lease = optarg;
            break;
        case 'b':
            o->broker = optarg;
            break;
        case 'p':
            o->server_pub = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 's':
            o->seed = optarg;
            break;
        case 'W':
            o->server_pw_out = optarg;
            break;
        case 'c':
            o->ca = optarg;
            break;
        case 'D':
            o->dir = optarg;
            break;
        case 'P':
            o->pid_file = optarg;
            break;
        case 'I':
            errno = 0;
            o->pid = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->pid < 2 || o->pid > INT_MAX) {
                fprintf(stderr, "kiosk-provision: --pid must be a process id\n");
                return -EINVAL;
            }
            break;
        case 'n':
            errno = 0;
            o->count = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || o->count < 1 || o->count > KF_FLEET_MAX) {
                fprintf(stderr, "kiosk-provision: --count must be 1..%d\n", KF_FLEET_MAX);
                return -EINVAL;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -EINVAL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "kiosk-provision: unexpected argument '%s'\n", argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static int need(const char *v, const char *name)
{
    if (!v || !*v) {
        fprintf(stderr, "kiosk-provision: missing %s\n", name);
        return -EINVAL;
    }
    return 0;
}

/* Only init creates a store: every other command on a mistyped path says so. */
static int open_store(const char *db, int create, struct kf_store **ret)
{
    int r = kf_store_open(db, create ? 0 : KF_STORE_NOCREATE, ret);

    if (r == -ENOENT)
        kf_err("no store at %s: create it with kiosk-provision init --db %s", db, db);
    else if (r < 0)
        kf_err("cannot open database %s: %s", db, kf_strerror(r));
    return r;
}

/* Write text to path with mode, replacing it atomically. */
static int write_file(const char *path, const char *text, mode_t mode)
{
    return kf_file_write_atomic(path, text, strlen(text), mode, (gid_t)-1, 0);
}

static int cmd_init(const struct opts *o)
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
    char pub_path[PATH_MAX], hex[2 * crypto_sign_PUBLICKEYBYTES + 2];
    struct kf_store *st;
    int r;

    if (need(o->db, "--db") < 0 || need(o->server_key, "--server-key") < 0)
        return 2;
    if ((size_t)snprintf(pub_path, sizeof(pub_path), "%s.pub", o->server_key) >= sizeof(pub_path)) {
        kf_err("server key path too long");
        return 1;
    }
    if (open_store(o->db, 1, &st) < 0)
        return 1;
    if (o->fixtures) {
        r = kf_store_load_fixtures(st, o->fixtures);
        if (r < 0) {
            kf_err("cannot load fixtures: %s",
                   *kf_store_errmsg(st) ? kf_store_errmsg(st) : kf_strerror(r));
            goto out_store;
        }
    }
    r = kf_keyfile_read(o->server_key, sk);
    if (r == -ENOENT) {
        crypto_sign_keypair(pk, sk);
        r = kf_keyfile_write(o->server_key, sk);
        if (r < 0) {
            kf_err("cannot write server key %s: %s", o->server_key, kf_strerror(r));
            goto out_wipe;
        }
        kf_info("created server signing key %s", o->server_key);
    } else if (r < 0) {
        kf_err("cannot read server key %s: %s", o->server_key, kf_strerror(r));
        goto out_store;
    }
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    kf_hex_encode(pk, sizeof(pk), hex, sizeof(hex));
    hex[2 * sizeof(pk)] = '\n';
    hex[2 * sizeof(pk) + 1] = '\0';
    r = write_file(pub_path, hex, 0644);
    if (r < 0)
        kf_err("cannot write %s: %s", pub_path, kf_strerror(r));
    /* kioskd's broker account; re-running init keeps its password (kioskd holds it). */
    if (r == 0 && o->server_pw_out) {
        r = kf_prov_broker_account_create(st, KF_BROKER_USER_SERVER, "server", NULL,
                                          o->server_pw_out, 1);
        if (r == 0)
            kf_info("broker account %s: password in %s", KF_BROKER_USER_SERVER, o->server_pw_out);
    }
out_wipe:
    sodium_memzero(sk, sizeof(sk));
out_store:
    kf_store_free(st);
    return r < 0 ? 1 : 0;
}

/* The server's public key as 64 hex digits (validated), read from a .pub file. */
static int read_server_pub(const char *path, char hex[65])
{
    uint8_t pk[32];
    char line[128];
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        kf_err("cannot read server public key %s: %s", path, strerror(errno));
        return -errno;
    }
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (kf_hex_decode(line, pk, sizeof(pk)) < 0) {
        kf_err("%s: not a public key (64 hex digits)", path);
        return -EBADMSG;
    }
    memcpy(hex, line, 65);
    return 0;
}

static int prepare_dir(const char *out, char *abs, size_t cap)
{
    char buf[PATH_MAX];

    if (mkdir(out, 0750) < 0 && errno != EEXIST) {
        kf_err("cannot create %s: %s", out, strerror(errno));
        return -errno;
    }
    if (!realpath(out, buf)) {
        kf_err("cannot resolve %s: %s", out, strerror(errno));
        return -errno;
    }
    if ((size_t)snprintf(abs, cap, "%s", buf) >= cap)
        return -ENAMETOOLONG;
    return 0;
}

struct enroll {
    const char *device_id, *asset_id, *zone_id, *lease;
    int kind;
};

/* What every device's INI points at: the broker (URI, CA file or NULL) and the server. */
struct target {
    const char *broker;
    char ca[PATH_MAX]; /* absolute; "" for none */
    char server_hex[65];
};

/* Register one device, give it a broker account, and write its key, its broker password
 * and its agent INI into dir (absolute). The caller holds a store transaction, so a
 * failure here leaves no half-enrolled device. */
static int enroll_one(struct kf_store *st, const struct enroll *e, const char *dir,
                      const struct target *t, const char *seed)
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    struct kf_device_reg reg = {
        .device_id = e->device_id,
        .asset_id = e->asset_id,
        .kind = e->kind,
        .zone_id = e->zone_id,
        .lease_ref = e->lease,
    };
    char key_path[PATH_MAX], ini_path[PATH_MAX], pw_path[PATH_MAX], ca_line[PATH_MAX + 16],
        ini[4096];
    int r, n;

    if (seed) {
        /* Reproducible keys for tests and benchmarks only: derived from seed and id. */
        uint8_t kseed[crypto_sign_SEEDBYTES];
        crypto_generichash_state h;

        crypto_generichash_init(&h, NULL, 0, sizeof(kseed));
        crypto_generichash_update(&h, (const uint8_t *)seed, strlen(seed));
        crypto_generichash_update(&h, (const uint8_t *)"/", 1);
        crypto_generichash_update(&h, (const uint8_t *)e->device_id, strlen(e->device_id));
        crypto_generichash_final(&h, kseed, sizeof(kseed));
        crypto_sign_seed_keypair(reg.pk, sk, kseed);
        sodium_memzero(kseed, sizeof(kseed));
    } else {
        crypto_sign_keypair(reg.pk, sk);
    }
    if ((size_t)snprintf(key_path, sizeof(key_path), "%s/%s.key", dir, e->device_id) >=
            sizeof(key_path) ||
        (size_t)snprintf(ini_path, sizeof(ini_path), "%s/%s.ini", dir, e->device_id) >=
            sizeof(ini_path) ||
        (size_t)snprintf(pw_path, sizeof(pw_path), "%s/%s.password", dir, e->device_id) >=
            sizeof(pw_path)) {
        kf_err("output path too long for %s", e->device_id);
        r = -ENAMETOOLONG;
        goto out_wipe;
    }
    r = kf_store_register_device(st, &reg);
    if (r < 0) {
        kf_err("cannot register %s: %s", e->device_id,
               *kf_store_errmsg(st) ? kf_store_errmsg(st) : kf_strerror(r));
        goto out_wipe;
    }
    r = kf_keyfile_write(key_path, sk);
    if (r < 0) {
        kf_err("cannot write %s: %s", key_path, kf_strerror(r));
        goto out_wipe;
    }
    /* The broker username is the device id (docs/OPERATIONS.md, "Broker credentials"). */
    r = kf_prov_broker_account_create(st, e->device_id, "device", e->device_id, pw_path, 0);
    if (r < 0)
        goto out_wipe;
    ca_line[0] = '\0';
    if (t->ca[0])
        snprintf(ca_line, sizeof(ca_line), "ca_file = %s\n", t->ca);
    n = snprintf(ini, sizeof(ini),
                 "; kiosk-agent configuration for %s (written by kiosk-provision)\n"
                 "[device]\n"
                 "id = %s\n"
                 "key_file = %s\n"
                 "key_epoch = 1\n"
                 "kind = %s\n"
                 "server_public_key = %s\n"
                 "\n"
                 "[mqtt]\n"
                 "uri = %s\n"
                 "%s"
                 "username = %s\n"
                 "password_file = %s\n"
                 "\n"
                 "[outbox]\n"
                 "path = %s/%s.outbox.db\n"
                 "\n"
                 "[app]\n"
                 "socket = %s/%s.sock\n"
                 "\n"
                 "; Other keys keep the agent's defaults; see docs/OPERATIONS.md.\n",
                 e->device_id, e->device_id, key_path, e->kind == KF_KIND_ITM ? "itm" : "kiosk",
                 t->server_hex, t->broker, ca_line, e->device_id, pw_path, dir, e->device_id, dir,
                 e->device_id);
    if (n < 0 || (size_t)n >= sizeof(ini)) {
        kf_err("configuration for %s too long", e->device_id);
        r = -ENAMETOOLONG;
        goto out_wipe;
    }
    r = write_file(ini_path, ini, 0640);
    if (r < 0)
        kf_err("cannot write %s: %s", ini_path, kf_strerror(r));
out_wipe:
    sodium_memzero(sk, sizeof(sk));
    return r;
}

/* The broker and server every device INI of this run points at. 0 or -errno (logged). */
static int prepare_target(const struct opts *o, struct target *t)
{
    char buf[PATH_MAX];

    t->broker = o->broker;
    t->ca[0] = '\0';
    if (o->ca) {
        if (!kf_brokerpw_uri_tls(o->broker)) {
            kf_err("--ca is for a TLS broker: --broker must be ssl://... or mqtts://...");
            return -EINVAL;
        }
        if (!realpath(o->ca, buf) || access(buf, R_OK) < 0) {
            kf_err("cannot read the CA certificate %s: %s", o->ca, strerror(errno));
            return -errno;
        }
        if ((size_t)snprintf(t->ca, sizeof(t->ca), "%s", buf) >= sizeof(t->ca))
            return -ENAMETOOLONG;
    } else if (kf_brokerpw_uri_tls(o->broker)) {
        kf_notice("no --ca: devices will check the broker against the system's trust store");
    }
    return read_server_pub(o->server_pub, t->server_hex);
}

static int parse_kind(const char *s)
{
    if (strcmp(s, "kiosk") == 0)
        return KF_KIND_KIOSK;
    if (strcmp(s, "itm") == 0)
        return KF_KIND_ITM;
    return -EINVAL;
}

static int cmd_device(const struct opts *o)
{
    char dir[PATH_MAX];
    struct target t;
    struct kf_store *st;
    struct enroll e;
    int r, kind;

    if (need(o->db, "--db") < 0 || need(o->id, "--id") < 0 || need(o->asset, "--asset") < 0 ||
        need(o->kind, "--kind") < 0 || need(o->zone, "--zone") < 0 ||
        need(o->broker, "--broker") < 0 || need(o->server_pub, "--server-pub") < 0 ||
        need(o->out, "--out") < 0)
        return 2;
    kind = parse_kind(o->kind);
    if (kind < 0) {
        fprintf(stderr, "kiosk-provision: --kind must be kiosk or itm\n");
        return 2;
    }
    if (!kf_device_id_valid(o->id)) {
        kf_err("invalid device id '%s': 1..%d characters of [A-Za-z0-9._-]", o->id,
               KF_DEVICE_ID_MAX);
        return 1;
    }
    if (prepare_target(o, &t) < 0 || prepare_dir(o->out, dir, sizeof(dir)) < 0 ||
        open_store(o->db, 0, &st) < 0)
        return 1;
    e = (struct enroll){
        .device_id = o->id,
        .asset_id = o->asset,
        .zone_id = o->zone,
        .lease = o->lease,
        .kind = kind,
    };
    r = kf_store_begin(st);
    if (r < 0) {
        kf_err("cannot begin transaction: %s", kf_strerror(r));
        goto out_store;
    }
    r = enroll_one(st, &e, dir, &t, NULL);
    if (r == 0) {
        r = kf_store_end(st, 1);
        if (r < 0)
            kf_err("cannot commit: %s", kf_strerror(r));
    } else {
        kf_store_end(st, 0);
    }
    if (r == 0)
        printf("%s\t%s\t%s/%s.ini\n", o->id, o->asset, dir, o->id);
out_store:
    kf_store_free(st);
    return r < 0 ? 1 : 0;
}

/* One planned terminal position: a zone and a kind. */
struct slot {
    size_t zone; /* row in the zones table */
    int kind;
};

/* Interleave the zones' slots round-robin over units, so that any prefix represents every
 * unit as evenly as possible. zones is ordered by unit then id. */
static int plan_slots(const struct kf_qtable *zones, struct slot **ret, size_t *ret_n)
{
    size_t nunits = 0, total = 0, n = 0;
    size_t *ustart = NULL, *uend = NULL, *uzone = NULL, *uk = NULL;
    struct slot *slots = NULL;
    int r = -ENOMEM;

    for (size_t z = 0; z < zones->nrows; z++) {
        total += (size_t)strtoul(kf_store_query_table_cell(zones, z, 2), NULL, 10);
        total += (size_t)strtoul(kf_store_query_table_cell(zones, z, 3), NULL, 10);
    }
    if (total == 0)
        return -ENOENT;
    ustart = calloc(zones->nrows, sizeof(*ustart));
    uend = calloc(zones->nrows, sizeof(*uend));
    uzone = calloc(zones->nrows, sizeof(*uzone));
    uk = calloc(zones->nrows, sizeof(*uk));
    slots = calloc(total, sizeof(*slots));
    if (!ustart || !uend || !uzone || !uk || !slots)
        goto out_free;
    for (size_t z = 0; z < zones->nrows; z++) {
        if (z == 0 || strcmp(kf_store_query_table_cell(zones, z, 1),
                             kf_store_query_table_cell(zones, z - 1, 1))) {
            ustart[nunits] = z;
            uzone[nunits] = z;
            nunits++;
        }
        uend[nunits - 1] = z + 1;
    }
    /* Per unit a cursor (zone, k-th slot in that zone: kiosks first, then ITMs). */
    while (n < total) {
        for (size_t u = 0; u < nunits && n < total; u++) {
            while (uzone[u] < uend[u]) {
                size_t z = uzone[u];
                size_t kiosks = (size_t)strtoul(kf_store_query_table_cell(zones, z, 2), NULL, 10);
                size_t itms = (size_t)strtoul(kf_store_query_table_cell(zones, z, 3), NULL, 10);

                if (uk[u] < kiosks + itms) {
                    slots[n].zone = z;
                    slots[n].kind = uk[u] < kiosks ? KF_KIND_KIOSK : KF_KIND_ITM;
                    n++;
                    uk[u]++;
                    break;
                }
                uzone[u]++;
                uk[u] = 0;
            }
        }
    }
    *ret = slots;
    *ret_n = total;
    slots = NULL;
    r = 0;
out_free:
    free(slots);
    free(ustart);
    free(uend);
    free(uzone);
    free(uk);
    return r;
}

/* Per-unit device counters for "KF-<unit>-<nnnn>". */
struct unit_counter {
    char unit[32];
    unsigned next;
};

static unsigned unit_next(struct unit_counter *uc, size_t *nuc, size_t cap, const char *unit)
{
    for (size_t i = 0; i < *nuc; i++) {
        if (strcmp(uc[i].unit, unit) == 0)
            return ++uc[i].next;
    }
    if (*nuc == cap)
        return 0;
    snprintf(uc[*nuc].unit, sizeof(uc[*nuc].unit), "%s", unit);
    uc[*nuc].next = 1;
    return uc[(*nuc)++].next;
}

static int cmd_fleet(const struct opts *o)
{
    char dir[PATH_MAX], csv_path[PATH_MAX];
    struct target t;
    struct kf_qtable *zones = NULL;
    struct unit_counter *uc = NULL;
    struct slot *slots = NULL;
    struct kf_store *st;
    size_t nslots = 0, nuc = 0, csv_len = 0, csv_cap;
    char *csv = NULL;
    int r;

    if (need(o->db, "--db") < 0 || need(o->broker, "--broker") < 0 ||
        need(o->server_pub, "--server-pub") < 0 || need(o->out, "--out") < 0)
        return 2;
    if (o->count < 1) {
        fprintf(stderr, "kiosk-provision: missing --count\n");
        return 2;
    }
    if (prepare_target(o, &t) < 0 || prepare_dir(o->out, dir, sizeof(dir)) < 0 ||
        open_store(o->db, 0, &st) < 0)
        return 1;
    r = kf_store_query_zones(st, &zones);
    if (r < 0) {
        kf_err("cannot read zones: %s", kf_strerror(r));
        goto out_store;
    }
    r = plan_slots(zones, &slots, &nslots);
    if (r < 0) {
        kf_err("no zones with planned terminals: run 'kiosk-provision init --fixtures' first");
        goto out_store;
    }
    csv_cap = 64 + (size_t)o->count * 160;
    csv = malloc(csv_cap);
    uc = calloc(zones->nrows, sizeof(*uc));
    if (!csv || !uc) {
        r = -ENOMEM;
        kf_err("out of memory");
        goto out_store;
    }
    csv_len = (size_t)snprintf(csv, csv_cap, "device_id,asset_id,kind,zone_id,key_file,ini_file\n");
    r = kf_store_begin(st);
    if (r < 0) {
        kf_err("cannot begin transaction: %s", kf_strerror(r));
        goto out_store;
    }
    for (long i = 0; i < o->count; i++) {
        const struct slot *sl = &slots[(size_t)i % nslots];
        const char *zone = kf_store_query_table_cell(zones, sl->zone, 0);
        const char *unit = kf_store_query_table_cell(zones, sl->zone, 1);
        unsigned num = unit_next(uc, &nuc, zones->nrows, unit);
        char dev_id[KF_DEVICE_ID_MAX + 1], asset_id[KF_ASSET_ID_MAX + 1], lease[48];
        struct enroll e;
        int n;

        snprintf(dev_id, sizeof(dev_id), "KF-%s-%04u", unit, num);
        snprintf(asset_id, sizeof(asset_id), "A-%06ld", i + 1);
        snprintf(lease, sizeof(lease), "L-%s", asset_id);
        e = (struct enroll){
            .device_id = dev_id,
            .asset_id = asset_id,
            .zone_id = zone,
            .lease = sl->kind == KF_KIND_KIOSK ? lease : NULL, /* ITMs are bank-owned */
            .kind = sl->kind,
        };
        r = enroll_one(st, &e, dir, &t, o->seed);
        if (r < 0)
            break;
        n = snprintf(csv + csv_len, csv_cap - csv_len, "%s,%s,%s,%s,%s.key,%s.ini\n", dev_id,
                     asset_id, sl->kind == KF_KIND_ITM ? "itm" : "kiosk", zone, dev_id, dev_id);
        if (n < 0 || (size_t)n >= csv_cap - csv_len) {
            kf_err("fleet.csv too large");
            r = -ENOMEM;
            break;
        }
        csv_len += (size_t)n;
    }
    if (r < 0) {
        kf_store_end(st, 0);
        goto out_store;
    }
    r = kf_store_end(st, 1);
    if (r < 0) {
        kf_err("cannot commit: %s", kf_strerror(r));
        goto out_store;
    }
    if ((size_t)snprintf(csv_path, sizeof(csv_path), "%s/fleet.csv", dir) >= sizeof(csv_path))
        r = -ENAMETOOLONG;
    else
        r = write_file(csv_path, csv, 0640);
    if (r < 0)
        kf_err("cannot write %s: %s", csv_path, kf_strerror(r));
    else
        printf("provisioned %ld devices in %s\n", o->count, dir);
out_store:
    free(csv);
    free(uc);
    free(slots);
    kf_store_query_table_free(zones);
    kf_store_free(st);
    return r < 0 ? 1 : 0;
}

static int cmd_broker_sync(const struct opts *o)
{
    struct kf_store *st;
    pid_t pid = (pid_t)o->pid;
    int r;

    if (need(o->db, "--db") < 0 || need(o->dir, "--dir") < 0)
        return 2;
    if (o->pid && o->pid_file) {
        fprintf(stderr, "kiosk-provision: --pid and --pid-file exclude each other\n");
        return 2;
    }
    if (o->pid_file && kf_prov_broker_pid_file(o->pid_file, &pid) < 0)
        return 1;
    if (open_store(o->db, 0, &st) < 0)
        return 1;
    r = kf_prov_broker_sync_store(st, o->dir, pid, kf_now_ms());
    kf_store_free(st);
    return r < 0 ? 1 : 0;
}

/* notify-account: the read-only broker account "_notify" for whoever consumes kioskd's
 * announcements (the ACL lets it read kf/v1/_notify/# and nothing else). */
static int cmd_notify_account(const struct opts *o)
{
    struct kf_store *st;
    int r;

    if (need(o->db, "--db") < 0 || need(o->out, "--out") < 0)
        return 2;
    if (open_store(o->db, 0, &st) < 0)
        return 1;
    r = kf_prov_broker_account_create(st, "_notify", "server", NULL, o->out, 1);
    kf_store_free(st);
    if (r < 0)
        return 1;
    printf("broker account _notify (reads kf/v1/_notify/#): password in %s; run broker-sync\n",
           o->out);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    const char *cmd;

    kf_log_set_ident("kiosk-provision");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (sodium_init() < 0) {
        kf_err("libsodium initialisation failed");
        return 1;
    }
    if (strcmp(cmd, "token") == 0 || strcmp(cmd, "revoke") == 0 || strcmp(cmd, "replace") == 0)
        return kf_prov_ident_main(cmd, argc - 1, argv + 1);
    if (parse_opts(argc - 1, argv + 1, &o) < 0) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "init") == 0)
        return cmd_init(&o);
    if (strcmp(cmd, "device") == 0)
        return cmd_device(&o);
    if (strcmp(cmd, "fleet") == 0)
        return cmd_fleet(&o);
    if (strcmp(cmd, "broker-sync") == 0)
        return cmd_broker_sync(&o);
    if (strcmp(cmd, "notify-account") == 0)
        return cmd_notify_account(&o);
    fprintf(stderr, "kiosk-provision: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
