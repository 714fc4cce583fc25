/* rejects.c: the persisted rejection counters (store/ingest.h). */
#include "store/ingest.h"

#include "store/sqlite/int.h"

int kf_store_ingest_rejects_add(struct kf_store *st, const uint64_t *delta)
{
    sqlite3_stmt *s = NULL;
    int r, own;

    r = kf__store_txn_enter(st, &own);
    if (r < 0)
        return r;
    for (int i = 0; i < KF_REJECT_COUNT_ && r == 0; i++) {
        if (delta[i] == 0)
            continue;
        r = kf__store_stmt(st, ST_REJECT_ADD, &s);
        if (r < 0)
            break;
        sqlite3_bind_text(s, 1, kf_store_reject_name(i), -1, SQLITE_STATIC);
        kf__store_bind_u64(s, 2, delta[i]);
        r = kf__store_stmt_run(st, s, "reject_counts");
    }
    return kf__store_txn_leave(st, own, r);
}
