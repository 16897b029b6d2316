/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Asynchronous calls to systemd's manager, built from planner data. */

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "backoff.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

#include "systemd-client.h"

int unit_spec_append(sd_bus_message *m, const UnitSpec *spec) {
        int r;

        for (size_t i = 0; i < spec->n_properties; i++) {
                const UnitProperty *p = &spec->properties[i];
                const char *sig = unit_property_signature(p->type);

                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", p->name);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(m, 'v', sig);
                if (r < 0)
                        return r;

                switch (p->type) {
                case UNIT_PROPERTY_STRING:
                        r = sd_bus_message_append(m, "s", p->s);
                        break;
                case UNIT_PROPERTY_BOOL:
                        r = sd_bus_message_append(m, "b", (int) p->b);
                        break;
                case UNIT_PROPERTY_U32:
                        r = sd_bus_message_append(m, "u", (uint32_t) p->t);
                        break;
                case UNIT_PROPERTY_U64:
                        r = sd_bus_message_append(m, "t", p->t);
                        break;
                case UNIT_PROPERTY_I32:
                        r = sd_bus_message_append(m, "i", (int32_t) p->t);
                        break;
                case UNIT_PROPERTY_FILTER:
                        r = sd_bus_message_open_container(m, 'r', "bas");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "b", (int) p->b);
                        if (r >= 0)
                                r = sd_bus_message_append_strv(m, p->strv);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case UNIT_PROPERTY_STRV:
                        r = sd_bus_message_append_strv(m, p->strv);
                        break;
                case UNIT_PROPERTY_EXEC:
                        r = sd_bus_message_open_container(m, 'a', "(sasb)");
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'r', "sasb");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", p->s);
                        if (r >= 0)
                                r = sd_bus_message_append_strv(m, p->strv);
                        if (r >= 0)
                                r = sd_bus_message_append(m, "b", 0);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case UNIT_PROPERTY_CONDITIONS:
                        r = sd_bus_message_open_container(m, 'a', "(sbbs)");
                        for (char **c = p->strv; r >= 0 && c && c[0] && c[1]; c += 2) {
                                const char *v = c[1];
                                int trigger = 0, negate = 0;

                                /* The unit-file syntax: "|" makes a triggering condition, "!" negates. */
                                if (*v == '|') {
                                        trigger = 1;
                                        v++;
                                }
                                if (*v == '!') {
                                        negate = 1;
                                        v++;
                                }
                                r = sd_bus_message_append(m, "(sbbs)", c[0], trigger, negate, v);
                        }
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                case UNIT_PROPERTY_LISTEN:
                        r = sd_bus_message_open_container(m, 'a', "(ss)");
                        for (char **c = p->strv; r >= 0 && c && c[0] && c[1]; c += 2)
                                r = sd_bus_message_append(m, "(ss)", c[0], c[1]);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;

                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One call, from systemd_client_call() until the bus is done with it. */
typedef struct QueuedCall QueuedCall;
struct QueuedCall {
        SystemdClient *client;          /* NULL once the client is gone */
        sd_bus_message *message;        /* kept while in flight too: a transient failure sends it again */
        SystemdCall call;
        unsigned attempts;              /* sent this many times */
        bool job;                       /* the call queues a job in systemd */
        sd_event_source *retry;         /* waiting to be queued again */
        QueuedCall *prev, *next;        /* in one of the client's queues or in its in-flight list */
};

/* Calls wait in one of two queues, each in order: urgent ones go first and may use
 * SYSTEMD_CALLS_URGENT_RESERVE slots beyond the window, which ordinary calls never take. */
typedef struct CallQueue {
        QueuedCall *head, *tail;
} CallQueue;

struct SystemdClient {
        sd_bus *bus;
        sd_event *event;
        sd_event_source *retry;         /* armed when a call could not be sent */
        unsigned max_in_flight;
        CallQueue queues[2];            /* [0] ordinary, [1] urgent */
        QueuedCall *in_flight_list;
        unsigned n_queued, n_in_flight, peak_in_flight;
        QueuedCall *retry_list;         /* transient failures waiting for their backoff */
        unsigned n_retries;             /* over the client's lifetime */
        unsigned max_jobs;
        unsigned n_job_calls;           /* calls that queue a job, sent and not answered */
        char **jobs;                    /* the jobs they queued, until JobRemoved */
        sd_bus_slot *job_removed;
};

/* How soon a call that failed to go out (out of memory, the write buffer full) is tried again. */
#define SYSTEMD_CLIENT_RETRY_USEC (100 * USEC_PER_MSEC)

static void list_remove(QueuedCall **head, QueuedCall **tail, QueuedCall *q) {
        if (q->prev)
                q->prev->next = q->next;
        else
                *head = q->next;
        if (q->next)
                q->next->prev = q->prev;
        else if (tail)
                *tail = q->prev;
        q->prev = q->next = NULL;
}

static void list_prepend(QueuedCall **head, QueuedCall **tail, QueuedCall *q) {
        q->prev = NULL;
        q->next = *head;
        if (*head)
                (*head)->prev = q;
        else if (tail)
                *tail = q;
        *head = q;
}

static QueuedCall *queued_call_free(QueuedCall *q) {
        if (!q)
                return NULL;
        if (q->call.destroy)
                q->call.destroy(q->call.userdata);
        sd_event_source_disable_unref(q->retry);
        sd_bus_message_unref(q->message);
        return mfree(q);
}

static void client_dispatch(SystemdClient *c);

/* No client (a Manager without a bus, as in unit tests): the calls fail with -ENOTCONN, from sd-bus. */
static sd_bus *client_bus(SystemdClient *c) {
        return c ? c->bus : NULL;
}

/* A call that will not be made: its userdata goes. "c" may be NULL (no reply wanted). */
static void systemd_call_abandon(const SystemdCall *c) {
        if (c && c->destroy)
                c->destroy(c->userdata);
}

static void client_enqueue(SystemdClient *client, QueuedCall *q, bool front);

/* What the bus, not systemd, answered: the call never reached systemd, or its answer got lost. */
static bool reply_is_transient(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        return e && sd_bus_error_has_names(e, SD_BUS_ERROR_LIMITS_EXCEEDED, SD_BUS_ERROR_NO_REPLY,
                                           SD_BUS_ERROR_TIMEOUT);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        QueuedCall *q = userdata;
        SystemdClient *c = q->client;

        q->retry = sd_event_source_disable_unref(q->retry);
        list_remove(&c->retry_list, NULL, q);
        client_enqueue(c, q, true);
        return 0;
}

/* The same call again, a fresh message with the same body (a sent one cannot be sent twice), after an
 * exponential backoff with jitter. Takes over "q"'s callback; false if it cannot. */
static bool call_retry(QueuedCall *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        SystemdClient *c = q->client;
        QueuedCall *n;
        usec_t delay;
        int r;

        if (!c || !c->event || q->attempts >= SYSTEMD_CALL_ATTEMPTS_MAX)
                return false;
        r = sd_bus_message_new_method_call(c->bus, &m, sd_bus_message_get_destination(q->message),
                                           sd_bus_message_get_path(q->message),
                                           sd_bus_message_get_interface(q->message),
                                           sd_bus_message_get_member(q->message));
        if (r >= 0)
                r = sd_bus_message_rewind(q->message, true);
        if (r >= 0)
                r = sd_bus_message_copy(m, q->message, true);
        if (r < 0)
                return false;
        n = calloc(1, sizeof(QueuedCall));
        if (!n)
                return false;
        /* Half the curve as a floor: a retry is never sooner than half its step. */
        delay = backoff_delay(&(BackoffConfig) { .initial = SYSTEMD_CALL_RETRY_BASE_USEC,
                                                 .max = SYSTEMD_CALL_RETRY_MAX_USEC,
                                                 .floor = SYSTEMD_CALL_RETRY_BASE_USEC / 2 },
                              q->attempts - 1, backoff_random_u64());
        r = sd_event_add_time_relative(c->event, &n->retry, CLOCK_MONOTONIC, delay, 0, on_retry_timer, n);
        if (r < 0) {
                free(n);
                return false;
        }
        n->client = c;
        n->message = TAKE_PTR(m);
        n->call = q->call;
        n->attempts = q->attempts;
        n->job = q->job;
        q->call = (SystemdCall) {};
        list_prepend(&c->retry_list, NULL, n);
        c->n_retries++;
        log_debug("%s() failed transiently (attempt %u), trying again in %" PRIu64 " ms.",
                  sd_bus_message_get_member(n->message), n->attempts, delay / USEC_PER_MSEC);
        return true;
}

static int on_call_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        QueuedCall *q = userdata;
        const char *job;

        /* Never an agent's failure: the bus refused or lost the call. */
        if (reply_is_transient(reply) && call_retry(q))
                return 0;
        /* The job holds its slot until JobRemoved (the call's slot is given back in on_call_done()). */
        if (q->job && q->client && !sd_bus_message_is_method_error(reply, NULL) &&
            sd_bus_message_read(reply, "o", &job) > 0) {
                if (strv_extend(&q->client->jobs, job) < 0)
                        log_oom();
                (void) sd_bus_message_rewind(reply, true);
        }
        return q->call.callback ? q->call.callback(reply, q->call.userdata, ret_error) : 0;
}

