/* render/assess.c: the half-year assessment's document parsed and checked once
 * (render/assess_int.h), its views as tables of typed cells, and the CSV (render/assess.h).
 * The workbook is render/assess_xlsx.c. */
#include "render/assess.h"
#include "render/assess_int.h"
#include "render/render_int.h"
#include "render/sheet_int.h"

#include <kf/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC "kioskfleet.assessment/1"
#define INT_MAX_EXACT (1LL << 53) /* every integer a double holds exactly, as XLSX cells are */

/* ---- Measures and names ------------------------------------------------------------------- */

/* docs/REPORTS.md "Figures" and "The default rubric": the document names a measure, people
 * read these. */
static const struct kf__ra_measure measures[] = {
    {"activity", "活跃度", "活跃度(笔/台/日)", "活跃度得分", "笔/台/日", RA_X100},
    {"availability", "设备可用率", "设备可用率", "设备可用率得分", "%", RA_BP},
    {"catalog_use", "事项使用覆盖率", "事项使用覆盖率", "事项使用覆盖率得分", "%", RA_BP},
    {"in_service", "设备在位率", "设备在位率", "设备在位率得分", "%", RA_BP},
    {"completion", "交易完成率", "交易完成率", "交易完成率得分", "%", RA_BP},
    {"response", "故障按时响应率", "故障按时响应率", "故障按时响应率得分", "%", RA_BP},
    {"response_time", "故障响应时长", "故障响应时长(秒)", "故障响应时长得分", "秒", RA_INT},
    {"data_days", "数据上报率", "数据上报率", "数据上报率得分", "%", RA_BP},
};
#define N_MEASURES (sizeof(measures) / sizeof(measures[0]))

/* A result, and the reasons that go with it (docs/REPORTS.md "Scores and the result"). */
static const struct {
    const char *name, *zh;
    const char *reasons[3];
} results[] = {
    {"pass", "合格", {NULL}},
    {"fail", "不合格", {"score", "must_pass", "no_terminals"}},
    {"not_assessed", "不参评", {"short", "delisted"}},
};

static const char *const reasons[][2] = {
    {"score", "总分低于合格分"},
    {"must_pass", "必达项未达标"},
    {"no_terminals", "考核期内无终端在用"},
    {"short", "服务天数不足"},
    {"delisted", "已摘牌"},
};

static const char *const view_names[KF_RENDER_ASSESS_VIEWS_] = {NULL, "zones", "units", "banks"};
static const char *const sheets[KF_RENDER_ASSESS_VIEWS_] = {NULL, "专区考核", "区县汇总",
                                                            "银行排名"};

int kf_render_assess_view(const char *name)
{
    for (int v = KF_RENDER_ASSESS_ZONES; name && v < KF_RENDER_ASSESS_VIEWS_; v++) {
        if (strcmp(name, view_names[v]) == 0) {
            return v;
        }
    }
    return -1;
}

const char *kf__ra_sheet(int view)
{
    return sheets[view];
}

static const char *result_zh(const char *result)
{
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        if (strcmp(result, results[i].name) == 0) {
            return results[i].zh;
        }
    }
    return result;
}

static const char *reason_zh(const char *reason)
{
    for (size_t i = 0; reason && i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reason, reasons[i][0]) == 0) {
            return reasons[i][1];
        }
    }
    return reason;
}

/* ---- Parse ---------------------------------------------------------------------------------- */

/* What a key must hold. Integers are never negative in the document (n/a is null) and stay
 * within what a spreadsheet's cell holds exactly. */
enum key_type { K_STR, K_DAY, K_INT, K_INT_NA, K_STR_NA, K_BOOL, K_ARR, K_OBJ };

static const char *const type_names[] = {
    "a string",           "a date (YYYY-MM-DD)", "an integer (0..2^53)",
    "an integer or null", "a string or null",    "true or false",
    "an array",           "an object",
};

struct key {
    const char *name;
    uint8_t type;
};

