/* record.c: the record schema (kf/record.h), strict parsing and canonical formatting.
 *
 * Parsing is table-free but exhaustive: every key of an object must be one the record's
 * type allows (unknown keys are errors), every required key must be present, and
 * record_check() validates ranges so that parse and format enforce the same rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kf/envelope.h"
#include "kf/record.h"
#include "record_int.h"

#define KF_TS_MIN 1577836800000LL /* 2020-01-01T00:00:00Z */
#define KF_TS_MAX 4102444800000LL /* 2100-01-01T00:00:00Z */
#define KF_DUR_MAX 86400000u
#define KF_TEMP_MIN (-50000)
#define KF_TEMP_MAX 150000

/* ---- names on the wire ---- */

static const char *const rec_type_names[] = {
    [KF_REC_TXN] = "txn",     [KF_REC_HEALTH] = "health", [KF_REC_PERIPH] = "periph",
    [KF_REC_FAULT] = "fault", [KF_REC_MAINT] = "maint",   [KF_REC_CMD_RESULT] = "cmd_result"};
static const char *const outcome_names[] = {
    [KF_OUTCOME_OK] = "ok", [KF_OUTCOME_FAILED] = "failed", [KF_OUTCOME_ABANDONED] = "abandoned"};
static const char *const periph_names[] = {
    [KF_PERIPH_SCREEN] = "screen",
    [KF_PERIPH_CARD_READER] = "card_reader",
    [KF_PERIPH_ID_CARD_READER] = "id_card_reader",
    [KF_PERIPH_RECEIPT_PRINTER] = "receipt_printer",
    [KF_PERIPH_A4_PRINTER] = "a4_printer",
    [KF_PERIPH_CAMERA] = "camera",
    [KF_PERIPH_PIN_PAD] = "pin_pad",
    [KF_PERIPH_SCANNER] = "scanner",
    [KF_PERIPH_CASH_IN] = "cash_in",
    [KF_PERIPH_CASH_OUT] = "cash_out",
};
static const char *const pstate_names[] = {
    [KF_PSTATE_ONLINE] = "online",         [KF_PSTATE_OFFLINE] = "offline",
    [KF_PSTATE_POWER_OFF] = "power_off",   [KF_PSTATE_HW_ERROR] = "hw_error",
    [KF_PSTATE_USER_ERROR] = "user_error", [KF_PSTATE_PAPER_LOW] = "paper_low",
    [KF_PSTATE_PAPER_OUT] = "paper_out",   [KF_PSTATE_MEDIA_JAM] = "media_jam",
    [KF_PSTATE_CASH_LOW] = "cash_low",     [KF_PSTATE_CASH_OUT] = "cash_out",
};
static const char *const severity_names[] = {[KF_SEV_INFO] = "info",
                                             [KF_SEV_MINOR] = "minor",
                                             [KF_SEV_MAJOR] = "major",
                                             [KF_SEV_CRITICAL] = "critical"};

#define NAMES(a) a, sizeof(a) / sizeof(a[0])

static const char *name_of(const char *const *names, size_t n, int v)
{
    if (v < 1 || (size_t)v >= n)
        return NULL;
    return names[v];
}

