/* fuzz_fixtures: a deployment fixtures file (docs/OPERATIONS.md) loaded into a real store.
 * The store is made once per process in a scratch directory; a file that loads is upserted
 * into it, one that fails must leave it as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

#include "fuzz.h"

static struct kf_store *st;
static char dir[64] = "/tmp/kf-fuzz-fixtures-XXXXXX", db[128], json[128];

static void cleanup(void)
{
    kf_store_free(st);
    unlink(json);
    unlink(db);
    for (const char *sfx = "-wal"; sfx != NULL; sfx = (sfx[1] == 'w' ? "-shm" : NULL)) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", db, sfx);
        unlink(p);
    }
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f;

    if (st == NULL) {
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(db, sizeof(db), "%s/kf.db", dir);
        snprintf(json, sizeof(json), "%s/fixtures.json", dir);
        if (kf_store_open(db, 0, &st) != 0)
            abort();
        atexit(cleanup);
    }
    f = fopen(json, "wb");
    if (f == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    (void)kf_store_load_fixtures(st, json);
    return 0;
}
