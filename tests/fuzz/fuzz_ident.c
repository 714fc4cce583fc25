/* fuzz_ident: the identity messages (docs/PROTOCOL.md section 13): an IDENT request as
 * kioskd reads it, an IDENT_RESULT as the agent reads it, an enrollment token as the
 * operator pastes it, and the topics they arrive on. */
#include <stdlib.h>
#include <string.h>

#include <kf/envelope.h>
#include <kf/ident.h>
#include <kf/topic.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kf_ident_req req;
    struct kf_ident_result res;
    char id[KF_TOKEN_ID_LEN + 1], dev[KF_DEVICE_ID_MAX + 1];
    uint8_t secret[KF_TOKEN_SECRET_BYTES];
    enum kf_topic_kind kind;
    char *text;

    (void)kf_ident_req_parse((const char *)data, size, &req);
    (void)kf_ident_result_parse((const char *)data, size, &res);
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    (void)kf_token_parse(text, id, secret);
    (void)kf_topic_parse(text, dev, sizeof(dev), &kind);
    free(text);
    return 0;
}