static void client_job_remove(SystemdClient *c, const char *job) {
        for (size_t i = 0; c->jobs && c->jobs[i]; i++)
                if (streq(c->jobs[i], job)) {
                        free(c->jobs[i]);
                        memmove(c->jobs + i, c->jobs + i + 1, (strv_length(c->jobs + i + 1) + 1) * sizeof(char *));
                        client_dispatch(c);
                        return;
                }
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *job;

        if (sd_bus_message_read(m, "uo", NULL, &job) > 0)
                client_job_remove(userdata, job);
        return 0;
}

static int on_job_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* Without it no slot would ever be given back: the window would close for good after
         * SYSTEMD_JOBS_MAX jobs. Say so; the calls still go out, up to that bound. */
        if (sd_bus_message_is_method_error(m, NULL))
                log_error("Failed to follow systemd's JobRemoved, starts will stall: %s",
                          sd_bus_message_get_error(m)->message);
        return 0;
}

/* The slot's destroy callback: the call is over, replied to or dropped with the bus. */
static void on_call_done(void *userdata) {
        QueuedCall *q = userdata;
        SystemdClient *c = q->client;

        if (c) {
                list_remove(&c->in_flight_list, NULL, q);
                c->n_in_flight--;
                if (q->job)
                        c->n_job_calls--;
        }
        queued_call_free(q);
        if (c)
                client_dispatch(c);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        client_dispatch(userdata);
        return 0;
}

