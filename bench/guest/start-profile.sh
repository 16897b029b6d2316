# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Guest side of bench/start-profile: for each profile, the time from the start request to every agent
# active (a lazy agent: its socket), three ways, interleaved run by run so that a slow moment of the
# host hits all three alike:
#   daemon     unifiedctl start --wait PROFILE (unifiedd already running, idle)
#   systemd-run  one systemd-run per unit, same properties (pipelined-start --print-systemd-run)
#   pipelined  the daemon's StartTransientUnit calls sent back to back (pipelined-start PROFILE)
# Everything is stopped and checked gone between runs. Then unifiedd's memory and idle wakeups
# with the full profile running. Results: $BENCH_OUT/start.tsv, idle.txt, bench.log.

BENCH_PROFILES=${BENCH_PROFILES:-core vision learning tutoring full}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_IDLE_SECONDS=${BENCH_IDLE_SECONDS:-30}
BENCH_IDLE_PROFILE=${BENCH_IDLE_PROFILE:-full}
BENCH_METHODS=${BENCH_METHODS:-pipelined systemd-run daemon}

declare -A bench_expect
# Options for pipelined-start in front of the profile (guest/sandbox-cost.sh sets --sandbox MODE).
bench_pipelined_args=()

# The units that must be active once PROFILE is up: the service of every agent, the socket of a lazy one.
bench_expected_units() {
        "$PIPELINED" --print-systemd-run "$1" | awk '/^systemd-run/ {
                match($0, /--unit=\047[^\047]*\047/)
                u = substr($0, RSTART + 8, RLENGTH - 9)
                print u (index($0, "--socket-property") ? ".socket" : ".service") }'
}

bench_all_active() {
        local n
        # shellcheck disable=SC2086
        n=$(systemctl is-active ${bench_expect[$1]} | grep -c '^active$' || true)
        [ "$n" -eq "$(wc -w <<<"${bench_expect[$1]}")" ]
}

# Every unit active, or none on its way any more (a failed start job does not come back by itself).
bench_settled() {
        bench_all_active "$1" && return 0
        # shellcheck disable=SC2086
        ! systemctl is-active ${bench_expect[$1]} | grep -q -e '^activating$' -e '^deactivating$' -e '^reloading$'
}

# The moment the last of PROFILE's units became active: systemd's ActiveEnterTimestamp (realtime µs),
# the same clock as bench_now_us. This is the end point for every method: a command may return
# before (unifiedctl when the daemon calls the profile degraded early) or after (process exit).
# One systemctl for all units (bench/scale asks about 1000; a busctl each took minutes under TCG):
# "us+utc" timestamps have a fixed width, so the largest sorts last.
bench_last_active() {
        local last u t max=0
        # shellcheck disable=SC2086 # a list of unit names
        last=$(systemctl show -p ActiveEnterTimestamp --timestamp=us+utc ${bench_expect[$1]} |
                sed -n 's/^ActiveEnterTimestamp=[A-Za-z]* \([0-9-]* [0-9:.]* UTC\)$/\1/p' | sort | tail -n 1)
        if [ -n "$last" ] && date -u -d "$last" +%s%6N 2>/dev/null; then
                return 0
        fi
        # A systemctl that does not print that format: one property read per unit.
        for u in ${bench_expect[$1]}; do
                t=$(bench_sd_prop "$u" Unit ActiveEnterTimestamp)
                [ "$t" -le "$max" ] || max=$t
        done
        echo "$max"
}

# CPU time of a process so far (user + system, ms); 0 if there is no such process.
bench_cpu_ms() {
        local pid=$1
        [ "${pid:-0}" -gt 0 ] 2>/dev/null || { echo 0; return; }
        # After "PID (comm) " the fields are numbered from state = 1: utime is 12, stime 13.
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / hz }' \
                /proc/"$pid"/stat 2>/dev/null || echo 0
}

# Busy CPU time of the whole guest so far, all CPUs (ms): everything but idle and iowait.
bench_busy_ms() {
        awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%d\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / hz }' /proc/stat
}