static int str_ok(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) <= KF__RENDER_MAX_TEXT;
}

static int int_ok(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 &&
           json_integer_value(v) <= INT_MAX_EXACT;
}

static int key_ok(const json_t *v, int type)
{
    int32_t day;

    switch (type) {
    case K_STR:
        return str_ok(v);
    case K_DAY:
        return str_ok(v) && kf_day_parse(json_string_value(v), &day) == 0;
    case K_INT:
        return int_ok(v);
    case K_INT_NA:
        return json_is_null(v) || int_ok(v);
    case K_STR_NA:
        return json_is_null(v) || str_ok(v);
    case K_BOOL:
        return json_is_boolean(v);
    case K_ARR:
        return json_is_array(v) && json_array_size(v) <= KF__RA_MAX_ROWS;
    default:
        return json_is_object(v);
    }
}

/* "assessment: zones[3].total_cp: ..." or, at the top, "assessment: \"zones\": ...". */
static int fail_at(char *err, size_t errn, const char *where, const char *key, const char *what)
{
    if (*where) {
        return kf__render_fail(err, errn, -EINVAL, "assessment: %s.%s: %s", where, key, what);
    }
    return kf__render_fail(err, errn, -EINVAL, "assessment: \"%s\": %s", key, what);
}

/* o holds exactly these keys, each of its type. */
static int check_keys(const json_t *o, const struct key *keys, size_t n, const char *where,
                      char *err, size_t errn)
{
    const char *k;
    json_t *v;
    char what[64];

    if (!json_is_object(o)) {
        return kf__render_fail(err, errn, -EINVAL, "assessment: %s: not an object", where);
    }
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(o, keys[i].name);
        if (!key_ok(v, keys[i].type)) {
            snprintf(what, sizeof(what), "%s %s", v ? "not" : "missing, must be",
                     type_names[keys[i].type]);
            return fail_at(err, errn, where, keys[i].name, what);
        }
    }
    if (json_object_size(o) == n) {
        return 0;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;

        while (i < n && strcmp(k, keys[i].name) != 0) {
            i++;
        }
        if (i == n) {
            return fail_at(err, errn, where, k, "unknown key");
        }
    }
    return 0;
}

static const char *sv(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)); /* NULL for null */
}

static int64_t iv(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : KF__RA_NA;
}

static const struct kf__ra_measure *measure_of(const char *name)
{
    for (size_t i = 0; name && i < N_MEASURES; i++) {
        if (strcmp(name, measures[i].name) == 0) {
            return &measures[i];
        }
    }
    return NULL;
}

static int period_ok(const char *s)
{
    return strlen(s) == 7 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
           s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9' && s[4] == '-' && s[5] == 'H' &&
           (s[6] == '1' || s[6] == '2');
}

static int parse_rubric(struct kf__ra_doc *d, const json_t *r, char *err, size_t errn)
{
    static const struct key rkeys[] = {
        {"id", K_STR},         {"version", K_INT},          {"total", K_INT},
        {"pass_score", K_INT}, {"min_service_days", K_INT}, {"criteria", K_ARR}};
    static const struct key ckeys[] = {{"measure", K_STR},   {"weight", K_INT},
                                       {"floor", K_INT},     {"full", K_INT},
                                       {"pass_mark", K_INT}, {"must_pass", K_BOOL}};
    const json_t *crit, *c;
    char where[48];
    size_t i;
    int rc;

    if ((rc = check_keys(r, rkeys, 6, "rubric", err, errn)) < 0) {
        return rc;
    }
    crit = json_object_get(r, "criteria");
    if (json_array_size(crit) < 1 || json_array_size(crit) > KF__RA_MAX_CRIT) {
        return fail_at(err, errn, "rubric", "criteria", "not 1 to 8 criteria");
    }
    d->rubric_id = sv(r, "id");
    d->rubric_version = iv(r, "version");
    d->total = iv(r, "total");
    d->pass_score = iv(r, "pass_score");
    d->min_service_days = iv(r, "min_service_days");
    json_array_foreach(crit, i, c)
    {
        struct kf__ra_rule *u = &d->rules[i];

        snprintf(where, sizeof(where), "rubric.criteria[%zu]", i);
        if ((rc = check_keys(c, ckeys, 6, where, err, errn)) < 0) {
            return rc;
        }
        if (!(u->m = measure_of(sv(c, "measure")))) {
            return fail_at(err, errn, where, "measure", "not a measure of the rubric");
        }
        for (size_t j = 0; j < i; j++) {
            if (d->rules[j].m == u->m) {
                return fail_at(err, errn, where, "measure", "listed twice");
            }
        }
        u->weight = iv(c, "weight");
        u->floor = iv(c, "floor");
        u->full = iv(c, "full");
        u->pass_mark = iv(c, "pass_mark");
        u->must_pass = json_is_true(json_object_get(c, "must_pass"));
    }
    d->n_rules = json_array_size(crit);
    return 0;
}

