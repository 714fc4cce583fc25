/* web/web.h: kiosk-web, the HTTP process (docs/WEB.md): h2o over libuv on one loop thread,
 * store work on the libuv thread pool, one route table that says who may call what.
 *
 * Threads. The loop thread owns the server: sessions, rate limits, counters, the h2o
 * context. A request that needs the store becomes a struct kf_web_call, run by
 * uv_queue_work on a pool thread (kf_web_call_run: identity, role, a scoped read-only
 * connection, the route's handler) and answered from the after-work callback on the loop.
 * A handler runs on a pool thread and touches only its call and the store it is given.
 */
#ifndef KF_WEB_WEB_H
#define KF_WEB_WEB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <kf/passwd.h>

#include "store/query.h"
#include "store/store.h"
#include "store/users.h"

/* ---- Configuration (web/config.c) -------------------------------------------------------- */

#define KF_WEB_PATH_MAX 1024

struct kf_web_config {
    char listen[128]; /* host:port; "[v6]:port" */
    char tls_cert[KF_WEB_PATH_MAX], tls_key[KF_WEB_PATH_MAX];
    char store[KF_WEB_PATH_MAX];
    char console_dir[KF_WEB_PATH_MAX];
    char server_key[KF_WEB_PATH_MAX];
    char access_log[KF_WEB_PATH_MAX];
    char kioskd_metrics[KF_WEB_PATH_MAX];
    char coverage_targets[KF_WEB_PATH_MAX];
    uint32_t body_max;             /* bytes of a request body */
    uint32_t request_ms;           /* a request's answer is due within this */
    uint32_t jobs_max;             /* calls waiting for or on the thread pool */
    uint32_t pool_max;             /* read-only connections kept open */
    uint32_t pw_max;               /* password checks at once (64 MiB each) */
    uint32_t sessions_max;         /* sessions in memory */
    uint32_t sse_max;              /* event streams */
    uint32_t answer_max_age_ms;    /* a kept answer of a live view is served this long; 0 off */
    uint32_t answer_cache_entries; /* answers kept at most */
    uint32_t answer_cache_kb;      /* KiB of answers kept at most */
    uint32_t idle_s;               /* a session unused this long ends */
    uint32_t absolute_s;           /* a session ends this long after its login, used or not */
    uint32_t login_fail_max;       /* failed logins per user name in login_window_s */
    uint32_t addr_fail_max;        /* failed logins per client address in login_window_s */
    uint32_t login_window_s;
    int log_level;
};

/* Load path into cfg (written only on success). 0 or -errno with "file:line: why" in err. */
int kf_web_config_load(const char *path, struct kf_web_config *cfg, char *err, size_t cap);
int kf_web_config_load_string(const char *text, const char *name, struct kf_web_config *cfg,
                              char *err, size_t cap);

/* ---- Roles and routes (web/routes.c) ----------------------------------------------------- */

#define KF_WEB_R_PUBLIC 0x01u /* anyone, logged in or not */
#define KF_WEB_R_OPERATOR 0x02u
#define KF_WEB_R_TECHNICIAN 0x04u
#define KF_WEB_R_BANK 0x08u
#define KF_WEB_R_BUREAU 0x10u
#define KF_WEB_R_ANY_USER 0x1eu

/* Route flags. */
#define KF_WEB_F_LIST 0x01u    /* the handler's table is paged and filtered by column */
#define KF_WEB_F_NOSTORE 0x02u /* answered on the loop, no store, no identity */
#define KF_WEB_F_LOGIN 0x04u   /* POST /api/v1/session: a password check */
#define KF_WEB_F_WRITE 0x08u   /* changes something: unsafe method, CSRF under a cookie */
#define KF_WEB_F_STATIC 0x10u  /* the console's files */
#define KF_WEB_F_SSE 0x20u     /* an event stream */
#define KF_WEB_F_CACHE 0x40u   /* a live view: its GET answers are kept (web/cache.h) */

struct kf_web_body;
struct kf_web_call;
struct kf_web_server;
typedef void (*kf_web_handler_fn)(struct kf_web_call *call, struct kf_store *st);

/* An answer over a settled period (docs/WEB.md "The answer cache"): the local days it
 * covers, what it reads outside the store (a digest, 0 for nothing) and the store's stamp of
 * those days (store/period.h). The answer cache keeps such an answer past its max age for as
 * long as all of it is unchanged. */
struct kf_web_period {
    int32_t from_day, to_day;
    uint64_t extra;
    int64_t stamp;
};
/* The days (and extra) of c's answer, from c's parameters; pool thread. 0, or -1: the call
 * asks for no settled period (bad or missing parameters: the handler answers them). */
typedef int (*kf_web_period_fn)(const struct kf_web_call *call, struct kf_web_period *ret);

#define KF_WEB_FILTERS_MAX 8