static int parse_name(const char *const *names, size_t n, const char *s, int *ret)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 1; i < n; i++) {
        if (names[i] && strcmp(names[i], s) == 0) {
            *ret = (int)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *kf_rec_type_name(int v)
{
    return name_of(NAMES(rec_type_names), v);
}
const char *kf_outcome_name(int v)
{
    return name_of(NAMES(outcome_names), v);
}
const char *kf_periph_name(int v)
{
    return name_of(NAMES(periph_names), v);
}
const char *kf_pstate_name(int v)
{
    return name_of(NAMES(pstate_names), v);
}
const char *kf_severity_name(int v)
{
    return name_of(NAMES(severity_names), v);
}
int kf_rec_type_parse(const char *s, int *ret)
{
    return parse_name(NAMES(rec_type_names), s, ret);
}
int kf_outcome_parse(const char *s, int *ret)
{
    return parse_name(NAMES(outcome_names), s, ret);
}
int kf_periph_parse(const char *s, int *ret)
{
    return parse_name(NAMES(periph_names), s, ret);
}
int kf_pstate_parse(const char *s, int *ret)
{
    return parse_name(NAMES(pstate_names), s, ret);
}
int kf_severity_parse(const char *s, int *ret)
{
    return parse_name(NAMES(severity_names), s, ret);
}

int kf_pstate_usable(int state)
{
    return state == KF_PSTATE_ONLINE || state == KF_PSTATE_PAPER_LOW || state == KF_PSTATE_CASH_LOW;
}

/* ---- validation shared by parse and format ---- */

static int code_ok(const char *s, size_t max, int allow_underscore)
{
    size_t n = strnlen(s, max + 1);

    if (n < 1 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              (allow_underscore && c == '_')))
            return 0;
    }
    return 1;
}

/* An id someone else gives (a technician's, an application's): 1..max of letters, digits
 * and the punctuation in punct (it is shown in logs and reports). */
static int id_ok(const char *s, size_t max, const char *punct)
{
    size_t n = strnlen(s, max + 1);

    if (n < 1 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(punct, c))))
            return 0;
    }
    return 1;
}
#define TECH_PUNCT "._:@-" /* a technician's id: [A-Za-z0-9._:@-] */
#define APP_PUNCT "._:/-"  /* an application's id for a record: [A-Za-z0-9._:/-] */

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) without control characters:
 * a fault text ends up in logs and web pages on one line. */
static int text_ok(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max + 1);

    if (n > max)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        unsigned cp, need;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + need >= n)
            return 0;
        for (unsigned k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        if (cp >= 0x80 && cp < 0xa0)
            return 0; /* C1 controls */
        i += need + 1;
    }
    return 1;
}

int kf_record_app_id_ok(const char *s)
{
    return id_ok(s, KF_APP_ID_MAX, APP_PUNCT);
}

static int record_check(const struct kf_record *r)
{
    if (r->ts_ms < KF_TS_MIN || r->ts_ms >= KF_TS_MAX)
        return 0;
    if (r->app_id[0] && !id_ok(r->app_id, KF_APP_ID_MAX, APP_PUNCT))
        return 0;
    switch (r->type) {
    case KF_REC_TXN:
        return code_ok(r->u.txn.item, KF_ITEM_CODE_MAX, 0) && kf_outcome_name(r->u.txn.outcome) &&
               r->u.txn.dur_ms <= KF_DUR_MAX;
    case KF_REC_HEALTH: {
        const struct kf_rec_health *h = &r->u.health;

        if (h->cpu_pm < 0 || h->cpu_pm > 1000)
            return 0;
        if (h->mem_avail_kb > h->mem_total_kb || h->disk_avail_kb > h->disk_total_kb)
            return 0;
        if (h->temp_mc != KF_TEMP_NONE && (h->temp_mc < KF_TEMP_MIN || h->temp_mc > KF_TEMP_MAX))
            return 0;
        /* Counters travel as JSON integers, which jansson holds as signed 64-bit. */
        if (h->mem_total_kb > INT64_MAX || h->disk_total_kb > INT64_MAX ||
            h->uptime_s > INT64_MAX || h->net_rx > INT64_MAX || h->net_tx > INT64_MAX)
            return 0;
        return h->net_up <= 1;
    }
    case KF_REC_PERIPH:
        return kf_periph_name(r->u.periph.periph) && kf_pstate_name(r->u.periph.state);
    case KF_REC_FAULT: {
        const struct kf_rec_fault *f = &r->u.fault;

        return code_ok(f->code, KF_FAULT_CODE_MAX, 1) && kf_severity_name(f->sev) &&
               f->raise <= 1 && (f->periph == 0 || kf_periph_name(f->periph)) &&
               text_ok(f->text, KF_FAULT_TEXT_MAX);
    }
    case KF_REC_MAINT: {
        const struct kf_rec_maint *m = &r->u.maint;

        if (m->on > 1)
            return 0;
        /* Entering needs the technician (on-site time is measured for someone); leaving may
         * omit it. */
        return m->tech[0] ? id_ok(m->tech, KF_TECH_ID_MAX, TECH_PUNCT) : !m->on;
    }
    case KF_REC_CMD_RESULT: {
        const struct kf_rec_cmd_result *c = &r->u.cmd_result;

        return kf_cmd_id_ok(c->cmd) && c->cmd_seq >= 1 && c->cmd_seq <= INT64_MAX &&
               kf_cmd_status_name(c->status) && text_ok(c->detail, KF_CMD_DETAIL_MAX) &&
               text_ok(c->output, KF_CMD_OUTPUT_MAX);
    }
    default:
        return 0;
    }
}

