/* gen-dict-samples: realistic RECORDS bodies for training and measuring the zstd dictionary.
 *
 *   kf-gen-dict-samples gen DIR COUNT SEED   write COUNT bodies (DIR/body-00000.json ...)
 *   kf-gen-dict-samples measure FILE...      compression of each body, level 3, with and
 *                                            without the compiled-in dictionary
 *
 * Bodies are what an agent sends: JSON arrays of 1..50 canonical records (kf_record_format),
 * mostly small batches flushed on a timer, some large catch-up batches after an outage;
 * telemetry batches hold health samples only, event batches mix txns, peripheral changes,
 * faults and the odd health sample. The generator is deterministic for a given SEED.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include <kf/codec.h>
#include <kf/envelope.h>
#include <kf/record.h>

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: reproducible across libcs, unlike rand(3) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static uint32_t below(uint32_t n)
{
    return rnd() % n;
}

static const char *const families[] = {"GJJ", "SB", "RS", "YB", "GA", "BDC", "WJ", "MZ", "SS"};

struct kiosk {
    int64_t ts;
    uint64_t uptime, rx, tx, mem_total, disk_total;
    int itm;
};

static void make_txn(struct kiosk *k, struct kf_record *r)
{
    static const uint8_t outcomes[] = {KF_OUTCOME_OK, KF_OUTCOME_OK,     KF_OUTCOME_OK,
                                       KF_OUTCOME_OK, KF_OUTCOME_OK,     KF_OUTCOME_OK,
                                       KF_OUTCOME_OK, KF_OUTCOME_FAILED, KF_OUTCOME_ABANDONED};

    r->type = KF_REC_TXN;
    snprintf(r->u.txn.item, sizeof(r->u.txn.item), "%s-%03u",
             families[below(sizeof(families) / sizeof(families[0]))], 1 + below(12));
    r->u.txn.outcome = outcomes[below(sizeof(outcomes))];
    r->u.txn.dur_ms = 15000 + below(400000);
    k->ts += 20000 + below(600000);
}

static void make_health(struct kiosk *k, struct kf_record *r)
{
    struct kf_rec_health *h = &r->u.health;

    r->type = KF_REC_HEALTH;
    k->ts += 60000 + below(300) - 150;
    k->uptime += 60;
    k->rx += 20000 + below(400000);
    k->tx += 10000 + below(200000);
    h->cpu_pm = (int32_t)(20 + below(below(10) == 0 ? 980 : 250));
    h->mem_total_kb = k->mem_total;
    h->mem_avail_kb = k->mem_total / 4 + below((uint32_t)(k->mem_total / 2));
    h->disk_total_kb = k->disk_total;
    h->disk_avail_kb = k->disk_total / 3 + below(4000000);
    h->temp_mc = below(20) == 0 ? KF_TEMP_NONE : (int32_t)(38000 + below(25000));
    h->uptime_s = k->uptime;
    h->net_rx = k->rx;
    h->net_tx = k->tx;
    h->net_up = below(50) != 0;
}

static void make_periph(struct kiosk *k, struct kf_record *r)
{
    static const uint8_t kiosk_dev[] = {
        KF_PERIPH_SCREEN, KF_PERIPH_ID_CARD_READER, KF_PERIPH_RECEIPT_PRINTER, KF_PERIPH_A4_PRINTER,
        KF_PERIPH_CAMERA, KF_PERIPH_SCANNER,        KF_PERIPH_CARD_READER,     KF_PERIPH_PIN_PAD};
    static const uint8_t states[] = {KF_PSTATE_ONLINE,    KF_PSTATE_ONLINE,    KF_PSTATE_ONLINE,
                                     KF_PSTATE_PAPER_LOW, KF_PSTATE_PAPER_OUT, KF_PSTATE_MEDIA_JAM,
                                     KF_PSTATE_HW_ERROR,  KF_PSTATE_OFFLINE,   KF_PSTATE_USER_ERROR,
                                     KF_PSTATE_POWER_OFF};

    r->type = KF_REC_PERIPH;
    if (k->itm && below(3) == 0) {
        r->u.periph.periph = below(2) ? KF_PERIPH_CASH_IN : KF_PERIPH_CASH_OUT;
        r->u.periph.state = below(2) ? KF_PSTATE_CASH_LOW : KF_PSTATE_ONLINE;
    } else {
        r->u.periph.periph = kiosk_dev[below(sizeof(kiosk_dev))];
        r->u.periph.state = states[below(sizeof(states))];
    }
    k->ts += 1000 + below(100000);
}

static void make_fault(struct kiosk *k, struct kf_record *r)
{
    static const struct {
        const char *code;
        uint8_t sev, dev;
        const char *text;
    } faults[] = {
        {"PRN-JAM", KF_SEV_CRITICAL, KF_PERIPH_RECEIPT_PRINTER, "paper jam at cutter"},
        {"PRN-PAPER-OUT", KF_SEV_MAJOR, KF_PERIPH_A4_PRINTER, "A4 tray empty"},
        {"IDR-READ_FAIL", KF_SEV_MINOR, KF_PERIPH_ID_CARD_READER, "身份证读卡失败"},
        {"SCR-TOUCH", KF_SEV_MAJOR, KF_PERIPH_SCREEN, "touch controller not responding"},
        {"NET-DOWN", KF_SEV_CRITICAL, 0, "uplink lost"},
        {"DISK-LOW", KF_SEV_MINOR, 0, ""},
        {"CAM-OFFLINE", KF_SEV_MAJOR, KF_PERIPH_CAMERA, "camera USB reset"},
        {"APP-CRASH", KF_SEV_MAJOR, 0, "政务服务客户端异常退出"},
        {"CASH-JAM", KF_SEV_CRITICAL, KF_PERIPH_CASH_OUT, "dispenser jam"},
        {"TEMP-HIGH", KF_SEV_MINOR, 0, "cabinet temperature above 55C"},
    };
    size_t i = below(k->itm ? 10 : 8);
    struct kf_rec_fault *f = &r->u.fault;

    r->type = KF_REC_FAULT;
    snprintf(f->code, sizeof(f->code), "%s", faults[i].code);
    f->sev = faults[i].sev;
    f->raise = (uint8_t)below(2);
    f->periph = faults[i].dev;
    snprintf(f->text, sizeof(f->text), "%s", f->raise ? faults[i].text : "");
    k->ts += 1000 + below(60000);
}

static int gen_body(FILE *fp)
{
    struct kiosk k = {0};
    char json[KF_RECORD_JSON_MAX];
    uint32_t n, shape = below(100);
    int telemetry = shape < 35;
    size_t len;

    k.ts = 1767225600000LL + (int64_t)below(365) * 86400000 + below(86400000);
    k.uptime = below(40 * 86400);
    k.rx = (uint64_t)below(2000000000) * 3;
    k.tx = (uint64_t)below(1000000000) * 2;
    k.itm = below(3) == 0;
    k.mem_total = below(2) ? 8041236 : 3932160;
    k.disk_total = below(2) ? 122030736 : 61255652;
    /* Mostly timer flushes of a few records; sometimes a catch-up batch. */
    if (shape % 10 == 0)
        n = 20 + below(31);
    else
        n = 1 + below(telemetry ? 3 : 8);

    fputc('[', fp);
    for (uint32_t i = 0; i < n; i++) {
        struct kf_record r;
        uint32_t pick = below(100);

        memset(&r, 0, sizeof(r));
        if (telemetry || pick < 15)
            make_health(&k, &r);
        else if (pick < 80)
            make_txn(&k, &r);
        else if (pick < 93)
            make_periph(&k, &r);
        else
            make_fault(&k, &r);
        r.ts_ms = k.ts;
        if (kf_record_format(&r, json, sizeof(json), &len) < 0)
            return -EINVAL;
        if (i > 0)
            fputc(',', fp);
        fwrite(json, 1, len, fp);
    }
    fputc(']', fp);
    return 0;
}