struct kf_web_route {
    const char *method;
    const char *pattern; /* "/api/v1/terminals/{asset}": a {name} matches one segment */
    unsigned roles;      /* KF_WEB_R_* */
    unsigned flags;      /* KF_WEB_F_* */
    const char *params;  /* the query parameters it takes, ","-separated; NULL none */
    kf_web_handler_fn fn;
    const char *summary;
};

extern const struct kf_web_route kf_web_routes[];
extern const size_t kf_web_nroutes;

/* The route for method and path (decoded, no query), its {} values in args (at most 2 of
 * cap bytes). NULL with *ret_path_known set when the path matches another method's. */
const struct kf_web_route *kf_web_route_find(const char *method, const char *path,
                                             char args[2][256], int *ret_path_known);
/* The settled period of a KF_WEB_F_CACHE route's answers; NULL: its answers are live. */
kf_web_period_fn kf_web_route_period(const struct kf_web_route *r);
/* The role bit of a scope (KF_WEB_R_PUBLIC for no user). */
unsigned kf_web_role_bit(const struct kf_scope *s);
/* The route table as JSON (kiosk-web --routes): what the OpenAPI test compares. */
json_t *kf_web_routes_json(void);

/* ---- Connections (web/pool.c) ------------------------------------------------------------ */

struct kf_web_pool;
/* A pool of at most max read-only connections to path, keyed by scope; any thread. */
int kf_web_pool_new(const char *path, uint32_t max, struct kf_web_pool **ret);
void kf_web_pool_free(struct kf_web_pool *p);
/* A connection scoped to s (NULL: unscoped, for identity checks). Owned until put. */
int kf_web_pool_get(struct kf_web_pool *p, const struct kf_scope *s, struct kf_store **ret);
/* Give st back; broken: close it instead (an error that may have left it unusable). */
void kf_web_pool_put(struct kf_web_pool *p, struct kf_store *st, int broken);
/* The one writer connection (actions, disputes), locked until kf_web_pool_writer_put. */
int kf_web_pool_writer_get(struct kf_web_pool *p, struct kf_store **ret);
void kf_web_pool_writer_put(struct kf_web_pool *p);

/* ---- A call: one request's work off the loop (web/call.c) -------------------------------- */

#define KF_WEB_PARAMS_MAX 16

struct kf_web_param {
    char *name, *value; /* decoded, owned */
};

enum kf_web_auth {
    KF_WEB_AUTH_NONE = 0,
    KF_WEB_AUTH_SESSION,
    KF_WEB_AUTH_TOKEN,
};

struct kf_web_call {
    /* In: set on the loop before the work. */
    struct kf_web_server *srv;
    const struct kf_web_route *route;
    char method[8];
    char path[KF_WEB_PATH_MAX]; /* decoded, no query */
    char args[2][256];          /* the pattern's {} values */
    struct kf_web_param params[KF_WEB_PARAMS_MAX];
    size_t nparams;
    char *body; /* owned, NUL-terminated; NULL without a body */
    size_t body_len;
    int auth; /* enum kf_web_auth */
    char user[KF_USER_NAME_MAX + 1];
    struct kf_scope scope;
    char token[KF_TOKEN_TEXT_MAX + 1];
    char csrf[65]; /* the session's CSRF token (loop only) */
    char peer[64];
    int64_t now_ms;
    /* Out: set by the work. */
    int status;
    char *out; /* owned */
    size_t out_len;
    struct kf_web_body *kept; /* instead of out: a kept answer's bytes, shared (web/body.h) */
    const char *ctype;
    char disposition[200];
    int cache_immutable;  /* static files: a content-hashed name */
    int cache_revalidate; /* static files: index.html */
    int drop_session;     /* the user is disabled or changed: end the session */
    int login_ok;         /* POST /api/v1/session succeeded: user, scope, display */
    int login_failed;     /* a failed login, to count */
    char display[KF_USER_DISPLAY_MAX + 1];
    int retry_after; /* seconds, for 429 and 503 */
    int period_ok;   /* period holds the answer's settled period and its stamp, read before
                        the handler ran (web/call.c) */
    struct kf_web_period period;
    /* The loop's own. */
    uv_work_t work;
    uv_timer_t timer;
    struct kf_web_req_guard *guard;
    void *req; /* h2o_req_t *, NULL once the client left */
    uint64_t started_us;
    int answered, timer_on;
    unsigned route_ix;
    size_t list_total;
};