/* ---- parsing ---- */

/* A record is a flat JSON object: keys map to strings, integers, booleans or null. Both
 * front ends reduce it to struct flat (kf_record_from_json from a jansson object, the
 * byte parser below from text), and one builder turns that into a struct kf_record, so
 * every path accepts exactly the same records. Every string value ends up checked by
 * code_ok, id_ok, text_ok or an exact name, so the lexer decodes escapes and refuses
 * control characters but leaves UTF-8 to those checks. */

static const struct pair *get(const struct flat *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->p[i].key, key) == 0)
            return &o->p[i];
    }
    return NULL;
}

/* A new pair for key; NULL when the object has too many keys, the key is too long (so
 * unknown), or it is a duplicate (refused, as JSON_REJECT_DUPLICATES does). */
struct pair *kf__record_add_pair(struct flat *o, const char *key, size_t klen)
{
    struct pair *p;

    if (o->n == FLAT_KEYS_MAX || klen > FLAT_KEY_MAX || memchr(key, '\0', klen))
        return NULL;
    p = &o->p[o->n];
    memcpy(p->key, key, klen);
    p->key[klen] = '\0';
    if (get(o, p->key))
        return NULL;
    o->n++;
    return p;
}

enum field_kind { F_INT, F_UINT, F_STR, F_BOOL, F_TEMP };

struct field {
    const char *key;
    enum field_kind kind;
    int optional;
};

static const struct field txn_fields[] = {
    {"item", F_STR, 0}, {"outcome", F_STR, 0}, {"dur_ms", F_UINT, 0}, {NULL, 0, 0}};
static const struct field health_fields[] = {{"cpu_pm", F_INT, 0},
                                             {"mem_total_kb", F_UINT, 0},
                                             {"mem_avail_kb", F_UINT, 0},
                                             {"disk_total_kb", F_UINT, 0},
                                             {"disk_avail_kb", F_UINT, 0},
                                             {"temp_mc", F_TEMP, 0},
                                             {"uptime_s", F_UINT, 0},
                                             {"net_rx", F_UINT, 0},
                                             {"net_tx", F_UINT, 0},
                                             {"net_up", F_BOOL, 0},
                                             {NULL, 0, 0}};
static const struct field periph_fields[] = {{"dev", F_STR, 0}, {"state", F_STR, 0}, {NULL, 0, 0}};
static const struct field fault_fields[] = {{"code", F_STR, 0},   {"sev", F_STR, 0},
                                            {"action", F_STR, 0}, {"dev", F_STR, 1},
                                            {"text", F_STR, 1},   {NULL, 0, 0}};
static const struct field maint_fields[] = {{"state", F_STR, 0}, {"tech", F_STR, 1}, {NULL, 0, 0}};
static const struct field cmd_result_fields[] = {{"cmd", F_STR, 0},    {"cmd_seq", F_UINT, 0},
                                                 {"status", F_STR, 0}, {"detail", F_STR, 1},
                                                 {"output", F_STR, 1}, {NULL, 0, 0}};

