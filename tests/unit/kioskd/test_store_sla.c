/* test_store_sla.c: the store's SLA part (store/sla.h) and kioskd's SLA service driven from
 * it (slasvc.h) without a network: facts written on changes of state only, contracts,
 * windows, incidents/events/states round trips, queued actions, a restart that announces
 * nothing twice, and a monthly report recomputed byte for byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include "kf_test.h"
#include "kf_test_store.h"
#include <sodium.h>
#include <sqlite3.h>

#include <kf/record.h>
#include <kf/time.h>

#include "store/registry.h"
#include "views/outage.h"
#include "views/names.h"
#include "views/sla.h"
#include "views/sla_tables.h"
#include "views/sla_verify.h"
#include "kioskd/slasvc.h"
#include "kioskd/writer.h"
#include "store/ingest.h"
#include "store/store.h"
#include "store/sla.h"

#define CALENDAR_2026 KF_SOURCE_DIR "/fixtures/calendar/cn-2026.ini"
#define MIN_MS (60LL * 1000)

static struct kf_test_store tstore; /* the store, its read-only twin, its dir */
static const uint8_t raw_frame[] = "frame bytes";
static int64_t t0; /* Tue 2026-03-10 10:00 +08:00 */

static void reg(const char *dev, const char *asset, int kind, const char *zone)
{
    struct kf_device_reg r = {dev, asset, kind, zone, NULL, {0}};

    memset(r.pk, 7, sizeof(r.pk));
    cr_assert_eq(kf_store_register_device(tstore.st, &r), 0, "%s", kf_store_errmsg(tstore.st));
}

static void setup(void)
{
    int32_t day;

    kf_test_store_open(&tstore, "kf-test-sla", KF_TEST_FIXTURES_SMALL);
    reg("KF-XH-0001", "A-000001", KF_KIND_KIOSK, "Z-XH-001");
    cr_assert_eq(kf_day_parse("2026-03-10", &day), 0);
    t0 = kf_day_start_ms(day) + 10 * 3600 * 1000LL;
}

static void teardown(void)
{
    kf_test_store_close(&tstore);
}

TestSuite(store_sla, .init = setup, .fini = teardown);

static int64_t q1(const char *sql)
{
    return kf_test_store_q1(&tstore, sql);
}

/* Change the database behind the store's back, as its operator could. */
static void tamper(const char *sql)
{
    sqlite3 *db = NULL;

    cr_assert_eq(sqlite3_open(tstore.path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* kioskctl verify's recompute of the incidents: clean, or the first problem. */
static int sla_verified(struct kf_view_sla_verify *sv)
{
    char err[320] = "";

    cr_assert_eq(kf_view_sla_verify(tstore.st, sv, err, sizeof(err)), 0, "%s", err);
    return kf_view_sla_verify_clean(sv);
}

/* ---- frames ---- */

struct frame {
    struct kf_ingest in;
    struct kf_record recs[16];
};

static void frame_init(struct frame *f, int kind, uint64_t seq, int64_t recv_ms)
{
    memset(f, 0, sizeof(*f));
    f->in.hdr.kind = (uint8_t)kind;
    snprintf(f->in.hdr.device_id, sizeof(f->in.hdr.device_id), "KF-XH-0001");
    f->in.hdr.key_epoch = 1;
    f->in.hdr.seq = seq;
    f->in.hdr.device_ms = recv_ms;
    f->in.topic = "kf/v1/KF-XH-0001/events";
    f->in.raw = raw_frame;
    f->in.raw_len = sizeof(raw_frame);
    f->in.recv_ms = recv_ms;
    f->in.recs = f->recs;
}

static struct kf_record periph(int64_t ts, int p, int state)
{
    struct kf_record r = {.type = KF_REC_PERIPH, .ts_ms = ts};

    r.u.periph.periph = (uint8_t)p;
    r.u.periph.state = (uint8_t)state;
    return r;
}

static struct kf_record fault(int64_t ts, const char *code, int sev, int raise, int p)
{
    struct kf_record r = {.type = KF_REC_FAULT, .ts_ms = ts};

    snprintf(r.u.fault.code, sizeof(r.u.fault.code), "%s", code);
    r.u.fault.sev = (uint8_t)sev;
    r.u.fault.raise = (uint8_t)raise;
    r.u.fault.periph = (uint8_t)p;
    return r;
}

static struct kf_record maint(int64_t ts, int on, const char *tech)
{
    struct kf_record r = {.type = KF_REC_MAINT, .ts_ms = ts};

    r.u.maint.on = (uint8_t)on;
    snprintf(r.u.maint.tech, sizeof(r.u.maint.tech), "%s", tech);
    return r;
}

static void commit(struct frame *f)
{
    struct kf_ingest *items[1] = {&f->in};
    struct kf_commit_out out;

    f->in.hdr.count = f->in.nrec;
    cr_assert_eq(kf_store_ingest_commit(tstore.st, items, 1, &out), 0, "%s",
                 kf_store_errmsg(tstore.st));
}

static void hello(int64_t at)
{
    struct frame f;

    frame_init(&f, KF_MSG_HELLO, 1, at);
    commit(&f);
}

static void records(uint64_t seq, int64_t at, const struct kf_record *r, uint32_t n)
{
    struct frame f;

    frame_init(&f, KF_MSG_RECORDS, seq, at);
    memcpy(f.recs, r, n * sizeof(*r));
    f.in.nrec = n;
    commit(&f);
}

/* ---- facts ---- */

Test(store_sla, facts_only_on_a_change_of_state)
{
    struct kf_record r[] = {
        periph(t0, KF_PERIPH_A4_PRINTER, KF_PSTATE_PAPER_LOW),
        periph(t0 + 1, KF_PERIPH_A4_PRINTER, KF_PSTATE_PAPER_LOW), /* a repeat */
        periph(t0 + 2, KF_PERIPH_A4_PRINTER, KF_PSTATE_PAPER_OUT),
        fault(t0 + 3, "SCR-TOUCH", KF_SEV_CRITICAL, 1, KF_PERIPH_SCREEN),
        fault(t0 + 4, "SCR-TOUCH", KF_SEV_CRITICAL, 1, KF_PERIPH_SCREEN), /* a repeat */
        fault(t0 + 5, "NET-SLOW", KF_SEV_MINOR, 0, 0),                    /* a clear of nothing */
        fault(t0 + 6, "SCR-TOUCH", KF_SEV_CRITICAL, 0, KF_PERIPH_SCREEN),
        maint(t0 + 7, 1, "T-0042"),
        maint(t0 + 8, 1, "T-0042"), /* a repeat */
        maint(t0 + 9, 0, ""),
    };
    struct kf_sla_fact_row *rows = NULL;
    size_t n = 0;

    hello(t0);
    hello(t0 + 1000); /* still online: no fact */
    records(1, t0 + 2000, r, sizeof(r) / sizeof(r[0]));
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE kind = 'presence'"), 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE kind = 'periph'"), 2);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE kind = 'fault'"), 2);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE kind = 'maint'"), 2);
    cr_assert_eq(q1("SELECT maint FROM maint_latest WHERE device_id = 'KF-XH-0001'"), 0);
    cr_assert_eq(kf_store_sla_facts_written(tstore.st), 7);

    /* An older record arriving after a newer one changes nothing. */
    struct kf_record late[] = {periph(t0 + 20, KF_PERIPH_SCREEN, KF_PSTATE_HW_ERROR)};
    struct kf_record early[] = {periph(t0 + 15, KF_PERIPH_SCREEN, KF_PSTATE_ONLINE)};
    records(20, t0 + 3000, late, 1);
    records(15, t0 + 4000, early, 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE kind = 'periph'"), 3);

    cr_assert_eq(kf_store_sla_facts(tstore.st, 0, 100, &rows, &n), 0);
    cr_assert_eq(n, 8);
    cr_assert_str_eq(rows[0].asset_id, "A-000001");
    cr_assert_eq(rows[0].fact.kind, KF_FACT_PRESENCE);
    cr_assert_eq(rows[0].fact.on, 1);
    cr_assert_eq(rows[0].fact.src, KF_SRC_CONNECT);
    cr_assert_eq(rows[0].fact.at_ms, t0);
    cr_assert_eq(rows[1].fact.kind, KF_FACT_PERIPH);
    cr_assert_eq(rows[1].fact.periph, KF_PERIPH_A4_PRINTER);
    cr_assert_eq(rows[1].fact.on, 1); /* paper_low is usable */
    cr_assert_eq(rows[2].fact.on, 0);
    cr_assert_eq(rows[3].fact.kind, KF_FACT_FAULT);
    cr_assert_eq(rows[3].fact.sev, KF_SEV_CRITICAL);
    cr_assert_eq(rows[3].fact.periph, KF_PERIPH_SCREEN);
    cr_assert_str_eq(rows[3].fact.code, "SCR-TOUCH");
    cr_assert_eq(rows[3].fact.at_ms, t0 + 3);
    cr_assert_eq(rows[4].fact.on, 0);
    cr_assert_eq(rows[5].fact.kind, KF_FACT_MAINT);
    cr_assert_str_eq(rows[5].fact.who, "T-0042");
    cr_assert_eq(rows[7].fact.periph, KF_PERIPH_SCREEN);
    cr_assert_eq(rows[7].fact.on, 0);
    free(rows);
    cr_assert_eq(kf_store_sla_facts(tstore.st, 7, 100, &rows, &n), 0);
    cr_assert_eq(n, 1);
    free(rows);
}

