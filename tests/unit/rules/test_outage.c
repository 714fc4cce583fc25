/* test_outage.c: mass outages grouped from offline incidents (rules/outage.h, docs/SLA.md
 * 5.4), as the worked cases of the doc: a branch's network, two branches of a district a few
 * minutes apart, a terminal that came back, the whole fleet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rules/outage.h"

#define MIN (60 * 1000LL)
#define T0 1773108000000LL /* any instant */

/* The fleet: unit XH has zones Z1 (4 terminals) and Z2 (3); unit WG has Z3 (2) and Z4 (1);
 * Z5 (3) is in no unit. 13 terminals. */
static const struct kf_outage_term fleet[] = {
    {"A11", "Z1", "XH"}, {"A12", "Z1", "XH"}, {"A13", "Z1", "XH"}, {"A14", "Z1", "XH"},
    {"A21", "Z2", "XH"}, {"A22", "Z2", "XH"}, {"A23", "Z2", "XH"}, {"A31", "Z3", "WG"},
    {"A32", "Z3", "WG"}, {"A41", "Z4", "WG"}, {"A51", "Z5", NULL}, {"A52", "Z5", NULL},
    {"A53", "Z5", NULL},
};
#define N_FLEET (sizeof(fleet) / sizeof(fleet[0]))

static struct kf_outage_inc inc(int64_t id, const char *term, int64_t since)
{
    return (struct kf_outage_inc){id, term, since, 1, 0, 0};
}

static struct kf_outages *group(const struct kf_outage_inc *incs, size_t n)
{
    struct kf_outage_config cfg;
    struct kf_outages *o = NULL;

    kf_outage_config_defaults(&cfg);
    cr_assert_eq(kf_outage_group(&cfg, fleet, N_FLEET, incs, n, &o), 0);
    return o;
}

static void expect_children(const struct kf_outages *o, const struct kf_outage_inc *incs,
                            const char *id, const int64_t *ids, size_t n)
{
    const struct kf_outage *x = kf_outage_find(o, id);

    cr_assert_not_null(x, "no outage %s", id);
    cr_assert_eq(x->n_children, n, "%s: %zu children", id, x->n_children);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(incs[x->children[i]].id, ids[i], "%s child %zu", id, i);
}

Test(outage, a_branch_network_is_one_zone_outage)
{
    /* Three of Z1's four drop within two minutes; its fourth drops half an hour later; one
     * terminal of Z2 drops with them (alone in its zone: no outage of Z2). */
    struct kf_outage_inc in[] = {
        inc(41, "A12", T0 + 1 * MIN),  inc(40, "A11", T0),       inc(42, "A13", T0 + 2 * MIN),
        inc(43, "A14", T0 + 30 * MIN), inc(44, "A21", T0 + MIN),
    };
    struct kf_outages *o = group(in, 5);
    const int64_t kids[] = {40, 41, 42};
    const struct kf_outage *z;

    cr_assert_eq(o->n, 1);
    expect_children(o, in, "Z40", kids, 3);
    z = &o->v[0];
    cr_assert_eq(z->scope, KF_OUTAGE_ZONE);
    cr_assert_str_eq(z->key, "Z1");
    cr_assert_eq(z->n_terminals, 4);
    cr_assert_eq(z->n_down, 3);
    cr_assert_eq(z->n_zones, 1);
    cr_assert_eq(z->first_ms, T0);
    cr_assert_eq(z->last_ms, T0 + 2 * MIN);
    cr_assert_eq(o->of[0], 0);
    cr_assert_eq(o->of[3], KF_OUTAGE_NONE);
    cr_assert_eq(o->of[4], KF_OUTAGE_NONE);
    cr_assert_not_null(kf_outage_find(o, "z40"));
    cr_assert_null(kf_outage_find(o, "Z41"));
    kf_outages_free(o);
}

Test(outage, two_zones_of_a_unit_six_minutes_apart_stay_apart)
{
    struct kf_outage_inc in[] = {
        inc(1, "A11", T0),           inc(2, "A12", T0 + 30000),   inc(3, "A13", T0 + 60000),
        inc(4, "A21", T0 + 6 * MIN), inc(5, "A22", T0 + 6 * MIN), inc(6, "A23", T0 + 7 * MIN),
    };
    struct kf_outages *o = group(in, 6);

    cr_assert_eq(o->n, 2);
    cr_assert_str_eq(o->v[0].id, "Z1");
    cr_assert_str_eq(o->v[1].id, "Z4");
    cr_assert_str_eq(o->v[1].key, "Z2");
    kf_outages_free(o);

    /* Three minutes apart: one outage of the unit, replacing both. */
    in[3].since_ms = in[4].since_ms = T0 + 3 * MIN;
    in[5].since_ms = T0 + 4 * MIN;
    o = group(in, 6);
    const int64_t kids[] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(o->n, 1);
    expect_children(o, in, "U1", kids, 6);
    cr_assert_eq(o->v[0].scope, KF_OUTAGE_UNIT);
    cr_assert_str_eq(o->v[0].key, "XH");
    cr_assert_eq(o->v[0].n_zones, 2);
    cr_assert_eq(o->v[0].n_terminals, 7);
    kf_outages_free(o);
}

Test(outage, small_zones_and_lone_terminals)
{
    /* Z3 has two terminals: both down is all of it, an outage. Z4's only terminal is one
     * incident, never an outage; nor is one terminal of Z5. Z3 alone does not make WG's
     * unit outage (one zone outage). */
    struct kf_outage_inc in[] = {
        inc(7, "A31", T0),
        inc(8, "A32", T0 + MIN),
        inc(9, "A41", T0),
        inc(10, "A51", T0 + MIN),
    };
    struct kf_outages *o = group(in, 4);
    const int64_t kids[] = {7, 8};

    cr_assert_eq(o->n, 1);
    expect_children(o, in, "Z7", kids, 2);
    cr_assert_eq(o->v[0].n_terminals, 2);
    kf_outages_free(o);
    o = group(in + 2, 2);
    cr_assert_eq(o->n, 0);
    kf_outages_free(o);
}

