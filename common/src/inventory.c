/* common/src/inventory.c: a terminal's inventory, rendered by the agent and parsed by the
 * server under the same bounds (kf/inventory.h). */
#include <kf/inventory.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kf_inv_text_ok(const char *s, size_t max)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];

        if (n >= max || c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

void kf_inv_text_copy(char *dst, size_t cap, const char *src)
{
    size_t n = 0, start = 0;

    if (cap == 0)
        return;
    while (src[start] == ' ' || src[start] == '\t')
        start++;
    for (const char *p = src + start; *p != '\0' && n + 1 < cap; p++) {
        unsigned char c = (unsigned char)*p;

        dst[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    /* Cut on a character boundary: drop a trailing partial UTF-8 sequence. */
    if (n > 0 && ((unsigned char)dst[n - 1] & 0x80)) {
        size_t lead = n - 1, need;
        unsigned char c;

        while (lead > 0 && ((unsigned char)dst[lead] & 0xc0) == 0x80)
            lead--;
        c = (unsigned char)dst[lead];
        need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (n - lead < need)
            n = lead;
    }
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t'))
        n--;
    dst[n] = '\0';
}

static int put_text(json_t *o, const char *key, const char *v, size_t max)
{
    if (!kf_inv_text_ok(v, max))
        return -EINVAL;
    if (v[0] == '\0')
        return 0;
    return json_object_set_new(o, key, json_string(v)) == 0 ? 0 : -EINVAL;
}

static int put_int(json_t *o, const char *key, int64_t v, int64_t max)
{
    if (v < 0 || v > max)
        return -EINVAL;
    if (v == 0)
        return 0;
    return json_object_set_new(o, key, json_integer((json_int_t)v)) == 0 ? 0 : -ENOMEM;
}

int kf_inv_render(const struct kf_inventory *inv, char *buf, size_t cap)
{
    json_t *o = json_object(), *pa = NULL;
    char *text = NULL;
    size_t len;
    int r = o ? 0 : -ENOMEM;

    if (r == 0)
        r = put_text(o, "os", inv->os, KF_INV_TEXT_MAX);
    if (r == 0)
        r = put_text(o, "os_version", inv->os_version, KF_INV_NAME_MAX);
    if (r == 0)
        r = put_text(o, "kernel", inv->kernel, KF_INV_TEXT_MAX);
    if (r == 0)
        r = put_text(o, "agent", inv->agent, KF_INV_NAME_MAX);
    if (r == 0)
        r = put_text(o, "app", inv->app, KF_INV_NAME_MAX);
    if (r == 0)
        r = put_text(o, "app_version", inv->app_version, KF_INV_NAME_MAX);
    if (r == 0)
        r = put_text(o, "cpu", inv->cpu, KF_INV_TEXT_MAX);
    if (r == 0)
        r = put_int(o, "cores", inv->cores, KF_INV_CORES_MAX);
    if (r == 0)
        r = put_int(o, "mem_mb", inv->mem_mb, KF_INV_MB_MAX);
    if (r == 0)
        r = put_int(o, "disk_gb", inv->disk_gb, KF_INV_GB_MAX);
    if (r == 0)
        r = put_int(o, "disk_free_gb", inv->disk_free_gb, KF_INV_GB_MAX);
    if (r == 0 && inv->nperiph > KF_INV_PERIPH_MAX)
        r = -EINVAL;
    if (r == 0 && inv->nperiph > 0) {
        pa = json_array();
        r = pa != NULL && json_object_set_new(o, "periph", pa) == 0 ? 0 : -ENOMEM;
    }
    for (uint32_t i = 0; r == 0 && i < inv->nperiph; i++) {
        const struct kf_inv_periph *p = &inv->periph[i];
        json_t *po = json_object();

        if (po == NULL || json_array_append_new(pa, po) < 0) {
            r = -ENOMEM;
            break;
        }
        if (p->name[0] == '\0')
            r = -EINVAL; /* a peripheral is named by the record's name */
        if (r == 0)
            r = put_text(po, "name", p->name, KF_INV_NAME_MAX);
        if (r == 0)
            r = put_text(po, "model", p->model, KF_INV_TEXT_MAX);
        if (r == 0)
            r = put_text(po, "fw", p->fw, KF_INV_NAME_MAX);
    }
    if (r == 0 && (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        r = -ENOMEM;
    json_decref(o);
    if (r < 0)
        return r;
    len = strlen(text);
    if (len + 1 > cap) {
        free(text);
        return -EMSGSIZE;
    }
    memcpy(buf, text, len + 1);
    free(text);
    return (int)len;
}

static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (cap > 0) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

/* A known text key: absent is empty. */
static int get_text(const json_t *o, const char *key, const char *where, char *dst, size_t max,
                    char *why, size_t cap)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return refuse(why, cap, "%s%s: not a string", where, key);
    if (json_string_length(v) > max)
        return refuse(why, cap, "%s%s: longer than %zu bytes", where, key, max);
    if (!kf_inv_text_ok(json_string_value(v), max) ||
        strlen(json_string_value(v)) != json_string_length(v)) /* "\u0000" inside */
        return refuse(why, cap, "%s%s: a control character or a NUL", where, key);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_int(const json_t *o, const char *key, int64_t max, int64_t *dst, char *why,
                   size_t cap)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL) {
        *dst = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return refuse(why, cap, "%s: not an integer 0..%lld", key, (long long)max);
    *dst = json_integer_value(v);
    return 0;
}

int kf_inv_parse(const json_t *obj, struct kf_inventory *ret, char *why, size_t cap)
{
    struct kf_inventory *inv;
    const json_t *pa;
    int64_t cores = 0;
    int r;

    if (!json_is_object(obj))
        return refuse(why, cap, "inv: not an object");
    inv = calloc(1, sizeof(*inv));
    if (inv == NULL)
        return -ENOMEM;
    r = get_text(obj, "os", "", inv->os, KF_INV_TEXT_MAX, why, cap);
    if (r == 0)
        r = get_text(obj, "os_version", "", inv->os_version, KF_INV_NAME_MAX, why, cap);
    if (r == 0)
        r = get_text(obj, "kernel", "", inv->kernel, KF_INV_TEXT_MAX, why, cap);
    if (r == 0)
        r = get_text(obj, "agent", "", inv->agent, KF_INV_NAME_MAX, why, cap);
    if (r == 0)
        r = get_text(obj, "app", "", inv->app, KF_INV_NAME_MAX, why, cap);
    if (r == 0)
        r = get_text(obj, "app_version", "", inv->app_version, KF_INV_NAME_MAX, why, cap);
    if (r == 0)
        r = get_text(obj, "cpu", "", inv->cpu, KF_INV_TEXT_MAX, why, cap);
    if (r == 0)
        r = get_int(obj, "cores", KF_INV_CORES_MAX, &cores, why, cap);
    if (r == 0)
        r = get_int(obj, "mem_mb", KF_INV_MB_MAX, &inv->mem_mb, why, cap);
    if (r == 0)
        r = get_int(obj, "disk_gb", KF_INV_GB_MAX, &inv->disk_gb, why, cap);
    if (r == 0)
        r = get_int(obj, "disk_free_gb", KF_INV_GB_MAX, &inv->disk_free_gb, why, cap);
    inv->cores = (uint32_t)cores;
    pa = json_object_get(obj, "periph");
    if (r == 0 && pa != NULL && !json_is_array(pa))
        r = refuse(why, cap, "periph: not an array");
    if (r == 0 && pa != NULL && json_array_size(pa) > KF_INV_PERIPH_MAX)
        r = refuse(why, cap, "periph: more than %d peripherals", KF_INV_PERIPH_MAX);
    for (size_t i = 0; r == 0 && pa != NULL && i < json_array_size(pa); i++) {
        const json_t *po = json_array_get(pa, i);
        struct kf_inv_periph *p = &inv->periph[i];
        char where[40];

        snprintf(where, sizeof(where), "periph[%zu].", i);
        if (!json_is_object(po)) {
            r = refuse(why, cap, "periph[%zu]: not an object", i);
            break;
        }
        r = get_text(po, "name", where, p->name, KF_INV_NAME_MAX, why, cap);
        if (r == 0 && p->name[0] == '\0')
            r = refuse(why, cap, "%sname: missing", where);
        if (r == 0)
            r = get_text(po, "model", where, p->model, KF_INV_TEXT_MAX, why, cap);
        if (r == 0)
            r = get_text(po, "fw", where, p->fw, KF_INV_NAME_MAX, why, cap);
        inv->nperiph = (uint32_t)i + 1;
    }
    if (r == 0)
        *ret = *inv;
    free(inv);
    return r;
}
