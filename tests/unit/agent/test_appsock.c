/* test_appsock.c: the app socket over a real Unix socket on a temp path. */
#include <criterion/criterion.h>
#include "kf_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "core/appsock.h"
#include "core/outbox.h"

static char dir[64], sock_path[96], db_path[96];

struct fixture {
    uv_loop_t loop;
    struct kf_outbox *ob;
    struct kf_appsock *app;
};

static struct kf_inventory last_inv;

/* What the agent does (kf_agent_submit_app), on the outbox alone. */
static int submit_cb(void *ud, const struct kf_appsock_req *req, uint64_t *ret_seq, int *ret_taken)
{
    struct kf_outbox *ob = ud;
    const struct kf_record *rec = &req->rec;
    char json[KF_RECORD_JSON_MAX + 1];
    struct kf_outbox_app app;
    size_t len;
    int rc;

    if (req->is_inv) { /* the agent keeps it in memory (kf_agent_inventory_app) */
        last_inv = req->inv;
        return 0;
    }
    rc = kf_record_format(rec, json, sizeof(json), &len);
    if (rc < 0)
        return rc;
    if (rec->app_id[0] == '\0') {
        *ret_taken = KF_OUTBOX_APP_NEW;
        return kf_outbox_append(ob, rec->type, rec->ts_ms, json, len, ret_seq);
    }
    const struct kf_outbox_rec orec = {
        .type = rec->type, .ts_ms = rec->ts_ms, .json = json, .json_len = len};
    cr_assert_eq(kf_outbox_app_digest(rec, req->ts_given, app.digest), 0);
    app.id = rec->app_id;
    app.now_ms = 1767254395000;
    return kf_outbox_append_app(ob, &orec, &app, ret_seq, ret_taken);
}

static void setup(struct fixture *f, uint64_t max_records)
{
    struct kf_outbox_limits lim = {
        .max_records = max_records, .max_bytes = 1 << 20, .max_health = 10};
    kf_test_tmpdir("kf-test-appsock", dir, sizeof(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/app.sock", dir);
    snprintf(db_path, sizeof(db_path), "%s/outbox.db", dir);
    cr_assert_eq(uv_loop_init(&f->loop), 0);
    cr_assert_eq(kf_outbox_open(db_path, &lim, &f->ob), 0);
    cr_assert_eq(kf_appsock_new(&f->loop, sock_path, 256, submit_cb, f->ob, &f->app), 0);
}

static void teardown(struct fixture *f)
{
    kf_appsock_close(f->app, NULL, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&f->loop), 0);
    kf_outbox_free(f->ob);
    cr_assert_neq(access(sock_path, F_OK), 0, "socket file left behind");
    kf_test_rmtree(dir);
}

static int client_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Send text, then run the loop until one reply line arrives (or the peer closes).
 * Returns the reply without its newline ("" on close). */
static void request(struct fixture *f, int fd, const char *text, char *reply, size_t cap)
{
    size_t len = 0;
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    reply[0] = '\0';
    for (int i = 0; i < 2000; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, reply + len, cap - 1 - len, MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0) {
            len += (size_t)n;
            reply[len] = '\0';
            char *nl = strchr(reply, '\n');
            if (nl) {
                *nl = '\0';
                return;
            }
        }
        usleep(1000);
    }
}

/* Run the loop until the socket has accepted n connections (at most 2 s). */
static void accepted(struct fixture *f, uint64_t n)
{
    struct kf_appsock_stats st;
    for (int i = 0; i < 2000; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        kf_appsock_stats(f->app, &st);
        if (st.accepted >= n)
            return;
        usleep(1000);
    }
    cr_assert_fail("the socket accepted %llu connections, not %llu",
                   (unsigned long long)st.accepted, (unsigned long long)n);
}

static int peer_closed(struct fixture *f, int fd)
{
    char b[64];
    for (int i = 0; i < 2000; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
        if (n == 0)
            return 1;
        usleep(1000);
    }
    return 0;
}

