# SPDX-License-Identifier: LGPL-2.1-or-later
# Resilience against real systemd (issue 5): systemd restarts what crashes, the breaker opens on a
# crash loop and closes again by itself, graceful degradation, watchdog and OOM kills recognised,
# UNIFIED_HEALTH=failing lowers the score (also from an agent run as a regular user, whose lines
# journald writes to that user's journal file), breaker state survives a restart of unifiedd.
# Faults come from unified-agent's --fault-file: the fault is on while the file exists.

BUS=(org.unified1 /org/unified1 org.unified1.Manager)
PROFILE=itest-resilience
PROFILE_FILE=/run/unified/profiles/$PROFILE.yaml
FAULTS=/run/unified/faults
AGENT_BIN=/usr/libexec/unified/unified-agent
MSG_OPENED=e7a18f39663148499a1679bd1c4dc7b1
MSG_HALF_OPEN=735eb1ea52ac4c848b243ee2bd664302
MSG_CLOSED=3e24ae8a122d4bd7bb82b829ca1832a7

mgr() {
        busctl get-property "${BUS[@]}" "$1" | sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'
}

agent_path() {
        busctl call "${BUS[@]}" GetAgent s "$1" | sed -E 's/^o "(.*)"$/\1/'
}

# agent_prop AGENT PROPERTY: an org.unified1.Agent property without busctl's type prefix.
agent_prop() {
        busctl get-property org.unified1 "$(agent_path "$1")" org.unified1.Agent "$2" |
                sed -E 's/^[a-z]+ //; s/^"(.*)"$/\1/'
}

breaker_is() {
        [ "$(agent_prop "$1" Breaker)" = "$2" ]
}

state_is() {
        [ "$(mgr State)" = "$1" ]
}

# lt A B: A < B for decimals.
lt() {
        awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'
}

health_below() {
        lt "$(agent_prop "$1" Health)" "$2"
}

health_above() {
        lt "$2" "$(agent_prop "$1" Health)"
}

manager_health_below() {
        lt "$(mgr HealthScore)" "$1"
}

pid_of() {
        unit_prop "unified-$1.service" MainPID
}

agent_running() {
        [ "$(unit_prop "unified-$1.service" ActiveState)" = active ]
}

# agent_back AGENT OLD_PID: active again with another main process.
agent_back() {
        agent_running "$1" && local p && p=$(pid_of "$1") && [ "$p" != 0 ] && [ "$p" != "$2" ]
}

fault_on() {
        printf '%s\n' "$2" >"$FAULTS/$1"
        chmod 0644 "$FAULTS/$1"
}

fault_off() {
        rm -f "$FAULTS/$1"
}

# Journal queries go by time, not by the runner's cursor: the VM's small volatile journal may rotate the
# cursor's file away while a long case runs. Each case calls case_start first.
case_start() {
        CASE_T0=$(date -d '-1 sec' '+%Y-%m-%d %H:%M:%S')
}

# journal_has MATCH...: an entry logged since the case started matches (journalctl field matches).
journal_has() {
        journalctl --sync 2>/dev/null || true
        [ -n "$(journalctl -q --no-pager -o cat --since "$CASE_T0" "$@")" ]
}

# daemon_logged TEXT: unifiedd logged a line containing TEXT since the case started.
daemon_logged() {
        journalctl --sync 2>/dev/null || true
        journalctl -q --no-pager -o cat -u unified.service --since "$CASE_T0" | grep -qF -- "$1"
}

agent() {
        # agent NAME EXTRA_YAML_LINES: one agent of the test profile, faults through its fault file.
        cat <<EOF
  - name: $1
    exec: [$AGENT_BIN, --role, $1, --leak, 64M, --fault-file, $FAULTS/$1]
    notify: true
$2
EOF
}

# A regular user (UID >= 1000): journald files such a service's lines in user-UID.journal, not in
# the system journal.
AGENT_USER=itest-agent