/* ---- why a record was refused ---- */

void kf__record_why(struct kf_record_why *why, const char *field, size_t len, const char *reason)
{
    size_t n = 0;

    if (!why)
        return;
    for (; n < len && n < KF_RECORD_FIELD_MAX && field[n]; n++) {
        char c = field[n];
        why->field[n] = c > 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '?';
    }
    why->field[n] = '\0';
    why->why = reason;
}

static int refuse(struct kf_record_why *why, const char *field, const char *reason)
{
    kf__record_why(why, field, field ? strlen(field) : 0, reason);
    return -EBADMSG;
}

/* What a string field must be (the checks of record_check). */
static const char *str_rule(const char *key)
{
    if (strcmp(key, "item") == 0)
        return "must be 1..16 of [A-Z0-9-]";
    if (strcmp(key, "code") == 0)
        return "must be 1..24 of [A-Z0-9_-]";
    if (strcmp(key, "text") == 0)
        return "at most 128 bytes of UTF-8 without control characters";
    if (strcmp(key, "tech") == 0)
        return "must be 1..31 of [A-Za-z0-9._:@-]";
    if (strcmp(key, "app_id") == 0)
        return "must be 1..32 of [A-Za-z0-9._:/-]";
    if (strcmp(key, "cmd") == 0)
        return "must be 1..24 of [A-Za-z0-9._:-]";
    if (strcmp(key, "detail") == 0)
        return "at most 128 bytes of UTF-8 without control characters";
    if (strcmp(key, "output") == 0)
        return "at most 256 bytes of UTF-8 without control characters";
    return "not a valid value";
}

/* The field record_check refuses in r, for the reply: checked in record_check's order. */
static int record_explain(const struct kf_record *r, struct kf_record_why *why)
{
    if (r->ts_ms < KF_TS_MIN || r->ts_ms >= KF_TS_MAX)
        return refuse(why, "ts", "out of range 2020-01-01..2100-01-01 (ms since 1970, UTC)");
    if (r->app_id[0] && !id_ok(r->app_id, KF_APP_ID_MAX, APP_PUNCT))
        return refuse(why, "app_id", str_rule("app_id"));
    switch (r->type) {
    case KF_REC_TXN:
        return refuse(why, "item", str_rule("item"));
    case KF_REC_HEALTH: {
        const struct kf_rec_health *h = &r->u.health;

        if (h->mem_avail_kb > h->mem_total_kb)
            return refuse(why, "mem_avail_kb", "more than mem_total_kb");
        if (h->disk_avail_kb > h->disk_total_kb)
            return refuse(why, "disk_avail_kb", "more than disk_total_kb");
        break;
    }
    case KF_REC_FAULT:
        if (!code_ok(r->u.fault.code, KF_FAULT_CODE_MAX, 1))
            return refuse(why, "code", str_rule("code"));
        return refuse(why, "text", str_rule("text"));
    case KF_REC_MAINT:
        if (!r->u.maint.tech[0])
            return refuse(why, "tech", "required with \"state\":\"on\"");
        return refuse(why, "tech", str_rule("tech"));
    case KF_REC_CMD_RESULT:
        if (!kf_cmd_id_ok(r->u.cmd_result.cmd))
            return refuse(why, "cmd", str_rule("cmd"));
        if (!text_ok(r->u.cmd_result.detail, KF_CMD_DETAIL_MAX))
            return refuse(why, "detail", str_rule("detail"));
        return refuse(why, "output", str_rule("output"));
    }
    return refuse(why, "", "not a valid record");
}

/* Every key of o is "t", "ts", "app_id" or in fields, and every required field is present with the
 * right type. */
