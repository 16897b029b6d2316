/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Asynchronous polkit checks for D-Bus calls, re-dispatching the call when polkit answers. */

#include "log.h"
#include "polkit.h"

typedef enum Verdict {
        VERDICT_PENDING,
        VERDICT_ALLOWED,
        VERDICT_CHALLENGE,      /* allowed with interactive authentication, which the caller did not allow */
        VERDICT_DENIED,
        VERDICT_ERROR,
} Verdict;

typedef struct Query Query;
struct Query {
        PolkitRegistry *registry;
        sd_bus_message *call;   /* the method call waiting for the verdict, compared by identity */
        char *action;
        uid_t uid;              /* the caller's */
        sd_bus_slot *slot;
        Verdict verdict;
        usec_t answered_at;     /* CLOCK_MONOTONIC, once the verdict is in */
        sd_bus_error error;     /* VERDICT_ERROR: what went wrong */
        Query *next;
};

struct PolkitRegistry {
        sd_event *event;
        sd_event_source *sweep;
        Query *queries;
        size_t n_queries;
};

static Query *query_free(Query *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        sd_bus_error_free(&q->error);
        free(q->action);
        return mfree(q);
}

static void registry_remove(PolkitRegistry *r, Query *q) {
        for (Query **p = &r->queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        r->n_queries--;
                        query_free(q);
                        return;
                }
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        while (r->queries)
                registry_remove(r, r->queries);
        sd_event_source_disable_unref(r->sweep);
        sd_event_unref(r->event);
        return mfree(r);
}

int polkit_registry_new(sd_event *event, PolkitRegistry **ret) {
        PolkitRegistry *r = calloc(1, sizeof(PolkitRegistry));

        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        *ret = r;
        return 0;
}

size_t polkit_registry_size(const PolkitRegistry *registry) {
        return registry->n_queries;
}

static void registry_arm_sweep(PolkitRegistry *r);

/* Drops the verdicts nobody came back for. */
static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        PolkitRegistry *r = userdata;
        usec_t t = now(CLOCK_MONOTONIC);

        for (Query *q = r->queries, *next; q; q = next) {
                next = q->next;
                if (q->verdict != VERDICT_PENDING && q->answered_at + POLKIT_UNCLAIMED_USEC <= t) {
                        log_debug("Dropping the unclaimed polkit verdict for %s.", q->action);
                        registry_remove(r, q);
                }
        }
        registry_arm_sweep(r);
        return 0;
}

static void registry_arm_sweep(PolkitRegistry *r) {
        usec_t oldest = USEC_INFINITY;
        int r2;

        for (Query *q = r->queries; q; q = q->next)
                if (q->verdict != VERDICT_PENDING)
                        oldest = MIN(oldest, q->answered_at);
        if (oldest == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(r->sweep, SD_EVENT_OFF);
                return;
        }
        if (!r->sweep) {
                r2 = sd_event_add_time(r->event, &r->sweep, CLOCK_MONOTONIC, oldest + POLKIT_UNCLAIMED_USEC,
                                       USEC_PER_SEC, on_sweep, r);
                if (r2 < 0)
                        log_warning_errno(r2, "Failed to arm the sweep of polkit verdicts, ignoring: %m");
                return;
        }
        (void) sd_event_source_set_time(r->sweep, oldest + POLKIT_UNCLAIMED_USEC);
        (void) sd_event_source_set_enabled(r->sweep, SD_EVENT_ONESHOT);
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Query *q = userdata;
        int authorized, challenge, r;

        q->slot = sd_bus_slot_unref(q->slot);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                /* polkit not installed or not running: nobody but root gets in. */
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        q->verdict = VERDICT_DENIED;
                else {
                        q->verdict = VERDICT_ERROR;
                        (void) sd_bus_error_copy(&q->error, e);
                }
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        q->verdict = VERDICT_ERROR;
                        (void) sd_bus_error_set_errnof(&q->error, r, "Bad reply from polkit: %m");
                } else
                        q->verdict = authorized ? VERDICT_ALLOWED : challenge ? VERDICT_CHALLENGE : VERDICT_DENIED;
        }

        q->answered_at = now(CLOCK_MONOTONIC);
        registry_arm_sweep(q->registry);

        /* Put the original call back into the queue: its handler runs again and finds the verdict. */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->call), q->call);
        if (r < 0) {
                log_warning_errno(r, "Failed to re-dispatch a call after polkit answered, dropping it: %m");
                registry_remove(q->registry, q);
        }
        return 1;
}

static int verdict_to_result(Query *q, sd_bus_error *error) {
        switch (q->verdict) {
        case VERDICT_ALLOWED:
                return 1;
        case VERDICT_CHALLENGE:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Interactive authentication required for %s.", q->action);
        case VERDICT_ERROR:
                return sd_bus_error_copy(error, &q->error);
        default:
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s.", q->action);
        }
}

static size_t registry_count_uid(const PolkitRegistry *r, uid_t uid) {
        size_t n = 0;

        for (const Query *q = r->queries; q; q = q->next)
                if (q->uid == uid)
                        n++;
        return n;
}

int polkit_check(PolkitRegistry *registry, sd_bus_message *call, const char *action, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *sender;
        uid_t uid;
        Query *q;
        int r;

        /* The second pass first: a verdict is claimed before anything else can fail or return early, and
         * the caller may have hung up since, so its credentials may no longer be there to ask for. */
        for (q = registry->queries; q; q = q->next)
                if (q->call == call && streq(q->action, action))
                        break;
        if (q) {
                if (q->verdict == VERDICT_PENDING)
                        return 0;
                r = verdict_to_result(q, error);
                registry_remove(registry, q);
                return r;
        }

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to get the caller's credentials: %m");
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to get the caller's uid: %m");
        if (uid == 0)
                return 1;

        if (registry->n_queries >= POLKIT_QUERIES_MAX || registry_count_uid(registry, uid) >= POLKIT_QUERIES_PER_UID_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorization checks in flight (%zu in all, at most %u per user "
                                         "and %u in all), try again later.", registry->n_queries,
                                         POLKIT_QUERIES_PER_UID_MAX, POLKIT_QUERIES_MAX);

        sender = sd_bus_message_get_sender(call);
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Caller has no bus name.");

        q = calloc(1, sizeof(Query));
        if (!q)
                return -ENOMEM;
        q->registry = registry;
        q->call = sd_bus_message_ref(call);
        q->uid = uid;
        q->action = strdup(action);
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                                          action, 0,
                                          (uint32_t) (sd_bus_message_get_allow_interactive_authorization(call) > 0),
                                          "");
        if (r >= 0)
                /* An interactive prompt can take a while: no timeout but polkit's own. */
                r = sd_bus_call_async(sd_bus_message_get_bus(call), &q->slot, m, on_check_reply, q, UINT64_MAX);
        if (r < 0) {
                query_free(q);
                return r;
        }

        q->next = registry->queries;
        registry->queries = q;
        registry->n_queries++;
        return 0;
}