Test(store_sla, will_heartbeat_and_the_instant_of_a_fact)
{
    struct frame f;
    struct kf_record ahead[] = {fault(t0 + 10 * MIN_MS + 4 * MIN_MS, "X", KF_SEV_MAJOR, 1, 0)};
    struct kf_sla_persist p = {0};
    uint32_t expired = 0;

    hello(t0);
    frame_init(&f, KF_MSG_STATE, 0, t0 + MIN_MS);
    f.in.body_json = "{\"state\":\"offline\"}";
    commit(&f);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE src = 'will' AND value = 0"), 1);
    cr_assert_eq(q1("SELECT at_ms FROM sla_facts WHERE src = 'will'"), t0 + MIN_MS);
    /* A device clock 4 minutes ahead: the fact is dated at receipt, not in the future. */
    records(1, t0 + 10 * MIN_MS, ahead, 1);
    cr_assert_eq(q1("SELECT at_ms FROM sla_facts WHERE kind = 'fault'"), t0 + 10 * MIN_MS);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE src = 'connect'"), 2);

    /* A fact keeps its true time even when the engine has ticked past it: whether it is a
     * backlog is the engine's call per terminal, not the store's (docs/SLA.md 10.1). */
    p.tick_ms = t0 + 30 * MIN_MS;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0 + 30 * MIN_MS), 0);
    struct kf_record clear[] = {fault(t0 + 20 * MIN_MS, "X", KF_SEV_MAJOR, 0, 0)};
    records(2, t0 + 25 * MIN_MS, clear, 1);
    cr_assert_eq(q1("SELECT at_ms FROM sla_facts WHERE kind = 'fault' AND value = 0"),
                 t0 + 20 * MIN_MS);
    cr_assert_eq(q1("SELECT late FROM sla_facts WHERE kind = 'fault' AND value = 0"), 0);
    cr_assert_eq(
        kf_store_ingest_expire_online(tstore.st, t0 + 40 * MIN_MS, t0 + 41 * MIN_MS, &expired), 0);
    cr_assert_eq(expired, 1);
    cr_assert_eq(q1("SELECT at_ms FROM sla_facts WHERE src = 'heartbeat'"), t0 + 25 * MIN_MS);
    cr_assert_eq(q1("SELECT recv_ms FROM sla_facts WHERE src = 'heartbeat'"), t0 + 41 * MIN_MS);
    /* Nothing more to expire, nothing more written. */
    cr_assert_eq(
        kf_store_ingest_expire_online(tstore.st, t0 + 50 * MIN_MS, t0 + 51 * MIN_MS, &expired), 0);
    cr_assert_eq(q1("SELECT count(*) FROM sla_facts WHERE src = 'heartbeat'"), 1);
}

/* ---- terminals, contracts, windows ---- */