static QueuedCall *client_next(SystemdClient *c, CallQueue **ret_queue) {
        if (c->queues[1].head && c->n_in_flight < c->max_in_flight + SYSTEMD_CALLS_URGENT_RESERVE) {
                *ret_queue = &c->queues[1];
                return c->queues[1].head;
        }
        if (c->queues[0].head && c->n_in_flight < c->max_in_flight &&
            (!c->queues[0].head->job || systemd_client_jobs(c) < c->max_jobs)) {
                *ret_queue = &c->queues[0];
                return c->queues[0].head;
        }
        return NULL;
}

static void client_dispatch(SystemdClient *c) {
        CallQueue *queue;
        QueuedCall *q;

        while ((q = client_next(c, &queue))) {
                sd_bus_slot *slot = NULL;
                int r;

                r = sd_bus_call_async(c->bus, &slot, q->message, on_call_reply, q, 0);
                if (r < 0) {
                        /* Stays first in line. With nothing in flight no reply would dispatch it again. */
                        log_warning_errno(r, "Failed to send a call to systemd, retrying: %m");
                        if (!c->event)
                                return;         /* the next reply retries */
                        if (c->retry)
                                (void) sd_event_source_set_time_relative(c->retry, SYSTEMD_CLIENT_RETRY_USEC);
                        else
                                (void) sd_event_add_time_relative(c->event, &c->retry, CLOCK_MONOTONIC,
                                                                  SYSTEMD_CLIENT_RETRY_USEC, 0, on_retry, c);
                        (void) sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
                        return;
                }
                list_remove(&queue->head, &queue->tail, q);
                c->n_queued--;
                q->attempts++;
                list_prepend(&c->in_flight_list, NULL, q);
                c->n_in_flight++;
                if (q->job)
                        c->n_job_calls++;
                c->peak_in_flight = MAX(c->peak_in_flight, c->n_in_flight);

                /* The bus owns the slot; on_call_done() runs when the call is over. */
                (void) sd_bus_slot_set_destroy_callback(slot, on_call_done);
                (void) sd_bus_slot_set_floating(slot, 1);
                sd_bus_slot_unref(slot);
        }
}

