/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous calls to systemd's manager (org.freedesktop.systemd1), built from planner data. Every
 * call returns at once; replies go to the callback with "userdata", and "destroy" (may be NULL) frees
 * the userdata when the call is over, replied or not.
 *
 * Calls go out through a SystemdClient, which keeps at most a fixed number of them waiting for their
 * reply and queues the rest in order. The bus has a limit of its own: dbus-daemon refuses a method call
 * ("The maximum number of pending replies per connection has been reached") once a connection has
 * max_replies_per_connection calls pending (128 in the system bus's default configuration), and
 * starting the 77 agents of the full profile makes several calls per agent at once. systemd handles
 * its calls one by one, so a window of a few dozen keeps it just as busy. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "plan.h"

/* What the client keeps in flight: ordinary calls (a profile's starts) at most SYSTEMD_CALLS_IN_FLIGHT_MAX,
 * and urgent ones (a breaker's stop, a fault's lever or undo) up to SYSTEMD_CALLS_URGENT_RESERVE more, so
 * that they never wait behind a profile start. Every call to systemd goes through here. */
#define SYSTEMD_CALLS_IN_FLIGHT_MAX 32u
#define SYSTEMD_CALLS_URGENT_RESERVE 8u
/* Jobs are bounded too. For each job a bus client queues, PID 1 watches that client with a match rule
 * of its own on the bus, and dbus-daemon allows 512 per connection on the system bus
 * (max_match_rules_per_connection): with some 500 jobs pending at once PID 1's AddMatch fails and it
 * drops its bus connection (bench/scale hit it starting 1,000 units). So an ordinary call that queues a
 * job (StartTransientUnit, StartUnit, StopUnit, RestartUnit...) waits while this many of ours are
 * pending: sent and not yet removed (JobRemoved). Urgent calls are not held back, only counted. */
#define SYSTEMD_JOBS_MAX 128u
/* A call the bus refused (LimitsExceeded) or whose answer it lost (NoReply, Timeout) never reached
 * systemd's decision: it is sent again, up to this many times in all, after 100 ms, 200 ms, ... (with
 * jitter, at most 2 s), and its callback sees only the last answer. */
#define SYSTEMD_CALL_ATTEMPTS_MAX 5u
#define SYSTEMD_CALL_RETRY_BASE_USEC (100 * USEC_PER_MSEC)
#define SYSTEMD_CALL_RETRY_MAX_USEC (2 * USEC_PER_SEC)

#define SYSTEMD_SERVICE "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit"
#define SYSTEMD_MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SYSTEMD_SERVICE_IFACE "org.freedesktop.systemd1.Service"
#define SYSTEMD_SOCKET_IFACE "org.freedesktop.systemd1.Socket"

typedef struct SystemdCall {
        sd_bus_message_handler_t callback;
        void *userdata;
        sd_bus_destroy_t destroy;
        bool urgent;                    /* the reserved lane: not behind ordinary calls */
} SystemdCall;

typedef struct SystemdClient SystemdClient;

/* "event" is the loop "bus" is attached to: a call that could not be sent is retried from it. Without
 * one (NULL, a client driving sd_bus_process() itself) it waits for the next reply. */
int systemd_client_new(sd_bus *bus, sd_event *event, unsigned max_in_flight, SystemdClient **ret);
/* Queued calls are dropped (their "destroy" runs); calls in flight stay with the bus, which runs their
 * callbacks or destroys them when it goes. */
SystemdClient *systemd_client_free(SystemdClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(SystemdClient *, systemd_client_free);

sd_bus *systemd_client_get_bus(SystemdClient *c);
unsigned systemd_client_in_flight(const SystemdClient *c);
unsigned systemd_client_queued(const SystemdClient *c);
/* The most calls that were ever in flight at once. */
unsigned systemd_client_in_flight_peak(const SystemdClient *c);
/* Calls sent again after a transient failure. */
unsigned systemd_client_retries(const SystemdClient *c);
/* Jobs of ours pending in systemd: calls that queue one, sent, and the jobs they queued until
 * JobRemoved. */
unsigned systemd_client_jobs(const SystemdClient *c);
/* The bound on those for ordinary calls (SYSTEMD_JOBS_MAX unless changed). */
void systemd_client_set_max_jobs(SystemdClient *c, unsigned max_jobs);
/* A job whose JobRemoved was lost (systemd was off the bus when it ended): no longer counted. */
void systemd_client_job_gone(SystemdClient *c, const char *job);

/* Sends "m" (a method call built on the client's bus) now or when the window has room. "c" may be NULL
 * when no reply is wanted; on error its "destroy" has run already. The same holds for the calls below. */
int systemd_client_call(SystemdClient *client, sd_bus_message *m, const SystemdCall *c);

/* Appends the properties of "spec" as the contents of an already opened "a(sv)". */
int unit_spec_append(sd_bus_message *m, const UnitSpec *spec);

/* StartTransientUnit(main, "fail", properties, [aux]). For a lazy agent "main" is the socket and
 * "aux" the service it activates, as systemd-run --socket-property does it. */
int systemd_start_transient_unit(SystemdClient *client, const UnitSpec *main, const UnitSpec *aux, const SystemdCall *c);
/* SetUnitProperties(name, runtime, properties). */
int systemd_set_unit_properties(SystemdClient *client, const UnitSpec *spec, int runtime, const SystemdCall *c);
/* StartUnit / StopUnit / RestartUnit / ResetFailedUnit / Subscribe / ... with "types" and arguments as for
 * sd_bus_message_append(). */
int systemd_manager_call(SystemdClient *client, const char *method, const SystemdCall *c, const char *types, ...);
/* org.freedesktop.DBus.Properties.GetAll on the unit's object. */
int systemd_get_unit_properties(SystemdClient *client, const char *unit, const char *interface, const SystemdCall *c);

/* org.freedesktop.DBus.Properties.Get of the Id of the job at "job": answered with an error once the job
 * is over (systemd drops its object). */
int systemd_get_job_id(SystemdClient *client, const char *job, const SystemdCall *c);

/* The object path systemd serves "unit" under, without asking it. */
int systemd_unit_path(const char *unit, char **ret);
/* "252.39-1~deb12u2" or "252" -> 252; -EINVAL if it does not start with a number. */
int systemd_parse_version(const char *s, unsigned *ret);