/* The value of query parameter name, or NULL. */
const char *kf_web_param(const struct kf_web_call *c, const char *name);
/* Answers, from a handler (pool thread). Each takes what it is given. */
void kf_web_reply_json(struct kf_web_call *c, int status, json_t *j);
void kf_web_reply_raw(struct kf_web_call *c, int status, const char *ctype, char *buf, size_t len);
/* RFC 9457 problem details: {"type","title","status","detail"}. */
void kf_web_problem(struct kf_web_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A table answer: a list route pages and filters it (limit, offset, and a parameter named
 * like a column keeps the rows whose cell equals it; q keeps rows with the text in any
 * text cell); otherwise its rows. Takes t; NULL answers 500. */
void kf_web_reply_table(struct kf_web_call *c, struct kf_qtable *t);
/* The rows of t whose column col holds value (value NULL: any value, not none), as a new
 * table named name (NULL: t's). Takes t; NULL when out of memory. */
struct kf_qtable *kf__web_table_where(struct kf_qtable *t, const char *name, const char *col,
                                      const char *value);
/* A list route's limit and offset as kf_web_reply_table reads them; -EINVAL when malformed
 * (kf_web_reply_table then answers the 400). */
int kf__web_page_params(const struct kf_web_call *c, long *limit, long *offset);
/* A page already cut (t holds its rows, after the filters): what kf_web_reply_table would
 * answer for the whole table, given the rows the filters kept (total). Takes t. */
void kf__web_reply_page(struct kf_web_call *c, struct kf_qtable *t, size_t total, long limit,
                        long offset);
/* A report answer: {"<table>": rows, ...}, record tables as one object. Takes rep. */
void kf_web_reply_report(struct kf_web_call *c, struct kf_qreport *rep);
/* A store error as a problem: -ENOENT 404, -EINVAL 400, else 500 (logged). */
void kf_web_reply_store_err(struct kf_web_call *c, struct kf_store *st, int r, const char *what);
/* Run a call's work (pool thread): identity, role, scoped store, handler. */
void kf_web_call_run(struct kf_web_call *c);
void kf_web_call_free(struct kf_web_call *c);

/* ---- Handlers (web/api_*.c, web/static.c) ------------------------------------------------ */

void kf_web_api_login(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_command_logs(struct kf_web_call *c, struct kf_store *st); /* web/api_logs.c */
void kf_web_api_session(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_fleet(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_terminal(struct kf_web_call *c, struct kf_store *st);
/* web/api_cmd.c: commands, rollouts, inventory (issue 18). */
void kf_web_api_commands(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_command(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_command_post(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_command_request(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_rollouts(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_rollout(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_rollout_halt(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_rollout_resume(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_inventory(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_artifacts(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_terminal_timeline(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_incidents(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_incident(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_incident_action(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_incidents_action(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_outages(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_outage(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_outage_action(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_zones(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_public_zones(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_sla(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_usage(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_bills(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_bill(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_bill_dispute(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_disputes(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_weeks(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_week(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_assessments(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_assessment(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_coverage(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_watchlist(struct kf_web_call *c, struct kf_store *st);
/* The settled periods of the answers over one (kf_web_period_fn). */
int kf_web_period_usage(const struct kf_web_call *c, struct kf_web_period *ret);
int kf_web_period_sla(const struct kf_web_call *c, struct kf_web_period *ret);
int kf_web_period_coverage(const struct kf_web_call *c, struct kf_web_period *ret);
void kf_web_api_users(struct kf_web_call *c, struct kf_store *st);
void kf_web_api_fleet_metrics(struct kf_web_call *c, struct kf_store *st);
void kf_web_static(struct kf_web_call *c, struct kf_store *st);

/* Shared by the handlers (web/api_fleet.c, web/api_queue.c). The names of the codes (a 500
 * answered when they cannot be read); a positive id; the queue's table as kioskctl
 * incidents prints it (views/outage.h; a 500 answered on failure). */
struct kf_view_names;
struct kf_view_outage_filter;
int kf__web_load_names(struct kf_web_call *c, struct kf_store *st, struct kf_view_names **ret);
int kf__web_parse_id(const char *s, int64_t *ret);
int kf__web_queue_table(struct kf_web_call *c, struct kf_store *st,
                        const struct kf_view_names *names, const struct kf_view_outage_filter *f,
                        struct kf_qtable **ret);

/* ---- The server (web/server.c) ----------------------------------------------------------- */

struct kf_web_server *kf_web_server_new(const struct kf_web_config *cfg, uv_loop_t *loop, char *err,
                                        size_t cap);
int kf_web_server_start(struct kf_web_server *s, char *err, size_t cap);
/* Close every handle; the loop then ends. */
void kf_web_server_stop(struct kf_web_server *s);
void kf_web_server_free(struct kf_web_server *s);
/* Borrowed by calls (read on pool threads; set before the loop runs, never changed). */
const struct kf_web_config *kf_web_server_config(const struct kf_web_server *s);
/* The answer cache (web/cache.h), NULL when off. Any thread. */
struct kf_web_cache *kf_web_server_cache(struct kf_web_server *s);
struct kf_web_files *kf_web_server_files(struct kf_web_server *s);
struct kf_web_pool *kf_web_server_pool(struct kf_web_server *s);
const uint8_t *kf_web_server_sk(const struct kf_web_server *s); /* NULL without a key */
const char *kf_web_server_dummy_hash(const struct kf_web_server *s);
/* The flag kf_web_server_stop sets (main's loop watches it). */
int *kf_web_server_stopping_flag(struct kf_web_server *s);

#endif