int systemd_client_new(sd_bus *bus, sd_event *event, unsigned max_in_flight, SystemdClient **ret) {
        SystemdClient *c;
        int r;

        assert(bus);
        assert(max_in_flight > 0);

        c = calloc(1, sizeof(SystemdClient));
        if (!c)
                return -ENOMEM;
        c->bus = sd_bus_ref(bus);
        c->event = event ? sd_event_ref(event) : NULL;
        c->max_in_flight = max_in_flight;
        c->max_jobs = SYSTEMD_JOBS_MAX;
        r = sd_bus_match_signal_async(bus, &c->job_removed, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                      "JobRemoved", on_job_removed, on_job_match_installed, c);
        if (r < 0) {
                systemd_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

SystemdClient *systemd_client_free(SystemdClient *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(c->queues); i++)
                while (c->queues[i].head) {
                        QueuedCall *q = c->queues[i].head;

                        list_remove(&c->queues[i].head, &c->queues[i].tail, q);
                        queued_call_free(q);
                }
        while (c->retry_list) {
                QueuedCall *q = c->retry_list;

                list_remove(&c->retry_list, NULL, q);
                queued_call_free(q);
        }
        /* In flight: the bus still runs their callbacks; they just no longer report back here, nor retry.
         * Their messages reference the bus, which must be free to go. */
        for (QueuedCall *q = c->in_flight_list; q; q = q->next) {
                q->client = NULL;
                q->message = sd_bus_message_unref(q->message);
        }
        sd_event_source_disable_unref(c->retry);
        sd_bus_slot_unref(c->job_removed);
        strv_free(c->jobs);
        sd_event_unref(c->event);
        sd_bus_unref(c->bus);
        return mfree(c);
}

sd_bus *systemd_client_get_bus(SystemdClient *c) {
        return c->bus;
}

unsigned systemd_client_in_flight(const SystemdClient *c) {
        return c->n_in_flight;
}

unsigned systemd_client_queued(const SystemdClient *c) {
        return c->n_queued;
}

unsigned systemd_client_in_flight_peak(const SystemdClient *c) {
        return c->peak_in_flight;
}

unsigned systemd_client_retries(const SystemdClient *c) {
        return c->n_retries;
}

unsigned systemd_client_jobs(const SystemdClient *c) {
        return c->n_job_calls + strv_length(c->jobs);
}

void systemd_client_set_max_jobs(SystemdClient *c, unsigned max_jobs) {
        assert(max_jobs > 0);
        c->max_jobs = max_jobs;
        client_dispatch(c);
}

void systemd_client_job_gone(SystemdClient *c, const char *job) {
        if (c && job)
                client_job_remove(c, job);
}

/* The Manager's methods that queue a job and answer with its path. */
static bool call_queues_job(sd_bus_message *m) {
        static const char *const methods[] = {
                "StartTransientUnit", "StartUnit", "StopUnit", "RestartUnit", "ReloadUnit", "TryRestartUnit",
                "ReloadOrRestartUnit", "ReloadOrTryRestartUnit", NULL,
        };

        return streq_ptr(sd_bus_message_get_interface(m), SYSTEMD_MANAGER_IFACE) &&
               strv_contains((char **) methods, sd_bus_message_get_member(m));
}

int systemd_client_call(SystemdClient *client, sd_bus_message *m, const SystemdCall *c) {
        QueuedCall *q;

        if (!client) {
                systemd_call_abandon(c);
                return -ENOTCONN;
        }
        q = calloc(1, sizeof(QueuedCall));
        if (!q) {
                systemd_call_abandon(c);
                return -ENOMEM;
        }
        q->client = client;
        q->message = sd_bus_message_ref(m);
        q->job = call_queues_job(m);

        if (c)
                q->call = *c;
        client_enqueue(client, q, false);
        return 0;
}

/* Appended: calls of a lane reach systemd in the order they were made; a retry goes first. */
static void client_enqueue(SystemdClient *client, QueuedCall *q, bool front) {
        CallQueue *queue = &client->queues[q->call.urgent];

        if (front)
                list_prepend(&queue->head, &queue->tail, q);
        else {
                q->prev = queue->tail;
                q->next = NULL;
                if (queue->tail)
                        queue->tail->next = q;
                else
                        queue->head = q;
                queue->tail = q;
        }
        client->n_queued++;
        client_dispatch(client);
}

static int new_manager_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, method);
}