Test(store_sla, terminals_contracts_and_windows)
{
    struct kf_sla_terminal *t = NULL;
    struct kf_sla_window_row *w = NULL;
    struct kf_window out[8];
    struct kf_sla_cursor cur;
    size_t n = 0, nw = 0;
    int64_t id = 0;
    char buf[32];

    reg("KF-XH-0002", "A-000002", KF_KIND_ITM, "Z-XH-001");
    reg("KF-XH-0003", "A-000003", KF_KIND_KIOSK, "Z-XH-002");
    cr_assert_eq(kf_store_sla_terminals(tstore.st, NULL, &t, &n), 0, "%s",
                 kf_store_errmsg(tstore.st));
    cr_assert_eq(n, 3);
    /* ICBC has no contract of its own: the "*" kiosk terms */
    cr_assert_str_eq(t[0].device_id, "KF-XH-0001");
    cr_assert_str_eq(t[0].bank, "ICBC");
    cr_assert_eq(t[0].terms.response_s, 7200);
    cr_assert_eq(t[0].terms.restore_s, 28800);
    cr_assert_eq(t[0].terms.target_bp, 9800);
    cr_assert_eq(t[0].has_contract, 1);
    cr_assert_eq(kf_calendar_dayspec_format(&t[0].week.day[KF_DAY_MON], buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "08:30-17:00");
    cr_assert_eq(kf_calendar_dayspec_format(&t[0].week.day[KF_DAY_SAT], buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "09:00-16:00");
    /* the ITM keeps the lobby's 24 h, holidays included, and the "*" ITM terms */
    cr_assert_eq(t[1].kind, KF_KIND_ITM);
    cr_assert_eq(t[1].terms.response_s, 3600);
    cr_assert_eq(kf_calendar_dayspec_format(&t[1].week.day[KF_DAY_HOLIDAY], buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "00:00-24:00");
    /* CCB's own kiosk contract wins over "*" */
    cr_assert_str_eq(t[2].bank, "CCB");
    cr_assert_eq(t[2].terms.response_s, 3600);
    cr_assert_eq(t[2].terms.target_bp, 9900);
    free(t);
    cr_assert_eq(kf_store_sla_terminals(tstore.st, "A-404", &t, &n), -ENOENT);

    /* Windows are entered ahead of time, for a terminal (by device or asset id) or a zone. */
    cr_assert_eq(kf_store_sla_window_add(tstore.st, "KF-XH-0001", 0, t0 - 1, t0 + MIN_MS, "r",
                                         "ops", t0, &id),
                 -EINVAL);
    cr_assert_eq(kf_store_sla_window_add(tstore.st, "KF-XH-0001", 0, t0, t0, "r", "ops", t0, &id),
                 -EINVAL);
    cr_assert_eq(
        kf_store_sla_window_add(tstore.st, "NOPE", 0, t0, t0 + MIN_MS, "r", "ops", t0, &id),
        -ENOENT);
    cr_assert_eq(kf_store_sla_window_add(tstore.st, "KF-XH-0001", 0, t0 + MIN_MS, t0 + 60 * MIN_MS,
                                         "printer swap", "ops:li", t0, &id),
                 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(kf_store_sla_window_add(tstore.st, "Z-XH-001", 1, t0 + 120 * MIN_MS,
                                         t0 + 180 * MIN_MS, "branch power work", "ops:li", t0, &id),
                 0);
    cr_assert_eq(kf_store_sla_window_add(tstore.st, "A-000003", 0, t0 + MIN_MS, t0 + 2 * MIN_MS,
                                         "x", "ops:li", t0, &id),
                 0);
    cr_assert_eq(kf_store_sla_cursor(tstore.st, &cur), 0);
    cr_assert_eq(cur.windows_rev, 3);
    cr_assert_eq(kf_store_sla_windows(tstore.st, 0, &w, &nw), 0);
    cr_assert_eq(nw, 3);
    cr_assert_str_eq(w[0].asset_id, "A-000001");
    cr_assert_str_eq(w[0].reason, "printer swap");
    cr_assert_eq(kf_store_sla_terminals(tstore.st, NULL, &t, &n), 0);
    /* A-000001 and the ITM A-000002 are in Z-XH-001: their own window and the zone's */
    cr_assert_eq(kf_store_sla_windows_for(w, nw, &t[0], out, 8), 2);
    cr_assert_eq(out[1].start_ms, t0 + 120 * MIN_MS);
    cr_assert_eq(kf_store_sla_windows_for(w, nw, &t[1], out, 8), 1);
    cr_assert_eq(kf_store_sla_windows_for(w, nw, &t[2], out, 8), 1);
    free(t);
    free(w);
    cr_assert_eq(kf_store_sla_windows(tstore.st, t0 + 100 * MIN_MS, &w, &nw), 0);
    cr_assert_eq(nw, 1); /* only the zone's is not over by then */
    free(w);
}

/* ---- incidents, events, states, actions ---- */

static struct kf_incident sample_incident(struct kf_inc_event *evs, size_t *ret_n)
{
    struct kf_incident inc;
    size_t n = 0;

    memset(&inc, 0, sizeof(inc));
    memset(evs, 0, 5 * sizeof(*evs));
    evs[n] = (struct kf_inc_event){.incident = 7,
                                   .at_ms = t0,
                                   .start_ms = t0,
                                   .kind = KF_EV_OPEN,
                                   .periph = KF_PERIPH_SCREEN,
                                   .sev = KF_SEV_CRITICAL};
    snprintf(evs[n].terminal, sizeof(evs[n].terminal), "A-000001");
    snprintf(evs[n].cause, sizeof(evs[n].cause), "SCR-TOUCH");
    snprintf(evs[n++].text, sizeof(evs[0].text), "critical fault SCR-TOUCH on screen");
    evs[n] = (struct kf_inc_event){.incident = 7, .at_ms = t0 + MIN_MS, .kind = KF_EV_ACK};
    snprintf(evs[n++].who, sizeof(evs[0].who), "wang");
    evs[n] = (struct kf_inc_event){
        .incident = 7, .at_ms = t0 + 2 * MIN_MS, .kind = KF_EV_ON_SITE, .flags = KF_EV_F_MEASURED};
    snprintf(evs[n++].who, sizeof(evs[0].who), "T-0042");
    evs[n] = (struct kf_inc_event){.incident = 7,
                                   .at_ms = t0 + 3 * MIN_MS,
                                   .kind = KF_EV_ATTRIBUTE,
                                   .from = KF_ATTR_COMPANY,
                                   .to = KF_ATTR_BANK_POWER};
    snprintf(evs[n].who, sizeof(evs[0].who), "ops:li");
    snprintf(evs[n++].text, sizeof(evs[0].text), "branch power cut, 停电");
    evs[n] = (struct kf_inc_event){.incident = 7, .at_ms = t0 + 4 * MIN_MS, .kind = KF_EV_RECOVER};
    n++;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(kf_incident_apply(&inc, &evs[i]), 0, "event %zu", i);
    *ret_n = n;
    return inc;
}

/* Every sla_terminal_state row's columns (v23) are the segment of its JSON state, and the
 * zone finder's counts from them equal the counts of kf_view_sla_states' statuses (up or
 * degraded), zone by zone, terminals without a state included. Returns how many rows. */
static size_t assert_state_columns_follow_json(void)
{
    struct kf_sla_state_row *rows = NULL;
    struct kf_view_sla_state *v = NULL;
    struct kf_sla_zone_count *zc = NULL;
    size_t n = 0, nv = 0, nz = 0, seen = 0;
    char err[256] = "", sql[320];

    cr_assert_eq(kf_store_sla_states(tstore.st, &rows, &n), 0, "%s", kf_store_errmsg(tstore.st));
    for (size_t i = 0; i < n; i++) {
        struct kf_seg seg;

        kf_devstate_seg(&rows[i].st, &seg);
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM sla_terminal_state WHERE asset_id = '%s' AND online = %d"
                 " AND maint = %d AND unusable = %lld AND crit = %lld",
                 rows[i].asset_id, seg.online != 0, seg.maint != 0, (long long)seg.unusable,
                 (long long)seg.crit);
        cr_assert_eq(q1(sql), 1, "%s: the columns are not its JSON's (%s)", rows[i].asset_id, sql);
    }
    free(rows);
    cr_assert_eq(kf_view_sla_states(tstore.st, NULL, &v, &nv, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(kf_view_sla_zone_counts(tstore.st, &zc, &nz, err, sizeof(err)), 0, "%s", err);
    for (size_t z = 0; z < nz; z++) {
        int64_t total = 0, up = 0;

        for (size_t k = 0; k < nv; k++) {
            if (strcmp(v[k].term.zone_id, zc[z].zone_id) != 0)
                continue;
            total++;
            up += v[k].known && (v[k].status == KF_TERM_UP || v[k].status == KF_TERM_DEGRADED);
        }
        cr_assert_eq(zc[z].terminals, total, "%s", zc[z].zone_id);
        cr_assert_eq(zc[z].in_service, up, "%s", zc[z].zone_id);
        cr_assert(z == 0 || strcmp(zc[z - 1].zone_id, zc[z].zone_id) < 0, "by zone id");
        seen += (size_t)total;
    }
    cr_assert_eq(seen, nv, "every terminal is in one zone's count");
    free(v);
    free(zc);
    return n;
}

Test(store_sla, incidents_events_and_states_round_trip)
{
    struct kf_inc_event evs[5];
    struct kf_sla_persist_event pev[5];
    struct kf_sla_state_row state, *states = NULL;
    struct kf_sla_event_row *back = NULL;
    struct kf_incident inc, got, *all = NULL;
    struct kf_sla_persist p = {0};
    struct kf_sla_cursor cur;
    size_t n, n_back = 0, n_all = 0;
    int64_t max = 0;

    inc = sample_incident(evs, &n);
    memset(pev, 0, sizeof(pev));
    for (size_t i = 0; i < n; i++)
        pev[i].ev = evs[i];
    pev[0].notice = "{\"event\":\"opened\"}";
    pev[0].nkind = "opened";
    memset(&state, 0, sizeof(state));
    snprintf(state.asset_id, sizeof(state.asset_id), "A-000001");
    snprintf(state.device_id, sizeof(state.device_id), "KF-XH-0001");
    kf_devstate_init(&state.st);
    state.st.at_ms = t0 + 4 * MIN_MS;
    state.st.online = 1;
    state.st.src = KF_SRC_CONNECT;
    state.st.presence_since_ms = t0 - MIN_MS;
    state.st.unusable = 1u << KF_PERIPH_A4_PRINTER;
    state.st.periph_since_ms[KF_PERIPH_A4_PRINTER] = t0 + 5;
    state.st.n_faults = 1;
    snprintf(state.st.faults[0].code, sizeof(state.st.faults[0].code), "PRN-JAM");
    state.st.faults[0].sev = KF_SEV_MAJOR;
    state.st.faults[0].periph = KF_PERIPH_RECEIPT_PRINTER;
    state.st.faults[0].since_ms = t0 + 9;
    p.fact_id = 42;
    p.tick_ms = t0 + 5 * MIN_MS;
    p.incidents = &inc;
    p.n_incidents = 1;
    p.events = pev;
    p.n_events = n;
    p.states = &state;
    p.n_states = 1;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0 + 5 * MIN_MS), 0, "%s",
                 kf_store_errmsg(tstore.st));
    /* a second persist of the same incident updates it in place */
    cr_assert_eq(kf_store_sla_persist(tstore.st,
                                      &(struct kf_sla_persist){.fact_id = 43,
                                                               .tick_ms = t0 + 6 * MIN_MS,
                                                               .incidents = &inc,
                                                               .n_incidents = 1},
                                      t0 + 6 * MIN_MS),
                 0, "%s", kf_store_errmsg(tstore.st));

    cr_assert_eq(kf_store_sla_incident(tstore.st, 7, &got), 0);
    cr_assert_eq(memcmp(&got, &inc, sizeof(inc)), 0, "an incident comes back exactly");
    cr_assert_eq(kf_store_sla_incident(tstore.st, 8, &got), -ENOENT);
    cr_assert_eq(kf_store_sla_max_incident(tstore.st, &max), 0);
    cr_assert_eq(max, 7);
    cr_assert_eq(q1("SELECT count(*) FROM sla_incidents"), 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_notices"), 1);
    cr_assert_eq(kf_store_sla_events(tstore.st, 7, &back, &n_back), 0);
    cr_assert_eq(n_back, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(memcmp(&back[i].ev, &evs[i], sizeof(evs[i])), 0, "event %zu", i);
    free(back);
    cr_assert_eq(kf_store_sla_states(tstore.st, &states, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(memcmp(&states[0].st, &state.st, sizeof(state.st)), 0);
    free(states);
    cr_assert_eq(kf_store_sla_cursor(tstore.st, &cur), 0);
    cr_assert_eq(cur.fact_id, 43);
    cr_assert_eq(cur.tick_ms, t0 + 6 * MIN_MS);
    /* resolved at t0+4min: live for a restarted engine only within its reopen window */
    cr_assert_eq(kf_store_sla_incidents(tstore.st, KF_SLA_INC_LIVE, t0, 0, &all, &n_all), 0);
    cr_assert_eq(n_all, 1);
    free(all);
    cr_assert_eq(kf_store_sla_incidents(tstore.st, KF_SLA_INC_PERIOD, t0 + 5 * MIN_MS,
                                        t0 + 60 * MIN_MS, &all, &n_all),
                 0);
    cr_assert_eq(n_all, 0);
    free(all);
}

/* The engine's persist writes a state's status inputs as columns beside its JSON (schema
 * v23), and a replaced state replaces them: each kind of status, with the small fixtures'
 * catalog (every item needs the screen and the ID card reader). */
static struct kf_sla_state_row state_row(const char *asset, int online, int maint,
                                         uint32_t unusable, int crit_periph, int major_periph)
{
    struct kf_sla_state_row r;

    memset(&r, 0, sizeof(r));
    snprintf(r.asset_id, sizeof(r.asset_id), "%s", asset);
    snprintf(r.device_id, sizeof(r.device_id), "KF-%s", asset);
    kf_devstate_init(&r.st);
    r.st.at_ms = t0;
    r.st.online = (uint8_t)online;
    r.st.maint = (uint8_t)maint;
    r.st.unusable = unusable;
    if (crit_periph >= 0) {
        struct kf_open_fault *f = &r.st.faults[r.st.n_faults++];

        snprintf(f->code, sizeof(f->code), "C-%d", crit_periph);
        f->periph = (uint8_t)crit_periph;
        f->sev = KF_SEV_CRITICAL;
        f->since_ms = t0;
    }
    if (major_periph >= 0) {
        struct kf_open_fault *f = &r.st.faults[r.st.n_faults++];

        snprintf(f->code, sizeof(f->code), "M-%d", major_periph);
        f->periph = (uint8_t)major_periph;
        f->sev = KF_SEV_MAJOR;
        f->since_ms = t0;
    }
    return r;
}

Test(store_sla, state_columns_follow_the_json_through_the_engines_writes)
{
    struct kf_sla_state_row rows[7];
    struct kf_sla_zone_count *zc = NULL;
    struct kf_sla_persist p = {0};
    char err[256] = "";
    size_t nz = 0;

    reg("KF-XH-0002", "A-000002", KF_KIND_KIOSK, "Z-XH-001");
    reg("KF-XH-0003", "A-000003", KF_KIND_KIOSK, "Z-XH-001");
    reg("KF-XH-0004", "A-000004", KF_KIND_KIOSK, "Z-XH-002");
    reg("KF-XH-0005", "A-000005", KF_KIND_KIOSK, "Z-XH-002");
    reg("KF-WG-0006", "A-000006", KF_KIND_KIOSK, "Z-WG-001");
    reg("KF-WG-0007", "A-000007", KF_KIND_KIOSK, "Z-WG-001");
    reg("KF-WG-0008", "A-000008", KF_KIND_KIOSK, "Z-WG-001"); /* no state: unknown */
    rows[0] = state_row("A-000001", 1, 0, 0, -1, -1);         /* up */
    rows[1] = state_row("A-000002", 1, 0, 1u << KF_PERIPH_A4_PRINTER, -1,
                        KF_PERIPH_RECEIPT_PRINTER);                         /* degraded */
    rows[2] = state_row("A-000003", 1, 0, 0, KF_PERIPH_A4_PRINTER, -1);     /* degraded */
    rows[3] = state_row("A-000004", 1, 0, 0, KF_PERIPH_ID_CARD_READER, -1); /* down */
    rows[4] = state_row("A-000005", 1, 1, 0, -1, KF_PERIPH_SCREEN);         /* maintenance */
    rows[5] = state_row("A-000006", 0, 0, 0, -1, -1);                       /* offline */
    rows[6] = state_row("A-000007", 1, 0, 0, 0, -1); /* a device-wide critical fault */
    p.fact_id = 1;
    p.tick_ms = t0;
    p.states = rows;
    p.n_states = 7;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0), 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(assert_state_columns_follow_json(), 7);
    cr_assert_eq(q1("SELECT crit FROM sla_terminal_state WHERE asset_id = 'A-000007'"), 1);
    cr_assert_eq(q1("SELECT unusable FROM sla_terminal_state WHERE asset_id = 'A-000002'"),
                 1 << KF_PERIPH_A4_PRINTER);
    cr_assert_eq(kf_view_sla_zone_counts(tstore.st, &zc, &nz, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(nz, 3);
    cr_assert_str_eq(zc[0].zone_id, "Z-WG-001");
    cr_assert_eq(zc[0].terminals, 3);
    cr_assert_eq(zc[0].in_service, 0);
    cr_assert_str_eq(zc[1].zone_id, "Z-XH-001");
    cr_assert_eq(zc[1].terminals, 3);
    cr_assert_eq(zc[1].in_service, 3);
    cr_assert_str_eq(zc[2].zone_id, "Z-XH-002");
    cr_assert_eq(zc[2].terminals, 2);
    cr_assert_eq(zc[2].in_service, 0);
    free(zc);

    /* The next run replaces three states: the columns follow. */
    rows[0] = state_row("A-000001", 0, 0, 0, -1, -1);
    rows[1] = state_row("A-000005", 1, 0, 0, -1, KF_PERIPH_SCREEN);
    rows[2] = state_row("A-000007", 1, 0, 0, -1, 0);
    p.fact_id = 2;
    p.n_states = 3;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0 + 1), 0, "%s", kf_store_errmsg(tstore.st));
    cr_assert_eq(assert_state_columns_follow_json(), 7);
    cr_assert_eq(kf_view_sla_zone_counts(tstore.st, &zc, &nz, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(zc[0].in_service, 1, "A-000007's fault is no longer critical");
    cr_assert_eq(zc[1].in_service, 2, "A-000001 went offline");
    cr_assert_eq(zc[2].in_service, 1, "A-000005 left maintenance");
    free(zc);
}

Test(store_sla, actions_are_checked_queued_and_answered)
{
    struct kf_inc_event evs[5];
    struct kf_incident inc;
    struct kf_sla_action a, *pend = NULL, got;
    struct kf_sla_persist p = {0};
    size_t n;
    int64_t id = 0, id2 = 0;

    inc = sample_incident(evs, &n);
    p.incidents = &inc;
    p.n_incidents = 1;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0), 0);
    memset(&a, 0, sizeof(a));
    a.incident = 7;
    a.kind = KF_EV_ACK;
    a.requested_ms = t0;
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), -EINVAL); /* no who */
    snprintf(a.who, sizeof(a.who), "wang");
    a.incident = 99;
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), -ENOENT);
    a.incident = 7;
    a.kind = KF_EV_RESOLVE;
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), -EINVAL); /* resolve needs a note */
    a.kind = KF_EV_OPEN;
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), -EINVAL); /* not a technician's */
    a.kind = KF_EV_ACK;
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), 0);
    a.kind = KF_EV_ATTRIBUTE;
    a.to = KF_ATTR_FORCE_MAJEURE;
    snprintf(a.text, sizeof(a.text), "flood");
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id2), 0);
    cr_assert_eq(kf_store_sla_actions_pending(tstore.st, 10, &pend, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(pend[1].to, KF_ATTR_FORCE_MAJEURE);
    cr_assert_str_eq(pend[1].text, "flood");
    pend[0].status = KF_SLA_ACTION_DONE;
    pend[0].applied_ms = t0 + 1;
    pend[0].at_ms = t0 + 1;
    snprintf(pend[0].result, sizeof(pend[0].result), "done");
    memset(&p, 0, sizeof(p));
    p.actions = pend;
    p.n_actions = 1;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0 + 1), 0);
    free(pend);
    cr_assert_eq(kf_store_sla_action(tstore.st, id, &got), 0);
    cr_assert_eq(got.status, KF_SLA_ACTION_DONE);
    cr_assert_eq(got.at_ms, t0 + 1);
    cr_assert_eq(kf_store_sla_action(tstore.st, id2, &got), 0);
    cr_assert_eq(got.status, KF_SLA_ACTION_PENDING);
    cr_assert_eq(kf_store_sla_actions_pending(tstore.st, 10, &pend, &n), 0);
    cr_assert_eq(n, 1);
    free(pend);
}

