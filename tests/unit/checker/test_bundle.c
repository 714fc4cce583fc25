/* tests/unit/checker/test_bundle.c: the bundle's reader (checker/bundle.h) refuses what it
 * cannot read, under its limits, and never crashes; one signed-log entry's check
 * (rules/logentry.h) as the checker uses it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "checker/bundle.h"
#include "checker/check.h"
#include "rules/logentry.h"

#define SIG128                                                                                     \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"       \
    "000000000000000000000000000000000000000000"

/* A bundle with empty arrays; extra is spliced into the object (may be ""). */
static char *minimal(const char *extra)
{
    char *s = NULL;

    cr_assert_geq(asprintf(&s,
                           "{\"doc\":\"kioskfleet.bundle/1\",\"server_pk\":null,\"bill\":\"{}\","
                           "\"bill_sig\":\"%s\",\"bank\":\"ICBC\",\"period\":\"2026-09\","
                           "\"close_ms\":0,\"calendars\":[],\"contracts\":[],\"zones\":[],"
                           "\"terminals\":[],\"log\":[],\"facts\":[]%s}",
                           SIG128, extra),
                  0);
    return s;
}

static int parse(const char *s, char *err, size_t cap)
{
    struct kf_bundle b;
    int r = kf_bundle_parse(s, strlen(s), &b, err, cap);

    if (r == 0)
        kf_bundle_free(&b);
    return r;
}

Test(bundle, reads_a_minimal_bundle)
{
    char err[256];
    char *s = minimal("");

    cr_assert_eq(parse(s, err, sizeof(err)), 0, "%s", err);
    free(s);
}

Test(bundle, refuses_truncated_json_at_every_length)
{
    char err[256];
    char *s = minimal("");
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        struct kf_bundle b;

        cr_assert_lt(kf_bundle_parse(s, i, &b, err, sizeof(err)), 0, "length %zu parsed", i);
    }
    free(s);
}

Test(bundle, refuses_a_file_past_its_size_cap)
{
    char err[256], one = '{';
    struct kf_bundle b;

    cr_assert_eq(kf_bundle_parse(&one, KF_BUNDLE_FILE_MAX + 1, &b, err, sizeof(err)), -E2BIG);
    cr_assert(strstr(err, "more than") != NULL, "%s", err);
}

/* The minimal bundle with key's array replaced by n zeros. */
static char *huge(const char *key, size_t n)
{
    static const char *const keys[] = {"calendars", "contracts", "zones",
                                       "terminals", "log",       "facts"};
    size_t cap = 2 * n + 4, len = 0;
    char *zeros = malloc(cap), *s = NULL, *arrays[6];

    cr_assert_not_null(zeros);
    zeros[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        zeros[len++] = '0';
        zeros[len++] = i + 1 < n ? ',' : ']';
    }
    zeros[len] = '\0';
    for (size_t i = 0; i < 6; i++)
        arrays[i] = strcmp(keys[i], key) == 0 ? zeros : "[]";
    cr_assert_geq(asprintf(&s,
                           "{\"doc\":\"kioskfleet.bundle/1\",\"server_pk\":null,\"bill\":\"{}\","
                           "\"bill_sig\":\"%s\",\"bank\":\"ICBC\",\"period\":\"2026-09\","
                           "\"close_ms\":0,\"calendars\":%s,\"contracts\":%s,\"zones\":%s,"
                           "\"terminals\":%s,\"log\":%s,\"facts\":%s}",
                           SIG128, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4],
                           arrays[5]),
                  0);
    free(zeros);
    return s;
}

Test(bundle, refuses_huge_arrays)
{
    static const struct {
        const char *key;
        size_t max;
    } k[] = {{"calendars", KF_BUNDLE_CALENDARS_MAX},
             {"contracts", KF_BUNDLE_CONTRACTS_MAX},
             {"zones", KF_BUNDLE_ZONES_MAX},
             {"terminals", KF_BUNDLE_TERMINALS_MAX}};
    char err[256];

    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        char *s = huge(k[i].key, k[i].max + 1);

        cr_assert_eq(parse(s, err, sizeof(err)), -E2BIG, "%s: %s", k[i].key, err);
        cr_assert(strstr(err, k[i].key) != NULL, "%s", err);
        free(s);
    }
    /* At the limit, read (and then refused for what the zeros are, not for their number). */
    {
        char *s = huge("calendars", KF_BUNDLE_CALENDARS_MAX);

        cr_assert_eq(parse(s, err, sizeof(err)), -EINVAL, "%s", err);
        free(s);
    }
}