static int check_keys(const struct flat *o, const struct field *fields, struct kf_record_why *why)
{
    size_t nfound = 0, nrequired = 0;

    for (size_t i = 0; i < o->n; i++) {
        const struct pair *v = &o->p[i];
        const struct field *f;

        if (strcmp(v->key, "t") == 0 || strcmp(v->key, "ts") == 0)
            continue;
        if (strcmp(v->key, "app_id") == 0) {
            if (v->kind != V_STR)
                return refuse(why, v->key, "must be a string");
            continue;
        }
        for (f = fields; f->key; f++) {
            if (strcmp(f->key, v->key) == 0)
                break;
        }
        if (!f->key)
            return refuse(why, v->key, "unknown field");
        switch (f->kind) {
        case F_INT:
            if (v->kind != V_INT)
                return refuse(why, v->key, "must be an integer");
            break;
        case F_UINT:
            if (v->kind != V_INT || v->i < 0)
                return refuse(why, v->key, "must be a non-negative integer");
            break;
        case F_STR:
            if (v->kind != V_STR)
                return refuse(why, v->key, "must be a string");
            break;
        case F_BOOL:
            if (v->kind != V_BOOL)
                return refuse(why, v->key, "must be true or false");
            break;
        case F_TEMP:
            if (v->kind != V_INT && v->kind != V_NULL)
                return refuse(why, v->key, "must be an integer or null");
            break;
        }
        if (!f->optional)
            nfound++;
    }
    for (const struct field *f = fields; f->key; f++)
        nrequired += !f->optional;
    if (nfound == nrequired)
        return 0;
    for (const struct field *f = fields; f->key; f++) {
        if (!f->optional && !get(o, f->key))
            return refuse(why, f->key, "missing");
    }
    return refuse(why, "", "missing a field"); /* not reached: nfound counts distinct keys */
}

/* The checked string field key, or "" when absent (optional fields). */
static const char *str_of(const struct flat *o, const char *key)
{
    const struct pair *v = get(o, key);

    return v ? v->s : "";
}

static int copy_str(const struct flat *o, const char *key, char *dst, size_t cap,
                    struct kf_record_why *why)
{
    const struct pair *v = get(o, key);

    if (!v) {
        dst[0] = '\0';
        return 0;
    }
    if (v->slen >= cap)
        return refuse(why, key, str_rule(key));
    memcpy(dst, v->s, v->slen + 1);
    return 0;
}

static int get_name(const struct flat *o, const char *key, int (*parse)(const char *, int *),
                    int *ret, const char *rule, struct kf_record_why *why)
{
    const struct pair *v = get(o, key);

    return !v || parse(v->s, ret) < 0 ? refuse(why, key, rule) : 0;
}

static uint64_t get_u(const struct flat *o, const char *key)
{
    return (uint64_t)get(o, key)->i; /* present and >= 0: check_keys */
}

#define RULE_DEV "not a peripheral (screen, card_reader, id_card_reader, ...: docs/AGENT.md)"