Test(store_sla, devstate_json_refuses_garbage)
{
    struct kf_devstate s;

    cr_assert_eq(kf_store_sla_devstate_from_json("{}", &s), -EINVAL);
    cr_assert_eq(kf_store_sla_devstate_from_json("not json", &s), -EINVAL);
    kf_devstate_init(&s);
    char *j = kf_store_sla_devstate_to_json(&s);
    struct kf_devstate back;
    cr_assert_not_null(j);
    cr_assert_eq(kf_store_sla_devstate_from_json(j, &back), 0);
    cr_assert_eq(memcmp(&s, &back, sizeof(s)), 0);
    free(j);
}

/* ---- kioskd's SLA service on this store, without a network ---- */

static void put_calendar(void)
{
    FILE *f = fopen(CALENDAR_2026, "r");
    static char text[65536];
    size_t n;

    cr_assert_not_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    cr_assert_eq(kf_store_sla_calendar_put(tstore.st, 2026, text, CALENDAR_2026, t0), 0);
}

/* One SLA job on a writer of its own: after a commit (tick 0) or on the engine's timer. */
static void run(struct kf_slasvc *s, int tick)
{
    struct kf_writer_commit c = {.frames = 1, .expired = 0};
    struct kf_writer *w = NULL;
    uv_loop_t loop;

    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kf_writer_new(&loop, tstore.st, &w), 0);
    cr_assert_eq(kf_slasvc_register(s, w), 0);
    if (tick) {
        kf_slasvc_tick(s);
    } else {
        kf_writer_committed(w, &c);
    }
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert(kf_writer_idle(w));
    kf_writer_free(w);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

