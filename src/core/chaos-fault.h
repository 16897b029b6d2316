/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the fault engine: what a fault is, and what each kind adds to it. chaos.c is the engine (the
 * life cycle below, timers, records, InjectFault, random picks, FaultFinished); each kind lives in its own
 * fault-<kind>.c behind a FaultVTable, as systemd's unit types do behind UNIT_VTABLE(): `Fault` is the
 * common header, the kind's struct starts with it and adds its own state, and the table says how big
 * the object is. Adding a kind is one file and one row in fault_vtables[] (chaos.c).
 *
 * Life cycle, driven by the engine:
 *
 *     PREPARING   GetAll of the unit's Service properties, for kinds with ->property (their old values)
 *     ARMING      the record is written (kinds with ->record); for kinds with ->revert_args, a transient
 *                 timer that systemd itself fires to revert the lever if the daemon is not there to
 *     INJECTING   ->apply sends the lever
 *     ACTIVE      in effect: the agents are observed (fault_track(), then ->evaluate) on every change,
 *                 the lever is released (->undo) when the duration ends or ->evaluate says so
 *     UNDOING     the revert timer is stopped, then ->undo's call is on its way; an undo systemd refused
 *                 is sent again (1 s, 2 s, ... 30 s apart) for as long as the daemon runs
 *     RECOVERING  undone: waiting for ->evaluate to see everything back
 *
 * Calls to systemd go through the manager's SystemdClient, on its urgent lane. They cannot be
 * cancelled there, so a reply finds its fault again by id (fault_call*()): a fault that finished in the
 * meantime is simply not found. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "agent-runtime.h"
#include "chaos-report.h"
#include "chaos.h"
#include "macro.h"
#include "time-util.h"

typedef struct Fault Fault;
typedef struct FaultVTable FaultVTable;

typedef enum FaultPhase {
        FAULT_PHASE_PREPARING,
        FAULT_PHASE_ARMING,
        FAULT_PHASE_INJECTING,
        FAULT_PHASE_ACTIVE,
        FAULT_PHASE_UNDOING,
        FAULT_PHASE_RECOVERING,
} FaultPhase;

/* An agent besides the target that a fault follows: a cascade's dependents, an outage's. Down and up
 * are the first event that showed it down (not active, or NRestarts moved) and, after that, active and
 * healthy again; USEC_INFINITY until then. */
typedef struct FaultWatch {
        char *name;
        uint32_t restarts_before;
        usec_t down, up;
        bool acted_on;                  /* the fault's lever reaches it (a cascade): it is busy, and hit */
        char **requires;                /* what it required when the fault started */
} FaultWatch;

struct Fault {
        Chaos *chaos;                   /* NULL for a fault loaded from a record, or in a unit test */
        uint64_t id;
        uint64_t parent;                /* the stress run, 0 for none */
        ChaosKind kind;
        char *agent;                    /* "" for a stress run */
        char *unit;
        char *profile;
        char *record;                   /* path of the record, NULL if none was written */

        usec_t duration;
        usec_t timeout;

        FaultPhase phase;
        usec_t injected, detected, undone, recovered;
        usec_t end;                     /* when the fault's hold ends (= injected for instant ones) */
        usec_t target_up;               /* the target active and healthy again after the detection */
        uint32_t restarts_before;
        char *result;                   /* the target's Result= when it went down */
        bool profile_failed;            /* the profile was "failed" after the detection */
        bool failed;                    /* finishes as not recovered */
        bool lever_in_place;            /* something to undo */
        bool aborted;                   /* the profile went away: undo without starting anything */
        char *detail;

        char *revert;                   /* the revert timer's name without ".timer", NULL if none */
        bool revert_armed;              /* systemd took the timer, nobody stopped it yet */
        unsigned undo_attempts;         /* undo calls systemd refused */
        usec_t undo_retry;              /* when the refused undo goes out again, USEC_INFINITY if not due */
        char *undo_error;               /* systemd's last refusal, while the undo is retried */

        FaultWatch *watches;
        size_t n_watches;