int systemd_start_transient_unit(SystemdClient *client, const UnitSpec *main, const UnitSpec *aux, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_manager_call(client_bus(client), "StartTransientUnit", &m);
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(m, "ss", main->name, "fail");
        if (r < 0)
                goto fail;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                goto fail;
        r = unit_spec_append(m, main);
        if (r < 0)
                goto fail;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                goto fail;

        r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r < 0)
                goto fail;
        if (aux) {
                r = sd_bus_message_open_container(m, 'r', "sa(sv)");
                if (r < 0)
                        goto fail;
                r = sd_bus_message_append(m, "s", aux->name);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_open_container(m, 'a', "(sv)");
                if (r < 0)
                        goto fail;
                r = unit_spec_append(m, aux);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                goto fail;

        return systemd_client_call(client, m, c);
fail:
        systemd_call_abandon(c);
        return r;
}

int systemd_set_unit_properties(SystemdClient *client, const UnitSpec *spec, int runtime, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_manager_call(client_bus(client), "SetUnitProperties", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", spec->name, runtime);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = unit_spec_append(m, spec);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                systemd_call_abandon(c);
                return r;
        }
        return systemd_client_call(client, m, c);
}

int systemd_manager_call(SystemdClient *client, const char *method, const SystemdCall *c, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = new_manager_call(client_bus(client), method, &m);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r < 0) {
                systemd_call_abandon(c);
                return r;
        }
        return systemd_client_call(client, m, c);
}

int systemd_unit_path(const char *unit, char **ret) {
        return sd_bus_path_encode(SYSTEMD_PATH "/unit", unit, ret);
}

int systemd_get_unit_properties(SystemdClient *client, const char *unit, const char *interface, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = systemd_unit_path(unit, &path);
        if (r >= 0)
                r = sd_bus_message_new_method_call(client_bus(client), &m, SYSTEMD_SERVICE, path,
                                                   "org.freedesktop.DBus.Properties", "GetAll");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", interface);
        if (r < 0) {
                systemd_call_abandon(c);
                return r;
        }
        return systemd_client_call(client, m, c);
}

int systemd_get_job_id(SystemdClient *client, const char *job, const SystemdCall *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(client_bus(client), &m, SYSTEMD_SERVICE, job,
                                           "org.freedesktop.DBus.Properties", "Get");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", "org.freedesktop.systemd1.Job", "Id");
        if (r < 0) {
                systemd_call_abandon(c);
                return r;
        }
        return systemd_client_call(client, m, c);
}

int systemd_parse_version(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || v > 100000)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}