int kf__record_build(const struct flat *o, struct kf_record *ret, struct kf_record_why *why)
{
    struct kf_record r;
    const struct pair *t = get(o, "t"), *ts = get(o, "ts"), *v;
    int type, e;

    if (!t)
        return refuse(why, "t", "missing");
    if (t->kind != V_STR || kf_rec_type_parse(t->s, &type) < 0)
        return refuse(why, "t", "must be txn, periph, fault or maint");
    if (!ts)
        return refuse(why, "ts", "missing");
    if (ts->kind != V_INT)
        return refuse(why, "ts", "must be an integer (ms since 1970, UTC)");
    memset(&r, 0, sizeof(r));
    r.type = (uint8_t)type;
    r.ts_ms = ts->i;
    v = get(o, "app_id");
    if (v && v->kind != V_STR)
        return refuse(why, "app_id", "must be a string");
    if (copy_str(o, "app_id", r.app_id, sizeof(r.app_id), why) < 0)
        return -EBADMSG;
    /* "app_id":"" is not the same as no app_id: an empty id is refused. */
    if (get(o, "app_id") && r.app_id[0] == '\0')
        return refuse(why, "app_id", str_rule("app_id"));

    switch (type) {
    case KF_REC_TXN:
        if (check_keys(o, txn_fields, why) < 0 ||
            copy_str(o, "item", r.u.txn.item, sizeof(r.u.txn.item), why) < 0 ||
            get_name(o, "outcome", kf_outcome_parse, &e, "must be ok, failed or abandoned", why) <
                0)
            return -EBADMSG;
        r.u.txn.outcome = (uint8_t)e;
        if (get_u(o, "dur_ms") > KF_DUR_MAX)
            return refuse(why, "dur_ms", "out of range 0..86400000");
        r.u.txn.dur_ms = (uint32_t)get_u(o, "dur_ms");
        break;
    case KF_REC_HEALTH: {
        struct kf_rec_health *h = &r.u.health;
        int64_t cpu;

        if (check_keys(o, health_fields, why) < 0)
            return -EBADMSG;
        cpu = get(o, "cpu_pm")->i;
        if (cpu < 0 || cpu > 1000)
            return refuse(why, "cpu_pm", "out of range 0..1000");
        h->cpu_pm = (int32_t)cpu;
        h->mem_total_kb = get_u(o, "mem_total_kb");
        h->mem_avail_kb = get_u(o, "mem_avail_kb");
        h->disk_total_kb = get_u(o, "disk_total_kb");
        h->disk_avail_kb = get_u(o, "disk_avail_kb");
        h->uptime_s = get_u(o, "uptime_s");
        h->net_rx = get_u(o, "net_rx");
        h->net_tx = get_u(o, "net_tx");
        h->net_up = (uint8_t)get(o, "net_up")->i;
        v = get(o, "temp_mc");
        if (v->kind == V_NULL) {
            h->temp_mc = KF_TEMP_NONE;
        } else {
            if (v->i < KF_TEMP_MIN || v->i > KF_TEMP_MAX)
                return refuse(why, "temp_mc", "out of range -50000..150000");
            h->temp_mc = (int32_t)v->i;
        }
        break;
    }
    case KF_REC_PERIPH:
        if (check_keys(o, periph_fields, why) < 0 ||
            get_name(o, "dev", kf_periph_parse, &e, RULE_DEV, why) < 0)
            return -EBADMSG;
        r.u.periph.periph = (uint8_t)e;
        if (get_name(o, "state", kf_pstate_parse, &e,
                     "not a peripheral state (online, offline, paper_low, ...: docs/AGENT.md)",
                     why) < 0)
            return -EBADMSG;
        r.u.periph.state = (uint8_t)e;
        break;
    case KF_REC_FAULT: {
        struct kf_rec_fault *f = &r.u.fault;
        const char *action;

        if (check_keys(o, fault_fields, why) < 0 ||
            copy_str(o, "code", f->code, sizeof(f->code), why) < 0 ||
            copy_str(o, "text", f->text, sizeof(f->text), why) < 0 ||
            get_name(o, "sev", kf_severity_parse, &e, "must be info, minor, major or critical",
                     why) < 0)
            return -EBADMSG;
        f->sev = (uint8_t)e;
        action = str_of(o, "action");
        if (strcmp(action, "raise") == 0)
            f->raise = 1;
        else if (strcmp(action, "clear") == 0)
            f->raise = 0;
        else
            return refuse(why, "action", "must be raise or clear");
        if (get(o, "dev")) {
            if (get_name(o, "dev", kf_periph_parse, &e, RULE_DEV, why) < 0)
                return -EBADMSG;
            f->periph = (uint8_t)e;
        }
        break;
    }
    case KF_REC_MAINT: {
        struct kf_rec_maint *m = &r.u.maint;
        const char *state;

        if (check_keys(o, maint_fields, why) < 0 ||
            copy_str(o, "tech", m->tech, sizeof(m->tech), why) < 0)
            return -EBADMSG;
        /* "tech":"" is not the same as no tech: an empty id is refused. */
        if (get(o, "tech") && m->tech[0] == '\0')
            return refuse(why, "tech", str_rule("tech"));
        state = str_of(o, "state");
        if (strcmp(state, "on") == 0)
            m->on = 1;
        else if (strcmp(state, "off") == 0)
            m->on = 0;
        else
            return refuse(why, "state", "must be on or off");
        break;
    }
    case KF_REC_CMD_RESULT: {
        struct kf_rec_cmd_result *c = &r.u.cmd_result;

        if (check_keys(o, cmd_result_fields, why) < 0 ||
            copy_str(o, "cmd", c->cmd, sizeof(c->cmd), why) < 0 ||
            copy_str(o, "detail", c->detail, sizeof(c->detail), why) < 0 ||
            copy_str(o, "output", c->output, sizeof(c->output), why) < 0 ||
            get_name(o, "status", kf_cmd_status_parse, &e, "must be done, failed or refused", why) <
                0)
            return -EBADMSG;
        c->status = (uint8_t)e;
        c->cmd_seq = get_u(o, "cmd_seq");
        if (c->cmd_seq == 0)
            return refuse(why, "cmd_seq", "out of range 1..2^63-1");
        /* "detail":"" is not the same as no detail: the canonical form omits an empty one. */
        if ((get(o, "detail") && !c->detail[0]) || (get(o, "output") && !c->output[0]))
            return refuse(why, get(o, "detail") && !c->detail[0] ? "detail" : "output",
                          "must not be empty (omit it)");
        break;
    }
    default:
        return refuse(why, "t", "must be txn, periph, fault or maint");
    }
    if (!record_check(&r))
        return record_explain(&r, why);
    *ret = r;
    return 0;
}

