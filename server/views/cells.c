/* views/cells.c: the cells the views' tables share (views/cells_int.h). */
#include "views/cells_int.h"

#include <stdio.h>

#include <kf/time.h>

const char *kf__view_cell_int(int64_t v, char *buf)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

const char *kf__view_cell_ms(int64_t ms, char *buf)
{
    return ms == 0 || ms == KF_TIME_NEVER ? NULL : kf__view_cell_int(ms, buf);
}

const char *kf__view_cell_left(int running, int64_t left_s, char *buf)
{
    return running && left_s != INT64_MAX ? kf__view_cell_int(left_s, buf) : NULL;
}

const char *kf__view_cell_breached(unsigned bits)
{
    static const char *const names[] = {NULL, "response", "restore", "response,restore"};

    return names[bits & 3u];
}

void kf__view_cell_incident(const char **cells, char id_buf[24], const struct kf_incident *inc,
                            const char *device, const char *zone, const char *bank,
                            const struct kf_view_names *names)
{
    cells[0] = kf__view_cell_int(inc->id, id_buf);
    cells[1] = inc->terminal;
    cells[2] = device;
    cells[3] = zone;
    cells[4] = kf_view_names_get(names, KF_NAMES_ZONE, zone);
    cells[5] = bank;
    cells[6] = kf_view_names_get(names, KF_NAMES_BANK, bank);
    cells[7] = inc->cause;
    cells[8] = inc->periph ? kf_periph_name(inc->periph) : NULL;
}