Test(outage, a_terminal_that_came_back_stays_a_child)
{
    struct kf_outage_inc in[] = {
        inc(20, "A11", T0),
        inc(21, "A12", T0 + MIN),
        inc(22, "A13", T0 + 2 * MIN),
    };
    struct kf_outages *o;

    in[0].down = 0; /* back online, resolved, awaiting close */
    o = group(in, 3);
    cr_assert_eq(o->n, 1);
    cr_assert_str_eq(o->v[0].id, "Z20");
    cr_assert_eq(o->v[0].n_children, 3);
    cr_assert_eq(o->v[0].n_down, 2);
    kf_outages_free(o);
    /* Closed, it still anchors the outage while the others are open: the id holds. */
    in[0].closed = 1;
    o = group(in, 3);
    cr_assert_eq(o->n, 1);
    cr_assert_str_eq(o->v[0].id, "Z20");
    cr_assert_eq(o->v[0].n_open, 2);
    kf_outages_free(o);
    /* Every child closed: over, not listed. */
    in[1].closed = in[2].closed = 1;
    in[1].down = in[2].down = 0;
    o = group(in, 3);
    cr_assert_eq(o->n, 0);
    kf_outages_free(o);
}

Test(outage, the_fleet_dropping_together)
{
    /* 8 of 13 terminals in four zones within 3 minutes: the broker, one fleet outage that
     * takes the zone outages' children too. A drop an hour later is not part of it. */
    const char *terms[] = {"A11", "A12", "A13", "A21", "A22", "A31", "A51", "A52"};
    struct kf_outage_inc in[9];
    struct kf_outages *o;

    for (int i = 0; i < 8; i++)
        in[i] = inc(100 + i, terms[i], T0 + (i % 4) * MIN);
    in[8] = inc(200, "A14", T0 + 60 * MIN);
    o = group(in, 9);
    cr_assert_eq(o->n, 1);
    cr_assert_str_eq(o->v[0].id, "F100");
    cr_assert_eq(o->v[0].scope, KF_OUTAGE_FLEET);
    cr_assert_null(o->v[0].key);
    cr_assert_eq(o->v[0].n_children, 8);
    cr_assert_eq(o->v[0].n_zones, 4);
    cr_assert_eq(o->v[0].n_terminals, N_FLEET);
    cr_assert_eq(o->of[8], KF_OUTAGE_NONE);
    kf_outages_free(o);
    /* Without A11 and A12, six of thirteen is under half, and no zone lost three (or all) of
     * its terminals: seven incidents as they are. */
    o = group(in + 2, 7);
    cr_assert_eq(o->n, 0);
    kf_outages_free(o);
}

Test(outage, a_window_that_does_not_qualify_slides)
{
    /* A lone drop at 0, then three at 5:30, 6:00 and 7:00: the window from 0 holds one, the
     * one from 5:30 holds three. The lone drop stays an incident of its own. */
    struct kf_outage_inc in[] = {
        inc(1, "A11", T0),
        inc(2, "A12", T0 + 5 * MIN + 30000),
        inc(3, "A13", T0 + 6 * MIN),
        inc(4, "A14", T0 + 7 * MIN),
    };
    struct kf_outages *o = group(in, 4);
    const int64_t kids[] = {2, 3, 4};

    cr_assert_eq(o->n, 1);
    expect_children(o, in, "Z2", kids, 3);
    cr_assert_eq(o->of[0], KF_OUTAGE_NONE);
    kf_outages_free(o);
}

Test(outage, deterministic_and_careful_with_its_inputs)
{
    struct kf_outage_inc in[] = {
        inc(5, "A13", T0 + 2 * MIN), inc(4, "A12", T0 + MIN), inc(3, "A11", T0),
        inc(6, "A99", T0),           inc(7, "A14", T0),
    };
    struct kf_outage_config cfg;
    struct kf_outages *o = NULL;

    /* An unknown terminal and a history incident are never children; input order does not
     * matter (the same drops, the same ids). */
    in[4].history = 1;
    o = group(in, 5);
    cr_assert_eq(o->n, 1);
    cr_assert_str_eq(o->v[0].id, "Z3");
    cr_assert_eq(o->v[0].n_children, 3);
    cr_assert_eq(o->of[3], KF_OUTAGE_NONE);
    cr_assert_eq(o->of[4], KF_OUTAGE_NONE);
    kf_outages_free(o);
    /* Equal drops: the lowest id anchors. */
    in[0].since_ms = in[1].since_ms = T0;
    o = group(in, 3);
    cr_assert_str_eq(o->v[0].id, "Z3");
    kf_outages_free(o);
    o = group(NULL, 0);
    cr_assert_eq(o->n, 0);
    kf_outages_free(o);
    kf_outages_free(NULL);
    kf_outage_config_defaults(&cfg);
    cfg.zone_min = 1;
    cr_assert_eq(kf_outage_group(&cfg, fleet, N_FLEET, in, 3, &o), -EINVAL);
    kf_outage_config_defaults(&cfg);
    cfg.window_ms = 0;
    cr_assert_eq(kf_outage_group(&cfg, fleet, N_FLEET, in, 3, &o), -EINVAL);
    cr_assert_str_eq(kf_outage_scope_name(KF_OUTAGE_UNIT), "unit");
    cr_assert_null(kf_outage_scope_name(0));
}
