/* store/sqlite/fixtures.c: kf_store_load_fixtures, the deployment (units, banks, zones, service
 * families and items, and the SLA contracts) from fixtures/deployment.json, validated row by
 * row. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sqlite3.h>

#include <kf/record.h>

#include "store/store.h"
#include "store/sqlite/int.h"

#define KF_FIXTURES_MAX_BYTES (8u * 1024 * 1024)

/* Required string member; NULL (and an error message naming where) if absent. */
static const char *fx_str(struct kf_store *st, json_t *obj, const char *key, const char *where,
                          size_t idx)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        kf__store_seterr(st, "fixtures: %s[%zu]: missing or empty string \"%s\"", where, idx, key);
        return NULL;
    }
    return json_string_value(v);
}

static int fx_ref(struct kf_store *st, enum kf_stmt id, const char *code, const char *what,
                  const char *where, size_t idx)
{
    int r = kf__store_exists(st, id, code);

    if (r == 0) {
        kf__store_seterr(st, "fixtures: %s[%zu]: unknown %s \"%s\"", where, idx, what, code);
        return -EINVAL;
    }
    return r < 0 ? r : 0;
}

static json_t *fx_array(struct kf_store *st, json_t *root, const char *key)
{
    json_t *a = json_object_get(root, key);

    if (!json_is_array(a))
        kf__store_seterr(st, "fixtures: missing array \"%s\"", key);
    return json_is_array(a) ? a : NULL;
}

/* A section whose rows are strings only, bound in key order: the first nreq keys required,
 * the rest optional ("" when absent). */
struct fx_strings {
    const char *section; /* the fixtures' array, named in messages */
    enum kf_stmt stmt;
    const char *what; /* for the store's error message */
    const char *keys[4];
    size_t nreq, nkeys;
};

static const struct fx_strings fx_units = {
    "units", ST_UNIT_UPSERT, "upsert unit", {"code", "name", "kind"}, 3, 3};
static const struct fx_strings fx_banks = {
    "banks", ST_BANK_UPSERT, "upsert bank", {"code", "name"}, 2, 2};
static const struct fx_strings fx_families = {
    "families", ST_FAMILY_UPSERT, "upsert family", {"code", "name", "name_en"}, 2, 3};

static int fx_rows(struct kf_store *st, json_t *a, const struct fx_strings *t)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r;

    json_array_foreach(a, i, o)
    {
        const char *v[4];

        for (size_t k = 0; k < t->nkeys; k++) {
            json_t *opt = json_object_get(o, t->keys[k]);

            if (k < t->nreq)
                v[k] = fx_str(st, o, t->keys[k], t->section, i);
            else
                v[k] = json_is_string(opt) ? json_string_value(opt) : "";
            if (!v[k])
                return -EINVAL;
        }
        r = kf__store_stmt(st, t->stmt, &s);
        if (r < 0)
            return r;
        for (size_t k = 0; k < t->nkeys; k++)
            sqlite3_bind_text(s, (int)k + 1, v[k], -1, SQLITE_STATIC);
        r = kf__store_stmt_run(st, s, t->what);
        if (r < 0)
            return r;
    }
    return 0;
}

static int fx_count(struct kf_store *st, json_t *o, const char *key, size_t idx, int *ret)
{
    json_t *v = json_object_get(o, key);

    if (!v) {
        *ret = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000) {
        kf__store_seterr(st, "fixtures: zones[%zu]: \"%s\" must be an integer 0..1000", idx, key);
        return -EINVAL;
    }
    *ret = (int)json_integer_value(v);
    return 0;
}