        sd_bus_message *request;        /* the InjectFault call, answered once systemd took the fault */
        sd_event_source *timer;
};

/* What one agent looked like at one evaluation. */
typedef struct FaultAgentState {
        bool present;                   /* still an agent of the active profile */
        bool ok;                        /* agent_runtime_status() is AGENT_STATUS_OK */
        bool healthy;                   /* chaos_agent_is_healthy() */
        uint32_t n_restarts;
        const char *result;             /* Result=, borrowed */
} FaultAgentState;

/* What a fault watches, taken at one moment: its target, then its watches in order. */
typedef struct FaultObservation {
        usec_t now;
        ProfileState state;
        FaultAgentState target;
        const FaultAgentState *watches; /* n_watches of the fault's */
} FaultObservation;

typedef enum FaultVerdictKind {
        FAULT_VERDICT_PENDING,          /* nothing to do yet */
        FAULT_VERDICT_RELEASE,          /* the damage showed: undo the lever now rather than at the end */
        FAULT_VERDICT_RECOVERED,        /* everything is back as it should be */
        FAULT_VERDICT_FAILED,           /* everything is back, but not as it should have come back */
} FaultVerdictKind;

typedef struct FaultVerdict {
        FaultVerdictKind kind;
        char detail[192];               /* RECOVERED: a note; FAILED: why */
} FaultVerdict;

/* The options of InjectFault, parsed once; each kind takes what concerns it. */
typedef struct FaultOptions {
        int signal;
        usec_t timeout;
        usec_t interval;
        uint32_t max_in_flight;
        uint64_t limit;
        ChaosKind kinds[_CHAOS_KIND_MAX];
        size_t n_kinds;
} FaultOptions;

struct FaultVTable {
        size_t object_size;             /* the kind's struct, which starts with Fault */
        usec_t default_duration;
        bool instant;                   /* nothing held: undone at injection, nothing to release */
        bool lever_is_detection;        /* the lever's reply is the event (no agent of ours can notice) */
        bool restarts_target;           /* the target restarts: counts against systemd's start limit */
        bool takes_lazy;                /* may hit a lazy agent whose service is idle */
        bool no_target;                 /* picks its agents itself (stress) */
        const char *eligible_hint;      /* for NoEligibleAgent: what else a candidate needs */
        const char *default_agent;      /* hit when no agent is named and the profile has it */
        const char *undetected_in_hold; /* the hold ended without detection: fail, saying this */

        /* Defaults and options. "a" is the target, NULL when loading a record. */
        int (*init)(Fault *f, const AgentRuntime *a);
        int (*configure)(Fault *f, const FaultOptions *o);
        void (*done)(Fault *f);

        /* Whether "a" (running, not lazy, no fault in flight) may be picked at random at "t". */
        bool (*eligible)(Chaos *c, const AgentRuntime *a, usec_t t);
        /* Whether a named "a" can take the fault; sets "error" if not. */
        int (*check)(Chaos *c, const AgentRuntime *a, sd_bus_error *error);
        /* Adds the fault's watches (fault_add_watch(), fault_watch_dependents()) when it starts. */
        int (*watch)(Fault *f);

        /* One property of the unit's GetAll(Service) before the lever: 1 if taken, 0 to skip it. */
        int (*property)(Fault *f, const char *name, sd_bus_message *m);
        /* Pulls the lever (fault_call*()); the engine has written the record and stamped "injected". */
        int (*apply)(Fault *f);
        /* Pure: the verdict on the fault's state (fault_track() done) and this observation. */
        FaultVerdict (*evaluate)(const Fault *f, const FaultObservation *o);
        /* Releases the lever: 1 if a call is on its way, 0 if done already (f->failed and f->detail set
         * if that went wrong), negative if nothing was sent. Without it, the engine sends ->undo_message. */
        int (*undo)(Fault *f);
        /* The SetUnitProperties that undoes the lever, from the fault's (or a loaded record's) old
         * values; 0 and no message if there is nothing to send. */
        int (*undo_message)(const Fault *f, sd_bus *bus, sd_bus_message **ret);
        /* The same undo as `systemctl set-property --runtime UNIT` arguments ("MemoryMax=infinity", ...), for
         * the revert timer that systemd fires should the daemon be gone at the end of the duration. */
        int (*revert_args)(const Fault *f, char ***ret);
        /* Removes what the fault left outside systemd (a file the agent reads), before any undo. */
        void (*cleanup)(const Fault *f);