Test(bundle, refuses_what_it_cannot_read)
{
    static const char *const bad[] = {
        "[]",
        "{\"doc\":\"kioskfleet.bundle/2\"}",
        "{\"doc\":\"kioskfleet.bundle/1\",\"doc\":\"kioskfleet.bundle/1\"}",
    };
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(parse(bad[i], err, sizeof(err)), -EINVAL, "%s", bad[i]);
}

Test(bundle, refuses_hostile_members)
{
    char err[256];
    char *s;

    /* A fact of a terminal the bundle does not list. */
    s = NULL;
    cr_assert_geq(
        asprintf(&s,
                 "{\"doc\":\"kioskfleet.bundle/1\",\"bill\":\"{}\",\"bill_sig\":\"%s\","
                 "\"bank\":\"ICBC\",\"period\":\"2026-09\",\"close_ms\":0,\"calendars\":[],"
                 "\"contracts\":[],\"zones\":[],\"terminals\":[],\"log\":[],\"facts\":[{\"id\":1,"
                 "\"asset\":\"A-1\",\"device\":\"D\",\"recv_ms\":0,\"kind\":\"presence\","
                 "\"at_ms\":0,\"on\":1,\"src\":\"connect\",\"periph\":null,\"code\":\"\","
                 "\"sev\":null,\"who\":\"\"}]}",
                 SIG128),
        0);
    cr_assert_eq(parse(s, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "not one of the bundle's terminals") != NULL, "%s", err);
    free(s);
    /* A period that is not a month; a bank code past its length. */
    s = minimal("");
    memcpy(strstr(s, "2026-09"), "2026-13", 7);
    cr_assert_eq(parse(s, err, sizeof(err)), -EINVAL, "%s", err);
    free(s);
    s = NULL;
    cr_assert_geq(asprintf(&s,
                           "{\"doc\":\"kioskfleet.bundle/1\",\"bill\":\"{}\",\"bill_sig\":\"%s\","
                           "\"bank\":\"%0300d\"}",
                           SIG128, 0),
                  0);
    cr_assert_eq(parse(s, err, sizeof(err)), -E2BIG, "%s", err);
    free(s);
}

Test(bundle, an_unsigned_bill_is_a_difference_not_a_crash)
{
    uint8_t pk[32], sk[64];
    struct kf_check_result res;
    struct kf_bundle b;
    char err[256];
    char *s = minimal("");

    cr_assert_eq(kf_bundle_parse(s, strlen(s), &b, err, sizeof(err)), 0, "%s", err);
    crypto_sign_keypair(pk, sk);
    cr_assert_eq(kf_check_bundle(&b, pk, &res), 1);
    cr_assert(strstr(res.message, "bill's signature") != NULL, "%s", res.message);
    kf_bundle_free(&b);
    free(s);
}

Test(logentry, verifies_and_names_an_edit)
{
    uint8_t pk[32], sk[64], prev[32] = {0}, h[32], sig[64];
    struct kf_log_entry e = {7, 1000, "ops", "contract.load", "ICBC/ICBC-2026/v1", "{}"};

    crypto_sign_keypair(pk, sk);
    kf_log_entry_hash(prev, &e, h);
    crypto_sign_detached(sig, NULL, h, 32, sk);
    cr_assert_eq(kf_log_entry_verify(prev, &e, h, sig, pk), KF_LOG_ENTRY_OK);
    e.detail = "{\"x\":1}";
    cr_assert_eq(kf_log_entry_verify(prev, &e, h, sig, pk), KF_LOG_ENTRY_BAD_HASH);
    e.detail = "{}";
    pk[0] ^= 1;
    cr_assert_eq(kf_log_entry_verify(prev, &e, h, sig, pk), KF_LOG_ENTRY_BAD_SIG);
}
