/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The systemd client's call window, against a real dbus-daemon: a private bus with
 * max_replies_per_connection=8, and a peer that owns org.freedesktop.systemd1 and answers StartUnit only
 * a little later, so calls pile up the way they do when unifiedd starts the full profile. Without a
 * window dbus-daemon refuses calls past its limit (the negative control); with one every call succeeds,
 * in order, and no more than the window is ever pending at the peer. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-fixture.h"
#include "macro.h"
#include "systemd-client.h"
#include "time-util.h"

#define BUS_REPLY_LIMIT 8u
#define N_CALLS 40u

static int bus_setup(void **state) {
        TestBus *b = calloc(1, sizeof(TestBus));

        assert_non_null(b);
        *state = b;
        test_bus_start(b, BUS_REPLY_LIMIT);
        return 0;
}

static int bus_teardown(void **state) {
        TestBus *b = *state;

        test_bus_stop(b);
        free(b);
        return 0;
}

/* The peer playing systemd: holds every StartUnit call and answers them all 20 ms after the first. Calls
 * the bus refused are sent again by the client, so the peer may see each several times. */
#define N_SEEN (N_CALLS * SYSTEMD_CALL_ATTEMPTS_MAX)
typedef struct Peer {
        sd_event *event;
        sd_bus_message *held[N_SEEN];
        unsigned n_held, peak_held;
        sd_event_source *timer;
        char *order[N_SEEN];
        unsigned n_order;
        unsigned retries;               /* the client's count, at the end */
} Peer;

static int on_peer_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Peer *p = userdata;

        for (unsigned i = 0; i < p->n_held; i++) {
                assert_true(sd_bus_reply_method_return(p->held[i], "o", "/org/freedesktop/systemd1/job/1") >= 0);
                p->held[i] = sd_bus_message_unref(p->held[i]);
        }
        p->n_held = 0;
        p->timer = sd_event_source_unref(p->timer);
        return 0;
}

static int method_start_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        const char *unit, *mode;

        assert_int_equal(sd_bus_message_read(m, "ss", &unit, &mode), 1);
        assert_true(p->n_held < N_SEEN && p->n_order < N_SEEN);
        p->order[p->n_order++] = strdup(unit);
        p->held[p->n_held++] = sd_bus_message_ref(m);
        p->peak_held = MAX(p->peak_held, p->n_held);
        if (!p->timer)
                assert_int_equal(sd_event_add_time_relative(p->event, &p->timer, CLOCK_MONOTONIC,
                                                            20 * USEC_PER_MSEC, 0, on_peer_timer, p),
                                 0);
        return 1;
}

static const sd_bus_vtable peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("StartUnit", "ss", "o", method_start_unit, 0),
        SD_BUS_VTABLE_END,
};

typedef struct Caller {
        unsigned n_ok, n_limited, n_other;
        unsigned n_destroyed;
} Caller;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Caller *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (!e)
                c->n_ok++;
        else if (sd_bus_error_has_name(e, SD_BUS_ERROR_LIMITS_EXCEEDED))
                c->n_limited++;
        else
                c->n_other++;
        return 0;
}

static void on_destroy(void *userdata) {
        Caller *c = userdata;

        c->n_destroyed++;
}

