/* identity.c: apply an identity request and seal its answer (identity.h). */
#include "kioskd/identity.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kf/err.h>
#include <kf/ident.h>
#include <kf/log.h>
#include <kf/time.h>
#include <kf/topic.h>

#include "store/identity.h"

int kf_identity_answer(struct kf_store *st, const struct kf_verified *v,
                       const uint8_t server_sk[64], int64_t now_ms, struct kf_identity_answer *out)
{
    const struct kf_ident_req *req = v->ident;
    const char *client = v->ing.hdr.device_id;
    struct kf_ident_result res;
    struct kf_env_header h;
    char *body = NULL;
    int r;

    r = kf_store_identity_apply(st, req, now_ms, server_sk, &res);
    if (r < 0) {
        return r;
    }
    r = kf_ident_result_to_json(&res, &body);
    if (r < 0) {
        return r;
    }
    memset(&h, 0, sizeof(h));
    h.kind = KF_MSG_IDENT_RESULT;
    snprintf(h.device_id, sizeof(h.device_id), "%s", client);
    h.key_epoch = 1;
    h.device_ms = now_ms;
    r = kf_topic_format(out->topic, sizeof(out->topic), client, KF_TOPIC_ACK);
    if (r == 0) {
        r = kf_env_seal(&h, out->topic, (const uint8_t *)body, strlen(body), server_sk, out->buf,
                        sizeof(out->buf), &out->len);
    }
    free(body);
    if (r < 0) {
        return r;
    }
    out->next = NULL;
    out->accepted = res.reason == KF_IDENT_OK;
    out->needs_sync = out->accepted && req->op == KF_IDENT_ENROLL;
    if (req->op == KF_IDENT_ENROLL) {
        snprintf(out->what, sizeof(out->what), "enrollment with token %s: %s%s", req->token_id,
                 out->accepted ? "accepted as " : "refused: ",
                 out->accepted ? res.device_id : kf_ident_refusal_name(res.reason));
    } else {
        snprintf(out->what, sizeof(out->what), "key rotation of %s to epoch %u: %s", req->device_id,
                 req->new_epoch, out->accepted ? "accepted" : kf_ident_refusal_name(res.reason));
    }
    return 0;
}