static int fx_zones(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r, kiosks, itms;

    json_array_foreach(a, i, o)
    {
        const char *id = fx_str(st, o, "id", "zones", i);
        const char *name = fx_str(st, o, "name", "zones", i);
        const char *bank = fx_str(st, o, "bank", "zones", i);
        const char *branch = fx_str(st, o, "branch", "zones", i);
        const char *unit = fx_str(st, o, "unit", "zones", i);
        const char *addr = fx_str(st, o, "address", "zones", i);
        json_t *hours = json_object_get(o, "hours");
        json_t *itm_hours = json_object_get(o, "itm_hours");
        char *hours_txt;

        if (!id || !name || !bank || !branch || !unit || !addr)
            return -EINVAL;
        if (strlen(id) > KF_ZONE_ID_MAX) {
            kf__store_seterr(st, "fixtures: zones[%zu]: id \"%s\" too long", i, id);
            return -EINVAL;
        }
        if (!json_is_object(hours)) {
            kf__store_seterr(st, "fixtures: zones[%zu] (%s): missing object \"hours\"", i, id);
            return -EINVAL;
        }
        if (itm_hours && !json_is_string(itm_hours) && !json_is_null(itm_hours)) {
            kf__store_seterr(st, "fixtures: zones[%zu] (%s): \"itm_hours\" must be a string", i,
                             id);
            return -EINVAL;
        }
        r = fx_count(st, o, "kiosks", i, &kiosks);
        if (r == 0)
            r = fx_count(st, o, "itms", i, &itms);
        if (r == 0)
            r = fx_ref(st, ST_UNIT_EXISTS, unit, "unit", "zones", i);
        if (r == 0)
            r = fx_ref(st, ST_BANK_EXISTS, bank, "bank", "zones", i);
        if (r < 0)
            return r;
        hours_txt = json_dumps(hours, JSON_COMPACT | JSON_SORT_KEYS);
        if (!hours_txt)
            return -ENOMEM;
        r = kf__store_stmt(st, ST_ZONE_UPSERT, &s);
        if (r < 0) {
            free(hours_txt);
            return r;
        }
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, bank, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, branch, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, addr, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 7, kiosks);
        sqlite3_bind_int(s, 8, itms);
        sqlite3_bind_text(s, 9, hours_txt, -1, SQLITE_TRANSIENT);
        if (json_is_string(itm_hours))
            sqlite3_bind_text(s, 10, json_string_value(itm_hours), -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 10);
        free(hours_txt);
        r = kf__store_stmt_run(st, s, "upsert zone");
        if (r < 0)
            return r;
    }
    return 0;
}

static int fx_needs(struct kf_store *st, json_t *needs, size_t idx, const char *code)
{
    size_t j;
    json_t *v;
    int p;

    if (!json_is_array(needs)) {
        kf__store_seterr(st, "fixtures: items[%zu] (%s): missing array \"needs\"", idx, code);
        return -EINVAL;
    }
    json_array_foreach(needs, j, v)
    {
        if (!json_is_string(v) || kf_periph_parse(json_string_value(v), &p) < 0) {
            kf__store_seterr(st, "fixtures: items[%zu] (%s): unknown peripheral in \"needs\"", idx,
                             code);
            return -EINVAL;
        }
    }
    return 0;
}

static int fx_items(struct kf_store *st, json_t *a)
{
    size_t i;
    json_t *o;
    sqlite3_stmt *s = NULL;
    int r;

    json_array_foreach(a, i, o)
    {
        const char *code = fx_str(st, o, "code", "items", i);
        const char *family = fx_str(st, o, "family", "items", i);
        const char *name = fx_str(st, o, "name", "items", i);
        json_t *en = json_object_get(o, "name_en");
        json_t *needs = json_object_get(o, "needs");
        json_t *w = json_object_get(o, "weight");
        char *needs_txt;

        if (!code || !family || !name)
            return -EINVAL;
        if (strlen(code) > KF_ITEM_CODE_MAX) {
            kf__store_seterr(st, "fixtures: items[%zu]: code \"%s\" too long", i, code);
            return -EINVAL;
        }
        if (w &&
            (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > 1000000)) {
            kf__store_seterr(st, "fixtures: items[%zu] (%s): bad \"weight\"", i, code);
            return -EINVAL;
        }
        r = fx_needs(st, needs, i, code);
        if (r == 0)
            r = fx_ref(st, ST_FAMILY_EXISTS, family, "family", "items", i);
        if (r < 0)
            return r;
        needs_txt = json_dumps(needs, JSON_COMPACT);
        if (!needs_txt)
            return -ENOMEM;
        r = kf__store_stmt(st, ST_ITEM_UPSERT, &s);
        if (r < 0) {
            free(needs_txt);
            return r;
        }
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, family, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, json_is_string(en) ? json_string_value(en) : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, needs_txt, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 6, w ? json_integer_value(w) : 1);
        free(needs_txt);
        r = kf__store_stmt_run(st, s, "upsert item");
        if (r < 0)
            return r;
    }
    return 0;
}

/* The optional "contracts" section: SLA terms per bank ("*": any bank) and terminal kind,
 * in service seconds (docs/SLA.md section 6). Rare (once per init): prepared per call. */