/* The result and its reason go together; an assessed zone has the rubric's criteria in its
 * order, one not assessed none and no total. */
static int parse_zone(const struct kf__ra_doc *d, const json_t *o, size_t n, struct kf__ra_zone *z,
                      char *err, size_t errn)
{
    static const struct key zkeys[] = {
        {"zone", K_STR},         {"unit", K_STR},      {"bank", K_STR},
        {"planned", K_INT},      {"from", K_DAY},      {"to", K_DAY},
        {"service_days", K_INT}, {"terminals", K_INT}, {"terminal_days", K_INT},
        {"txns_ok", K_INT},      {"owed_s", K_INT},    {"uptime_s", K_INT},
        {"result", K_STR},       {"reason", K_STR_NA}, {"total_cp", K_INT_NA},
        {"criteria", K_ARR}};
    static const struct key ckeys[] = {{"measure", K_STR},  {"num", K_INT},      {"den", K_INT},
                                       {"value", K_INT_NA}, {"score_cp", K_INT}, {"pass", K_BOOL}};
    const json_t *crit, *c;
    char where[64];
    size_t r = 0, i;
    int rc, assessed;

    snprintf(where, sizeof(where), "zones[%zu]", n);
    if ((rc = check_keys(o, zkeys, sizeof(zkeys) / sizeof(zkeys[0]), where, err, errn)) < 0) {
        return rc;
    }
    z->zone = sv(o, "zone");
    z->unit = sv(o, "unit");
    z->bank = sv(o, "bank");
    z->from = sv(o, "from");
    z->to = sv(o, "to");
    z->result = sv(o, "result");
    z->reason = sv(o, "reason");
    z->planned = iv(o, "planned");
    z->service_days = iv(o, "service_days");
    z->terminals = iv(o, "terminals");
    z->terminal_days = iv(o, "terminal_days");
    z->txns_ok = iv(o, "txns_ok");
    z->owed_s = iv(o, "owed_s");
    z->uptime_s = iv(o, "uptime_s");
    z->total_cp = iv(o, "total_cp");
    if (strcmp(z->from, z->to) > 0) {
        return fail_at(err, errn, where, "to", "before \"from\"");
    }
    while (r < sizeof(results) / sizeof(results[0]) && strcmp(z->result, results[r].name) != 0) {
        r++;
    }
    if (r == sizeof(results) / sizeof(results[0])) {
        return fail_at(err, errn, where, "result", "not pass, fail or not_assessed");
    }
    for (i = 0; z->reason && i < 3 && results[r].reasons[i]; i++) {
        if (strcmp(z->reason, results[r].reasons[i]) == 0) {
            break;
        }
    }
    if (z->reason ? i == 3 || !results[r].reasons[i] : results[r].reasons[0] != NULL) {
        return fail_at(err, errn, where, "reason", "not a reason of the result");
    }
    assessed = strcmp(z->result, "not_assessed") != 0;
    crit = json_object_get(o, "criteria");
    if (assessed != (z->total_cp != KF__RA_NA)) {
        return fail_at(err, errn, where, "total_cp",
                       assessed ? "null for a zone assessed" : "given for a zone not assessed");
    }
    if (json_array_size(crit) != (assessed ? d->n_rules : 0)) {
        return fail_at(err, errn, where, "criteria",
                       assessed ? "not the rubric's criteria" : "given for a zone not assessed");
    }
    json_array_foreach(crit, i, c)
    {
        struct kf__ra_crit *k = &z->crit[i];

        snprintf(where, sizeof(where), "zones[%zu].criteria[%zu]", n, i);
        if ((rc = check_keys(c, ckeys, 6, where, err, errn)) < 0) {
            return rc;
        }
        if (strcmp(sv(c, "measure"), d->rules[i].m->name) != 0) {
            return fail_at(err, errn, where, "measure", "not the rubric's criterion in its place");
        }
        k->num = iv(c, "num");
        k->den = iv(c, "den");
        k->value = iv(c, "value");
        k->score_cp = iv(c, "score_cp");
        k->pass = json_is_true(json_object_get(c, "pass"));
    }
    z->n_crit = json_array_size(crit);
    return 0;
}

