/* A terminal's inventory (kf/inventory.h): rendered canonically, parsed back under the same
 * bounds, unknown keys ignored, anything out of bounds refused with the key. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include <kf/inventory.h>

Test(inventory, renders_and_parses_back)
{
    struct kf_inventory a, b;
    char json[KF_INV_JSON_MAX], again[KF_INV_JSON_MAX], why[96];
    json_t *o;

    memset(&a, 0, sizeof(a));
    snprintf(a.os, sizeof(a.os), "%s", "Kylin");
    snprintf(a.os_version, sizeof(a.os_version), "%s", "V10");
    snprintf(a.agent, sizeof(a.agent), "%s", "1.3.0");
    snprintf(a.cpu, sizeof(a.cpu), "%s", "兆芯 KX-6640MA");
    a.cores = 4;
    a.mem_mb = 7947;
    a.disk_gb = 119;
    a.nperiph = 1;
    snprintf(a.periph[0].name, sizeof(a.periph[0].name), "%s", "id_card_reader");
    snprintf(a.periph[0].model, sizeof(a.periph[0].model), "%s", "华视 CVR-100U");
    cr_assert_gt(kf_inv_render(&a, json, sizeof(json)), 0);
    cr_assert_str_eq(json, "{\"agent\":\"1.3.0\",\"cores\":4,\"cpu\":\"兆芯 KX-6640MA\","
                           "\"disk_gb\":119,\"mem_mb\":7947,\"os\":\"Kylin\",\"os_version\":"
                           "\"V10\",\"periph\":[{\"model\":\"华视 CVR-100U\",\"name\":"
                           "\"id_card_reader\"}]}");
    o = json_loads(json, 0, NULL);
    json_object_set_new(o, "later", json_string("ignored"));
    cr_assert_eq(kf_inv_parse(o, &b, why, sizeof(why)), 0, "%s", why);
    json_decref(o);
    cr_assert_gt(kf_inv_render(&b, again, sizeof(again)), 0);
    cr_assert_str_eq(json, again);
}

static const char *refused(const char *text)
{
    static char why[96];
    struct kf_inventory inv;
    json_t *o = json_loads(text, 0, NULL);

    why[0] = '\0';
    cr_assert_eq(kf_inv_parse(o, &inv, why, sizeof(why)), -EBADMSG, "%s", text);
    json_decref(o);
    return why;
}

Test(inventory, refuses_with_the_key)
{
    char big[200];

    cr_assert_str_eq(refused("{\"agent\":1}"), "agent: not a string");
    memset(big, 0, sizeof(big));
    snprintf(big, sizeof(big), "{\"os\":\"%070d\"}", 0);
    cr_assert_str_eq(refused(big), "os: longer than 64 bytes");
    cr_assert_str_eq(refused("{\"kernel\":\"a\\nb\"}"), "kernel: a control character or a NUL");
    {
        /* A NUL inside a string (jansson lets one in only when asked: JSON_ALLOW_NUL). */
        struct kf_inventory inv;
        char why[96] = "";
        json_t *o = json_pack("{s:o}", "kernel", json_stringn("a\0b", 3));

        cr_assert_eq(kf_inv_parse(o, &inv, why, sizeof(why)), -EBADMSG);
        cr_assert_str_eq(why, "kernel: a control character or a NUL");
        json_decref(o);
    }
    cr_assert_str_eq(refused("{\"mem_mb\":-1}"), "mem_mb: not an integer 0..1099511627776");
    cr_assert_str_eq(refused("{\"periph\":{}}"), "periph: not an array");
    cr_assert_str_eq(refused("{\"periph\":[{\"model\":\"x\"}]}"), "periph[0].name: missing");
    cr_assert_str_eq(refused("{\"periph\":[1]}"), "periph[0]: not an object");
    cr_assert_str_eq(refused("[]"), "inv: not an object");
}

Test(inventory, text_copy_cuts_on_a_character)
{
    char out[8];

    kf_inv_text_copy(out, sizeof(out), "  ab\x01汉字 "); /* 2 + 1 + 3 + 3 bytes */
    cr_assert_str_eq(out, "ab 汉");
}
