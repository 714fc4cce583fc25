/* sim/sim.h: kiosk-sim internals shared by sim.c (fleet, loop, drain) and workload.c
 * (catalog, daily pattern, record generation). Not a public interface. */
#ifndef KF_AGENT_SIM_SIM_H
#define KF_AGENT_SIM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <kf/record.h>

#define SIM_MAX_ITEMS 256
#define SIM_MAX_ZONES 4096
#define SIM_ZONE_ID_MAX 32

struct sim_item {
    char code[KF_ITEM_CODE_MAX + 1];
    double weight;
};

struct sim_zone {
    char id[SIM_ZONE_ID_MAX];
    int open_min, close_min;       /* weekdays, minutes of the local day; 0..1440 */
    int wk_open_min, wk_close_min; /* weekends; -1: closed */
    int itm_24h;                   /* the zone's ITMs serve around the clock */
};

struct sim_catalog {
    struct sim_item items[SIM_MAX_ITEMS];
    size_t nitems;
    double total_weight;
    struct sim_zone *zones; /* owned */
    size_t nzones;
};

/* Load items (and zone hours when present) from a deployment JSON; path NULL: the
 * embedded fallback list. 0 or -errno with a reason in err. */
int kf__sim_catalog_load(struct sim_catalog *c, const char *path, char *err, size_t cap);
void kf__sim_catalog_free(struct sim_catalog *c);
const struct sim_zone *kf__sim_zone_find(const struct sim_catalog *c, const char *id);

/* One terminal's generator state. */
struct sim_gen {
    uint64_t rng;
    int itm;
    int open_min, close_min;       /* the zone's hours; 0/1440 for a 24 h ITM */
    int wk_open_min, wk_close_min; /* weekends; -1: closed */
    double daily_txns;             /* on a weekday, at activity 1 */
    /* printers: paper cycle state */
    int paper_stage; /* 0 none, 1 low, 2 out */
    int64_t paper_next_ms;
    uint8_t paper_periph;
    /* one fault at a time */
    int fault_open;
    int64_t fault_clear_ms;
    char fault_code[KF_FAULT_CODE_MAX + 1];
    uint8_t fault_periph;
    uint8_t fault_sev;
    /* synthetic health */
    int64_t boot_ms;
    uint64_t net_rx, net_tx;
    int32_t cpu_pm;
    uint64_t mem_total_kb;
};

void kf__sim_gen_init(struct sim_gen *g, uint64_t seed, const char *device_id, int itm,
                      const struct sim_zone *zone, int64_t now_ms);

/* Generate the records of [t0, t1) (real device time) into out (cap); pattern_off_ms is
 * added to t for the daily pattern. Returns the number written (a full out stops early).
 * health: also produce synthetic health samples every health_ms (0: none). */
size_t kf__sim_generate(struct sim_gen *g, const struct sim_catalog *c, int64_t t0, int64_t t1,
                        int64_t pattern_off_ms, double activity, struct kf_record *out, size_t cap);
/* Close what is open (fault clear, printer back online) at now. Returns records written. */
size_t kf__sim_settle(struct sim_gen *g, int64_t now_ms, struct kf_record *out, size_t cap);
/* A synthetic, plausible health sample for this terminal at now. */
void kf__sim_health(struct sim_gen *g, int64_t now_ms, struct kf_record *ret);

#endif
