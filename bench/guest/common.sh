# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are read by the guest scripts inlined after this one
# Guest-side helpers of the benchmarks (bench/run-in-vm inlines this file into the case file it
# generates; it runs in the VM after tests/integration/lib.sh, as root).

BENCH_OUT=${BENCH_OUT:-/mnt/share/results/bench}
BENCH_BIN=/var/lib/unified-bench   # not /run: mounted noexec
PIPELINED=$BENCH_BIN/pipelined-start

bench_log() { echo "[$(date +%T.%N | cut -c1-12)] $*" | tee -a "$BENCH_OUT/bench.log" >&2; }

# Microseconds of the realtime clock (bash's $EPOCHREALTIME, no fork).
bench_now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# The host load is part of the result: qemu shares two cores with whatever else runs there.
bench_guest_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_wait TIMEOUT CMD...: like wait_until, but looks once a second: the end points are systemd's
# timestamps, so looking more often would only load the machine being measured.
bench_wait() {
        local deadline=$(( $(date +%s) + $1 ))
        shift
        until "$@" >/dev/null 2>&1; do
                [ "$(date +%s)" -lt "$deadline" ] || return 1
                sleep 1
        done
}

# The agents' transient units (unified-metrics.socket and unified-metricsd.service are the package's).
bench_units_left() {
        systemctl list-units --all --plain --no-legend 'unified-*.service' 'unified-*.socket' |
                awk '$1 !~ /^unified-metrics(\.|d\.)/ { print $1 }'
}
bench_no_units() { [ -z "$(bench_units_left)" ]; }

# Back to a clean state: no profile, daemon stopped, no agent unit loaded (not even failed).
bench_clean() {
        local units
        if systemctl is-active -q unified.service; then
                unifiedctl stop --wait >/dev/null 2>&1 || true
                # The daemon starts unified@PROFILE when a profile becomes active by other means; its
                # ExecStop talks to the daemon, so before the daemon goes.
                systemctl stop 'unified@*.service' 2>/dev/null || true
                systemctl stop unified.service
        fi
        mapfile -t units < <(bench_units_left)
        [ ${#units[@]} -eq 0 ] || systemctl stop "${units[@]}" 2>/dev/null || true
        systemctl reset-failed 'unified-*' 2>/dev/null || true
        wait_until 120 bench_no_units
}

# CPU time (ms) of one cgroup so far, e.g. system.slice/unified.service; 0 if it does not exist.
bench_cgroup_ms() {
        awk '$1 == "usage_usec" { printf "%d\n", $2 / 1000; f = 1 } END { if (!f) print 0 }' \
                "/sys/fs/cgroup/$1/cpu.stat" 2>/dev/null || echo 0
}

bench_unit_path() { echo "/org/freedesktop/systemd1/unit/$(sed -e 's/-/_2d/g; s/\./_2e/g; s/@/_40/g' <<<"$1")"; }

# PROP of UNIT's IFACE (Unit or Service) as a bare number/string.
bench_sd_prop() {
        busctl get-property org.freedesktop.systemd1 "$(bench_unit_path "$1")" "org.freedesktop.systemd1.$2" "$3" |
                awk '{ print $2 }' | tr -d '"'
}

# "median min max n" of the numbers on stdin.
bench_stats() {
        sort -n | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "- - - 0"; exit }
                m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "%.1f %.1f %.1f %d\n", m, v[1], v[NR], NR }'
}