static int parse_rollups(const json_t *a, int banks, struct kf__ra_roll *out, char *err,
                         size_t errn)
{
    static const struct key rkeys[] = {{"rank", K_INT},
                                       {"bank", K_STR},
                                       {"zones", K_INT},
                                       {"assessed", K_INT},
                                       {"passed", K_INT},
                                       {"failed", K_INT},
                                       {"not_assessed", K_INT},
                                       {"pass_rate_bp", K_INT_NA},
                                       {"mean_score_cp", K_INT_NA},
                                       {"txns_ok", K_INT},
                                       {"terminal_days", K_INT},
                                       {"activity", K_INT_NA},
                                       {"owed_s", K_INT},
                                       {"uptime_s", K_INT},
                                       {"availability_bp", K_INT_NA}};
    struct key keys[sizeof(rkeys) / sizeof(rkeys[0])];
    const struct key *k = rkeys;
    size_t nk = sizeof(rkeys) / sizeof(rkeys[0]), i;
    const char *name = banks ? "bank" : "unit";
    const json_t *o;
    char where[32];
    int rc;

    if (!banks) { /* a unit's row: no rank, its key named "unit" */
        memcpy(keys, rkeys + 1, (nk - 1) * sizeof(keys[0]));
        keys[0].name = "unit";
        k = keys;
        nk--;
    }
    json_array_foreach(a, i, o)
    {
        struct kf__ra_roll *r = &out[i];

        snprintf(where, sizeof(where), "%s[%zu]", banks ? "banks" : "units", i);
        if ((rc = check_keys(o, k, nk, where, err, errn)) < 0) {
            return rc;
        }
        r->rank = banks ? iv(o, "rank") : 0;
        if (banks && r->rank < 1) {
            return fail_at(err, errn, where, "rank", "not 1 or more");
        }
        r->key = sv(o, name);
        r->zones = iv(o, "zones");
        r->assessed = iv(o, "assessed");
        r->passed = iv(o, "passed");
        r->failed = iv(o, "failed");
        r->not_assessed = iv(o, "not_assessed");
        r->pass_rate_bp = iv(o, "pass_rate_bp");
        r->mean_score_cp = iv(o, "mean_score_cp");
        r->txns_ok = iv(o, "txns_ok");
        r->terminal_days = iv(o, "terminal_days");
        r->activity = iv(o, "activity");
        r->owed_s = iv(o, "owed_s");
        r->uptime_s = iv(o, "uptime_s");
        r->availability_bp = iv(o, "availability_bp");
    }
    return 0;
}