int kf_record_from_json_why(const json_t *obj, struct kf_record *ret, struct kf_record_why *why)
{
    struct flat o;
    const char *key;
    json_t *val;

    if (!json_is_object(obj))
        return refuse(why, "", "not a JSON object");
    o.n = 0;
    o.used = 0;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t klen = strlen(key);
        struct pair *p = kf__record_add_pair(&o, key, klen);

        if (!p) {
            /* Too many keys, a key longer than any known one, or a duplicate (jansson has
             * already refused those). */
            kf__record_why(why, o.n == FLAT_KEYS_MAX ? "" : key, klen,
                           o.n == FLAT_KEYS_MAX ? "too many fields" : "unknown field");
            return -EBADMSG;
        }
        if (json_is_string(val)) {
            size_t n = json_string_length(val);

            if (n >= sizeof(o.str) - o.used || memchr(json_string_value(val), '\0', n))
                return refuse(why, p->key,
                              n >= sizeof(o.str) - o.used ? "too long" : "holds a NUL character");
            p->kind = V_STR;
            p->s = o.str + o.used;
            p->slen = n;
            memcpy(o.str + o.used, json_string_value(val), n + 1);
            o.used += n + 1;
        } else if (json_is_integer(val)) {
            p->kind = V_INT;
            p->i = (int64_t)json_integer_value(val);
        } else if (json_is_boolean(val)) {
            p->kind = V_BOOL;
            p->i = json_is_true(val);
        } else if (json_is_null(val)) {
            p->kind = V_NULL;
        } else {
            /* a real, an array or an object: no field takes one */
            return refuse(why, p->key, "must be a string, an integer, true, false or null");
        }
    }
    return kf__record_build(&o, ret, why);
}

int kf_record_from_json(const json_t *obj, struct kf_record *ret)
{
    return kf_record_from_json_why(obj, ret, NULL);
}

/* ---- formatting ---- */

struct out {
    char *buf;
    size_t cap, len;
    int overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    o->len += (size_t)n;
}

/* A JSON string; s is already validated (no control characters), so only '"' and '\\'
 * need escaping. */
static void put_str(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s && !o->overflow; s++) {
        if (*s == '"' || *s == '\\')
            put(o, "\\%c", *s);
        else
            put(o, "%c", *s);
    }
    put(o, "\"");
}

