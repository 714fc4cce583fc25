/* kf/inventory.h: a terminal's inventory (docs/PROTOCOL.md "HELLO", key "inv"): its OS,
 * kernel, agent, the kiosk application and the peripherals the application reports, CPU,
 * memory and disk. The agent renders it into its HELLO; the server parses it back, with the
 * same bounds, before it costs anything.
 *
 * Text fields are UTF-8 without control characters, at most the KF_INV_*_MAX bytes below
 * (an empty text: not known). Counts and sizes are bounded integers. Unknown keys are
 * ignored (a newer agent may say more); a known key of the wrong type or past its bound
 * makes the whole inventory refused, with the key and why, and nothing of it is taken.
 * Any thread; no globals.
 */
#ifndef KF_INVENTORY_H
#define KF_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KF_INV_TEXT_MAX 64        /* os, kernel, cpu, a peripheral's model */
#define KF_INV_NAME_MAX 32        /* versions, the app's name, a peripheral's name and firmware */
#define KF_INV_PERIPH_MAX 16      /* peripherals listed */
#define KF_INV_CORES_MAX 4096     /* CPU cores */
#define KF_INV_MB_MAX (1ll << 40) /* memory in MiB */
#define KF_INV_GB_MAX (1ll << 30) /* disk size and free space in GiB */
#define KF_INV_JSON_MAX 6144      /* the rendered object, every field at its bound, escaped */

struct kf_inv_periph {
    char name[KF_INV_NAME_MAX + 1]; /* the record's peripheral name: printer, card_reader ... */
    char model[KF_INV_TEXT_MAX + 1];
    char fw[KF_INV_NAME_MAX + 1];
};

struct kf_inventory {
    char os[KF_INV_TEXT_MAX + 1];         /* "Debian GNU/Linux" (os-release NAME) */
    char os_version[KF_INV_NAME_MAX + 1]; /* "12" (VERSION_ID) */
    char kernel[KF_INV_TEXT_MAX + 1];     /* uname -r */
    char agent[KF_INV_NAME_MAX + 1];      /* the agent's version: "0.1.0" */
    char app[KF_INV_NAME_MAX + 1];        /* the kiosk application, as it reports itself */
    char app_version[KF_INV_NAME_MAX + 1];
    char cpu[KF_INV_TEXT_MAX + 1]; /* /proc/cpuinfo "model name" */
    uint32_t cores;
    int64_t mem_mb;                /* MemTotal */
    int64_t disk_gb, disk_free_gb; /* the data disk: size, free space (rounded down) */
    uint32_t nperiph;
    struct kf_inv_periph periph[KF_INV_PERIPH_MAX];
};

/* 1 when s (NUL-terminated) is a valid inventory text of at most max bytes (empty allowed). */
int kf_inv_text_ok(const char *s, size_t max);

/* Copy src into dst (cap bytes) as an inventory text: cut at cap - 1 bytes on a UTF-8
 * boundary, control characters replaced by spaces, blanks at the ends removed. */
void kf_inv_text_copy(char *dst, size_t cap, const char *src);

/* Render inv as one canonical JSON object (keys sorted, empty texts, zero sizes and an empty
 * peripheral list left out) into buf (cap bytes, NUL-terminated). Returns its length, or
 * -EINVAL (a field out of bounds: never rendered) or -EMSGSIZE. */
int kf_inv_render(const struct kf_inventory *inv, char *buf, size_t cap);

/* Parse the "inv" object of a HELLO (borrowed). 0 and *ret; -EBADMSG with why (static,
 * naming the key and the rule, e.g. "periph[2].model: longer than 64 bytes" is written into
 * why_buf, why_cap bytes) and *ret untouched. */
int kf_inv_parse(const json_t *obj, struct kf_inventory *ret, char *why_buf, size_t why_cap);

#endif