int kf__ra_parse(const char *json, struct kf__ra_doc *d, char *err, size_t errn)
{
    static const struct key keys[] = {
        {"doc", K_STR},     {"period", K_STR},        {"from", K_DAY},
        {"to", K_DAY},      {"status", K_STR},        {"issued_at_ms", K_INT_NA},
        {"version", K_INT}, {"supersedes", K_STR_NA}, {"reason", K_STR_NA},
        {"rubric", K_OBJ},  {"inputs", K_OBJ},        {"zones", K_ARR},
        {"units", K_ARR},   {"banks", K_ARR}};
    const char *status, *k;
    json_error_t je;
    json_t *v, *zones, *units, *banks;
    size_t i;
    int rc = -EINVAL;

    memset(d, 0, sizeof(*d));
    d->root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(d->root)) {
        kf__render_fail(err, errn, -EINVAL, "assessment: not a JSON object (line %d: %s)", je.line,
                        je.text);
        goto out_fail;
    }
    if (!sv(d->root, "doc") || strcmp(sv(d->root, "doc"), DOC) != 0) {
        kf__render_fail(err, errn, -EINVAL, "assessment: \"doc\" is not \"%s\"", DOC);
        goto out_fail;
    }
    if ((rc = check_keys(d->root, keys, sizeof(keys) / sizeof(keys[0]), "", err, errn)) < 0) {
        goto out_fail;
    }
    rc = -EINVAL;
    d->period = sv(d->root, "period");
    d->from = sv(d->root, "from");
    d->to = sv(d->root, "to");
    status = sv(d->root, "status");
    d->issued_at_ms = iv(d->root, "issued_at_ms");
    d->version = iv(d->root, "version");
    d->supersedes = sv(d->root, "supersedes");
    d->reason = sv(d->root, "reason");
    if (!period_ok(d->period) || strcmp(d->from, d->to) >= 0) {
        fail_at(err, errn, "", "period",
                "not a half-year (YYYY-H1, YYYY-H2) from \"from\" to \"to\"");
        goto out_fail;
    }
    d->draft = strcmp(status, "draft") == 0;
    if (!d->draft && strcmp(status, "issued") != 0) {
        fail_at(err, errn, "", "status", "not \"draft\" or \"issued\"");
        goto out_fail;
    }
    if (d->draft != (d->issued_at_ms == KF__RA_NA)) {
        fail_at(err, errn, "", "issued_at_ms", d->draft ? "given on a draft" : "null when issued");
        goto out_fail;
    }
    if (d->version < 1 || (d->version == 1) != (d->supersedes == NULL) ||
        (d->version == 1) != (d->reason == NULL)) {
        fail_at(err, errn, "",
                d->version < 1  ? "version"
                : d->supersedes ? "reason"
                                : "supersedes",
                "version 1 supersedes nothing; a later version names the one it replaces and why");
        goto out_fail;
    }
    if ((rc = parse_rubric(d, json_object_get(d->root, "rubric"), err, errn)) < 0) {
        goto out_fail;
    }
    rc = -EINVAL;
    d->inputs = json_object_get(d->root, "inputs");
    if (json_object_size(d->inputs) == 0) {
        fail_at(err, errn, "", "inputs", "no digest");
        goto out_fail;
    }
    json_object_foreach(d->inputs, k, v)
    {
        if (!str_ok(v)) {
            fail_at(err, errn, "inputs", k, "not a string");
            goto out_fail;
        }
    }
    zones = json_object_get(d->root, "zones");
    units = json_object_get(d->root, "units");
    banks = json_object_get(d->root, "banks");
    d->zones = calloc(json_array_size(zones) + 1, sizeof(*d->zones));
    d->units = calloc(json_array_size(units) + 1, sizeof(*d->units));
    d->banks = calloc(json_array_size(banks) + 1, sizeof(*d->banks));
    if (!d->zones || !d->units || !d->banks) {
        rc = kf__render_fail(err, errn, -ENOMEM, "assessment: out of memory");
        goto out_fail;
    }
    json_array_foreach(zones, i, v)
    {
        if ((rc = parse_zone(d, v, i, &d->zones[i], err, errn)) < 0) {
            goto out_fail;
        }
    }
    d->n_zones = json_array_size(zones);
    if ((rc = parse_rollups(units, 0, d->units, err, errn)) < 0 ||
        (rc = parse_rollups(banks, 1, d->banks, err, errn)) < 0) {
        goto out_fail;
    }
    d->n_units = json_array_size(units);
    d->n_banks = json_array_size(banks);
    return 0;