static struct kf_slasvc *service(void)
{
    static uint8_t sk[64];
    uint8_t pk[32];
    struct kf_slasvc_opts o = {
        .grace_ms = 120 * 1000, .reopen_ms = 86400 * 1000LL, .server_sk = sk};

    crypto_sign_keypair(pk, sk);
    struct kf_slasvc *s = NULL;
    char err[256] = "";

    cr_assert_eq(kf_slasvc_new(tstore.st, &o, kf_now_ms(), &s, err, sizeof(err)), 0, "%s", err);
    return s;
}

static char *report_bytes(struct kf_store *from, int fmt)
{
    struct kf_report *rep = NULL;
    int64_t as_of = 0;
    char err[256] = "", *buf = NULL;
    size_t len = 0;

    cr_assert_eq(kf_view_sla_report(from, 2026, 3, 0, &rep, &as_of, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(kf_report_render(rep, fmt, &buf, &len), 0);
    kf_report_free(rep);
    return buf;
}

Test(store_sla, service_runs_the_engine_from_the_store)
{
    struct kf_record raise[] = {
        fault(t0 + MIN_MS, "SCR-TOUCH", KF_SEV_CRITICAL, 1, KF_PERIPH_SCREEN)};
    struct kf_record onsite[] = {maint(t0 + 30 * MIN_MS, 1, "T-0042")};
    struct kf_record clear[] = {
        fault(t0 + 90 * MIN_MS, "SCR-TOUCH", KF_SEV_CRITICAL, 0, KF_PERIPH_SCREEN),
        maint(t0 + 95 * MIN_MS, 0, "")};
    struct kf_sla_action a, got;
    struct kf_incident inc;
    struct kf_view_sla_queue *q = NULL;
    struct kf_store *ro = NULL;
    struct kf_slasvc *s;
    char err[256] = "", *x, *y, *z;
    int64_t notices, id = 0;

    put_calendar();
    s = service();
    hello(t0);
    records(1, t0 + MIN_MS, raise, 1);
    run(s, 0);
    cr_assert_eq(kf_store_sla_incident(tstore.st, 1, &inc), 0,
                 "the critical fault opened incident 1");
    cr_assert_str_eq(inc.terminal, "A-000001");
    cr_assert_str_eq(inc.cause, "SCR-TOUCH");
    cr_assert_eq(inc.spans[0].start_ms, t0 + MIN_MS);
    cr_assert_eq(q1("SELECT count(*) FROM sla_notices WHERE kind = 'opened'"), 1);
    cr_assert_eq(assert_state_columns_follow_json(), 1, "the engine wrote the state");
    cr_assert_eq(q1("SELECT online = 1 AND crit = 2 FROM sla_terminal_state"), 1,
                 "online, a critical fault on the screen (bit 1)");

    /* A technician acknowledges from kioskctl: queued, applied by the service's next run. */
    memset(&a, 0, sizeof(a));
    a.incident = 1;
    a.kind = KF_EV_ACK;
    a.requested_ms = kf_now_ms();
    snprintf(a.who, sizeof(a.who), "wang");
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), 0);
    run(s, 1);
    cr_assert_eq(kf_store_sla_action(tstore.st, id, &got), 0);
    cr_assert_eq(got.status, KF_SLA_ACTION_DONE, "%s", got.result);
    cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), 0);
    run(s, 1);
    cr_assert_eq(kf_store_sla_action(tstore.st, id, &got), 0);
    cr_assert_eq(got.status, KF_SLA_ACTION_REFUSED, "acknowledged twice");

    /* Maintenance mode at the terminal measures the visit; the clear resolves it. The
     * facts are clamped to the engine's last tick (now), so the visit is measured from then. */
    records(2, t0 + 30 * MIN_MS, onsite, 1);
    records(3, t0 + 90 * MIN_MS, clear, 2);
    run(s, 0); /* within a second of the last run: left for the next tick */
    cr_assert_eq(kf_store_sla_incident(tstore.st, 1, &inc), 0);
    cr_assert_eq(inc.state, KF_INC_ACKED);
    run(s, 1);
    cr_assert_eq(kf_store_sla_incident(tstore.st, 1, &inc), 0);
    cr_assert_eq(inc.state, KF_INC_RESOLVED);
    assert_state_columns_follow_json();
    cr_assert_eq(q1("SELECT online = 1 AND maint = 0 AND crit = 0 FROM sla_terminal_state"), 1,
                 "the fault cleared and maintenance left: the columns follow");
    cr_assert_str_eq(inc.on_site_by, "T-0042");
    cr_assert_neq(inc.on_site_at_ms, 0);
    cr_assert_eq(inc.on_site_since_ms, 0);
    cr_assert_eq(q1("SELECT count(*) FROM sla_events WHERE incident = 1 AND kind = 'off_site'"), 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_notices WHERE kind = 'resolved'"), 1);
    notices = q1("SELECT count(*) FROM sla_notices");
    cr_assert_geq(notices, 3); /* opened, the restore deadline passed long ago, resolved */
    cr_assert_eq(q1("SELECT count(*) FROM sla_notices WHERE kind = 'breach'"), notices - 2);
    kf_slasvc_free(s);

    /* A restart: restored from the store, nothing is announced again. */
    s = service();
    run(s, 1);
    run(s, 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_notices"), notices);
    kf_slasvc_free(s);

    /* Incidents are derived state: the runs sealed in the signed log, fed to a fresh engine,
     * give back every incident and event, across the restart. The tamper (the
     * attribution rewritten and its events deleted) and an edited action or fact are found. */
    struct kf_view_sla_verify sv;
    cr_assert(sla_verified(&sv), "%s", sv.first_problem);
    cr_assert(sv.replayed, "%s", sv.note);
    cr_assert_eq(sv.incidents_checked, 1);
    cr_assert_eq(sv.actions_checked, 2);
    tamper("UPDATE sla_incidents SET attr = 'force_majeure' WHERE id = 1;"
           "DELETE FROM sla_events WHERE kind = 'attribute'");
    cr_assert_not(sla_verified(&sv));
    cr_assert_eq(sv.incident_mismatches, 1);
    cr_assert(strstr(sv.first_problem, "attr: stored force_majeure, evidence company"), "%s",
              sv.first_problem);
    tamper("UPDATE sla_incidents SET attr = 'company' WHERE id = 1");
    cr_assert(sla_verified(&sv), "%s", sv.first_problem);
    tamper("DELETE FROM sla_events WHERE kind = 'off_site'");
    cr_assert_not(sla_verified(&sv));
    cr_assert_eq(sv.event_mismatches, 1);
    cr_assert_eq(sv.incident_mismatches, 0);
    tamper("UPDATE sla_actions SET who = 'li' WHERE kind = 'ack' AND status = 'done'");
    cr_assert_not(sla_verified(&sv));
    cr_assert_eq(sv.action_mismatches, 1);
    tamper("UPDATE sla_facts SET at_ms = at_ms + 1000 WHERE kind = 'fault' AND value = 1");
    cr_assert_not(sla_verified(&sv));
    cr_assert_eq(sv.fact_mismatches, 1);

    /* The queue (a read-only view) lists the resolved incident, awaiting closure. */
    cr_assert_eq(kf_view_sla_queue(tstore.st, kf_now_ms(), &q, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(q->n, 1);
    cr_assert_eq(q->rows[0].inc->id, 1);
    cr_assert_str_eq(q->terms[0]->zone_id, "Z-XH-001");
    kf_view_sla_queue_free(q);

    /* The history of one terminal (a terminal's page) is the fleet's history's rows of it,
     * cell for cell; a terminal without incidents has none. */
    {
        struct kf_view_names *names = NULL;
        struct kf_qtable *all = NULL, *one = NULL, *none = NULL;

        cr_assert_eq(kf_view_names_load(tstore.st, &names), 0);
        cr_assert_eq(kf_view_sla_tables_history(tstore.st, names, NULL, 0, INT64_MAX, &all, err,
                                                sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(kf_view_sla_tables_history(tstore.st, names, "A-000001", 0, INT64_MAX, &one,
                                                err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(kf_view_sla_tables_history(tstore.st, names, "A-000002", 0, INT64_MAX, &none,
                                                err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(all->nrows, 1);
        cr_assert_eq(one->nrows, 1);
        cr_assert_eq(none->nrows, 0);
        cr_assert_eq(one->ncols, all->ncols);
        for (size_t k = 0; k < all->ncols; k++) {
            const char *a1 = kf_store_query_table_cell(all, 0, k);
            const char *b1 = kf_store_query_table_cell(one, 0, k);

            cr_assert((a1 == NULL) == (b1 == NULL) && (!a1 || strcmp(a1, b1) == 0),
                      "column %zu: %s / %s", k, a1 ? a1 : "NULL", b1 ? b1 : "NULL");
        }
        cr_assert_str_eq(kf_store_query_table_cell(one, 0, 2), "Z-XH-001");
        kf_store_query_table_free(all);
        kf_store_query_table_free(one);
        kf_store_query_table_free(none);
        kf_view_names_free(names);
    }

    /* March's report, twice, and from a second (read-only) connection: the same bytes. */
    x = report_bytes(tstore.st, KF_REPORT_CSV);
    y = report_bytes(tstore.st, KF_REPORT_CSV);
    cr_assert_str_eq(x, y);
    cr_assert_eq(kf_store_open(tstore.path, KF_STORE_RDONLY, &ro), 0);
    z = report_bytes(ro, KF_REPORT_CSV);
    cr_assert_str_eq(x, z);
    cr_assert(strstr(x, "2026-03,terminal,A-000001,ICBC,Z-XH-001,1,") != NULL, "%s", x);
    free(x);
    free(y);
    free(z);
    x = report_bytes(tstore.st, KF_REPORT_JSON);
    y = report_bytes(ro, KF_REPORT_JSON);
    cr_assert_str_eq(x, y);
    free(x);
    free(y);
    kf_store_free(ro);
}

Test(store_sla, report_refuses_a_month_without_a_calendar)
{
    struct kf_report *rep = NULL;
    int64_t as_of = 0;
    char err[256] = "";

    cr_assert_eq(kf_view_sla_report(tstore.st, 2026, 3, 0, &rep, &as_of, err, sizeof(err)),
                 -ENOENT);
    cr_assert(strstr(err, "2026") != NULL, "%s", err);
}

Test(store_sla, calendar_directory_is_loaded_strictly_and_stored)
{
    struct kf_holidays *h = kf_holidays_new(), *again = kf_holidays_new();
    char err[256] = "", dir[128], path[192];
    FILE *f;

    cr_assert_eq(kf_store_sla_calendar_dir(tstore.st, h, KF_SOURCE_DIR "/fixtures/calendar", t0,
                                           err, sizeof(err)),
                 0, "%s", err);
    cr_assert(kf_holidays_covers(h, 2026));
    cr_assert_eq(q1("SELECT count(*) FROM sla_calendars WHERE year = 2026"), 1);
    /* what kioskctl and a recompute load: the stored text */
    cr_assert_eq(kf_store_sla_calendars_load(tstore.st, again, err, sizeof(err)), 0, "%s", err);
    cr_assert(kf_holidays_covers(again, 2026));
    cr_assert_eq(kf_holidays_kind(again, kf_local_day(t0)), kf_holidays_kind(h, kf_local_day(t0)));
    kf_holidays_free(again);
    kf_holidays_free(h);

    h = kf_holidays_new();
    cr_assert_eq(kf_store_sla_calendar_dir(tstore.st, h, "/nonexistent", t0, err, sizeof(err)),
                 -ENOENT);
    snprintf(dir, sizeof(dir), "%s/cal", tstore.dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/cn-2027.ini", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[calendar]\nyear = 2027\n[holidays]\n2027-02-30 = nope\n", f);
    fclose(f);
    cr_assert_eq(kf_store_sla_calendar_dir(tstore.st, h, dir, t0, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "cn-2027.ini:4") != NULL, "%s", err);
    cr_assert_eq(q1("SELECT count(*) FROM sla_calendars WHERE year = 2027"), 0);
    kf_holidays_free(h);
    unlink(path);
    rmdir(dir);
}

/* Bulk actions (kioskctl ack ID ID..., ack --outage): one transaction, all or none, the bad
 * incident named; at most KF_SLA_ACTIONS_BULK_MAX. */
Test(store_sla, bulk_actions_are_all_or_nothing)
{
    static struct kf_sla_action many[KF_SLA_ACTIONS_BULK_MAX + 1];
    static int64_t ids[KF_SLA_ACTIONS_BULK_MAX + 1];
    struct kf_inc_event evs[5];
    struct kf_incident inc[2];
    struct kf_sla_persist p = {0};
    size_t n, bad = 99;

    inc[0] = sample_incident(evs, &n);
    inc[1] = inc[0];
    inc[1].id = 8;
    p.incidents = inc;
    p.n_incidents = 2;
    cr_assert_eq(kf_store_sla_persist(tstore.st, &p, t0), 0, "%s", kf_store_errmsg(tstore.st));
    for (size_t i = 0; i < 3; i++) {
        many[i].incident = (int64_t)(7 + i); /* 7, 8, and 9 which does not exist */
        many[i].kind = KF_EV_ACK;
        many[i].requested_ms = t0;
        snprintf(many[i].who, sizeof(many[i].who), "wang");
    }
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, many, 3, ids, &bad), -ENOENT);
    cr_assert_eq(bad, 2);
    cr_assert_str_eq(kf_store_errmsg(tstore.st), "no incident 9");
    cr_assert_eq(q1("SELECT count(*) FROM sla_actions"), 0, "none of the three is queued");
    many[2].incident = 7;
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, many, 3, ids, &bad), -EINVAL);
    cr_assert_eq(bad, 2);
    cr_assert(strstr(kf_store_errmsg(tstore.st), "incident 7 is given twice"));
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, many, KF_SLA_ACTIONS_BULK_MAX + 1, ids, &bad),
                 -E2BIG);
    many[1].who[0] = '\0';
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, many, 2, ids, &bad), -EINVAL);
    cr_assert_eq(bad, 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_actions"), 0);
    snprintf(many[1].who, sizeof(many[1].who), "wang");
    many[1].kind = KF_EV_ASSIGN;
    snprintf(many[1].assignee, sizeof(many[1].assignee), "zhao");
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, many, 2, ids, &bad), 0);
    cr_assert_eq(q1("SELECT count(*) FROM sla_actions WHERE status = 'pending'"), 2);
    cr_assert_eq(q1("SELECT count(*) FROM sla_actions WHERE kind = 'assign' AND"
                    " assignee = 'zhao' AND incident = 8"),
                 1);
    cr_assert_eq(ids[1], ids[0] + 1);
}

