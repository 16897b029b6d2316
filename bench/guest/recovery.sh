# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Guest side of bench/recovery: recovery after SIGKILL of an agent, and the breaker's trip latency.
# A benchmark profile in /run/unified/profiles gives the victim RestartSec=100ms and limits that 50
# quick kills do not reach (systemd's start limit and the breaker would rightly stop a real agent).
# Times come from systemd's own timestamps (realtime µs over D-Bus) and the journal's, compared with
# the kill time taken right before kill(2); the waits in between only decide when to look.
# Results: $BENCH_OUT/recovery.tsv, trip.tsv, bench.log.

BENCH_KILLS=${BENCH_KILLS:-50}
BENCH_TRIPS=${BENCH_TRIPS:-5}
BREAKER_OPENED=e7a18f39663148499a1679bd1c4dc7b1

bench_recovery_profile() {
        mkdir -p /run/unified/profiles
        cat >/run/unified/profiles/bench-recovery.yaml <<'YAML'
# Written by bench/recovery: restart limits wide enough for 50 quick kills.
name: bench-recovery
description: "Benchmark: SIGKILL recovery and breaker trip latency"
resources:
  memory_max: 512M
  cpu_quota: 50%
agents:
  - name: bench-victim
    description: "Killed over and over; must come back every time"
    exec: [/usr/libexec/unified/unified-agent, --role, bench-victim]
    memory_max: 64M
    tasks_max: 32
    notify: true
    restart:
      policy: on-failure
      delay: 100ms
      max_attempts: 10000
      window: 1s
    breaker:
      threshold: 1000
      window: 1s
      cooldown: 1s
      probation: 1s
  - name: bench-trip
    description: "Its breaker opens on the third failure in a minute"
    exec: [/usr/libexec/unified/unified-agent, --role, bench-trip]
    memory_max: 64M
    tasks_max: 32
    notify: true
    restart:
      policy: on-failure
      delay: 100ms
      max_attempts: 10000
      window: 1s
    breaker:
      threshold: 3
      window: 1min
      cooldown: 10min
      max_cooldown: 10min
      probation: 1s
YAML
}

bench_agent_prop() {
        busctl get-property org.unified1 "/org/unified1/agent/${1//-/_2d}" org.unified1.Agent "$2" |
                awk '{ print $2 }' | tr -d '"'
}

bench_active_with_new_pid() { # UNIT OLD_PID
        [ "$(systemctl show -P ActiveState "$1")" = active ] &&
        [ "$(systemctl show -P MainPID "$1")" != "$2" ] && [ "$(systemctl show -P MainPID "$1")" != 0 ]
}

bench_unit_active() { [ "$(systemctl show -P ActiveState "$1")" = active ]; }

bench_recovery_kills() {
        local unit=unified-bench-victim.service i pid tk ex st ac restarts health
        printf 'kill\tkill_us\texit_seen_us\texec_start_us\tactive_us\trecovery_ms\tdaemon_restarts\tdaemon_health\n' \
                >"$BENCH_OUT/recovery.tsv"
        bench_wait 300 bench_unit_active "$unit" || { bench_log "$unit never became active"; return 1; }
        for i in $(seq 1 "$BENCH_KILLS"); do
                pid=$(systemctl show -P MainPID "$unit")
                tk=$(bench_now_us)
                kill -KILL "$pid"
                bench_wait 120 bench_active_with_new_pid "$unit" "$pid" ||
                        { bench_log "kill $i: $unit not back within 120 s"; return 1; }
                # ExecMainExitTimestamp belongs to the new process by now (0); the unit's leaving
                # "active" is when systemd saw the death.
                ex=$(bench_sd_prop "$unit" Unit ActiveExitTimestamp)
                st=$(bench_sd_prop "$unit" Service ExecMainStartTimestamp)
                ac=$(bench_sd_prop "$unit" Unit ActiveEnterTimestamp)
                restarts=$(bench_agent_prop bench-victim Restarts 2>/dev/null || echo -)
                health=$(bench_agent_prop bench-victim Health 2>/dev/null || echo -)
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$tk" "$ex" "$st" "$ac" \
                        "$(awk -v a="$ac" -v k="$tk" 'BEGIN { printf "%.1f", (a - k) / 1000 }')" \
                        "$restarts" "$health" >>"$BENCH_OUT/recovery.tsv"
        done
        bench_log "recovery: $BENCH_KILLS kills done; systemd NRestarts=$(systemctl show -P NRestarts "$unit"), daemon Restarts=$(bench_agent_prop bench-victim Restarts 2>&1), Breaker=$(bench_agent_prop bench-victim Breaker 2>&1)"
}