/* Makes N_CALLS StartUnit calls through a client with this window; returns the peer's figures. */
static void run_calls(const TestBus *b, unsigned window, Caller *caller, Peer *peer) {
        sd_event *e = NULL;
        sd_bus *server, *client_bus;
        SystemdClient *client = NULL;
        usec_t deadline;

        assert_int_equal(sd_event_new(&e), 0);
        peer->event = e;
        server = test_bus_connect(b, e);
        assert_true(sd_bus_add_object_vtable(server, NULL, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, peer_vtable,
                                             peer) >= 0);
        assert_true(sd_bus_request_name(server, SYSTEMD_SERVICE, 0) >= 0);

        client_bus = test_bus_connect(b, e);
        assert_int_equal(systemd_client_new(client_bus, e, window, &client), 0);
        for (unsigned i = 0; i < N_CALLS; i++) {
                char unit[32];

                snprintf(unit, sizeof(unit), "unit-%02u.service", i);
                assert_int_equal(systemd_manager_call(client, "StartUnit",
                                                      &(SystemdCall) { on_reply, caller, on_destroy }, "ss",
                                                      unit, "replace"),
                                 0);
        }
        assert_true(systemd_client_in_flight(client) <= window);

        deadline = now(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;
        while (caller->n_destroyed < N_CALLS && now(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);

        assert_int_equal(caller->n_destroyed, N_CALLS);
        assert_int_equal(systemd_client_in_flight(client), 0);
        assert_int_equal(systemd_client_queued(client), 0);
        assert_true(systemd_client_in_flight_peak(client) <= window);
        peer->retries = systemd_client_retries(client);

        systemd_client_free(client);
        sd_bus_flush_close_unref(client_bus);
        sd_bus_flush_close_unref(server);
        peer->timer = sd_event_source_unref(peer->timer);
        sd_event_unref(e);
}

static void peer_done(Peer *p) {
        for (unsigned i = 0; i < p->n_order; i++)
                free(p->order[i]);
        for (unsigned i = 0; i < p->n_held; i++)
                sd_bus_message_unref(p->held[i]);
}

/* The negative control: every call sent at once, as before the window existed. The bus refuses what is
 * past its limit; the client sends those calls again (LimitsExceeded never reached systemd), and what
 * still fails after SYSTEMD_CALL_ATTEMPTS_MAX attempts is reported as refused. */
static void test_bus_refuses_calls_past_its_limit(void **state) {
        Caller caller = {};
        Peer peer = {};

        run_calls(*state, N_CALLS, &caller, &peer);
        assert_true(peer.retries > 0);
        assert_int_equal(caller.n_other, 0);
        assert_int_equal(caller.n_ok + caller.n_limited, N_CALLS);
        assert_true(peer.peak_held <= BUS_REPLY_LIMIT);
        peer_done(&peer);
}

static void test_window_keeps_every_call(void **state) {
        static const unsigned windows[] = { 1, 4, BUS_REPLY_LIMIT };

        for (size_t w = 0; w < ELEMENTSOF(windows); w++) {
                Caller caller = {};
                Peer peer = {};

                run_calls(*state, windows[w], &caller, &peer);
                assert_int_equal(caller.n_ok, N_CALLS);
                assert_int_equal(caller.n_limited, 0);
                assert_int_equal(caller.n_other, 0);
                assert_true(peer.peak_held <= windows[w]);
                /* The window was used, not just respected: the peer saw it full. */
                assert_int_equal(peer.peak_held, windows[w]);
                /* In the order they were made, each once. */
                assert_int_equal(peer.retries, 0);
                assert_int_equal(peer.n_order, N_CALLS);
                for (unsigned i = 0; i < N_CALLS; i++) {
                        char unit[32];

                        snprintf(unit, sizeof(unit), "unit-%02u.service", i);
                        assert_string_equal(peer.order[i], unit);
                }
                peer_done(&peer);
        }
}

/* Calls still queued when the client goes are dropped, each one's destroy run exactly once. */
static void test_free_drops_queued_calls(void **state) {
        sd_event *e = NULL;
        sd_bus *server, *client_bus;
        SystemdClient *client = NULL;
        Caller caller = {};
        Peer peer = {};
        const TestBus *b = *state;

        assert_int_equal(sd_event_new(&e), 0);
        peer.event = e;
        server = test_bus_connect(b, e);
        assert_true(sd_bus_add_object_vtable(server, NULL, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, peer_vtable,
                                             &peer) >= 0);
        assert_true(sd_bus_request_name(server, SYSTEMD_SERVICE, 0) >= 0);
        client_bus = test_bus_connect(b, e);
        assert_int_equal(systemd_client_new(client_bus, e, 2, &client), 0);
        for (unsigned i = 0; i < 10; i++)
                assert_int_equal(systemd_manager_call(client, "StartUnit",
                                                      &(SystemdCall) { on_reply, &caller, on_destroy }, "ss",
                                                      "x.service", "replace"),
                                 0);
        /* No reply wanted is allowed too. */
        assert_int_equal(systemd_manager_call(client, "StartUnit", NULL, "ss", "y.service", "replace"), 0);
        assert_int_equal(systemd_client_in_flight(client), 2);
        assert_int_equal(systemd_client_queued(client), 9);

        systemd_client_free(client);
        assert_int_equal(caller.n_destroyed, 8);
        /* The two in flight end with the bus. */
        sd_bus_flush_close_unref(client_bus);
        assert_int_equal(caller.n_destroyed, 10);
        assert_int_equal(caller.n_ok, 0);

        sd_bus_flush_close_unref(server);
        sd_event_source_unref(peer.timer);
        sd_event_unref(e);
        peer_done(&peer);
}

/* The job window: a peer that queues a job per StartUnit, answers at once with its path and removes it
 * (JobRemoved) 5 ms later, as systemd does with a quick unit. The client keeps at most max_jobs of them
 * pending, however wide its call window, and every call still succeeds. */
#define N_JOB_CALLS 24u
typedef struct JobPeer {
        sd_bus *bus;
        sd_event *event;
        uint32_t next_id;
        unsigned pending, peak;
} JobPeer;

typedef struct PendingJob {
        JobPeer *peer;
        uint32_t id;
} PendingJob;

static int on_job_done(sd_event_source *s, uint64_t usec, void *userdata) {
        PendingJob *j = userdata;
        char path[64];

        snprintf(path, sizeof(path), "/org/freedesktop/systemd1/job/%u", j->id);
        j->peer->pending--;
        assert_true(sd_bus_emit_signal(j->peer->bus, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved", "uoss", j->id,
                                       path, "unit.service", "done") >= 0);
        free(j);
        return 0;
}

static int method_start_unit_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobPeer *p = userdata;
        PendingJob *j = calloc(1, sizeof(PendingJob));
        char path[64];

        assert_non_null(j);
        j->peer = p;
        j->id = ++p->next_id;
        snprintf(path, sizeof(path), "/org/freedesktop/systemd1/job/%u", j->id);
        p->pending++;
        p->peak = MAX(p->peak, p->pending);
        assert_int_equal(sd_event_add_time_relative(p->event, NULL, CLOCK_MONOTONIC, 5 * USEC_PER_MSEC, 0,
                                                    on_job_done, j), 0);
        return sd_bus_reply_method_return(m, "o", path);
}

static const sd_bus_vtable job_peer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("StartUnit", "ss", "o", method_start_unit_job, 0),
        SD_BUS_VTABLE_END,
};