out_fail:
    kf__ra_close(d);
    return rc;
}

void kf__ra_close(struct kf__ra_doc *d)
{
    json_decref(d->root);
    free(d->zones);
    free(d->units);
    free(d->banks);
    memset(d, 0, sizeof(*d));
}

/* ---- For people ----------------------------------------------------------------------------- */

char *kf__ra_half(const struct kf__ra_doc *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.4s年%s半年", d->period, d->period[6] == '1' ? "上" : "下");
    return buf;
}

/* The day before a "YYYY-MM-DD" (the last of [from, to)). */
static char *day_before(const char *to, char *buf, size_t cap)
{
    int32_t day = 0;

    kf_day_parse(to, &day);
    return kf_day_format(day - 1, buf, cap);
}

char *kf__ra_days(const struct kf__ra_doc *d, char *buf, size_t cap)
{
    char last[16];

    snprintf(buf, cap, "%s 至 %s", d->from, day_before(d->to, last, sizeof(last)));
    return buf;
}

const char *kf__ra_status(const struct kf__ra_doc *d)
{
    return d->draft ? "草稿 DRAFT（未发布，不作为考核结论）" : "已发布";
}

char *kf__ra_local_time(int64_t utc_ms, char *buf, size_t cap)
{
    int32_t day = kf_local_day(utc_ms);
    int64_t s = (utc_ms - kf_day_start_ms(day)) / 1000;
    char date[16];

    snprintf(buf, cap, "%s %02d:%02d", kf_day_format(day, date, sizeof(date)), (int)(s / 3600),
             (int)(s / 60 % 60));
    return buf;
}

char *kf__ra_value(int type, int64_t v, char *buf, size_t cap)
{
    switch (type) {
    case RA_X100:
        return kf__sheet_fixed(v, 100, 2, 0, "", buf, cap);
    case RA_BP:
        return kf__sheet_fixed(v, 100, 2, 0, "%", buf, cap);
    default:
        return kf__sheet_fixed(v, 1, 0, 0, "", buf, cap);
    }
}

/* ---- The views as tables -------------------------------------------------------------------- */

static const struct kf__ra_col zone_cols[] = {
    {"专区编号", 12},     {"区县", 8},        {"银行", 8},
    {"规划终端", 8},      {"考核起始日", 11}, {"考核截止日(含)", 12},
    {"服务天数", 8},      {"在用终端", 8},    {"终端服务日", 9},
    {"成功交易笔数", 11}, {"考核结果", 8},    {"原因", 18},
    {"总分", 8},
};
#define N_ZONE_COLS (sizeof(zone_cols) / sizeof(zone_cols[0]))

static const struct kf__ra_col roll_cols[] = {
    {"排名", 6},          {"银行", 10},
    {"专区数", 7},        {"参评专区", 8},
    {"合格", 6},          {"不合格", 7},
    {"不参评", 7},        {"合格率", 9},
    {"平均分", 8},        {"活跃度(笔/台/日)", 12},
    {"设备可用率", 10},   {"成功交易笔数", 11},
    {"终端服务日", 10},   {"应服务时长(秒)", 14},
    {"可用时长(秒)", 14},
};
#define N_ROLL_COLS (sizeof(roll_cols) / sizeof(roll_cols[0]))

