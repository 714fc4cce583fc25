/* rejects.c: the rejection counters' owner (rejects.h). */
#include "kioskd/rejects.h"

#include <errno.h>
#include <string.h>

void kf_rejects_add(struct kf_rejects *r, int reason, uint64_t n)
{
    if (reason < 0 || reason >= KF_REJECT_COUNT_) {
        return;
    }
    r->total[reason] += n;
    r->unsaved[reason] += n;
}

void kf_rejects_fold_link(struct kf_rejects *r, const struct kf_link_counters *c)
{
    kf_rejects_add(r, KF_REJECT_OVERSIZE, c->oversize - r->link_oversize);
    r->link_oversize = c->oversize;
    kf_rejects_add(r, KF_REJECT_MALFORMED, c->malformed - r->link_malformed);
    r->link_malformed = c->malformed;
}

int kf_rejects_pending(const struct kf_rejects *r)
{
    for (int i = 0; i < KF_REJECT_COUNT_; i++) {
        if (r->unsaved[i] != 0 || r->saving[i] != 0) {
            return 1;
        }
    }
    return 0;
}

int kf_rejects_save_begin(struct kf_rejects *r, uint64_t *delta)
{
    int any = 0;

    if (r->busy) {
        return -EALREADY;
    }
    for (int i = 0; i < KF_REJECT_COUNT_; i++) {
        any |= r->unsaved[i] != 0;
    }
    if (!any) {
        return -ENODATA;
    }
    memcpy(r->saving, r->unsaved, sizeof(r->saving));
    memcpy(delta, r->unsaved, sizeof(r->unsaved));
    memset(r->unsaved, 0, sizeof(r->unsaved));
    r->busy = 1;
    return 0;
}

void kf_rejects_save_end(struct kf_rejects *r, int rc)
{
    if (rc != 0) {
        for (int i = 0; i < KF_REJECT_COUNT_; i++) {
            r->unsaved[i] += r->saving[i];
        }
    }
    memset(r->saving, 0, sizeof(r->saving));
    r->busy = 0;
}

uint64_t kf_rejects_discard(struct kf_rejects *r)
{
    uint64_t n = 0;

    for (int i = 0; i < KF_REJECT_COUNT_; i++) {
        n += r->unsaved[i];
        r->unsaved[i] = 0;
    }
    return n;
}