Test(appsock, valid_txn_gets_ok_and_seq)
{
    struct fixture f;
    struct kf_outbox_stats st;
    char reply[256];

    setup(&f, 100);
    int fd = client_connect();
    request(&f, fd,
            "{\"t\":\"txn\",\"ts\":1700000000000,\"item\":\"SB-003\",\"outcome\":\"ok\","
            "\"dur_ms\":93000}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    /* ts is optional */
    request(&f, fd, "{\"t\":\"periph\",\"dev\":\"a4_printer\",\"state\":\"paper_low\"}\r\n", reply,
            sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":2}");
    cr_assert_eq(kf_outbox_stats(f.ob, &st), 0);
    cr_assert_eq(st.records, 2);
    close(fd);
    teardown(&f);
}

Test(appsock, bad_lines_get_errors_and_the_socket_keeps_serving)
{
    struct fixture f;
    char reply[256];

    setup(&f, 100);
    int fd = client_connect();
    request(&f, fd, "{not json\n", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_json\"}");
    request(&f, fd, "{\"t\":\"txn\",\"item\":\"bad code!\"}\n", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_record\",\"field\":\"outcome\","
                            "\"why\":\"missing\"}");
    request(&f, fd, "{\"t\":\"txn\",\"item\":\"HF-001\",\"outcome\":\"ok\",\"dur_ms\":90000000}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_record\",\"field\":\"dur_ms\","
                            "\"why\":\"out of range 0..86400000\"}");
    request(&f, fd, "[1]\n", reply, sizeof(reply));
    cr_assert_str_eq(reply,
                     "{\"ok\":false,\"error\":\"bad_record\",\"why\":\"not a JSON object\"}");
    request(&f, fd, "{\"t\":\"health\",\"ts\":1}\n", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"type_not_allowed\"}");
    request(&f, fd,
            "{\"t\":\"fault\",\"code\":\"PRN-JAM\",\"sev\":\"major\",\"action\":\"raise\"}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    close(fd);
    teardown(&f);
}

/* The application's inventory: not a record (no seq, nothing in the outbox), refused with
 * the key and the rule when out of bounds. */
Test(appsock, inventory_lines)
{
    struct fixture f;
    struct kf_outbox_stats os;
    char reply[256];

    setup(&f, 100);
    int fd = client_connect();
    request(&f, fd,
            "{\"t\":\"inventory\",\"app\":\"gov-kiosk\",\"app_version\":\"2.5.0\",\"os\":\"x\","
            "\"periph\":[{\"name\":\"receipt_printer\",\"model\":\"EPSON TM-T88VI\"}]}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true}");
    cr_assert_str_eq(last_inv.app_version, "2.5.0");
    cr_assert_str_eq(last_inv.os, "", "host keys are the agent's, not the app's");
    cr_assert_eq(last_inv.nperiph, 1);
    cr_assert_str_eq(last_inv.periph[0].model, "EPSON TM-T88VI");
    request(&f, fd, "{\"t\":\"inventory\",\"periph\":[{\"model\":\"x\"}]}\n", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_inventory\",\"why\":"
                            "\"periph[0].name: missing\"}");
    request(&f, fd, "{\"t\":\"inventory\",\"app_version\":7}\n", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_inventory\",\"why\":"
                            "\"app_version: not a string\"}");
    cr_assert_eq(kf_outbox_stats(f.ob, &os), 0);
    cr_assert_eq(os.records, 0);
    request(&f, fd, "{\"t\":\"txn\",\"item\":\"HF-001\",\"outcome\":\"ok\",\"dur_ms\":1}\n", reply,
            sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}", "the socket keeps serving");
    close(fd);
    teardown(&f);
}

/* A technician at the terminal: maintenance mode on and off, stored like any other record. */
Test(appsock, maintenance_mode_lines)
{
    struct fixture f;
    struct kf_outbox_stats st;
    char reply[256];

    setup(&f, 100);
    int fd = client_connect();
    request(&f, fd, "{\"t\":\"maint\",\"state\":\"on\",\"tech\":\"T-0042\"}\n", reply,
            sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    /* entering without saying who is refused; leaving without it is fine */
    request(&f, fd, "{\"t\":\"maint\",\"state\":\"on\"}\n", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_record\",\"field\":\"tech\","
                            "\"why\":\"required with \\\"state\\\":\\\"on\\\"\"}");
    request(&f, fd, "{\"t\":\"maint\",\"state\":\"paused\",\"tech\":\"T-0042\"}\n", reply,
            sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_record\",\"field\":\"state\","
                            "\"why\":\"must be on or off\"}");
    request(&f, fd, "{\"t\":\"maint\",\"ts\":1700000000000,\"state\":\"off\"}\n", reply,
            sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":2}");
    cr_assert_eq(kf_outbox_stats(f.ob, &st), 0);
    cr_assert_eq(st.records, 2);
    close(fd);
    teardown(&f);
}

Test(appsock, over_long_line_is_refused_and_closed)
{
    struct fixture f;
    char line[400], reply[256];

    setup(&f, 100);
    int fd = client_connect();
    memset(line, 'x', sizeof(line) - 2);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    request(&f, fd, line, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"line_too_long\"}");
    cr_assert(peer_closed(&f, fd));
    close(fd);
    /* a new client is served */
    fd = client_connect();
    request(&f, fd, "{\"t\":\"txn\",\"item\":\"SB-001\",\"outcome\":\"failed\",\"dur_ms\":1}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    close(fd);
    teardown(&f);
}

Test(appsock, full_outbox_says_outbox_full)
{
    struct fixture f;
    char reply[256];
    const char *txn = "{\"t\":\"txn\",\"item\":\"SB-001\",\"outcome\":\"ok\",\"dur_ms\":1000}\n";

    setup(&f, 2);
    int fd = client_connect();
    request(&f, fd, txn, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    request(&f, fd, txn, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":2}");
    request(&f, fd, txn, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"outbox_full\"}");
    close(fd);
    teardown(&f);
}

/* A full disk is not a full outbox: the application is told disk_full (someone must free
 * space; retrying soon will not help), not outbox_full (the agent will drain it) nor
 * internal. The disk fills at a file size limit (RLIMIT_FSIZE) on this forked test. */
Test(appsock, full_disk_says_disk_full)
{
    struct fixture f;
    struct rlimit old, lim;
    char reply[256], line[1100];
    int n, i;

    setup(&f, 100000);
    int fd = client_connect();
    n = snprintf(line, sizeof(line),
                 "{\"t\":\"fault\",\"code\":\"X\",\"sev\":\"info\",\"action\":\"raise\","
                 "\"text\":\"%0120d\"}\n",
                 0);
    cr_assert(n > 0 && (size_t)n < 256);
    request(&f, fd, line, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 256 * 1024;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (i = 0; i < 20000; i++) {
        request(&f, fd, line, reply, sizeof(reply));
        if (strncmp(reply, "{\"ok\":true", 10) != 0)
            break;
    }
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"disk_full\"}", "after %d lines", i);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    request(&f, fd, line, reply, sizeof(reply));
    cr_assert_eq(strncmp(reply, "{\"ok\":true", 10), 0, "%s", reply);
    close(fd);
    teardown(&f);
}

Test(appsock, too_many_clients_get_busy)
{
    struct fixture f;
    int fds[KF_APPSOCK_MAX_CLIENTS + 1];
    char reply[256];

    setup(&f, 100);
    for (int i = 0; i < KF_APPSOCK_MAX_CLIENTS; i++) {
        fds[i] = client_connect();
        accepted(&f, (uint64_t)i + 1);
    }
    fds[KF_APPSOCK_MAX_CLIENTS] = client_connect();
    request(&f, fds[KF_APPSOCK_MAX_CLIENTS], "", reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"busy\"}");
    for (int i = 0; i <= KF_APPSOCK_MAX_CLIENTS; i++)
        close(fds[i]);
    teardown(&f);
}

/* The application's journal: a line resent with its app_id (no reply came, the connection
 * dropped) gets the first answer and stores nothing; the same app_id on another record is
 * refused with the seq that holds it. A ts the agent stamped does not make a resend new. */
Test(appsock, a_resent_app_id_gets_its_first_answer)
{
    const char *j1 = "{\"t\":\"txn\",\"item\":\"HF-001\",\"outcome\":\"ok\",\"dur_ms\":45000,"
                     "\"app_id\":\"J-2026/000001\"}\n";
    struct kf_appsock_stats as;
    struct fixture f;
    char reply[256];

    setup(&f, 100);
    int fd = client_connect();
    request(&f, fd, j1, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    request(&f, fd, "{\"t\":\"txn\",\"item\":\"HF-002\",\"outcome\":\"ok\",\"dur_ms\":1}\n", reply,
            sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":2}");
    close(fd);
    usleep(5000); /* a later stamp: the digest leaves it out */
    fd = client_connect();
    request(&f, fd, j1, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}", "a resend on a new connection");
    request(&f, fd,
            "{\"t\":\"txn\",\"item\":\"HF-001\",\"outcome\":\"ok\",\"dur_ms\":46000,"
            "\"app_id\":\"J-2026/000001\"}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"app_id_reused\",\"seq\":1}");
    /* The same line with a ts is another record (the first left ts to the agent). */
    request(&f, fd,
            "{\"t\":\"txn\",\"ts\":1767254395000,\"item\":\"HF-001\",\"outcome\":\"ok\","
            "\"dur_ms\":45000,\"app_id\":\"J-2026/000001\"}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"app_id_reused\",\"seq\":1}");
    request(&f, fd,
            "{\"t\":\"txn\",\"item\":\"HF-001\",\"outcome\":\"ok\",\"dur_ms\":1,\"app_id\":\"\"}\n",
            reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"bad_record\",\"field\":\"app_id\","
                            "\"why\":\"must be 1..32 of [A-Za-z0-9._:/-]\"}");

    struct kf_outbox_stats st;
    cr_assert_eq(kf_outbox_stats(f.ob, &st), 0);
    cr_assert_eq(st.records, 2, "the resends stored nothing");
    kf_appsock_stats(f.app, &as);
    cr_assert_eq(as.lines, 6);
    cr_assert_eq(as.ok, 3);
    cr_assert_eq(as.repeats, 1);
    cr_assert_eq(as.reused, 2);
    cr_assert_eq(as.errors, 3);
    close(fd);
    teardown(&f);
}

/* The kill -9 after the commit and before the reply: the application resends to the next
 * agent, on a new socket over the same outbox, and gets the answer it missed. */
Test(appsock, app_ids_survive_a_restart)
{
    const char *line = "{\"t\":\"fault\",\"code\":\"PRN-JAM\",\"sev\":\"major\",\"action\":"
                       "\"raise\",\"app_id\":\"F-17\"}\n";
    struct kf_outbox_limits lim = {.max_records = 100};
    struct fixture f;
    char reply[256];

    setup(&f, 100);
    int fd = client_connect();
    request(&f, fd, line, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    close(fd);
    kf_appsock_close(f.app, NULL, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    cr_assert_eq(kf_outbox_ack(f.ob, 1), 0, "the server has it already");
    kf_outbox_free(f.ob);

    cr_assert_eq(kf_outbox_open(db_path, &lim, &f.ob), 0);
    cr_assert_eq(kf_appsock_new(&f.loop, sock_path, 256, submit_cb, f.ob, &f.app), 0);
    fd = client_connect();
    request(&f, fd, line, reply, sizeof(reply));
    cr_assert_str_eq(reply, "{\"ok\":true,\"seq\":1}");
    struct kf_outbox_stats st;
    cr_assert_eq(kf_outbox_stats(f.ob, &st), 0);
    cr_assert_eq(st.records, 0);
    cr_assert_eq(st.next_seq, 2);
    close(fd);
    teardown(&f);
}