        /* The kind's lines of the record (key=value), and one line read back: 0 if the key is unknown. */
        int (*record)(const Fault *f, FILE *o);
        int (*load)(Fault *f, const char *key, const char *value);

        /* A fault that is its own scheduler (stress): its timer, its next wakeup, a child that ended. */
        void (*timer)(Fault *f, usec_t t);
        usec_t (*next_wakeup)(const Fault *f, usec_t t);
        void (*child_finished)(Fault *f, const Fault *child, bool ok);
};

extern const FaultVTable kill_vtable;
extern const FaultVTable memory_vtable;
extern const FaultVTable partition_vtable;
extern const FaultVTable outage_vtable;
extern const FaultVTable cascade_vtable;
extern const FaultVTable stress_vtable;

const FaultVTable *fault_vtable(ChaosKind kind) _pure_;
#define FAULT_VTABLE(f) fault_vtable((f)->kind)

/* A fault of "kind" with every time unset and no Chaos: for records and tests. */
Fault *fault_alloc(ChaosKind kind);
Fault *fault_free(Fault *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(Fault *, fault_free);
int fault_add_watch(Fault *f, const char *name, uint32_t restarts_before, bool acted_on, char * const *requires);
/* Watches the agents that require the target, directly or not, lazy ones left out; "acted_on": the
 * lever reaches them, and only those that run are watched. */
int fault_watch_dependents(Fault *f, bool acted_on);

/* Pure but for "f": records in "f" what "o" shows first (detection, the target back, each watch down
 * and up, the profile failed after the detection). The engine runs it before ->evaluate. */
void fault_track(Fault *f, const FaultObservation *o);
/* Pure: whether the target is back (the lever released, detected, active and healthy again, the
 * profile not failed): what every kind's ->evaluate asks first. */
bool fault_target_back(const Fault *f, const FaultObservation *o) _pure_;
FaultVerdict fault_verdict(FaultVerdictKind kind, const char *format, ...) _printf_(2, 3);
#define FAULT_VERDICT(k) ((FaultVerdict) { .kind = (k) })

/* For the kinds. */
Manager *fault_manager(const Fault *f);
/* The bus the manager's SystemdClient sends on: messages for fault_call() are built on it. */
sd_bus *fault_bus(const Fault *f);
void fault_set_detail(Fault *f, const char *format, ...) _printf_(2, 3);
/* Calls to systemd on the urgent lane whose reply comes back to the engine for this fault. */
int fault_call(Fault *f, sd_bus_message *m);
int fault_call_manager(Fault *f, const char *method, const char *types, ...);
/* A new SetUnitProperties(unit, runtime=true, a(sv)) with the array opened. */
int fault_set_properties_new(sd_bus *bus, const char *unit, sd_bus_message **ret);

/* The engine's view of the agents, for ->eligible, ->check and ->watch. */
bool chaos_agent_has_dependents(Manager *m, const AgentRuntime *a);
int chaos_agent_dependents(Manager *m, const char *root, char ***ret);
bool chaos_hit_recent(Chaos *c, const AgentRuntime *a, usec_t t);
bool chaos_agent_is_touched(Chaos *c, const char *name);

/* For stress: its children. */
int fault_new(Chaos *c, ChaosKind kind, const char *agent, Fault **ret);
int chaos_add_fault(Chaos *c, Fault *f);
int fault_start(Fault *f);
void fault_rearm_timer(Fault *f);
void fault_fail(Fault *f);
void fault_finish(Fault *f);
AgentRuntime *chaos_pick_agent(Chaos *c, ChaosKind kind, usec_t t);
