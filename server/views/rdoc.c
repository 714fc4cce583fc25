/* views/rdoc.c: freezing and verifying the bureau's documents (views/rdoc.h). */
#include "views/rdoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <kf/err.h>

#include "store/audit_log.h"
#include "views/billing.h"
#include "views/cells_int.h"

int kf_view_rdoc_freeze(struct kf_store *st, const uint8_t sk[64], const char *kind,
                        const char *period, const char *json, size_t len, int64_t now_ms,
                        const char *by, const char *reason, int32_t *ret_version, char *err,
                        size_t cap)
{
    struct kf_rdoc d;
    char subject[64], detail[KF_RDOC_REASON_MAX * 2 + 160];
    int32_t latest = 0;
    int r;

    err[0] = '\0';
    if (strlen(kind) > KF_RDOC_KIND_MAX || strlen(period) > KF_RDOC_PERIOD_MAX || !by || !*by ||
        strlen(by) > KF_RDOC_WHO_MAX || (reason && strlen(reason) > KF_RDOC_REASON_MAX)) {
        snprintf(err, cap, "kind, period, who or reason too long or missing");
        return -EINVAL;
    }
    if ((r = kf_store_rdoc_latest(st, kind, period, &latest)) < 0) {
        snprintf(err, cap, "%s", kf_store_errmsg(st));
        return r;
    }
    if (latest > 0 && (!reason || !*reason)) {
        snprintf(err, cap,
                 "%s %s is issued already (version %d): a new version supersedes it only "
                 "with a reason",
                 kind, period, (int)latest);
        return -EEXIST;
    }
    memset(&d, 0, sizeof(d));
    snprintf(d.kind, sizeof(d.kind), "%s", kind);
    snprintf(d.period, sizeof(d.period), "%s", period);
    d.version = latest + 1;
    d.issued_ms = now_ms;
    snprintf(d.issued_by, sizeof(d.issued_by), "%s", by);
    snprintf(d.reason, sizeof(d.reason), "%s", latest > 0 ? reason : "");
    d.json = (char *)json;
    d.json_len = len;
    kf_view_billing_digest(json, len, d.digest);
    crypto_sign_detached(d.sig, NULL, (const uint8_t *)json, len, sk);
    if ((r = kf_store_rdoc_add(st, &d)) < 0) {
        snprintf(err, cap, "%s", kf_store_errmsg(st));
        return r;
    }
    snprintf(subject, sizeof(subject), "%s/%s/v%d", kind, period, (int)d.version);
    {
        /* The reason is the operator's text: escaped as a JSON string. */
        size_t k = 0;
        char esc[KF_RDOC_REASON_MAX * 2 + 1];

        for (const unsigned char *p = (const unsigned char *)d.reason; *p && k + 7 < sizeof(esc);
             p++) {
            if (*p == '"' || *p == '\\') {
                esc[k++] = '\\';
                esc[k++] = (char)*p;
            } else if (*p < 0x20) {
                k += (size_t)snprintf(esc + k, sizeof(esc) - k, "\\u%04x", *p);
            } else {
                esc[k++] = (char)*p;
            }
        }
        esc[k] = '\0';
        snprintf(detail, sizeof(detail), "{\"digest\":\"%s\",\"version\":%d,\"reason\":\"%s\"}",
                 d.digest, (int)d.version, esc);
    }
    r = kf_store_audit_log_append(st, now_ms, by, "report.issue", subject, detail, sk);
    if (r < 0) {
        snprintf(err, cap, "signed log: %s", kf_store_errmsg(st));
        return r;
    }
    *ret_version = d.version;
    return 0;
}

struct find_entry {
    const char *subject, *digest;
    int found, digest_ok;
};

static int find_one(const struct kf_audit_entry *e, void *ud)
{
    struct find_entry *f = ud;

    if (strcmp(e->action, "report.issue") == 0 && strcmp(e->subject, f->subject) == 0) {
        f->found = 1;
        f->digest_ok = e->detail && strstr(e->detail, f->digest) != NULL;
    }
    return 0;
}

/* Where two byte strings first differ, with a little context, for a person. */
static void first_difference(const char *a, size_t na, const char *b, size_t nb, char *err,
                             size_t cap)
{
    size_t i = 0, from;

    while (i < na && i < nb && a[i] == b[i])
        i++;
    from = i > 40 ? i - 40 : 0;
    snprintf(err, cap,
             "recomputed now, the document differs at byte %zu: issued \"...%.*s\", now "
             "\"...%.*s\" (an input changed since it was issued; its \"inputs\" digests say "
             "which)",
             i, (int)((na - from) < 80 ? na - from : 80), a + from,
             (int)((nb - from) < 80 ? nb - from : 80), b + from);
}

int kf_view_rdoc_verify(struct kf_store *st, const uint8_t pk[32], const char *kind,
                        const char *period, int32_t version, const char *now_json, size_t now_len,
                        char *err, size_t cap)
{
    struct kf_rdoc d;
    struct find_entry f;
    char hex[65], subject[64];
    int r;

    err[0] = '\0';
    memset(&d, 0, sizeof(d));
    if ((r = kf_store_rdoc_get(st, kind, period, version, &d)) < 0) {
        snprintf(err, cap, "%s", kf_store_errmsg(st));
        return r;
    }
    kf_view_billing_digest(d.json, d.json_len, hex);
    snprintf(subject, sizeof(subject), "%s/%s/v%d", kind, period, (int)d.version);
    f = (struct find_entry){subject, d.digest, 0, 0};
    if (strcmp(hex, d.digest) != 0) {
        snprintf(err, cap, "%s: the stored bytes digest to %s, the row says %s", subject, hex,
                 d.digest);
        r = 1;
    } else if (crypto_sign_verify_detached(d.sig, (const uint8_t *)d.json, d.json_len, pk) != 0) {
        snprintf(err, cap, "%s: the signature is not the server key's", subject);
        r = 1;
    } else if ((r = kf_store_audit_log_each(st, find_one, &f)) < 0) {
        snprintf(err, cap, "signed log: %s", kf_store_errmsg(st));
    } else if (!f.found || !f.digest_ok) {
        snprintf(err, cap, "%s: %s", subject,
                 f.found ? "its report.issue entry names another digest"
                         : "no report.issue entry in the signed log");
        r = 1;
    } else if (now_json && (now_len != d.json_len || memcmp(now_json, d.json, now_len) != 0)) {
        first_difference(d.json, d.json_len, now_json, now_len, err, cap);
        r = 1;
    }
    free(d.json);
    return r;
}

struct kf_qtable *kf_view_rdoc_list_table(const struct kf_rdoc *docs, size_t n)
{
    static const char *const cols[] = {"kind",      "period", "version", "issued",
                                       "issued_by", "digest", "reason",  NULL};
    struct kf_qtable *t = kf_store_query_table_new("reports", NULL, cols, "xxitxxx");

    for (size_t i = 0; t && i < n; i++) {
        char v[24], at[24];
        const char *cells[] = {docs[i].kind,
                               docs[i].period,
                               kf__view_cell_int(docs[i].version, v),
                               kf__view_cell_int(docs[i].issued_ms, at),
                               docs[i].issued_by,
                               docs[i].digest,
                               docs[i].reason[0] ? docs[i].reason : NULL};

        if (kf_store_query_table_add_row(t, cells) < 0) {
            kf_store_query_table_free(t);
            t = NULL;
        }
    }
    return t;
}