size_t kf__ra_nrows(const struct kf__ra_doc *d, int view)
{
    return view == KF_RENDER_ASSESS_ZONES   ? d->n_zones
           : view == KF_RENDER_ASSESS_UNITS ? d->n_units
                                            : d->n_banks;
}

size_t kf__ra_cols(const struct kf__ra_doc *d, int view, struct kf__ra_col *cols)
{
    size_t n = 0;

    if (view == KF_RENDER_ASSESS_ZONES) {
        memcpy(cols, zone_cols, sizeof(zone_cols));
        n = N_ZONE_COLS;
        for (size_t i = 0; i < d->n_rules; i++) {
            cols[n++] = (struct kf__ra_col){d->rules[i].m->head, 12};
            cols[n++] = (struct kf__ra_col){d->rules[i].m->score_head, 10};
        }
        return n;
    }
    /* A unit's row: its code first, no rank. */
    memcpy(cols, view == KF_RENDER_ASSESS_BANKS ? roll_cols : roll_cols + 1,
           (N_ROLL_COLS - (view != KF_RENDER_ASSESS_BANKS)) * sizeof(cols[0]));
    if (view == KF_RENDER_ASSESS_UNITS) {
        cols[0].head = "区县";
        return N_ROLL_COLS - 1;
    }
    return N_ROLL_COLS;
}

#define TEXT(s) ((struct kf__ra_cell){RA_TEXT, (s), 0, 0})
#define NUM(t, x) ((struct kf__ra_cell){(t), NULL, (x), 0})

size_t kf__ra_row(const struct kf__ra_doc *d, int view, size_t i, struct kf__ra_cell *c,
                  char (*buf)[16])
{
    size_t n = 0;

    if (view == KF_RENDER_ASSESS_ZONES) {
        const struct kf__ra_zone *z = &d->zones[i];

        c[n++] = TEXT(z->zone);
        c[n++] = TEXT(z->unit);
        c[n++] = TEXT(z->bank);
        c[n++] = NUM(RA_INT, z->planned);
        /* [from, to): people read the last day; none when the zone had no day in the plan. */
        c[n++] = TEXT(strcmp(z->from, z->to) < 0 ? z->from : NULL);
        c[n] = TEXT(strcmp(z->from, z->to) < 0 ? day_before(z->to, buf[n], 16) : NULL);
        n++;
        c[n++] = NUM(RA_INT, z->service_days);
        c[n++] = NUM(RA_INT, z->terminals);
        c[n++] = NUM(RA_INT, z->terminal_days);
        c[n++] = NUM(RA_INT, z->txns_ok);
        c[n++] = TEXT(result_zh(z->result));
        c[n++] = TEXT(reason_zh(z->reason));
        c[n++] = NUM(RA_X100, z->total_cp);
        for (size_t k = 0; k < d->n_rules; k++) {
            const struct kf__ra_crit *cr = k < z->n_crit ? &z->crit[k] : NULL;

            c[n] = NUM(d->rules[k].m->type, cr ? cr->value : KF__RA_NA);
            c[n++].miss = cr && !cr->pass;
            c[n++] = NUM(RA_X100, cr ? cr->score_cp : KF__RA_NA);
        }
        return n;
    }
    const struct kf__ra_roll *r = view == KF_RENDER_ASSESS_BANKS ? &d->banks[i] : &d->units[i];

    if (view == KF_RENDER_ASSESS_BANKS) {
        c[n++] = NUM(RA_INT, r->rank);
    }
    c[n++] = TEXT(r->key);
    c[n++] = NUM(RA_INT, r->zones);
    c[n++] = NUM(RA_INT, r->assessed);
    c[n++] = NUM(RA_INT, r->passed);
    c[n++] = NUM(RA_INT, r->failed);
    c[n++] = NUM(RA_INT, r->not_assessed);
    c[n++] = NUM(RA_BP, r->pass_rate_bp);
    c[n++] = NUM(RA_X100, r->mean_score_cp);
    c[n++] = NUM(RA_X100, r->activity);
    c[n++] = NUM(RA_BP, r->availability_bp);
    c[n++] = NUM(RA_INT, r->txns_ok);
    c[n++] = NUM(RA_INT, r->terminal_days);
    c[n++] = NUM(RA_INT, r->owed_s);
    c[n++] = NUM(RA_INT, r->uptime_s);
    return n;
}