int kf_record_format(const struct kf_record *rec, char *buf, size_t cap, size_t *ret_len)
{
    struct out o = {buf, cap, 0, 0};

    if (!rec || !record_check(rec))
        return -EINVAL;
    if (!buf || cap == 0)
        return -EMSGSIZE;
    put(&o, "{\"t\":\"%s\",\"ts\":%lld", kf_rec_type_name(rec->type), (long long)rec->ts_ms);
    switch (rec->type) {
    case KF_REC_TXN:
        put(&o, ",\"item\":");
        put_str(&o, rec->u.txn.item);
        put(&o, ",\"outcome\":\"%s\",\"dur_ms\":%u", kf_outcome_name(rec->u.txn.outcome),
            (unsigned)rec->u.txn.dur_ms);
        break;
    case KF_REC_HEALTH: {
        const struct kf_rec_health *h = &rec->u.health;

        put(&o,
            ",\"cpu_pm\":%d,\"mem_total_kb\":%llu,\"mem_avail_kb\":%llu,"
            "\"disk_total_kb\":%llu,\"disk_avail_kb\":%llu,\"temp_mc\":",
            (int)h->cpu_pm, (unsigned long long)h->mem_total_kb,
            (unsigned long long)h->mem_avail_kb, (unsigned long long)h->disk_total_kb,
            (unsigned long long)h->disk_avail_kb);
        if (h->temp_mc == KF_TEMP_NONE)
            put(&o, "null");
        else
            put(&o, "%d", (int)h->temp_mc);
        put(&o, ",\"uptime_s\":%llu,\"net_rx\":%llu,\"net_tx\":%llu,\"net_up\":%s",
            (unsigned long long)h->uptime_s, (unsigned long long)h->net_rx,
            (unsigned long long)h->net_tx, h->net_up ? "true" : "false");
        break;
    }
    case KF_REC_PERIPH:
        put(&o, ",\"dev\":\"%s\",\"state\":\"%s\"", kf_periph_name(rec->u.periph.periph),
            kf_pstate_name(rec->u.periph.state));
        break;
    case KF_REC_FAULT: {
        const struct kf_rec_fault *f = &rec->u.fault;

        put(&o, ",\"code\":");
        put_str(&o, f->code);
        put(&o, ",\"sev\":\"%s\",\"action\":\"%s\"", kf_severity_name(f->sev),
            f->raise ? "raise" : "clear");
        if (f->periph)
            put(&o, ",\"dev\":\"%s\"", kf_periph_name(f->periph));
        if (f->text[0]) {
            put(&o, ",\"text\":");
            put_str(&o, f->text);
        }
        break;
    }
    case KF_REC_MAINT:
        put(&o, ",\"state\":\"%s\"", rec->u.maint.on ? "on" : "off");
        if (rec->u.maint.tech[0]) {
            put(&o, ",\"tech\":");
            put_str(&o, rec->u.maint.tech);
        }
        break;
    case KF_REC_CMD_RESULT: {
        const struct kf_rec_cmd_result *c = &rec->u.cmd_result;

        put(&o, ",\"cmd\":");
        put_str(&o, c->cmd);
        put(&o, ",\"cmd_seq\":%llu,\"status\":\"%s\"", (unsigned long long)c->cmd_seq,
            kf_cmd_status_name(c->status));
        if (c->detail[0]) {
            put(&o, ",\"detail\":");
            put_str(&o, c->detail);
        }
        if (c->output[0]) {
            put(&o, ",\"output\":");
            put_str(&o, c->output);
        }
        break;
    }
    }
    if (rec->app_id[0]) {
        put(&o, ",\"app_id\":");
        put_str(&o, rec->app_id);
    }
    put(&o, "}");
    if (o.overflow)
        return -EMSGSIZE;
    *ret_len = o.len;
    return 0;
}