static int fx_contracts(struct kf_store *st, json_t *a)
{
    sqlite3_stmt *s = NULL;
    size_t i;
    json_t *o;
    int r, rc;

    if (!a)
        return 0;
    if (!json_is_array(a)) {
        kf__store_seterr(st, "fixtures: \"contracts\" must be an array");
        return -EINVAL;
    }
    rc = sqlite3_prepare_v2(kf__store_db(st),
                            "INSERT INTO sla_contracts(bank, kind, response_s, restore_s,"
                            " target_bp) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(bank, kind)"
                            " DO UPDATE SET response_s = excluded.response_s,"
                            " restore_s = excluded.restore_s, target_bp = excluded.target_bp",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        return kf__store_sql_fail(st, rc, "prepare contracts");
    r = 0;
    json_array_foreach(a, i, o)
    {
        const char *bank = fx_str(st, o, "bank", "contracts", i);
        const char *kind = fx_str(st, o, "kind", "contracts", i);
        json_t *rs = json_object_get(o, "response_s"), *ts = json_object_get(o, "restore_s");
        json_t *bp = json_object_get(o, "target_bp");
        int k = kind && strcmp(kind, "kiosk") == 0 ? 1 : kind && strcmp(kind, "itm") == 0 ? 2 : 0;

        if (!bank || !kind) {
            r = -EINVAL;
            break;
        }
        if (k == 0 || !json_is_integer(rs) || json_integer_value(rs) <= 0 ||
            json_integer_value(rs) > 30 * 86400 || !json_is_integer(ts) ||
            json_integer_value(ts) <= 0 || json_integer_value(ts) > 30 * 86400 ||
            !json_is_integer(bp) || json_integer_value(bp) < 0 || json_integer_value(bp) > 10000) {
            kf__store_seterr(st,
                             "fixtures: contracts[%zu]: kind kiosk|itm, response_s and restore_s "
                             "1..2592000, target_bp 0..10000",
                             i);
            r = -EINVAL;
            break;
        }
        if (strcmp(bank, "*") != 0) {
            r = fx_ref(st, ST_BANK_EXISTS, bank, "bank", "contracts", i);
            if (r < 0)
                break;
        }
        sqlite3_bind_text(s, 1, bank, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, k);
        sqlite3_bind_int64(s, 3, json_integer_value(rs));
        sqlite3_bind_int64(s, 4, json_integer_value(ts));
        sqlite3_bind_int64(s, 5, json_integer_value(bp));
        r = kf__store_stmt_run(st, s, "upsert contract");
        if (r < 0)
            break;
    }
    sqlite3_finalize(s);
    return r;
}

int kf_store_load_fixtures(struct kf_store *st, const char *json_path)
{
    json_error_t jerr;
    json_t *root, *units, *banks, *families, *zones, *items;
    struct stat sb;
    FILE *f;
    int r, own;

    st->errmsg[0] = '\0';
    f = fopen(json_path, "re");
    if (!f) {
        r = -errno;
        kf__store_seterr(st, "fixtures: %s: %s", json_path, strerror(-r));
        return r;
    }
    /* Bounded: an operator's file, but still not allowed to eat the machine. */
    if (fstat(fileno(f), &sb) < 0 || sb.st_size > (off_t)KF_FIXTURES_MAX_BYTES) {
        kf__store_seterr(st, "fixtures: %s: not readable or larger than %u bytes", json_path,
                         KF_FIXTURES_MAX_BYTES);
        fclose(f);
        return -EFBIG;
    }
    root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!json_is_object(root)) {
        kf__store_seterr(st, "fixtures: %s:%d: %s", json_path, root ? 1 : jerr.line,
                         root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return -EINVAL;
    }
    units = fx_array(st, root, "units");
    banks = fx_array(st, root, "banks");
    families = fx_array(st, root, "families");
    zones = fx_array(st, root, "zones");
    items = fx_array(st, root, "items");
    if (!units || !banks || !families || !zones || !items) {
        r = -EINVAL;
        goto out_decref;
    }
    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        goto out_decref;
    r = fx_rows(st, units, &fx_units);
    if (r == 0)
        r = fx_rows(st, banks, &fx_banks);
    if (r == 0)
        r = fx_rows(st, families, &fx_families);
    if (r == 0)
        r = fx_zones(st, zones);
    if (r == 0)
        r = fx_items(st, items);
    if (r == 0)
        r = fx_contracts(st, json_object_get(root, "contracts"));
    r = kf__store_txn_leave(st, own, r);
out_decref:
    json_decref(root);
    return r;
}