bench_breaker_entries() { journalctl -q -o json MESSAGE_ID=$BREAKER_OPENED | jq -c 'select(.MESSAGE | test("bench-trip"))' | wc -l; }
bench_breaker_entries_over() { [ "$(bench_breaker_entries)" -gt "$1" ]; }

bench_trip_once() { # N: the Nth trip
        local unit=unified-bench-trip.service k pid before t_kill cursor
        before=$(bench_breaker_entries)
        cursor=$(journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p')
        # Called in an || list, where errexit does not apply: every wait says itself what failed.
        for k in 1 2 3; do
                bench_wait 120 bench_unit_active "$unit" || { bench_log "trip $1: $unit not active"; return 1; }
                pid=$(systemctl show -P MainPID "$unit")
                t_kill=$(bench_now_us)
                kill -KILL "$pid"
                if [ $k -lt 3 ] && ! bench_wait 120 bench_active_with_new_pid "$unit" "$pid"; then
                        bench_log "trip $1: $unit did not come back after kill $k (breaker: $(bench_agent_prop bench-trip Breaker 2>&1))"
                        return 1
                fi
        done
        bench_wait 120 bench_breaker_entries_over "$before" || { bench_log "trip $1: no breaker entry"; return 1; }
        journalctl --sync
        # The breaker's entry, and PID 1's entries about the third failure before it.
        journalctl -q -o json --after-cursor="$cursor" | jq -r --arg id "$BREAKER_OPENED" --arg unit "$unit" '
                select((.MESSAGE_ID == $id and (.MESSAGE | test("bench-trip"))) or
                       (._PID == "1" and .UNIT == $unit and
                        (.MESSAGE_ID == "98e322203f7a4ed290d09fe03c09fe15" or .MESSAGE_ID == "d9b373ed55a64feb8242e02dbe79a49c")))
                | [.__REALTIME_TIMESTAMP, (._SOURCE_REALTIME_TIMESTAMP // "-"), (.MESSAGE_ID // "-"),
                   (.UNIFIED_EVENT_SOURCE // "-"), (.UNIFIED_TRIP_LATENCY_USEC // "-"), .MESSAGE] | @tsv' \
                >"$BENCH_OUT/trip-$1.entries"
        awk -F'\t' -v n="$1" -v tk="$t_kill" -v id="$BREAKER_OPENED" '
                $3 == id && !b { b = $1; src = $4; self = $5; next }
                !b && $3 == "98e322203f7a4ed290d09fe03c09fe15" { exit_ts = $1 }
                !b && $3 == "d9b373ed55a64feb8242e02dbe79a49c" { fail_ts = $1 }
                END { printf "%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%s\t%s\n", n, tk, exit_ts, fail_ts, b,
                        (b - exit_ts) / 1000, (b - fail_ts) / 1000, (b - tk) / 1000, src, self }' \
                "$BENCH_OUT/trip-$1.entries" >>"$BENCH_OUT/trip.tsv"
}

bench_recovery_main() {
        local i
        mkdir -p "$BENCH_OUT"
        bench_clean
        bench_recovery_profile
        systemctl start unified.service
        unifiedctl reload >/dev/null 2>&1 ||
                busctl call org.unified1 /org/unified1 org.unified1.Manager ReloadProfiles
        if ! unifiedctl start --wait bench-recovery >>"$BENCH_OUT/bench.log" 2>&1; then
                bench_log "bench-recovery not running: $(unifiedctl status 2>&1 | head -n 5)"
                return 1
        fi
        bench_log "bench-recovery: $(systemctl show -P RestartUSec,StartLimitBurst,StartLimitIntervalUSec unified-bench-victim.service | tr '\n' ' ')"
        bench_recovery_kills
        printf 'trip\tthird_kill_us\tprocess_exit_entry_us\tfailure_result_entry_us\tbreaker_entry_us\tfrom_exit_ms\tfrom_failure_ms\tfrom_kill_ms\tevent_source\tself_reported_latency_us\n' \
                >"$BENCH_OUT/trip.tsv"
        if ! grep -qa "$BREAKER_OPENED" /usr/libexec/unified/unifiedd; then
                bench_log "breaker: unifiedd has no breaker-opened message id; trip latency not measured"
        else
                for i in $(seq 1 "$BENCH_TRIPS"); do
                        if ! bench_trip_once "$i"; then
                                bench_log "trip $i: not measured (see above)"
                                break
                        fi
                        bench_log "trip $i: $(tail -n 1 "$BENCH_OUT/trip.tsv")"
                        busctl call org.unified1 /org/unified1 org.unified1.Manager ResetBreaker s bench-trip ||
                                break
                done
        fi
        unifiedctl stop --wait >/dev/null 2>&1 || true
        rm -f /run/unified/profiles/bench-recovery.yaml
        bench_clean
}