int kf__ra_row_failed(const struct kf__ra_doc *d, int view, size_t i)
{
    return view == KF_RENDER_ASSESS_ZONES && strcmp(d->zones[i].result, "fail") == 0;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

static void csv_view(FILE *out, const struct kf__ra_doc *d, int view, int titled)
{
    struct kf__ra_col cols[KF__RA_MAX_COLS];
    struct kf__ra_cell cells[KF__RA_MAX_COLS];
    char buf[KF__RA_MAX_COLS][16], num[KF__RA_MAX_COLS][32];
    const char *f[KF__RA_MAX_COLS];
    size_t n = kf__ra_cols(d, view, cols);

    if (titled) {
        f[0] = sheets[view];
        kf__sheet_csv_row(out, f, 1);
    }
    for (size_t c = 0; c < n; c++) {
        f[c] = cols[c].head;
    }
    kf__sheet_csv_row(out, f, n);
    for (size_t i = 0; i < kf__ra_nrows(d, view); i++) {
        kf__ra_row(d, view, i, cells, buf);
        for (size_t c = 0; c < n; c++) {
            f[c] = cells[c].type == RA_TEXT
                       ? cells[c].text
                       : kf__ra_value(cells[c].type, cells[c].v, num[c], sizeof(num[c]));
        }
        kf__sheet_csv_row(out, f, n);
    }
}

static void csv_pair(FILE *out, const char *name, const char *value)
{
    const char *f[2] = {name, value};

    kf__sheet_csv_row(out, f, 2);
}

int kf_render_assess_csv(const char *json, int view, FILE *out, char *err, size_t errn)
{
    struct kf__ra_doc d;
    int rc;

    if (view < 0 || view >= KF_RENDER_ASSESS_VIEWS_) {
        return kf__render_fail(err, errn, -EINVAL, "assessment: no view %d", view);
    }
    if ((rc = kf__ra_parse(json, &d, err, errn)) < 0) {
        return rc;
    }
    fputs("\xEF\xBB\xBF", out);
    if (view != KF_RENDER_ASSESS_ALL) {
        csv_view(out, &d, view, 0);
    } else {
        char t[64], days[64], ver[24], rub[KF__RENDER_MAX_TEXT + 32];

        csv_pair(out, "政银通办服务专区半年考核", kf__ra_half(&d, t, sizeof(t)));
        csv_pair(out, "考核期", d.period);
        csv_pair(out, "考核期间", kf__ra_days(&d, days, sizeof(days)));
        csv_pair(out, "状态", kf__ra_status(&d));
        snprintf(ver, sizeof(ver), "%lld", (long long)d.version);
        csv_pair(out, "版本", ver);
        csv_pair(out, "发布时间",
                 d.draft ? "" : kf__ra_local_time(d.issued_at_ms, days, sizeof(days)));
        if (d.version > 1) {
            csv_pair(out, "取代版本摘要", d.supersedes);
            csv_pair(out, "更正原因", d.reason);
        }
        snprintf(rub, sizeof(rub), "%s v%lld", d.rubric_id, (long long)d.rubric_version);
        csv_pair(out, "考核细则", rub);
        for (int v = KF_RENDER_ASSESS_ZONES; v < KF_RENDER_ASSESS_VIEWS_; v++) {
            fputs("\r\n", out);
            csv_view(out, &d, v, 1);
        }
    }
    if (fflush(out) != 0 || ferror(out)) {
        rc = kf__render_fail(err, errn, -EIO, "assessment: csv: write failed: %s", strerror(errno));
    }
    kf__ra_close(&d);
    return rc;
}