setup_file() {
        id "$AGENT_USER" >/dev/null 2>&1 || useradd -M -u 1500 -s /usr/sbin/nologin "$AGENT_USER"
        mkdir -p /run/unified/profiles "$FAULTS"
        chmod 0755 /run/unified "$FAULTS"
        rm -f "$FAULTS"/*
        {
                cat <<EOF
# Written by tests/integration/cases/40-resilience.sh
name: $PROFILE
description: "Integration test: breakers, health, degradation"
defaults:
  restart: {policy: on-failure, delay: 100ms, max_delay: 0, steps: 0, max_attempts: 3, window: 1min}
  # Cooldowns long enough to see "open" in a slow VM, short enough to see the probe close it.
  breaker: {threshold: 5, window: 1min, cooldown: 10s, max_cooldown: 20s, probation: 3s}
agents:
EOF
                agent res-core "    essential: true"
                agent res-side ""
                agent res-hang "    watchdog: 5s"
                agent res-leak "    memory_max: 48M"
                agent res-health ""
                agent res-persist "    breaker: {threshold: 5, window: 1min, cooldown: 1min, max_cooldown: 2min, probation: 2s}"
                agent res-user "    sandbox: {user: $AGENT_USER}"
        } >"$PROFILE_FILE"
        busctl call "${BUS[@]}" ReloadProfiles
        busctl call "${BUS[@]}" StartProfile s "$PROFILE"
        wait_until 120 state_is running
}

teardown_file() {
        rm -f "$FAULTS"/* /run/itest-resilience-crash-loop-start
        busctl call "${BUS[@]}" StopProfile s "" || true
        wait_until 60 state_is inactive || true
        rm -f "$PROFILE_FILE"
        busctl call "${BUS[@]}" ReloadProfiles || true
}

test_sigkill_is_back_within_restartsec_breaker_closed() {
        local pid t0 t1
        case_start
        pid=$(pid_of res-side)
        t0=$(date +%s%N)
        kill -KILL "$pid"
        wait_until 30 agent_back res-side "$pid"
        t1=$(date +%s%N)
        echo "res-side back after $(( (t1 - t0) / 1000000 )) ms (RestartSec=100ms, TCG VM)"
        # 100 ms RestartSec plus the agent's own start under emulation on a shared host (seen: 0.5 to
        # 10 s); the benchmark measures recovery properly. This bounds it well below a breaker cooldown.
        lt $(( (t1 - t0) / 1000000 )) 20000 || _lib_fail "recovery took over 20 s"
        assert_eq closed "$(agent_prop res-side Breaker)" "breaker after one kill"
        assert_eq 0 "$(agent_prop res-side BreakerTrips)" "trips after one kill"
        wait_until 30 state_is running
}

test_crash_loop_opens_breaker_profile_degraded_others_keep_pids() {
        local before after
        case_start
        # Not res-hang: its short watchdog may fire on its own in a heavily loaded VM.
        before=$(for a in res-core res-leak res-health res-persist; do echo "$a=$(pid_of $a)"; done)
        # The fault stays for the next case (the probe closing the breaker once it is gone).
        echo "$CASE_T0" >/run/itest-resilience-crash-loop-start
        fault_on res-side crash
        wait_until 120 breaker_is res-side open
        assert_eq degraded "$(mgr State)" "profile state with a non-essential breaker open"
        assert_ok journal_has MESSAGE_ID=$MSG_OPENED UNIFIED_AGENT=res-side
        journal_since_case -o verbose MESSAGE_ID=$MSG_OPENED UNIFIED_AGENT=res-side |
                grep -E 'UNIFIED_(REASON|FAILURE|EVENT_SOURCE|TRIP_LATENCY_USEC)=' || true
        after=$(for a in res-core res-leak res-health res-persist; do echo "$a=$(pid_of $a)"; done)
        assert_eq "$before" "$after" "the other agents' PIDs"
        lt 0 "$(agent_prop res-side BreakerTrips)" || _lib_fail "BreakerTrips did not move"
}

test_half_open_probe_closes_breaker_by_itself() {
        case_start
        fault_off res-side
        wait_until 120 breaker_is res-side closed
        assert_ok agent_running res-side
        # Half-open may first have happened while the previous case waited.
        CASE_T0=$(cat /run/itest-resilience-crash-loop-start 2>/dev/null || echo "$CASE_T0")
        assert_ok journal_has MESSAGE_ID=$MSG_HALF_OPEN UNIFIED_AGENT=res-side
        assert_ok journal_has MESSAGE_ID=$MSG_CLOSED UNIFIED_AGENT=res-side
        wait_until 30 state_is running
}

test_essential_agent_open_fails_profile() {
        local before after
        case_start
        before=$(for a in res-side res-leak res-health; do echo "$a=$(pid_of $a)"; done)
        trap 'fault_off res-core' EXIT
        fault_on res-core crash
        wait_until 120 breaker_is res-core open
        assert_eq failed "$(mgr State)" "profile state with an essential breaker open"
        after=$(for a in res-side res-leak res-health; do echo "$a=$(pid_of $a)"; done)
        assert_eq "$before" "$after" "the other agents keep running"
        fault_off res-core
        wait_until 120 breaker_is res-core closed
        wait_until 30 state_is running
}

test_watchdog_hang_is_killed_and_counted() {
        case_start
        trap 'fault_off res-hang' EXIT
        fault_on res-hang hang
        wait_until 90 daemon_logged "Journal: agent res-hang watchdog"
        fault_off res-hang
        # The watchdog factor halves the score while the timeout is in the breaker's window.
        wait_until 10 health_below res-hang 0.6
        wait_until 30 agent_running res-hang
}

test_oom_kill_is_recognised_from_the_journal() {
        case_start
        trap 'fault_off res-leak' EXIT
        fault_on res-leak leak
        wait_until 90 daemon_logged "Journal: agent res-leak oom-kill"
        fault_off res-leak
        wait_until 60 agent_running res-leak
        wait_until 120 breaker_is res-leak closed
}

test_unified_health_failing_lowers_the_score() {
        case_start
        assert_ok health_above res-health 0.99
        trap 'fault_off res-health' EXIT
        fault_on res-health unhealthy
        wait_until 20 health_below res-health 0.5
        wait_until 5 manager_health_below 1
        fault_off res-health
        # "ok" again once the fault is gone; the failure it counted stays in the window for a while.
        wait_until 20 health_above res-health 0.5
}

test_unified_health_of_an_agent_in_a_user_journal() {
        local uid
        case_start
        uid=$(id -u "$AGENT_USER")
        assert_ok health_above res-user 0.99
        trap 'fault_off res-user' EXIT
        fault_on res-user unhealthy
        wait_until 20 health_below res-user 0.5
        # The premise: its lines are in the user's journal file (SplitMode=uid, journald's default).
        journalctl --sync 2>/dev/null || true
        assert_ok test -n "$(ls /var/log/journal/*/user-"$uid".journal /run/log/journal/*/user-"$uid".journal 2>/dev/null)"
        fault_off res-user
        wait_until 20 health_above res-user 0.5
}

test_unifiedd_restart_loses_no_breaker_state() {
        local trips
        case_start
        trap 'fault_off res-persist' EXIT
        fault_on res-persist crash
        wait_until 120 breaker_is res-persist open
        trips=$(agent_prop res-persist BreakerTrips)
        systemctl restart unified.service
        wait_until 30 state_is degraded
        assert_eq open "$(agent_prop res-persist Breaker)" "breaker after the restart"
        assert_eq "$trips" "$(agent_prop res-persist BreakerTrips)" "trips after the restart"
        assert_ne active "$(unit_prop unified-res-persist.service ActiveState)" "the open agent was not started"
        assert_ok daemon_logged "Restored breaker of agent res-persist: open"
        # The restored cooldown timer still runs: the probe closes it without anyone touching it.
        fault_off res-persist
        wait_until 180 breaker_is res-persist closed
        wait_until 30 state_is running
}

test_operator_open_and_reset() {
        case_start
        assert_ok busctl call "${BUS[@]}" OpenBreaker s res-side
        wait_until 30 breaker_is res-side open
        wait_until 30 eval '! agent_running res-side'
        assert_eq degraded "$(mgr State)" "profile state while held open"
        assert_fail as_user busctl call "${BUS[@]}" ResetBreaker s res-side --allow-interactive-authorization=no
        assert_ok busctl call "${BUS[@]}" ResetBreaker s res-side
        wait_until 30 breaker_is res-side closed
        wait_until 60 agent_running res-side
        wait_until 30 state_is running
}