static int cmd_gen(const char *dir, unsigned long count, unsigned long seed)
{
    char path[4096];

    rng_state = 0x9E3779B97F4A7C15ULL ^ (seed * 0xBF58476D1CE4E5B9ULL);
    if (rng_state == 0)
        rng_state = 1;
    for (unsigned long i = 0; i < count; i++) {
        FILE *fp;
        int r;

        snprintf(path, sizeof(path), "%s/body-%05lu.json", dir, i);
        fp = fopen(path, "w");
        if (!fp) {
            perror(path);
            return 1;
        }
        r = gen_body(fp);
        if (fclose(fp) != 0 || r < 0) {
            fprintf(stderr, "%s: write failed\n", path);
            return 1;
        }
    }
    return 0;
}

static int cmd_measure(int argc, char **argv)
{
    static char in[KF_BODY_MAX_BYTES], out[KF_BODY_MAX_BYTES + 1024];
    unsigned long long raw = 0, plain = 0, dict = 0;
    struct kf_zctx *z;
    int nfiles = 0;

    if (kf_zctx_new(3, &z) < 0)
        return 1;
    for (int i = 0; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        size_t len, clen;
        uint32_t dict_id;

        if (!fp) {
            perror(argv[i]);
            return 1;
        }
        len = fread(in, 1, sizeof(in), fp);
        fclose(fp);
        clen = ZSTD_compress(out, sizeof(out), in, len, 3);
        if (ZSTD_isError(clen))
            return 1;
        plain += clen;
        if (kf_zctx_compress(z, in, len, out, sizeof(out), &clen, &dict_id) < 0)
            return 1;
        dict += clen;
        raw += len;
        nfiles++;
    }
    kf_zctx_free(z);
    printf("bodies %d, raw %llu B (mean %.0f B)\n", nfiles, raw, nfiles ? (double)raw / nfiles : 0);
    printf("zstd -3 without dictionary: %llu B, ratio %.2f\n", plain, (double)raw / (double)plain);
    printf("zstd -3 with v1 dictionary: %llu B, ratio %.2f\n", dict, (double)raw / (double)dict);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "gen") == 0)
        return cmd_gen(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
    if (argc >= 3 && strcmp(argv[1], "measure") == 0)
        return cmd_measure(argc - 2, argv + 2);
    fprintf(stderr, "usage: %s gen DIR COUNT SEED | measure FILE...\n", argv[0]);
    return 2;
}