static void run_jobs(const TestBus *b, unsigned max_jobs, Caller *caller, JobPeer *peer) {
        sd_event *e = NULL;
        sd_bus *client_bus;
        SystemdClient *client = NULL;
        usec_t deadline;

        assert_int_equal(sd_event_new(&e), 0);
        peer->event = e;
        peer->bus = test_bus_connect(b, e);
        assert_true(sd_bus_add_object_vtable(peer->bus, NULL, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, job_peer_vtable,
                                             peer) >= 0);
        assert_true(sd_bus_request_name(peer->bus, SYSTEMD_SERVICE, 0) >= 0);
        client_bus = test_bus_connect(b, e);
        assert_int_equal(systemd_client_new(client_bus, e, BUS_REPLY_LIMIT, &client), 0);
        systemd_client_set_max_jobs(client, max_jobs);
        for (unsigned i = 0; i < N_JOB_CALLS; i++)
                assert_int_equal(systemd_manager_call(client, "StartUnit",
                                                      &(SystemdCall) { on_reply, caller, on_destroy }, "ss",
                                                      "unit.service", "replace"),
                                 0);
        deadline = now(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;
        while ((caller->n_destroyed < N_JOB_CALLS || systemd_client_jobs(client) > 0) &&
               now(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        assert_int_equal(caller->n_destroyed, N_JOB_CALLS);
        assert_int_equal(systemd_client_jobs(client), 0);

        systemd_client_free(client);
        sd_bus_flush_close_unref(client_bus);
        sd_bus_flush_close_unref(peer->bus);
        sd_event_unref(e);
}

static void test_job_window(void **state) {
        Caller caller = {}, wide = {};
        JobPeer peer = {}, control = {};

        run_jobs(*state, 3, &caller, &peer);
        assert_int_equal(caller.n_ok, N_JOB_CALLS);
        assert_int_equal(peer.peak, 3);
        /* The control: with room for every job, the call window alone lets more pile up. */
        run_jobs(*state, SYSTEMD_JOBS_MAX, &wide, &control);
        assert_int_equal(wide.n_ok, N_JOB_CALLS);
        assert_true(control.peak > 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bus_refuses_calls_past_its_limit, bus_setup, bus_teardown),
                cmocka_unit_test_setup_teardown(test_window_keeps_every_call, bus_setup, bus_teardown),
                cmocka_unit_test_setup_teardown(test_free_drops_queued_calls, bus_setup, bus_teardown),
                cmocka_unit_test_setup_teardown(test_job_window, bus_setup, bus_teardown),
        };

        if (test_bus_skip_if_missing())
                return 0;

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
