/* rules/assess_standing.c: a zone's delisting standing over its history of assessments and
 * the bureau's decisions (assess.h; docs/REPORTS.md "Delisting"). */
#include <errno.h>
#include <string.h>

#include <kf/time.h>

#include "rules/assess.h"
#include "rules/assess_int.h"

const char *kf_assess_standing_name(int standing)
{
    static const char *const names[] = {NULL, "ok", "watch", "proposed", "kept", "delisted"};

    return standing >= KF_STANDING_OK && standing <= KF_STANDING_DELISTED ? names[standing] : NULL;
}

static int decision(const struct kf_assess_hist *e, size_t i, const struct kf_assess_standing *st,
                    int delisted, char *err, size_t errn)
{
    const char *what = e->kind == KF_HIST_KEEP ? "keep" : "delist";
    size_t l = e->reason ? strlen(e->reason) : 0;
    char d[16], end[16];

    if (delisted || st->streak < 2)
        return kf__assess_fail(err, errn, -EINVAL,
                               "history[%zu]: %s: the zone is not proposed for delisting", i, what);
    if (l == 0 || l > KF_ASSESS_TEXT_MAX)
        return kf__assess_fail(err, errn, -EINVAL, "history[%zu]: %s: a reason (1..%d bytes)", i,
                               what, KF_ASSESS_TEXT_MAX);
    /* The bureau decides on a closed period's result, and a zone leaves the plan after the
     * periods it was assessed in, never inside one. */
    if (e->day < st->last.to_day) {
        kf_day_format(e->day, d, sizeof(d));
        kf_day_format(st->last.to_day, end, sizeof(end));
        return kf__assess_fail(err, errn, -EINVAL,
                               "history[%zu]: %s: %s is before the end of %s (%s)", i, what, d,
                               st->last.name, end);
    }
    return 0;
}

int kf_assess_standing(const struct kf_assess_hist *h, size_t n, struct kf_assess_standing *ret,
                       char *err, size_t errn)
{
    struct kf_assess_standing st;
    int kept = 0, delisted = 0, r;

    if (err && errn > 0)
        err[0] = '\0';
    if (n > 0 && !h)
        return kf__assess_fail(err, errn, -EINVAL, "history: missing");
    memset(&st, 0, sizeof(st));
    st.delisted_day = KF_ASSESS_OPEN;
    for (size_t i = 0; i < n; i++) {
        const struct kf_assess_hist *e = &h[i];
        struct kf_assess_period p;

        switch (e->kind) {
        case KF_HIST_RESULT:
            if (kf_assess_period(e->year, e->half, &p) < 0)
                return kf__assess_fail(err, errn, -EINVAL, "history[%zu]: not a period", i);
            if (e->result < KF_ASSESS_PASS || e->result > KF_ASSESS_NOT_ASSESSED)
                return kf__assess_fail(err, errn, -EINVAL, "history[%zu]: not a result", i);
            if (st.last.year != 0 && p.from_day <= st.last.from_day)
                return kf__assess_fail(err, errn, -EINVAL, "history[%zu]: %s does not follow %s", i,
                                       p.name, st.last.name);
            if (delisted && e->result != KF_ASSESS_NOT_ASSESSED)
                return kf__assess_fail(err, errn, -EINVAL,
                                       "history[%zu]: %s: a delisted zone is not assessed", i,
                                       p.name);
            st.last = p;
            if (e->result == KF_ASSESS_PASS) {
                st.streak = 0;
                st.failed_last = 0;
                kept = 0;
            } else if (e->result == KF_ASSESS_FAIL) {
                st.streak++;
                st.failed_last = 1;
                kept = 0;
            }
            /* Not assessed: neither a pass nor a failure; the streak and a decision stand. */
            break;
        case KF_HIST_KEEP:
        case KF_HIST_DELIST:
            if ((r = decision(e, i, &st, delisted, err, errn)) < 0)
                return r;
            if (e->kind == KF_HIST_KEEP) {
                st.streak = 0;
                kept = 1;
            } else {
                delisted = 1;
                st.delisted_day = e->day;
            }
            break;
        default:
            return kf__assess_fail(err, errn, -EINVAL, "history[%zu]: unknown kind", i);
        }
    }
    if (delisted)
        st.standing = KF_STANDING_DELISTED;
    else if (st.streak >= 2)
        st.standing = KF_STANDING_PROPOSED;
    else if (kept)
        st.standing = KF_STANDING_KEPT;
    else if (st.streak == 1)
        st.standing = KF_STANDING_WATCH;
    else
        st.standing = KF_STANDING_OK;
    *ret = st;
    return 0;
}