/* Assigning (and reassigning, and clearing) through kioskd's service: recorded as events,
 * replayed from the sealed runs by verify, and the month's report is the same bytes before
 * and after (docs/SLA.md 5.2). */
Test(store_sla, assignment_replays_and_changes_no_figure)
{
    struct kf_record raise[] = {
        fault(t0 + MIN_MS, "SCR-TOUCH", KF_SEV_CRITICAL, 1, KF_PERIPH_SCREEN)};
    const char *who[] = {"wang", "wang", ""};
    const int want[] = {KF_SLA_ACTION_DONE, KF_SLA_ACTION_REFUSED, KF_SLA_ACTION_DONE};
    struct kf_view_sla_verify sv;
    struct kf_sla_action a, got;
    struct kf_incident inc;
    struct kf_slasvc *s;
    char *csv0, *json0, *csv1, *json1;
    int64_t id = 0, notices;

    put_calendar();
    s = service();
    hello(t0);
    records(1, t0 + MIN_MS, raise, 1);
    run(s, 0);
    cr_assert_eq(kf_store_sla_incident(tstore.st, 1, &inc), 0);
    csv0 = report_bytes(tstore.st, KF_REPORT_CSV);
    json0 = report_bytes(tstore.st, KF_REPORT_JSON);
    notices = q1("SELECT count(*) FROM sla_notices");
    for (int i = 0; i < 3; i++) {
        memset(&a, 0, sizeof(a));
        a.incident = 1;
        a.kind = KF_EV_ASSIGN;
        a.requested_ms = kf_now_ms();
        snprintf(a.who, sizeof(a.who), "dispatch-li");
        snprintf(a.assignee, sizeof(a.assignee), "%s", who[i]);
        if (i == 0)
            snprintf(a.text, sizeof(a.text), "nearest to the branch");
        cr_assert_eq(kf_store_sla_action_add(tstore.st, &a, &id), 0);
        run(s, 1);
        cr_assert_eq(kf_store_sla_action(tstore.st, id, &got), 0);
        cr_assert_eq(got.status, want[i], "assign %d: %s", i, got.result);
        cr_assert_eq(kf_store_sla_incident(tstore.st, 1, &inc), 0);
        cr_assert_str_eq(inc.assignee, i < 2 ? "wang" : "");
        cr_assert_eq(inc.state, KF_INC_OPENED, "assigning is not acknowledging");
        if (i == 1)
            cr_assert_str_eq(got.result, "refused: already assigned to wang");
    }
    cr_assert_eq(q1("SELECT count(*) FROM sla_events WHERE kind = 'assign'"), 2);
    cr_assert_eq(q1("SELECT count(*) FROM sla_events WHERE kind = 'assign' AND assignee = 'wang'"
                    " AND who = 'dispatch-li' AND text = 'nearest to the branch'"),
                 1);
    cr_assert_eq(q1("SELECT count(*) FROM sla_notices"), notices, "an assignment is not announced");
    csv1 = report_bytes(tstore.st, KF_REPORT_CSV);
    json1 = report_bytes(tstore.st, KF_REPORT_JSON);
    cr_assert_str_eq(csv0, csv1);
    cr_assert_str_eq(json0, json1);
    free(csv0);
    free(json0);
    free(csv1);
    free(json1);
    kf_slasvc_free(s);

    /* The assignments are sealed and replayed like any action; an edited assignee is found. */
    cr_assert(sla_verified(&sv), "%s", sv.first_problem);
    cr_assert(sv.replayed, "%s", sv.note);
    cr_assert_eq(sv.actions_checked, 3);
    tamper("UPDATE sla_incidents SET assignee = 'zhao' WHERE id = 1");
    cr_assert_not(sla_verified(&sv));
    cr_assert_eq(sv.incident_mismatches, 1);
    cr_assert(strstr(sv.first_problem, "assignee: stored \"zhao\", evidence \"\""), "%s",
              sv.first_problem);
    tamper("UPDATE sla_incidents SET assignee = NULL WHERE id = 1");
    cr_assert(sla_verified(&sv), "%s", sv.first_problem);
    tamper("UPDATE sla_actions SET assignee = 'zhao' WHERE kind = 'assign' AND assignee = 'wang'"
           " AND status = 'done'");
    cr_assert_not(sla_verified(&sv));
    cr_assert_eq(sv.action_mismatches, 1);
}