# bench_quiesce: waits (at most 60 s) until the guest's CPUs were at most 10 % busy over 2 s, and prints
# how long that took. Stopping 77 agents leaves journald, PID 1 and the kernel busy for a while after
# their units are gone; a start timed in that tail shares the CPUs with it, by chance more for one
# method than another.
bench_quiesce() {
        local t0 b0 b1 n i
        n=$(nproc)
        t0=$(date +%s)
        for i in $(seq 1 30); do
                b0=$(bench_busy_ms)
                sleep 2
                b1=$(bench_busy_ms)
                [ $(( (b1 - b0) * 100 )) -le $(( 2000 * n * 10 )) ] && break
        done
        echo $(( $(date +%s) - t0 ))
}

# "pid1 dbus-daemon unifiedd guest" CPU ms so far, for the difference over one start.
bench_cpu_snapshot() {
        echo "$(bench_cpu_ms 1) $(bench_cpu_ms "$(systemctl show -P MainPID dbus.service)")" \
                "$(bench_cpu_ms "$(systemctl show -P MainPID unified.service)") $(bench_busy_ms)"
}

# CPU time (ms) so far of each cgroup one level down (the slices, init.scope) and of each system
# service, as "cgroup ms" lines. cgroup v2 keeps the usage of exited processes and of removed child
# groups in their parent's, so a slice's figure covers the short-lived processes /proc/PID/stat
# cannot (unifiedctl, systemd-run, PID 1's forks before exec).
bench_cgroup_cpu() {
        awk '$1 == "usage_usec" { f = FILENAME; sub("^/sys/fs/cgroup/", "", f); sub("/cpu.stat$", "", f)
                                  printf "%s %d\n", f, $2 / 1000 }' \
                /sys/fs/cgroup/*/cpu.stat /sys/fs/cgroup/system.slice/*/cpu.stat 2>/dev/null
}

# One timed start; prints "elapsed_ms returned_ms status command_status" (status: 0 when every unit was
# active within 15 min, else 100; command_status: the exit status of the command, e.g. unifiedctl's
# when the daemon calls the profile degraded).
bench_start_one() {
        local method=$1 profile=$2 run=${3:-warm-up} t0 t1 t2 rc=0 ok=0 u cpu0 cpu1 cg0 cg1 quiet
        [ "$method" != daemon ] || systemctl start unified.service
        quiet=$(bench_quiesce)
        [ "$run" = warm-up ] || echo "$profile $method $run: guest quiet after ${quiet} s" >>"$BENCH_OUT/bench.log"
        cpu0=$(bench_cpu_snapshot)
        cg0=$(bench_cgroup_cpu)
        case $method in
        daemon)
                t0=$(bench_now_us)
                unifiedctl start --wait "$profile" >/dev/null 2>>"$BENCH_OUT/bench.log" || rc=$?
                t1=$(bench_now_us)
                ;;
        systemd-run)
                t0=$(bench_now_us)
                bash -e "$BENCH_BIN/systemd-run-$profile.sh" 2>>"$BENCH_OUT/bench.log" || rc=$?
                t1=$(bench_now_us)
                ;;
        pipelined)
                t0=$(bench_now_us)
                "$PIPELINED" "${bench_pipelined_args[@]}" "$profile" >>"$BENCH_OUT/bench.log" 2>&1 || rc=$?
                t1=$(bench_now_us)
                ;;
        esac
        bench_wait 900 bench_settled "$profile" || true
        # Where the CPU went from the request until everything settled (the settle check polls
        # systemctl once a second, alike for all methods); the checks below run a few hundred short
        # processes and come after.
        cpu1=$(bench_cpu_snapshot)
        cg1=$(bench_cgroup_cpu)
        if ! bench_all_active "$profile"; then
                ok=100
                # shellcheck disable=SC2086 # a list of unit names
                systemctl is-active ${bench_expect[$profile]} | sort | uniq -c >>"$BENCH_OUT/bench.log" || true
                # The first few units that are not active: with 1000 (bench/scale) a journalctl each
                # would take many minutes under TCG.
                local shown=0
                for u in ${bench_expect[$profile]}; do
                        systemctl is-active -q "$u" && continue
                        journalctl -q -o short-precise -n 4 -u "$u" >>"$BENCH_OUT/bench.log" 2>&1 || true
                        shown=$((shown + 1))
                        [ "$shown" -lt 5 ] || break
                done
                t2=$t1
        else
                t2=$(bench_last_active "$profile")
        fi
        # A group created during the start counts from zero.
        [ "$run" = warm-up ] || awk -v p="$profile" -v m="$method" -v r="$run" \
                'NR == FNR { a[$1] = $2; next } { printf "%s\t%s\t%s\t%s\t%d\n", p, m, r, $1, $2 - a[$1] }' \
                <(echo "$cg0") <(echo "$cg1") >>"$BENCH_OUT/cgroup-cpu.tsv"
        [ "$run" = warm-up ] || printf '%s\t%s\t%s\t%s\n' "$profile" "$method" "$run" \
                "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
                        for (i = 1; i <= n; i++) printf "%d%s", y[i] - x[i], i < n ? "\t" : ""; }')" \
                >>"$BENCH_OUT/cpu.tsv"
        awk -v a="$t2" -v b="$t1" -v t="$t0" -v ok="$ok" -v rc="$rc" \
                'BEGIN { printf "%.1f %.1f %d %d\n", (a - t) / 1000, (b - t) / 1000, ok, rc }'
}