/* ---- Mass outages (docs/SLA.md 5.4): the queue's view over real incidents ---- */

static void presence_of(const char *dev, int online, int64_t at)
{
    struct frame f;

    frame_init(&f, online ? KF_MSG_HELLO : KF_MSG_STATE, online ? 1 : 0, at);
    snprintf(f.in.hdr.device_id, sizeof(f.in.hdr.device_id), "%s", dev);
    if (!online)
        f.in.body_json = "{\"state\":\"offline\"}";
    commit(&f);
}

static const char *cell(const struct kf_qtable *t, size_t row, const char *col)
{
    int c = kf_store_query_table_col(t, col);

    cr_assert_geq(c, 0, "no column %s", col);
    return kf_store_query_table_cell(t, row, (size_t)c);
}

static size_t queue_rows(const struct kf_view_outage_queue *v, int flat, const char *assignee,
                         int unassigned, struct kf_qtable **ret)
{
    struct kf_view_outage_filter f = {flat, assignee, unassigned};

    cr_assert_eq(kf_view_outage_queue_table(v, NULL, &f, ret), 0);
    return (*ret)->nrows;
}

Test(store_sla, a_branch_dropping_together_is_one_outage_acted_on_once)
{
    const char *devs[] = {"KF-XH-0001", "KF-XH-0002", "KF-XH-0003", "KF-XH-0004"};
    struct kf_view_outage_queue *v = NULL;
    struct kf_qreport *rep = NULL;
    struct kf_sla_action acts[3];
    struct kf_qtable *t = NULL;
    struct kf_incident inc;
    struct kf_slasvc *s;
    int64_t *kids = NULL, ids[3];
    size_t n_kids = 0;
    char err[256] = "", *csv0, *csv1, oid[24];

    /* Z-XH-001 has three terminals, Z-XH-002 one; four in the fleet. */
    reg("KF-XH-0002", "A-000002", KF_KIND_KIOSK, "Z-XH-001");
    reg("KF-XH-0003", "A-000003", KF_KIND_ITM, "Z-XH-001");
    reg("KF-XH-0004", "A-000004", KF_KIND_KIOSK, "Z-XH-002");
    put_calendar();
    s = service();
    for (int i = 0; i < 4; i++)
        presence_of(devs[i], 1, t0);
    /* The branch's three drop within a minute; the other zone's one ten minutes later. */
    presence_of(devs[1], 0, t0 + MIN_MS);
    presence_of(devs[0], 0, t0 + MIN_MS + 20000);
    presence_of(devs[2], 0, t0 + 2 * MIN_MS);
    presence_of(devs[3], 0, t0 + 12 * MIN_MS);
    run(s, 0);
    cr_assert_eq(q1("SELECT count(*) FROM sla_incidents WHERE cause = 'offline'"), 4);

    cr_assert_eq(kf_view_outage_queue(tstore.st, kf_now_ms(), &v, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(v->out->n, 1);
    cr_assert_eq(v->out->v[0].scope, KF_OUTAGE_ZONE);
    cr_assert_str_eq(v->out->v[0].key, "Z-XH-001");
    cr_assert_eq(v->out->v[0].n_children, 3);
    cr_assert_eq(v->out->v[0].n_terminals, 3);
    snprintf(oid, sizeof(oid), "%s", v->out->v[0].id);
    cr_assert_eq(strtoll(oid + 1, NULL, 10),
                 q1("SELECT id FROM sla_incidents WHERE asset_id = 'A-000002'"),
                 "the id is the earliest drop's incident's");
    /* Folded: one row for the branch, one for the other zone's terminal. */
    cr_assert_eq(queue_rows(v, 0, NULL, 0, &t), 2);
    for (size_t r = 0; r < 2; r++) {
        if (cell(t, r, "outage") == NULL) {
            cr_assert_str_eq(cell(t, r, "terminal"), "A-000004");
            continue;
        }
        cr_assert_str_eq(cell(t, r, "outage"), oid);
        cr_assert_str_eq(cell(t, r, "children"), "3");
        cr_assert_null(cell(t, r, "id"));
        cr_assert_str_eq(cell(t, r, "zone"), "Z-XH-001");
        cr_assert_str_eq(cell(t, r, "state"), "opened");
        cr_assert_not_null(cell(t, r, "response_left_s"));
    }
    kf_store_query_table_free(t);
    cr_assert_eq(queue_rows(v, 1, NULL, 0, &t), 4, "--flat: every incident");
    kf_store_query_table_free(t);
    cr_assert_eq(kf_view_outage_report(v, NULL, oid, &rep, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rep->n, 2);
    cr_assert_str_eq(cell(rep->tables[0], 0, "scope"), "zone");
    cr_assert_str_eq(cell(rep->tables[0], 0, "down"), "3");
    cr_assert_eq(rep->tables[1]->nrows, 3);
    cr_assert_str_eq(cell(rep->tables[1], 0, "terminal"), "A-000002");
    kf_store_query_report_free(rep);
    cr_assert_eq(kf_view_outage_report(v, NULL, "Z999", &rep, err, sizeof(err)), -ENOENT);

    /* ack --outage: one action per child, in one transaction, applied in one run. */
    cr_assert_eq(kf_view_outage_children(v, oid, &kids, &n_kids), 0);
    cr_assert_eq(n_kids, 3);
    kf_view_outage_queue_free(v);
    memset(acts, 0, sizeof(acts));
    for (size_t i = 0; i < 3; i++) {
        acts[i].incident = kids[i];
        acts[i].kind = KF_EV_ACK;
        acts[i].requested_ms = kf_now_ms();
        snprintf(acts[i].who, sizeof(acts[i].who), "wang");
    }
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, acts, 3, ids, NULL), 0);
    run(s, 1);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(kf_store_sla_incident(tstore.st, kids[i], &inc), 0);
        cr_assert_eq(inc.state, KF_INC_ACKED);
    }
    /* assign --outage, then the filters; March's figures do not move. */
    csv0 = report_bytes(tstore.st, KF_REPORT_CSV);
    for (size_t i = 0; i < 3; i++) {
        acts[i].kind = KF_EV_ASSIGN;
        snprintf(acts[i].assignee, sizeof(acts[i].assignee), "zhao");
    }
    cr_assert_eq(kf_store_sla_actions_add(tstore.st, acts, 3, ids, NULL), 0);
    run(s, 1);
    free(kids);
    csv1 = report_bytes(tstore.st, KF_REPORT_CSV);
    cr_assert_str_eq(csv0, csv1);
    free(csv0);
    free(csv1);
    cr_assert_eq(kf_view_outage_queue(tstore.st, kf_now_ms(), &v, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(queue_rows(v, 0, "zhao", 0, &t), 1);
    cr_assert_str_eq(cell(t, 0, "assignee"), "zhao");
    cr_assert_str_eq(cell(t, 0, "state"), "acknowledged");
    kf_store_query_table_free(t);
    cr_assert_eq(queue_rows(v, 0, NULL, 1, &t), 1, "--unassigned");
    cr_assert_str_eq(cell(t, 0, "terminal"), "A-000004");
    kf_store_query_table_free(t);
    cr_assert_eq(queue_rows(v, 1, "zhao", 0, &t), 3);
    cr_assert_str_eq(cell(t, 2, "outage"), oid);
    kf_store_query_table_free(t);
    kf_view_outage_queue_free(v);

    /* Two come back: the outage holds them (by drop), two of three no longer down. */
    presence_of(devs[0], 1, t0 + 30 * MIN_MS);
    presence_of(devs[1], 1, t0 + 30 * MIN_MS);
    run(s, 1);
    cr_assert_eq(kf_view_outage_queue(tstore.st, kf_now_ms(), &v, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(v->out->n, 1);
    cr_assert_str_eq(v->out->v[0].id, oid);
    cr_assert_eq(v->out->v[0].n_down, 1);
    kf_view_outage_queue_free(v);
    kf_slasvc_free(s);
}