bench_start_main() {
        local run profile method n elapsed returned status cmd methods k
        read -r -a methods <<<"$BENCH_METHODS"
        mkdir -p "$BENCH_OUT"
        printf 'profile\tmethod\trun\tunits\telapsed_ms\tstatus\tguest_loadavg_before\treturned_ms\tcommand_status\n' >"$BENCH_OUT/start.tsv"
        printf 'profile\tmethod\trun\tpid1_cpu_ms\tdbus_cpu_ms\tunifiedd_cpu_ms\tguest_busy_ms\n' >"$BENCH_OUT/cpu.tsv"
        printf 'profile\tmethod\trun\tcgroup\tcpu_ms\n' >"$BENCH_OUT/cgroup-cpu.tsv"
        bench_log "systemd $(systemctl --version | head -n1), $(nproc) CPUs, $(free -m | awk '/^Mem:/ { print $2 }') MiB"
        for profile in $BENCH_PROFILES; do
                bench_expect[$profile]=$(bench_expected_units "$profile" | tr '\n' ' ')
                "$PIPELINED" --print-systemd-run "$profile" >"$BENCH_BIN/systemd-run-$profile.sh"
                bench_log "$profile: $(wc -w <<<"${bench_expect[$profile]}") units"
        done
        cp "$BENCH_BIN"/systemd-run-*.sh "$BENCH_OUT/"
        bench_clean
        # One untimed start first: the first start after boot pays for cold caches (the agent binary,
        # libraries, DynamicUser's NSS module...), which would otherwise land on whichever method ran first.
        for profile in $BENCH_PROFILES; do
                read -r elapsed returned status cmd < <(bench_start_one pipelined "$profile")
                bench_log "warm-up $profile (not counted): all active after $elapsed ms (status $status)"
                bench_clean
        done
        for run in $(seq 1 "$BENCH_RUNS"); do
                for profile in $BENCH_PROFILES; do
                        n=$(wc -w <<<"${bench_expect[$profile]}")
                        # The order rotates from run to run, so that no method always goes first.
                        for k in "${!methods[@]}"; do
                                method=${methods[$(( (k + run - 1) % ${#methods[@]} ))]}
                                local load
                                load=$(bench_guest_load)
                                read -r elapsed returned status cmd < <(bench_start_one "$method" "$profile" "$run")
                                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$profile" "$method" "$run" "$n" \
                                        "$elapsed" "$status" "$load" "$returned" "$cmd" >>"$BENCH_OUT/start.tsv"
                                bench_log "run $run $profile $method: all active after $elapsed ms, command returned after $returned ms with status $cmd (guest load $load)"
                                bench_clean
                        done
                done
        done
        bench_idle_main
}

bench_sum_tasks() { # FIELD: sum over the threads of $pid
        cat /proc/"$pid"/task/*/status | awk -v f="$1:" '$1 == f { s += $2 } END { print s }'
}

bench_timerfds() {
        local fd
        for fd in /proc/"$pid"/fd/*; do
                [ "$(readlink "$fd")" = "anon_inode:[timerfd]" ] || continue
                echo "fd ${fd##*/}: $(grep -E '^(clockid|ticks|it_value|it_interval)' /proc/"$pid"/fdinfo/"${fd##*/}" | tr '\n' ' ')"
        done
}

# unifiedd with a profile up (full unless told): memory, and what wakes it while nothing happens.
bench_idle_main() {
        local pid v0 n0 s0 v1 n1 s1 t0 t1 out=$BENCH_OUT/idle.txt
        bench_clean
        systemctl start unified.service
        pid=$(systemctl show -P MainPID unified.service)
        {
                echo "## unifiedd (pid $pid) before any profile"
                grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|Threads)' /proc/"$pid"/status
        } >"$out"
        unifiedctl start --wait "$BENCH_IDLE_PROFILE" >/dev/null ||
                bench_log "$BENCH_IDLE_PROFILE did not reach running: $(unifiedctl status 2>&1 | head -n 3)"
        bench_log "$BENCH_IDLE_PROFILE up ($(unifiedctl status 2>/dev/null | head -n 1)); settling 10 s before the idle window"
        sleep 10
        v0=$(bench_sum_tasks voluntary_ctxt_switches)
        n0=$(bench_sum_tasks nonvoluntary_ctxt_switches)
        s0=$(awk '{ print $3 }' /proc/"$pid"/schedstat)
        t0=$(bench_now_us)
        {
                echo "## timerfds at the start of the window"
                bench_timerfds
        } >>"$out"
        sleep "$BENCH_IDLE_SECONDS"
        t1=$(bench_now_us)
        v1=$(bench_sum_tasks voluntary_ctxt_switches)
        n1=$(bench_sum_tasks nonvoluntary_ctxt_switches)
        s1=$(awk '{ print $3 }' /proc/"$pid"/schedstat)
        {
                echo "## unifiedd (pid $pid) with $BENCH_IDLE_PROFILE running: $(unifiedctl status 2>/dev/null | head -n 1)"
                echo "agents active: $(systemctl list-units --state=active --plain --no-legend 'unified-*' | wc -l) units"
                grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem|Threads)' /proc/"$pid"/status
                grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Private_Dirty)' /proc/"$pid"/smaps_rollup
                echo "## idle window: $(( (t1 - t0) / 1000 )) ms"
                echo "voluntary_ctxt_switches: $(( v1 - v0 ))"
                echo "nonvoluntary_ctxt_switches: $(( n1 - n0 ))"
                echo "schedstat_timeslices: $(( s1 - s0 ))"
                echo "journal_entries_in_window: $(journalctl -q -o cat --since=@"$(( t0 / 1000000 ))" --until=@"$(( t1 / 1000000 ))" | wc -l)"
                echo "journal_entries_in_window_from_unified_slice: $(journalctl -q -o cat _SYSTEMD_SLICE=unified.slice --since=@"$(( t0 / 1000000 ))" --until=@"$(( t1 / 1000000 ))" | wc -l)"
                echo "unified.service WatchdogUSec: $(systemctl show -P WatchdogUSec unified.service)"
                echo "## timerfds at the end of the window"
                bench_timerfds
                echo "## scrapes of /metrics with $BENCH_IDLE_PROFILE running (after the idle window)"
                bench_scrapes
                # What a daemon that Prometheus scrapes keeps resident: the figure the RSS target is about.
                echo "## unifiedd (pid $pid) after the scrapes"
                grep -E '^(VmRSS|VmHWM|RssAnon|RssFile)' /proc/"$pid"/status
                grep -E '^(Rss|Pss|Pss_Anon|Pss_File)' /proc/"$pid"/smaps_rollup
        } >>"$out"
        cat "$out" >>"$BENCH_OUT/bench.log"
        bench_clean
}

# Ten scrapes, one a second: curl's total time, the page's size and the daemon's own figure for the
# previous scrape (unified_scrape_duration_seconds: collecting and rendering inside its event loop).
bench_scrapes() {
        local i page=$BENCH_BIN/metrics.txt total
        for i in $(seq 1 10); do
                total=$(curl -s -o "$page" -w '%{time_total}' http://127.0.0.1:9000/metrics) || { echo "scrape $i failed"; continue; }
                echo "scrape $i: curl ${total}s, $(wc -c <"$page") bytes, $(grep -c '^unified_' "$page") samples," \
                        "previous scrape in daemon $(awk '$1 == "unified_scrape_duration_seconds" { print $2 }' "$page")s"
                sleep 1
        done
}
